// Package usecase holds orgd's use cases (CreateOrg, Login, Authenticate,
// GetOrg, UpdateOrg, which is also RenameOrg, DeleteOrg, and the super
// admin's EnsureSuperAdmin, ListOrgs and Snapshot) and the lifecycle engine
// (lifecycle.go) that makes their multi-step writes crash-safe without
// transactions. See docs/lifecycle.md.
package usecase

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"orgd/core/domain"
	"orgd/ports"
)

// Defaults for Deps fields left zero.
const (
	DefaultLease     = 30 * time.Second
	DefaultTokenTTL  = 30 * time.Minute
	DefaultBusyWait  = 3 * time.Second
	busyPollInterval = 10 * time.Millisecond
)

// Deps are the Service's collaborators. Orgs, Names, Emails, Admins,
// Rosters, Invitations, Events, Tenants, Hasher and Tokens are required.
type Deps struct {
	Orgs   ports.OrgRepository
	Names  ports.ClaimRegistry // organization name keys
	Emails ports.ClaimRegistry // admin emails
	// ExternalIDs holds organizations' external ids (none: organizations
	// have none, and setting one answers unsupported).
	ExternalIDs ports.ClaimRegistry
	Admins      ports.AdminRepository
	Rosters     ports.Rosters
	Invitations ports.Invitations
	Events      ports.EventLog
	Tenants     ports.TenantStore
	Hasher      ports.PasswordHasher
	Tokens      ports.TokenIssuer

	// Inventory lists the tenant collections for the integrity audit;
	// default: Tenants, if it implements ports.TenantInventory too.
	Inventory ports.TenantInventory

	Snapshots   ports.Snapshots     // default: none (GET /admin/snapshot answers 501)
	Attempts    ports.LoginAttempts // default: none kept, no back-off
	LoginPolicy domain.LoginPolicy  // default: domain.DefaultLoginPolicy
	Creation    domain.OrgCreation  // default: open
	Clock       ports.Clock         // default: the system clock
	Failpoints  ports.Failpoints    // default: never fires
	Logger      *slog.Logger        // default: slog.Default()

	// Lease is how long the owner of a lifecycle operation has to finish it
	// before others may take it over.
	Lease time.Duration
	// TokenTTL is the lifetime of access tokens.
	TokenTTL time.Duration
	// BusyWait bounds how long a request waits for another request's
	// operation on the same organization before answering busy.
	BusyWait time.Duration
	// InvitationTTL is how long an invitation may be accepted.
	InvitationTTL time.Duration

	// Webhooks stores webhook endpoints (none: no webhooks);
	// WebhookSender delivers to them and Sealer seals their secrets (both
	// needed to register endpoints and deliver; without them, operations
	// on endpoints under way are still finished).
	Webhooks      ports.Webhooks
	WebhookSender ports.WebhookSender
	Sealer        ports.Sealer
	// RetrySchedule is how long delivery waits after each failed attempt
	// (default DefaultRetrySchedule).
	RetrySchedule []time.Duration
	// Idempotency keeps the answers of requests sent with an
	// Idempotency-Key (none: such requests answer unsupported).
	Idempotency ports.IdempotencyKeys
}

// Service runs the use cases.
type Service struct {
	orgs     ports.OrgRepository
	names    claimKind
	nameHint *nameCache // which organization a name was last found to name

	// sweepAfter is where the periodic claims sweep goes on from, per
	// claim kind (registries' order), and sweepStarted when its pass
	// began.
	sweepMu      sync.Mutex
	sweepAfter   [3]string
	sweepStarted [3]time.Time
	emails       claimKind
	extIDs       claimKind // reg nil: no external ids
	admins       ports.AdminRepository
	rosters      ports.Rosters
	invites      ports.Invitations
	eventLog     ports.EventLog
	tenants      ports.TenantStore
	inventory    ports.TenantInventory
	hasher       ports.PasswordHasher
	tokens       ports.TokenIssuer
	clock        ports.Clock
	fail         ports.Failpoints
	attempts     ports.LoginAttempts
	snaps        ports.Snapshots
	policy       domain.LoginPolicy
	creation     domain.OrgCreation
	log          *slog.Logger
	lease        time.Duration
	tokenTTL     time.Duration
	busyWait     time.Duration
	inviteTTL    time.Duration
	hooks        *webhookDeps // nil: no webhooks
	idem         ports.IdempotencyKeys

	// dummyHash is verified against when a login names no admin, so that an
	// unknown email costs what a wrong password does.
	dummyHash string
	// exclusive is when RecoverPending took the store over exclusively.
	exclusive atomic.Pointer[time.Time]
	// stuckCount counts the operations recovery could not settle.
	stuckCount atomic.Int64
	// placedUpTo is one more than the place in the whole log of the last
	// event this process placed (in both streams): 0 for none.
	placedUpTo atomic.Int64
}

