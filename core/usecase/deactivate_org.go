package usecase

import (
	"context"
	"time"
	"unicode/utf8"

	"orgd/core/domain"
)

// MaxReason bounds the reason given for a deactivation or an activation.
const MaxReason = 500

// Deactivate suspends organization name (the super admin): it keeps its
// name, members, documents, invitations and endpoints, but its members'
// logins, tokens and invitation accepts answer domain.ErrDeactivated, and
// nothing of it changes until it is activated again (the super admin may
// still delete it). One deactivated already is answered as it is.
func (s *Service) Deactivate(ctx context.Context, p domain.Principal, name, reason string) (domain.Organization, error) {
	if err := checkReason(reason, true); err != nil {
		return domain.Organization{}, err
	}
	now := s.now()
	return s.suspension(ctx, p, name, FPDeactivatePending, func(org domain.Organization) (operation, error) {
		if org.Deactivated() {
			return nil, errUnchanged
		}
		return &deactivateOp{Reason: reason, At: now}, nil
	}, opDeactivate)
}

// checkReason checks a reason: required, or optional, at most MaxReason
// characters.
func checkReason(reason string, required bool) error {
	if required && reason == "" {
		return domain.Errorf(domain.CodeInvalid, "reason is required")
	}
	if utf8.RuneCountInString(reason) > MaxReason || !utf8.ValidString(reason) {
		return domain.Errorf(domain.CodeInvalid, "reason must be valid text of at most 500 characters")
	}
	return nil
}

// suspension begins the deactivation or activation op plans for
// organization name, as the super admin, and returns the organization as
// it leaves it.
func (s *Service) suspension(ctx context.Context, p domain.Principal, name, begun string, plan func(domain.Organization) (operation, error), kind domain.Op) (domain.Organization, error) {
	if !p.Super {
		return domain.Organization{}, domain.ErrSuperAdminOnly
	}
	target, err := s.GetOrg(ctx, name)
	if err != nil {
		return domain.Organization{}, err
	}
	key := target.Name.Key()
	before, after, _, err := s.perform(ctx, target.ID, change{begun: begun, plan: func(org domain.Organization) (domain.Organization, error) {
		if org.Name.Key() != key || !org.Visible() {
			return org, domain.ErrOrgNotFound // renamed meanwhile, or going
		}
		op, err := plan(org)
		if err != nil {
			return org, err
		}
		pending, err := s.intent(ctx, domain.ActorOf(p), kind, s.opID(), op)
		if err != nil {
			return org, err
		}
		return org.Begin(pending), nil
	}})
	if err != nil {
		return before, err
	}
	return after, nil
}

// FPDeactivatePending is the failpoint after a deactivation's intent.
const FPDeactivatePending = "deactivate.pending"

// opDeactivate deactivates an organization.
const opDeactivate domain.Op = "deactivate"

// deactivateOp is a deactivation's intent: why, and when.
type deactivateOp struct {
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// claims: a deactivation takes none.
func (op *deactivateOp) claims(domain.Organization) []domain.Claim { return nil }

// account: a deactivation changes no account (it makes them all wait).
func (op *deactivateOp) account() domain.ID { return "" }

// finish commits the deactivation: one write.
func (op *deactivateOp) finish(ctx context.Context, s *Service, org domain.Organization) (domain.Organization, error) {
	return s.commit(ctx, op, org, org.Deactivate(op.Reason, op.At))
}

// lose: a deactivation holds no claims to lose.
func (op *deactivateOp) lose(_ context.Context, _ *Service, org domain.Organization, _ []domain.Claim) (domain.Organization, error) {
	return org, nil
}

// events: the organization was deactivated, and why.
func (op *deactivateOp) events(domain.Organization, domain.Organization) []domain.Event {
	return []domain.Event{happened(EventOrgDeactivated, struct {
		Reason string `json:"reason"`
	}{op.Reason})}
}
