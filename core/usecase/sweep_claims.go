package usecase

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// claimsPerSweep bounds the claims of each kind the periodic sweep looks
// at: with its point reads (the claim's organization, and for an email its
// account) a sweep costs the same at any number of organizations, and a
// full pass takes registry size / claimsPerSweep sweeps.
const claimsPerSweep = 500

// sweepClaims frees the abandoned claims among the next claimsPerSweep of
// each kind, going on from where the last sweep stopped (and from the
// first again once a pass is through): the periodic sweep's part of what
// ReleaseAbandoned does whole at a start. An abandoned claim a pass has
// not reached yet is freed anyway by the first reservation of its key
// (see claimState); the sweep keeps the registries clean for the audit.
func (s *Service) sweepClaims(ctx context.Context, rep *RecoveryReport) error {
	var errs []error
	for i, k := range s.registries() {
		s.sweepMu.Lock()
		after := s.sweepAfter[i]
		s.sweepMu.Unlock()
		claims, err := k.reg.Page(ctx, after, claimsPerSweep)
		if err != nil {
			errs = append(errs, fmt.Errorf("list claims: %w", err))
			continue
		}
		for _, c := range claims {
			state, err := s.claimState(ctx, c)
			if err == nil && state == claimAbandoned {
				if err = k.reg.Release(ctx, c); err == nil {
					rep.ClaimsReleased++
				}
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("claim %q: %w", c.Key, err))
			}
		}
		next := ""
		if len(claims) == claimsPerSweep {
			next = claims[len(claims)-1].Key
		}
		s.sweepMu.Lock()
		if next == "" && after != "" {
			s.log.DebugContext(ctx, "claims sweep: a pass is through", "kind", i, "took", time.Since(s.sweepStarted[i]))
		}
		if after == "" {
			s.sweepStarted[i] = time.Now()
		}
		s.sweepAfter[i] = next
		s.sweepMu.Unlock()
	}
	return errors.Join(errs...)
}
