package usecase

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"orgd/core/domain"
)

// This file is the event log: every committed change is an event, written
// by the commit that makes the change (into the organization's outbox, in
// the same compare-and-set) and then placed in the log:
//
//   - in its organization's stream, at the place the commit gave it
//     (Event.OrgSeq: commit order, since commits of one organization are
//     one chain of compare-and-sets), and
//   - in the whole log, at the next place the log's head hands out
//     (Event.Seq). The head records the last place it handed out, and a
//     place is handed out only once the one before it is written to both
//     its streams; so both streams fill in order, without gaps, and a
//     place once read never gains an event before it.
//
// Every step is idempotent and keyed by the event's place, so the
// request, recovery, the sweep or another replica may place the same
// events, and each is placed once. An event leaves the outbox only once
// placed. Each event is one document at its place: appending is an
// insert, whatever the number of events, and reading is point reads.

// ctxRequestID carries the id of the request an operation serves.
type ctxRequestID struct{}

// WithRequestID returns ctx carrying request id id: the operations begun
// under it record it in their events.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxRequestID{}, id)
}

// requestID is the request id ctx carries, if any.
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxRequestID{}).(string)
	return id
}

// happened is one event an operation's commit records: its type and what
// changed (marshalled to JSON; never a secret).
func happened(typ string, data any) domain.Event {
	b, err := json.Marshal(data)
	if err != nil {
		// Event data is plain values; JSON encodes them without fail.
		b = []byte("{}")
	}
	return domain.Event{Type: typ, Data: b}
}

// The event types.
const (
	EventOrgCreated        = "organization.created"
	EventOrgRenamed        = "organization.renamed"
	EventOrgDeleted        = "organization.deleted"
	EventOrgUpdated        = "organization.updated"
	EventOrgDeactivated    = "organization.deactivated"
	EventOrgActivated      = "organization.activated"
	EventEmailChanged      = "account.email_changed"
	EventPasswordChanged   = "account.password_changed"
	EventMemberJoined      = "member.joined"
	EventMemberRoleChanged = "member.role_changed"
	EventMemberRemoved     = "member.removed"
	EventInvitationCreated = "invitation.created"
	EventInvitationRevoked = "invitation.revoked"
	EventInvitationExpired = "invitation.expired"
	EventWebhookCreated    = "webhook.created"
	EventWebhookDeleted    = "webhook.deleted"
	EventWebhookRotated    = "webhook.secret_rotated"
	EventWebhookEnabled    = "webhook.enabled"
	EventWebhookDisabled   = "webhook.disabled"
)

// EventTypes lists every event type, for validating a filter.
var EventTypes = []string{
	EventOrgCreated, EventOrgRenamed, EventOrgDeleted, EventOrgUpdated, EventOrgDeactivated, EventOrgActivated, EventEmailChanged, EventPasswordChanged,
	EventMemberJoined, EventMemberRoleChanged, EventMemberRemoved, EventInvitationCreated, EventInvitationRevoked, EventInvitationExpired,
	EventWebhookCreated, EventWebhookDeleted, EventWebhookRotated, EventWebhookEnabled, EventWebhookDisabled,
}

// record stamps the events op's commit of org records: their IDs (the
// operation's, and their place among its events), when, where, by whom.
func (s *Service) record(org, next domain.Organization, events []domain.Event) []domain.Event {
	now := s.now()
	out := make([]domain.Event, len(events))
	for i, e := range events {
		e.ID = fmt.Sprintf("%s.%d", org.Pending.ID, i)
		e.OccurredAt, e.OrgID, e.OrgName = now, org.ID, next.Name.String()
		e.Actor, e.RequestID = org.Pending.Actor, org.Pending.RequestID
		out[i] = e
	}
	return out
}

