package usecase

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"orgd/core/domain"
)

// This file is the audit's checks, one method each, over what the audit
// read once (storeState).

// auditor runs the checks of one audit over one storeState.
type auditor struct {
	s       *Service
	st      storeState
	offline bool
	found   []Finding
}

func (a *auditor) add(f Finding) { a.found = append(a.found, f) }

// organizations checks each settled organization: its two claims, its
// admin, its collection; and reports operations past their lease.
func (a *auditor) organizations(ctx context.Context) error {
	claims := make(map[domain.ClaimKind]map[string]domain.Claim)
	for _, c := range a.st.claims {
		if claims[c.Kind] == nil {
			claims[c.Kind] = map[string]domain.Claim{}
		}
		claims[c.Kind][c.Key] = c
	}
	colls := make(map[domain.TenantCollection]bool, len(a.st.colls))
	for _, c := range a.st.colls {
		colls[c] = true
	}
	for _, org := range a.st.orgs {
		if org.Pending != nil {
			if a.offline || a.s.expired(org) {
				a.add(Finding{Kind: FindingStaleIntent, OrgID: org.ID, Key: org.Name.Key(),
					Detail: fmt.Sprintf("its %s operation outlived its lease unfinished", org.Pending.Op)})
			}
			continue // in flight: its operation decides the rest
		}
		if err := a.organization(ctx, org, claims, colls); err != nil {
			return err
		}
	}
	return nil
}

