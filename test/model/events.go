package model

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/anishathalye/porcupine"
)

// The model knows the event log: after a history, the whole stream is
// read, and each event goes to the operation whose request it names. The
// model then asks of every step that the operation's events be exactly the
// changes it made, in the order they commit, at the next places of its
// organization's stream: one event per change, none for a refusal or for
// a request that changed nothing, and for an answer lost (a kill, a busy
// store) events if, and only if, the operation took effect, whoever
// finished it.

// Event is one event of the log, as the model reads it.
type Event struct {
	ID, Type, OrgID, RequestID, ActorID string
	OrgSeq, Seq                         int64
	Data                                map[string]any
	// Raw is the event as read, to look for secrets in.
	Raw string
}

// ctxCall carries the request id a history gives one call.
type ctxCall struct{}

// withCall returns ctx naming the request id of one call.
func withCall(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxCall{}, id)
}

// CallID is the request id ctx names (an API sends it with the request).
func CallID(ctx context.Context) string {
	id, _ := ctx.Value(ctxCall{}).(string)
	return id
}

// callID is the request id of call number call of the history of seed.
func callID(seed int64, call int64) string { return fmt.Sprintf("h%d.%d", seed, call) }

// readEvents reads, after a history of seed, the events its requests
// committed: the whole log in order (places counted among these events),
// each organization's stream, which must hold exactly that
// organization's events in the same order (places counted from its
// first).
func readEvents(ctx context.Context, api API, seed int64) ([]Event, error) {
	all, err := api.Events(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("read the event log: %w", err)
	}
	prefix := fmt.Sprintf("h%d.", seed)
	var mine []Event
	byOrg := map[string][]Event{}
	for _, e := range all {
		if strings.HasPrefix(e.RequestID, prefix) {
			e.Seq = int64(len(mine))
			mine = append(mine, e)
			byOrg[e.OrgID] = append(byOrg[e.OrgID], e)
		}
	}
	for org, want := range byOrg {
		stream, err := api.Events(ctx, org)
		if err != nil {
			return nil, fmt.Errorf("read organization %s's events: %w", org, err)
		}
		if len(stream) != len(want) {
			return nil, fmt.Errorf("seed %d: organization %s's stream holds %d events, the whole log %d of it", seed, org, len(stream), len(want))
		}
		for i, e := range stream {
			if e.ID != want[i].ID {
				return nil, fmt.Errorf("seed %d: organization %s's stream has %s at %d, the whole log %s", seed, org, e.ID, i, want[i].ID)
			}
		}
	}
	seq := map[string]int64{}
	for i := range mine {
		mine[i].OrgSeq = seq[mine[i].OrgID]
		seq[mine[i].OrgID]++
	}
	return mine, nil
}

// attach gives each operation of h the events its request committed, in
// stream order, and the IDs those events name where its answer gave none
// (a create or an acceptance whose answer was lost). It fails if an event
// names no operation of h, if the log holds an event twice, or if an
// event holds a secret of the history.
func attach(h History) ([]porcupine.Operation, error) {
	byCall := map[string][]Event{}
	seen := map[string]bool{}
	var secrets []string
	for _, op := range h.Ops {
		in, out := op.Input.(opInput), op.Output.(Output)
		for _, s := range []string{in.Password, out.Token} {
			if s != "" {
				secrets = append(secrets, s)
			}
		}
	}
	for _, e := range h.Events {
		if seen[e.ID] {
			return nil, fmt.Errorf("seed %d: event %s is in the log twice", h.Seed, e.ID)
		}
		seen[e.ID] = true
		for _, s := range secrets {
			if strings.Contains(e.Raw, s) {
				return nil, fmt.Errorf("seed %d: event %s holds a secret of the history: %s", h.Seed, e.ID, e.Raw)
			}
		}
		byCall[e.RequestID] = append(byCall[e.RequestID], e)
	}
	ops := slices.Clone(h.Ops)
	for i, op := range ops {
		in, out := op.Input.(opInput), op.Output.(Output)
		id := callID(h.Seed, int64(in.seq))
		out.Events = byCall[id]
		delete(byCall, id)
		for _, e := range out.Events {
			switch {
			case e.Type == "organization.created" && out.OrgID == "":
				out.OrgID, out.AccountID = e.OrgID, e.ActorID
			case e.Type == "member.joined" && out.AccountID == "":
				out.AccountID, _ = e.Data["admin_id"].(string)
			}
		}
		in.events = true
		ops[i].Input, ops[i].Output = in, out
	}
	for id, evs := range byCall {
		return nil, fmt.Errorf("seed %d: %d events (%s) name request %s, which no call made", h.Seed, len(evs), evs[0].Type, id)
	}
	return ops, nil
}

