package memory

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"orgd/core/domain"
)

// Create implements ports.TenantStore.
func (t *Tenants) Create(_ context.Context, _ domain.ID, name string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.tenants[name]; !ok {
		t.tenants[name] = []map[string]any{}
	}
	return nil
}

// Rename implements ports.TenantStore.
func (t *Tenants) Rename(_ context.Context, _ domain.ID, from, to string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	docs, ok := t.tenants[from]
	if !ok {
		return domain.ErrCollectionNotFound
	}
	if _, ok := t.tenants[to]; ok {
		return fmt.Errorf("rename %s to %s: target exists", from, to)
	}
	t.tenants[to] = docs
	delete(t.tenants, from)
	return nil
}

// Drop implements ports.TenantStore.
func (t *Tenants) Drop(_ context.Context, _ domain.ID, name string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.tenants, name)
	return nil
}

// Exists implements ports.TenantStore.
func (t *Tenants) Exists(_ context.Context, _ domain.ID, name string) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.tenants[name]
	return ok, nil
}

// Place implements ports.TenantStore: every collection shares one
// namespace.
func (t *Tenants) Place(domain.ID) string { return "" }

// Collections implements ports.TenantInventory.
func (t *Tenants) Collections(context.Context) ([]domain.TenantCollection, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]domain.TenantCollection, 0, len(t.tenants))
	for n := range t.tenants {
		if strings.HasPrefix(n, domain.CollectionPrefix) {
			out = append(out, domain.TenantCollection{Name: n})
		}
	}
	return out, nil
}

// CountIn implements ports.TenantInventory.
func (t *Tenants) CountIn(ctx context.Context, _, name string) (int64, error) {
	return t.Count(ctx, "", name)
}

// MoveIn implements ports.TenantInventory.
func (t *Tenants) MoveIn(ctx context.Context, _, from, to string) error {
	return t.Rename(ctx, "", from, to)
}

// DropIn implements ports.TenantInventory.
func (t *Tenants) DropIn(ctx context.Context, _, name string) error { return t.Drop(ctx, "", name) }

// Seed appends n documents to an existing collection.
func (t *Tenants) Seed(_ context.Context, _ domain.ID, name string, n int) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	docs, ok := t.tenants[name]
	if !ok {
		return domain.ErrCollectionNotFound
	}
	for range n {
		docs = append(docs, map[string]any{"seq": len(docs)})
	}
	t.tenants[name] = docs
	return nil
}

// Count returns the number of documents in a collection.
func (t *Tenants) Count(_ context.Context, _ domain.ID, name string) (int64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	docs, ok := t.tenants[name]
	if !ok {
		return 0, domain.ErrCollectionNotFound
	}
	return int64(len(docs)), nil
}

// List returns the names of all tenant collections, sorted.
func (t *Tenants) List(context.Context) ([]string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]string, 0, len(t.tenants))
	for n := range t.tenants {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}
