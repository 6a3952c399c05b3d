package mongodb

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"orgd/core/domain"
	"orgd/ports"
)

var _ ports.OrgRepository = (*Orgs)(nil)

// Orgs implements ports.OrgRepository on the organizations collection.
//
// Organizations with a pending operation are also listed in pending_ops
// (one document per organization, keyed by its ID, holding the version of
// the intent): the marker is written before the intent, and removed after
// the write that clears it only if it is older than that write, so the
// marker of a next operation that started meanwhile stays. Every intent
// has a marker, and WithPending reads only the markers. A marker whose
// removal was interrupted is harmless: its organization is read and
// skipped. On the single-writer store the marker writes happen under the
// organization's compare-and-set lock, with the write they go with.
type Orgs struct {
	c       *mongo.Collection
	pending *mongo.Collection
	cas     *cas
	index   *orgIndex // on a single-writer store only
}

// pendingDoc is an intent: what every operation shares, and the
// operation's own data as the core encoded it (JSON, kept as a string:
// the adapter never looks inside).
type pendingDoc struct {
	Op         string         `bson:"op"`
	ID         *bson.ObjectID `bson:"id,omitempty"`
	LeaseUntil time.Time      `bson:"lease_until"`
	Actor      *actorDoc      `bson:"actor,omitempty"`
	RequestID  string         `bson:"request_id,omitempty"`
	Data       string         `bson:"data,omitempty"`
}

type orgDoc struct {
	ID         bson.ObjectID `bson:"_id"`
	Name       string        `bson:"name"`
	NameKey    string        `bson:"name_key"`
	Collection string        `bson:"collection"`
	// AdminEmail is the longest-standing owner's email, kept for
	// operators reading the store.
	AdminEmail string      `bson:"admin_email"`
	CreatedAt  time.Time   `bson:"created_at"`
	State      string      `bson:"state"`
	Pending    *pendingDoc `bson:"pending,omitempty"`
	Version    int64       `bson:"version"`
	// NameKey and Collection derive from Name; they are stored for
	// operators and for the store's own uniqueness index on name_key.
	// TenantDB names the database holding Collection (for operators; it
	// derives from ID).
	TenantDB string `bson:"tenant_db"`
	// NameOp names the operation whose claim on the name the organization
	// holds (absent for claims from before operation ids).
	NameOp      *bson.ObjectID  `bson:"name_op,omitempty"`
	Owners      []ownerDoc      `bson:"owners"`
	Members     int             `bson:"members"`
	Roster      []int           `bson:"roster"`
	Invitations []bson.ObjectID `bson:"invitations,omitempty"`
	Webhooks    []bson.ObjectID `bson:"webhooks,omitempty"`
	// PublicMetadata and PrivateMetadata are JSON objects, kept as the
	// core encoded them (numbers exactly as written).
	PublicMetadata  string         `bson:"public_metadata,omitempty"`
	PrivateMetadata string         `bson:"private_metadata,omitempty"`
	ExternalID      string         `bson:"external_id,omitempty"`
	ExternalIDOp    *bson.ObjectID `bson:"external_id_op,omitempty"`
	Suspended       *suspendedDoc  `bson:"suspended,omitempty"`
	// Outbox holds the events committed and not yet in the event log;
	// EventSeq counts the events committed (the organization's stream's
	// length once the outbox is placed).
	Outbox   []eventDoc `bson:"outbox,omitempty"`
	EventSeq int64      `bson:"event_seq,omitempty"`
}

type ownerDoc struct {
	AdminID bson.ObjectID `bson:"admin_id"`
	Email   string        `bson:"email"`
	Since   time.Time     `bson:"since"`
}

