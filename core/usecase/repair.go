package usecase

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"orgd/core/domain"
)

// This file is the integrity audit's repair (orgd check --repair): it
// fixes what is safe to fix and never drops a document.

// QuarantinePrefix starts the name a repair gives a tenant collection that
// no organization owns and that it cannot give back: the documents stay,
// out of every organization's way, for an operator to look at.
const QuarantinePrefix = "lost_"

// RepairReport says what a repair found and did, and what is left.
type RepairReport struct {
	// Recovered is what finishing the stale operations did.
	Recovered RecoveryReport `json:"recovered"`
	// Found is what the audit after that recovery found; each finding's
	// Repair says what was done about it.
	Found []Finding `json:"found"`
	// Left is the audit after the repairs: what needs an operator.
	Left IntegrityReport `json:"left"`
}

// Repair recovers as a start does (finishes or rolls back the operations
// past their lease, offline all of them; frees abandoned claims; deletes
// stray invitations), audits, and fixes each finding
// that is safe to fix:
//   - a claim an organization should hold and nobody does is taken for
//     it again; a dead claim is released;
//   - a stale marker is removed, a stray admin deleted with its claim;
//   - an orphan collection goes back to its organization when exactly one
//     organization in its place lacks its collection and it is the one
//     orphan there; an empty orphan is dropped; any other is renamed to
//     lost_<key>_<time> (QuarantinePrefix) and reported;
//   - an organization still missing its collection gets an empty one.
//
// A claim held by another organization, or an admin that does not match,
// is left for an operator. It returns the audit that remains.
func (s *Service) Repair(ctx context.Context, offline bool) (RepairReport, error) {
	var rep RepairReport
	rec, recErr := s.Recover(ctx, offline)
	rep.Recovered = rec
	found, err := s.CheckIntegrity(ctx, offline)
	if err != nil {
		return rep, errors.Join(recErr, err)
	}
	back := giveBack(found.Findings)
	var errs []error
	for _, kind := range repairOrder {
		for i := range found.Findings {
			if f := &found.Findings[i]; f.Kind == kind {
				var err error
				f.Repair, err = s.repair(ctx, f, back)
				errs = append(errs, err)
			}
		}
	}
	rep.Found = found.Findings
	rep.Left, err = s.CheckIntegrity(ctx, offline)
	return rep, errors.Join(append(errs, err)...)
}

// repairOrder is the order repairs go in: what frees keys and
// collections first (dead claims, stray admins, orphans given back), then
// what takes them.
var repairOrder = []FindingKind{
	FindingStaleMarker, FindingDeadClaim, FindingStrayAdmin, FindingStrayRoster, FindingStrayInvitation, FindingOrphan,
	FindingNameClaim, FindingEmailClaim, FindingExternalIDClaim, FindingCollection, FindingUnplacedEvents, FindingStrayWebhook,
}

// giveBack pairs orphan collections with the organizations they belong
// to, where that is unambiguous: in one place, one organization lacks its
// collection and one orphan lies there. It maps the orphan's place and
// name to the organization's collection name.
func giveBack(findings []Finding) map[domain.TenantCollection]string {
	missing := map[string][]Finding{}
	orphans := map[string][]Finding{}
	for _, f := range findings {
		switch f.Kind {
		case FindingCollection:
			missing[f.Place] = append(missing[f.Place], f)
		case FindingOrphan:
			orphans[f.Place] = append(orphans[f.Place], f)
		}
	}
	out := map[domain.TenantCollection]string{}
	for place, o := range orphans {
		if m := missing[place]; len(o) == 1 && len(m) == 1 {
			out[domain.TenantCollection{Place: place, Name: o[0].Key}] = m[0].Key
		}
	}
	return out
}

