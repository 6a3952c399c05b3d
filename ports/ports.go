// Package ports declares what orgd's core needs from the outside world:
// storage, tenant collections, password hashing, tokens, time and fault
// injection. Adapters implement these; the core depends only on them.
package ports

import (
	"context"
	"io"
	"time"

	"orgd/core/domain"
)

// OrgRepository stores organization metadata. Every write is atomic on one
// organization and conditional on its Version; every read is by ID, so
// each is a point operation whatever the number of organizations.
type OrgRepository interface {
	// Insert stores a new organization. It returns domain.ErrOrgExists if
	// the ID or the name key is already stored.
	Insert(ctx context.Context, org domain.Organization) error
	// ByID returns the organization or domain.ErrOrgNotFound.
	ByID(ctx context.Context, id domain.ID) (domain.Organization, error)
	// Replace writes org if the stored Version equals expected, and returns
	// domain.ErrStale if it does not or the organization is gone.
	Replace(ctx context.Context, org domain.Organization, expected int64) error
	// Delete removes the organization if its stored Version equals expected;
	// domain.ErrStale otherwise, or if it is already gone.
	Delete(ctx context.Context, id domain.ID, expected int64) error
	// WithPending lists the organizations that carry a pending operation.
	// Its cost grows with the number of pending operations, not of
	// organizations.
	WithPending(ctx context.Context) ([]domain.Organization, error)
	// All lists every organization, in any state (for recovery's sweep of
	// abandoned claims: one read, not one per claim).
	All(ctx context.Context) ([]domain.Organization, error)
	// List returns up to limit active organizations in name-key order,
	// skipping offset, and how many active organizations there are.
	List(ctx context.Context, offset, limit int) ([]domain.Organization, int64, error)
	// ListAfter returns up to limit active organizations whose id comes
	// after after (empty: from the first), in id order: keyset paging,
	// whose cost is the page's, not the organizations'.
	ListAfter(ctx context.Context, after domain.ID, limit int) ([]domain.Organization, error)
	// Markers lists the markers that make WithPending's cost follow the
	// pending operations (an adapter that needs none lists none).
	Markers(ctx context.Context) ([]domain.Marker, error)
	// Unmark removes marker m if it is still as listed; a marker gone or
	// rewritten since is left alone.
	Unmark(ctx context.Context, m domain.Marker) error
}

// EventLog stores the event log: its head, and its streams (the whole
// log's, named "", and one per organization, named by its ID), each event
// one document at its place, read and written by key. It decides nothing:
// the core places events.
type EventLog interface {
	// Head returns the log's head (the zero head for a log never
	// written).
	Head(ctx context.Context) (domain.LogHead, error)
	// PutHead writes head if the stored version is expected (0: none
	// stored yet), giving it version expected+1; domain.ErrStale if not.
	PutHead(ctx context.Context, head domain.LogHead, expected int64) error
	// Put stores e at place pos of stream; domain.ErrStale if the place
	// is taken (by e or another).
	Put(ctx context.Context, stream string, pos int64, e domain.Event) error
	// Get returns the event at place pos of stream, or
	// domain.ErrEventNotFound.
	Get(ctx context.Context, stream string, pos int64) (domain.Event, error)
	// Drop removes the event at place pos of stream (retention); a
	// missing one is no error.
	Drop(ctx context.Context, stream string, pos int64) error
	// PutChunk stores a copy of the EventChunk events at places
	// k*EventChunk onwards of stream; domain.ErrStale if it is stored.
	PutChunk(ctx context.Context, stream string, k int64, events []domain.Event) error
	// Chunk returns chunk k of stream, or domain.ErrEventNotFound.
	Chunk(ctx context.Context, stream string, k int64) ([]domain.Event, error)
	// DropChunk removes chunk k of stream; a missing one is no error.
	DropChunk(ctx context.Context, stream string, k int64) error
	// First returns the first place of stream that retention kept (0 if
	// it never pruned it).
	First(ctx context.Context, stream string) (int64, error)
	// SetFirst records that retention dropped stream's places before
	// first; it never moves back.
	SetFirst(ctx context.Context, stream string, first int64) error
}

// ClaimRegistry holds claims on unique keys (organization name keys, admin
// emails): at most one claim per key, taken atomically, read by key.
type ClaimRegistry interface {
	// Reserve takes the claim, or returns domain.ErrClaimTaken if the key
	// is claimed already (by anyone, including the same holder).
	Reserve(ctx context.Context, claim domain.Claim) error
	// Claim returns the claim on key, or domain.ErrNoClaim if it is free.
	Claim(ctx context.Context, key string) (domain.Claim, error)
	// Release frees claim.Key if claim's holder holds it; it is a no-op
	// otherwise.
	Release(ctx context.Context, claim domain.Claim) error
	// All lists every claim.
	All(ctx context.Context) ([]domain.Claim, error)
	// Page returns up to limit claims whose key comes after after
	// (empty: from the first), in key order: a bounded slice of the
	// registry, for the periodic sweep.
	Page(ctx context.Context, after string, limit int) ([]domain.Claim, error)
}