// publish places the events in org's outbox in the event log, in order.
// They stay in the outbox: the next commit on org drops those placed by
// then (unplaced), and the sweep takes them out of an organization that
// stays still (settleOutbox). Writing org here would only race the next
// operation's compare-and-set.
func (s *Service) publish(ctx context.Context, org domain.Organization) error {
	_, err := s.placeAll(ctx, org.Outbox)
	return err
}

// placeAll places events in the log, in order, and returns how many of
// them this call placed (the others were there already).
func (s *Service) placeAll(ctx context.Context, events []domain.Event) (int, error) {
	n := 0
	for _, e := range events {
		now, err := s.appendEvent(ctx, e)
		if err != nil {
			return n, fmt.Errorf("place event %s: %w", e.ID, err)
		}
		if now {
			n++
		}
	}
	return n, nil
}

// publishNow publishes what a commit just wrote. The change is committed
// whatever happens here: if the log cannot take its events now, they stay
// in the outbox, and the sweep places them.
func (s *Service) publishNow(ctx context.Context, org domain.Organization) {
	if err := s.publish(ctx, org); err != nil && ctx.Err() == nil {
		s.log.WarnContext(ctx, "event log: committed events not placed yet; the sweep places them", "org_id", org.ID, "error", err)
	}
}

// unplaced is outbox without the events already placed in the log
// (placed in order: one read of the place of the last one tells, in the
// common case that all are).
func (s *Service) unplaced(ctx context.Context, outbox []domain.Event) ([]domain.Event, error) {
	out := outbox
	for len(out) > 0 {
		placed, err := s.placed(ctx, out[len(out)-1])
		if err != nil {
			return nil, err
		}
		if placed {
			return nil, nil
		}
		if placed, err = s.placed(ctx, out[0]); err != nil || !placed {
			return out, err
		}
		out = out[1:]
	}
	return nil, nil
}

// settleOutbox places org's committed events in the log and, with
// clear, takes them out of its outbox, unless an operation is under way
// on org (its commit takes them out). It is the sweep's, for
// organizations that stay still; it returns how many events it placed
// itself (their committer died, or the log could not take them then).
func (s *Service) settleOutbox(ctx context.Context, org domain.Organization, clear bool) (int, error) {
	n, err := s.placeAll(ctx, org.Outbox)
	if err != nil || org.Pending != nil || !clear {
		return n, err
	}
	next := org
	next.Outbox = nil
	_, err = s.replace(ctx, org, next)
	if errors.Is(err, domain.ErrStale) {
		return n, nil // written meanwhile: that write, or the next sweep, takes them out
	}
	return n, err
}

// appendEvent places e in the event log once: in the whole log at the
// next place the head hands out, and in its organization's stream at its
// own place. It first finishes the head's last assignment (whose
// assigner may have died), so that no place is handed out before the one
// before it is written. It reports whether this call assigned e's place.
func (s *Service) appendEvent(ctx context.Context, e domain.Event) (bool, error) {
	for {
		head, err := s.eventLog.Head(ctx)
		if err != nil {
			return false, err
		}
		if last := head.Last; last != nil && last.Seq+1 != s.placedUpTo.Load() {
			// Placed in its organization's stream last: there, it is
			// placed everywhere (the usual case: one point read; none if
			// this process placed it).
			placed, err := s.placed(ctx, *last)
			if err != nil {
				return false, err
			}
			if !placed {
				if err := s.place(ctx, *last); err != nil {
					return false, err
				}
			}
			if last.ID == e.ID {
				return false, nil
			}
		}
		placed, err := s.placed(ctx, e)
		if err != nil || placed {
			return false, err
		}
		e.Seq = head.Next
		next := head
		next.Next, next.Last = head.Next+1, &e
		err = s.eventLog.PutHead(ctx, next, head.Version)
		if errors.Is(err, domain.ErrStale) {
			continue
		}
		if err != nil {
			return false, err
		}
		if err := s.place(ctx, e); err != nil {
			return false, err
		}
		s.placedUpTo.Store(e.Seq + 1)
		return true, nil
	}
}

