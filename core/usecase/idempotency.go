package usecase

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"orgd/core/domain"
)

// This file is Idempotency-Key (the IETF httpapi draft): a request sent
// with a key is carried out once, and its answer (status and body, as the
// edge encoded it) replayed to every retry with the same key for
// IdempotencyTTL. A retry while the first is in flight is told to wait;
// the same key with another request is refused. The ids a create uses are
// the key's, so a create cut short (its process killed) and retried with
// its key finishes the same organization.

// IdempotencyTTL is how long a key's answer is kept.
const IdempotencyTTL = 24 * time.Hour

// maxIdempotencyKey bounds a key.
const maxIdempotencyKey = 255

// IdempotentCall is a request sent with a key: the caller's scope (its
// account, or the operation's name for an anonymous request), the key,
// a fingerprint of the request, and whether its answer holds a secret
// (it is then kept sealed).
type IdempotentCall struct {
	Scope, Key, Fingerprint string
	Secret                  bool
}

// IdempotentIDs are the ids the key gives the request: the same on every
// retry.
type IdempotentIDs struct{ Org, Op, Admin domain.ID }

// Answer is an answer as the edge encoded it: its status, body, and the
// headers that are part of it (an ETag), replayed with it.
type Answer struct {
	Status int
	Body   []byte
	Header map[string]string
}

// The refusals of a key.
var (
	ErrIdempotencyReused = domain.Errorf(domain.CodeInvalid, "Idempotency-Key was already used with another request; a key is for retries of one request")
	ErrIdempotencyBusy   = &domain.Error{Code: domain.CodeInProgress, Message: "A request with this Idempotency-Key is still being answered; retry shortly", RetryAfter: time.Second}
	ErrNoIdempotency     = domain.Errorf(domain.CodeUnsupported, "Idempotency-Key is not kept on this deployment")
)

// CheckIdempotencyKey checks a key: 1 to 255 printable ASCII characters.
func CheckIdempotencyKey(key string) error {
	if key == "" || len(key) > maxIdempotencyKey {
		return domain.Errorf(domain.CodeInvalid, "Idempotency-Key must be 1 to 255 characters")
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return domain.Errorf(domain.CodeInvalid, "Idempotency-Key must be printable ASCII")
		}
	}
	return nil
}

// Idempotently carries out run once for call's key and returns its
// answer, and whether it is a replay. run answers with keep false when
// its answer must not be kept (a failure worth retrying: the store away,
// a busy organization, a rate limit); the key is then free for a retry,
// which gets the same ids. Its error, if any, is returned as it is.
func (s *Service) Idempotently(ctx context.Context, call IdempotentCall, run func(ids IdempotentIDs) (ans Answer, keep bool, err error)) (Answer, bool, error) {
	if s.idem == nil {
		return Answer{}, false, ErrNoIdempotency
	}
	if err := CheckIdempotencyKey(call.Key); err != nil {
		return Answer{}, false, err
	}
	rec, replay, err := s.claimKey(ctx, call)
	if err != nil || replay != nil {
		return derefAnswer(replay), replay != nil, err
	}
	ans, keep, err := run(IdempotentIDs{Org: rec.OrgID, Op: rec.OpID, Admin: rec.AdminID})
	// However the request ended, what is kept of it is written: it
	// happened, whether the caller is still there or not.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	next := rec
	if keep {
		next.Done, next.Status, next.Body, next.Header, next.Sealed = true, ans.Status, ans.Body, ans.Header, call.Secret
		if call.Secret {
			if next.Body, err = s.sealAnswer(ans.Body); err != nil {
				return ans, false, err
			}
		}
	} else {
		next.LeaseUntil = time.Time{} // a retry takes it over at once, with the same ids
	}
	next.Version = rec.Version + 1
	if werr := s.idem.Replace(wctx, next, rec.Version); werr != nil && !errors.Is(werr, domain.ErrStale) {
		s.log.WarnContext(ctx, "idempotency: answer not kept; a retry will be carried out again", "error", werr)
	}
	return ans, false, err
}