// AdminRepository stores admins by ID. Emails are unique among them; they
// are looked up through the email ClaimRegistry.
type AdminRepository interface {
	// Insert stores a new admin. It returns domain.ErrEmailExists if the
	// email (or the ID) is taken.
	Insert(ctx context.Context, admin domain.Admin) error
	// ByID returns the admin or domain.ErrAdminNotFound.
	ByID(ctx context.Context, id domain.ID) (domain.Admin, error)
	// Update overwrites what may change of the admin: its email, password
	// hash and credentials version, role in its organization, email
	// claim's operation and roster page. It returns domain.ErrEmailExists
	// if another admin has the email and domain.ErrAdminNotFound if the
	// admin is gone.
	Update(ctx context.Context, admin domain.Admin) error
	// Delete removes the admin; deleting a missing admin is not an error.
	Delete(ctx context.Context, id domain.ID) error
	// All lists every admin (for the integrity audit).
	All(ctx context.Context) ([]domain.Admin, error)
}

// Rosters stores each organization's member list in pages of at most
// domain.RosterPageSize, each read and written whole by organization and
// page number: listing a page costs one point read whatever the number of
// members.
type Rosters interface {
	// Page returns page i of org's roster, empty if there is none.
	Page(ctx context.Context, org domain.ID, i int) ([]domain.Member, error)
	// Put writes page i of org's roster.
	Put(ctx context.Context, org domain.ID, i int, members []domain.Member) error
	// Drop removes page i of org's roster; a missing page is no error.
	Drop(ctx context.Context, org domain.ID, i int) error
	// All lists every page of every organization's roster, for the
	// integrity audit.
	All(ctx context.Context) ([]RosterPage, error)
}

// RosterPage is one page of an organization's roster.
type RosterPage struct {
	OrgID   domain.ID
	Page    int
	Members []domain.Member
}

// Invitations stores invitations by ID.
type Invitations interface {
	// Insert stores a new invitation; domain.ErrInvitationExists if its
	// ID is stored already.
	Insert(ctx context.Context, inv domain.Invitation) error
	// ByID returns the invitation, or domain.ErrInvitationNotFound.
	ByID(ctx context.Context, id domain.ID) (domain.Invitation, error)
	// Delete removes the invitation; a missing one is no error.
	Delete(ctx context.Context, id domain.ID) error
	// All lists every invitation, for the integrity audit.
	All(ctx context.Context) ([]domain.Invitation, error)
	// ExpiredBefore returns up to limit invitations that expired before
	// t, those that expired first first.
	ExpiredBefore(ctx context.Context, t time.Time, limit int) ([]domain.Invitation, error)
}

// Webhooks stores webhook endpoints by ID. Writes are compare-and-set
// on the endpoint's Version.
type Webhooks interface {
	// Insert stores a new endpoint; domain.ErrWebhookExists if its ID is
	// stored already.
	Insert(ctx context.Context, w domain.Webhook) error
	// ByID returns the endpoint, or domain.ErrWebhookNotFound.
	ByID(ctx context.Context, id domain.ID) (domain.Webhook, error)
	// Replace writes w if the stored Version equals expected;
	// domain.ErrStale if it does not or the endpoint is gone.
	Replace(ctx context.Context, w domain.Webhook, expected int64) error
	// Delete removes the endpoint; a missing one is no error.
	Delete(ctx context.Context, id domain.ID) error
	// All lists every endpoint (there are few: at most
	// domain.MaxWebhooks per organization).
	All(ctx context.Context) ([]domain.Webhook, error)
}

// IdempotencyKeys stores what is kept of requests sent with an
// Idempotency-Key, by key. Writes are compare-and-set on the version.
type IdempotencyKeys interface {
	// Insert stores a new record; domain.ErrIdempotencyRecordExists if
	// one of its key is stored.
	Insert(ctx context.Context, rec domain.IdempotencyRecord) error
	// Get returns the record of key, or
	// domain.ErrIdempotencyRecordNotFound.
	Get(ctx context.Context, key string) (domain.IdempotencyRecord, error)
	// Replace writes rec if the stored version is expected;
	// domain.ErrStale if not, or if it is gone.
	Replace(ctx context.Context, rec domain.IdempotencyRecord, expected int64) error
	// Purge removes up to limit records that expired before t, and
	// returns how many it removed.
	Purge(ctx context.Context, before time.Time, limit int) (int, error)
}

// WebhookRequest is one delivery attempt: the event with ID, its body,
// signed at Timestamp with each of Secrets (the plain secrets).
type WebhookRequest struct {
	URL       string
	ID        string
	Timestamp time.Time
	Body      []byte
	Secrets   [][]byte
}

// WebhookResponse is how a delivery attempt ended: the receiver's status
// (0 if it gave none), how long it asked to be left alone (Retry-After),
// and, without a status, why not (a timeout, a refused connection, an
// address refused): words of orgd's, never the receiver's.
type WebhookResponse struct {
	Status     int
	RetryAfter time.Duration
	Failure    string
}

