package domain

import "time"

// State is where an organization is in its life.
type State string

// The organization states. Only StateActive organizations are visible to
// clients; the others exist while a create or delete is being carried out.
const (
	StateCreating State = "creating"
	StateActive   State = "active"
	StateDeleting State = "deleting"
)

// Op names a multi-step lifecycle operation recorded on an organization.
type Op string

// The lifecycle operations.
const (
	OpCreate Op = "create"
	OpUpdate Op = "update"
	OpDelete Op = "delete"
)

// Pending is the intent of a lifecycle operation, written to the
// organization in the single atomic write that starts the operation. It
// carries everything needed to finish the operation, so that whoever holds
// the lease (the request that started it, or recovery after that request's
// process died) can carry every remaining step out again; each step is
// idempotent.
type Pending struct {
	Op Op
	// ID identifies this one operation. The claims it takes are recorded
	// as its own (Claim.Op), so only it, or whoever finishes it, gives
	// them back: a duplicate of the request that began it (a double
	// click, a retry) has an ID of its own and can never release them.
	ID ID
	// LeaseUntil is when the operation's owner stops acting on it. Until
	// then nobody else touches the organization; after it, anyone may take
	// the operation over and finish it.
	LeaseUntil time.Time

	// PasswordHash is the admin's new (create, update) password hash.
	PasswordHash string
	// CredentialsVersion is the admin's credentials version once the
	// password change is applied (update).
	CredentialsVersion int64
	// NewName is the rename target (update); zero for none.
	NewName OrgName
	// NewEmail is the admin's new email (update).
	NewEmail Email
}

// Renames reports whether the operation moves the organization to another
// name key (and so to another collection).
func (p *Pending) Renames(o Organization) bool {
	return p != nil && !p.NewName.IsZero() && p.NewName.Key() != o.Name.Key()
}

// Changes reports whether the update changes anything.
func (p *Pending) Changes() bool {
	return !p.NewName.IsZero() || p.NewEmail != "" || p.PasswordHash != ""
}

// Organization is a tenant: its metadata in the master database. One
// admin manages it; its documents live in the collection Name.Collection().
type Organization struct {
	ID ID
	// Name is its name; its key (uniqueness) and its collection's name
	// derive from it.
	Name       OrgName
	AdminID    ID
	AdminEmail Email
	CreatedAt  time.Time
	State      State
	Pending    *Pending
	// Version increases with every write; writes are compare-and-set on it.
	Version int64
	// NameOp and EmailOp are the operations that took the claims o holds
	// on its name key and on its admin's email (their Claim.Op): the
	// create, or the update that last changed each.
	NameOp, EmailOp ID
}

// Visible reports whether clients may see the organization: it is active
// (possibly with an update under way, which they see as not yet applied).
func (o Organization) Visible() bool { return o.State == StateActive }

// Holds reports whether o holds claim c (on its name, or its admin's
// email), or its pending operation took c: the same key, holder and
// operation.
func (o Organization) Holds(c Claim) bool {
	if c.Same(o.NameClaim()) || c.Same(o.EmailClaim()) {
		return true
	}
	for _, ic := range o.IntentClaims() {
		if c.Same(ic) {
			return true
		}
	}
	return false
}

// Owns reports whether o holds claim c as its own, settled: c is the claim
// on its name or its admin's email, and o is neither being created nor
// being deleted. A claim o holds otherwise is its pending operation's to
// decide.
func (o Organization) Owns(c Claim) bool {
	if !c.Same(o.NameClaim()) && !c.Same(o.EmailClaim()) {
		return false
	}
	return o.Pending == nil || o.Pending.Op == OpUpdate
}

// IntentClaims are the claims o's pending operation takes before its
// intent is written, and gives back if it never is: a create's name and
// email, an update's new name key (if it changes) and new email. A delete
// takes none.
func (o Organization) IntentClaims() []Claim {
	p := o.Pending
	switch {
	case p == nil:
		return nil
	case p.Op == OpCreate:
		return []Claim{o.NameClaim(), o.EmailClaim()}
	case p.Op != OpUpdate:
		return nil
	}
	var out []Claim
	if p.Renames(o) {
		out = append(out, Claim{Kind: KindName, Key: p.NewName.Key(), OrgID: o.ID, Op: p.ID})
	}
	if p.NewEmail != "" {
		out = append(out, Claim{Kind: KindEmail, Key: string(p.NewEmail), OrgID: o.ID, AdminID: o.AdminID, Op: p.ID})
	}
	return out
}

