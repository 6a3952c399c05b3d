package domain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
)

func TestRotationsKeepOneOldSecret(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	w := domain.Webhook{Secrets: []domain.WebhookSecret{{Sealed: []byte{0}, CreatedAt: t0}}}
	for i := 1; i <= 50; i++ {
		w = w.Rotated([]byte{byte(i)}, t0.Add(time.Duration(i)*time.Minute))
	}
	now := t0.Add(50 * time.Minute)
	require.Len(t, w.Secrets, 2, "the new one and the one it replaced: webhook-signature stays at two")
	assert.Equal(t, []byte{50}, w.Secrets[0].Sealed)
	assert.Equal(t, []byte{49}, w.Secrets[1].Sealed)
	assert.Len(t, w.Signing(now), 2)
	assert.Len(t, w.Signing(now.Add(domain.WebhookRotationOverlap)), 1, "the old one stops after the overlap")
}

func TestWebhookURLs(t *testing.T) {
	for _, ok := range []string{"https://hooks.example.com/x?y=1", "http://127.0.0.1:9000/", "https://[2606:4700::1]:8443/a"} {
		_, err := domain.NewWebhookURL(ok)
		assert.NoError(t, err, ok)
	}
	for _, bad := range []string{"", "hooks.example.com", "ftp://x.test/", "https://u:p@x.test/", "https://x.test/#f", "https://x.test:99999/", "https://x.test:0/", "https://x .test/", "https:///path"} {
		_, err := domain.NewWebhookURL(bad)
		assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err), "%q", bad)
	}
	assert.Equal(t, "https://hooks.example.com:8443", domain.Origin("https://hooks.example.com:8443/t/SECRET?token=abc"))
}
