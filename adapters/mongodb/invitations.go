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

var _ ports.Invitations = (*Invitations)(nil)

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
	if _, err := r.c.InsertOne(ctx, d); isDuplicate(err) {
		return fmt.Errorf("insert invitation %s: %w", inv.ID, domain.ErrInvitationExists)
	} else if err != nil {
		return fmt.Errorf("insert invitation: %w", translate(err))
	}
	return nil
}

// ByID implements ports.Invitations.
func (r *Invitations) ByID(ctx context.Context, id domain.ID) (domain.Invitation, error) {
	return findByOID(ctx, r.c, id, domain.ErrInvitationNotFound, invitationDoc.toDomain)
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
	return findAll(ctx, r.c, bson.D{}, invitationDoc.toDomain)
}

// ExpiredBefore implements ports.Invitations: by the expires_at index on
// MongoDB (the embedded store filters its documents itself).
func (r *Invitations) ExpiredBefore(ctx context.Context, t time.Time, limit int) ([]domain.Invitation, error) {
	filter := bson.D{{Key: "expires_at", Value: bson.D{{Key: "$lt", Value: t}}}}
	return findAll(ctx, r.c, filter, invitationDoc.toDomain, options.Find().SetSort(bson.D{{Key: "expires_at", Value: 1}}).SetLimit(int64(limit)))
}
