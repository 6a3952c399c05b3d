package model

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"orgd/core/domain"
	"orgd/core/usecase"
	"orgd/ports"
)

// ServiceAPI drives the use cases in process, as the HTTP API would.
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
	case errors.Is(err, domain.ErrOrgNotFound):
		return NotFound
	case errors.Is(err, domain.ErrNotOwner):
		return Forbidden
	case errors.Is(err, domain.ErrInvalidCredentials):
		return Invalid
	case errors.Is(err, ErrInjected), errors.Is(err, context.DeadlineExceeded):
		return Unknown
	}
	switch domain.ErrorCode(err) {
	case domain.CodeBusy, domain.CodeUnavailable, domain.CodeStorageFull:
		return Unknown
	}
	return Result("unexpected: " + err.Error())
}

func orgOutput(o domain.Organization, err error) Output {
	out := Output{Result: classify(err)}
	if err == nil {
		out.OrgID, out.Name, out.Email = string(o.ID), o.Name.String(), string(o.AdminEmail())
	}
	return out
}

// Create implements API.
func (a ServiceAPI) Create(ctx context.Context, name, email, password string) (Output, Session) {
	org, err := a.S.CreateOrg(ctx, usecase.CreateOrgInput{Name: name, Email: email, Password: password})
	if err != nil {
		return orgOutput(org, err), Session{}
	}
	return orgOutput(org, err), Session{OrgID: string(org.ID), Auth: domain.Principal{AdminID: org.Owners[0].AdminID, OrgID: org.ID, OrgRole: domain.RoleOwner}}
}

// Get implements API.
func (a ServiceAPI) Get(ctx context.Context, name string) Output {
	out := orgOutput(a.S.GetOrg(ctx, name))
	out.OrgID = ""
	return out
}

// Login implements API.
func (a ServiceAPI) Login(ctx context.Context, email, password string) (Output, Session) {
	res, err := a.S.Login(ctx, usecase.LoginInput{Email: email, Password: password, Client: "model"})
	out := Output{Result: classify(err)}
	if err != nil {
		return out, Session{}
	}
	out.OrgID, out.Name = string(res.Org.ID), res.Org.Name.String()
	return out, Session{OrgID: out.OrgID, Auth: domain.Principal{AdminID: res.Admin.ID, OrgID: res.Org.ID, OrgRole: res.Admin.OrgRole}}
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Update implements API.
func (a ServiceAPI) Update(ctx context.Context, as Session, name, email, password string) Output {
	out := orgOutput(a.S.UpdateOrg(ctx, as.Auth.(domain.Principal), usecase.UpdateOrgInput{
		Name: opt(name), Email: opt(email), Password: opt(password),
	}))
	out.OrgID = ""
	return out
}

// Delete implements API.
func (a ServiceAPI) Delete(ctx context.Context, as Session, name string) Output {
	_, err := a.S.DeleteOrg(ctx, as.Auth.(domain.Principal), name)
	return Output{Result: classify(err)}
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
