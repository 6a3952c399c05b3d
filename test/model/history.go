package model

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"
)

// API is orgd as one client sees it. Each call returns the answer as the
// model classifies it. A session is what a login gives: a token for one
// account.
type API interface {
	// Create creates an organization; with a key, under that
	// Idempotency-Key.
	Create(ctx context.Context, key, name, email, password string) Output
	Get(ctx context.Context, name string) Output
	Login(ctx context.Context, email, password string) (Output, Session)
	Update(ctx context.Context, as Session, name, email, password string) Output
	Delete(ctx context.Context, as Session, name string) Output
	Invite(ctx context.Context, as Session, email, role string) Output
	Accept(ctx context.Context, token, password string) Output
	SetRole(ctx context.Context, as Session, email, role string) Output
	Remove(ctx context.Context, as Session, email string) Output
	// Deactivate and Activate are the super admin's.
	Deactivate(ctx context.Context, name string) Output
	Activate(ctx context.Context, name string) Output
	// Events reads the event log whole: an organization's stream, or
	// with org empty the whole log's. A request's context names its
	// request id (CallID), which its events record.
	Events(ctx context.Context, org string) ([]Event, error)
}

// Session is a login's access token.
type Session struct{ Token string }

// Plan sizes a history.
type Plan struct {
	Clients int // clients running at once
	Rounds  int // operations each client sends
	// Names, Emails and Passwords are the small pools every value is
	// drawn from, so that operations collide.
	Names, Emails, Passwords []string
	// Twins is the chance that two clients send the same request at once
	// in a round.
	Twins float64
}

// DefaultPlan is four clients over a pool of four names, six emails and
// two passwords: small enough to collide often, large enough for every
// kind of conflict, and for organizations of several members.
var DefaultPlan = Plan{
	Clients: 4, Rounds: 10,
	Names:     []string{"acme", "bravo", "charlie", "delta"},
	Emails:    []string{"a@x.test", "b@x.test", "c@x.test", "d@x.test", "e@x.test", "f@x.test"},
	Passwords: []string{"password-1", "password-2"},
	Twins:     0.3,
}

// History is what one run recorded.
type History struct {
	Seed int64
	Ops  []porcupine.Operation
	// Events are the events the history's requests committed, in the
	// whole log's order, read after it (see events.go).
	Events []Event
}

// recorder stamps operations with a shared logical clock.
type recorder struct {
	mu    sync.Mutex
	clock atomic.Int64
	ops   []porcupine.Operation
}

