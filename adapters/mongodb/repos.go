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
	_ ports.OrgRepository   = (*Orgs)(nil)
	_ ports.NameRegistry    = (*Names)(nil)
	_ ports.AdminRepository = (*Admins)(nil)
)

// Orgs implements ports.OrgRepository on the organizations collection.
type Orgs struct {
	c     *mongo.Collection
	locks *keyLocks
}

type pendingDoc struct {
	Op                 string    `bson:"op"`
	LeaseUntil         time.Time `bson:"lease_until"`
	PasswordHash       string    `bson:"password_hash,omitempty"`
	CredentialsVersion int64     `bson:"credentials_version,omitempty"`
	NewName            string    `bson:"new_name,omitempty"`
	NewNameKey         string    `bson:"new_name_key,omitempty"`
	NewCollection      string    `bson:"new_collection,omitempty"`
	NewEmail           string    `bson:"new_email,omitempty"`
}

type orgDoc struct {
	ID         bson.ObjectID `bson:"_id"`
	Name       string        `bson:"name"`
	NameKey    string        `bson:"name_key"`
	Collection string        `bson:"collection"`
	AdminID    bson.ObjectID `bson:"admin_id"`
	AdminEmail string        `bson:"admin_email"`
	CreatedAt  time.Time     `bson:"created_at"`
	State      string        `bson:"state"`
	Pending    *pendingDoc   `bson:"pending,omitempty"`
	Version    int64         `bson:"version"`
}

// oid converts a domain ID; an ID that is not an ObjectID matches nothing.
func oid(id domain.ID) (bson.ObjectID, bool) {
	o, err := bson.ObjectIDFromHex(string(id))
	return o, err == nil
}

func toOrgDoc(o domain.Organization) (orgDoc, error) {
	id, ok1 := oid(o.ID)
	admin, ok2 := oid(o.AdminID)
	if !ok1 || !ok2 {
		return orgDoc{}, fmt.Errorf("organization %q: malformed id", o.ID)
	}
	d := orgDoc{
		ID: id, Name: o.Name, NameKey: o.NameKey, Collection: o.Collection,
		AdminID: admin, AdminEmail: string(o.AdminEmail), CreatedAt: o.CreatedAt,
		State: string(o.State), Version: o.Version,
	}
	if p := o.Pending; p != nil {
		d.Pending = &pendingDoc{
			Op: string(p.Op), LeaseUntil: p.LeaseUntil, PasswordHash: p.PasswordHash,
			CredentialsVersion: p.CredentialsVersion, NewName: p.NewName, NewNameKey: p.NewNameKey,
			NewCollection: p.NewCollection, NewEmail: string(p.NewEmail),
		}
	}
	return d, nil
}

func (d orgDoc) toDomain() domain.Organization {
	o := domain.Organization{
		ID: domain.ID(d.ID.Hex()), Name: d.Name, NameKey: d.NameKey, Collection: d.Collection,
		AdminID: domain.ID(d.AdminID.Hex()), AdminEmail: domain.Email(d.AdminEmail),
		CreatedAt: d.CreatedAt.UTC(), State: domain.State(d.State), Version: d.Version,
	}
	if p := d.Pending; p != nil {
		o.Pending = &domain.Pending{
			Op: domain.Op(p.Op), LeaseUntil: p.LeaseUntil.UTC(), PasswordHash: p.PasswordHash,
			CredentialsVersion: p.CredentialsVersion, NewName: p.NewName, NewNameKey: p.NewNameKey,
			NewCollection: p.NewCollection, NewEmail: domain.Email(p.NewEmail),
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
	_, err = r.c.InsertOne(ctx, d)
	if isDuplicate(err) {
		return fmt.Errorf("insert org %q: %w", org.NameKey, domain.ErrOrgExists)
	}
	return translate(err)
}

func (r *Orgs) findOne(ctx context.Context, filter bson.D, what string) (domain.Organization, error) {
	var d orgDoc
	err := r.c.FindOne(ctx, filter).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return domain.Organization{}, fmt.Errorf("find org %s: %w", what, domain.ErrOrgNotFound)
	}
	if err != nil {
		return domain.Organization{}, fmt.Errorf("find org %s: %w", what, translate(err))
	}
	return d.toDomain(), nil
}

// ByID implements ports.OrgRepository.
func (r *Orgs) ByID(ctx context.Context, id domain.ID) (domain.Organization, error) {
	o, ok := oid(id)
	if !ok {
		return domain.Organization{}, domain.ErrOrgNotFound
	}
	return r.findOne(ctx, bson.D{{Key: "_id", Value: o}}, string(id))
}

// ByNameKey implements ports.OrgRepository.
func (r *Orgs) ByNameKey(ctx context.Context, key string) (domain.Organization, error) {
	return r.findOne(ctx, bson.D{{Key: "name_key", Value: key}}, fmt.Sprintf("%q", key))
}

// Replace implements ports.OrgRepository.
func (r *Orgs) Replace(ctx context.Context, org domain.Organization, expected int64) error {
	d, err := toOrgDoc(org)
	if err != nil {
		return err
	}
	defer r.locks.lock(string(org.ID))()
	res, err := r.c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: d.ID}, {Key: "version", Value: expected}}, d)
	if isDuplicate(err) {
		return fmt.Errorf("replace org %s: %w", org.ID, domain.ErrOrgExists)
	}
	if err != nil {
		return fmt.Errorf("replace org %s: %w", org.ID, translate(err))
	}
	if res.MatchedCount == 0 {
		return domain.ErrStale
	}
	return nil
}

