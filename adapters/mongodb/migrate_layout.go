package mongodb

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"orgd/core/domain"
)

// backfillClaimsAndMarkers (migration 4) gives every admin stored before
// email claims existed the claim on its email, and every organization with
// a pending operation its pending_ops marker, so that lookups by email and
// recovery need no scan.
func backfillClaimsAndMarkers(ctx context.Context, s *Store) error {
	if err := createCollections(ctx, s.db, collEmails, collPending); err != nil {
		return err
	}
	admins, err := findAll(ctx, s.db.Collection(collAdmins), bson.D{}, decoded[adminDoc])
	if err != nil {
		return err
	}
	for _, a := range admins {
		id := a.ID
		_, err := s.db.Collection(collEmails).InsertOne(ctx, claimDoc{Key: a.Email, OrgID: a.OrgID, AdminID: &id, At: a.CreatedAt})
		if err != nil && !isDuplicate(err) {
			return fmt.Errorf("claim %s: %w", a.Email, translate(err))
		}
	}
	pending, err := s.orgs.find(ctx, bson.D{{Key: "pending", Value: bson.D{{Key: "$exists", Value: true}}}})
	if err != nil {
		return err
	}
	for _, o := range pending {
		id, _ := oid(o.ID)
		if err := s.orgs.mark(ctx, id, o.Version); err != nil {
			return err
		}
	}
	return nil
}

// moveTenantCollections (migration 5) moves each organization's collection
// from the master database, where orgd kept them before, to its tenant
// database, and records the tenant database on each organization.
//
// Documents are copied, never moved in place (the embedded store renames
// only within one database): the target is filled by _id, so a copy cut
// short and run again inserts only what is missing, and the source is
// dropped only once the target holds at least as many documents. A
// collection org_<key> that no organization claims is not orgd's, and is
// left where it is. Run it with the old version of orgd stopped: documents
// written to a source while it is copied may miss the copy.
func moveTenantCollections(ctx context.Context, s *Store) error {
	names, err := s.db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return translate(err)
	}
	for _, name := range names {
		if !strings.HasPrefix(name, domain.CollectionPrefix) {
			continue
		}
		claim, err := s.names.Claim(ctx, strings.TrimPrefix(name, domain.CollectionPrefix))
		if errors.Is(err, domain.ErrNoClaim) {
			continue
		}
		if err != nil {
			return err
		}
		if err := moveToTenantDB(ctx, s, claim.OrgID, name); err != nil {
			return fmt.Errorf("move %s: %w", name, err)
		}
	}
	orgs, err := s.orgs.All(ctx)
	if err != nil {
		return err
	}
	for _, o := range orgs {
		id, _ := oid(o.ID)
		_, err := s.db.Collection(collOrgs).UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "tenant_db", Value: TenantDatabase("", o.ID)}}}})
		if err != nil {
			return fmt.Errorf("record tenant database of %s: %w", o.ID, translate(err))
		}
	}
	return nil
}

// moveToTenantDB copies master collection name into org's tenant database,
// then drops it.
func moveToTenantDB(ctx context.Context, s *Store, org domain.ID, name string) error {
	tenants := s.Tenants()
	if err := tenants.Create(ctx, org, name); err != nil {
		return err
	}
	src, dst := s.db.Collection(name), tenants.Collection(org, name)
	cur, err := src.Find(ctx, bson.D{})
	if err != nil {
		return translate(err)
	}
	defer cur.Close(ctx)
	const batch = 1000
	docs := make([]any, 0, batch)
	flush := func() error {
		if len(docs) == 0 {
			return nil
		}
		_, err := dst.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
		docs = docs[:0]
		if err != nil && !onlyDuplicates(err) {
			return translate(err)
		}
		return nil
	}
	for cur.Next(ctx) {
		docs = append(docs, bson.Raw(append([]byte(nil), cur.Current...)))
		if len(docs) == batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := errors.Join(cur.Err(), flush()); err != nil {
		return translate(err)
	}
	want, err := src.CountDocuments(ctx, bson.D{})
	if err != nil {
		return translate(err)
	}
	got, err := dst.CountDocuments(ctx, bson.D{})
	if err != nil {
		return translate(err)
	}
	if got < want {
		return fmt.Errorf("copied %d of %d documents; source kept", got, want)
	}
	return translate(src.Drop(ctx))
}

// onlyDuplicates reports whether every failed write of an unordered insert
// failed because its _id is already there.
func onlyDuplicates(err error) bool {
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil || len(bwe.WriteErrors) == 0 {
		return false
	}
	for _, we := range bwe.WriteErrors {
		if we.Code != 11000 {
			return false
		}
	}
	return true
}
