package model

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// org is one organization in the model's state. Its ID, and an account's,
// is "?" plus the index of the call that made it while nobody has learnt
// its real ID yet (an answer lost, or one that does not give it); the
// first login to it binds it.
type org struct {
	ID, Name string
	// Events counts the events committed to it (its stream's length).
	Events int64
	// Deactivated says the super admin deactivated it.
	Deactivated bool
}

// account is a member of an organization. Rank orders its organization's
// owners by how long they have been owners (1 the longest; 0 for a
// non-owner): the first owner's email is the organization's admin email.
// Gen counts its password changes: a token issued at an older one is dead.
type account struct {
	ID, Org, Email, Password, Role string
	Rank, Gen                      int
}

// session is a token a login gave: the account, at its Gen then.
type session struct {
	Seq     int
	Account string
	Gen     int
}

// invite is a pending invitation whose token a client holds.
type invite struct{ Token, Org, Email, Role string }

// state is the organizations, their accounts, the live tokens and the
// pending invitations, each sorted, so that equal states compare equal.
// Steps never modify a state; they return a new one.
type state struct {
	orgs     []org
	accounts []account
	sessions []session
	invites  []invite
	keys     []keyed
}

// keyed is what orgd keeps of a keyed create: its answer, and the
// organization it made.
type keyed struct {
	Key    string
	Result Result
	Org    string
}

func (s *state) clone() *state {
	return &state{slices.Clone(s.orgs), slices.Clone(s.accounts), slices.Clone(s.sessions), slices.Clone(s.invites), slices.Clone(s.keys)}
}

func (s *state) equal(o *state) bool {
	return slices.Equal(s.orgs, o.orgs) && slices.Equal(s.accounts, o.accounts) &&
		slices.Equal(s.sessions, o.sessions) && slices.Equal(s.invites, o.invites) && slices.Equal(s.keys, o.keys)
}

// key is what is kept of a keyed create under key.
func (s *state) key(key string) (keyed, bool) {
	return find(s.keys, func(k keyed) bool { return k.Key == key })
}

func (s *state) String() string {
	var b strings.Builder
	for _, o := range s.orgs {
		fmt.Fprintf(&b, "%s %s:", o.ID, o.Name)
		if o.Deactivated {
			b.WriteString(" (deactivated)")
		}
		for _, a := range s.accounts {
			if a.Org == o.ID {
				fmt.Fprintf(&b, " %s/%s/%s#%d", a.Email, a.Password, a.Role, a.Gen)
			}
		}
		b.WriteString("; ")
	}
	fmt.Fprintf(&b, "%d sessions, %d invitations", len(s.sessions), len(s.invites))
	return b.String()
}

func find[T any](xs []T, match func(T) bool) (T, bool) {
	if i := slices.IndexFunc(xs, match); i >= 0 {
		return xs[i], true
	}
	var zero T
	return zero, false
}

func remove[T any](xs []T, match func(T) bool) []T { return slices.DeleteFunc(xs, match) }

func (s *state) org(id string) (org, bool) {
	return find(s.orgs, func(o org) bool { return o.ID == id })
}

func (s *state) orgName(id string) string { o, _ := s.org(id); return o.Name }

// orgByKey finds an organization by name in any letter case.
func (s *state) orgByKey(name string) (org, bool) {
	return find(s.orgs, func(o org) bool { return strings.EqualFold(o.Name, name) })
}

func (s *state) accountByEmail(email string) (account, bool) {
	return find(s.accounts, func(a account) bool { return a.Email == email })
}

func (s *state) invite(token string) (invite, bool) {
	return find(s.invites, func(i invite) bool { return i.Token == token })
}

// session returns the account a live token acts as.
func (s *state) session(seq int) (account, bool) {
	t, ok := find(s.sessions, func(x session) bool { return x.Seq == seq })
	if !ok {
		return account{}, false
	}
	a, ok := find(s.accounts, func(a account) bool { return a.ID == t.Account })
	return a, ok && a.Gen == t.Gen
}

