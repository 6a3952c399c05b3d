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
	// StateDeleted is the state a finished delete leaves its organization
	// in: no longer stored, what it was known as before it went.
	StateDeleted State = "deleted"
)

// Op names a kind of lifecycle operation (core/usecase registers each
// one: what it claims, which account it writes, how it finishes).
type Op string

// The operations the domain's own rules name: a create or a delete in
// flight decides what its organization and members hold (Settled), and a
// delete hides its organization from its first write (Begin).
const (
	OpCreate Op = "create"
	OpDelete Op = "delete"
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
	// Actor is who asked for the operation, and RequestID the request
	// that asked: its events name them, whoever finishes it.
	Actor     Actor
	RequestID string
	// Data is the operation's own part of the intent (the member it
	// concerns, a new name, a password hash…), as its operation encoded
	// it (JSON): opaque to the domain and to stores, which keep it as
	// given.
	Data []byte
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
	// Webhooks are its webhook endpoints (stored apart, see Webhook).
	Webhooks []ID
	// PublicMetadata is shown with it to anyone; PrivateMetadata only to
	// its members and the super admin.
	PublicMetadata, PrivateMetadata Metadata
	// ExternalID is the id a product knows it by (unique: claimed, by the
	// operation ExternalIDOp); empty for none.
	ExternalID   string
	ExternalIDOp ID
	// Suspended, when set, says the super admin deactivated it: it keeps
	// everything, but its members cannot log in or act, and nothing of it
	// changes, until it is activated again.
	Suspended *Suspension
	// Outbox holds the events of changes committed to o that are not yet
	// placed in the event log, oldest first; EventSeq counts every event
	// committed to o (the next one's place in its stream).
	Outbox   []Event
	EventSeq int64
}

// Revision is one state of an organization as clients see it: which
// organization, and how many changes it has committed (each change is
// one event of its stream, so EventSeq counts them). The HTTP edge shows
// it as the ETag.
type Revision struct {
	OrgID ID
	Seq   int64
}

// Revision is o's current revision.
func (o Organization) Revision() Revision { return Revision{OrgID: o.ID, Seq: o.EventSeq} }

// Matches reports whether o is at one of revs (If-Match); an empty revs
// matches nothing.
func (o Organization) Matches(revs []Revision) bool {
	for _, r := range revs {
		if r == o.Revision() {
			return true
		}
	}
	return false
}

// Unsettled reports whether o has work left that recovery must find: an
// operation pending, or committed events not yet in the event log.
func (o Organization) Unsettled() bool { return o.Pending != nil || len(o.Outbox) > 0 }

