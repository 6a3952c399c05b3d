package usecase

import (
	"context"
	"errors"

	"orgd/core/domain"
)

// orgView is how the audit reads what a settled organization must agree
// with: from its one read of the whole store (snapshotView), or from the
// store again, by key (storeView). One check runs over either.
type orgView interface {
	// page returns page i of org's roster.
	page(ctx context.Context, org domain.ID, i int) ([]domain.Member, error)
	// admin returns the account id, and whether there is one.
	admin(ctx context.Context, id domain.ID) (domain.Admin, bool, error)
	// claim returns the claim held on want's key, and whether there is one.
	claim(ctx context.Context, want domain.Claim) (domain.Claim, bool, error)
	// collection reports whether org's collection exists.
	collection(ctx context.Context, org domain.Organization) (bool, error)
}

// snapshotView reads the audit's one read of the store.
type snapshotView struct {
	s      *Service
	st     storeState
	claims map[domain.ClaimKind]map[string]domain.Claim
	colls  map[domain.TenantCollection]bool
}

func newSnapshotView(s *Service, st storeState) snapshotView {
	v := snapshotView{s: s, st: st, claims: map[domain.ClaimKind]map[string]domain.Claim{}, colls: map[domain.TenantCollection]bool{}}
	for _, c := range st.claims {
		if v.claims[c.Kind] == nil {
			v.claims[c.Kind] = map[string]domain.Claim{}
		}
		v.claims[c.Kind][c.Key] = c
	}
	for _, c := range st.colls {
		v.colls[c] = true
	}
	return v
}

func (v snapshotView) page(_ context.Context, org domain.ID, i int) ([]domain.Member, error) {
	return v.st.rosters[org][i], nil
}

func (v snapshotView) admin(_ context.Context, id domain.ID) (domain.Admin, bool, error) {
	ad, ok := v.st.admins[id]
	return ad, ok, nil
}

func (v snapshotView) claim(_ context.Context, want domain.Claim) (domain.Claim, bool, error) {
	c, ok := v.claims[want.Kind][want.Key]
	return c, ok, nil
}

func (v snapshotView) collection(_ context.Context, org domain.Organization) (bool, error) {
	return v.colls[domain.TenantCollection{Place: v.s.tenants.Place(org.ID), Name: org.Name.Collection()}], nil
}

// storeView reads the store, by key.
type storeView struct{ s *Service }

func (v storeView) page(ctx context.Context, org domain.ID, i int) ([]domain.Member, error) {
	return v.s.rosters.Page(ctx, org, i)
}

func (v storeView) admin(ctx context.Context, id domain.ID) (domain.Admin, bool, error) {
	ad, err := v.s.admins.ByID(ctx, id)
	if errors.Is(err, domain.ErrAdminNotFound) {
		return ad, false, nil
	}
	return ad, err == nil, err
}

func (v storeView) claim(ctx context.Context, want domain.Claim) (domain.Claim, bool, error) {
	c, err := v.s.registry(want.Kind).reg.Claim(ctx, want.Key)
	if errors.Is(err, domain.ErrNoClaim) {
		return c, false, nil
	}
	return c, err == nil, err
}

func (v storeView) collection(ctx context.Context, org domain.Organization) (bool, error) {
	return v.s.tenants.Exists(ctx, org.ID, org.Name.Collection())
}
