package memory_test

import (
	"testing"
	"time"

	"orgd/adapters/memory"
	"orgd/core/domain"
	"orgd/ports"
	"orgd/test/contract"
	"orgd/test/fakes"
)

func TestLoginThrottle(t *testing.T) {
	contract.LoginThrottle(t, func(_ *testing.T, p domain.LoginBackoff) (ports.LoginThrottle, func(time.Duration)) {
		clock := fakes.NewClock(time.Unix(1_800_000_000, 0))
		return memory.NewLoginThrottle(p, clock.Now), clock.Advance
	})
}