// changes are the event types of what next changed of organization id
// against st, in the order one operation commits them.
func changes(st, next *state, id string) []string {
	before, was := st.org(id)
	after, is := next.org(id)
	switch {
	case !was && is:
		return []string{"organization.created"}
	case was && !is:
		return []string{"organization.deleted"}
	case !was:
		return nil
	}
	var out []string
	if before.Name != after.Name {
		out = append(out, "organization.renamed")
	}
	switch {
	case !before.Deactivated && after.Deactivated:
		out = append(out, "organization.deactivated")
	case before.Deactivated && !after.Deactivated:
		out = append(out, "organization.activated")
	}
	accounts := func(s *state) map[string]account {
		m := map[string]account{}
		for _, a := range s.accounts {
			if a.Org == id {
				m[a.ID] = a
			}
		}
		return m
	}
	old, now := accounts(st), accounts(next)
	var emails, passwords, roles, joined, removed int
	for aid, a := range old {
		b, ok := now[aid]
		switch {
		case !ok:
			removed++
		case a.Email != b.Email:
			emails++
			if a.Gen != b.Gen {
				passwords++
			}
		case a.Gen != b.Gen:
			passwords++
		case a.Role != b.Role:
			roles++
		}
	}
	for aid := range now {
		if _, ok := old[aid]; !ok {
			joined++
		}
	}
	add := func(n int, typ string) {
		for range n {
			out = append(out, typ)
		}
	}
	add(emails, "account.email_changed")
	add(passwords, "account.password_changed")
	add(joined, "member.joined")
	add(roles, "member.role_changed")
	add(removed, "member.removed")
	invites := func(s *state) int {
		n := 0
		for _, inv := range s.invites {
			if inv.Org == id {
				n++
			}
		}
		return n
	}
	if invites(next) > invites(st) && joined == 0 {
		out = append(out, "invitation.created")
	}
	return out
}

// stepEvents checks the events of an operation the model has just stepped
// from st to next: they must be exactly its changes, at the next places of
// its organization's stream. An operation whose answer was lost and that
// committed no event never took effect.
func stepEvents(st, next *state, in opInput, out Output) (bool, *state) {
	if !in.events {
		return true, next
	}
	got := make([]string, len(out.Events))
	for i, e := range out.Events {
		got[i] = e.Type
	}
	if out.Result == Unknown && len(got) == 0 {
		return true, st
	}
	orgs := map[string]bool{}
	for _, s := range []*state{st, next} {
		for _, o := range s.orgs {
			orgs[o.ID] = true
		}
	}
	var touched string
	var want []string
	for id := range orgs {
		if c := changes(st, next, id); len(c) > 0 {
			if touched != "" {
				return false, st // one operation changes one organization
			}
			touched, want = id, c
		}
	}
	if len(want) == 0 && in.Kind == OpInvite && out.Result == Unknown && slices.Equal(got, []string{"invitation.created"}) {
		// An invitation made, whose token nobody learnt: it changes
		// nothing the model follows, but takes its place in the stream.
		caller, _ := st.session(in.Session)
		touched, want = caller.Org, got
	}
	if !slices.Equal(want, got) {
		return false, st
	}
	if len(got) == 0 {
		return true, next
	}
	orgID := out.Events[0].OrgID
	res := next.clone()
	if !res.bind(touched, orgID) {
		return false, st
	}
	placed := int64(0)
	if o, ok := st.org(touched); ok {
		placed = o.Events
	}
	for i, e := range out.Events {
		if e.OrgID != orgID || e.OrgSeq != placed+int64(i) {
			return false, st
		}
	}
	if i := slices.IndexFunc(res.orgs, func(o org) bool { return o.ID == orgID }); i >= 0 {
		res.orgs[i].Events = placed + int64(len(got))
	}
	return true, res.sorted()
}

// describeEvents is how a description names an operation's events.
func describeEvents(events []Event) string {
	if len(events) == 0 {
		return ""
	}
	parts := make([]string, len(events))
	for i, e := range events {
		parts[i] = fmt.Sprintf("%s@%d", e.Type, e.OrgSeq)
	}
	return " events[" + strings.Join(parts, " ") + "]"
}

// eventOf reads one event of the API's JSON form (the HTTP API's, and the
// one ServiceAPI builds).
func eventOf(raw []byte) (Event, error) {
	var e struct {
		ID        string         `json:"id"`
		Type      string         `json:"type"`
		OrgID     string         `json:"organization_id"`
		RequestID string         `json:"request_id"`
		Data      map[string]any `json:"data"`
		Actor     struct {
			ID string `json:"id"`
		} `json:"actor"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		return Event{}, err
	}
	return Event{ID: e.ID, Type: e.Type, OrgID: e.OrgID, RequestID: e.RequestID, ActorID: e.Actor.ID, Data: e.Data, Raw: string(raw)}, nil
}

// EventTally counts h's events, and the operations whose answer was lost
// (a kill, a busy store) that committed events all the same: what the
// committing process or recovery finished after the answer went.
func (h History) EventTally() (events, finishedUnanswered int) {
	ops, err := attach(h)
	if err != nil {
		return len(h.Events), 0
	}
	for _, op := range ops {
		if out := op.Output.(Output); out.Result == Unknown && len(out.Events) > 0 {
			finishedUnanswered++
		}
	}
	return len(h.Events), finishedUnanswered
}
