package usecase_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
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

func TestSuperAdmin(t *testing.T) {
	ctx := context.Background()
	h := newHarnessWith(t, usecase.Deps{})
	created, err := h.svc.EnsureSuperAdmin(ctx, "Root@Platform.test", "root-password-1")
	require.NoError(t, err)
	assert.True(t, created)
	created, err = h.svc.EnsureSuperAdmin(ctx, "root@platform.test", "root-password-1")
	require.NoError(t, err)
	assert.False(t, created, "idempotent")

	res, err := h.svc.Login(ctx, usecase.LoginInput{Email: "root@platform.test", Password: "root-password-1"})
	require.NoError(t, err)
	assert.True(t, res.Claims.Super)
	assert.Empty(t, res.Org.ID)
	root, err := h.svc.Authenticate(ctx, res.Token)
	require.NoError(t, err)
	assert.True(t, root.Super)

	h.create(t, "beta", "b@x.com", "12345678")
	h.create(t, "alpha", "a@x.com", "12345678")
	page, err := h.svc.ListOrgs(ctx, root, 1, 1)
	require.NoError(t, err)
	assert.Equal(t, int64(2), page.Total)
	require.Len(t, page.Items, 1)
	assert.Equal(t, "alpha", page.Items[0].Name.String())

	orgAdmin, _ := h.login(t, "a@x.com", "12345678")
	_, err = h.svc.ListOrgs(ctx, orgAdmin, 1, 10)
	require.ErrorIs(t, err, domain.ErrSuperAdminOnly)
	_, err = h.svc.ListOrgs(ctx, root, 0, 10)
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
	_, err = h.svc.ListOrgs(ctx, root, 1, usecase.MaxPageSize+1)
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
	_, err = h.svc.ListOrgs(ctx, root, math.MaxInt, 20)
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err), "a page whose offset would overflow is refused")
	page, err = h.svc.ListOrgs(ctx, root, usecase.MaxPage, usecase.MaxPageSize)
	require.NoError(t, err)
	assert.Empty(t, page.Items, "the last page allowed is merely empty")

	_, err = h.svc.UpdateOrg(ctx, root, usecase.UpdateOrgInput{Name: ptr("mine")})
	require.ErrorIs(t, err, domain.ErrNoOrganization)
	_, err = h.svc.DeleteOrg(ctx, orgAdmin, "beta")
	require.ErrorIs(t, err, domain.ErrNotOwner)
	name, err := h.svc.DeleteOrg(ctx, root, "beta")
	require.NoError(t, err, "the super admin deletes any organization")
	assert.Equal(t, "beta", name)

	_, err = h.svc.EnsureSuperAdmin(ctx, "a@x.com", "whatever-password")
	require.Error(t, err, "an org admin's email cannot become the super admin's")
}

func TestCreationPolicy(t *testing.T) {
	ctx := context.Background()
	h := newHarnessWith(t, usecase.Deps{Creation: domain.CreationSuperOnly})
	_, err := h.svc.EnsureSuperAdmin(ctx, "root@platform.test", "root-password-1")
	require.NoError(t, err)
	in := usecase.CreateOrgInput{Name: "acme", Email: "a@x.com", Password: "12345678"}

	_, err = h.svc.CreateOrg(ctx, in)
	require.ErrorIs(t, err, domain.ErrNotAuthenticated)

	root, _ := h.login(t, "root@platform.test", "root-password-1")
	in.By = &root
	_, err = h.svc.CreateOrg(ctx, in)
	require.NoError(t, err)

	orgAdmin, _ := h.login(t, "a@x.com", "12345678")
	_, err = h.svc.CreateOrg(ctx, usecase.CreateOrgInput{Name: "other", Email: "o@x.com", Password: "12345678", By: &orgAdmin})
	require.ErrorIs(t, err, domain.ErrSuperAdminOnly)
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

// snapshotter records that it was asked.
type snapshotter struct{ taken int }

func (s *snapshotter) Snapshot(_ context.Context, w io.Writer) error {
	s.taken++
	_, err := w.Write([]byte("snapshot"))
	return err
}

func TestSnapshotIsForTheSuperAdminOfAnEmbeddedStore(t *testing.T) {
	ctx := context.Background()
	snaps := &snapshotter{}
	h := newHarnessWith(t, usecase.Deps{Snapshots: snaps})
	var out bytes.Buffer
	open := func() io.Writer { return &out }

	err := h.svc.Snapshot(ctx, domain.Principal{AdminID: "a", OrgID: "o"}, open)
	require.ErrorIs(t, err, domain.ErrSuperAdminOnly)
	assert.Zero(t, snaps.taken, "refused before the store is asked")
	require.NoError(t, h.svc.Snapshot(ctx, domain.Principal{AdminID: "root", Super: true}, open))
	assert.Equal(t, "snapshot", out.String())

	without := newHarness(t)
	err = without.svc.Snapshot(ctx, domain.Principal{AdminID: "root", Super: true}, open)
	require.ErrorIs(t, err, domain.ErrNoSnapshots, "MongoDB is backed up with its own tools")
}
