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
	orgs, err := findAll(ctx, s.db.Collection(collOrgs), bson.D{{Key: "owners", Value: bson.D{{Key: "$exists", Value: false}}}}, decoded[oneAdminOrg])
	if err != nil {
		return err
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

// removeMembers undoes migration 6, possible only while it would lose
// nothing: every organization has its one first owner and nobody else, no
// pending invitation and no operation in flight; otherwise it refuses,
// before changing anything, naming the first organization in the way.
// Each organization goes back by one write (it names its admin again and
// loses its members), after which it is in the layout before members
// whatever else is left; a run cut short starts again where it stopped,
// reading only organizations still converted. Then, for all of them at
// once, the accounts lose their roles and pages and the rosters and
// invitations collections go. Until the run ends, migration 6 counts as
// not applied, so a migrate meanwhile converts every organization again.
func removeMembers(ctx context.Context, s *Store) error {
	orgs, err := memberOrgs(ctx, s)
	if err != nil {
		return err
	}
	for _, o := range orgs {
		if err := unconvert(ctx, s, o); err != nil {
			return fmt.Errorf("organization %s: %w", o.ID.Hex(), err)
		}
	}
	_, err = s.db.Collection(collAdmins).UpdateMany(ctx, bson.D{{Key: "org_role", Value: bson.D{{Key: "$exists", Value: true}}}},
		bson.D{{Key: "$unset", Value: bson.D{{Key: "org_role", Value: ""}, {Key: "email_op", Value: ""}, {Key: "page", Value: ""}}}})
	if err != nil {
		return fmt.Errorf("accounts: %w", translate(err))
	}
	for _, c := range []string{collRosters, collInvites} {
		if err := s.db.Collection(c).Drop(ctx); err != nil && !hasCode(err, codeNamespaceNotFound) {
			return fmt.Errorf("drop %s: %w", c, translate(err))
		}
	}
	return nil
}

// membersUndoable is migration 6's check before its Down: it says why the
// store cannot go back to one admin per organization, if so.
func membersUndoable(ctx context.Context, s *Store) error {
	_, err := memberOrgs(ctx, s)
	return err
}

// memberOrgs returns the organizations still in the members layout, or
// why one of them cannot leave it.
func memberOrgs(ctx context.Context, s *Store) ([]orgDoc, error) {
	orgs, err := findAll(ctx, s.db.Collection(collOrgs), bson.D{{Key: "owners", Value: bson.D{{Key: "$exists", Value: true}}}}, decoded[orgDoc])
	if err != nil {
		return nil, err
	}
	for _, o := range orgs {
		if err := undoable(o); err != nil {
			return nil, err
		}
	}
	return orgs, nil
}

// undoable says why organization o cannot go back to one admin, if so.
func undoable(o orgDoc) error {
	switch {
	case o.Pending != nil:
		return fmt.Errorf("organization %q has an operation in flight (%s): run orgd recover first", o.Name, o.Pending.Op)
	case o.Members != 1 || len(o.Owners) != 1:
		return fmt.Errorf("organization %q has %d members and %d owners: an organization of several members cannot go back to one admin", o.Name, o.Members, len(o.Owners))
	case len(o.Invitations) > 0:
		return fmt.Errorf("organization %q has %d pending invitations: revoke them first", o.Name, len(o.Invitations))
	}
	return nil
}

// unconvert takes organization o back to one admin: its owner, with the
// operation of the claim on its email, which the account holds until the
// sweep after.
func unconvert(ctx context.Context, s *Store, o orgDoc) error {
	owner := o.Owners[0]
	var admin adminDoc
	err := s.db.Collection(collAdmins).FindOne(ctx, bson.D{{Key: "_id", Value: owner.AdminID}}).Decode(&admin)
	if err != nil {
		return fmt.Errorf("its owner's account: %w", translate(err))
	}
	set := bson.D{{Key: "admin_id", Value: owner.AdminID}, {Key: "admin_email", Value: owner.Email}}
	if admin.EmailOp != nil {
		set = append(set, bson.E{Key: "email_op", Value: admin.EmailOp})
	}
	_, err = s.db.Collection(collOrgs).UpdateOne(ctx, bson.D{{Key: "_id", Value: o.ID}}, bson.D{
		{Key: "$set", Value: set},
		{Key: "$unset", Value: bson.D{{Key: "owners", Value: ""}, {Key: "members", Value: ""}, {Key: "roster", Value: ""}, {Key: "invitations", Value: ""}}},
	})
	return translate(err)
}
