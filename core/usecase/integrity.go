package usecase

import (
	"context"
	"errors"
	"fmt"

	"orgd/core/domain"
)

// This file is the integrity audit (orgd check): it reads the whole store
// once and checks what the lifecycle promises, that every organization is
// whole under exactly one name and nothing is left over. Anything that
// looks wrong in the first read is read again by key before it is
// reported, so operations running meanwhile are not mistaken for damage.

// FindingKind names one broken promise.
type FindingKind string

// The kinds of finding.
const (
	// FindingNameClaim: an organization does not hold the claim on its name.
	FindingNameClaim FindingKind = "name_claim"
	// FindingEmailClaim: a member does not hold the claim on its email.
	FindingEmailClaim FindingKind = "email_claim"
	// FindingAdmin: a member's account is missing or disagrees with the
	// roster, an account is on no roster, or the roster disagrees with
	// the organization's counts and owners.
	FindingAdmin FindingKind = "admin"
	// FindingCollection: its tenant collection is missing.
	FindingCollection FindingKind = "collection"
	// FindingOrphan: a tenant collection no organization owns.
	FindingOrphan FindingKind = "orphan_collection"
	// FindingDeadClaim: a claim nobody holds, older than a lease.
	FindingDeadClaim FindingKind = "dead_claim"
	// FindingStaleIntent: an operation whose lease ran out, unfinished.
	FindingStaleIntent FindingKind = "stale_intent"
	// FindingStaleMarker: a pending marker without an operation, older than a lease.
	FindingStaleMarker FindingKind = "stale_marker"
	// FindingStrayAdmin: an admin whose organization is gone.
	FindingStrayAdmin FindingKind = "stray_admin"
	// FindingStrayRoster: a roster page of an organization that is gone.
	FindingStrayRoster FindingKind = "stray_roster"
	// FindingStrayInvitation: an invitation its organization does not
	// list (it is gone, or the invitation was revoked or used), older
	// than a lease.
	FindingStrayInvitation FindingKind = "stray_invitation"
	// FindingUnplacedEvents: events committed to an organization that are
	// not in the event log (committed more than a lease ago, online), or
	// its stream ends before the events it counts.
	FindingUnplacedEvents FindingKind = "unplaced_events"
	// FindingStrayWebhook: an organization's webhook endpoint its
	// organization does not list, older than a lease (a registration
	// stores it before listing it; a deleted organization's endpoints go
	// once delivered, and are not reported).
	FindingStrayWebhook FindingKind = "stray_webhook"
	// FindingMissingWebhook: a webhook endpoint an organization lists and
	// the store lacks.
	FindingMissingWebhook FindingKind = "missing_webhook"
	// FindingExternalIDClaim: an organization's external id is not claimed
	// for it.
	FindingExternalIDClaim FindingKind = "external_id_claim"
)

// FindingKinds lists every kind, in the order reports give them.
var FindingKinds = []FindingKind{
	FindingNameClaim, FindingEmailClaim, FindingAdmin, FindingCollection, FindingOrphan,
	FindingDeadClaim, FindingStaleIntent, FindingStaleMarker, FindingStrayAdmin,
	FindingStrayRoster, FindingStrayInvitation, FindingUnplacedEvents, FindingStrayWebhook, FindingMissingWebhook, FindingExternalIDClaim,
}

// Finding is one thing the audit found wrong.
type Finding struct {
	Kind  FindingKind `json:"kind"`
	OrgID domain.ID   `json:"org_id,omitempty"`
	// Key is the name key, email or collection name concerned.
	Key string `json:"key,omitempty"`
	// Place is where a collection lies (see ports.TenantStore.Place).
	Place string `json:"place,omitempty"`
	// Docs is how many documents an orphan collection holds.
	Docs   int64  `json:"docs,omitempty"`
	Detail string `json:"detail"`
	// Repair says what a repair did about it; empty if none was asked or
	// none is safe (an operator decides).
	Repair string `json:"repair,omitempty"`

	// What a repair needs: the claim the organization should hold (want)
	// and the one there is (held); the marker; the admin; the roster page;
	// the invitation; the endpoint.
	want, held domain.Claim
	marker     domain.Marker
	admin      domain.Admin
	page       int
	invitation domain.ID
	webhook    domain.Webhook
}

