package ratelimit_test

import (
	"testing"
	"time"

	"orgd/adapters/ratelimit"
	"orgd/ports"
	"orgd/test/contract"
)

func TestLoginAttempts(t *testing.T) {
	contract.LoginAttempts(t, func(*testing.T) (ports.LoginAttempts, func(time.Duration)) {
		// Expiry follows the now each call passes: nothing to move.
		return ratelimit.NewLocalLoginAttempts(), func(time.Duration) {}
	})
}
