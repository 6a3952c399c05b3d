package memory

import (
	"context"
	"maps"
	"slices"
	"time"

	"orgd/core/domain"
	"orgd/ports"
)

// rosterKey addresses one page of an organization's roster.
type rosterKey struct {
	org  domain.ID
	page int
}

// Rosters implements ports.Rosters.
type Rosters Store

// Invitations implements ports.Invitations.
type Invitations Store

var (
	_ ports.Rosters     = (*Rosters)(nil)
	_ ports.Invitations = (*Invitations)(nil)
)

// Rosters returns the Store's roster pages.
func (s *Store) Rosters() *Rosters { return (*Rosters)(s) }

// Invitations returns the Store's invitations.
func (s *Store) Invitations() *Invitations { return (*Invitations)(s) }

// Page implements ports.Rosters.
func (r *Rosters) Page(_ context.Context, org domain.ID, i int) ([]domain.Member, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.rosters[rosterKey{org, i}]), nil
}

// Put implements ports.Rosters.
func (r *Rosters) Put(_ context.Context, org domain.ID, i int, members []domain.Member) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rosters[rosterKey{org, i}] = slices.Clone(members)
	return nil
}

// Drop implements ports.Rosters.
func (r *Rosters) Drop(_ context.Context, org domain.ID, i int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.rosters, rosterKey{org, i})
	return nil
}

// All implements ports.Rosters.
func (r *Rosters) All(context.Context) ([]ports.RosterPage, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]ports.RosterPage, 0, len(r.rosters))
	for k, m := range r.rosters {
		out = append(out, ports.RosterPage{OrgID: k.org, Page: k.page, Members: slices.Clone(m)})
	}
	return out, nil
}

// Insert implements ports.Invitations.
func (r *Invitations) Insert(_ context.Context, inv domain.Invitation) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return insert(r.invites, inv.ID, inv, func(domain.Invitation) bool { return false }, domain.ErrInvitationExists)
}

// ByID implements ports.Invitations.
func (r *Invitations) ByID(_ context.Context, id domain.ID) (domain.Invitation, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return get(r.invites, id, domain.ErrInvitationNotFound)
}

// Delete implements ports.Invitations.
func (r *Invitations) Delete(_ context.Context, id domain.ID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.invites, id)
	return nil
}

// All implements ports.Invitations.
func (r *Invitations) All(context.Context) ([]domain.Invitation, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Collect(maps.Values(r.invites)), nil
}

// ExpiredBefore implements ports.Invitations.
func (r *Invitations) ExpiredBefore(_ context.Context, t time.Time, limit int) ([]domain.Invitation, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []domain.Invitation
	for _, inv := range r.invites {
		if inv.ExpiresAt.Before(t) {
			out = append(out, inv)
		}
	}
	slices.SortFunc(out, func(a, b domain.Invitation) int { return a.ExpiresAt.Compare(b.ExpiresAt) })
	return out[:min(limit, len(out))], nil
}
