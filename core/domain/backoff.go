package domain

import "time"

// LoginBackoff is the policy that slows online guessing of one account:
// the first Free failures cost nothing; after that each failure doubles
// the wait before the next attempt, from Base up to Max. Failures older
// than Forget are forgotten, and a success forgets them all.
type LoginBackoff struct {
	Free   int
	Base   time.Duration
	Max    time.Duration
	Forget time.Duration
}

// DefaultLoginBackoff allows 5 free failures, then 1 s, 2 s, 4 s … capped
// at 60 s, forgotten after 15 minutes without a failure. An attacker
// holding an account at the cap gets about one guess a minute, and its
// admin waits at most a minute for a try.
var DefaultLoginBackoff = LoginBackoff{Free: 5, Base: time.Second, Max: time.Minute, Forget: 15 * time.Minute}

// Delay is the wait imposed after the given number of consecutive failures.
func (b LoginBackoff) Delay(failures int) time.Duration {
	extra := failures - b.Free
	switch {
	case extra <= 0:
		return 0
	case extra > 30: // the shift would overflow; the cap applies long before
		return b.Max
	default:
		return min(b.Base<<(extra-1), b.Max)
	}
}
