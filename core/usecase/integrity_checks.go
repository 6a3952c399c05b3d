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

// checker runs the checks of one audit over one storeState.
type checker struct {
	s       *Service
	st      storeState
	offline bool
	found   []Finding
}

func (a *checker) add(f Finding) { a.found = append(a.found, f) }

// organizations checks each settled organization (check), and reports
// operations past their lease.
func (a *checker) organizations(ctx context.Context) error {
	snap := newSnapshotView(a.s, a.st)
	for _, org := range a.st.orgs {
		if org.Pending != nil {
			if a.offline || a.s.expired(org) {
				a.add(Finding{Kind: FindingStaleIntent, OrgID: org.ID, Key: org.Name.Key(),
					Detail: fmt.Sprintf("its %s operation outlived its lease unfinished", org.Pending.Op)})
			}
			continue // in flight: its operation decides the rest
		}
		if err := a.organization(ctx, org, snap); err != nil {
			return err
		}
	}
	return nil
}

// organization checks one settled organization against the audit's read
// of the store; anything amiss is checked again against the store read by
// key, and reported only if the organization has not moved on meanwhile
// (an operation, not damage).
func (a *checker) organization(ctx context.Context, org domain.Organization, snap orgView) error {
	found, err := a.check(ctx, org, snap)
	if err != nil || len(found) == 0 {
		return err
	}
	now, err := a.s.orgs.ByID(ctx, org.ID)
	if errors.Is(err, domain.ErrOrgNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if now.Version != org.Version {
		return nil
	}
	if found, err = a.check(ctx, now, storeView{a.s}); err != nil {
		return err
	}
	a.found = append(a.found, found...)
	return nil
}

// check checks what one settled organization promises, as v reads it:
// it holds the claim on its name, its collection exists, its roster lists
// as many members as it counts, each with its account and holding the
// claim on its email, and its owners are the roster's owners, at least
// one.
func (a *checker) check(ctx context.Context, org domain.Organization, v orgView) ([]Finding, error) {
	var out []Finding
	add := func(f Finding) {
		f.OrgID = org.ID
		out = append(out, f)
	}
	if f, err := claimFinding(ctx, v, FindingNameClaim, org.NameClaim()); err != nil || f != nil {
		if err != nil {
			return nil, err
		}
		add(*f)
	}
	if x, ok := org.ExternalIDClaim(); ok && a.s.extIDs.reg != nil {
		f, err := claimFinding(ctx, v, FindingExternalIDClaim, x)
		if err != nil {
			return nil, err
		}
		if f != nil {
			add(*f)
		}
	}
	if ok, err := v.collection(ctx, org); err != nil {
		return nil, err
	} else if !ok {
		add(Finding{Kind: FindingCollection, Key: org.Name.Collection(), Place: a.s.tenants.Place(org.ID), Detail: "its collection is missing"})
	}
	total, owners := 0, 0
	for i, n := range org.Roster {
		members, err := v.page(ctx, org.ID, i)
		if err != nil {
			return nil, err
		}
		if len(members) != n {
			add(Finding{Kind: FindingAdmin, Key: org.Name.Key(), Detail: fmt.Sprintf("roster page %d lists %d members; the organization counts %d", i, len(members), n)})
		}
		total += len(members)
		for _, m := range members {
			if m.Role == domain.RoleOwner {
				owners++
			}
			fs, err := a.checkMember(ctx, org, i, m, v)
			if err != nil {
				return nil, err
			}
			for _, f := range fs {
				add(f)
			}
		}
	}
	if f, err := a.checkEvents(ctx, org); err != nil || f != nil {
		if err != nil {
			return nil, err
		}
		add(*f)
	}
	if total != org.Members {
		add(Finding{Kind: FindingAdmin, Key: org.Name.Key(), Detail: fmt.Sprintf("its roster lists %d members; it counts %d", total, org.Members)})
	}
	if owners != len(org.Owners) || owners == 0 {
		add(Finding{Kind: FindingAdmin, Key: org.Name.Key(), Detail: fmt.Sprintf("its roster lists %d owners; it records %d", owners, len(org.Owners))})
	}
	return out, nil
}

// checkMember checks member m, listed on roster page i of org: its account
// agrees, it holds the claim on its email, and an owner is among org's.
func (a *checker) checkMember(ctx context.Context, org domain.Organization, i int, m domain.Member, v orgView) ([]Finding, error) {
	var out []Finding
	ad, ok, err := v.admin(ctx, m.AdminID)
	switch {
	case err != nil:
		return nil, err
	case !ok:
		out = append(out, Finding{Kind: FindingAdmin, Key: string(m.Email), Detail: fmt.Sprintf("the account of member %s is missing", m.AdminID)})
	case ad.OrgID != org.ID || !ad.Member().Equal(m) || ad.Page != i:
		out = append(out, Finding{Kind: FindingAdmin, Key: string(m.Email), Detail: fmt.Sprintf("the account of member %s disagrees with the roster", m.AdminID)})
	}
	if (m.Role == domain.RoleOwner) != (org.OwnerIndex(m.AdminID) >= 0) {
		out = append(out, Finding{Kind: FindingAdmin, Key: string(m.Email), Detail: fmt.Sprintf("member %s is %s; the organization's owners say otherwise", m.AdminID, m.Role)})
	}
	f, err := claimFinding(ctx, v, FindingEmailClaim, m.EmailClaim(org.ID))
	if err != nil {
		return nil, err
	}
	if f != nil {
		out = append(out, *f)
	}
	return out, nil
}

// claimFinding checks that the claim want is held, as v reads it.
func claimFinding(ctx context.Context, v orgView, kind FindingKind, want domain.Claim) (*Finding, error) {
	f := &Finding{Kind: kind, Key: want.Key, want: want}
	held, ok, err := v.claim(ctx, want)
	switch {
	case err != nil:
		return nil, err
	case !ok:
		f.Detail = "nobody holds the claim on it"
	case held.Same(want):
		return nil, nil
	case held.SameHolder(want):
		f.Detail, f.held = "its claim names another operation of the organization", held
	default:
		f.Detail = fmt.Sprintf("the claim on it is held by organization %s", held.OrgID)
	}
	return f, nil
}

// orphans reports the tenant collections no organization owns, with how
// many documents each holds.
func (a *checker) orphans(ctx context.Context) error {
	owned := map[domain.TenantCollection]bool{}
	for _, m := range []map[domain.ID]domain.Organization{a.st.seen, a.st.orgs} {
		for _, o := range m {
			place := a.s.tenants.Place(o.ID)
			owned[domain.TenantCollection{Place: place, Name: o.Name.Collection()}] = true
			// A rename in flight owns its target's collection too: the
			// name claims its intent takes.
			for _, c := range intentClaims(o) {
				if c.Kind == domain.KindName {
					owned[domain.TenantCollection{Place: place, Name: domain.CollectionPrefix + c.Key}] = true
				}
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
func (a *checker) claims(ctx context.Context) error {
	for _, c := range a.st.claims {
		if o, ok := a.st.orgs[c.OrgID]; ok && holds(o, c) {
			continue
		}
		if _, ok := a.st.orgs[c.OrgID]; ok {
			if ad, ok := a.st.admins[c.AdminID]; ok && ad.OrgID == c.OrgID && ad.Member().EmailClaim(c.OrgID).Same(c) {
				continue // a member's email
			}
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
// operation of it that recovery will settle) or one of its members, or
// for a claim without one,
// the super admin holding the email.
func (a *checker) held(ctx context.Context, c domain.Claim) (bool, error) {
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
	if err != nil || holds(org, c) || org.Pending != nil {
		return err == nil, err
	}
	return a.s.memberHolds(ctx, org, c)
}

// markers reports pending markers without an operation, older than a
// lease.
func (a *checker) markers(ctx context.Context) error {
	for _, m := range a.st.markers {
		if o, ok := a.st.orgs[m.OrgID]; ok && o.Unsettled() {
			continue
		}
		if !a.offline && !a.s.pastLease(m.At) {
			continue
		}
		org, err := a.s.orgs.ByID(ctx, m.OrgID)
		if err == nil && org.Unsettled() {
			continue
		}
		if err != nil && !errors.Is(err, domain.ErrOrgNotFound) {
			return err
		}
		a.add(Finding{Kind: FindingStaleMarker, OrgID: m.OrgID, marker: m, Detail: "a pending marker without a pending operation"})
	}
	return nil
}

// admins reports organization admins whose organization is gone, and
// those of a settled organization that its roster does not list.
func (a *checker) admins(ctx context.Context) error {
	for _, ad := range a.st.admins {
		if ad.Role == domain.RoleSuperAdmin {
			continue
		}
		if org, ok := a.st.orgs[ad.OrgID]; ok {
			if err := a.listed(ctx, org, ad); err != nil {
				return err
			}
			continue
		}
		if _, ok := a.st.seen[ad.OrgID]; ok {
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

// listed reports admin ad of org if org is settled and its roster does
// not list ad (read again by key before it is reported).
func (a *checker) listed(ctx context.Context, org domain.Organization, ad domain.Admin) error {
	onPage := func(members []domain.Member) bool {
		return slices.ContainsFunc(members, func(m domain.Member) bool { return m.AdminID == ad.ID })
	}
	if org.Pending != nil || onPage(a.st.rosters[org.ID][ad.Page]) {
		return nil
	}
	now, err := a.s.orgs.ByID(ctx, org.ID)
	if errors.Is(err, domain.ErrOrgNotFound) || (err == nil && (now.Version != org.Version || now.Pending != nil)) {
		return nil
	}
	if err != nil {
		return err
	}
	page, err := a.s.rosters.Page(ctx, org.ID, ad.Page)
	if err != nil || onPage(page) {
		return err
	}
	cur, err := a.s.admins.ByID(ctx, ad.ID)
	if errors.Is(err, domain.ErrAdminNotFound) || (err == nil && (cur.OrgID != org.ID || cur.Page != ad.Page)) {
		return nil // gone or moved meanwhile
	}
	if err != nil {
		return err
	}
	a.add(Finding{Kind: FindingAdmin, OrgID: org.ID, Key: string(ad.Email), admin: ad,
		Detail: fmt.Sprintf("account %s is on no roster page of its organization", ad.ID)})
	return nil
}

// rosters reports roster pages of organizations that are gone.
func (a *checker) rosters(ctx context.Context) error {
	for id, pages := range a.st.rosters {
		if _, ok := a.st.seen[id]; ok {
			continue
		}
		if _, ok := a.st.orgs[id]; ok {
			continue
		}
		if _, err := a.s.orgs.ByID(ctx, id); !errors.Is(err, domain.ErrOrgNotFound) {
			if err != nil {
				return err
			}
			continue
		}
		for i, members := range pages {
			a.add(Finding{Kind: FindingStrayRoster, OrgID: id, page: i,
				Detail: fmt.Sprintf("roster page %d (%d members) of an organization that is gone", i, len(members))})
		}
	}
	return nil
}

// invitations reports invitations their organization does not list,
// older than a lease (an invitation is stored before it is listed).
func (a *checker) invitations(ctx context.Context) error {
	for _, inv := range a.st.invites {
		if org, ok := a.st.orgs[inv.OrgID]; ok && (org.Pending != nil || slices.Contains(org.Invitations, inv.ID)) {
			continue
		}
		if !a.offline && !a.s.pastLease(inv.CreatedAt) {
			continue
		}
		org, err := a.s.orgs.ByID(ctx, inv.OrgID)
		switch {
		case errors.Is(err, domain.ErrOrgNotFound):
		case err != nil:
			return err
		case org.Pending != nil || slices.Contains(org.Invitations, inv.ID):
			continue
		}
		a.add(Finding{Kind: FindingStrayInvitation, OrgID: inv.OrgID, Key: string(inv.Email), invitation: inv.ID,
			Detail: fmt.Sprintf("invitation %s its organization does not list", inv.ID)})
	}
	return nil
}

// checkEvents reports the events committed to org that are not in the
// event log: in its outbox and not placed (online, only those committed
// more than a lease ago: their committer is gone), or, its outbox empty,
// its stream ending before the events it counts.
func (a *checker) checkEvents(ctx context.Context, org domain.Organization) (*Finding, error) {
	missing := 0
	for _, e := range org.Outbox {
		if !a.offline && !a.s.pastLease(e.OccurredAt) {
			continue
		}
		placed, err := a.s.placed(ctx, e)
		if err != nil {
			return nil, err
		}
		if !placed {
			missing++
		}
	}
	if missing > 0 {
		return &Finding{Kind: FindingUnplacedEvents, Key: org.Name.Key(), Detail: fmt.Sprintf("%d committed events are not in the event log", missing)}, nil
	}
	if len(org.Outbox) > 0 || org.EventSeq == 0 {
		return nil, nil
	}
	placed, err := a.s.placed(ctx, domain.Event{OrgID: org.ID, OrgSeq: org.EventSeq - 1})
	if err != nil || placed {
		return nil, err
	}
	return &Finding{Kind: FindingUnplacedEvents, Key: org.Name.Key(), Detail: fmt.Sprintf("its stream in the event log ends before the %d events it counts", org.EventSeq)}, nil
}

// webhooks reports organizations' endpoints their organization does not
// list (older than a lease), endpoints listed and not stored, and the
// events of an endpoint of every organization's events not placed.
func (a *checker) webhooks(ctx context.Context) error {
	stored := map[domain.ID]bool{}
	for _, w := range a.st.hooks {
		stored[w.ID] = true
		if w.OrgID == "" {
			if err := a.webhookEvents(ctx, w); err != nil {
				return err
			}
			continue
		}
		org, ok := a.st.orgs[w.OrgID]
		if !ok || org.State == domain.StateDeleted || org.Pending != nil || slices.Contains(org.Webhooks, w.ID) {
			continue // gone: delivery removes it; pending: being listed or unlisted
		}
		if !a.offline && !a.s.pastLease(w.CreatedAt) {
			continue
		}
		a.add(Finding{Kind: FindingStrayWebhook, OrgID: w.OrgID, Key: string(w.ID), webhook: w,
			Detail: fmt.Sprintf("webhook endpoint %s its organization does not list", w.ID)})
	}
	if a.s.hooks == nil {
		return nil
	}
	for _, org := range a.st.orgs {
		for _, id := range org.Webhooks {
			if !stored[id] && org.Pending == nil {
				a.add(Finding{Kind: FindingMissingWebhook, OrgID: org.ID, Key: string(id),
					Detail: fmt.Sprintf("organization %s lists webhook endpoint %s, which is not stored", org.Name, id)})
			}
		}
	}
	return nil
}

// webhookEvents reports the events in the outbox of w (an endpoint of
// every organization's events) not placed, committed more than a lease
// ago online.
func (a *checker) webhookEvents(ctx context.Context, w domain.Webhook) error {
	missing := 0
	for _, e := range w.Outbox {
		if !a.offline && !a.s.pastLease(e.OccurredAt) {
			continue
		}
		placed, err := a.s.placed(ctx, e)
		if err != nil {
			return err
		}
		if !placed {
			missing++
		}
	}
	if missing > 0 {
		a.add(Finding{Kind: FindingUnplacedEvents, Key: domain.WebhookStream(w.ID), webhook: w,
			Detail: fmt.Sprintf("%d events of webhook endpoint %s are not in the event log", missing, w.ID)})
	}
	return nil
}
