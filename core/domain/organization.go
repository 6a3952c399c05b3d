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
	OpCreate  Op = "create"
	OpUpdate  Op = "update"  // rename, or a member's own email or password
	OpJoin    Op = "join"    // an invitation accepted
	OpSetRole Op = "setrole" // a member's role changed
	OpRemove  Op = "remove"  // a member removed, or leaving
	OpDelete  Op = "delete"
)

// Pending is the intent of a lifecycle operation, written to the
// organization in the single atomic write that starts the operation. It
// carries everything needed to finish the operation, so that whoever holds
// the lease (the request that started it, or recovery after that request's
// process died) can carry every remaining step out again; each step is
// idempotent. Every operation on an organization, its membership included,
// goes through its one Pending, one at a time.
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

	// Member is the member the operation concerns: the one a create or a
	// join adds (as it will be), the one an update, a role change or a
	// removal concerns (as it was when the operation began).
	Member Member
	// Page is the roster page that lists Member (or will).
	Page int
	// PasswordHash is Member's new (create, join, update) password hash.
	PasswordHash string
	// CredentialsVersion is Member's credentials version once the password
	// change is applied (update).
	CredentialsVersion int64
	// NewName is the rename target (update); zero for none.
	NewName OrgName
	// NewEmail is Member's new email (update).
	NewEmail Email
	// NewRole is Member's new role (role change).
	NewRole OrgRole
	// Invitation is the invitation a join accepts.
	Invitation ID
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

// Organization is a tenant: its metadata in the master database. Its
// members run it (its roster lists them, a page at a time); its documents
// live in the collection Name.Collection().
type Organization struct {
	ID ID
	// Name is its name; its key (uniqueness) and its collection's name
	// derive from it.
	Name      OrgName
	CreatedAt time.Time
	State     State
	Pending   *Pending
	// Version increases with every write; writes are compare-and-set on it.
	Version int64
	// NameOp is the operation that took the claim o holds on its name key
	// (its Claim.Op): the create, or the rename that set the name.
	NameOp ID
	// Owners are its owners, longest-standing first.
	Owners []Owner
	// Members is how many members it has; Roster, how many each roster
	// page lists (a page emptied by removals is kept while a later one
	// is not empty).
	Members int
	Roster  []int
	// Invitations are its invitations not yet accepted, revoked or
	// expired and swept.
	Invitations []ID
}

// AdminEmail is the email of the owner who has been owner longest, the
// organization's contact (admin_email in the API): its creator, until
// they leave.
func (o Organization) AdminEmail() Email {
	if len(o.Owners) == 0 {
		return ""
	}
	return o.Owners[0].Email
}

// OwnerIndex returns the place of admin among o's owners, or -1.
func (o Organization) OwnerIndex(admin ID) int {
	for i, w := range o.Owners {
		if w.AdminID == admin {
			return i
		}
	}
	return -1
}

// LastOwner reports whether admin is o's only owner.
func (o Organization) LastOwner(admin ID) bool {
	return len(o.Owners) == 1 && o.Owners[0].AdminID == admin
}

// NextPage is the roster page a member joining o goes on: the last one
// while it has room, else a new one.
func (o Organization) NextPage() int {
	if n := len(o.Roster); n > 0 && o.Roster[n-1] < RosterPageSize {
		return n - 1
	}
	return len(o.Roster)
}

// Visible reports whether clients may see the organization: it is active
// (possibly with an operation under way, which they see as not yet
// applied).
func (o Organization) Visible() bool { return o.State == StateActive }

// Holds reports whether o holds claim c on its name, or its pending
// operation took c: the same key, holder and operation. (A member's claim
// on its email is held by the member: see Member.EmailClaim.)
func (o Organization) Holds(c Claim) bool {
	if c.Same(o.NameClaim()) {
		return true
	}
	for _, ic := range o.IntentClaims() {
		if c.Same(ic) {
			return true
		}
	}
	return false
}

// Owns reports whether o holds claim c on its name as its own, settled:
// o is neither being created nor being deleted. A claim o holds otherwise
// is its pending operation's to decide.
func (o Organization) Owns(c Claim) bool {
	return c.Same(o.NameClaim()) && o.Settled()
}

// Settled reports whether o is neither being created nor being deleted:
// what it and its members hold is theirs, whatever else is under way.
func (o Organization) Settled() bool {
	return o.Pending == nil || (o.Pending.Op != OpCreate && o.Pending.Op != OpDelete)
}

