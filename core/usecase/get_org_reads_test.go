package usecase_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
	"orgd/core/usecase"
	"orgd/ports"
)

// countingOrgs counts the organization reads by id.
type countingOrgs struct {
	ports.OrgRepository
	byID *atomic.Int64
}

func (c countingOrgs) ByID(ctx context.Context, id domain.ID) (domain.Organization, error) {
	c.byID.Add(1)
	return c.OrgRepository.ByID(ctx, id)
}

// countingClaims counts the claim reads.
type countingClaims struct {
	ports.ClaimRegistry
	reads *atomic.Int64
}

func (c countingClaims) Claim(ctx context.Context, key string) (domain.Claim, error) {
	c.reads.Add(1)
	return c.ClaimRegistry.Claim(ctx, key)
}

// TestGetOrgReadsOneDocument pins the cost of GET /org/get: one store
// read (the organization, by id) once the name has been found, whatever
// the number of organizations; a name whose organization moved on (a
// rename, a delete, the name taken by another) reads its claim again and
// answers what the claim says.
func TestGetOrgReadsOneDocument(t *testing.T) {
	var orgReads, claimReads atomic.Int64
	h := newHarness(t)
	st := h.store
	counted := h.withPorts(t, func(d *usecase.Deps) {
		d.Orgs = countingOrgs{st.Orgs(), &orgReads}
		d.Names = countingClaims{st.Names(), &claimReads}
	})
	ctx := context.Background()
	h.create(t, "acme", "a@acme.test", "password1")
	reads := func(name string) (int64, int64, error) {
		orgReads.Store(0)
		claimReads.Store(0)
		_, err := counted.GetOrg(ctx, name)
		return orgReads.Load(), claimReads.Load(), err
	}
	o, c, err := reads("acme")
	require.NoError(t, err)
	assert.Equal(t, [2]int64{1, 1}, [2]int64{o, c}, "the first: its claim, then the organization")
	for _, name := range []string{"acme", "ACME", "acme"} {
		o, c, err = reads(name)
		require.NoError(t, err)
		assert.Equal(t, [2]int64{1, 0}, [2]int64{o, c}, "then one read: %s", name)
	}

	// Renamed away, and the name taken by another: the hint is wrong, the
	// claim decides, and the next GET is one read again.
	p, _ := h.login(t, "a@acme.test", "password1")
	newName := "acme_two"
	_, err = h.svc.UpdateOrg(ctx, p, usecase.UpdateOrgInput{Name: &newName})
	require.NoError(t, err)
	_, _, err = reads("acme")
	require.ErrorIs(t, err, domain.ErrOrgNotFound)
	other := h.create(t, "acme", "b@acme.test", "password1")
	got, err := counted.GetOrg(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, other.ID, got.ID, "the organization that carries the name now")
	o, c, err = reads("acme")
	require.NoError(t, err)
	assert.Equal(t, [2]int64{1, 0}, [2]int64{o, c})

	// Deleted: not found, from the claim.
	q, _ := h.login(t, "b@acme.test", "password1")
	_, err = h.svc.DeleteOrg(ctx, q, "acme", nil)
	require.NoError(t, err)
	_, c, err = reads("acme")
	require.ErrorIs(t, err, domain.ErrOrgNotFound)
	assert.Equal(t, int64(1), c, "the claim said it is gone")
}
