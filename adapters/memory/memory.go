// Package memory implements orgd's storage ports in process memory, with
// the same atomicity and uniqueness rules as the mongodb adapter: it backs
// the core's unit tests and the contract suite. orgd itself never stores
// organizations in it.
package memory

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"

	"orgd/core/domain"
	"orgd/ports"
)

// Store holds every collection of one master database and its tenant
// collections. The zero value is not usable; call New.
type Store struct {
	mu      sync.Mutex
	orgs    map[domain.ID]domain.Organization
	names   *Claims
	emails  *Claims
	extIDs  *Claims
	admins  map[domain.ID]domain.Admin
	rosters map[rosterKey][]domain.Member
	invites map[domain.ID]domain.Invitation
	hooks   map[domain.ID]domain.Webhook
	idem    map[string]domain.IdempotencyRecord
	tenants map[string][]map[string]any
	head    domain.LogHead
	events  map[place]domain.Event
	chunks  map[place][]domain.Event
	firsts  map[string]int64
}

// New returns an empty Store.
func New() *Store {
	return &Store{
		orgs:    map[domain.ID]domain.Organization{},
		names:   &Claims{claims: map[string]domain.Claim{}, kind: domain.KindName},
		emails:  &Claims{claims: map[string]domain.Claim{}, kind: domain.KindEmail},
		extIDs:  &Claims{claims: map[string]domain.Claim{}, kind: domain.KindExternalID},
		admins:  map[domain.ID]domain.Admin{},
		rosters: map[rosterKey][]domain.Member{},
		invites: map[domain.ID]domain.Invitation{},
		hooks:   map[domain.ID]domain.Webhook{},
		idem:    map[string]domain.IdempotencyRecord{},
		tenants: map[string][]map[string]any{},
		events:  map[place]domain.Event{},
		chunks:  map[place][]domain.Event{},
		firsts:  map[string]int64{},
	}
}

// Orgs returns the Store's organization repository.
func (s *Store) Orgs() *Orgs { return (*Orgs)(s) }

// Names returns the Store's claims on organization name keys.
func (s *Store) Names() *Claims { return s.names }

// Emails returns the Store's claims on admin emails.
func (s *Store) Emails() *Claims { return s.emails }

// ExternalIDs returns the Store's claims on organizations' external ids.
func (s *Store) ExternalIDs() *Claims { return s.extIDs }

// Admins returns the Store's admin repository.
func (s *Store) Admins() *Admins { return (*Admins)(s) }

// Tenants returns the Store's tenant collections.
func (s *Store) Tenants() *Tenants { return (*Tenants)(s) }

// Orgs implements ports.OrgRepository.
type Orgs Store

// Claims implements ports.ClaimRegistry.
type Claims struct {
	mu     sync.Mutex
	claims map[string]domain.Claim
	kind   domain.ClaimKind
}

// Admins implements ports.AdminRepository.
type Admins Store

// Tenants implements ports.TenantStore, plus document seeding and counting
// for tests.
type Tenants Store

var (
	_ ports.OrgRepository   = (*Orgs)(nil)
	_ ports.ClaimRegistry   = (*Claims)(nil)
	_ ports.AdminRepository = (*Admins)(nil)
	_ ports.TenantStore     = (*Tenants)(nil)
	_ ports.TenantInventory = (*Tenants)(nil)
)

// get returns m[k], or missing if there is none.
func get[K comparable, V any](m map[K]V, k K, missing error) (V, error) {
	v, ok := m[k]
	if !ok {
		return v, missing
	}
	return v, nil
}

// insert stores v under k, unless k is taken or a stored value clashes
// with v (a unique field); then it returns taken.
func insert[K comparable, V any](m map[K]V, k K, v V, clashes func(V) bool, taken error) error {
	if _, ok := m[k]; ok {
		return taken
	}
	for _, o := range m {
		if clashes(o) {
			return taken
		}
	}
	m[k] = v
	return nil
}

func clone(o domain.Organization) domain.Organization {
	if o.Pending != nil {
		p := *o.Pending
		p.Data = slices.Clone(p.Data)
		o.Pending = &p
	}
	o.Owners, o.Roster, o.Invitations = slices.Clone(o.Owners), slices.Clone(o.Roster), slices.Clone(o.Invitations)
	o.Webhooks = slices.Clone(o.Webhooks)
	o.PublicMetadata, o.PrivateMetadata = maps.Clone(o.PublicMetadata), maps.Clone(o.PrivateMetadata)
	if o.Suspended != nil {
		s := *o.Suspended
		o.Suspended = &s
	}
	o.Outbox = cloneEvents(o.Outbox)
	return o
}

// Insert implements ports.OrgRepository.
func (r *Orgs) Insert(_ context.Context, org domain.Organization) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return insert(r.orgs, org.ID, clone(org), func(o domain.Organization) bool { return o.Name.Key() == org.Name.Key() }, domain.ErrOrgExists)
}

// ByID implements ports.OrgRepository.
func (r *Orgs) ByID(_ context.Context, id domain.ID) (domain.Organization, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o, ok := r.orgs[id]
	if !ok {
		return domain.Organization{}, fmt.Errorf("org %s: %w", id, domain.ErrOrgNotFound)
	}
	return clone(o), nil
}

