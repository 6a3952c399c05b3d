package mongodb

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"orgd/core/domain"
	"orgd/ports"
)

var _ ports.EventLog = (*EventLog)(nil)

// EventLog implements ports.EventLog on the event_log collection: one
// document for the head (_id "head") and one per page of each stream
// (_id "<stream>:<page>", the whole log's stream named "all"). Every read
// and write is by _id.
type EventLog struct {
	c   *mongo.Collection
	cas *cas
}

// allStream names the whole log's stream in page ids.
const allStream = "all"

type actorDoc struct {
	ID    *bson.ObjectID `bson:"id,omitempty"`
	Email string         `bson:"email,omitempty"`
	Kind  string         `bson:"kind"`
}

// eventDoc is an event, in an outbox, the head or a page. Data is the JSON
// the core encoded, kept as given.
type eventDoc struct {
	ID         string    `bson:"id"`
	Type       string    `bson:"type"`
	OccurredAt time.Time `bson:"occurred_at"`
	// OrgID is absent for the events of an endpoint of every
	// organization's events, whose Stream names its own.
	OrgID     *bson.ObjectID `bson:"org_id,omitempty"`
	OrgName   string         `bson:"org_name"`
	Actor     actorDoc       `bson:"actor"`
	RequestID string         `bson:"request_id,omitempty"`
	Data      string         `bson:"data"`
	Stream    string         `bson:"stream,omitempty"`
	OrgSeq    int64          `bson:"org_seq"`
	Seq       int64          `bson:"seq"`
}

func (c *ids) actor(a domain.Actor) actorDoc {
	return actorDoc{ID: c.opt(a.ID), Email: string(a.Email), Kind: string(a.Kind)}
}

func (d actorDoc) toDomain() domain.Actor {
	return domain.Actor{ID: fromOptOID(d.ID), Email: domain.Email(d.Email), Kind: domain.ActorKind(d.Kind)}
}

func (c *ids) event(e domain.Event) eventDoc {
	return eventDoc{
		ID: e.ID, Type: e.Type, OccurredAt: e.OccurredAt, OrgID: c.opt(e.OrgID), OrgName: e.OrgName,
		Actor: c.actor(e.Actor), RequestID: e.RequestID, Data: string(e.Data), Stream: e.Stream, OrgSeq: e.OrgSeq, Seq: e.Seq,
	}
}

func (c *ids) events(events []domain.Event) []eventDoc {
	if len(events) == 0 {
		return nil
	}
	out := make([]eventDoc, len(events))
	for i, e := range events {
		out[i] = c.event(e)
	}
	return out
}

func (d eventDoc) toDomain() domain.Event {
	return domain.Event{
		ID: d.ID, Type: d.Type, OccurredAt: d.OccurredAt.UTC(), OrgID: fromOptOID(d.OrgID), OrgName: d.OrgName,
		Actor: d.Actor.toDomain(), RequestID: d.RequestID, Data: []byte(d.Data), Stream: d.Stream, OrgSeq: d.OrgSeq, Seq: d.Seq,
	}
}

func eventsToDomain(docs []eventDoc) []domain.Event {
	if len(docs) == 0 {
		return nil
	}
	out := make([]domain.Event, len(docs))
	for i, d := range docs {
		out[i] = d.toDomain()
	}
	return out
}

type headDoc struct {
	ID      string    `bson:"_id"`
	Next    int64     `bson:"next"`
	Last    *eventDoc `bson:"last,omitempty"`
	Version int64     `bson:"version"`
}

// placeDoc is one event at its place of one stream.
type placeDoc struct {
	ID    string   `bson:"_id"`
	Event eventDoc `bson:"event"`
}

// chunkDoc is a copy of domain.EventChunk consecutive events of one
// stream.
type chunkDoc struct {
	ID     string     `bson:"_id"`
	Events []eventDoc `bson:"events"`
}

func chunkID(stream string, k int64) string {
	return streamKey(stream) + ":c" + strconv.FormatInt(k, 10)
}

// firstDoc is where retention left a stream's start.
type firstDoc struct {
	ID    string `bson:"_id"`
	First int64  `bson:"first"`
}

const headID = "head"

// streamKey is stream's name in document ids.
func streamKey(stream string) string {
	if stream == "" {
		return allStream
	}
	return stream
}

func placeID(stream string, pos int64) string {
	return streamKey(stream) + ":" + strconv.FormatInt(pos, 10)
}

func firstID(stream string) string { return streamKey(stream) + ":first" }

// Head implements ports.EventLog.
func (l *EventLog) Head(ctx context.Context) (domain.LogHead, error) {
	d, err := findByID(ctx, l.c, headID, nil, decoded[headDoc])
	if err != nil {
		return domain.LogHead{}, err
	}
	h := domain.LogHead{Next: d.Next, Version: d.Version}
	if d.Last != nil {
		e := d.Last.toDomain()
		h.Last = &e
	}
	return h, nil
}