// call runs do as in and records it; it returns the answer and the
// call's stamp (which names the session a login gives).
func (r *recorder) call(client int, in Input, do func(call int64) Output) (Output, int) {
	call := r.clock.Add(1)
	out := do(call)
	ret := r.clock.Add(1)
	if out.Result == Unknown {
		ret = 1 << 62 // it may take effect at any time after its call
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = append(r.ops, porcupine.Operation{
		ClientId: client, Input: opInput{Input: in, seq: int(call)}, Call: call, Output: out, Return: ret,
	})
	return out, int(call)
}

// run is one history being recorded: the API, the recorder, and the
// tokens logins gave, by the stamp of their call (any client may send a
// request with any of them: the same request twice at once).
type run struct {
	seed     int64
	api      API
	rec      *recorder
	mu       sync.Mutex
	sessions map[int]Session
}

// client is one of a history's clients: its random stream, the session
// it last acquired (the stamp of its login, 0 for none) and the email it
// logged in with, the invitations it was handed, and the credentials of
// the accounts it made (which it logs in with more often than not).
type client struct {
	id      int
	rng     *rand.Rand
	session int
	email   string
	tokens  []held
	known   [][2]string
	invited []string // emails it invited: its role changes and removals aim at them more often than not
	next    *Input   // sent next, before any drawn
	keys    int      // Idempotency-Keys it drew
	keyBase string   // its keys' prefix: unique to the history and client
	handOn  bool     // its newest invitation is accepted next
}

// held is an invitation token and the email it invites.
type held struct{ token, email string }

// Hooks let a test act on the system while a history runs.
type Hooks struct {
	// During, if set, runs beside each round's clients (to kill the
	// process, say); done is closed once they have all been answered, and
	// the next round waits for During to return.
	During func(ctx context.Context, round int, done <-chan struct{})
	// Settle, if set, runs after the last round: the system finishes what
	// failures left (recovery).
	Settle func(ctx context.Context) error
}

// Run runs one history of plan against api, drawn from seed: each round,
// every client sends one operation, all at once (a pair of them the same
// request with probability plan.Twins). After the last round and
// hooks.Settle, every name is read and every email and password tried, so
// that what operations with unknown answers did is pinned down.
func Run(ctx context.Context, api API, plan Plan, seed int64, hooks Hooks) (History, error) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6f726764))
	clients := make([]*client, plan.Clients)
	for i := range clients {
		clients[i] = &client{id: i, rng: rand.New(rand.NewPCG(rng.Uint64(), uint64(i))), keyBase: fmt.Sprintf("h%d.c%d", seed, i)}
	}
	r := &run{seed: seed, api: api, rec: &recorder{}, sessions: map[int]Session{}}
	for round := range plan.Rounds {
		ins := make([]Input, len(clients))
		for i, c := range clients {
			ins[i] = c.draw(plan)
			if i > 0 && rng.Float64() < plan.Twins {
				ins[i] = ins[i-1] // the same request, twice at once
			}
		}
		r.round(ctx, clients, ins, round, hooks)
	}
	if hooks.Settle != nil {
		if err := hooks.Settle(ctx); err != nil {
			return History{}, fmt.Errorf("settle: %w", err)
		}
	}
	r.final(ctx, plan)
	events, err := readEvents(ctx, api, seed)
	if err != nil {
		return History{}, err
	}
	return History{Seed: seed, Ops: r.rec.ops, Events: events}, nil
}

// round sends each client's input at once, with hooks.During beside them.
func (r *run) round(ctx context.Context, clients []*client, ins []Input, round int, hooks Hooks) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r.send(ctx, c, ins[i])
		}()
	}
	done := make(chan struct{})
	var during sync.WaitGroup
	if hooks.During != nil {
		during.Add(1)
		go func() { defer during.Done(); hooks.During(ctx, round, done) }()
	}
	close(start)
	wg.Wait()
	close(done)
	during.Wait()
}

// final reads every name and tries every email with every password.
func (r *run) final(ctx context.Context, plan Plan) {
	for _, n := range plan.Names {
		r.rec.call(-1, Input{Kind: OpGet, Name: n}, func(int64) Output { return r.api.Get(ctx, n) })
	}
	for _, e := range plan.Emails {
		for _, p := range plan.Passwords {
			in := Input{Kind: OpLogin, Email: e, Password: p}
			r.rec.call(-1, in, func(int64) Output { out, _ := r.api.Login(ctx, e, p); return out })
		}
	}
}

