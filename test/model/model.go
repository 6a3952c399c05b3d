// Package model checks orgd against a sequential model of its API. Clients
// run operations drawn at random (creates with colliding names and emails,
// renames into a small shared pool, the same request twice at once, email
// and password changes, deletes, logins, gets, and the membership
// operations: invitations, their acceptance, role changes, removals and
// leaving), with failures injected at random steps; the history they
// record must be linearizable: every answer a client got is explained by
// some order of the operations, each taking effect at one instant between
// its call and its answer (checked with porcupine). After each history
// the integrity audit must find nothing.
package model

import (
	"fmt"
	"strings"

	"github.com/anishathalye/porcupine"
)

// OpKind names an API operation.
type OpKind string

// The operations.
const (
	OpCreate  OpKind = "create"
	OpGet     OpKind = "get"
	OpLogin   OpKind = "login"
	OpUpdate  OpKind = "update"
	OpDelete  OpKind = "delete"
	OpInvite  OpKind = "invite"
	OpAccept  OpKind = "accept"
	OpSetRole OpKind = "setrole"
	OpRemove  OpKind = "remove"
	// The super admin's: deactivate and activate an organization by name.
	OpDeactivate OpKind = "deactivate"
	OpActivate   OpKind = "activate"
)

// The roles, as the API spells them.
const (
	Owner  = "owner"
	Admin  = "admin"
	Member = "member"
)

// Roles are the roles an invitation or a role change draws from.
var Roles = []string{Owner, Admin, Member}

// Input is one operation as a client sent it.
type Input struct {
	Kind OpKind
	// Name is the organization name (create, get, delete) or the new name
	// (update; empty for none).
	Name string
	// Email and Password are the account's (create, login), the new ones
	// (update; empty for none), the invited email (invite), the target
	// (setrole, remove) or the new member's password (accept).
	Email, Password string
	// Role is the invitation's or the new role (invite, setrole).
	Role string
	// Token is the invitation's token (accept).
	Token string
	// Session is the call of the login whose token the request carries
	// (update, delete, invite, setrole, remove); 0 for none.
	Session int
	// Key is a create's Idempotency-Key (empty for none). A key is drawn
	// for one request: the same key is always the same request.
	Key string
}

// Result classifies an answer.
type Result string

// The answers the model knows.
const (
	OK         Result = "ok"
	NameTaken  Result = "name_taken"  // 400 Organization name already exists
	EmailTaken Result = "email_taken" // 400 Email already registered
	NotFound   Result = "not_found"   // 404: no such organization, or member
	Forbidden  Result = "forbidden"   // 403: not the caller's organization, or not its role's right
	Invalid    Result = "invalid"     // 401 invalid email or password; an invitation that cannot be used
	// Unauthorized is a 401 to a request with a token: its account is
	// gone, or its password changed since the token was issued.
	Unauthorized Result = "unauthorized"
	LastOwner    Result = "last_owner" // 400: the last owner cannot go
	// Limited is a refusal under back-off (429): it changes nothing.
	Limited Result = "limited"
	// Busy is a keyed request refused while another with its key is in
	// flight (409): it changes nothing.
	Busy Result = "busy"
	// Unknown: the operation may or may not have taken effect (a failure
	// injected midway, a 503, a connection cut by a kill); it may take
	// effect at any time after its call, or never.
	Unknown Result = "unknown"
)

// Output is one answer.
type Output struct {
	Result Result
	// OrgID is the organization created or logged into; AccountID the
	// account created or logged in as (empty where the answer does not
	// give it).
	OrgID, AccountID string
	// Name and Email are the organization's name and admin email (its
	// longest-standing owner) as the answer gave them (create, get,
	// update; login: Name only; accept: Name and the member's email).
	Name, Email string
	// Role is the account's role (login, accept, setrole).
	Role string
	// Token is a new invitation's token (invite).
	Token string
	// Events are the events the request committed, as the event log
	// holds them after the history (see events.go).
	Events []Event
}

// Model is orgd's API as a sequential specification.
var Model = porcupine.Model{
	Init: func() any { return &state{} },
	Step: func(st, in, out any) (bool, any) {
		return step(st.(*state), in.(opInput), out.(Output))
	},
	Equal: func(a, b any) bool { return a.(*state).equal(b.(*state)) },
	DescribeOperation: func(in, out any) string {
		i, o := in.(opInput), out.(Output)
		s := fmt.Sprintf("%s(%s) -> %s", i.Kind, describe(i.Input), o.Result)
		for _, v := range []string{o.OrgID, o.AccountID, o.Name, o.Email, o.Role, short(o.Token)} {
			if v != "" {
				s += " " + v
			}
		}
		return s + describeEvents(o.Events)
	},
	DescribeState: func(st any) string { return st.(*state).String() },
}

