package usecase

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"orgd/core/domain"
	"orgd/ports"
)

// This file is invitations: how a member brings someone into the
// organization. orgd sends no mail: the inviter hands the token on.

// Failpoints of a join (an invitation accepted).
const (
	FPJoinReserved = "join.reserved"
	FPJoinPending  = "join.pending"
	FPJoinAdmin    = "join.admin"
)

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

// ListInvitations returns the pending invitations of the caller's
// organization (never their tokens).
func (s *Service) ListInvitations(ctx context.Context, p domain.Principal) ([]domain.Invitation, error) {
	org, err := s.memberOrg(ctx, p, "", domain.ActListInvitations)
	if err != nil {
		return nil, err
	}
	out := make([]domain.Invitation, 0, len(org.Invitations))
	for _, id := range org.Invitations {
		inv, err := s.invites.ByID(ctx, id)
		if errors.Is(err, domain.ErrInvitationInvalid) {
			continue // listed, not yet stored (a crash between the two)
		}
		if err != nil {
			return nil, err
		}
		inv.Digest = ""
		out = append(out, inv)
	}
	return out, nil
}

// ErrInvitationNotFound answers a revocation of an invitation the
// organization does not have.
var ErrInvitationNotFound = domain.Errorf(domain.CodeNotFound, "No such invitation in this organization")

// Revoke withdraws invitation id of the caller's organization, and
// returns it: its token is dead from now on.
func (s *Service) Revoke(ctx context.Context, p domain.Principal, id string) (domain.Invitation, error) {
	if p.Super {
		return domain.Invitation{}, domain.ErrNoOrganization
	}
	if !domain.Allowed(p.OrgRole, domain.ActRevoke) {
		return domain.Invitation{}, domain.ErrNotAllowed(p.OrgRole, domain.ActRevoke)
	}
	inv, err := s.invites.ByID(ctx, domain.ID(id))
	if errors.Is(err, domain.ErrInvitationInvalid) || (err == nil && inv.OrgID != p.OrgID) {
		return domain.Invitation{}, ErrInvitationNotFound
	}
	if err != nil {
		return domain.Invitation{}, err
	}
	if !domain.Allowed(p.OrgRole, domain.ActRevoke, inv.Role) {
		return domain.Invitation{}, domain.ErrNotAllowed(p.OrgRole, domain.ActRevoke)
	}
	_, _, err = s.update(ctx, p.OrgID, "", func(org domain.Organization) (domain.Organization, error) {
		if !org.Visible() {
			return org, domain.ErrOrgNotFound
		}
		if !containsID(org.Invitations, inv.ID) {
			return org, ErrInvitationNotFound // accepted or revoked meanwhile
		}
		return org.Uninvite(inv.ID), nil
	})
	if err != nil {
		return domain.Invitation{}, err
	}
	inv.Digest = ""
	return inv, s.invites.Delete(ctx, inv.ID)
}

// AcceptInput is an invitation token, the password its new member chooses,
// and where it comes from (guessing tokens meets a back-off per address).
type AcceptInput struct {
	Token    string
	Password string
	Client   string
}

// Accept makes the holder of an invitation's token a member of its
// organization, with the invitation's email and role and the password
// given; the new member then logs in as any member does. Any token that
// cannot be used answers domain.ErrInvitationInvalid; guessing meets the
// login back-off (per address). Two invitations for one email: the first
// accepted wins, the other answers domain.ErrEmailExists.
func (s *Service) Accept(ctx context.Context, in AcceptInput) (domain.Member, domain.Organization, error) {
	pw, err := domain.NewPassword(in.Password)
	if err != nil {
		return domain.Member{}, domain.Organization{}, err
	}
	key := "invitation|" + in.Client
	if err := s.guard(ctx, key); err != nil {
		return domain.Member{}, domain.Organization{}, err
	}
	inv, err := s.invitation(ctx, in.Token)
	s.endGuard(ctx, key, err)
	if err != nil {
		return domain.Member{}, domain.Organization{}, err
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return domain.Member{}, domain.Organization{}, fmt.Errorf("hash password: %w", err)
	}
	var joined domain.Member
	_, after, _, err := s.perform(ctx, inv.OrgID, change{reserved: FPJoinReserved, begun: FPJoinPending,
		plan: func(org domain.Organization) (domain.Organization, error) {
			if !org.Visible() || !containsID(org.Invitations, inv.ID) {
				return org, domain.ErrInvitationInvalid // revoked, used or gone meanwhile
			}
			pending := s.newPending(domain.OpJoin)
			joined = domain.Member{AdminID: domain.NewID(s.now()), Email: inv.Email, Role: inv.Role, JoinedAt: s.now(), EmailOp: pending.ID}
			pending.Member, pending.Page, pending.PasswordHash, pending.Invitation = joined, org.NextPage(), hash, inv.ID
			return org.Begin(pending), nil
		}})
	if errors.Is(err, domain.ErrOrgNotFound) {
		err = domain.ErrInvitationInvalid
	}
	return joined, after, err
}