// IntegrityReport is what one audit read and found.
type IntegrityReport struct {
	Organizations int       `json:"organizations"`
	Members       int       `json:"members"`
	Claims        int       `json:"claims"`
	Collections   int       `json:"collections"`
	Findings      []Finding `json:"findings"`
}

// Count returns how many findings are of kind k.
func (r IntegrityReport) Count(k FindingKind) int {
	n := 0
	for _, f := range r.Findings {
		if f.Kind == k {
			n++
		}
	}
	return n
}

// CheckIntegrity reads the whole store and reports every broken promise. It
// changes nothing. With offline set the caller guarantees no process
// serves the store (orgd check on a stopped DATA_DIR): every pending
// operation and every claim nobody holds is then stale, however young.
func (s *Service) CheckIntegrity(ctx context.Context, offline bool) (IntegrityReport, error) {
	if s.inventory == nil {
		return IntegrityReport{}, errors.New("integrity check: the tenant store keeps no inventory")
	}
	st, err := s.readStore(ctx)
	if err != nil {
		return IntegrityReport{}, err
	}
	a := checker{s: s, st: st, offline: offline}
	checks := []func(context.Context) error{a.organizations, a.orphans, a.claims, a.markers, a.admins, a.rosters, a.invitations, a.webhooks}
	for _, check := range checks {
		if err := check(ctx); err != nil {
			return IntegrityReport{}, err
		}
	}
	return IntegrityReport{
		Organizations: len(st.orgs), Members: len(st.admins), Claims: len(st.claims), Collections: len(st.colls), Findings: a.found,
	}, nil
}

// storeState is everything the audit reads, once.
type storeState struct {
	// orgs is the organizations as last read; seen, those the first read
	// found (read before the collections, so a collection listed between
	// the two reads is never mistaken for an orphan).
	orgs, seen map[domain.ID]domain.Organization
	claims     []domain.Claim
	admins     map[domain.ID]domain.Admin
	rosters    map[domain.ID]map[int][]domain.Member
	invites    []domain.Invitation
	hooks      []domain.Webhook
	markers    []domain.Marker
	colls      []domain.TenantCollection
}

func (s *Service) readStore(ctx context.Context) (storeState, error) {
	var st storeState
	first, err := s.orgs.All(ctx)
	if err != nil {
		return st, fmt.Errorf("integrity check: list organizations: %w", err)
	}
	for _, k := range s.registries() {
		claims, err := k.reg.All(ctx)
		if err != nil {
			return st, fmt.Errorf("integrity check: list claims: %w", err)
		}
		st.claims = append(st.claims, claims...)
	}
	admins, err := s.admins.All(ctx)
	if err != nil {
		return st, fmt.Errorf("integrity check: list admins: %w", err)
	}
	pages, err := s.rosters.All(ctx)
	if err != nil {
		return st, fmt.Errorf("integrity check: list rosters: %w", err)
	}
	if st.invites, err = s.invites.All(ctx); err != nil {
		return st, fmt.Errorf("integrity check: list invitations: %w", err)
	}
	if s.hooks != nil {
		if st.hooks, err = s.hooks.webhooks.All(ctx); err != nil {
			return st, fmt.Errorf("integrity check: list webhook endpoints: %w", err)
		}
	}
	if st.markers, err = s.orgs.Markers(ctx); err != nil {
		return st, fmt.Errorf("integrity check: list markers: %w", err)
	}
	if st.colls, err = s.inventory.Collections(ctx); err != nil {
		return st, fmt.Errorf("integrity check: list collections: %w", err)
	}
	last, err := s.orgs.All(ctx)
	if err != nil {
		return st, fmt.Errorf("integrity check: list organizations: %w", err)
	}
	st.seen, st.orgs = byID(first), byID(last)
	st.admins = make(map[domain.ID]domain.Admin, len(admins))
	for _, a := range admins {
		st.admins[a.ID] = a
	}
	st.rosters = make(map[domain.ID]map[int][]domain.Member)
	for _, p := range pages {
		if st.rosters[p.OrgID] == nil {
			st.rosters[p.OrgID] = map[int][]domain.Member{}
		}
		st.rosters[p.OrgID][p.Page] = p.Members
	}
	return st, nil
}

func byID(orgs []domain.Organization) map[domain.ID]domain.Organization {
	m := make(map[domain.ID]domain.Organization, len(orgs))
	for _, o := range orgs {
		m[o.ID] = o
	}
	return m
}
