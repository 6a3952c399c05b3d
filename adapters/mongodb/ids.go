package mongodb

import (
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"

	"orgd/core/domain"
)

// Domain IDs are ObjectIDs' hex; these convert them for documents.

// oid converts a domain ID; an ID that is not an ObjectID matches nothing.
func oid(id domain.ID) (bson.ObjectID, bool) {
	o, err := bson.ObjectIDFromHex(string(id))
	return o, err == nil
}

// optOID converts an optional domain ID: empty is nil.
func optOID(id domain.ID) (*bson.ObjectID, error) {
	if id == "" {
		return nil, nil
	}
	o, ok := oid(id)
	if !ok {
		return nil, fmt.Errorf("malformed id %q", id)
	}
	return &o, nil
}

// fromOptOID converts back: nil is empty.
func fromOptOID(o *bson.ObjectID) domain.ID {
	if o == nil {
		return ""
	}
	return domain.ID(o.Hex())
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