// PutHead implements ports.EventLog: an insert for the first head, else a
// compare-and-set replace on its version.
func (l *EventLog) PutHead(ctx context.Context, h domain.LogHead, expected int64) error {
	var c ids
	d := headDoc{ID: headID, Next: h.Next, Version: expected + 1}
	if h.Last != nil {
		e := c.event(*h.Last)
		d.Last = &e
	}
	if c.err != nil {
		return fmt.Errorf("event log head: %w", c.err)
	}
	defer l.cas.lock(headID)()
	if expected == 0 {
		return l.insert(ctx, d)
	}
	ok, err := l.cas.replaceAt(ctx, l.c, headID, expected, d)
	if err != nil {
		return fmt.Errorf("event log head: %w", translate(err))
	}
	if !ok {
		return domain.ErrStale
	}
	return nil
}

// Put implements ports.EventLog: one insert, whose unique _id is the
// place.
func (l *EventLog) Put(ctx context.Context, stream string, pos int64, e domain.Event) error {
	var c ids
	d := placeDoc{ID: placeID(stream, pos), Event: c.event(e)}
	if c.err != nil {
		return fmt.Errorf("event %s: %w", e.ID, c.err)
	}
	return l.insert(ctx, d)
}

// insert inserts doc; domain.ErrStale if its _id is taken.
func (l *EventLog) insert(ctx context.Context, doc any) error {
	_, err := l.c.InsertOne(ctx, doc)
	if isDuplicate(err) {
		return domain.ErrStale
	}
	if err != nil {
		return fmt.Errorf("event log: %w", translate(err))
	}
	return nil
}

// Get implements ports.EventLog.
func (l *EventLog) Get(ctx context.Context, stream string, pos int64) (domain.Event, error) {
	return findByID(ctx, l.c, placeID(stream, pos), domain.ErrEventNotFound, func(d placeDoc) domain.Event { return d.Event.toDomain() })
}

// Drop implements ports.EventLog.
func (l *EventLog) Drop(ctx context.Context, stream string, pos int64) error {
	if _, err := l.c.DeleteOne(ctx, bson.D{{Key: "_id", Value: placeID(stream, pos)}}); err != nil {
		return fmt.Errorf("event log: drop %s: %w", placeID(stream, pos), translate(err))
	}
	return nil
}

// PutChunk implements ports.EventLog: one insert.
func (l *EventLog) PutChunk(ctx context.Context, stream string, k int64, events []domain.Event) error {
	var c ids
	d := chunkDoc{ID: chunkID(stream, k), Events: c.events(events)}
	if c.err != nil {
		return fmt.Errorf("event chunk %s: %w", d.ID, c.err)
	}
	return l.insert(ctx, d)
}

// Chunk implements ports.EventLog.
func (l *EventLog) Chunk(ctx context.Context, stream string, k int64) ([]domain.Event, error) {
	return findByID(ctx, l.c, chunkID(stream, k), domain.ErrEventNotFound, func(d chunkDoc) []domain.Event { return eventsToDomain(d.Events) })
}

// DropChunk implements ports.EventLog.
func (l *EventLog) DropChunk(ctx context.Context, stream string, k int64) error {
	if _, err := l.c.DeleteOne(ctx, bson.D{{Key: "_id", Value: chunkID(stream, k)}}); err != nil {
		return fmt.Errorf("event log: drop %s: %w", chunkID(stream, k), translate(err))
	}
	return nil
}

// First implements ports.EventLog.
func (l *EventLog) First(ctx context.Context, stream string) (int64, error) {
	d, err := findByID(ctx, l.c, firstID(stream), nil, decoded[firstDoc])
	return d.First, err
}

// SetFirst implements ports.EventLog. It only ever moves the start
// forward: a read, then a write conditional on what was read.
func (l *EventLog) SetFirst(ctx context.Context, stream string, first int64) error {
	id := firstID(stream)
	defer l.cas.lock(id)()
	for {
		cur, err := l.First(ctx, stream)
		if err != nil || cur >= first {
			return err
		}
		if cur == 0 {
			err = l.insert(ctx, firstDoc{ID: id, First: first})
			if errors.Is(err, domain.ErrStale) {
				continue
			}
			return err
		}
		ok, err := l.cas.write(ctx, l.c, id, bson.D{{Key: "first", Value: cur}}, func(filter bson.D) (int64, error) {
			res, err := l.c.ReplaceOne(ctx, filter, firstDoc{ID: id, First: first})
			if err != nil {
				return 0, err
			}
			return res.MatchedCount, nil
		})
		if err != nil {
			return fmt.Errorf("event log: %s: %w", id, translate(err))
		}
		if ok {
			return nil
		}
	}
}