// draw picks the client's next operation.
func (c *client) draw(p Plan) Input {
	if c.next != nil {
		in := *c.next
		c.next = nil
		return in
	}
	pick := func(pool []string) string { return pool[c.rng.IntN(len(pool))] }
	name := func() string {
		n := pick(p.Names)
		if c.rng.IntN(4) == 0 {
			n = strings.ToUpper(n[:1]) + n[1:] // the same name in another letter case
		}
		return n
	}
	create := Input{Kind: OpCreate, Name: name(), Email: pick(p.Emails), Password: pick(p.Passwords)}
	if c.rng.IntN(2) == 0 {
		// Half the creates carry a key of their own (the same key is
		// always the same request).
		c.keys++
		create.Key = fmt.Sprintf("%s.%d", c.keyBase, c.keys)
	}
	login := Input{Kind: OpLogin, Email: pick(p.Emails), Password: pick(p.Passwords)}
	if len(c.known) > 0 && c.rng.IntN(3) > 0 {
		k := c.known[c.rng.IntN(len(c.known))]
		login.Email, login.Password = k[0], k[1]
	}
	accept, handOn := login, c.handOn
	c.handOn = false
	if len(c.tokens) > 0 {
		// A token is sometimes sent again once used (it must be dead).
		i := c.rng.IntN(len(c.tokens))
		if handOn {
			i = len(c.tokens) - 1
		}
		accept = Input{Kind: OpAccept, Token: c.tokens[i].token, Email: c.tokens[i].email, Password: pick(p.Passwords)}
		if c.rng.IntN(2) == 0 {
			c.tokens = slices.Delete(c.tokens, i, i+1)
		}
	}
	if c.rng.IntN(25) == 0 {
		// The super admin steps in: a deactivation, or an activation.
		return Input{Kind: [...]OpKind{OpDeactivate, OpActivate}[c.rng.IntN(2)], Name: name()}
	}
	if c.session == 0 {
		return [...]Input{create, login, accept}[c.rng.IntN(3)]
	}
	target := pick(p.Emails)
	if len(c.invited) > 0 && c.rng.IntN(3) > 0 {
		target = pick(c.invited)
		if c.rng.IntN(4) == 0 { // whoever it invited may have joined by now
			if c.rng.IntN(2) == 0 {
				return Input{Kind: OpRemove, Session: c.session, Email: target}
			}
			return Input{Kind: OpSetRole, Session: c.session, Email: target, Role: pick(Roles)}
		}
	}
	if accept.Kind == OpAccept && (handOn || c.rng.IntN(2) == 0) {
		return accept // most invitations are handed on soon
	}
	as := c.session
	switch r := c.rng.IntN(20); {
	case r < 2:
		return create
	case r < 4:
		return Input{Kind: OpGet, Name: name()}
	case r < 5:
		return login
	case r < 8:
		return Input{Kind: OpUpdate, Session: as, Name: name()}
	case r < 9:
		return Input{Kind: OpUpdate, Session: as, Email: pick(p.Emails)}
	case r < 10:
		return Input{Kind: OpUpdate, Session: as, Password: pick(p.Passwords), Email: pick(p.Emails)}
	case r < 11:
		return Input{Kind: OpDelete, Session: as, Name: name()}
	case r < 14:
		return Input{Kind: OpInvite, Session: as, Email: pick(p.Emails), Role: pick(Roles)}
	case r < 16:
		return accept
	case r < 18:
		return Input{Kind: OpSetRole, Session: as, Email: target, Role: pick(Roles)}
	case r < 19:
		return Input{Kind: OpRemove, Session: as, Email: target}
	default:
		return Input{Kind: OpRemove, Session: as, Email: c.email} // leave
	}
}

