package domain

import "time"

// Claim reserves a unique key for its holder: an organization's name key
// (OrgID set) or an admin's email (AdminID set, and OrgID too unless the
// admin is the super admin). Claims are the single authority on which names
// and emails are taken: an organization's collection org_<key> only ever
// exists while a claim on key is held for it, and an admin only ever holds
// an email claimed for it. Every claim is read and written by its key
// alone, so a lookup by name or email is one point read on any store.
//
// A claim belongs to the one operation that took it (Op, its
// Pending.ID), and only a release naming that operation frees it; claims
// written before operations had IDs have an empty Op, as do the
// organizations' NameOp and EmailOp that refer to them.
type Claim struct {
	Kind    ClaimKind
	Key     string
	OrgID   ID
	AdminID ID
	Op      ID
	At      time.Time
}

// ClaimKind says which registry a claim is in.
type ClaimKind string

// The claim registries.
const (
	KindName       ClaimKind = "name"        // organization name keys
	KindEmail      ClaimKind = "email"       // admin emails
	KindExternalID ClaimKind = "external_id" // organizations' external ids
)

// SameHolder reports whether c and other name the same organization and
// admin (perhaps through different operations).
func (c Claim) SameHolder(other Claim) bool {
	return c.OrgID == other.OrgID && c.AdminID == other.AdminID
}

// Same reports whether c and other are one claim: the same key, taken by
// the same operation of the same holder.
func (c Claim) Same(other Claim) bool {
	return c.Kind == other.Kind && c.Key == other.Key && c.SameHolder(other) && c.Op == other.Op
}