func (s *state) hasID(id string) bool {
	_, o := s.org(id)
	_, a := find(s.accounts, func(a account) bool { return a.ID == id })
	return o || a
}

// adminEmail is the email of org's longest-standing owner.
func (s *state) adminEmail(org string) string {
	first, _ := find(s.accounts, func(a account) bool { return a.Org == org && a.Rank == 1 })
	return first.Email
}

func (s *state) owners(org string) (n int) {
	for _, a := range s.accounts {
		if a.Org == org && a.Role == Owner {
			n++
		}
	}
	return n
}

func (s *state) setOrg(o org) {
	i := slices.IndexFunc(s.orgs, func(x org) bool { return x.ID == o.ID })
	s.orgs[i] = o
}

func (s *state) setAccount(a account) {
	i := slices.IndexFunc(s.accounts, func(x account) bool { return x.ID == a.ID })
	s.accounts[i] = a
}

// setRole gives account id role; one made owner becomes its
// organization's newest owner.
func (s *state) setRole(id, role string) {
	i := slices.IndexFunc(s.accounts, func(x account) bool { return x.ID == id })
	a := &s.accounts[i]
	switch {
	case role != Owner:
		a.Rank = 0
	case a.Role != Owner || a.Rank == 0:
		for _, b := range s.accounts {
			if b.Org == a.Org {
				a.Rank = max(a.Rank, b.Rank+1)
			}
		}
	}
	a.Role = role
}

// withoutOrg is s without organization id, its accounts and invitations.
func (s *state) withoutOrg(id string) *state {
	next := s.clone()
	next.orgs = remove(next.orgs, func(o org) bool { return o.ID == id })
	next.invites = remove(next.invites, func(i invite) bool { return i.Org == id })
	next.dropAccounts(func(a account) bool { return a.Org == id })
	return next.sorted()
}

func (s *state) dropAccounts(match func(account) bool) {
	s.accounts = remove(s.accounts, match)
}

// bind gives the organization or account named by placeholder id the ID
// an answer gave it. It fails if the answer's ID is another's.
func (s *state) bind(id, real string) bool {
	switch {
	case id == real || real == "":
		return true
	case !strings.HasPrefix(id, "?") || s.hasID(real):
		return false
	}
	for i := range s.orgs {
		if s.orgs[i].ID == id {
			s.orgs[i].ID = real
		}
	}
	for i := range s.accounts {
		if s.accounts[i].ID == id {
			s.accounts[i].ID = real
		}
		if s.accounts[i].Org == id {
			s.accounts[i].Org = real
		}
	}
	for i := range s.invites {
		if s.invites[i].Org == id {
			s.invites[i].Org = real
		}
	}
	for i := range s.keys {
		if s.keys[i].Org == id {
			s.keys[i].Org = real
		}
	}
	return true
}

// sorted puts s in its canonical form: each list sorted, owners ranked
// 1, 2, … in each organization, dead tokens gone.
func (s *state) sorted() *state {
	slices.SortFunc(s.orgs, func(a, b org) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(s.accounts, func(a, b account) int {
		return cmp.Or(cmp.Compare(a.Org, b.Org), cmp.Compare(a.Rank, b.Rank), cmp.Compare(a.ID, b.ID))
	})
	rank, in := 0, ""
	for i := range s.accounts {
		a := &s.accounts[i]
		if a.Org != in {
			rank, in = 0, a.Org
		}
		if a.Role == Owner {
			rank++
			a.Rank = rank
		}
	}
	s.sessions = remove(s.sessions, func(t session) bool {
		a, ok := find(s.accounts, func(a account) bool { return a.ID == t.Account })
		return !ok || a.Gen != t.Gen
	})
	slices.SortFunc(s.sessions, func(a, b session) int { return cmp.Compare(a.Seq, b.Seq) })
	slices.SortFunc(s.invites, func(a, b invite) int { return cmp.Compare(a.Token, b.Token) })
	slices.SortFunc(s.keys, func(a, b keyed) int { return cmp.Compare(a.Key, b.Key) })
	return s
}
