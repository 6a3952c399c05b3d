package usecase

import (
	"context"

	"orgd/core/domain"
)

// Activate ends organization name's deactivation (the super admin): its
// members log in and act again, and their tokens work again. One not
// deactivated is answered as it is.
func (s *Service) Activate(ctx context.Context, p domain.Principal, name, reason string) (domain.Organization, error) {
	if err := checkReason(reason, false); err != nil {
		return domain.Organization{}, err
	}
	return s.suspension(ctx, p, name, FPActivatePending, func(org domain.Organization) (operation, error) {
		if !org.Deactivated() {
			return nil, errUnchanged
		}
		return &activateOp{Reason: reason}, nil
	}, opActivate)
}

// FPActivatePending is the failpoint after an activation's intent.
const FPActivatePending = "activate.pending"

// opActivate activates a deactivated organization.
const opActivate domain.Op = "activate"

// activateOp is an activation's intent: why.
type activateOp struct {
	Reason string `json:"reason,omitempty"`
}

// claims: an activation takes none.
func (op *activateOp) claims(domain.Organization) []domain.Claim { return nil }

// account: an activation changes no account.
func (op *activateOp) account() domain.ID { return "" }

// finish commits the activation: one write.
func (op *activateOp) finish(ctx context.Context, s *Service, org domain.Organization) (domain.Organization, error) {
	return s.commit(ctx, op, org, org.Reactivate())
}

// lose: an activation holds no claims to lose.
func (op *activateOp) lose(_ context.Context, _ *Service, org domain.Organization, _ []domain.Claim) (domain.Organization, error) {
	return org, nil
}

// events: the organization was activated again.
func (op *activateOp) events(domain.Organization, domain.Organization) []domain.Event {
	return []domain.Event{happened(EventOrgActivated, struct {
		Reason string `json:"reason,omitempty"`
	}{op.Reason})}
}
