package usecase

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"orgd/core/domain"
)

// An invitation is how a member brings someone into the organization.
// orgd sends no mail: the inviter hands the token on.

// DefaultInvitationTTL is how long an invitation may be accepted.
const DefaultInvitationTTL = 72 * time.Hour

// MaxInvitations bounds an organization's pending invitations.
const MaxInvitations = 1000

// secretBytes is the size of an invitation's secret: 256 random bits.
const secretBytes = 32

// InvitationToken is an invitation as its inviter sees it once: with the
// token that accepts it.
type InvitationToken struct {
	domain.Invitation
	Token string
}

// Invite invites email into the caller's organization with role. The
// token (the invitation's ID and a secret of 256 random bits, of which
// only a digest is kept) is returned once, here. An email that already
// belongs to an account anywhere is refused (domain.ErrEmailExists).
func (s *Service) Invite(ctx context.Context, p domain.Principal, email, role string) (InvitationToken, error) {
	if p.Super {
		return InvitationToken{}, domain.ErrNoOrganization
	}
	e, err := domain.NewEmail(email)
	if err != nil {
		return InvitationToken{}, err
	}
	r, err := domain.NewOrgRole(role)
	if err != nil {
		return InvitationToken{}, err
	}
	if !domain.Allowed(p.OrgRole, domain.ActInvite, r) {
		return InvitationToken{}, domain.ErrNotAllowed(p.OrgRole, domain.ActInvite)
	}
	if taken, err := s.emailTaken(ctx, e); err != nil || taken {
		return InvitationToken{}, errors.Join(err, domain.ErrEmailExists)
	}
	now := s.now()
	secret := make([]byte, secretBytes)
	_, _ = rand.Read(secret)
	inv := domain.Invitation{
		ID: domain.NewID(now), OrgID: p.OrgID, Email: e, Role: r, Digest: digest(secret),
		CreatedBy: p.AdminID, CreatedAt: now, ExpiresAt: now.Add(s.inviteTTL),
	}
	_, _, _, err = s.perform(ctx, p.OrgID, change{begun: FPInvitePending, plan: func(org domain.Organization) (domain.Organization, error) {
		// The inviter's role, read again: it may have been demoted or
		// removed since its request was authenticated.
		me, err := s.caller(ctx, org, p)
		if err != nil {
			return org, err
		}
		if !domain.Allowed(me.OrgRole, domain.ActInvite, r) {
			return org, domain.ErrNotAllowed(me.OrgRole, domain.ActInvite)
		}
		if len(org.Invitations) >= MaxInvitations {
			return org, domain.Errorf(domain.CodeInvalid, fmt.Sprintf("an organization has at most %d pending invitations; revoke some first", MaxInvitations))
		}
		pending, err := s.intent(ctx, callerActor(me), opInvite, s.opID(), &inviteOp{Invitation: inv})
		if err != nil {
			return org, err
		}
		return org.Begin(pending), nil
	}})
	if err != nil {
		return InvitationToken{}, err
	}
	inv.Digest = ""
	return InvitationToken{Invitation: inv, Token: string(inv.ID) + "." + base64.RawURLEncoding.EncodeToString(secret)}, nil
}

// Failpoints of an invite.
const (
	FPInvitePending = "invite.pending"
	FPInviteStored  = "invite.stored"
)

// opInvite is the invite operation.
const opInvite domain.Op = "invite"

// inviteOp is an invite's intent: the invitation, stored before its
// organization lists it (only a listed one can be accepted).
type inviteOp struct {
	Invitation domain.Invitation `json:"invitation"`
}

// claims: an invite takes none (the acceptance claims the email).
func (op *inviteOp) claims(domain.Organization) []domain.Claim { return nil }

// account: an invite changes no account.
func (op *inviteOp) account() domain.ID { return "" }

// finish stores the invitation (once) and lists it.
func (op *inviteOp) finish(ctx context.Context, s *Service, org domain.Organization) (domain.Organization, error) {
	if err := s.invites.Insert(ctx, op.Invitation); err != nil && !errors.Is(err, domain.ErrInvitationExists) {
		return domain.Organization{}, err
	}
	if err := s.step(ctx, FPInviteStored); err != nil {
		return domain.Organization{}, err
	}
	return s.commit(ctx, op, org, org.Invite(op.Invitation.ID))
}

// lose: an invite holds no claims to lose.
func (op *inviteOp) lose(_ context.Context, _ *Service, org domain.Organization, _ []domain.Claim) (domain.Organization, error) {
	return org, nil
}

// events: the invitation was made (never its secret or digest).
func (op *inviteOp) events(domain.Organization, domain.Organization) []domain.Event {
	return []domain.Event{happened(EventInvitationCreated, invitationData(op.Invitation))}
}

// invitationEvent is what an invitation's events say of it.
type invitationEvent struct {
	InvitationID domain.ID      `json:"invitation_id"`
	Email        domain.Email   `json:"email"`
	Role         domain.OrgRole `json:"role"`
	ExpiresAt    time.Time      `json:"expires_at"`
}

func invitationData(inv domain.Invitation) invitationEvent {
	return invitationEvent{InvitationID: inv.ID, Email: inv.Email, Role: inv.Role, ExpiresAt: inv.ExpiresAt.UTC()}
}

// emailTaken reports whether email is held, settled, by an account, or by
// an operation in flight.
func (s *Service) emailTaken(ctx context.Context, email domain.Email) (bool, error) {
	c, err := s.emails.reg.Claim(ctx, string(email))
	if errors.Is(err, domain.ErrNoClaim) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	state, err := s.claimState(ctx, c)
	return state != claimAbandoned, err
}

func digest(secret []byte) string {
	sum := sha256.Sum256(secret)
	return hex.EncodeToString(sum[:])
}
