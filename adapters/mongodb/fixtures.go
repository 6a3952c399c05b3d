package mongodb

// This file is what tests, benchmarks and tools use to fill and inspect a
// store quickly: seeding tenant documents and members, counting and listing
// tenant collections. Nothing on a request path calls it. It stays in the
// adapter rather than in mongotest because it writes and reads the
// adapter's private layout (document shapes, where a tenant's collection
// lives); outside, that layout would have to be exported or written twice.

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"orgd/core/domain"
)

// SeedMembers adds n members (role member, emails m<i>@<org id>.seed, with
// password hash hash) to organization org, settled: their accounts, email
// claims and roster pages, and the organization's count. For tests,
// benchmarks and tools: it writes directly, not through the lifecycle, so
// nothing else may write the organization meanwhile.
func SeedMembers(ctx context.Context, db *mongo.Database, org domain.ID, n int, hash string) error {
	id, ok := oid(org)
	if !ok {
		return fmt.Errorf("malformed id %q", org)
	}
	var o orgDoc
	if err := db.Collection(collOrgs).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&o); err != nil {
		return translate(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	rosters := &Rosters{c: db.Collection(collRosters)}
	i := max(len(o.Roster)-1, 0)
	page, err := rosters.Page(ctx, org, i)
	if err != nil {
		return err
	}
	var admins, claims []any
	flush := func() error {
		if err := rosters.Put(ctx, org, i, page); err != nil {
			return err
		}
		for len(o.Roster) <= i {
			o.Roster = append(o.Roster, 0)
		}
		o.Roster[i] = len(page)
		return nil
	}
	for k := range n {
		if len(page) == domain.RosterPageSize {
			if err := flush(); err != nil {
				return err
			}
			i, page = i+1, nil
		}
		m := domain.Member{AdminID: domain.NewID(now), Email: domain.Email(fmt.Sprintf("m%d@%s.seed", k, org)), Role: domain.RoleMember, JoinedAt: now}
		adminID, _ := oid(m.AdminID)
		admins = append(admins, adminDoc{
			ID: adminID, Email: string(m.Email), PasswordHash: hash, Role: string(domain.RoleOrgAdmin), OrgID: &id,
			CreatedAt: now, OrgRole: string(m.Role), Page: i,
		})
		claims = append(claims, claimDoc{Key: string(m.Email), OrgID: &id, AdminID: &adminID, At: now})
		page = append(page, m)
	}
	if err := flush(); err != nil {
		return err
	}
	if err := insertBatches(ctx, db.Collection(collAdmins), admins); err != nil {
		return err
	}
	if err := insertBatches(ctx, db.Collection(collEmails), claims); err != nil {
		return err
	}
	_, err = db.Collection(collOrgs).UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{
		{Key: "$set", Value: bson.D{{Key: "members", Value: o.Members + n}, {Key: "roster", Value: o.Roster}}},
		{Key: "$inc", Value: bson.D{{Key: "version", Value: 1}}},
	})
	return translate(err)
}

// insertBatches inserts docs into c a thousand at a time.
func insertBatches(ctx context.Context, c *mongo.Collection, docs []any) error {
	for len(docs) > 0 {
		batch := docs[:min(1000, len(docs))]
		if _, err := c.InsertMany(ctx, batch); err != nil {
			return translate(err)
		}
		docs = docs[len(batch):]
	}
	return nil
}

// Seed inserts n documents into a collection (for tests and benchmarks).
func (t *Tenants) Seed(ctx context.Context, org domain.ID, name string, n int) error {
	return SeedCollection(ctx, t.Collection(org, name), n)
}

// SeedCollection inserts n small documents {seq, payload} into c, in
// batches (for tests, benchmarks and tools).
func SeedCollection(ctx context.Context, c *mongo.Collection, n int) error {
	const batch = 1000
	docs := make([]any, 0, batch)
	for i := range n {
		docs = append(docs, bson.D{{Key: "seq", Value: i}, {Key: "payload", Value: "tenant document payload"}})
		if len(docs) == batch || i == n-1 {
			if _, err := c.InsertMany(ctx, docs); err != nil {
				return translate(err)
			}
			docs = docs[:0]
		}
	}
	return nil
}

// Count returns the number of documents in a collection, or
// domain.ErrCollectionNotFound.
func (t *Tenants) Count(ctx context.Context, org domain.ID, name string) (int64, error) {
	ok, err := t.Exists(ctx, org, name)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, domain.ErrCollectionNotFound
	}
	n, err := t.Collection(org, name).CountDocuments(ctx, bson.D{})
	return n, translate(err)
}

// List returns the names of all tenant collections, in every tenant
// database, sorted.
func (t *Tenants) List(ctx context.Context) ([]string, error) {
	colls, err := t.Collections(ctx)
	out := make([]string, len(colls))
	for i, c := range colls {
		out[i] = c.Name
	}
	slices.Sort(out)
	return out, err
}

// SeedEvents appends n events of type typ to organization org's stream and
// to the whole log, as the core would place them, and counts them on the
// organization. For tests, benchmarks and tools: it writes directly, so
// nothing else may write the organization or the log meanwhile.
func SeedEvents(ctx context.Context, db *mongo.Database, org domain.ID, n int, typ string) error {
	id, ok := oid(org)
	if !ok {
		return fmt.Errorf("malformed id %q", org)
	}
	var o orgDoc
	if err := db.Collection(collOrgs).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&o); err != nil {
		return translate(err)
	}
	log := &EventLog{c: db.Collection(collEvents), cas: &cas{}}
	head, err := log.Head(ctx)
	if err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	docs := make([]any, 0, 2*n+n/5)
	var c ids
	chunks := map[string][]eventDoc{}
	for i := range n {
		e := c.event(domain.Event{
			ID: fmt.Sprintf("%s.seed%d", org, i), Type: typ, OccurredAt: now, OrgID: org, OrgName: o.Name,
			Actor: domain.Actor{Kind: domain.ActorSystem}, Data: []byte(`{}`), OrgSeq: o.EventSeq + int64(i), Seq: head.Next + int64(i),
		})
		docs = append(docs, placeDoc{ID: placeID("", e.Seq), Event: e}, placeDoc{ID: placeID(string(org), e.OrgSeq), Event: e})
		// The chunks whose places are all seeded, as the core copies them.
		for stream, pos := range map[string]int64{"": e.Seq, string(org): e.OrgSeq} {
			id := chunkID(stream, pos/domain.EventChunk)
			if pos%domain.EventChunk == 0 || len(chunks[id]) > 0 {
				chunks[id] = append(chunks[id], e)
			}
			if len(chunks[id]) == domain.EventChunk {
				docs = append(docs, chunkDoc{ID: id, Events: chunks[id]})
			}
		}
	}
	if err := insertBatches(ctx, db.Collection(collEvents), docs); err != nil {
		return err
	}
	next := head
	next.Next, next.Last = head.Next+int64(n), nil
	if err := log.PutHead(ctx, next, head.Version); err != nil {
		return err
	}
	_, err = db.Collection(collOrgs).UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{
		{Key: "$set", Value: bson.D{{Key: "event_seq", Value: o.EventSeq + int64(n)}}},
		{Key: "$inc", Value: bson.D{{Key: "version", Value: 1}}},
	})
	return translate(err)
}
