package password_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/adapters/password"
	"orgd/core/domain"
)

// cheap keeps the tests fast; the format and logic are the same as OWASP's.
var cheap = password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

func TestHashVerify(t *testing.T) {
	ctx := context.Background()
	h := password.New(cheap, 2)
	enc, err := h.Hash(ctx, "correct horse")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$"), enc)
	assert.NotContains(t, enc, "correct horse")

	ok, err := h.Verify(ctx, enc, "correct horse")
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = h.Verify(ctx, enc, "correct horsf")
	require.NoError(t, err)
	assert.False(t, ok)

	enc2, err := h.Hash(ctx, "correct horse")
	require.NoError(t, err)
	assert.NotEqual(t, enc, enc2, "salted")
}

func TestOWASPParameters(t *testing.T) {
	enc, err := password.New(password.OWASP, 1).Hash(context.Background(), "p")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$"), enc)
}

func TestVerifyMalformed(t *testing.T) {
	h := password.New(cheap, 1)
	for _, enc := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=18$m=64,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=0,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=64,t=1,p=1$!!$aGFzaA"} {
		_, err := h.Verify(context.Background(), enc, "p")
		assert.ErrorIs(t, err, password.ErrMalformedHash, enc)
	}
}

func TestPoolQueuesAndHonoursContext(t *testing.T) {
	h := password.New(cheap, 1)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := h.Hash(context.Background(), domain.Password("x"))
			assert.NoError(t, err, "a burst queues instead of failing")
		}()
	}
	wg.Wait()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := h.Hash(ctx, "x")
	require.ErrorIs(t, err, context.Canceled, "no hashing for a caller that has gone")
	_, err = h.Verify(ctx, "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", "x")
	require.ErrorIs(t, err, context.Canceled)
}
