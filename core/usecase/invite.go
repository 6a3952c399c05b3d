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
	if err := s.invites.Insert(ctx, inv); err != nil {
		return InvitationToken{}, err
	}
	// Listed on the organization only once stored: an invitation the
	// organization does not list can never be accepted.
	_, _, err = s.update(ctx, p.OrgID, "", func(org domain.Organization) (domain.Organization, error) {
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
		return org.Invite(inv.ID), nil
	})
	if err != nil {
		return InvitationToken{}, errors.Join(err, s.invites.Delete(context.WithoutCancel(ctx), inv.ID))
	}
	return InvitationToken{Invitation: inv, Token: string(inv.ID) + "." + base64.RawURLEncoding.EncodeToString(secret)}, nil
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
