package usecase

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"orgd/core/domain"
	"orgd/ports"
)

// Failpoints of a join (an invitation accepted).
const (
	FPJoinReserved = "join.reserved"
	FPJoinPending  = "join.pending"
	FPJoinAdmin    = "join.admin"
)

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
	joined, org, err := s.join(ctx, in.Token, pw)
	s.endGuard(ctx, key, err)
	return joined, org, err
}

// join opens the invitation token names and makes its holder a member
// with password pw.
func (s *Service) join(ctx context.Context, token string, pw domain.Password) (domain.Member, domain.Organization, error) {
	inv, err := s.invitation(ctx, token)
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
			if org.Deactivated() {
				return org, domain.ErrDeactivated
			}
			id := s.opID()
			joined = domain.Member{AdminID: domain.NewID(s.now()), Email: inv.Email, Role: inv.Role, JoinedAt: s.now(), EmailOp: id}
			actor := domain.Actor{ID: joined.AdminID, Email: joined.Email, Kind: domain.ActorAdmin}
			pending, err := s.intent(ctx, actor, opJoin, id, &joinOp{Member: joined, Page: org.NextPage(), PasswordHash: hash, Invitation: inv.ID})
			if err != nil {
				return org, err
			}
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
	secret, canonical := domain.DecodeBase64URL(enc)
	if !ok || !canonical || len(secret) != secretBytes || !domain.ID(id).Valid() {
		return domain.Invitation{}, domain.ErrInvitationInvalid
	}
	inv, err := s.invites.ByID(ctx, domain.ID(id))
	if errors.Is(err, domain.ErrInvitationNotFound) {
		return domain.Invitation{}, domain.ErrInvitationInvalid
	}
	if err != nil {
		return domain.Invitation{}, err
	}
	if subtle.ConstantTimeCompare([]byte(digest(secret)), []byte(inv.Digest)) != 1 || !s.clock.Now().Before(inv.ExpiresAt) {
		return domain.Invitation{}, domain.ErrInvitationInvalid
	}
	return inv, nil
}

// opJoin is the join operation: an invitation accepted.
const opJoin domain.Op = "join"

// joinOp is a join's intent: the new member as it will be, its roster
// page, its password hash and the invitation it accepts.
type joinOp struct {
	Member       domain.Member `json:"member"`
	Page         int           `json:"page,omitempty"`
	PasswordHash string        `json:"password_hash"`
	Invitation   domain.ID     `json:"invitation"`
}

// claims is the new member's email.
func (op *joinOp) claims(org domain.Organization) []domain.Claim {
	return []domain.Claim{op.Member.EmailClaim(org.ID)}
}

// account: the new member cannot be authenticated before it joins.
func (op *joinOp) account() domain.ID { return "" }

// finish carries out a join's steps; each is idempotent. A join whose
// email turns out to belong to another account is undone.
func (op *joinOp) finish(ctx context.Context, s *Service, org domain.Organization) (domain.Organization, error) {
	if err := s.addMember(ctx, org, op.Member, op.Page, op.PasswordHash); errors.Is(err, errEmailHeld) {
		return domain.Organization{}, op.abort(ctx, s, org, domain.ErrEmailExists)
	} else if err != nil {
		return domain.Organization{}, err
	}
	if err := s.step(ctx, FPJoinAdmin); err != nil {
		return domain.Organization{}, err
	}
	if err := s.invites.Delete(ctx, op.Invitation); err != nil {
		return domain.Organization{}, err
	}
	return s.commit(ctx, op, org, org.Joined(op.Member, op.Page, op.Invitation, s.now()))
}

// events: the member joined, by its invitation.
func (op *joinOp) events(domain.Organization, domain.Organization) []domain.Event {
	return []domain.Event{happened(EventMemberJoined, struct {
		AdminID      domain.ID      `json:"admin_id"`
		Email        domain.Email   `json:"email"`
		Role         domain.OrgRole `json:"role"`
		InvitationID domain.ID      `json:"invitation_id"`
	}{op.Member.AdminID, op.Member.Email, op.Member.Role, op.Invitation})}
}

// lose: a join that lost its email is undone.
func (op *joinOp) lose(ctx context.Context, s *Service, org domain.Organization, _ []domain.Claim) (domain.Organization, error) {
	return org, op.abort(ctx, s, org, domain.ErrEmailExists)
}

// abort undoes a join that cannot complete (its email is another
// account's, or it lost the claim it had taken on it): the account and
// roster entry it may have written go, then its claim, and cause is
// returned. The invitation stays, for its organization to revoke.
func (op *joinOp) abort(ctx context.Context, s *Service, org domain.Organization, cause error) error {
	if err := s.admins.Delete(ctx, op.Member.AdminID); err != nil {
		return err
	}
	if err := s.dropRosterEntry(ctx, org.ID, op.Page, op.Member.AdminID); err != nil {
		return err
	}
	return s.abandon(ctx, org, cause)
}

// guard admits an attempt on key under the address back-off of the login
// policy (waiting, boundedly, while attempts in flight fill it), as
// password guesses are.
func (s *Service) guard(ctx context.Context, key string) error {
	return s.admitWith(ctx, []string{key}, func(r []domain.AttemptRecord, now time.Time) domain.Admission {
		return s.policy.Pair.Admit(r[0], now)
	}, "Too many failed attempts from this address. Please try again later.")
}

// endGuard ends a guarded attempt by how the whole accept ended (err): a
// token that could not be used counts as a failure; only a completed
// accept forgets the address's failures. Any other refusal (the email
// taken meanwhile, say) is neither: a valid token proves nothing about
// the guesses before it, or one reusable refusal would reset them.
func (s *Service) endGuard(ctx context.Context, key string, err error) {
	ends := []ports.AttemptEnd{{Key: key, Failed: errors.Is(err, domain.ErrInvitationInvalid), Forget: err == nil}}
	if err := s.attempts.End(context.WithoutCancel(ctx), ends, s.clock.Now(), s.policy.Keep()); err != nil {
		s.log.WarnContext(ctx, "invitation attempt not recorded", "error", err)
	}
}
