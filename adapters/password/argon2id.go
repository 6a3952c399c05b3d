// Package password implements ports.PasswordHasher with argon2id, encoded
// as PHC strings, on a bounded pool of workers.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"

	"orgd/core/domain"
	"orgd/ports"
)

// Params are argon2id cost parameters.
type Params struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
	SaltLen     int
	KeyLen      uint32
}

// OWASP is the OWASP Password Storage Cheat Sheet's argon2id minimum:
// m=19456 KiB, t=2, p=1.
var OWASP = Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// Hasher hashes and verifies passwords. At most Workers hashes run at
// once, so a burst of logins queues instead of allocating 19 MiB each.
type Hasher struct {
	p       Params
	sem     chan struct{}
	waiting atomic.Int64
}

var _ ports.PasswordHasher = (*Hasher)(nil)

// New returns a Hasher; workers <= 0 means one per CPU.
func New(p Params, workers int) *Hasher {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	return &Hasher{p: p, sem: make(chan struct{}, workers)}
}

func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("wait for hashing slot: %w", err)
	}
	h.waiting.Add(1)
	defer h.waiting.Add(-1)
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for hashing slot: %w", ctx.Err())
	}
}

func (h *Hasher) release() { <-h.sem }

// Stats reports how many hashes run now and how many wait for a slot.
func (h *Hasher) Stats() (inUse, waiting int) { return len(h.sem), int(h.waiting.Load()) }

var b64 = base64.RawStdEncoding

// Hash implements ports.PasswordHasher.
func (h *Hasher) Hash(ctx context.Context, pw domain.Password) (string, error) {
	salt := make([]byte, h.p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, h.p.Iterations, h.p.MemoryKiB, h.p.Parallelism, h.p.KeyLen)
	h.release()
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.p.MemoryKiB, h.p.Iterations, h.p.Parallelism, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// maxKeyLen bounds the key length a stored hash may ask for.
const maxKeyLen = 1024

// ErrMalformedHash is returned by Verify for a hash it cannot parse.
var ErrMalformedHash = errors.New("malformed argon2id hash")

// Verify implements ports.PasswordHasher. It uses the parameters stored in
// the hash, so hashes made under older parameters keep working.
func (h *Hasher) Verify(ctx context.Context, encoded string, pw domain.Password) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, ErrMalformedHash
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Iterations, &p.Parallelism); err != nil {
		return false, ErrMalformedHash
	}
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > maxKeyLen || p.MemoryKiB == 0 || p.Iterations == 0 || p.Parallelism == 0 {
		return false, ErrMalformedHash
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Iterations, p.MemoryKiB, p.Parallelism, uint32(len(want))) //nolint:gosec // len(want) <= maxKeyLen
	h.release()
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