// Delete implements ports.OrgRepository.
func (r *Orgs) Delete(ctx context.Context, id domain.ID, expected int64) error {
	o, ok := oid(id)
	if !ok {
		return domain.ErrStale
	}
	defer r.locks.lock(string(id))()
	res, err := r.c.DeleteOne(ctx, bson.D{{Key: "_id", Value: o}, {Key: "version", Value: expected}})
	if err != nil {
		return fmt.Errorf("delete org %s: %w", id, translate(err))
	}
	if res.DeletedCount == 0 {
		return domain.ErrStale
	}
	return nil
}

// WithPending implements ports.OrgRepository.
func (r *Orgs) WithPending(ctx context.Context) ([]domain.Organization, error) {
	cur, err := r.c.Find(ctx, bson.D{{Key: "pending", Value: bson.D{{Key: "$exists", Value: true}}}})
	if err != nil {
		return nil, fmt.Errorf("find pending: %w", translate(err))
	}
	var docs []orgDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("find pending: %w", translate(err))
	}
	out := make([]domain.Organization, len(docs))
	for i, d := range docs {
		out[i] = d.toDomain()
	}
	return out, nil
}

// List implements ports.OrgRepository.
func (r *Orgs) List(ctx context.Context, offset, limit int) ([]domain.Organization, int64, error) {
	filter := bson.D{{Key: "state", Value: string(domain.StateActive)}}
	total, err := r.c.CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, fmt.Errorf("count orgs: %w", translate(err))
	}
	cur, err := r.c.Find(ctx, filter, options.Find().
		SetSort(bson.D{{Key: "name_key", Value: 1}}).SetSkip(int64(offset)).SetLimit(int64(limit)))
	if err != nil {
		return nil, 0, fmt.Errorf("list orgs: %w", translate(err))
	}
	var docs []orgDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, 0, fmt.Errorf("list orgs: %w", translate(err))
	}
	out := make([]domain.Organization, len(docs))
	for i, d := range docs {
		out[i] = d.toDomain()
	}
	return out, total, nil
}

// Names implements ports.NameRegistry on the name_claims collection, one
// document per claimed key, keyed by it.
type Names struct {
	c     *mongo.Collection
	locks *keyLocks
}

type claimDoc struct {
	Key   string        `bson:"_id"`
	OrgID bson.ObjectID `bson:"org_id"`
	At    time.Time     `bson:"at"`
}

// Reserve implements ports.NameRegistry.
func (r *Names) Reserve(ctx context.Context, c domain.NameClaim) error {
	id, ok := oid(c.OrgID)
	if !ok {
		return fmt.Errorf("claim %q: malformed org id", c.Key)
	}
	_, err := r.c.InsertOne(ctx, claimDoc{Key: c.Key, OrgID: id, At: c.At})
	if isDuplicate(err) {
		return fmt.Errorf("claim %q: %w", c.Key, domain.ErrOrgExists)
	}
	return translate(err)
}