// The lifecycle's transitions. Each returns the organization as the
// transition leaves it; the version is the store's business (every write
// is compare-and-set on it).

// Begin records p, the intent of an update or a delete, on o; a delete
// also hides o from clients from now on.
func (o Organization) Begin(p *Pending) Organization {
	o.Pending = p
	if p.Op == OpDelete {
		o.State = StateDeleting
	}
	return o
}

// Renew gives o's pending operation a new lease, for whoever takes it over.
func (o Organization) Renew(leaseUntil time.Time) Organization {
	p := *o.Pending
	p.LeaseUntil = leaseUntil
	o.Pending = &p
	return o
}

// Activate ends a create: o is visible from now on.
func (o Organization) Activate() Organization {
	o.State, o.Pending = StateActive, nil
	return o
}

// Apply ends an update: o takes its new name and email, and holds the
// claims the update took on them.
func (o Organization) Apply() Organization {
	if p := o.Pending; p != nil {
		if p.Renames(o) {
			o.NameOp = p.ID
		}
		if !p.NewName.IsZero() {
			o.Name = p.NewName
		}
		if p.NewEmail != "" {
			o.AdminEmail, o.EmailOp = p.NewEmail, p.ID
		}
	}
	o.Pending = nil
	return o
}

// Forgo drops from o's pending update the parts whose claims another
// holder took meanwhile (a lost claim: see usecase's reclaim): the rename
// if name, the email change if email. The rest of the update goes on.
func (o Organization) Forgo(name, email bool) Organization {
	p := *o.Pending
	if name {
		p.NewName = OrgName{}
	}
	if email {
		p.NewEmail = ""
	}
	o.Pending = &p
	return o
}

// Abort drops o's pending update, none of which was applied.
func (o Organization) Abort() Organization {
	o.Pending = nil
	return o
}

// NameClaim is the claim o holds on its current name key.
func (o Organization) NameClaim() Claim {
	return Claim{Kind: KindName, Key: o.Name.Key(), OrgID: o.ID, Op: o.NameOp}
}

// EmailClaim is the claim o's admin holds on its current email.
func (o Organization) EmailClaim() Claim {
	return Claim{Kind: KindEmail, Key: string(o.AdminEmail), OrgID: o.ID, AdminID: o.AdminID, Op: o.EmailOp}
}

// Marker lists an organization among those with an operation pending
// (the index recovery reads instead of every organization). It is written
// before the intent and removed after the write that clears it; one left
// behind (its removal interrupted, or its intent never written) is
// harmless, and the integrity audit clears it once it is older than a
// lease.
type Marker struct {
	OrgID   ID
	Version int64
	At      time.Time
}

// TenantCollection is one tenant collection as it lies in the store: its
// place (see ports.TenantStore.Place) and its name.
type TenantCollection struct {
	Place string
	Name  string
}

// Role is what an admin may do.
type Role string

// The roles. An organization admin manages its one organization; the
// platform's super admin has none, and may list and delete any.
const (
	RoleOrgAdmin   Role = "org_admin"
	RoleSuperAdmin Role = "super_admin"
)

// Admin is an account: an organization's admin, or the super admin.
type Admin struct {
	ID           ID
	Email        Email
	PasswordHash string
	Role         Role
	OrgID        ID // empty for the super admin
	CreatedAt    time.Time
	// CredentialsVersion increases on every password change; tokens carry
	// the version they were issued under and die when it moves on.
	CredentialsVersion int64
}

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
	KindName  ClaimKind = "name"  // organization name keys
	KindEmail ClaimKind = "email" // admin emails
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

// Claims is what an access token asserts.
type Claims struct {
	AdminID            ID
	OrgID              ID // empty for the super admin
	Super              bool
	CredentialsVersion int64
	IssuedAt           time.Time
	ExpiresAt          time.Time
}

// Principal is an authenticated admin.
type Principal struct {
	AdminID ID
	OrgID   ID // empty for the super admin
	Super   bool
}

// OrgCreation says who may create organizations.
type OrgCreation string

// The creation policies: anyone (the API reference's default), or only the
// super admin.
const (
	CreationOpen      OrgCreation = "open"
	CreationSuperOnly OrgCreation = "superadmin"
)