// IntentClaims are the claims o's pending operation takes before its
// intent is written, and gives back if it never is: a create's name and
// its creator's email, an update's new name key (if it changes) and new
// email, a join's new member's email. The others take none.
func (o Organization) IntentClaims() []Claim {
	p := o.Pending
	if p == nil {
		return nil
	}
	switch p.Op {
	case OpCreate:
		return []Claim{o.NameClaim(), p.Member.EmailClaim(o.ID)}
	case OpJoin:
		return []Claim{p.Member.EmailClaim(o.ID)}
	case OpUpdate:
	default:
		return nil
	}
	var out []Claim
	if p.Renames(o) {
		out = append(out, Claim{Kind: KindName, Key: p.NewName.Key(), OrgID: o.ID, Op: p.ID})
	}
	if p.NewEmail != "" {
		out = append(out, Claim{Kind: KindEmail, Key: string(p.NewEmail), OrgID: o.ID, AdminID: p.Member.AdminID, Op: p.ID})
	}
	return out
}

// The lifecycle's transitions. Each returns the organization as the
// transition leaves it; the version is the store's business (every write
// is compare-and-set on it).

// Begin records p, the intent of an operation on an existing organization;
// a delete also hides o from clients from now on.
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

// Apply ends an update: o takes its new name, and holds the claim the
// update took on it; its owners list the member's new email.
func (o Organization) Apply() Organization {
	if p := o.Pending; p != nil {
		if p.Renames(o) {
			o.NameOp = p.ID
		}
		if !p.NewName.IsZero() {
			o.Name = p.NewName
		}
		if i := o.OwnerIndex(p.Member.AdminID); i >= 0 && p.NewEmail != "" {
			o.Owners = append([]Owner(nil), o.Owners...)
			o.Owners[i].Email = p.NewEmail
		}
	}
	o.Pending = nil
	return o
}

// Joined ends a join: the new member counts, on its roster page, among
// the owners if it is one, and its invitation is used up.
func (o Organization) Joined(now time.Time) Organization {
	p := o.Pending
	o.Members++
	o.Roster = append([]int(nil), o.Roster...)
	for len(o.Roster) <= p.Page {
		o.Roster = append(o.Roster, 0)
	}
	o.Roster[p.Page]++
	if p.Member.Role == RoleOwner {
		o.Owners = append(append([]Owner(nil), o.Owners...), Owner{AdminID: p.Member.AdminID, Email: p.Member.Email, Since: now})
	}
	o.Invitations = without(o.Invitations, p.Invitation)
	o.Pending = nil
	return o
}

// RoleSet ends a role change: the member is among the owners if, and only
// if, its new role is owner (a new owner from now on).
func (o Organization) RoleSet(now time.Time) Organization {
	p := o.Pending
	i := o.OwnerIndex(p.Member.AdminID)
	switch {
	case p.NewRole == RoleOwner && i < 0:
		o.Owners = append(append([]Owner(nil), o.Owners...), Owner{AdminID: p.Member.AdminID, Email: p.Member.Email, Since: now})
	case p.NewRole != RoleOwner && i >= 0:
		o.Owners = append(append([]Owner(nil), o.Owners[:i]...), o.Owners[i+1:]...)
	}
	o.Pending = nil
	return o
}

// Removed ends a removal: the member no longer counts, on its page or
// among the owners; trailing empty roster pages go.
func (o Organization) Removed() Organization {
	p := o.Pending
	o.Members--
	o.Roster = append([]int(nil), o.Roster...)
	if p.Page < len(o.Roster) && o.Roster[p.Page] > 0 {
		o.Roster[p.Page]--
	}
	for len(o.Roster) > 0 && o.Roster[len(o.Roster)-1] == 0 {
		o.Roster = o.Roster[:len(o.Roster)-1]
	}
	if i := o.OwnerIndex(p.Member.AdminID); i >= 0 {
		o.Owners = append(append([]Owner(nil), o.Owners[:i]...), o.Owners[i+1:]...)
	}
	o.Pending = nil
	return o
}

// Invite lists invitation id among o's invitations.
func (o Organization) Invite(id ID) Organization {
	o.Invitations = append(append([]ID(nil), o.Invitations...), id)
	return o
}

// Uninvite drops invitation id from o's invitations.
func (o Organization) Uninvite(id ID) Organization {
	o.Invitations = without(o.Invitations, id)
	return o
}

func without(ids []ID, id ID) []ID {
	out := make([]ID, 0, len(ids))
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
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

// Abort drops o's pending operation, none of which was applied.
func (o Organization) Abort() Organization {
	o.Pending = nil
	return o
}

// NameClaim is the claim o holds on its current name key.
func (o Organization) NameClaim() Claim {
	return Claim{Kind: KindName, Key: o.Name.Key(), OrgID: o.ID, Op: o.NameOp}
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