// Claim implements ports.NameRegistry.
func (r *Names) Claim(ctx context.Context, key string) (domain.NameClaim, error) {
	var d claimDoc
	err := r.c.FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return domain.NameClaim{}, domain.ErrOrgNotFound
	}
	if err != nil {
		return domain.NameClaim{}, fmt.Errorf("find claim %q: %w", key, translate(err))
	}
	return domain.NameClaim{Key: d.Key, OrgID: domain.ID(d.OrgID.Hex()), At: d.At.UTC()}, nil
}

// Release implements ports.NameRegistry.
func (r *Names) Release(ctx context.Context, key string, orgID domain.ID) error {
	id, ok := oid(orgID)
	if !ok {
		return nil
	}
	defer r.locks.lock(key)()
	_, err := r.c.DeleteOne(ctx, bson.D{{Key: "_id", Value: key}, {Key: "org_id", Value: id}})
	return translate(err)
}

// All implements ports.NameRegistry.
func (r *Names) All(ctx context.Context) ([]domain.NameClaim, error) {
	cur, err := r.c.Find(ctx, bson.D{})
	if err != nil {
		return nil, fmt.Errorf("list claims: %w", translate(err))
	}
	var docs []claimDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list claims: %w", translate(err))
	}
	out := make([]domain.NameClaim, len(docs))
	for i, d := range docs {
		out[i] = domain.NameClaim{Key: d.Key, OrgID: domain.ID(d.OrgID.Hex()), At: d.At.UTC()}
	}
	return out, nil
}

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
}

func (d adminDoc) toDomain() domain.Admin {
	a := domain.Admin{
		ID: domain.ID(d.ID.Hex()), Email: domain.Email(d.Email), PasswordHash: d.PasswordHash,
		Role: domain.Role(d.Role), CreatedAt: d.CreatedAt.UTC(), CredentialsVersion: d.CredentialsVersion,
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
	d := adminDoc{
		ID: id, Email: string(a.Email), PasswordHash: a.PasswordHash, Role: string(a.Role),
		CreatedAt: a.CreatedAt, CredentialsVersion: a.CredentialsVersion,
	}
	if a.OrgID != "" {
		org, ok := oid(a.OrgID)
		if !ok {
			return fmt.Errorf("admin %q: malformed organization id", a.ID)
		}
		d.OrgID = &org
	}
	_, err := r.c.InsertOne(ctx, d)
	if isDuplicate(err) {
		return fmt.Errorf("insert admin: %w", domain.ErrEmailExists)
	}
	return translate(err)
}

func (r *Admins) findOne(ctx context.Context, filter bson.D) (domain.Admin, error) {
	var d adminDoc
	err := r.c.FindOne(ctx, filter).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return domain.Admin{}, domain.ErrAdminNotFound
	}
	if err != nil {
		return domain.Admin{}, fmt.Errorf("find admin: %w", translate(err))
	}
	return d.toDomain(), nil
}

// ByID implements ports.AdminRepository.
func (r *Admins) ByID(ctx context.Context, id domain.ID) (domain.Admin, error) {
	o, ok := oid(id)
	if !ok {
		return domain.Admin{}, domain.ErrAdminNotFound
	}
	return r.findOne(ctx, bson.D{{Key: "_id", Value: o}})
}

// ByEmail implements ports.AdminRepository.
func (r *Admins) ByEmail(ctx context.Context, email domain.Email) (domain.Admin, error) {
	return r.findOne(ctx, bson.D{{Key: "email", Value: string(email)}})
}

// Update implements ports.AdminRepository.
func (r *Admins) Update(ctx context.Context, a domain.Admin) error {
	id, ok := oid(a.ID)
	if !ok {
		return domain.ErrAdminNotFound
	}
	res, err := r.c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: bson.D{
		{Key: "email", Value: string(a.Email)},
		{Key: "password_hash", Value: a.PasswordHash},
		{Key: "credentials_version", Value: a.CredentialsVersion},
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