func derefAnswer(a *Answer) Answer {
	if a == nil {
		return Answer{}
	}
	return *a
}

// claimKey takes call's key for this request: a new record, or one
// expired, or one whose holder left it (its lease ran out, or it let it
// go to be retried). It returns the stored answer instead if the key was
// answered, and refuses a key in use or used with another request.
func (s *Service) claimKey(ctx context.Context, call IdempotentCall) (domain.IdempotencyRecord, *Answer, error) {
	now := s.now()
	sum := sha256.Sum256([]byte(call.Scope + "\x00" + call.Key))
	fresh := domain.IdempotencyRecord{
		Key: hex.EncodeToString(sum[:]), Fingerprint: call.Fingerprint, LeaseUntil: now.Add(s.lease),
		OrgID: domain.NewID(now), OpID: domain.NewID(now), AdminID: domain.NewID(now),
		CreatedAt: now, ExpiresAt: now.Add(IdempotencyTTL), Version: 1,
	}
	for {
		err := s.idem.Insert(ctx, fresh)
		if err == nil {
			return fresh, nil, nil
		}
		if !errors.Is(err, domain.ErrIdempotencyRecordExists) {
			return fresh, nil, err
		}
		cur, err := s.idem.Get(ctx, fresh.Key)
		if errors.Is(err, domain.ErrIdempotencyRecordNotFound) {
			continue // purged meanwhile
		}
		if err != nil {
			return fresh, nil, err
		}
		next := cur
		switch {
		case !now.Before(cur.ExpiresAt):
			next = fresh // expired: the key is new again
			next.Version = cur.Version
		case cur.Fingerprint != call.Fingerprint:
			return cur, nil, ErrIdempotencyReused
		case cur.Done:
			ans, err := s.openAnswer(cur)
			return cur, &ans, err
		case now.Before(cur.LeaseUntil):
			return cur, nil, ErrIdempotencyBusy
		}
		// Taken over: the ids stay the key's.
		next.LeaseUntil = now.Add(s.lease)
		next.Version = cur.Version + 1
		err = s.idem.Replace(ctx, next, cur.Version)
		if errors.Is(err, domain.ErrStale) {
			continue
		}
		return next, nil, err
	}
}

// sealAnswer seals an answer that holds a secret.
func (s *Service) sealAnswer(body []byte) ([]byte, error) {
	if s.hooks == nil || s.hooks.sealer == nil {
		return nil, errors.New("idempotency: no sealer for an answer holding a secret")
	}
	b, err := s.hooks.sealer.Seal(body)
	if err != nil {
		return nil, fmt.Errorf("idempotency: seal answer: %w", err)
	}
	return b, nil
}

// openAnswer is rec's answer, opened if it was sealed.
func (s *Service) openAnswer(rec domain.IdempotencyRecord) (Answer, error) {
	if !rec.Sealed {
		return Answer{Status: rec.Status, Body: rec.Body, Header: rec.Header}, nil
	}
	if s.hooks == nil || s.hooks.sealer == nil {
		return Answer{}, errors.New("idempotency: no sealer to open a kept answer")
	}
	body, err := s.hooks.sealer.Open(rec.Body)
	if err != nil {
		// SECRET_KEY changed since: the answer cannot be replayed.
		return Answer{}, domain.Errorf(domain.CodeInvalid, "This Idempotency-Key's answer can no longer be replayed (it was sealed under another SECRET_KEY); use a new key")
	}
	return Answer{Status: rec.Status, Body: body, Header: rec.Header}, nil
}

// PurgeIdempotencyKeys removes up to limit records of keys expired, and
// returns how many it removed.
func (s *Service) PurgeIdempotencyKeys(ctx context.Context, limit int) (int, error) {
	if s.idem == nil {
		return 0, nil
	}
	return s.idem.Purge(ctx, s.now(), limit)
}