// placed reports whether e is in its organization's stream (placed in
// the whole log first, it is then in both).
func (s *Service) placed(ctx context.Context, e domain.Event) (bool, error) {
	_, err := s.eventLog.Get(ctx, e.Home(), e.OrgSeq)
	if errors.Is(err, domain.ErrEventNotFound) {
		return false, nil
	}
	return err == nil, err
}

// place writes e, whose place in the whole log is assigned, to that place
// and then to its place in its organization's stream, each only if it is
// not there yet. The one that writes it to its organization's stream
// writes its audit line.
func (s *Service) place(ctx context.Context, e domain.Event) error {
	wroteAll, err := s.put(ctx, "", e.Seq, e)
	if err != nil {
		return err
	}
	wrote, err := s.put(ctx, e.Home(), e.OrgSeq, e)
	if err != nil {
		return err
	}
	if wrote {
		s.audit(ctx, e)
		s.webhookWake()
	}
	// Whoever fills a chunk's last place copies the chunk. A copy not
	// made costs readers speed only.
	if wroteAll && (e.Seq+1)%domain.EventChunk == 0 {
		s.sealChunk(ctx, "", e.Seq/domain.EventChunk)
	}
	if wrote && (e.OrgSeq+1)%domain.EventChunk == 0 {
		s.sealChunk(ctx, e.Home(), e.OrgSeq/domain.EventChunk)
	}
	return nil
}

// sealChunk copies chunk k of stream, whose places are all written.
func (s *Service) sealChunk(ctx context.Context, stream string, k int64) {
	b := s.readPlaces(ctx, stream, k*domain.EventChunk, domain.EventChunk)
	err := b.err
	if err == nil && len(b.events) == domain.EventChunk {
		if err = s.eventLog.PutChunk(ctx, stream, k, b.events); errors.Is(err, domain.ErrStale) {
			err = nil
		}
	}
	if err != nil {
		s.log.WarnContext(ctx, "event log: chunk not copied; readers read its places one by one", "stream", stream, "chunk", k, "error", err)
	}
}

// put writes e at place pos of stream, if that place is free, and reports
// whether it did. A place taken by another event means the log's order
// was broken.
func (s *Service) put(ctx context.Context, stream string, pos int64, e domain.Event) (bool, error) {
	err := s.eventLog.Put(ctx, stream, pos, e)
	if !errors.Is(err, domain.ErrStale) {
		return err == nil, err
	}
	there, err := s.eventLog.Get(ctx, stream, pos)
	if err != nil {
		return false, err
	}
	if there.ID != e.ID {
		return false, fmt.Errorf("event log: place %d of stream %q holds event %s, not %s", pos, stream, there.ID, e.ID)
	}
	return false, nil
}

// audit writes the audit line of event e: one per committed change.
func (s *Service) audit(ctx context.Context, e domain.Event) {
	s.log.InfoContext(ctx, "audit", "audit", true, "event", e.Type, "event_id", e.ID,
		"org_id", string(e.OrgID), "organization_name", e.OrgName,
		"actor_id", string(e.Actor.ID), "actor_email", string(e.Actor.Email), "actor_kind", string(e.Actor.Kind),
		"request_id", e.RequestID, "data", json.RawMessage(e.Data))
}

// EventQuery asks for events: those after a cursor (Next of an earlier
// answer; empty for the oldest kept), at most Limit, of one type if Type
// is set, of organization OrgID if it is set (the super admin only).
type EventQuery struct {
	After string
	Limit int
	Type  string
	OrgID domain.ID
}

// EventList is one page of events and the cursor to the next.
type EventList struct {
	Items []domain.Event
	Next  string
}

// MaxEventLimit bounds how many events one answer holds.
const MaxEventLimit = 100

