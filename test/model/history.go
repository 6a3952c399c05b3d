package model

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"
)

// API is orgd as one client sees it. Each call returns the answer as the
// model classifies it. A session is what a client acts as after a create
// or a login: the organization's admin.
type API interface {
	Create(ctx context.Context, name, email, password string) (Output, Session)
	Get(ctx context.Context, name string) Output
	Login(ctx context.Context, email, password string) (Output, Session)
	Update(ctx context.Context, as Session, name, email, password string) Output
	Delete(ctx context.Context, as Session, name string) Output
}

// Session is an admin acting on its organization (OrgID).
type Session struct {
	OrgID string
	// Auth is what the API needs to act as the admin: a token, or a
	// principal.
	Auth any
}

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
	// NoPasswordChanges leaves password changes out (over HTTP they
	// revoke the sessions of other clients, which the model does not
	// follow).
	NoPasswordChanges bool
}

// DefaultPlan is four clients over a pool of four names, three emails and
// two passwords: small enough to collide often, large enough for every
// kind of conflict.
var DefaultPlan = Plan{
	Clients: 4, Rounds: 6,
	Names:     []string{"acme", "bravo", "charlie", "delta"},
	Emails:    []string{"a@x.test", "b@x.test", "c@x.test"},
	Passwords: []string{"password-1", "password-2"},
	Twins:     0.3,
}

// History is what one run recorded.
type History struct {
	Seed int64
	Ops  []porcupine.Operation
}

// recorder stamps operations with a shared logical clock.
type recorder struct {
	mu    sync.Mutex
	clock atomic.Int64
	ops   []porcupine.Operation
}

func (r *recorder) call(client int, in Input, do func() Output) Output {
	call := r.clock.Add(1)
	out := do()
	ret := r.clock.Add(1)
	if out.Result == Unknown {
		ret = 1 << 62 // it may take effect at any time after its call
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = append(r.ops, porcupine.Operation{
		ClientId: client, Input: opInput{Input: in, seq: int(call)}, Call: call, Output: out, Return: ret,
	})
	return out
}

// client is one of a history's clients: its random stream and the
// session it last acquired.
type client struct {
	id      int
	rng     *rand.Rand
	session *Session
}

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
		clients[i] = &client{id: i, rng: rand.New(rand.NewPCG(rng.Uint64(), uint64(i)))}
	}
	rec := &recorder{}
	for round := range plan.Rounds {
		ins := make([]Input, len(clients))
		for i, c := range clients {
			ins[i] = c.draw(plan)
			if i > 0 && rng.Float64() < plan.Twins && sameSession(clients[i-1], c) {
				ins[i] = ins[i-1] // the same request, twice at once
			}
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				c.send(ctx, api, rec, ins[i])
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
	if hooks.Settle != nil {
		if err := hooks.Settle(ctx); err != nil {
			return History{}, fmt.Errorf("settle: %w", err)
		}
	}
	final(ctx, api, rec, plan)
	return History{Seed: seed, Ops: rec.ops}, nil
}

// sameSession reports whether two clients act as the same admin (or as
// none), so that one's request can be the other's twin.
func sameSession(a, b *client) bool {
	if a.session == nil || b.session == nil {
		return a.session == nil && b.session == nil
	}
	return a.session.OrgID == b.session.OrgID
}

// final reads every name and tries every email with every password.
func final(ctx context.Context, api API, rec *recorder, plan Plan) {
	for _, n := range plan.Names {
		in := Input{Kind: OpGet, Name: n}
		rec.call(-1, in, func() Output { return api.Get(ctx, n) })
	}
	for _, e := range plan.Emails {
		for _, p := range plan.Passwords {
			in := Input{Kind: OpLogin, Email: e, Password: p}
			rec.call(-1, in, func() Output { out, _ := api.Login(ctx, e, p); return out })
		}
	}
}

// draw picks the client's next operation.
func (c *client) draw(p Plan) Input {
	pick := func(pool []string) string { return pool[c.rng.IntN(len(pool))] }
	name := func() string {
		n := pick(p.Names)
		if c.rng.IntN(4) == 0 {
			n = strings.ToUpper(n[:1]) + n[1:] // the same name in another letter case
		}
		return n
	}
	if c.session == nil {
		if c.rng.IntN(2) == 0 {
			return Input{Kind: OpCreate, Name: name(), Email: pick(p.Emails), Password: pick(p.Passwords)}
		}
		return Input{Kind: OpLogin, Email: pick(p.Emails), Password: pick(p.Passwords)}
	}
	switch r := c.rng.IntN(20); {
	case r < 3:
		return Input{Kind: OpCreate, Name: name(), Email: pick(p.Emails), Password: pick(p.Passwords)}
	case r < 6:
		return Input{Kind: OpGet, Name: name()}
	case r < 8:
		return Input{Kind: OpLogin, Email: pick(p.Emails), Password: pick(p.Passwords)}
	case r < 14:
		return Input{Kind: OpUpdate, As: c.session.OrgID, Name: name()}
	case r < 16:
		return Input{Kind: OpUpdate, As: c.session.OrgID, Email: pick(p.Emails)}
	case r < 17 && !p.NoPasswordChanges:
		return Input{Kind: OpUpdate, As: c.session.OrgID, Password: pick(p.Passwords), Email: pick(p.Emails)}
	default:
		return Input{Kind: OpDelete, As: c.session.OrgID, Name: name()}
	}
}

// send sends in and records it; a create or a login that succeeds gives
// the client its session.
func (c *client) send(ctx context.Context, api API, rec *recorder, in Input) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	rec.call(c.id, in, func() Output {
		var out Output
		var s Session
		switch in.Kind {
		case OpCreate:
			out, s = api.Create(ctx, in.Name, in.Email, in.Password)
		case OpLogin:
			out, s = api.Login(ctx, in.Email, in.Password)
		case OpGet:
			out = api.Get(ctx, in.Name)
		case OpUpdate:
			out = api.Update(ctx, *c.session, in.Name, in.Email, in.Password)
		case OpDelete:
			out = api.Delete(ctx, *c.session, in.Name)
		}
		if out.Result == OK && s.OrgID != "" {
			c.session = &s
		}
		return out
	})
}

// Check checks h against the model within timeout, and describes the
// first history that fails.
func Check(h History, timeout time.Duration) error {
	res, info := porcupine.CheckOperationsVerbose(Model, h.Ops, timeout)
	switch res {
	case porcupine.Ok:
		return nil
	case porcupine.Unknown:
		return fmt.Errorf("seed %d: the checker ran out of time (%s) on %d operations", h.Seed, timeout, len(h.Ops))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d: the history is not linearizable; its operations, in call order:\n", h.Seed)
	ops := append([]porcupine.Operation(nil), h.Ops...)
	sortByCall(ops)
	for _, op := range ops {
		ret := fmt.Sprint(op.Return)
		if op.Return == 1<<62 {
			ret = "∞"
		}
		fmt.Fprintf(&b, "  [%d,%s] client %d: %s\n", op.Call, ret, op.ClientId, Model.DescribeOperation(op.Input, op.Output))
	}
	if longest := info.PartialLinearizationsOperations(); len(longest) > 0 && len(longest[0]) > 0 {
		fmt.Fprintf(&b, "the longest order that explains a prefix has %d operations\n", len(longest[0][0]))
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
