package memory_test

import (
	"testing"
	"time"

	"orgd/adapters/memory"
	"orgd/ports"
	"orgd/test/contract"
)

func TestLoginAttempts(t *testing.T) {
	contract.LoginAttempts(t, func(*testing.T) (ports.LoginAttempts, func(time.Duration)) {
		// Expiry follows the now each call passes: nothing to move.
		return memory.NewLoginAttempts(), func(time.Duration) {}
	})
}