// opInput is what the checker sees of an operation: its input, and the
// index of its call in the history (to name an unbound organization or
// account, and the session a login gives).
type opInput struct {
	Input
	seq int
	// events says the history's event log was read: the step checks the
	// operation's events too.
	events bool
}

func describe(in Input) string {
	var parts []string
	if in.Session != 0 {
		parts = append(parts, fmt.Sprintf("session=%d", in.Session))
	}
	for _, kv := range [][2]string{{"name", in.Name}, {"email", in.Email}, {"password", in.Password}, {"role", in.Role}, {"token", short(in.Token)}, {"key", in.Key}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+kv[1])
		}
	}
	return strings.Join(parts, " ")
}

// short abbreviates an invitation token for a description.
func short(token string) string {
	if len(token) > 10 {
		return token[:10] + "…"
	}
	return token
}

// step applies in to st and says whether out is an answer the API may give
// there. An Unknown answer is always possible: the operation is applied
// if it can be (an operation never applied is one linearized after every
// other). A Limited answer changes nothing.
func step(st *state, in opInput, out Output) (bool, *state) {
	ok, next := stepAnswer(st, in, out)
	if !ok {
		return false, st
	}
	return stepEvents(st, next, in, out)
}

// stepAnswer is step but for the events.
func stepAnswer(st *state, in opInput, out Output) (bool, *state) {
	if out.Result == Limited {
		return true, st
	}
	switch in.Kind {
	case OpCreate:
		if in.Key != "" {
			return stepKeyedCreate(st, in, out)
		}
		return stepCreate(st, in, out)
	case OpGet:
		return stepGet(st, in, out)
	case OpLogin:
		return stepLogin(st, in, out)
	case OpAccept:
		return stepAccept(st, in, out)
	case OpDeactivate, OpActivate:
		return stepSuspend(st, in, out)
	}
	// Every other operation carries a token: a dead one is refused first.
	// An answer racing the token's death may also name what went with it
	// (the organization, deleted meanwhile).
	caller, ok := st.session(in.Session)
	if !ok {
		switch out.Result {
		case Unauthorized, NotFound, Unknown:
			return true, st
		}
		return false, st
	}
	if o, _ := st.org(caller.Org); o.Deactivated {
		return refused(st, out, Forbidden) // its token waits for the activation
	}
	switch in.Kind {
	case OpUpdate:
		return stepUpdate(st, caller, in, out)
	case OpDelete:
		return stepDelete(st, caller, in, out)
	case OpInvite:
		return stepInvite(st, caller, in, out)
	case OpSetRole:
		return stepSetRole(st, caller, in, out)
	case OpRemove:
		return stepRemove(st, caller, in, out)
	}
	return false, st
}

// refused says whether out is the refusal due, or Unknown (a refused
// operation answered by a failure); nothing changes.
func refused(st *state, out Output, due Result) (bool, *state) {
	return out.Result == due || out.Result == Unknown, st
}

func stepGet(st *state, in opInput, out Output) (bool, *state) {
	if out.Result == Unknown {
		return true, st
	}
	o, ok := st.orgByKey(in.Name)
	if !ok {
		return out.Result == NotFound, st
	}
	return out.Result == OK && out.Name == o.Name && out.Email == st.adminEmail(o.ID), st
}

func stepCreate(st *state, in opInput, out Output) (bool, *state) {
	_, nameTaken := st.orgByKey(in.Name)
	_, emailTaken := st.accountByEmail(in.Email)
	switch out.Result {
	case NameTaken:
		return nameTaken, st
	case EmailTaken:
		return emailTaken, st
	case OK, Unknown:
		if nameTaken || emailTaken {
			return out.Result == Unknown, st
		}
		if out.Result == OK && (out.Name != in.Name || out.Email != in.Email) {
			return false, st
		}
		orgID, accID := bindable(out.OrgID, "?org", in.seq), bindable(out.AccountID, "?acc", in.seq)
		if st.hasID(orgID) || st.hasID(accID) {
			return false, st
		}
		next := st.clone()
		next.orgs = append(next.orgs, org{ID: orgID, Name: in.Name})
		next.accounts = append(next.accounts, account{ID: accID, Org: orgID, Email: in.Email, Password: in.Password, Role: Owner, Rank: 1})
		return true, next.sorted()
	}
	return false, st
}

