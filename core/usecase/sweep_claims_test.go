package usecase_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
	"orgd/core/usecase"
	"orgd/ports"
)

// pagedClaims counts a registry's reads, and refuses to list it whole.
type pagedClaims struct {
	ports.ClaimRegistry
	t     *testing.T
	reads *atomic.Int64
}

func (c pagedClaims) Page(ctx context.Context, after string, limit int) ([]domain.Claim, error) {
	out, err := c.ClaimRegistry.Page(ctx, after, limit)
	c.reads.Add(int64(len(out)))
	return out, err
}

func (c pagedClaims) All(context.Context) ([]domain.Claim, error) {
	c.t.Error("the periodic sweep lists a registry whole")
	return nil, nil
}

type countedAdmins struct {
	ports.AdminRepository
	reads *atomic.Int64
}

func (c countedAdmins) ByID(ctx context.Context, id domain.ID) (domain.Admin, error) {
	c.reads.Add(1)
	return c.AdminRepository.ByID(ctx, id)
}

// TestClaimsSweepIsBounded pins the periodic claims sweep's cost: a
// bounded slice of each registry and a point read or two per claim,
// whatever the number of organizations, never a whole registry or every
// organization; a pass goes on where the last sweep stopped, so an
// abandoned claim past the first slice is freed within registry size /
// slice sweeps.
func TestClaimsSweepIsBounded(t *testing.T) {
	for _, n := range []int{10, 1200} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			h := newHarness(t)
			ctx := context.Background()
			for i := range n {
				h.create(t, fmt.Sprintf("org%04d", i), fmt.Sprintf("a%d@x.test", i), "password1")
			}
			// A claim whose operation died before writing its intent,
			// last in key order.
			abandoned := domain.Claim{Kind: domain.KindName, Key: "zzz", OrgID: domain.NewID(h.clock.Now()), Op: domain.NewID(h.clock.Now()), At: h.clock.Now()}
			require.NoError(t, h.store.Names().Reserve(ctx, abandoned))
			h.clock.Advance(time.Hour)

			var claimReads, orgReads, adminReads atomic.Int64
			svc := h.withPorts(t, func(d *usecase.Deps) {
				d.Names = pagedClaims{d.Names, t, &claimReads}
				d.Emails = pagedClaims{d.Emails, t, &claimReads}
				d.ExternalIDs = pagedClaims{d.ExternalIDs, t, &claimReads}
				d.Orgs = countingOrgs{d.Orgs, &orgReads}
				d.Admins = countedAdmins{d.Admins, &adminReads}
			})
			sweeps := 0
			for {
				sweeps++
				claimReads.Store(0)
				orgReads.Store(0)
				adminReads.Store(0)
				var rep usecase.RecoveryReport
				require.NoError(t, usecase.SweepClaims(svc, ctx, &rep))
				perSweep := claimReads.Load() + orgReads.Load() + adminReads.Load()
				assert.LessOrEqual(t, claimReads.Load(), int64(3*500), "a slice of each registry")
				assert.LessOrEqual(t, perSweep, int64(3*500*3), "and a few point reads per claim")
				if rep.ClaimsReleased > 0 {
					break
				}
				require.Less(t, sweeps, 10, "freed within a pass")
			}
			_, err := h.store.Names().Claim(ctx, "zzz")
			assert.ErrorIs(t, err, domain.ErrNoClaim)
			assert.Equal(t, (n+1+499)/500, sweeps, "one pass: registry size / slice sweeps")
			_, err = h.svc.GetOrg(ctx, "org0000")
			assert.NoError(t, err, "a held claim stays")
		})
	}
}
