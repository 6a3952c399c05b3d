// Package model checks orgd against a sequential model of its API. Clients
// run operations drawn at random (creates with colliding names and emails,
// renames into a small shared pool, the same request twice at once, email
// and password changes, deletes, logins and gets), with failures injected
// at random steps; the history they record must be linearizable: every
// answer a client got is explained by some order of the operations, each
// taking effect at one instant between its call and its answer (checked
// with porcupine). After each history the integrity audit must find
// nothing.
package model

import (
	"fmt"
	"slices"
	"strings"

	"github.com/anishathalye/porcupine"
)

// OpKind names an API operation.
type OpKind string

// The operations.
const (
	OpCreate OpKind = "create"
	OpGet    OpKind = "get"
	OpLogin  OpKind = "login"
	OpUpdate OpKind = "update"
	OpDelete OpKind = "delete"
)

// Input is one operation as a client sent it.
type Input struct {
	Kind OpKind
	// Name is the organization name (create, get, delete) or the new name
	// (update; empty for none).
	Name string
	// Email and Password are the admin's (create, login) or the new ones
	// (update; empty for none).
	Email, Password string
	// As is the organization whose admin sends an update or a delete.
	As string
}

// Result classifies an answer.
type Result string

// The answers the model knows.
const (
	OK         Result = "ok"
	NameTaken  Result = "name_taken"  // 400 Organization name already exists
	EmailTaken Result = "email_taken" // 400 Email already registered
	NotFound   Result = "not_found"   // 404, or 401 for a token whose admin is gone
	Forbidden  Result = "forbidden"   // 403 not the caller's organization
	Invalid    Result = "invalid"     // 401 invalid email or password
	// Unknown: the operation may or may not have taken effect (a failure
	// injected midway, a 503, a connection cut by a kill); it may take
	// effect at any time after its call, or never.
	Unknown Result = "unknown"
)

// Output is one answer.
type Output struct {
	Result Result
	// OrgID is the organization created or logged into.
	OrgID string
	// Name and Email are the organization's name and admin email as the
	// answer gave them (create, get, update; login: Name only).
	Name, Email string
}

// org is one organization in the model's state. ID is "?" plus the index
// of the create that made it while nobody has learnt its real ID yet (a
// create whose answer was lost); the first login to it binds it.
type org struct {
	ID, Name, Email, Password string
}

func (o org) key() string { return strings.ToLower(o.Name) }

// state is the organizations, sorted by ID. Steps never modify a state;
// they return a new one.
type state []org

func (s state) byKey(key string) (int, bool) {
	for i, o := range s {
		if o.key() == key {
			return i, true
		}
	}
	return -1, false
}

func (s state) byEmail(email string) (int, bool) {
	for i, o := range s {
		if o.Email == email {
			return i, true
		}
	}
	return -1, false
}

func (s state) byID(id string) (int, bool) {
	for i, o := range s {
		if o.ID == id {
			return i, true
		}
	}
	return -1, false
}

func (s state) with(i int, o org) state {
	out := slices.Clone(s)
	if i < 0 {
		out = append(out, o)
	} else {
		out[i] = o
	}
	slices.SortFunc(out, func(a, b org) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func (s state) without(i int) state { return slices.Delete(slices.Clone(s), i, i+1) }

// opInput is what the checker sees of an operation: its input, and the
// index of its call in the history (to name an unbound organization).
type opInput struct {
	Input
	seq int
}

// Model is orgd's API as a sequential specification.
var Model = porcupine.Model{
	Init: func() any { return state(nil) },
	Step: func(st, in, out any) (bool, any) {
		return step(st.(state), in.(opInput), out.(Output))
	},
	Equal: func(a, b any) bool { return slices.Equal(a.(state), b.(state)) },
	DescribeOperation: func(in, out any) string {
		i, o := in.(opInput), out.(Output)
		return fmt.Sprintf("%s(%s) -> %s %s %s %s", i.Kind, describe(i.Input), o.Result, o.OrgID, o.Name, o.Email)
	},
	DescribeState: func(st any) string { return fmt.Sprint(st.(state)) },
}

func describe(in Input) string {
	var parts []string
	for _, kv := range [][2]string{{"as", in.As}, {"name", in.Name}, {"email", in.Email}, {"password", in.Password}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+kv[1])
		}
	}
	return strings.Join(parts, " ")
}