// stepKeyedCreate is a create with an Idempotency-Key: the first request
// under the key that is answered (or, answered Unknown, took effect) is
// kept; every later one with the key is its replay and changes nothing.
// A request refused as busy changes nothing. An Unknown one that took no
// effect keeps nothing: its key is free for a retry (what orgd does with
// an answer worth retrying: a 5xx, or a crash).
func stepKeyedCreate(st *state, in opInput, out Output) (bool, *state) {
	if out.Result == Busy {
		return true, st
	}
	if k, ok := st.key(in.Key); ok {
		switch {
		case out.Result == Unknown:
			return true, st
		case out.Result != k.Result:
			return false, st
		case out.Result != OK:
			return true, st
		case out.Name != in.Name || out.Email != in.Email:
			return false, st
		}
		next := st.clone()
		if !next.bind(k.Org, out.OrgID) {
			return false, st
		}
		return true, next.sorted()
	}
	ok, next := stepCreate(st, in, out)
	if !ok {
		return false, st
	}
	kept := keyed{Key: in.Key, Result: out.Result}
	switch {
	case out.Result == OK, out.Result == Unknown && next != st:
		kept.Result = OK
		o, _ := next.orgByKey(in.Name)
		kept.Org = o.ID
	case out.Result == Unknown:
		return true, next // took no effect: nothing kept
	}
	if next == st {
		next = st.clone()
	}
	next.keys = append(next.keys, kept)
	return true, next.sorted()
}

// bindable is the ID an answer gave, or while none has (an answer lost,
// or one that does not give it) a placeholder: prefix and the call's
// index. The first answer that names it binds it.
func bindable(id, prefix string, seq int) string {
	if id == "" {
		return fmt.Sprintf("%s%d", prefix, seq)
	}
	return id
}

func stepLogin(st *state, in opInput, out Output) (bool, *state) {
	a, ok := st.accountByEmail(in.Email)
	if ok && a.Password != in.Password {
		ok = false
	}
	switch {
	case out.Result == Unknown:
		return true, st
	case !ok:
		return out.Result == Invalid, st
	case out.Result == Forbidden:
		o, _ := st.org(a.Org)
		return o.Deactivated, st
	case out.Result != OK:
		return false, st
	}
	o, _ := st.org(a.Org)
	if o.Deactivated {
		return out.Result == Forbidden, st
	}
	if out.Name != o.Name || out.Role != a.Role {
		return false, st
	}
	next := st.clone()
	if !next.bind(o.ID, out.OrgID) || !next.bind(a.ID, out.AccountID) {
		return false, st
	}
	if out.AccountID != "" {
		a.ID = out.AccountID
	}
	next.sessions = append(next.sessions, session{Seq: in.seq, Account: a.ID, Gen: a.Gen})
	return true, next.sorted()
}

func stepUpdate(st *state, caller account, in opInput, out Output) (bool, *state) {
	o, _ := st.org(caller.Org)
	var nameTaken, emailTaken bool
	if in.Name != "" {
		if caller.Role == Member {
			return refused(st, out, Forbidden)
		}
		other, taken := st.orgByKey(in.Name)
		nameTaken = taken && other.ID != o.ID
	}
	if in.Email != "" {
		other, taken := st.accountByEmail(in.Email)
		emailTaken = taken && other.ID != caller.ID
	}
	switch out.Result {
	case NameTaken:
		return nameTaken, st
	case EmailTaken:
		return emailTaken, st
	case OK, Unknown:
		if nameTaken || emailTaken {
			return out.Result == Unknown, st
		}
		next := st.clone()
		if in.Name != "" {
			o.Name = in.Name
			next.setOrg(o)
		}
		a := caller
		if in.Email != "" {
			a.Email = in.Email
		}
		if in.Password != "" {
			a.Password, a.Gen = in.Password, a.Gen+1 // the account's tokens die
		}
		next.setAccount(a)
		next = next.sorted()
		if out.Result == OK && (out.Name != next.orgName(o.ID) || out.Email != next.adminEmail(o.ID)) {
			return false, st
		}
		return true, next
	}
	return false, st
}

func stepDelete(st *state, caller account, in opInput, out Output) (bool, *state) {
	o, ok := st.orgByKey(in.Name)
	switch {
	case !ok:
		return refused(st, out, NotFound)
	case o.ID != caller.Org, caller.Role != Owner:
		return refused(st, out, Forbidden)
	case out.Result != OK && out.Result != Unknown:
		return false, st
	}
	return true, st.withoutOrg(o.ID)
}

