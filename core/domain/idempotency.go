package domain

import "time"

// IdempotencyRecord is what is kept of a request sent with an
// Idempotency-Key: the request's fingerprint, the ids it made (so that a
// retry of a create cut short finishes the same organization), and once
// it is answered, its answer, replayed to every retry for as long as it
// is kept.
type IdempotencyRecord struct {
	// Key is the key, scoped to its caller (a digest: keys are the
	// client's, of any length).
	Key string
	// Fingerprint is a digest of the request (method, path, body): the
	// same key with another request is refused.
	Fingerprint string
	// Done says Status and Body are the answer; until then the request is
	// in flight in whoever holds it until LeaseUntil.
	Done       bool
	LeaseUntil time.Time
	// OrgID, OpID and AdminID are the ids a create under this key uses,
	// the same on every retry.
	OrgID, OpID, AdminID ID
	Status               int
	Body                 []byte
	// Header is the answer's headers that belong to it (its ETag).
	Header map[string]string
	// Sealed says Body is sealed (the answer holds a secret).
	Sealed    bool
	CreatedAt time.Time
	ExpiresAt time.Time
	Version   int64
}

// ErrIdempotencyRecordExists says a record of that key is stored already.
var ErrIdempotencyRecordExists = Errorf(CodeConflict, "A record of that Idempotency-Key exists")

// ErrIdempotencyRecordNotFound says no record of that key is stored.
var ErrIdempotencyRecordNotFound = Errorf(CodeNotFound, "No record of that Idempotency-Key")