// Replace implements ports.OrgRepository.
func (r *Orgs) Replace(_ context.Context, org domain.Organization, expected int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur, ok := r.orgs[org.ID]
	if !ok || cur.Version != expected {
		return domain.ErrStale
	}
	for id, o := range r.orgs {
		if id != org.ID && o.Name.Key() == org.Name.Key() {
			return domain.ErrOrgExists
		}
	}
	r.orgs[org.ID] = clone(org)
	return nil
}

// Delete implements ports.OrgRepository.
func (r *Orgs) Delete(_ context.Context, id domain.ID, expected int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur, ok := r.orgs[id]
	if !ok || cur.Version != expected {
		return domain.ErrStale
	}
	delete(r.orgs, id)
	return nil
}

// WithPending implements ports.OrgRepository.
func (r *Orgs) WithPending(context.Context) ([]domain.Organization, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []domain.Organization
	for _, o := range r.orgs {
		if o.Unsettled() {
			out = append(out, clone(o))
		}
	}
	return out, nil
}

// All implements ports.OrgRepository.
func (r *Orgs) All(context.Context) ([]domain.Organization, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]domain.Organization, 0, len(r.orgs))
	for _, o := range r.orgs {
		out = append(out, clone(o))
	}
	return out, nil
}

// List implements ports.OrgRepository.
func (r *Orgs) List(_ context.Context, offset, limit int) ([]domain.Organization, int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var active []domain.Organization
	for _, o := range r.orgs {
		if o.Visible() {
			active = append(active, clone(o))
		}
	}
	sort.Slice(active, func(i, j int) bool { return active[i].Name.Key() < active[j].Name.Key() })
	total := int64(len(active))
	if offset >= len(active) {
		return nil, total, nil
	}
	return active[offset:min(offset+limit, len(active))], total, nil
}

// ListAfter implements ports.OrgRepository.
func (r *Orgs) ListAfter(_ context.Context, after domain.ID, limit int) ([]domain.Organization, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []domain.Organization
	for _, o := range r.orgs {
		if o.Visible() && o.ID > after {
			out = append(out, clone(o))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out[:min(limit, len(out))], nil
}

// Markers implements ports.OrgRepository: the memory store finds pending
// operations by looking at every organization, and keeps no markers.
func (r *Orgs) Markers(context.Context) ([]domain.Marker, error) { return nil, nil }

// Unmark implements ports.OrgRepository; there are no markers to remove.
func (r *Orgs) Unmark(context.Context, domain.Marker) error { return nil }

// Reserve implements ports.ClaimRegistry.
func (r *Claims) Reserve(_ context.Context, c domain.Claim) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.claims[c.Key]; ok {
		return domain.ErrClaimTaken
	}
	c.Kind = r.kind
	r.claims[c.Key] = c
	return nil
}

// Claim implements ports.ClaimRegistry.
func (r *Claims) Claim(_ context.Context, key string) (domain.Claim, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return get(r.claims, key, domain.ErrNoClaim)
}

// Release implements ports.ClaimRegistry.
func (r *Claims) Release(_ context.Context, c domain.Claim) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c.Kind = r.kind
	if held, ok := r.claims[c.Key]; ok && held.Same(c) {
		delete(r.claims, c.Key)
	}
	return nil
}

// All implements ports.ClaimRegistry.
func (r *Claims) All(context.Context) ([]domain.Claim, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Collect(maps.Values(r.claims))
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Page implements ports.ClaimRegistry.
func (r *Claims) Page(_ context.Context, after string, limit int) ([]domain.Claim, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []domain.Claim
	for k, c := range r.claims {
		if k > after {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out[:min(limit, len(out))], nil
}

// Insert implements ports.AdminRepository.
func (r *Admins) Insert(_ context.Context, a domain.Admin) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return insert(r.admins, a.ID, a, func(o domain.Admin) bool { return o.Email == a.Email }, domain.ErrEmailExists)
}

// ByID implements ports.AdminRepository.
func (r *Admins) ByID(_ context.Context, id domain.ID) (domain.Admin, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return get(r.admins, id, domain.ErrAdminNotFound)
}

// Update implements ports.AdminRepository.
func (r *Admins) Update(_ context.Context, a domain.Admin) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur, ok := r.admins[a.ID]
	if !ok {
		return domain.ErrAdminNotFound
	}
	for id, o := range r.admins {
		if id != a.ID && o.Email == a.Email {
			return domain.ErrEmailExists
		}
	}
	cur.Email, cur.PasswordHash, cur.CredentialsVersion = a.Email, a.PasswordHash, a.CredentialsVersion
	cur.OrgRole, cur.EmailOp, cur.Page = a.OrgRole, a.EmailOp, a.Page
	r.admins[a.ID] = cur
	return nil
}

// Delete implements ports.AdminRepository.
func (r *Admins) Delete(_ context.Context, id domain.ID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.admins, id)
	return nil
}

// All returns every admin (for tests).
func (r *Admins) All(context.Context) ([]domain.Admin, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Collect(maps.Values(r.admins)), nil
}
