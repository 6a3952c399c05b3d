package usecase_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/adapters/ratelimit"
	"orgd/core/domain"
	"orgd/core/usecase"
	"orgd/test/fakes"
)

func TestLogin(t *testing.T) {
	tests := []struct {
		name     string
		email    string
		password string
		wantErr  error
		wantCode domain.Code
	}{
		{name: "login-200", email: "a@x.com", password: "12345678"},
		{name: "login-200-email-case", email: "A@X.com", password: "12345678"},
		{name: "login-401-wrong-password", email: "a@x.com", password: "123456789", wantErr: domain.ErrInvalidCredentials},
		{name: "login-401-unknown-email", email: "b@x.com", password: "12345678", wantErr: domain.ErrInvalidCredentials},
		{name: "login-422-bad-email", email: "nope", password: "12345678", wantCode: domain.CodeInvalid},
		{name: "login-422-empty-password", email: "a@x.com", password: "", wantCode: domain.CodeInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			org := h.create(t, "acme", "a@x.com", "12345678")
			res, err := h.svc.Login(context.Background(), usecase.LoginInput{Email: tc.email, Password: tc.password})
			switch {
			case tc.wantErr != nil:
				require.ErrorIs(t, err, tc.wantErr)
				assert.Equal(t, "Invalid email or password", err.Error(), "one answer for unknown email and wrong password")
			case tc.wantCode != "":
				assert.Equal(t, tc.wantCode, domain.ErrorCode(err))
			default:
				require.NoError(t, err)
				assert.Equal(t, org.ID, res.Org.ID)
				assert.Equal(t, h.clock.Now().Add(usecase.DefaultTokenTTL), res.Claims.ExpiresAt)
				p, err := h.svc.Authenticate(context.Background(), res.Token)
				require.NoError(t, err)
				assert.Equal(t, domain.Principal{AdminID: org.Owners[0].AdminID, OrgID: org.ID, Email: org.AdminEmail(), OrgRole: domain.RoleOwner}, p)
			}
		})
	}
}

// countingHasher counts verifications, to see what an unknown email costs.
type countingHasher struct {
	fakes.Hasher
	verifies int
}

func (c *countingHasher) Verify(ctx context.Context, enc string, pw domain.Password) (bool, error) {
	c.verifies++
	return c.Hasher.Verify(ctx, enc, pw)
}

func TestLoginCostsTheSameForUnknownEmails(t *testing.T) {
	ctx := context.Background()
	hasher := &countingHasher{}
	h := newHarnessWith(t, usecase.Deps{Hasher: hasher})
	h.create(t, "acme", "a@x.com", "12345678")
	hasher.verifies = 0
	_, err := h.svc.Login(ctx, usecase.LoginInput{Email: "a@x.com", Password: "wrong-pass"})
	require.ErrorIs(t, err, domain.ErrInvalidCredentials)
	_, err = h.svc.Login(ctx, usecase.LoginInput{Email: "ghost@x.com", Password: "wrong-pass"})
	require.ErrorIs(t, err, domain.ErrInvalidCredentials)
	assert.Equal(t, 2, hasher.verifies, "an unknown email is verified against a dummy hash too")
}

func TestLoginBackoff(t *testing.T) {
	ctx := context.Background()
	clock := fakes.NewClock(time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC))
	h := newHarnessWith(t, usecase.Deps{Clock: clock, Attempts: ratelimit.NewLocalLoginAttempts()})
	h.create(t, "acme", "a@x.com", "12345678")
	free := domain.DefaultLoginPolicy.Pair.Free

	for _, email := range []string{"a@x.com", "ghost@x.com"} {
		for i := range free + 1 {
			_, err := h.svc.Login(ctx, usecase.LoginInput{Email: email, Password: "wrong-pass", Client: "198.51.100.1"})
			require.ErrorIs(t, err, domain.ErrInvalidCredentials, "attempt %d", i)
		}
		_, err := h.svc.Login(ctx, usecase.LoginInput{Email: email, Password: "12345678", Client: "198.51.100.1"})
		require.Equal(t, domain.CodeRateLimited, domain.ErrorCode(err), "%s: even the right password waits", email)
		var de *domain.Error
		require.ErrorAs(t, err, &de)
		assert.Equal(t, time.Second, de.RetryAfter)
	}
	_, err := h.svc.Login(ctx, usecase.LoginInput{Email: "a@x.com", Password: "12345678", Client: "203.0.113.9"})
	require.NoError(t, err, "from another address the admin gets in at once")
	h.clock.Advance(time.Second)
	_, err = h.svc.Login(ctx, usecase.LoginInput{Email: "a@x.com", Password: "12345678", Client: "198.51.100.1"})
	require.NoError(t, err, "after the wait the admin gets in, and the count resets")
	_, err = h.svc.Login(ctx, usecase.LoginInput{Email: "a@x.com", Password: "wrong-pass", Client: "198.51.100.1"})
	require.ErrorIs(t, err, domain.ErrInvalidCredentials)
	_, err = h.svc.Login(ctx, usecase.LoginInput{Email: "a@x.com", Password: "12345678", Client: "198.51.100.1"})
	require.NoError(t, err)
}

