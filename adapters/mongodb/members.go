package mongodb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"orgd/core/domain"
	"orgd/ports"
)

var (
	_ ports.Rosters     = (*Rosters)(nil)
	_ ports.Invitations = (*Invitations)(nil)
)

// memberDoc is a member, as a roster page and a pending operation hold it.
type memberDoc struct {
	AdminID  bson.ObjectID  `bson:"admin_id"`
	Email    string         `bson:"email"`
	Role     string         `bson:"role"`
	JoinedAt time.Time      `bson:"joined_at"`
	EmailOp  *bson.ObjectID `bson:"email_op,omitempty"`
}

// ids converts domain IDs to ObjectIDs, keeping the first malformed one's
// error.
type ids struct{ err error }

func (c *ids) oid(id domain.ID) bson.ObjectID {
	o, ok := oid(id)
	if !ok && c.err == nil {
		c.err = fmt.Errorf("malformed id %q", id)
	}
	return o
}

func (c *ids) opt(id domain.ID) *bson.ObjectID {
	o, err := optOID(id)
	if err != nil && c.err == nil {
		c.err = err
	}
	return o
}

func (c *ids) member(m domain.Member) memberDoc {
	return memberDoc{AdminID: c.oid(m.AdminID), Email: string(m.Email), Role: string(m.Role), JoinedAt: m.JoinedAt, EmailOp: c.opt(m.EmailOp)}
}

func (d memberDoc) toDomain() domain.Member {
	return domain.Member{
		AdminID: domain.ID(d.AdminID.Hex()), Email: domain.Email(d.Email), Role: domain.OrgRole(d.Role),
		JoinedAt: d.JoinedAt.UTC(), EmailOp: fromOptOID(d.EmailOp),
	}
}

// Rosters implements ports.Rosters on the rosters collection: one
// document per page, keyed "<organization id>:<page>", so every read and
// write of a page is a point operation on _id.
type Rosters struct{ c *mongo.Collection }

type rosterDoc struct {
	ID      string        `bson:"_id"`
	OrgID   bson.ObjectID `bson:"org_id"`
	Page    int           `bson:"page"`
	Members []memberDoc   `bson:"members"`
}

func rosterID(org domain.ID, i int) string { return fmt.Sprintf("%s:%d", org, i) }

// Page implements ports.Rosters.
func (r *Rosters) Page(ctx context.Context, org domain.ID, i int) ([]domain.Member, error) {
	var d rosterDoc
	err := r.c.FindOne(ctx, bson.D{{Key: "_id", Value: rosterID(org, i)}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read roster page: %w", translate(err))
	}
	return d.members(), nil
}

func (d rosterDoc) members() []domain.Member {
	out := make([]domain.Member, len(d.Members))
	for i, m := range d.Members {
		out[i] = m.toDomain()
	}
	return out
}

// Put implements ports.Rosters.
func (r *Rosters) Put(ctx context.Context, org domain.ID, i int, members []domain.Member) error {
	var c ids
	d := rosterDoc{ID: rosterID(org, i), OrgID: c.oid(org), Page: i, Members: make([]memberDoc, len(members))}
	for j, m := range members {
		d.Members[j] = c.member(m)
	}
	if c.err != nil {
		return fmt.Errorf("roster of %q: %w", org, c.err)
	}
	_, err := r.c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: d.ID}}, d, options.Replace().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("write roster page: %w", translate(err))
	}
	return nil
}

// Drop implements ports.Rosters.
func (r *Rosters) Drop(ctx context.Context, org domain.ID, i int) error {
	if _, err := r.c.DeleteOne(ctx, bson.D{{Key: "_id", Value: rosterID(org, i)}}); err != nil {
		return fmt.Errorf("drop roster page: %w", translate(err))
	}
	return nil
}

// All implements ports.Rosters.
func (r *Rosters) All(ctx context.Context) ([]ports.RosterPage, error) {
	var docs []rosterDoc
	if err := findAll(ctx, r.c, &docs); err != nil {
		return nil, fmt.Errorf("list rosters: %w", err)
	}
	out := make([]ports.RosterPage, len(docs))
	for i, d := range docs {
		out[i] = ports.RosterPage{OrgID: domain.ID(d.OrgID.Hex()), Page: d.Page, Members: d.members()}
	}
	return out, nil
}

// Invitations implements ports.Invitations on the invitations collection.
type Invitations struct{ c *mongo.Collection }

type invitationDoc struct {
	ID        bson.ObjectID `bson:"_id"`
	OrgID     bson.ObjectID `bson:"org_id"`
	Email     string        `bson:"email"`
	Role      string        `bson:"role"`
	Digest    string        `bson:"digest"`
	CreatedBy bson.ObjectID `bson:"created_by"`
	CreatedAt time.Time     `bson:"created_at"`
	ExpiresAt time.Time     `bson:"expires_at"`
}

func (d invitationDoc) toDomain() domain.Invitation {
	return domain.Invitation{
		ID: domain.ID(d.ID.Hex()), OrgID: domain.ID(d.OrgID.Hex()), Email: domain.Email(d.Email), Role: domain.OrgRole(d.Role),
		Digest: d.Digest, CreatedBy: domain.ID(d.CreatedBy.Hex()), CreatedAt: d.CreatedAt.UTC(), ExpiresAt: d.ExpiresAt.UTC(),
	}
}

// Insert implements ports.Invitations.
func (r *Invitations) Insert(ctx context.Context, inv domain.Invitation) error {
	var c ids
	d := invitationDoc{
		ID: c.oid(inv.ID), OrgID: c.oid(inv.OrgID), Email: string(inv.Email), Role: string(inv.Role), Digest: inv.Digest,
		CreatedBy: c.oid(inv.CreatedBy), CreatedAt: inv.CreatedAt, ExpiresAt: inv.ExpiresAt,
	}
	if c.err != nil {
		return fmt.Errorf("invitation: %w", c.err)
	}
	if _, err := r.c.InsertOne(ctx, d); err != nil {
		return fmt.Errorf("insert invitation: %w", translate(err))
	}
	return nil
}

// ByID implements ports.Invitations.
func (r *Invitations) ByID(ctx context.Context, id domain.ID) (domain.Invitation, error) {
	o, ok := oid(id)
	if !ok {
		return domain.Invitation{}, domain.ErrInvitationInvalid
	}
	var d invitationDoc
	err := r.c.FindOne(ctx, bson.D{{Key: "_id", Value: o}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return domain.Invitation{}, domain.ErrInvitationInvalid
	}
	if err != nil {
		return domain.Invitation{}, fmt.Errorf("read invitation: %w", translate(err))
	}
	return d.toDomain(), nil
}

// Delete implements ports.Invitations.
func (r *Invitations) Delete(ctx context.Context, id domain.ID) error {
	o, ok := oid(id)
	if !ok {
		return nil
	}
	if _, err := r.c.DeleteOne(ctx, bson.D{{Key: "_id", Value: o}}); err != nil {
		return fmt.Errorf("delete invitation: %w", translate(err))
	}
	return nil
}

// All implements ports.Invitations.
func (r *Invitations) All(ctx context.Context) ([]domain.Invitation, error) {
	var docs []invitationDoc
	if err := findAll(ctx, r.c, &docs); err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	out := make([]domain.Invitation, len(docs))
	for i, d := range docs {
		out[i] = d.toDomain()
	}
	return out, nil
}

// findAll decodes every document of c into out.
func findAll(ctx context.Context, c *mongo.Collection, out any) error {
	cur, err := c.Find(ctx, bson.D{})
	if err != nil {
		return translate(err)
	}
	return translate(cur.All(ctx, out))
}

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
