package mongodb

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"orgd/core/domain"
	"orgd/ports"
)

var _ ports.Rosters = (*Rosters)(nil)

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
	return findByID(ctx, r.c, rosterID(org, i), nil, rosterDoc.members)
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
	return findAll(ctx, r.c, bson.D{}, func(d rosterDoc) ports.RosterPage {
		return ports.RosterPage{OrgID: domain.ID(d.OrgID.Hex()), Page: d.Page, Members: d.members()}
	})
}

// memberDoc is a member, as a roster page and a pending operation hold it.
type memberDoc struct {
	AdminID  bson.ObjectID  `bson:"admin_id"`
	Email    string         `bson:"email"`
	Role     string         `bson:"role"`
	JoinedAt time.Time      `bson:"joined_at"`
	EmailOp  *bson.ObjectID `bson:"email_op,omitempty"`
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