// WebhookSender delivers to webhook endpoints, signed as Standard
// Webhooks v1.
type WebhookSender interface {
	// Check says why url may not be an endpoint (a domain.Error of code
	// invalid), or nil if it may.
	Check(ctx context.Context, url string) error
	// Send makes one attempt; it never follows a redirect.
	Send(ctx context.Context, req WebhookRequest) WebhookResponse
}

// Sealer seals secrets kept at rest, and opens them.
type Sealer interface {
	Seal(plain []byte) ([]byte, error)
	// Open returns the plain secret, or an error if sealed was not sealed
	// with this Sealer's key.
	Open(sealed []byte) ([]byte, error)
}

// TenantStore manages the per-organization collections. Each call is a
// single atomic operation on the store. A collection is addressed by its
// organization's ID and its name: the store may place an organization's
// collection wherever it likes, as long as it keeps it in one place for
// the organization's life, so a rename never moves documents between
// places.
type TenantStore interface {
	// Create creates the collection; an existing one is left as it is.
	Create(ctx context.Context, org domain.ID, name string) error
	// Rename moves the collection and all its documents to a new name in
	// one atomic step. It returns domain.ErrCollectionNotFound if from does
	// not exist.
	Rename(ctx context.Context, org domain.ID, from, to string) error
	// Drop removes the collection; dropping a missing one is not an error.
	Drop(ctx context.Context, org domain.ID, name string) error
	// Exists reports whether the collection exists.
	Exists(ctx context.Context, org domain.ID, name string) (bool, error)
	// Place names where org's collection lives. Collections in one place
	// share one namespace: two organizations with one place can never
	// both have a collection of one name.
	Place(org domain.ID) string
}

// TenantInventory lists the tenant collections wherever they live, and
// moves or drops one by its place: what the integrity audit needs to find
// and settle a collection no organization owns. Requests never use it.
type TenantInventory interface {
	// Collections lists every tenant collection (named
	// domain.CollectionPrefix + key) in every place.
	Collections(ctx context.Context) ([]domain.TenantCollection, error)
	// CountIn returns how many documents collection name in place holds,
	// or domain.ErrCollectionNotFound.
	CountIn(ctx context.Context, place, name string) (int64, error)
	// MoveIn renames collection from to to within place, in one atomic
	// step; domain.ErrCollectionNotFound if from does not exist.
	MoveIn(ctx context.Context, place, from, to string) error
	// DropIn removes collection name from place.
	DropIn(ctx context.Context, place, name string) error
}

// PasswordHasher turns passwords into self-describing hashes and checks them.
type PasswordHasher interface {
	// Hash returns an encoded hash of pw.
	Hash(ctx context.Context, pw domain.Password) (string, error)
	// Verify reports whether pw matches encoded. A malformed encoded hash
	// is an error, not a mismatch.
	Verify(ctx context.Context, encoded string, pw domain.Password) (bool, error)
}

// TokenIssuer signs and checks access tokens.
type TokenIssuer interface {
	// Issue signs c.
	Issue(c domain.TokenClaims) (string, error)
	// Verify checks the token's signature and validity window and returns
	// its claims, or domain.ErrInvalidToken.
	Verify(token string) (domain.TokenClaims, error)
}

// Clock tells the time; tests move it by hand.
type Clock interface {
	Now() time.Time
}

// Failpoints lets tests stop a lifecycle operation after any of its steps,
// as a crash there would. Production uses a Failpoints that never fires.
type Failpoints interface {
	// Check returns a non-nil error to abandon the operation at point.
	Check(ctx context.Context, point string) error
}

// LoginAttempts stores login-attempt records by key (see
// domain.AttemptRecord). It decides nothing itself: Begin runs the core's
// decision on the records it read, so that checking and counting an
// attempt in flight are one atomic step, across replicas when the store is
// shared. Keys are opaque to it and need not be stored as given.
type LoginAttempts interface {
	// Begin reads the records of keys (a zero record for a key with none)
	// and calls decide with them, in order. If decide admits the attempt,
	// it counts it in flight on every key (InFlight+1, InFlightUntil =
	// now + domain.InFlightFor), atomically with the read. It returns
	// decide's answer. Records are kept for keep after their last change.
	Begin(ctx context.Context, keys []string, now time.Time, keep time.Duration, decide func([]domain.AttemptRecord) domain.Admission) (domain.Admission, error)
	// End ends an attempt Begin admitted, on each key as its AttemptEnd
	// says: it is no longer in flight (InFlight-1, never below 0), and it
	// failed (Failures+1, Last = now) or its key forgets its failures.
	End(ctx context.Context, ends []AttemptEnd, now time.Time, keep time.Duration) error
}

// AttemptEnd is how an attempt ended, for one of its keys.
type AttemptEnd struct {
	Key    string
	Failed bool // count a failure
	Forget bool // forget the key's failures (a success, from this address)
}

// Snapshots takes point-in-time copies of the whole store while it serves
// (the embedded store; MongoDB is backed up with its own tools).
type Snapshots interface {
	// Snapshot writes one snapshot to w, in which every organization is as
	// it was at one instant.
	Snapshot(ctx context.Context, w io.Writer) error
}