func stepInvite(st *state, caller account, in opInput, out Output) (bool, *state) {
	if !allowed(caller.Role, in.Role) {
		return refused(st, out, Forbidden)
	}
	switch out.Result {
	case EmailTaken:
		// Advisory: an invitation for an email an operation in flight
		// holds is refused as well, and the acceptance decides.
		return true, st
	case Unknown:
		return true, st // a token nobody learnt is never accepted
	case OK:
		if out.Token == "" {
			return false, st
		}
		next := st.clone()
		next.invites = append(next.invites, invite{Token: out.Token, Org: caller.Org, Email: in.Email, Role: in.Role})
		return true, next.sorted()
	}
	return false, st
}

// allowed is the rights table for acting on members: admins and owners
// act on members and admins, owners alone on owners.
func allowed(role string, targets ...string) bool {
	if role == Member {
		return false
	}
	for _, t := range targets {
		if t == Owner && role != Owner {
			return false
		}
	}
	return true
}

func stepAccept(st *state, in opInput, out Output) (bool, *state) {
	inv, ok := st.invite(in.Token)
	if !ok {
		// Used, revoked, or gone with its organization. A twin of the
		// acceptance that used it may also find its email taken.
		_, taken := st.accountByEmail(in.Email)
		return out.Result == Invalid || out.Result == Unknown || (taken && out.Result == EmailTaken), st
	}
	_, taken := st.accountByEmail(inv.Email)
	if o, _ := st.org(inv.Org); o.Deactivated {
		// Refused either way while it is deactivated.
		return out.Result == Forbidden || out.Result == Unknown || (taken && out.Result == EmailTaken), st
	}
	if taken {
		return refused(st, out, EmailTaken)
	}
	switch out.Result {
	case OK, Unknown:
		o, _ := st.org(inv.Org)
		if out.Result == OK && (out.Name != o.Name || out.Email != inv.Email || out.Role != inv.Role) {
			return false, st
		}
		id := bindable(out.AccountID, "?acc", in.seq)
		if st.hasID(id) {
			return false, st
		}
		next := st.clone()
		next.invites = remove(next.invites, func(i invite) bool { return i.Token == inv.Token })
		next.accounts = append(next.accounts, account{ID: id, Org: inv.Org, Email: inv.Email, Password: in.Password, Role: inv.Role})
		next.setRole(id, inv.Role)
		return true, next.sorted()
	}
	return false, st
}

func stepSetRole(st *state, caller account, in opInput, out Output) (bool, *state) {
	target, ok := st.accountByEmail(in.Email)
	switch {
	case !ok || target.Org != caller.Org:
		return refused(st, out, NotFound)
	case !allowed(caller.Role, target.Role, in.Role):
		return refused(st, out, Forbidden)
	case target.Role == in.Role:
		return out.Result == OK || out.Result == Unknown, st
	case target.Role == Owner && st.owners(caller.Org) == 1:
		return refused(st, out, LastOwner)
	case out.Result != OK && out.Result != Unknown:
		return false, st
	case out.Result == OK && out.Role != in.Role:
		return false, st
	}
	next := st.clone()
	next.setRole(target.ID, in.Role)
	return true, next.sorted()
}

func stepRemove(st *state, caller account, in opInput, out Output) (bool, *state) {
	target, ok := st.accountByEmail(in.Email)
	switch {
	case !ok || target.Org != caller.Org:
		return refused(st, out, NotFound)
	case target.ID != caller.ID && !allowed(caller.Role, target.Role):
		return refused(st, out, Forbidden)
	case target.Role == Owner && st.owners(caller.Org) == 1:
		return refused(st, out, LastOwner)
	case out.Result != OK && out.Result != Unknown:
		return false, st
	}
	next := st.clone()
	next.dropAccounts(func(a account) bool { return a.ID == target.ID })
	return true, next.sorted()
}

// stepSuspend is the super admin's deactivation or activation of the
// organization named in.Name: found, it is (again) deactivated or active.
func stepSuspend(st *state, in opInput, out Output) (bool, *state) {
	o, ok := st.orgByKey(in.Name)
	if !ok {
		return refused(st, out, NotFound)
	}
	if out.Result != OK && out.Result != Unknown {
		return false, st
	}
	if out.Result == OK && (out.Name != o.Name || out.Email != st.adminEmail(o.ID)) {
		return false, st
	}
	next := st.clone()
	o.Deactivated = in.Kind == OpDeactivate
	next.setOrg(o)
	return true, next.sorted()
}
