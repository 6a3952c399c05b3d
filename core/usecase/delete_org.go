package usecase

import (
	"context"
	"errors"
	"slices"

	"orgd/core/domain"
)

// Failpoints of a delete, one after each of its steps.
const (
	FPDeleteMarked  = "delete.marked"
	FPDeleteDropped = "delete.dropped"
	FPDeleteAdmin   = "delete.admin"
	FPDeleteOrg     = "delete.org"
)

// DeleteOrg deletes the organization named name, which must be the
// caller's and the caller one of its owners (the super admin may delete
// any): its collection, its invitations, every member and their emails,
// its metadata, then its name. It returns the name as stored;
// domain.ErrOrgNotFound if there is no such organization,
// domain.ErrNotOwner if it is not the caller's.
//
// Once the organization is marked deleting, clients see it as gone and the
// delete only ever moves forward, so a crash midway is finished by recovery.
//
// With ifMatch not nil, it deletes only an organization at one of those
// revisions (domain.ErrPrecondition otherwise, and nothing changes).
func (s *Service) DeleteOrg(ctx context.Context, p domain.Principal, name string, ifMatch []domain.Revision) (string, error) {
	n, err := domain.NewOrgName(name)
	if err != nil {
		return "", err
	}
	key := n.Key()
	org, err := s.orgByName(ctx, key)
	if err != nil {
		return "", err
	}
	if org.ID != p.OrgID && !p.Super {
		if org.Name.Key() != key || (!org.Visible() && org.Pending != nil) {
			return "", domain.ErrOrgNotFound
		}
		return "", domain.ErrNotOwner
	}
	before, _, _, err := s.perform(ctx, org.ID, change{begun: FPDeleteMarked,
		plan: func(org domain.Organization) (domain.Organization, error) {
			if org.Name.Key() != key || !org.Visible() {
				return org, domain.ErrOrgNotFound // renamed meanwhile, or going
			}
			actor := domain.ActorOf(p)
			if !p.Super {
				caller, err := s.caller(ctx, org, p)
				if err != nil {
					return org, err
				}
				if !domain.Allowed(caller.OrgRole, domain.ActDelete) {
					return org, domain.ErrNotAllowed(caller.OrgRole, domain.ActDelete)
				}
				actor = callerActor(caller)
			}
			if ifMatch != nil && !org.Matches(ifMatch) {
				return org, domain.ErrPrecondition
			}
			pending, err := s.intent(ctx, actor, domain.OpDelete, s.opID(), &deleteOp{})
			if err != nil {
				return org, err
			}
			return org.Begin(pending), nil
		}})
	if err != nil {
		return "", err
	}
	return before.Name.String(), nil
}

// deleteOp is a delete's intent: the organization says everything else.
type deleteOp struct{}

// claims: a delete takes none (it gives its name and its members' emails
// back).
func (op *deleteOp) claims(domain.Organization) []domain.Claim { return nil }

// account: a delete's accounts go with its organization, hidden from its
// first write.
func (op *deleteOp) account() domain.ID { return "" }

// lose: a delete holds no claims to lose.
func (op *deleteOp) lose(_ context.Context, _ *Service, org domain.Organization, _ []domain.Claim) (domain.Organization, error) {
	return org, nil
}

// events: the organization is deleted.
func (op *deleteOp) events(domain.Organization, domain.Organization) []domain.Event {
	return []domain.Event{happened(EventOrgDeleted, struct{}{})}
}

// finish carries out the delete steps after the organization was marked
// deleting; each is idempotent. Members go a roster page at a time, the
// lease renewed between pages, so an organization of any size is deleted
// within leases of its own.
func (op *deleteOp) finish(ctx context.Context, s *Service, org domain.Organization) (domain.Organization, error) {
	if err := s.tenants.Drop(ctx, org.ID, org.Name.Collection()); err != nil {
		return domain.Organization{}, err
	}
	if err := s.step(ctx, FPDeleteDropped); err != nil {
		return domain.Organization{}, err
	}
	for _, id := range org.Invitations {
		if err := s.invites.Delete(ctx, id); err != nil {
			return domain.Organization{}, err
		}
	}
	cancel := context.CancelFunc(func() {})
	defer func() { cancel() }()
	for i := len(org.Roster) - 1; i >= 0; i-- {
		var err error
		if org, err = s.renewLease(ctx, org); err != nil {
			return domain.Organization{}, err
		}
		cancel()
		ctx, cancel = s.opContext(ctx, org.Pending)
		if err := s.removePage(ctx, org, i); err != nil {
			return domain.Organization{}, err
		}
	}
	// Its event goes into the log before the organization goes: a delete
	// only moves forward, so the event is as good as committed.
	if !slices.ContainsFunc(org.Outbox, func(e domain.Event) bool { return e.ID == string(org.Pending.ID)+".0" }) {
		var err error
		if org, err = s.replace(ctx, org, org.Record(s.record(org, org, op.events(org, org))...)); err != nil {
			if errors.Is(err, domain.ErrStale) {
				return domain.Organization{}, domain.ErrOrgBusy // taken over: the new owner finishes it
			}
			return domain.Organization{}, err
		}
	}
	if err := s.publish(ctx, org); err != nil {
		return domain.Organization{}, err
	}
	err := s.orgs.Delete(ctx, org.ID, org.Version)
	if errors.Is(err, domain.ErrStale) {
		// Gone already (another owner got here first) or taken over.
		if _, err := s.orgs.ByID(ctx, org.ID); !errors.Is(err, domain.ErrOrgNotFound) {
			return domain.Organization{}, errors.Join(domain.ErrOrgBusy, err)
		}
	} else if err != nil {
		return domain.Organization{}, err
	}
	if err := s.step(ctx, FPDeleteOrg); err != nil {
		return domain.Organization{}, err
	}
	gone := org.Done()
	gone.State = domain.StateDeleted
	claims := []domain.Claim{org.NameClaim()}
	if x, ok := org.ExternalIDClaim(); ok {
		claims = append(claims, x)
	}
	return gone, s.releaseAll(ctx, claims)
}

// removePage removes the members roster page i of org (being deleted)
// lists, their accounts first and then their claims on their emails, and
// then the page.
func (s *Service) removePage(ctx context.Context, org domain.Organization, i int) error {
	members, err := s.rosters.Page(ctx, org.ID, i)
	if err != nil {
		return err
	}
	for _, m := range members {
		if err := s.admins.Delete(ctx, m.AdminID); err != nil {
			return err
		}
		if err := s.releaseAll(ctx, []domain.Claim{m.EmailClaim(org.ID)}); err != nil {
			return err
		}
	}
	if err := s.step(ctx, FPDeleteAdmin); err != nil {
		return err
	}
	return s.rosters.Drop(ctx, org.ID, i)
}

// renewLease extends the lease of org's pending operation, which the
// caller owns, when less than half of it is left, and returns org as
// written. A long operation (a delete of many members) so keeps its lease
// without holding it longer than one step needs; its steps after a
// renewal run under opContext of the new lease.
func (s *Service) renewLease(ctx context.Context, org domain.Organization) (domain.Organization, error) {
	if org.Pending.LeaseUntil.Sub(s.clock.Now()) > s.lease/2 {
		return org, nil
	}
	next, err := s.replace(ctx, org, org.Renew(s.now().Add(s.lease)))
	if errors.Is(err, domain.ErrStale) {
		return org, domain.ErrOrgBusy // taken over: the new owner finishes it
	}
	return next, err
}
