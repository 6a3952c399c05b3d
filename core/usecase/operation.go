package usecase

import (
	"context"
	"encoding/json"
	"fmt"

	"orgd/core/domain"
)

// operation is one kind of lifecycle operation, as the engine knows it.
// Its value is the operation's own part of an intent (domain.Pending.Data,
// encoded as JSON); its methods are all the engine asks of it, so that
// adding an operation is one file of its own and one line in operations.
type operation interface {
	// claims are the claims org's pending operation (this one) takes
	// before its intent is written, as its own (by the intent's ID), and
	// gives back if the intent never is.
	claims(org domain.Organization) []domain.Claim
	// account is the account the operation changes before its
	// organization records the change ("" for none): a request
	// authenticated as it waits for the operation, so that it sees the
	// change whole or not at all.
	account() domain.ID
	// finish carries out the operation's remaining steps on org (whose
	// intent it is), each idempotent, through its commit, and returns the
	// organization as the operation leaves it: in state StateDeleted if
	// it removed it.
	finish(ctx context.Context, s *Service, org domain.Organization) (domain.Organization, error)
	// lose is told that another holder took some of the claims the
	// operation had taken (it was taken over after its lease, and they
	// were freed and taken meanwhile): it undoes what depended on them,
	// and returns the organization as it now is, for finish to go on
	// with, or the error that ends the operation.
	lose(ctx context.Context, s *Service, org domain.Organization, lost []domain.Claim) (domain.Organization, error)
	// events are the events its commit records, org being the
	// organization its intent is on and next the one the commit writes
	// (happened gives each its type and data; the engine stamps the
	// rest). An operation that ends with nothing applied records none.
	events(org, next domain.Organization) []domain.Event
}

// operations is the registry: every kind of operation an intent can
// name, and how to make the value its data decodes into.
var operations = map[domain.Op]func() operation{
	domain.OpCreate:  func() operation { return new(createOp) },
	opUpdate:         func() operation { return new(updateOp) },
	opJoin:           func() operation { return new(joinOp) },
	opSetRole:        func() operation { return new(setRoleOp) },
	opRemove:         func() operation { return new(removeOp) },
	opInvite:         func() operation { return new(inviteOp) },
	opRevoke:         func() operation { return new(revokeOp) },
	opExpire:         func() operation { return new(expireOp) },
	domain.OpDelete:  func() operation { return new(deleteOp) },
	opWebhookCreate:  func() operation { return new(webhookCreateOp) },
	opWebhookDelete:  func() operation { return new(webhookDeleteOp) },
	opWebhookRotate:  func() operation { return new(webhookRotateOp) },
	opWebhookEnable:  func() operation { return new(webhookEnableOp) },
	opWebhookDisable: func() operation { return new(webhookDisableOp) },
	opDeactivate:     func() operation { return new(deactivateOp) },
	opActivate:       func() operation { return new(activateOp) },
}

// opOf decodes the operation intent p names.
func opOf(p *domain.Pending) (operation, error) {
	mk, ok := operations[p.Op]
	if !ok {
		return nil, fmt.Errorf("unknown pending operation %q", p.Op)
	}
	op := mk()
	if len(p.Data) > 0 {
		if err := json.Unmarshal(p.Data, op); err != nil {
			return nil, fmt.Errorf("pending operation %s: %w", p.Op, err)
		}
	}
	return op, nil
}

// opID is a fresh operation ID (an intent's own, which the claims it
// takes and the data it carries may name).
func (s *Service) opID() domain.ID { return domain.NewID(s.now()) }

// intent is the intent of operation op, of kind kind, with ID id, asked
// by actor in the request ctx serves, whose lease begins now.
func (s *Service) intent(ctx context.Context, actor domain.Actor, kind domain.Op, id domain.ID, op operation) (*domain.Pending, error) {
	data, err := json.Marshal(op)
	if err != nil {
		return nil, fmt.Errorf("encode operation %s: %w", kind, err)
	}
	return &domain.Pending{Op: kind, ID: id, LeaseUntil: s.now().Add(s.lease), Actor: actor, RequestID: requestID(ctx), Data: data}, nil
}

// rewrite replaces the data of org's pending operation with op's.
func rewrite(org domain.Organization, op operation) (domain.Organization, error) {
	data, err := json.Marshal(op)
	if err != nil {
		return org, fmt.Errorf("encode operation %s: %w", org.Pending.Op, err)
	}
	p := *org.Pending
	p.Data = data
	org.Pending = &p
	return org, nil
}

// intentClaims are the claims org's pending operation takes before its
// intent is written (none without one, or if its intent cannot be read:
// finishing it will say so).
func intentClaims(org domain.Organization) []domain.Claim {
	if org.Pending == nil {
		return nil
	}
	op, err := opOf(org.Pending)
	if err != nil {
		return nil
	}
	return op.claims(org)
}

// holds reports whether org holds claim c on its name, or its pending
// operation took c: the same key, holder and operation. (A member's claim
// on its email is held by the member: see domain.Member.EmailClaim.)
func holds(org domain.Organization, c domain.Claim) bool {
	if c.Same(org.NameClaim()) {
		return true
	}
	if x, ok := org.ExternalIDClaim(); ok && c.Same(x) {
		return true
	}
	for _, ic := range intentClaims(org) {
		if c.Same(ic) {
			return true
		}
	}
	return false
}

// writesAccount reports whether operation p, pending, changes account id
// before its organization records the change.
func writesAccount(p *domain.Pending, id domain.ID) bool {
	if p == nil {
		return false
	}
	op, err := opOf(p)
	return err == nil && op.account() == id && id != ""
}
