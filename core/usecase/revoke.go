package usecase

import (
	"context"
	"errors"

	"orgd/core/domain"
)

// ErrBadInvitationID refuses an invitation id spelled otherwise than
// its one spelling.
var ErrBadInvitationID = domain.Errorf(domain.CodeInvalid, "id must be an invitation's id (24 lower-case hex digits)")

// Revoke withdraws invitation id of the caller's organization, or for
// the super admin of organization orgName, and returns it: its token is
// dead from now on.
func (s *Service) Revoke(ctx context.Context, p domain.Principal, orgName, id string) (domain.Invitation, error) {
	if !domain.ID(id).Valid() {
		return domain.Invitation{}, ErrBadInvitationID
	}
	org, err := s.memberOrg(ctx, p, orgName, domain.ActRevoke)
	if err != nil {
		return domain.Invitation{}, err
	}
	inv, err := s.invites.ByID(ctx, domain.ID(id))
	if errors.Is(err, domain.ErrInvitationNotFound) || (err == nil && inv.OrgID != org.ID) {
		return domain.Invitation{}, domain.ErrInvitationNotFound
	}
	if err != nil {
		return domain.Invitation{}, err
	}
	if !p.Super && !domain.Allowed(p.OrgRole, domain.ActRevoke, inv.Role) {
		return domain.Invitation{}, domain.ErrNotAllowed(p.OrgRole, domain.ActRevoke)
	}
	inv.Digest = ""
	_, _, _, err = s.perform(ctx, org.ID, change{begun: FPRevokePending, plan: func(org domain.Organization) (domain.Organization, error) {
		actor := domain.ActorOf(p)
		if p.Super {
			if org.Deactivated() {
				return org, domain.ErrDeactivated // nothing of it changes until its activation
			}
		} else {
			// The revoker's role, read again: it may have been demoted or
			// removed since its request was authenticated.
			me, err := s.caller(ctx, org, p)
			if err != nil {
				return org, err
			}
			if !domain.Allowed(me.OrgRole, domain.ActRevoke, inv.Role) {
				return org, domain.ErrNotAllowed(me.OrgRole, domain.ActRevoke)
			}
			actor = callerActor(me)
		}
		if !containsID(org.Invitations, inv.ID) {
			return org, domain.ErrInvitationNotFound // accepted or revoked meanwhile
		}
		pending, err := s.intent(ctx, actor, opRevoke, s.opID(), &revokeOp{Invitation: inv})
		if err != nil {
			return org, err
		}
		return org.Begin(pending), nil
	}})
	if err != nil {
		return domain.Invitation{}, err
	}
	return inv, nil
}

// FPRevokePending is the failpoint after a revocation's intent.
const FPRevokePending = "revoke.pending"

// opRevoke is the revocation operation.
const opRevoke domain.Op = "revoke"

// revokeOp is a revocation's intent: the invitation (without its digest).
type revokeOp struct {
	Invitation domain.Invitation `json:"invitation"`
}

// claims: a revocation takes none.
func (op *revokeOp) claims(domain.Organization) []domain.Claim { return nil }

// account: a revocation changes no account.
func (op *revokeOp) account() domain.ID { return "" }

// finish deletes the invitation, then unlists it: its token is dead from
// the first step.
func (op *revokeOp) finish(ctx context.Context, s *Service, org domain.Organization) (domain.Organization, error) {
	if err := s.invites.Delete(ctx, op.Invitation.ID); err != nil {
		return domain.Organization{}, err
	}
	return s.commit(ctx, op, org, org.Uninvite(op.Invitation.ID))
}

// lose: a revocation holds no claims to lose.
func (op *revokeOp) lose(_ context.Context, _ *Service, org domain.Organization, _ []domain.Claim) (domain.Organization, error) {
	return org, nil
}

// events: the invitation was revoked.
func (op *revokeOp) events(domain.Organization, domain.Organization) []domain.Event {
	return []domain.Event{happened(EventInvitationRevoked, invitationData(op.Invitation))}
}