// Events returns the events of the caller's organization (its admins and
// owners), or for the super admin those of the whole log or of the
// organization q names, after q.After, oldest first. A reader that
// follows Next never misses an event and never sees one twice. It reads a
// chunk of domain.EventChunk events at a time (a point read), whatever
// the number of events stored.
func (s *Service) Events(ctx context.Context, p domain.Principal, q EventQuery) (EventList, error) {
	if q.Limit < 1 || q.Limit > MaxEventLimit {
		return EventList{}, domain.Errorf(domain.CodeInvalid, fmt.Sprintf("limit must be 1 to %d", MaxEventLimit))
	}
	if q.Type != "" && !slices.Contains(EventTypes, q.Type) {
		return EventList{}, domain.Errorf(domain.CodeInvalid, fmt.Sprintf("type %q is not an event type", q.Type))
	}
	from, err := decodeCursor(q.After)
	if err != nil {
		return EventList{}, err
	}
	stream, err := s.eventStream(ctx, p, q)
	if err != nil {
		return EventList{}, err
	}
	first, err := s.eventLog.First(ctx, stream)
	if err != nil {
		return EventList{}, err
	}
	out := EventList{Items: []domain.Event{}}
	pos, scanned := max(from, first), 0 // retention dropped what is before first
	for len(out.Items) < q.Limit && scanned < maxEventScan {
		want := q.Limit - len(out.Items)
		got, err := s.readFrom(ctx, stream, pos, want)
		if err != nil {
			return EventList{}, err
		}
		for _, e := range got {
			if len(out.Items) == q.Limit {
				break
			}
			pos++
			scanned++
			if q.Type == "" || e.Type == q.Type {
				out.Items = append(out.Items, e)
			}
		}
		if len(got) < want {
			break // the stream ends here
		}
	}
	out.Next = encodeCursor(pos)
	return out, nil
}

// maxEventScan is how many places Events reads at most for one answer:
// with a type filter, an answer may hold fewer events than asked, and
// Next goes on from where it stopped.
const maxEventScan = 2 * MaxEventLimit

// readFrom reads up to n events of stream from place pos on, and returns
// those before the first empty place. The chunks of the range are read
// side by side (a point read each); a place not in a chunk is read alone.
func (s *Service) readFrom(ctx context.Context, stream string, pos int64, n int) ([]domain.Event, error) {
	if n <= 0 {
		return nil, nil
	}
	firstChunk, lastChunk := pos/domain.EventChunk, (pos+int64(n)-1)/domain.EventChunk
	chunks := make([][]domain.Event, lastChunk-firstChunk+1)
	errs := make([]error, len(chunks))
	var wg sync.WaitGroup
	for i := range chunks {
		wg.Go(func() { chunks[i], errs[i] = s.eventLog.Chunk(ctx, stream, firstChunk+int64(i)) })
	}
	wg.Wait()
	var out []domain.Event
	for i, chunk := range chunks {
		k := firstChunk + int64(i)
		start := max(pos, k*domain.EventChunk) // the first place wanted of this chunk
		end := min(pos+int64(n), (k+1)*domain.EventChunk)
		switch {
		case errs[i] == nil:
			out = append(out, chunk[start-k*domain.EventChunk:end-k*domain.EventChunk]...)
			continue
		case !errors.Is(errs[i], domain.ErrEventNotFound):
			return nil, errs[i]
		}
		b := s.readPlaces(ctx, stream, start, int(end-start))
		if b.err != nil {
			return nil, b.err
		}
		out = append(out, b.events...)
		if len(b.events) < int(end-start) {
			break // the stream ends here
		}
	}
	return out, nil
}

// eventBatch is what readPlaces read.
type eventBatch struct {
	events []domain.Event
	err    error
}