func containsID(ids []domain.ID, id domain.ID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// invitation returns the invitation token opens, checked: its secret, its
// expiry. Every failure is domain.ErrInvitationInvalid.
func (s *Service) invitation(ctx context.Context, token string) (domain.Invitation, error) {
	id, enc, ok := strings.Cut(token, ".")
	secret, err := base64.RawURLEncoding.DecodeString(enc)
	if !ok || err != nil || len(secret) != secretBytes || !domain.ID(id).Valid() {
		return domain.Invitation{}, domain.ErrInvitationInvalid
	}
	inv, err := s.invites.ByID(ctx, domain.ID(id))
	if err != nil {
		return domain.Invitation{}, err
	}
	if subtle.ConstantTimeCompare([]byte(digest(secret)), []byte(inv.Digest)) != 1 || !s.clock.Now().Before(inv.ExpiresAt) {
		return domain.Invitation{}, domain.ErrInvitationInvalid
	}
	return inv, nil
}

// finishJoin carries out a join's steps; each is idempotent. A join whose
// email turns out to belong to another account is undone.
func (s *Service) finishJoin(ctx context.Context, org domain.Organization) (domain.Organization, error) {
	p := org.Pending
	if err := s.addMember(ctx, org); errors.Is(err, errEmailHeld) {
		return domain.Organization{}, s.abortJoin(ctx, org, domain.ErrEmailExists)
	} else if err != nil {
		return domain.Organization{}, err
	}
	if err := s.step(ctx, FPJoinAdmin); err != nil {
		return domain.Organization{}, err
	}
	if err := s.invites.Delete(ctx, p.Invitation); err != nil {
		return domain.Organization{}, err
	}
	return s.commit(ctx, org, org.Joined(s.now()))
}

// abortJoin undoes a join that cannot complete (its email is another
// account's, or it lost the claim it had taken on it): the account and
// roster entry it may have written go, then its claim, and cause is
// returned. The invitation stays, for its organization to revoke.
func (s *Service) abortJoin(ctx context.Context, org domain.Organization, cause error) error {
	p := org.Pending
	if err := s.admins.Delete(ctx, p.Member.AdminID); err != nil {
		return err
	}
	if err := s.dropRosterEntry(ctx, org.ID, p.Page, p.Member.AdminID); err != nil {
		return err
	}
	if _, err := s.commit(ctx, org, org.Abort()); err != nil {
		return err
	}
	return errors.Join(cause, s.releaseAll(ctx, org.IntentClaims()))
}

// guard admits an attempt on key under the address back-off of the login
// policy (waiting, boundedly, while attempts in flight fill it), as
// password guesses are.
func (s *Service) guard(ctx context.Context, key string) error {
	return s.admitWith(ctx, []string{key}, func(r []domain.AttemptRecord, now time.Time) domain.Admission {
		return s.policy.Pair.Admit(r[0], now)
	}, "Too many failed attempts from this address. Please try again later.")
}

// endGuard ends a guarded attempt: a token that could not be used counts
// as a failure; one that could forgets the address's failures.
func (s *Service) endGuard(ctx context.Context, key string, err error) {
	ends := []ports.AttemptEnd{{Key: key, Failed: errors.Is(err, domain.ErrInvitationInvalid), Forget: err == nil}}
	if err := s.attempts.End(context.WithoutCancel(ctx), ends, s.clock.Now(), s.policy.Keep()); err != nil {
		s.log.WarnContext(ctx, "invitation attempt not recorded", "error", err)
	}
}