// send sends in for c and records it. A login that succeeds gives c its
// session, a token refused as dead takes it away, and an invitation
// gives c its token.
func (r *run) send(ctx context.Context, c *client, in Input) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var s Session
	r.mu.Lock()
	as := r.sessions[in.Session]
	r.mu.Unlock()
	out, seq := r.rec.call(c.id, in, func(call int64) Output {
		ctx := withCall(ctx, callID(r.seed, call))
		var out Output
		switch in.Kind {
		case OpCreate:
			out = r.api.Create(ctx, in.Key, in.Name, in.Email, in.Password)
		case OpLogin:
			out, s = r.api.Login(ctx, in.Email, in.Password)
		case OpGet:
			out = r.api.Get(ctx, in.Name)
		case OpUpdate:
			out = r.api.Update(ctx, as, in.Name, in.Email, in.Password)
		case OpDelete:
			out = r.api.Delete(ctx, as, in.Name)
		case OpInvite:
			out = r.api.Invite(ctx, as, in.Email, in.Role)
		case OpAccept:
			out = r.api.Accept(ctx, in.Token, in.Password)
		case OpSetRole:
			out = r.api.SetRole(ctx, as, in.Email, in.Role)
		case OpRemove:
			out = r.api.Remove(ctx, as, in.Email)
		case OpDeactivate:
			out = r.api.Deactivate(ctx, in.Name)
		case OpActivate:
			out = r.api.Activate(ctx, in.Name)
		}
		return out
	})
	switch {
	case in.Kind == OpLogin && out.Result == OK:
		r.mu.Lock()
		r.sessions[seq] = s
		r.mu.Unlock()
		c.session, c.email = seq, in.Email
	case out.Result == Unauthorized && in.Session == c.session:
		c.session = 0
	case in.Kind == OpInvite && out.Result == OK:
		c.tokens = append(c.tokens, held{out.Token, in.Email})
		c.invited = append(c.invited, in.Email)
		c.handOn = c.rng.IntN(3) > 0
	case in.Kind == OpCreate && in.Key != "" && c.rng.IntN(3) == 0:
		// A keyed create is sometimes sent again (a retry after a
		// timeout): its answer, replayed.
		c.next = &in
		if out.Result == OK {
			c.known = append(c.known, [2]string{in.Email, in.Password})
		}
	case in.Kind == OpCreate && out.Result == OK:
		c.known = append(c.known, [2]string{in.Email, in.Password})
	case in.Kind == OpAccept && out.Result == OK:
		// The new member logs in next, and acts as itself.
		c.known = append(c.known, [2]string{in.Email, in.Password})
		c.next = &Input{Kind: OpLogin, Email: in.Email, Password: in.Password}
	}
}

// Tally adds h's answers to counts, by operation and result ("accept
// ok"), so that a test can show what its histories exercised.
func (h History) Tally(counts map[string]int) {
	for _, op := range h.Ops {
		in := op.Input.(opInput)
		kind := string(in.Kind)
		if in.Key != "" {
			kind += "(keyed)"
		}
		counts[kind+" "+string(op.Output.(Output).Result)]++
	}
}

// Check checks h against the model within timeout, and describes the
// first history that fails.
func Check(h History, timeout time.Duration) error {
	ops, err := attach(h)
	if err != nil {
		return err
	}
	h.Ops = ops
	res, info := porcupine.CheckOperationsVerbose(Model, h.Ops, timeout)
	switch res {
	case porcupine.Ok:
		return nil
	case porcupine.Unknown:
		return fmt.Errorf("seed %d: the checker ran out of time (%s) on %d operations", h.Seed, timeout, len(h.Ops))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d: the history is not linearizable; its operations, in call order:\n", h.Seed)
	ops = append([]porcupine.Operation(nil), h.Ops...)
	sortByCall(ops)
	for _, op := range ops {
		ret := fmt.Sprint(op.Return)
		if op.Return == 1<<62 {
			ret = "∞"
		}
		fmt.Fprintf(&b, "  [%d,%s] client %d: %s\n", op.Call, ret, op.ClientId, Model.DescribeOperation(op.Input, op.Output))
	}
	if longest := info.PartialLinearizationsOperations(); len(longest) > 0 && len(longest[0]) > 0 {
		fmt.Fprintf(&b, "the longest order that explains a prefix has %d operations:\n", len(longest[0][0]))
		for _, op := range longest[0][0] {
			fmt.Fprintf(&b, "  [%d] client %d: %s\n", op.Call, op.ClientId, Model.DescribeOperation(op.Input, op.Output))
		}
	}
	return fmt.Errorf("%s", b.String())
}

func sortByCall(ops []porcupine.Operation) {
	for i := 1; i < len(ops); i++ {
		for j := i; j > 0 && ops[j].Call < ops[j-1].Call; j-- {
			ops[j], ops[j-1] = ops[j-1], ops[j]
		}
	}
}
