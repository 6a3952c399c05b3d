package webhook

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"

	"orgd/ports"
)

// sealInfo separates the sealing key from every other use of SECRET_KEY
// (it also signs access tokens).
const sealInfo = "orgd webhook secrets v1"

// Sealer seals webhook secrets with AES-256-GCM under a key derived from
// SECRET_KEY (HKDF-SHA256). A secret sealed under another key does not
// open: after SECRET_KEY changes, every endpoint's deliveries fail until
// its secret is rotated.
type Sealer struct{ aead cipher.AEAD }

var _ ports.Sealer = (*Sealer)(nil)

// NewSealer derives the sealing key from secretKey.
func NewSealer(secretKey []byte) (*Sealer, error) {
	if len(secretKey) == 0 {
		return nil, errors.New("webhook sealer: empty secret key")
	}
	key, err := hkdf.Key(sha256.New, secretKey, nil, sealInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("webhook sealer: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("webhook sealer: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("webhook sealer: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal implements ports.Sealer: a fresh nonce, then the sealed secret.
func (s *Sealer) Seal(plain []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, plain, nil), nil
}

// errNotSealedHere says a secret was not sealed under this key.
var errNotSealedHere = errors.New("webhook secret not sealed under this SECRET_KEY")

// Open implements ports.Sealer.
func (s *Sealer) Open(sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, errNotSealedHere
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return nil, errNotSealedHere
	}
	return plain, nil
}