// TestLoginBackoffCountsAttemptsInFlight sends many wrong passwords for one
// account at once, with every password check held until all have started:
// only the free attempts may reach a password check.
func TestLoginBackoffCountsAttemptsInFlight(t *testing.T) {
	const n = 100
	hasher := &gateHasher{gate: make(chan struct{})}
	h := newHarnessWith(t, usecase.Deps{Hasher: hasher, Attempts: ratelimit.NewLocalLoginAttempts()})
	h.create(t, "acme", "a@x.com", "12345678") // hashes, verifies nothing

	var wg sync.WaitGroup
	var limited, refused atomic.Int32
	for range n {
		wg.Go(func() {
			_, err := h.svc.Login(context.Background(), usecase.LoginInput{Email: "a@x.com", Password: "wrong-pass", Client: "198.51.100.1"})
			switch {
			case domain.ErrorCode(err) == domain.CodeRateLimited:
				limited.Add(1)
			case errors.Is(err, domain.ErrInvalidCredentials):
				refused.Add(1)
			default:
				t.Errorf("unexpected %v", err)
			}
		})
	}
	free := domain.DefaultLoginPolicy.Pair.Free + 1 // the attempt after the free failures goes through, then waits begin
	require.Eventually(t, func() bool { return hasher.waiting() == free }, 10*time.Second, time.Millisecond)
	time.Sleep(50 * time.Millisecond) // the rest wait for a place, and none gets one
	require.Equal(t, free, hasher.waiting(), "no more attempts reach a password check while those are in flight")
	close(hasher.gate)
	wg.Wait()
	assert.Equal(t, int32(free), refused.Load(), "only the free attempts reach a password check")
	assert.Equal(t, int32(n-free), limited.Load())
}

// TestLoginBurstOfCorrectPasswords: a worker pool sharing one account,
// behind one address, logs in 200 times, 50 at once, each password check
// taking a while: every login succeeds (attempts in flight wait their turn
// instead of counting as failures), and no failure is left recorded.
func TestLoginBurstOfCorrectPasswords(t *testing.T) {
	attempts := ratelimit.NewLocalLoginAttempts()
	h := newHarnessWith(t, usecase.Deps{Hasher: slowHasher{5 * time.Millisecond}, Attempts: attempts})
	h.create(t, "acme", "a@x.com", "12345678")
	var ok, failed atomic.Int32
	var wg sync.WaitGroup
	sem := make(chan struct{}, 50)
	for range 200 {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			_, err := h.svc.Login(context.Background(), usecase.LoginInput{Email: "a@x.com", Password: "12345678", Client: "198.51.100.1"})
			if err != nil {
				failed.Add(1)
				t.Log(err)
				return
			}
			ok.Add(1)
		})
	}
	wg.Wait()
	assert.Equal(t, int32(200), ok.Load(), "every correct login succeeds")
	assert.Zero(t, failed.Load())
	_, err := h.svc.Login(context.Background(), usecase.LoginInput{Email: "a@x.com", Password: "wrong-pass", Client: "198.51.100.1"})
	require.ErrorIs(t, err, domain.ErrInvalidCredentials, "no failure was counted: a wrong password is simply wrong")
}

// slowHasher is fakes.Hasher with a delay on every check.
type slowHasher struct{ d time.Duration }

func (h slowHasher) Hash(ctx context.Context, pw domain.Password) (string, error) {
	return fakes.Hasher{}.Hash(ctx, pw)
}

func (h slowHasher) Verify(ctx context.Context, encoded string, pw domain.Password) (bool, error) {
	time.Sleep(h.d)
	return fakes.Hasher{}.Verify(ctx, encoded, pw)
}

// TestAttackerCannotLockOutAdmin hammers one account with wrong passwords
// from many addresses for ten minutes (fake time), and checks that its
// admin, from an address of its own, always gets in at once, while the
// attacker, past the free attempts of each address, gets about one guess
// a minute.
func TestAttackerCannotLockOutAdmin(t *testing.T) {
	ctx := context.Background()
	clock := fakes.NewClock(time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC))
	h := newHarnessWith(t, usecase.Deps{Clock: clock, Attempts: ratelimit.NewLocalLoginAttempts()})
	h.create(t, "acme", "a@x.com", "12345678")
	const addresses = 20
	guesses := 0
	for step := range 6000 { // a wrong password every 100 ms
		client := fmt.Sprintf("198.51.100.%d", step%addresses)
		_, err := h.svc.Login(ctx, usecase.LoginInput{Email: "a@x.com", Password: "wrong-pass", Client: client})
		if errors.Is(err, domain.ErrInvalidCredentials) {
			guesses++
		} else {
			require.Equal(t, domain.CodeRateLimited, domain.ErrorCode(err))
		}
		if step%600 == 599 { // every minute, the admin logs in
			_, err := h.svc.Login(ctx, usecase.LoginInput{Email: "a@x.com", Password: "12345678", Client: "203.0.113.9"})
			require.NoError(t, err, "minute %d: the admin is not locked out", step/600+1)
		}
		clock.Advance(100 * time.Millisecond)
	}
	free := addresses * domain.DefaultLoginPolicy.Pair.Free
	t.Logf("%d addresses, 10 minutes: %d guesses checked (%d free)", addresses, guesses, free)
	assert.LessOrEqual(t, guesses, free+domain.DefaultLoginPolicy.Account.Free+20, "past the free attempts, about one guess a minute")
}

// gateHasher holds every Verify until gate is closed, and counts them.
type gateHasher struct {
	fakes.Hasher
	gate    chan struct{}
	mu      sync.Mutex
	blocked int
}

func (g *gateHasher) Verify(ctx context.Context, encoded string, pw domain.Password) (bool, error) {
	g.mu.Lock()
	g.blocked++
	g.mu.Unlock()
	<-g.gate
	return g.Hasher.Verify(ctx, encoded, pw)
}

func (g *gateHasher) waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.blocked
}