// step applies in to st and says whether out is an answer the API may give
// there. An Unknown answer is always possible: the operation is applied
// if it can be (an operation never applied is one linearized after every
// other).
func step(st state, in opInput, out Output) (bool, state) {
	switch in.Kind {
	case OpCreate:
		return stepCreate(st, in, out)
	case OpGet:
		i, ok := st.byKey(strings.ToLower(in.Name))
		if out.Result == Unknown {
			return true, st
		}
		if !ok {
			return out.Result == NotFound, st
		}
		return out.Result == OK && out.Name == st[i].Name && out.Email == st[i].Email, st
	case OpLogin:
		return stepLogin(st, in, out)
	case OpUpdate:
		return stepUpdate(st, in, out)
	case OpDelete:
		i, ok := st.byKey(strings.ToLower(in.Name))
		_, caller := st.byID(in.As)
		switch {
		case !ok, !caller: // a token whose account is gone is refused first
			return out.Result == NotFound || out.Result == Unknown, st
		case st[i].ID != in.As:
			return out.Result == Forbidden || out.Result == Unknown, st
		}
		return out.Result == OK || out.Result == Unknown, st.without(i)
	}
	return false, st
}

func stepCreate(st state, in opInput, out Output) (bool, state) {
	_, nameTaken := st.byKey(strings.ToLower(in.Name))
	_, emailTaken := st.byEmail(in.Email)
	switch out.Result {
	case NameTaken:
		return nameTaken, st
	case EmailTaken:
		return emailTaken, st
	case OK, Unknown:
		if nameTaken || emailTaken {
			return out.Result == Unknown, st
		}
		id := out.OrgID
		if out.Result == OK && (out.Name != in.Name || out.Email != in.Email) {
			return false, st
		}
		if id == "" { // unknown, or an answer that does not give the ID (HTTP)
			id = fmt.Sprintf("?%d", in.seq)
		} else if _, dup := st.byID(id); dup {
			return false, st
		}
		return true, st.with(-1, org{ID: id, Name: in.Name, Email: in.Email, Password: in.Password})
	}
	return false, st
}

func stepLogin(st state, in opInput, out Output) (bool, state) {
	i, ok := st.byEmail(in.Email)
	if ok && st[i].Password != in.Password {
		ok = false
	}
	switch {
	case out.Result == Unknown:
		return true, st
	case !ok:
		return out.Result == Invalid, st
	case out.Result != OK || out.Name != st[i].Name:
		return false, st
	case st[i].ID == out.OrgID:
		return true, st
	case strings.HasPrefix(st[i].ID, "?"):
		if _, dup := st.byID(out.OrgID); dup {
			return false, st
		}
		o := st[i]
		o.ID = out.OrgID
		return true, st.with(i, o)
	}
	return false, st
}

func stepUpdate(st state, in opInput, out Output) (bool, state) {
	i, ok := st.byID(in.As)
	if !ok {
		return out.Result == NotFound || out.Result == Unknown, st
	}
	o := st[i]
	var nameTaken, emailTaken bool
	if in.Name != "" {
		j, taken := st.byKey(strings.ToLower(in.Name))
		nameTaken = taken && j != i
	}
	if in.Email != "" {
		j, taken := st.byEmail(in.Email)
		emailTaken = taken && j != i
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
		if in.Name != "" {
			o.Name = in.Name
		}
		if in.Email != "" {
			o.Email = in.Email
		}
		if in.Password != "" {
			o.Password = in.Password
		}
		if out.Result == OK && (out.Name != o.Name || out.Email != o.Email) {
			return false, st
		}
		return true, st.with(i, o)
	}
	return false, st
}