func toOrgDoc(o domain.Organization) (orgDoc, error) {
	var c ids
	d := orgDoc{
		ID: c.oid(o.ID), Name: o.Name.String(), NameKey: o.Name.Key(), Collection: o.Name.Collection(),
		AdminEmail: string(o.AdminEmail()), CreatedAt: o.CreatedAt,
		State: string(o.State), Version: o.Version, TenantDB: TenantDatabase("", o.ID),
		NameOp: c.opt(o.NameOp), Members: o.Members, Roster: o.Roster,
		Outbox: c.events(o.Outbox), EventSeq: o.EventSeq,
		PublicMetadata: metadataString(o.PublicMetadata), PrivateMetadata: metadataString(o.PrivateMetadata),
		ExternalID: o.ExternalID, ExternalIDOp: c.opt(o.ExternalIDOp),
	}
	if o.Suspended != nil {
		d.Suspended = &suspendedDoc{At: o.Suspended.At, Reason: o.Suspended.Reason}
	}
	for _, w := range o.Owners {
		d.Owners = append(d.Owners, ownerDoc{AdminID: c.oid(w.AdminID), Email: string(w.Email), Since: w.Since})
	}
	for _, id := range o.Invitations {
		d.Invitations = append(d.Invitations, c.oid(id))
	}
	for _, id := range o.Webhooks {
		d.Webhooks = append(d.Webhooks, c.oid(id))
	}
	if p := o.Pending; p != nil {
		d.Pending = &pendingDoc{Op: string(p.Op), ID: c.opt(p.ID), LeaseUntil: p.LeaseUntil, RequestID: p.RequestID, Data: string(p.Data)}
		if p.Actor != (domain.Actor{}) {
			a := c.actor(p.Actor)
			d.Pending.Actor = &a
		}
	}
	if c.err != nil {
		return orgDoc{}, fmt.Errorf("organization %q: %w", o.ID, c.err)
	}
	return d, nil
}

func (d orgDoc) toDomain() domain.Organization {
	o := domain.Organization{
		ID: domain.ID(d.ID.Hex()), Name: domain.StoredOrgName(d.Name),
		CreatedAt: d.CreatedAt.UTC(), State: domain.State(d.State), Version: d.Version,
		NameOp: fromOptOID(d.NameOp), Members: d.Members, Roster: d.Roster,
		Outbox: eventsToDomain(d.Outbox), EventSeq: d.EventSeq,
		ExternalID: d.ExternalID, ExternalIDOp: fromOptOID(d.ExternalIDOp),
	}
	if d.Suspended != nil {
		o.Suspended = &domain.Suspension{At: d.Suspended.At.UTC(), Reason: d.Suspended.Reason}
	}
	// Written by toOrgDoc from valid metadata; one that does not decode
	// (edited by hand) reads as none rather than failing every read.
	o.PublicMetadata, _ = domain.DecodeMetadata([]byte(d.PublicMetadata))
	o.PrivateMetadata, _ = domain.DecodeMetadata([]byte(d.PrivateMetadata))
	for _, w := range d.Owners {
		o.Owners = append(o.Owners, domain.Owner{AdminID: domain.ID(w.AdminID.Hex()), Email: domain.Email(w.Email), Since: w.Since.UTC()})
	}
	for _, id := range d.Invitations {
		o.Invitations = append(o.Invitations, domain.ID(id.Hex()))
	}
	for _, id := range d.Webhooks {
		o.Webhooks = append(o.Webhooks, domain.ID(id.Hex()))
	}
	if p := d.Pending; p != nil {
		o.Pending = &domain.Pending{Op: domain.Op(p.Op), ID: fromOptOID(p.ID), LeaseUntil: p.LeaseUntil.UTC(), RequestID: p.RequestID}
		if p.Actor != nil {
			o.Pending.Actor = p.Actor.toDomain()
		}
		if p.Data != "" {
			o.Pending.Data = []byte(p.Data)
		}
	}
	return o
}

// Insert implements ports.OrgRepository.
func (r *Orgs) Insert(ctx context.Context, org domain.Organization) error {
	d, err := toOrgDoc(org)
	if err != nil {
		return err
	}
	if org.Unsettled() {
		if err := r.mark(ctx, d.ID, d.Version); err != nil {
			return err
		}
	}
	_, err = r.c.InsertOne(ctx, d)
	if isDuplicate(err) {
		return fmt.Errorf("insert org %q: %w", org.Name.Key(), domain.ErrOrgExists)
	}
	if err == nil && r.index != nil {
		r.index.changed(d.ID, true)
	}
	return translate(err)
}

type pendingMarker struct {
	ID      bson.ObjectID `bson:"_id"`
	Version int64         `bson:"version"`
	// At is when it was written (absent on markers from before it was
	// kept: those count as old).
	At time.Time `bson:"at"`
}