// Record commits events to o's outbox, each at its place in o's stream.
func (o Organization) Record(events ...Event) Organization {
	if len(events) == 0 {
		return o
	}
	o.Outbox = append(append([]Event(nil), o.Outbox...), events...)
	for i := len(o.Outbox) - len(events); i < len(o.Outbox); i++ {
		o.Outbox[i].OrgSeq = o.EventSeq
		o.EventSeq++
	}
	return o
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

// Settled reports whether o is neither being created nor being deleted:
// what it and its members hold is theirs, whatever else is under way.
func (o Organization) Settled() bool {
	return o.Pending == nil || (o.Pending.Op != OpCreate && o.Pending.Op != OpDelete)
}

// Owns reports whether o holds claim c on its name as its own, settled:
// o is neither being created nor being deleted. A claim o holds otherwise
// is its pending operation's to decide.
func (o Organization) Owns(c Claim) bool {
	if !o.Settled() {
		return false
	}
	if x, ok := o.ExternalIDClaim(); ok && c.Same(x) {
		return true
	}
	return c.Same(o.NameClaim())
}

// Suspension is why and since when an organization is deactivated.
type Suspension struct {
	At     time.Time
	Reason string
}

// Deactivated reports whether o is deactivated.
func (o Organization) Deactivated() bool { return o.Suspended != nil }

// Deactivate is o deactivated at at, for reason.
func (o Organization) Deactivate(reason string, at time.Time) Organization {
	o.Suspended = &Suspension{At: at, Reason: reason}
	return o
}

// Reactivate is o active again.
func (o Organization) Reactivate() Organization {
	o.Suspended = nil
	return o
}

// ErrDeactivated refuses a member of a deactivated organization, and any
// change to one but its deletion or activation by the super admin.
var ErrDeactivated = Errorf(CodeForbidden, "organization is deactivated")

// ExternalIDClaim is the claim o holds on its external id, if it has one.
func (o Organization) ExternalIDClaim() (Claim, bool) {
	if o.ExternalID == "" {
		return Claim{}, false
	}
	return Claim{Kind: KindExternalID, Key: o.ExternalID, OrgID: o.ID, Op: o.ExternalIDOp}, true
}

// Updated is o with its metadata as given, and its external id id (set
// by operation op; empty: none).
func (o Organization) Updated(public, private Metadata, id string, op ID) Organization {
	o.PublicMetadata, o.PrivateMetadata = public, private
	if id != o.ExternalID {
		o.ExternalID, o.ExternalIDOp = id, op
		if id == "" {
			o.ExternalIDOp = ""
		}
	}
	return o
}

// The lifecycle's transitions. Each returns the organization as the
// transition leaves it; the version is the store's business (every write
// is compare-and-set on it), and clearing an operation's intent is its
// commit's (Done).

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

// Done ends o's pending operation: its intent is cleared.
func (o Organization) Done() Organization {
	o.Pending = nil
	return o
}

// Activate ends a create: o is visible from now on.
func (o Organization) Activate() Organization {
	o.State = StateActive
	return o
}

// Renamed gives o a new name; if its key changes, o holds from now on the
// claim operation op took on it.
func (o Organization) Renamed(name OrgName, op ID) Organization {
	if name.Key() != o.Name.Key() {
		o.NameOp = op
	}
	o.Name = name
	return o
}

// EmailChanged lists member admin's new email among o's owners, if it is
// one.
func (o Organization) EmailChanged(admin ID, email Email) Organization {
	if i := o.OwnerIndex(admin); i >= 0 {
		o.Owners = append([]Owner(nil), o.Owners...)
		o.Owners[i].Email = email
	}
	return o
}

// Joined counts m, who joined o on roster page page by accepting
// invitation inv, among its members (and owners, if it is one); the
// invitation is used up.
func (o Organization) Joined(m Member, page int, inv ID, now time.Time) Organization {
	o.Members++
	o.Roster = append([]int(nil), o.Roster...)
	for len(o.Roster) <= page {
		o.Roster = append(o.Roster, 0)
	}
	o.Roster[page]++
	if m.Role == RoleOwner {
		o.Owners = append(append([]Owner(nil), o.Owners...), Owner{AdminID: m.AdminID, Email: m.Email, Since: now})
	}
	o.Invitations = without(o.Invitations, inv)
	return o
}

// RoleSet counts m among o's owners if, and only if, role is owner (a new
// owner from now on).
func (o Organization) RoleSet(m Member, role OrgRole, now time.Time) Organization {
	i := o.OwnerIndex(m.AdminID)
	switch {
	case role == RoleOwner && i < 0:
		o.Owners = append(append([]Owner(nil), o.Owners...), Owner{AdminID: m.AdminID, Email: m.Email, Since: now})
	case role != RoleOwner && i >= 0:
		o.Owners = append(append([]Owner(nil), o.Owners[:i]...), o.Owners[i+1:]...)
	}
	return o
}

// Removed no longer counts m, listed on roster page page, among o's
// members or owners; trailing empty roster pages go.
func (o Organization) Removed(m Member, page int) Organization {
	o.Members--
	o.Roster = append([]int(nil), o.Roster...)
	if page < len(o.Roster) && o.Roster[page] > 0 {
		o.Roster[page]--
	}
	for len(o.Roster) > 0 && o.Roster[len(o.Roster)-1] == 0 {
		o.Roster = o.Roster[:len(o.Roster)-1]
	}
	if i := o.OwnerIndex(m.AdminID); i >= 0 {
		o.Owners = append(append([]Owner(nil), o.Owners[:i]...), o.Owners[i+1:]...)
	}
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

// AddWebhook lists webhook endpoint id among o's.
func (o Organization) AddWebhook(id ID) Organization {
	o.Webhooks = append(append([]ID(nil), o.Webhooks...), id)
	return o
}

// RemoveWebhook drops webhook endpoint id from o's.
func (o Organization) RemoveWebhook(id ID) Organization {
	o.Webhooks = without(o.Webhooks, id)
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