// New checks d and returns a Service.
func New(ctx context.Context, d Deps) (*Service, error) {
	if d.Orgs == nil || d.Names == nil || d.Emails == nil || d.Admins == nil || d.Rosters == nil || d.Invitations == nil ||
		d.Events == nil || d.Tenants == nil || d.Hasher == nil || d.Tokens == nil {
		return nil, errors.New("usecase: Orgs, Names, Emails, Admins, Rosters, Invitations, Events, Tenants, Hasher and Tokens are required")
	}
	s := &Service{
		orgs: d.Orgs, admins: d.Admins, tenants: d.Tenants,
		names:  claimKind{reg: d.Names, taken: domain.ErrOrgExists},
		emails: claimKind{reg: d.Emails, taken: domain.ErrEmailExists},
		extIDs: claimKind{reg: d.ExternalIDs, taken: domain.ErrExternalIDExists}, nameHint: newNameCache(),
		hasher: d.Hasher, tokens: d.Tokens, clock: d.Clock, fail: d.Failpoints, log: d.Logger, attempts: d.Attempts, snaps: d.Snapshots, policy: d.LoginPolicy, creation: d.Creation,
		lease: d.Lease, tokenTTL: d.TokenTTL, busyWait: d.BusyWait,
		rosters: d.Rosters, invites: d.Invitations, eventLog: d.Events, inviteTTL: d.InvitationTTL, idem: d.Idempotency,
	}
	s.inventory = d.Inventory
	if inv, ok := d.Tenants.(ports.TenantInventory); ok && s.inventory == nil {
		s.inventory = inv
	}
	if s.clock == nil {
		s.clock = systemClock{}
	}
	if s.fail == nil {
		s.fail = noFailpoints{}
	}
	if s.attempts == nil {
		s.attempts = noAttempts{}
	}
	if s.policy == (domain.LoginPolicy{}) {
		s.policy = domain.DefaultLoginPolicy
	}
	switch s.creation {
	case "":
		s.creation = domain.CreationOpen
	case domain.CreationOpen, domain.CreationSuperOnly:
	default:
		return nil, fmt.Errorf("usecase: unknown organization creation policy %q", s.creation)
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.lease <= 0 {
		s.lease = DefaultLease
	}
	if s.tokenTTL <= 0 {
		s.tokenTTL = DefaultTokenTTL
	}
	if s.busyWait <= 0 {
		s.busyWait = DefaultBusyWait
	}
	if s.inviteTTL <= 0 {
		s.inviteTTL = DefaultInvitationTTL
	}
	if err := s.wireWebhooks(d); err != nil {
		return nil, err
	}
	h, err := s.hasher.Hash(ctx, domain.Password("orgd-dummy-password-for-timing"))
	if err != nil {
		return nil, fmt.Errorf("hash dummy password: %w", err)
	}
	s.dummyHash = h
	return s, nil
}

// wireWebhooks sets up webhooks from d's, if it has them.
func (s *Service) wireWebhooks(d Deps) error {
	if d.Webhooks == nil {
		if d.WebhookSender != nil || d.Sealer != nil {
			return errors.New("usecase: WebhookSender and Sealer need Webhooks")
		}
		return nil
	}
	if (d.WebhookSender == nil) != (d.Sealer == nil) {
		return errors.New("usecase: WebhookSender and Sealer come together")
	}
	schedule := d.RetrySchedule
	if len(schedule) == 0 {
		schedule = DefaultRetrySchedule
	}
	for _, d := range schedule {
		if d < 0 {
			return errors.New("usecase: a retry delay cannot be negative")
		}
	}
	s.hooks = &webhookDeps{webhooks: d.Webhooks, sender: d.WebhookSender, sealer: d.Sealer, schedule: slices.Clone(schedule), wake: make(chan struct{}, 1), rescan: make(chan struct{}, 1)}
	return nil
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// noAttempts keeps no records and so admits every attempt.
type noAttempts struct{}

func (noAttempts) Begin(context.Context, []string, time.Time, time.Duration, func([]domain.AttemptRecord) domain.Admission) (domain.Admission, error) {
	return domain.Admission{}, nil
}
func (noAttempts) End(context.Context, []ports.AttemptEnd, time.Time, time.Duration) error {
	return nil
}

type noFailpoints struct{}

func (noFailpoints) Check(context.Context, string) error { return nil }

// now returns the clock's time at the millisecond precision the stores keep.
func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Millisecond) }
