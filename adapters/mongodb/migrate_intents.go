package mongodb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"orgd/core/domain"
)

// Migration 7: an intent keeps what every operation shares (op, id,
// lease_until) as fields, and the operation's own part as the data the
// core encoded (pending.data, JSON). Before it, every operation's fields
// sat side by side on the intent (legacyPending).

// legacyPending is an intent as orgd stored it before migration 7 (and
// its data, once migration 7 has run).
type legacyPending struct {
	Member             *memberDoc     `bson:"member,omitempty"`
	Page               int            `bson:"page,omitempty"`
	PasswordHash       string         `bson:"password_hash,omitempty"`
	CredentialsVersion int64          `bson:"credentials_version,omitempty"`
	NewName            string         `bson:"new_name,omitempty"`
	NewEmail           string         `bson:"new_email,omitempty"`
	NewRole            string         `bson:"new_role,omitempty"`
	Invitation         *bson.ObjectID `bson:"invitation,omitempty"`
	Data               string         `bson:"data,omitempty"`
}

// legacyData is the JSON the operations' data uses for legacyPending's
// fields: the same names, the ids in hex and the times in RFC 3339.
type legacyData struct {
	Member             *domain.Member `json:"member,omitempty"`
	Page               int            `json:"page,omitempty"`
	PasswordHash       string         `json:"password_hash,omitempty"`
	CredentialsVersion int64          `json:"credentials_version,omitempty"`
	NewName            string         `json:"new_name,omitempty"`
	NewEmail           string         `json:"new_email,omitempty"`
	NewRole            string         `json:"new_role,omitempty"`
	Invitation         domain.ID      `json:"invitation,omitempty"`
}

// legacyFields are legacyPending's field names, and the ones only
// operators read (the rename target's key and collection).
var legacyFields = []string{"member", "page", "password_hash", "credentials_version", "new_name", "new_name_key", "new_collection", "new_email", "new_role", "invitation"}

type legacyOrg struct {
	ID      bson.ObjectID  `bson:"_id"`
	Version int64          `bson:"version"`
	Pending *legacyPending `bson:"pending"`
}

// encodeIntents (migration 7's up) moves each legacy intent's fields into
// its data, one write per organization (conditional on its version, which
// a running orgd's write would change), so a run cut short starts again
// with the organizations left.
func encodeIntents(ctx context.Context, s *Store) error {
	orgs, err := findAll(ctx, s.db.Collection(collOrgs), bson.D{
		{Key: "pending", Value: bson.D{{Key: "$exists", Value: true}}},
		{Key: "pending.data", Value: bson.D{{Key: "$exists", Value: false}}},
	}, decoded[legacyOrg])
	if err != nil {
		return err
	}
	for _, o := range orgs {
		l := o.Pending
		d := legacyData{
			Page: l.Page, PasswordHash: l.PasswordHash, CredentialsVersion: l.CredentialsVersion,
			NewName: l.NewName, NewEmail: l.NewEmail, NewRole: l.NewRole, Invitation: fromOptOID(l.Invitation),
		}
		if l.Member != nil {
			m := l.Member.toDomain()
			d.Member = &m
		}
		data, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("organization %s: %w", o.ID.Hex(), err)
		}
		unset := bson.D{}
		for _, f := range legacyFields {
			unset = append(unset, bson.E{Key: "pending." + f, Value: ""})
		}
		_, err = s.db.Collection(collOrgs).UpdateOne(ctx, bson.D{{Key: "_id", Value: o.ID}, {Key: "version", Value: o.Version}}, bson.D{
			{Key: "$set", Value: bson.D{{Key: "pending.data", Value: string(data)}}},
			{Key: "$unset", Value: unset},
		})
		if err != nil {
			return fmt.Errorf("organization %s: %w", o.ID.Hex(), translate(err))
		}
	}
	return nil
}

// decodeIntents (migration 7's down) writes each intent's data back as the
// legacy fields, one write per organization.
func decodeIntents(ctx context.Context, s *Store) error {
	orgs, err := findAll(ctx, s.db.Collection(collOrgs), bson.D{{Key: "pending.data", Value: bson.D{{Key: "$exists", Value: true}}}}, decoded[legacyOrg])
	if err != nil {
		return err
	}
	for _, o := range orgs {
		var d legacyData
		if err := json.Unmarshal([]byte(o.Pending.Data), &d); err != nil {
			return fmt.Errorf("organization %s: %w", o.ID.Hex(), err)
		}
		var c ids
		l := legacyPending{
			Page: d.Page, PasswordHash: d.PasswordHash, CredentialsVersion: d.CredentialsVersion,
			NewName: d.NewName, NewEmail: d.NewEmail, NewRole: d.NewRole, Invitation: c.opt(d.Invitation),
		}
		if d.Member != nil {
			m := c.member(*d.Member)
			l.Member = &m
		}
		if c.err != nil {
			return fmt.Errorf("organization %s: %w", o.ID.Hex(), c.err)
		}
		raw, err := bson.Marshal(l)
		if err != nil {
			return fmt.Errorf("organization %s: %w", o.ID.Hex(), err)
		}
		var fields bson.D
		if err := bson.Unmarshal(raw, &fields); err != nil {
			return fmt.Errorf("organization %s: %w", o.ID.Hex(), err)
		}
		set := bson.D{}
		for _, f := range fields {
			set = append(set, bson.E{Key: "pending." + f.Key, Value: f.Value})
		}
		update := bson.D{{Key: "$unset", Value: bson.D{{Key: "pending.data", Value: ""}}}}
		if len(set) > 0 {
			update = append(update, bson.E{Key: "$set", Value: set})
		}
		_, err = s.db.Collection(collOrgs).UpdateOne(ctx, bson.D{{Key: "_id", Value: o.ID}, {Key: "version", Value: o.Version}}, update)
		if err != nil {
			return fmt.Errorf("organization %s: %w", o.ID.Hex(), translate(err))
		}
	}
	return nil
}

// dropEventLog (migration 8's down) drops the event log, its history
// with it (events committed and not yet placed too), and the
// organizations' event counts: the orgd before it keeps no history.
func dropEventLog(ctx context.Context, s *Store) error {
	if _, err := s.db.Collection(collOrgs).UpdateMany(ctx, bson.D{{Key: "event_seq", Value: bson.D{{Key: "$exists", Value: true}}}},
		bson.D{{Key: "$unset", Value: bson.D{{Key: "event_seq", Value: ""}, {Key: "outbox", Value: ""}}}}); err != nil {
		return fmt.Errorf("organizations: %w", translate(err))
	}
	if err := s.db.Collection(collEvents).Drop(ctx); err != nil && !hasCode(err, codeNamespaceNotFound) {
		return fmt.Errorf("drop %s: %w", collEvents, translate(err))
	}
	// The markers of organizations that kept only an outbox go too: the
	// orgd before it marks operations only.
	marks, err := s.orgs.markers(ctx)
	if err != nil {
		return err
	}
	for _, m := range marks {
		err := s.db.Collection(collOrgs).FindOne(ctx, bson.D{{Key: "_id", Value: m.ID}, {Key: "pending", Value: bson.D{{Key: "$exists", Value: true}}}}).Err()
		if errors.Is(err, mongo.ErrNoDocuments) {
			err = s.orgs.unmark(ctx, m.ID, 0)
		}
		if err != nil {
			return fmt.Errorf("marker of %s: %w", m.ID.Hex(), translate(err))
		}
	}
	return nil
}
