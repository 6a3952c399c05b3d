package domain

import "time"

// LoginBackoff is a back-off on one key's login attempts: the first Free
// failures cost nothing; after that each failure doubles the wait before
// the next attempt, from Base up to Max. Failures are forgotten once
// Forget passes without one.
type LoginBackoff struct {
	Free   int
	Base   time.Duration
	Max    time.Duration
	Forget time.Duration
}

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

// AttemptRecord is what is kept about one key's login attempts: how many
// failed and when the latest did, and how many are in flight (admitted,
// their password being checked). A success forgets its address's failures,
// not the account's.
type AttemptRecord struct {
	Failures int
	Last     time.Time
	InFlight int
	// InFlightUntil is when the attempts in flight count as ended if
	// nothing ended them (their process died).
	InFlightUntil time.Time
}

// inFlight is how many of rec's attempts are in flight at now.
func (r AttemptRecord) inFlight(now time.Time) int {
	if now.Before(r.InFlightUntil) {
		return max(r.InFlight, 0)
	}
	return 0
}

// ifAllFail is rec as it would be if every attempt in flight failed now.
func (r AttemptRecord) ifAllFail(now time.Time) AttemptRecord {
	if n := r.inFlight(now); n > 0 {
		return AttemptRecord{Failures: r.Failures + n, Last: now}
	}
	return r
}

// Admission is the login policy's answer to one attempt.
type Admission struct {
	// Wait, when positive, refuses the attempt: the failures so far call
	// for that long a wait before the next.
	Wait time.Duration
	// Busy refuses it for now: the attempts already in flight use up what
	// the back-off would let through were they all to fail. One ending
	// frees a place; ask again then.
	Busy bool
}

// Admitted reports whether the attempt may go ahead.
func (a Admission) Admitted() bool { return a.Wait <= 0 && !a.Busy }

// current is rec as it stands at now: forgotten once Forget has passed.
func (b LoginBackoff) current(rec AttemptRecord, now time.Time) AttemptRecord {
	if now.Sub(rec.Last) > b.Forget {
		return AttemptRecord{}
	}
	return rec
}

// Wait is how long, at now, the key of rec must wait before its next
// attempt; zero means it may try now.
func (b LoginBackoff) Wait(rec AttemptRecord, now time.Time) time.Duration {
	rec = b.current(rec, now)
	if rec.Failures == 0 {
		return 0
	}
	return max(rec.Last.Add(b.Delay(rec.Failures)).Sub(now), 0)
}

// LoginPolicy slows online password guessing while keeping the account's
// admin able to log in. Each account is backed off per client address
// (Pair), so one address's guesses never delay another's; and across all
// addresses (Account), a looser ceiling that applies to an address only
// once it has spent its own free failures on the account, so a guesser
// spread over many addresses shares one slow lane while an address with
// few failures (the admin's) goes straight through.
type LoginPolicy struct {
	Pair    LoginBackoff
	Account LoginBackoff
}

// DefaultLoginPolicy is: per address 5 free failures, then 1 s, 2 s, 4 s …
// up to 60 s between attempts; per account, once an address is past its
// free failures, 20 free across addresses, then the same doubling to 60 s;
// all forgotten after 15 minutes without a failure. One address gets
// about 25 guesses in its first 15 minutes and one a minute after; any
// number of addresses share one guess a minute once each has spent its 5,
// so guessing costs the attacker 5 guesses per fresh address. The admin,
// from an address that has not failed 5 times, is never delayed; from the
// attacker's own address, at most a minute.
var DefaultLoginPolicy = LoginPolicy{
	Pair:    LoginBackoff{Free: 5, Base: time.Second, Max: time.Minute, Forget: 15 * time.Minute},
	Account: LoginBackoff{Free: 20, Base: time.Second, Max: time.Minute, Forget: 15 * time.Minute},
}

// Wait is how long, at now, an attempt on an account from one address
// must wait, given the records of that pair and of the account.
func (p LoginPolicy) Wait(pair, account AttemptRecord, now time.Time) time.Duration {
	w := p.Pair.Wait(pair, now)
	if p.Pair.current(pair, now).Failures >= p.Pair.Free {
		w = max(w, p.Account.Wait(account, now))
	}
	return w
}

// Admit is the answer, at now, to an attempt on an account from one
// address, given the records of that pair and of the account. Only
// failures that happened count against it; attempts in flight are not
// failures, but may become some, so an attempt is admitted only while the
// back-off would let it in even if every one in flight failed. So
// concurrent guesses cannot slip past the count, while correct logins in
// a burst wait their turn (Busy) instead of being refused.
func (p LoginPolicy) Admit(pair, account AttemptRecord, now time.Time) Admission {
	if w := p.Wait(pair, account, now); w > 0 {
		return Admission{Wait: w}
	}
	if p.Wait(pair.ifAllFail(now), account.ifAllFail(now), now) > 0 {
		return Admission{Busy: true}
	}
	return Admission{}
}

// Admit is the answer, at now, to an attempt on a single key backed off
// by b (an invitation token from one address, say), with LoginPolicy.Admit's
// rule for attempts in flight.
func (b LoginBackoff) Admit(rec AttemptRecord, now time.Time) Admission {
	if w := b.Wait(rec, now); w > 0 {
		return Admission{Wait: w}
	}
	if b.Wait(rec.ifAllFail(now), now) > 0 {
		return Admission{Busy: true}
	}
	return Admission{}
}

// InFlightFor bounds how long an attempt counts as in flight: past it,
// one whose process died no longer holds a place.
const InFlightFor = time.Minute

// Keep is how long records must be kept after their last change.
func (p LoginPolicy) Keep() time.Duration { return max(p.Pair.Forget, p.Account.Forget) }

// LoginKeys are the record keys of an attempt on email from client: the
// account's, and the pair's.
func LoginKeys(email Email, client string) (account, pair string) {
	return "account:" + string(email), "pair:" + string(email) + "|" + client
}
