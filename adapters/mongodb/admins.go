package mongodb

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"orgd/core/domain"
	"orgd/ports"
)

var _ ports.AdminRepository = (*Admins)(nil)

// Admins implements ports.AdminRepository on the admins collection.
type Admins struct{ c *mongo.Collection }

type adminDoc struct {
	ID                 bson.ObjectID  `bson:"_id"`
	Email              string         `bson:"email"`
	PasswordHash       string         `bson:"password_hash"`
	Role               string         `bson:"role"`
	OrgID              *bson.ObjectID `bson:"org_id,omitempty"`
	CreatedAt          time.Time      `bson:"created_at"`
	CredentialsVersion int64          `bson:"credentials_version"`
	OrgRole            string         `bson:"org_role,omitempty"`
	EmailOp            *bson.ObjectID `bson:"email_op,omitempty"`
	Page               int            `bson:"page"`
}

func (d adminDoc) toDomain() domain.Admin {
	a := domain.Admin{
		ID: domain.ID(d.ID.Hex()), Email: domain.Email(d.Email), PasswordHash: d.PasswordHash,
		Role: domain.Role(d.Role), CreatedAt: d.CreatedAt.UTC(), CredentialsVersion: d.CredentialsVersion,
		OrgRole: domain.OrgRole(d.OrgRole), EmailOp: fromOptOID(d.EmailOp), Page: d.Page,
	}
	if d.OrgID != nil {
		a.OrgID = domain.ID(d.OrgID.Hex())
	}
	if a.Role == "" {
		a.Role = domain.RoleOrgAdmin // admins stored before roles existed
	}
	return a
}

// Insert implements ports.AdminRepository.
func (r *Admins) Insert(ctx context.Context, a domain.Admin) error {
	id, ok := oid(a.ID)
	if !ok {
		return fmt.Errorf("admin %q: malformed id", a.ID)
	}
	emailOp, err := optOID(a.EmailOp)
	if err != nil {
		return fmt.Errorf("admin %q: %w", a.ID, err)
	}
	d := adminDoc{
		ID: id, Email: string(a.Email), PasswordHash: a.PasswordHash, Role: string(a.Role),
		CreatedAt: a.CreatedAt, CredentialsVersion: a.CredentialsVersion,
		OrgRole: string(a.OrgRole), EmailOp: emailOp, Page: a.Page,
	}
	if a.OrgID != "" {
		org, ok := oid(a.OrgID)
		if !ok {
			return fmt.Errorf("admin %q: malformed organization id", a.ID)
		}
		d.OrgID = &org
	}
	_, err = r.c.InsertOne(ctx, d)
	if isDuplicate(err) {
		return fmt.Errorf("insert admin: %w", domain.ErrEmailExists)
	}
	return translate(err)
}

// ByID implements ports.AdminRepository.
func (r *Admins) ByID(ctx context.Context, id domain.ID) (domain.Admin, error) {
	return findByOID(ctx, r.c, id, domain.ErrAdminNotFound, adminDoc.toDomain)
}

// All returns every admin (for tests and tools).
func (r *Admins) All(ctx context.Context) ([]domain.Admin, error) {
	return findAll(ctx, r.c, bson.D{}, adminDoc.toDomain)
}

// Update implements ports.AdminRepository.
func (r *Admins) Update(ctx context.Context, a domain.Admin) error {
	id, ok := oid(a.ID)
	if !ok {
		return domain.ErrAdminNotFound
	}
	emailOp, err := optOID(a.EmailOp)
	if err != nil {
		return fmt.Errorf("admin %q: %w", a.ID, err)
	}
	res, err := r.c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: bson.D{
		{Key: "email", Value: string(a.Email)},
		{Key: "password_hash", Value: a.PasswordHash},
		{Key: "credentials_version", Value: a.CredentialsVersion},
		{Key: "org_role", Value: string(a.OrgRole)},
		{Key: "email_op", Value: emailOp},
		{Key: "page", Value: a.Page},
	}}})
	if isDuplicate(err) {
		return fmt.Errorf("update admin: %w", domain.ErrEmailExists)
	}
	if err != nil {
		return fmt.Errorf("update admin: %w", translate(err))
	}
	if res.MatchedCount == 0 {
		return domain.ErrAdminNotFound
	}
	return nil
}

// Delete implements ports.AdminRepository.
func (r *Admins) Delete(ctx context.Context, id domain.ID) error {
	o, ok := oid(id)
	if !ok {
		return nil
	}
	_, err := r.c.DeleteOne(ctx, bson.D{{Key: "_id", Value: o}})
	return translate(err)
}
