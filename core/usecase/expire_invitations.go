package usecase

import (
	"context"
	"errors"
	"time"

	"orgd/core/domain"
)

// RemoveExpiredInvitations removes, oldest first and at most limit of
// them, the invitations that expired before cutoff (their expiry plus the
// retention), each through its organization's lifecycle as a revocation
// by orgd itself: crash-safe, one invitation.expired event each. A
// deactivated organization's are left until its activation (nothing of it
// changes meanwhile). Strays (an invite cut off between storing and
// listing one, or left by an organization gone: nobody can accept them,
// and no organization lists them) are deleted as they are, without an
// event. It returns how many it removed, strays included.
func (s *Service) RemoveExpiredInvitations(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	invs, err := s.invites.ExpiredBefore(ctx, cutoff, limit)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, inv := range invs {
		inv.Digest = ""
		stray := false
		_, _, begun, err := s.perform(ctx, inv.OrgID, change{begun: FPExpirePending, plan: func(org domain.Organization) (domain.Organization, error) {
			if !containsID(org.Invitations, inv.ID) {
				stray = true // accepted or revoked meanwhile (then gone already), or a stray
				return org, errUnchanged
			}
			if org.Deactivated() {
				return org, errUnchanged // suspended
			}
			pending, err := s.intent(ctx, domain.Actor{Kind: domain.ActorSystem}, opExpire, s.opID(), &expireOp{Invitation: inv})
			if err != nil {
				return org, err
			}
			return org.Begin(pending), nil
		}})
		if errors.Is(err, domain.ErrOrgNotFound) {
			err, stray = nil, true
		}
		switch {
		case err == nil && begun:
			n++
		case err == nil && stray && s.pastLease(inv.CreatedAt):
			// Settled and not listing it (perform read it settled), and
			// older than a lease (no invite storing it can still be
			// about to list it): delete it as it is.
			if err := s.invites.Delete(ctx, inv.ID); err != nil {
				errs = append(errs, err)
			} else {
				n++
			}
		case err == nil, errors.Is(err, errUnchanged):
		default:
			errs = append(errs, err)
		}
	}
	return n, errors.Join(errs...)
}

// FPExpirePending is the failpoint after an expired invitation's
// removal's intent.
const FPExpirePending = "expire.pending"

// opExpire removes an expired invitation.
const opExpire domain.Op = "expire"

// expireOp is an expired invitation's removal's intent: the invitation
// (without its digest).
type expireOp struct {
	Invitation domain.Invitation `json:"invitation"`
}

// claims: a removal takes none.
func (op *expireOp) claims(domain.Organization) []domain.Claim { return nil }

// account: a removal changes no account.
func (op *expireOp) account() domain.ID { return "" }

// finish deletes the invitation, then unlists it.
func (op *expireOp) finish(ctx context.Context, s *Service, org domain.Organization) (domain.Organization, error) {
	if err := s.invites.Delete(ctx, op.Invitation.ID); err != nil {
		return domain.Organization{}, err
	}
	return s.commit(ctx, op, org, org.Uninvite(op.Invitation.ID))
}

// lose: a removal holds no claims to lose.
func (op *expireOp) lose(_ context.Context, _ *Service, org domain.Organization, _ []domain.Claim) (domain.Organization, error) {
	return org, nil
}

// events: the invitation expired, and was removed.
func (op *expireOp) events(domain.Organization, domain.Organization) []domain.Event {
	return []domain.Event{happened(EventInvitationExpired, invitationData(op.Invitation))}
}