// repair fixes f if that is safe, and says what it did.
func (s *Service) repair(ctx context.Context, f *Finding, back map[domain.TenantCollection]string) (string, error) {
	switch f.Kind {
	case FindingNameClaim, FindingEmailClaim, FindingExternalIDClaim:
		return s.repairClaim(ctx, f)
	case FindingOrphan:
		return s.repairOrphan(ctx, f, back)
	case FindingCollection:
		if ok, err := s.tenants.Exists(ctx, f.OrgID, f.Key); err != nil || ok {
			return "given its collection back", err
		}
		return "created empty: no orphan could be given back", s.tenants.Create(ctx, f.OrgID, f.Key)
	case FindingDeadClaim:
		state, err := s.claimState(ctx, f.held)
		if err != nil || state != claimAbandoned {
			return "", err
		}
		return "released", s.registry(f.held.Kind).reg.Release(ctx, f.held)
	case FindingStaleMarker:
		return "removed", s.orgs.Unmark(ctx, f.marker)
	case FindingStrayRoster:
		return "dropped", s.rosters.Drop(ctx, f.OrgID, f.page)
	case FindingUnplacedEvents:
		if f.webhook.ID != "" {
			w, err := s.hooks.webhooks.ByID(ctx, f.webhook.ID)
			if err != nil {
				return "", err
			}
			n, err := s.settleWebhook(ctx, w)
			return fmt.Sprintf("placed %d in the event log", n), err
		}
		org, err := s.orgs.ByID(ctx, f.OrgID)
		if err != nil || len(org.Outbox) == 0 {
			return "", err // a stream shorter than it counts: an operator decides
		}
		n, err := s.settleOutbox(ctx, org, true)
		return fmt.Sprintf("placed %d in the event log", n), err
	case FindingStrayInvitation:
		return "deleted", s.invites.Delete(ctx, f.invitation)
	case FindingStrayWebhook:
		return "deleted", s.hooks.webhooks.Delete(ctx, f.webhook.ID)
	case FindingStrayAdmin:
		if err := s.admins.Delete(ctx, f.admin.ID); err != nil {
			return "", err
		}
		c, err := s.emails.reg.Claim(ctx, string(f.admin.Email))
		if err == nil && c.AdminID == f.admin.ID {
			err = s.emails.reg.Release(ctx, c)
		}
		if errors.Is(err, domain.ErrNoClaim) {
			err = nil
		}
		return "deleted, with its email claim", err
	}
	return "", nil // an operator decides
}

// repairClaim takes the claim an organization should hold: a free key is
// claimed again; one held by another operation of the same organization
// is handed over to the one the organization records. A key another
// organization holds is left for an operator.
func (s *Service) repairClaim(ctx context.Context, f *Finding) (string, error) {
	reg := s.registry(f.want.Kind).reg
	if f.held.Key != "" {
		if err := reg.Release(ctx, f.held); err != nil {
			return "", err
		}
	}
	want := f.want
	want.At = s.now()
	if err := reg.Reserve(ctx, want); errors.Is(err, domain.ErrClaimTaken) {
		return "", nil // another organization holds it: an operator decides
	} else if err != nil {
		return "", err
	}
	return "claimed again for the organization", nil
}

// repairOrphan gives an orphan collection back, drops it if empty, or
// quarantines it.
func (s *Service) repairOrphan(ctx context.Context, f *Finding, back map[domain.TenantCollection]string) (string, error) {
	if to, ok := back[domain.TenantCollection{Place: f.Place, Name: f.Key}]; ok {
		return "given back as " + to, s.inventory.MoveIn(ctx, f.Place, f.Key, to)
	}
	if f.Docs == 0 {
		return "dropped: it was empty", s.inventory.DropIn(ctx, f.Place, f.Key)
	}
	to := fmt.Sprintf("%s%s_%s", QuarantinePrefix, strings.TrimPrefix(f.Key, domain.CollectionPrefix), s.now().Format("20060102T150405"))
	if err := s.inventory.MoveIn(ctx, f.Place, f.Key, to); err != nil {
		return "", err
	}
	return fmt.Sprintf("quarantined as %s.%s with its %d documents", f.Place, to, f.Docs), nil
}