// readPlaces reads the n places of stream from pos on, side by side, and
// returns the events before the first place found empty.
func (s *Service) readPlaces(ctx context.Context, stream string, pos int64, n int) eventBatch {
	got := make([]domain.Event, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], errs[i] = s.eventLog.Get(ctx, stream, pos+int64(i)) })
	}
	wg.Wait()
	for i := range n {
		if errors.Is(errs[i], domain.ErrEventNotFound) {
			return eventBatch{events: got[:i]}
		}
		if errs[i] != nil {
			return eventBatch{err: errs[i]}
		}
	}
	return eventBatch{events: got}
}

// eventStream is the stream a caller reads: its own organization's (an
// admin's or owner's right), or for the super admin the whole log or the
// organization it names.
func (s *Service) eventStream(ctx context.Context, p domain.Principal, q EventQuery) (string, error) {
	if !p.Super {
		if q.OrgID != "" {
			return "", domain.Errorf(domain.CodeInvalid, "organization_id is for the super admin; a member reads its own organization's events")
		}
		// The stream outlives renames: it is the organization's by id.
		org, err := s.memberOrg(ctx, p, "", domain.ActReadEvents)
		return string(org.ID), err
	}
	if q.OrgID != "" && !q.OrgID.Valid() {
		return "", domain.Errorf(domain.CodeInvalid, "organization_id must be an organization's id (24 lower-case hex digits)")
	}
	return string(q.OrgID), nil
}

// cursorPrefix starts every cursor: a version, so that a later format can
// tell old cursors apart.
const cursorPrefix = "e1:"

func encodeCursor(pos int64) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%s%d", cursorPrefix, pos))
}

// decodeCursor reads a cursor Events gave out (empty: the start).
func decodeCursor(c string) (int64, error) {
	if c == "" {
		return 0, nil
	}
	bad := domain.Errorf(domain.CodeInvalid, "after is not a cursor this API gave out")
	raw, ok := domain.DecodeBase64URL(c)
	if !ok {
		return 0, bad
	}
	var pos int64
	if n, err := fmt.Sscanf(string(raw), cursorPrefix+"%d", &pos); err != nil || n != 1 || pos < 0 || encodeCursor(pos) != c {
		return 0, bad
	}
	return pos, nil
}

// PruneEvents drops, oldest first and at most max of them, the events
// that occurred before cutoff, from the whole log and from their
// organizations' streams, and returns how many it dropped. Each stream
// loses a prefix (events are dropped in the whole log's order, which is
// each organization's too), and records where it now starts. It is
// idempotent, so replicas may run it side by side.
func (s *Service) PruneEvents(ctx context.Context, cutoff time.Time, max int) (int, error) {
	first, err := s.eventLog.First(ctx, "")
	if err != nil {
		return 0, err
	}
	dropped := 0
	for ; dropped < max; first++ {
		e, err := s.eventLog.Get(ctx, "", first)
		if errors.Is(err, domain.ErrEventNotFound) {
			break // the log ends (or its next place is being written)
		}
		if err != nil {
			return dropped, err
		}
		if !e.OccurredAt.Before(cutoff) {
			break
		}
		// Its organization's stream first: it starts after e from now on.
		if err := s.eventLog.SetFirst(ctx, e.Home(), e.OrgSeq+1); err != nil {
			return dropped, err
		}
		if err := s.eventLog.Drop(ctx, e.Home(), e.OrgSeq); err != nil {
			return dropped, err
		}
		if (e.OrgSeq+1)%domain.EventChunk == 0 {
			if err := s.eventLog.DropChunk(ctx, e.Home(), e.OrgSeq/domain.EventChunk); err != nil {
				return dropped, err
			}
		}
		if err := s.eventLog.SetFirst(ctx, "", first+1); err != nil {
			return dropped, err
		}
		if err := s.eventLog.Drop(ctx, "", first); err != nil {
			return dropped, err
		}
		if (first+1)%domain.EventChunk == 0 {
			if err := s.eventLog.DropChunk(ctx, "", first/domain.EventChunk); err != nil {
				return dropped, err
			}
		}
		dropped++
	}
	return dropped, nil
}
