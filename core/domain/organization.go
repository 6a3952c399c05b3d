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
