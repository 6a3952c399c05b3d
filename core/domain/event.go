package domain

import "time"

// Event is one committed change, as the event log keeps it. Each
// operation's commit records its events in the same write that commits it
// (Organization.Outbox); they are then placed in the log, in order, under
// IDs derived from the operation's, so that whoever finishes an operation
// (the request, recovery, another replica) records the same events once.
type Event struct {
	// ID is the operation's ID and the event's place among its events:
	// "<operation id>.<n>".
	ID string
	// Type says what happened: organization.created, member.joined, ...
	Type string
	// OccurredAt is when the change committed.
	OccurredAt time.Time
	// OrgID and OrgName are the organization's, as of the change (a
	// rename's event names the new name).
	OrgID   ID
	OrgName string
	// Actor is who asked for the change, and RequestID the request that
	// asked (empty when recovery finished an operation begun before
	// request ids were kept).
	Actor     Actor
	RequestID string
	// Data says what changed, as a JSON object; it never holds a secret.
	Data []byte
	// Stream is the stream it is placed in besides the whole log, when
	// that is not its organization's (named by OrgID): WebhookStream, for
	// an event an endpoint of every organization's events records of
	// itself. See Home.
	Stream string
	// OrgSeq is the event's place in that stream, from 0, in commit
	// order; Seq its place in the whole log, assigned once it is placed
	// there.
	OrgSeq int64
	Seq    int64
}

// Home is the stream e is placed in besides the whole log.
func (e Event) Home() string {
	if e.Stream != "" {
		return e.Stream
	}
	return string(e.OrgID)
}

// ActorKind says what kind of account an actor is.
type ActorKind string

// The actor kinds.
const (
	ActorAdmin      ActorKind = "admin"       // a member of the organization
	ActorSuperAdmin ActorKind = "super_admin" // the platform's super admin
	ActorSystem     ActorKind = "system"      // orgd itself (expiry, retention)
)

// Actor is who asked for a change.
type Actor struct {
	ID    ID
	Email Email
	Kind  ActorKind
}

// ActorOf is principal p as the actor of a change.
func ActorOf(p Principal) Actor {
	if p.Super {
		return Actor{ID: p.AdminID, Email: p.Email, Kind: ActorSuperAdmin}
	}
	return Actor{ID: p.AdminID, Email: p.Email, Kind: ActorAdmin}
}

// EventChunk is how many consecutive places of a stream one chunk holds:
// a copy of events already placed, written once the last of them is, so
// that reading a stream costs a point read per chunk rather than per
// event. A chunk missing (its writer died first) costs only speed.
const EventChunk = 10

// LogHead is the head of the whole event log: the place the next event
// takes, and the last assignment of a place (written to both its streams
// before the next one is made).
type LogHead struct {
	Next    int64
	Last    *Event
	Version int64
}

// ErrEventNotFound says a stream has no event at a place (yet, or any
// more).
var ErrEventNotFound = Errorf(CodeNotFound, "No event at that place")