// mark lists organization id in pending_ops for the intent written at
// version. Two racing upserts of one marker may both try the insert; the
// loser's duplicate key means a marker is there, and a racing intent is
// the newer one only if its write wins.
func (r *Orgs) mark(ctx context.Context, id bson.ObjectID, version int64) error {
	m := pendingMarker{ID: id, Version: version, At: time.Now().UTC().Truncate(time.Millisecond)}
	_, err := r.pending.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, m, options.Replace().SetUpsert(true))
	if err != nil && !isDuplicate(err) {
		return fmt.Errorf("mark pending %s: %w", id.Hex(), translate(err))
	}
	return nil
}

// unmark removes organization id's marker if it is older than version (the
// write that ended the operation); with version 0, whatever its age.
func (r *Orgs) unmark(ctx context.Context, id bson.ObjectID, version int64) error {
	filter := bson.D{{Key: "_id", Value: id}}
	if r.cas.single && version > 0 {
		var m pendingMarker
		err := r.pending.FindOne(ctx, filter).Decode(&m)
		if errors.Is(err, mongo.ErrNoDocuments) || (err == nil && m.Version >= version) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("unmark pending %s: %w", id.Hex(), translate(err))
		}
	} else if version > 0 {
		filter = append(filter, bson.E{Key: "version", Value: bson.D{{Key: "$lt", Value: version}}})
	}
	if _, err := r.pending.DeleteOne(ctx, filter); err != nil {
		return fmt.Errorf("unmark pending %s: %w", id.Hex(), translate(err))
	}
	return nil
}

func (r *Orgs) find(ctx context.Context, filter bson.D, opts ...options.Lister[options.FindOptions]) ([]domain.Organization, error) {
	return findAll(ctx, r.c, filter, orgDoc.toDomain, opts...)
}

// ByID implements ports.OrgRepository.
func (r *Orgs) ByID(ctx context.Context, id domain.ID) (domain.Organization, error) {
	return findByOID(ctx, r.c, id, domain.ErrOrgNotFound, orgDoc.toDomain)
}

// Replace implements ports.OrgRepository.
func (r *Orgs) Replace(ctx context.Context, org domain.Organization, expected int64) error {
	d, err := toOrgDoc(org)
	if err != nil {
		return err
	}
	defer r.cas.lock(d.ID)()
	if org.Unsettled() {
		if err := r.mark(ctx, d.ID, d.Version); err != nil {
			return err
		}
	}
	ok, err := r.cas.replaceAt(ctx, r.c, d.ID, expected, d)
	if isDuplicate(err) {
		return fmt.Errorf("replace org %s: %w", org.ID, domain.ErrOrgExists)
	}
	if err != nil {
		return fmt.Errorf("replace org %s: %w", org.ID, translate(err))
	}
	if !ok {
		return domain.ErrStale
	}
	if !org.Unsettled() {
		return r.unmark(ctx, d.ID, d.Version)
	}
	return nil
}

// Delete implements ports.OrgRepository.
func (r *Orgs) Delete(ctx context.Context, id domain.ID, expected int64) error {
	o, ok := oid(id)
	if !ok {
		return domain.ErrStale
	}
	defer r.cas.lock(o)()
	ok, err := r.cas.write(ctx, r.c, o, bson.D{{Key: "version", Value: expected}}, func(filter bson.D) (int64, error) {
		res, err := r.c.DeleteOne(ctx, filter)
		if err != nil {
			return 0, err
		}
		return res.DeletedCount, nil
	})
	if err != nil {
		return fmt.Errorf("delete org %s: %w", id, translate(err))
	}
	if !ok {
		return domain.ErrStale
	}
	if r.index != nil {
		r.index.changed(o, false)
	}
	return r.unmark(ctx, o, 0)
}

// markers reads every pending marker.
func (r *Orgs) markers(ctx context.Context) ([]pendingMarker, error) {
	return findAll(ctx, r.pending, bson.D{}, decoded[pendingMarker])
}

// Markers implements ports.OrgRepository.
func (r *Orgs) Markers(ctx context.Context) ([]domain.Marker, error) {
	marks, err := r.markers(ctx)
	out := make([]domain.Marker, len(marks))
	for i, m := range marks {
		out[i] = domain.Marker{OrgID: domain.ID(m.ID.Hex()), Version: m.Version, At: m.At.UTC()}
	}
	return out, err
}

