package model

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"orgd/core/domain"
	"orgd/core/usecase"
	"orgd/ports"
)

// ServiceAPI drives the use cases in process, as the HTTP API would:
// each request with a token is authenticated first.
type ServiceAPI struct{ S *usecase.Service }

var _ API = ServiceAPI{}

// classify turns a use case's error into the answer a client would see.
// An error the model does not know (a 422, a 500) is its own result,
// which no step accepts.
func classify(err error) Result {
	switch {
	case err == nil:
		return OK
	case errors.Is(err, domain.ErrOrgExists):
		return NameTaken
	case errors.Is(err, domain.ErrEmailExists):
		return EmailTaken
	case errors.Is(err, domain.ErrLastOwner):
		return LastOwner
	case errors.Is(err, domain.ErrInvalidCredentials), errors.Is(err, domain.ErrInvitationInvalid):
		return Invalid
	case errors.Is(err, domain.ErrInvalidToken):
		return Unauthorized
	case errors.Is(err, ErrInjected), errors.Is(err, context.DeadlineExceeded):
		return Unknown
	}
	switch domain.ErrorCode(err) {
	case domain.CodeNotFound:
		return NotFound
	case domain.CodeForbidden:
		return Forbidden
	case domain.CodeRateLimited:
		return Limited
	case domain.CodeBusy, domain.CodeUnavailable, domain.CodeStorageFull:
		return Unknown
	}
	return Result("unexpected: " + err.Error())
}

func orgOutput(o domain.Organization, err error) Output {
	out := Output{Result: classify(err)}
	if err == nil {
		out.Name, out.Email = o.Name.String(), string(o.AdminEmail())
	}
	return out
}

// as authenticates a session's token, as the HTTP API does first.
func (a ServiceAPI) as(ctx context.Context, s Session, do func(domain.Principal) Output) Output {
	p, err := a.S.Authenticate(ctx, s.Token)
	if err != nil {
		return Output{Result: classify(err)}
	}
	return do(p)
}

// Create implements API. With a key it runs as the HTTP API runs a keyed
// request: its answer kept unless worth retrying, and replayed.
func (a ServiceAPI) Create(ctx context.Context, key, name, email, password string) Output {
	ctx = usecase.WithRequestID(ctx, CallID(ctx))
	create := func(ids *usecase.IdempotentIDs) Output {
		org, err := a.S.CreateOrg(ctx, usecase.CreateOrgInput{Name: name, Email: email, Password: password, IDs: ids})
		out := orgOutput(org, err)
		if err == nil {
			out.OrgID, out.AccountID = string(org.ID), string(org.Owners[0].AdminID)
		}
		return out
	}
	if key == "" {
		return create(nil)
	}
	call := usecase.IdempotentCall{Scope: "create", Key: key, Fingerprint: name + "\x00" + email + "\x00" + password}
	ans, _, err := a.S.Idempotently(ctx, call, func(ids usecase.IdempotentIDs) (usecase.Answer, bool, error) {
		out := create(&ids)
		if out.Result == Unknown || out.Result == Limited {
			return usecase.Answer{}, false, errors.New("not kept")
		}
		b, err := json.Marshal(out)
		return usecase.Answer{Status: 201, Body: b}, err == nil, err
	})
	if errors.Is(err, usecase.ErrIdempotencyBusy) {
		return Output{Result: Busy}
	}
	if err != nil {
		return Output{Result: Unknown}
	}
	var out Output
	if err := json.Unmarshal(ans.Body, &out); err != nil {
		return Output{Result: Result("unexpected: " + err.Error())}
	}
	return out
}

// Get implements API.
func (a ServiceAPI) Get(ctx context.Context, name string) Output {
	ctx = usecase.WithRequestID(ctx, CallID(ctx))
	return orgOutput(a.S.GetOrg(ctx, name))
}

