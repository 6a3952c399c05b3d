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
)

// oneAdminOrg is an organization as orgd stored it before members: one
// admin, named on the organization.
type oneAdminOrg struct {
	ID         bson.ObjectID  `bson:"_id"`
	AdminID    bson.ObjectID  `bson:"admin_id"`
	AdminEmail string         `bson:"admin_email"`
	EmailOp    *bson.ObjectID `bson:"email_op,omitempty"`
	CreatedAt  time.Time      `bson:"created_at"`
	Pending    *pendingDoc    `bson:"pending,omitempty"`
}

// addMembers (migration 6) makes every organization's one admin its first
// owner, with nothing else changed: the admin's account gets its role,
// the claim's operation on its email and its roster page; the roster's
// first page lists it; the organization names it among its owners (and,
// if an operation is pending, as the member that operation concerns).
// Each organization is converted by three idempotent writes, its own
// last, so a migration cut short starts again where it stopped: it only
// reads organizations not yet converted.
func addMembers(ctx context.Context, s *Store) error {
	if err := createCollections(ctx, s.db, collRosters, collInvites); err != nil {
		return err
	}
	cur, err := s.db.Collection(collOrgs).Find(ctx, bson.D{{Key: "owners", Value: bson.D{{Key: "$exists", Value: false}}}})
	if err != nil {
		return translate(err)
	}
	var orgs []oneAdminOrg
	if err := cur.All(ctx, &orgs); err != nil {
		return translate(err)
	}
	for _, o := range orgs {
		if err := o.convert(ctx, s); err != nil {
			return fmt.Errorf("organization %s: %w", o.ID.Hex(), err)
		}
	}
	return nil
}

func (o oneAdminOrg) convert(ctx context.Context, s *Store) error {
	joined := o.CreatedAt
	var admin adminDoc
	err := s.db.Collection(collAdmins).FindOne(ctx, bson.D{{Key: "_id", Value: o.AdminID}}).Decode(&admin)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		// Not yet inserted (a create in flight): its create lists it.
	case err != nil:
		return translate(err)
	default:
		joined = admin.CreatedAt
		_, err := s.db.Collection(collAdmins).UpdateOne(ctx, bson.D{{Key: "_id", Value: o.AdminID}}, bson.D{{Key: "$set", Value: bson.D{
			{Key: "org_role", Value: string(domain.RoleOwner)}, {Key: "email_op", Value: o.EmailOp}, {Key: "page", Value: 0},
		}}})
		if err != nil {
			return translate(err)
		}
	}
	member := memberDoc{AdminID: o.AdminID, Email: o.AdminEmail, Role: string(domain.RoleOwner), JoinedAt: joined, EmailOp: o.EmailOp}
	if err == nil {
		page := rosterDoc{ID: rosterID(domain.ID(o.ID.Hex()), 0), OrgID: o.ID, Members: []memberDoc{member}}
		if _, err := s.db.Collection(collRosters).ReplaceOne(ctx, bson.D{{Key: "_id", Value: page.ID}}, page, options.Replace().SetUpsert(true)); err != nil {
			return translate(err)
		}
	}
	set := bson.D{
		{Key: "owners", Value: []ownerDoc{{AdminID: o.AdminID, Email: o.AdminEmail, Since: o.CreatedAt}}},
		{Key: "members", Value: 1}, {Key: "roster", Value: []int{1}},
	}
	if o.Pending != nil {
		set = append(set, bson.E{Key: "pending.member", Value: member}, bson.E{Key: "pending.page", Value: 0})
	}
	_, err = s.db.Collection(collOrgs).UpdateOne(ctx, bson.D{{Key: "_id", Value: o.ID}}, bson.D{
		{Key: "$set", Value: set},
		{Key: "$unset", Value: bson.D{{Key: "admin_id", Value: ""}, {Key: "email_op", Value: ""}}},
	})
	return translate(err)
}