// organization checks one settled organization against the first read,
// and confirms anything amiss by reading it again by key.
func (a *auditor) organization(ctx context.Context, org domain.Organization, claims map[domain.ClaimKind]map[string]domain.Claim, colls map[domain.TenantCollection]bool) error {
	var suspect []FindingKind
	for kind, want := range map[FindingKind]domain.Claim{FindingNameClaim: org.NameClaim(), FindingEmailClaim: org.EmailClaim()} {
		if c, ok := claims[want.Kind][want.Key]; !ok || !c.Same(want) {
			suspect = append(suspect, kind)
		}
	}
	if ad, ok := a.st.admins[org.AdminID]; !ok || ad.OrgID != org.ID || ad.Email != org.AdminEmail {
		suspect = append(suspect, FindingAdmin)
	}
	if !colls[domain.TenantCollection{Place: a.s.tenants.Place(org.ID), Name: org.Name.Collection()}] {
		suspect = append(suspect, FindingCollection)
	}
	if len(suspect) == 0 {
		return nil
	}
	slices.Sort(suspect)
	now, err := a.s.orgs.ByID(ctx, org.ID)
	if errors.Is(err, domain.ErrOrgNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if now.Version != org.Version {
		return nil // it moved on meanwhile: not damage, an operation
	}
	for _, kind := range suspect {
		f, err := a.confirm(ctx, org, kind)
		if err != nil {
			return err
		}
		if f != nil {
			a.add(*f)
		}
	}
	return nil
}

// confirm reads again, by key, what the first read found amiss with
// org's kind of promise, and returns the finding if it still holds.
func (a *auditor) confirm(ctx context.Context, org domain.Organization, kind FindingKind) (*Finding, error) {
	f := &Finding{Kind: kind, OrgID: org.ID, Key: org.Name.Key()}
	switch kind {
	case FindingNameClaim, FindingEmailClaim:
		want := org.NameClaim()
		if kind == FindingEmailClaim {
			want = org.EmailClaim()
		}
		f.Key, f.want = want.Key, want
		held, err := a.s.registry(want.Kind).reg.Claim(ctx, want.Key)
		switch {
		case errors.Is(err, domain.ErrNoClaim):
			f.Detail = "nobody holds the claim on it"
		case err != nil:
			return nil, err
		case held.Same(want):
			return nil, nil
		case held.SameHolder(want):
			f.Detail, f.held = "its claim names another operation of the organization", held
		default:
			f.Detail = fmt.Sprintf("the claim on it is held by organization %s", held.OrgID)
		}
	case FindingAdmin:
		ad, err := a.s.admins.ByID(ctx, org.AdminID)
		switch {
		case errors.Is(err, domain.ErrAdminNotFound):
			f.Detail = fmt.Sprintf("its admin %s is missing", org.AdminID)
		case err != nil:
			return nil, err
		case ad.OrgID == org.ID && ad.Email == org.AdminEmail:
			return nil, nil
		default:
			f.Detail = fmt.Sprintf("its admin %s names organization %s and email %s", ad.ID, ad.OrgID, ad.Email)
		}
	case FindingCollection:
		ok, err := a.s.tenants.Exists(ctx, org.ID, org.Name.Collection())
		if err != nil || ok {
			return nil, err
		}
		f.Key, f.Place = org.Name.Collection(), a.s.tenants.Place(org.ID)
		f.Detail = "its collection is missing"
	}
	return f, nil
}

// orphans reports the tenant collections no organization owns, with how
// many documents each holds.
func (a *auditor) orphans(ctx context.Context) error {
	owned := map[domain.TenantCollection]bool{}
	for _, m := range []map[domain.ID]domain.Organization{a.st.seen, a.st.orgs} {
		for _, o := range m {
			place := a.s.tenants.Place(o.ID)
			owned[domain.TenantCollection{Place: place, Name: o.Name.Collection()}] = true
			if o.Pending != nil && !o.Pending.NewName.IsZero() {
				owned[domain.TenantCollection{Place: place, Name: o.Pending.NewName.Collection()}] = true
			}
		}
	}
	for _, c := range a.st.colls {
		if owned[c] {
			continue
		}
		n, err := a.s.inventory.CountIn(ctx, c.Place, c.Name)
		if errors.Is(err, domain.ErrCollectionNotFound) {
			continue // dropped meanwhile: a delete finishing
		}
		if err != nil {
			return err
		}
		a.add(Finding{Kind: FindingOrphan, Key: c.Name, Place: c.Place, Docs: n,
			Detail: fmt.Sprintf("no organization owns it; it holds %d documents", n)})
	}
	return nil
}

// claims reports the claims nobody holds that are older than a lease.
func (a *auditor) claims(ctx context.Context) error {
	for _, c := range a.st.claims {
		if o, ok := a.st.orgs[c.OrgID]; ok && o.Holds(c) {
			continue
		}
		if !a.offline && !a.s.pastLease(c.At) {
			continue // young: its operation may be about to record it
		}
		held, err := a.held(ctx, c)
		if err != nil {
			return err
		}
		if !held {
			a.add(Finding{Kind: FindingDeadClaim, OrgID: c.OrgID, Key: c.Key, held: c,
				Detail: fmt.Sprintf("a %s claim nobody holds", c.Kind)})
		}
	}
	return nil
}

// held reads again whether anyone holds claim c: its organization (or an
// operation of it that recovery will settle), or for a claim without one,
// the super admin holding the email.
func (a *auditor) held(ctx context.Context, c domain.Claim) (bool, error) {
	if c.OrgID == "" {
		ad, err := a.s.admins.ByID(ctx, c.AdminID)
		if errors.Is(err, domain.ErrAdminNotFound) {
			return false, nil
		}
		return err == nil && string(ad.Email) == c.Key, err
	}
	org, err := a.s.orgs.ByID(ctx, c.OrgID)
	if errors.Is(err, domain.ErrOrgNotFound) {
		return false, nil
	}
	return err == nil && (org.Holds(c) || org.Pending != nil), err
}

// markers reports pending markers without an operation, older than a
// lease.
func (a *auditor) markers(ctx context.Context) error {
	for _, m := range a.st.markers {
		if o, ok := a.st.orgs[m.OrgID]; ok && o.Pending != nil {
			continue
		}
		if !a.offline && !a.s.pastLease(m.At) {
			continue
		}
		org, err := a.s.orgs.ByID(ctx, m.OrgID)
		if err == nil && org.Pending != nil {
			continue
		}
		if err != nil && !errors.Is(err, domain.ErrOrgNotFound) {
			return err
		}
		a.add(Finding{Kind: FindingStaleMarker, OrgID: m.OrgID, marker: m, Detail: "a pending marker without a pending operation"})
	}
	return nil
}

// admins reports organization admins whose organization is gone.
func (a *auditor) admins(ctx context.Context) error {
	for _, ad := range a.st.admins {
		if ad.Role == domain.RoleSuperAdmin {
			continue
		}
		if _, ok := a.st.seen[ad.OrgID]; ok {
			continue
		}
		if _, ok := a.st.orgs[ad.OrgID]; ok {
			continue
		}
		if !a.offline && !a.s.pastLease(ad.CreatedAt) {
			continue
		}
		if _, err := a.s.orgs.ByID(ctx, ad.OrgID); !errors.Is(err, domain.ErrOrgNotFound) {
			if err != nil {
				return err
			}
			continue
		}
		a.add(Finding{Kind: FindingStrayAdmin, OrgID: ad.OrgID, Key: string(ad.Email), admin: ad,
			Detail: fmt.Sprintf("admin %s of an organization that is gone", ad.ID)})
	}
	return nil
}