// Login implements API.
func (a ServiceAPI) Login(ctx context.Context, email, password string) (Output, Session) {
	ctx = usecase.WithRequestID(ctx, CallID(ctx))
	res, err := a.S.Login(ctx, usecase.LoginInput{Email: email, Password: password, Client: "model"})
	out := Output{Result: classify(err)}
	if err != nil {
		return out, Session{}
	}
	out.OrgID, out.AccountID, out.Name, out.Role = string(res.Org.ID), string(res.Admin.ID), res.Org.Name.String(), string(res.Admin.OrgRole)
	return out, Session{Token: res.Token}
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Update implements API.
func (a ServiceAPI) Update(ctx context.Context, as Session, name, email, password string) Output {
	ctx = usecase.WithRequestID(ctx, CallID(ctx))
	return a.as(ctx, as, func(p domain.Principal) Output {
		return orgOutput(a.S.UpdateOrg(ctx, p, usecase.UpdateOrgInput{Name: opt(name), Email: opt(email), Password: opt(password)}))
	})
}

// Delete implements API.
func (a ServiceAPI) Delete(ctx context.Context, as Session, name string) Output {
	ctx = usecase.WithRequestID(ctx, CallID(ctx))
	return a.as(ctx, as, func(p domain.Principal) Output {
		_, err := a.S.DeleteOrg(ctx, p, name, nil)
		return Output{Result: classify(err)}
	})
}

// Invite implements API.
func (a ServiceAPI) Invite(ctx context.Context, as Session, email, role string) Output {
	ctx = usecase.WithRequestID(ctx, CallID(ctx))
	return a.as(ctx, as, func(p domain.Principal) Output {
		inv, err := a.S.Invite(ctx, p, email, role)
		return Output{Result: classify(err), Token: inv.Token}
	})
}

// Accept implements API.
func (a ServiceAPI) Accept(ctx context.Context, token, password string) Output {
	ctx = usecase.WithRequestID(ctx, CallID(ctx))
	m, org, err := a.S.Accept(ctx, usecase.AcceptInput{Token: token, Password: password, Client: "model"})
	out := Output{Result: classify(err)}
	if err == nil {
		out.AccountID, out.Name, out.Email, out.Role = string(m.AdminID), org.Name.String(), string(m.Email), string(m.Role)
	}
	return out
}

// SetRole implements API.
func (a ServiceAPI) SetRole(ctx context.Context, as Session, email, role string) Output {
	ctx = usecase.WithRequestID(ctx, CallID(ctx))
	return a.as(ctx, as, func(p domain.Principal) Output {
		m, err := a.S.SetRole(ctx, p, email, role)
		out := Output{Result: classify(err)}
		if err == nil {
			out.Role = string(m.Role)
		}
		return out
	})
}

// Remove implements API.
func (a ServiceAPI) Remove(ctx context.Context, as Session, email string) Output {
	ctx = usecase.WithRequestID(ctx, CallID(ctx))
	return a.as(ctx, as, func(p domain.Principal) Output {
		_, err := a.S.RemoveMember(ctx, p, email)
		return Output{Result: classify(err)}
	})
}

// Deactivate implements API, as the super admin.
func (a ServiceAPI) Deactivate(ctx context.Context, name string) Output {
	ctx = usecase.WithRequestID(ctx, CallID(ctx))
	return orgOutput(a.S.Deactivate(ctx, domain.Principal{Super: true}, name, "model"))
}

// Activate implements API, as the super admin.
func (a ServiceAPI) Activate(ctx context.Context, name string) Output {
	ctx = usecase.WithRequestID(ctx, CallID(ctx))
	return orgOutput(a.S.Activate(ctx, domain.Principal{Super: true}, name, "model"))
}

// Events implements API: it reads as the super admin does.
func (a ServiceAPI) Events(ctx context.Context, org string) ([]Event, error) {
	root := domain.Principal{Super: true}
	var out []Event
	q := usecase.EventQuery{Limit: usecase.MaxEventLimit, OrgID: domain.ID(org)}
	for {
		page, err := a.S.Events(ctx, root, q)
		if err != nil {
			return nil, err
		}
		for _, e := range page.Items {
			var data map[string]any
			if err := json.Unmarshal(e.Data, &data); err != nil {
				return nil, err
			}
			out = append(out, Event{
				ID: e.ID, Type: e.Type, OrgID: string(e.OrgID), RequestID: e.RequestID, ActorID: string(e.Actor.ID),
				Data: data, Raw: fmt.Sprintf("%+v %s", e, e.Data),
			})
		}
		if len(page.Items) == 0 {
			return out, nil
		}
		q.After = page.Next
	}
}

// ErrInjected is what a RandomFailpoints returns when it fires: the
// operation stops there, as if its process had died.
var ErrInjected = errors.New("injected failure")

// RandomFailpoints fires at each failpoint with a fixed chance, drawn from
// its own seeded stream, until stopped.
type RandomFailpoints struct {
	mu      sync.Mutex
	rng     *rand.Rand
	p       float64
	stopped atomic.Bool
	fired   atomic.Int64
}

var _ ports.Failpoints = (*RandomFailpoints)(nil)

// NewRandomFailpoints fires with chance p at each point.
func NewRandomFailpoints(seed int64, p float64) *RandomFailpoints {
	return &RandomFailpoints{rng: rand.New(rand.NewPCG(uint64(seed), 0x6661696c)), p: p}
}

// Check implements ports.Failpoints.
func (f *RandomFailpoints) Check(context.Context, string) error {
	if f.stopped.Load() {
		return nil
	}
	f.mu.Lock()
	fire := f.rng.Float64() < f.p
	f.mu.Unlock()
	if fire {
		f.fired.Add(1)
		return ErrInjected
	}
	return nil
}

// Stop makes it never fire again.
func (f *RandomFailpoints) Stop() { f.stopped.Store(true) }

// Fired returns how many times it fired.
func (f *RandomFailpoints) Fired() int64 { return f.fired.Load() }
