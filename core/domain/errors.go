// Package domain holds orgd's business types, their invariants and the
// errors the rest of the service speaks in. It imports only the standard
// library.
package domain

import (
	"errors"
	"time"
)

// Code classifies an Error; the HTTP edge maps each code to one status.
type Code string

// The error codes. Every domain error carries exactly one.
const (
	CodeInvalid      Code = "invalid"      // malformed input: 422
	CodeConflict     Code = "conflict"     // a unique name or email is taken: 400
	CodeNotFound     Code = "not_found"    // no such organization: 404
	CodeUnauthorized Code = "unauthorized" // missing or bad credentials: 401
	CodeForbidden    Code = "forbidden"    // authenticated, but not allowed: 403
	CodeBusy         Code = "busy"         // another operation holds the organization: 503
	CodeUnavailable  Code = "unavailable"  // the store cannot be reached: 503
	CodeRateLimited  Code = "rate_limited" // too many attempts: 429
	CodeStorageFull  Code = "storage_full" // the store has no room to write: 507
	CodeUnsupported  Code = "unsupported"  // this deployment does not offer it: 501
	CodePrecondition Code = "precondition" // the resource is not as the request expects: 412
	CodeInProgress   Code = "in_progress"  // the same request is still being answered: 409
)

// Error is a failure a client can be told about. Message is safe to show.
type Error struct {
	Code    Code
	Message string
	// RetryAfter, when set, tells the client how long to wait.
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Message }

// Errorf builds an Error with the given code; the message must be safe to
// show to a client.
func Errorf(code Code, msg string) *Error { return &Error{Code: code, Message: msg} }

// ErrorCode returns the Code of the first *Error in err's chain, or "" when
// err carries none (an internal failure).
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// The sentinel errors use cases and ports return, wrapped with %w for context.
var (
	ErrOrgNotFound        = Errorf(CodeNotFound, "Organization not found")
	ErrOrgExists          = Errorf(CodeConflict, "Organization name already exists")
	ErrEmailExists        = Errorf(CodeConflict, "Email already registered")
	ErrInvalidCredentials = Errorf(CodeUnauthorized, "Invalid email or password")
	ErrInvalidToken       = Errorf(CodeUnauthorized, "Invalid or expired token")
	ErrNotOwner           = Errorf(CodeForbidden, "You can only manage your own organization")
	ErrOrgBusy            = Errorf(CodeBusy, "Organization is being changed by another request; retry shortly")
	ErrUnavailable        = Errorf(CodeUnavailable, "Service temporarily unavailable")
	ErrStorageFull        = &Error{Code: CodeStorageFull, Message: "The store has no room to write; retry later", RetryAfter: 30 * time.Second}
	ErrNothingToUpdate    = Errorf(CodeInvalid, "At least one of organization_name, email, password, public_metadata, private_metadata or external_id is required")
	ErrNotAuthenticated   = Errorf(CodeUnauthorized, "Not authenticated")
	ErrSuperAdminOnly     = Errorf(CodeForbidden, "Only the super admin may do this")
	ErrNoOrganization     = Errorf(CodeForbidden, "The super admin has no organization of its own")
	ErrPrecondition       = Errorf(CodePrecondition, "The organization has changed since that ETag; read it again (nothing was changed)")
	ErrNoSnapshots        = Errorf(CodeUnsupported, "Snapshots are taken of the embedded store only; back up MongoDB with mongodump (see the README)")

	// ErrAdminNotFound is returned by admin lookups; use cases turn it into
	// ErrInvalidCredentials or ErrInvalidToken so callers cannot probe for
	// accounts.
	ErrAdminNotFound = Errorf(CodeNotFound, "Admin not found")
	// ErrStale is returned by a compare-and-set write whose expected version
	// no longer matches: someone else changed the document first.
	ErrStale = errors.New("stale version")
	// ErrClaimTaken is returned by a claim registry when the key is
	// claimed already; use cases turn it into ErrOrgExists or ErrEmailExists.
	ErrClaimTaken = errors.New("key is claimed")
	// ErrNoClaim is returned by a claim registry for a key nobody claims.
	ErrNoClaim = errors.New("key is not claimed")
	// ErrCollectionNotFound is returned by tenant collection operations on a
	// collection that does not exist.
	ErrCollectionNotFound = errors.New("collection not found")
)