// Unmark implements ports.OrgRepository.
func (r *Orgs) Unmark(ctx context.Context, m domain.Marker) error {
	id, ok := oid(m.OrgID)
	if !ok {
		return nil
	}
	defer r.cas.lock(id)()
	_, err := r.cas.write(ctx, r.pending, id, bson.D{{Key: "version", Value: m.Version}}, func(filter bson.D) (int64, error) {
		res, err := r.pending.DeleteOne(ctx, filter)
		if err != nil {
			return 0, err
		}
		return res.DeletedCount, nil
	})
	if err != nil {
		return fmt.Errorf("unmark pending %s: %w", m.OrgID, translate(err))
	}
	return nil
}

// WithPending implements ports.OrgRepository: it reads the markers, then
// each marked organization by ID.
func (r *Orgs) WithPending(ctx context.Context) ([]domain.Organization, error) {
	marks, err := r.markers(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]bson.ObjectID, len(marks))
	for i, m := range marks {
		ids[i] = m.ID
	}
	orgs, err := r.byIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []domain.Organization
	for _, org := range orgs {
		if org != nil && org.Unsettled() {
			out = append(out, *org)
		}
	}
	return out, nil
}

// All implements ports.OrgRepository.
func (r *Orgs) All(ctx context.Context) ([]domain.Organization, error) {
	return r.find(ctx, bson.D{})
}

// List implements ports.OrgRepository.
func (r *Orgs) List(ctx context.Context, offset, limit int) ([]domain.Organization, int64, error) {
	filter := bson.D{{Key: "state", Value: string(domain.StateActive)}}
	total, err := r.c.CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, fmt.Errorf("count orgs: %w", translate(err))
	}
	out, err := r.find(ctx, filter, options.Find().
		SetSort(bson.D{{Key: "name_key", Value: 1}}).SetSkip(int64(offset)).SetLimit(int64(limit)))
	return out, total, err
}

// ListAfter implements ports.OrgRepository: on a single-writer store
// through the in-memory index (a point read per organization), on a
// shared one by a range over the _id index.
func (r *Orgs) ListAfter(ctx context.Context, after domain.ID, limit int) ([]domain.Organization, error) {
	var from bson.ObjectID // zero: from the first
	if after != "" {
		var ok bool
		if from, ok = oid(after); !ok {
			return nil, fmt.Errorf("list orgs after %q: not an id", after)
		}
	}
	if r.index == nil {
		filter := bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: from}}}, {Key: "state", Value: string(domain.StateActive)}}
		return r.find(ctx, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	}
	out := make([]domain.Organization, 0, limit)
	for len(out) < limit {
		ids, err := r.index.after(ctx, from, limit-len(out))
		if err != nil || len(ids) == 0 {
			return out, err
		}
		orgs, err := r.byIDs(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, org := range orgs {
			if org != nil && org.State == domain.StateActive {
				out = append(out, *org)
			}
		}
		from = ids[len(ids)-1]
	}
	return out, nil
}

// byIDsAtOnce bounds the reads byIDs makes at once.
const byIDsAtOnce = 8

// byIDs reads organizations by _id, a few at once (the embedded store
// runs nothing but an _id equality through an index, so a page is point
// reads); nil for one gone.
func (r *Orgs) byIDs(ctx context.Context, ids []bson.ObjectID) ([]*domain.Organization, error) {
	out := make([]*domain.Organization, len(ids))
	errs := make([]error, len(ids))
	sem := make(chan struct{}, byIDsAtOnce)
	var wg sync.WaitGroup
	for i, id := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			org, err := r.ByID(ctx, domain.ID(id.Hex()))
			switch {
			case err == nil:
				out[i] = &org
			case !errors.Is(err, domain.ErrOrgNotFound): // gone meanwhile: nil
				errs[i] = err
			}
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// metadataString is m as stored: its JSON, or empty for none.
func metadataString(m domain.Metadata) string {
	if len(m) == 0 {
		return ""
	}
	return string(m.Encode())
}

// suspendedDoc is why and since when an organization is deactivated.
type suspendedDoc struct {
	At     time.Time `bson:"at"`
	Reason string    `bson:"reason"`
}
