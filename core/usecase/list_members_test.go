package usecase_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
	"orgd/core/usecase"
	"orgd/ports"
)

// countingRosters counts the roster pages read.
type countingRosters struct {
	ports.Rosters
	reads atomic.Int64
}

// TestListMembersCostIsFlat pins the mechanism that keeps a page of
// members as cheap at any size: it reads the organization and at most
// the two roster pages a page of the list spans.
func TestListMembersCostIsFlat(t *testing.T) {
	ctx := context.Background()
	rosters := &countingRosters{}
	h := newHarnessWith(t, usecase.Deps{Rosters: rosters})
	rosters.Rosters = h.store.Rosters()
	h.create(t, "acme", "a@x.test", "password1")
	owner, _ := h.login(t, "a@x.test", "password1")
	const n = 2*domain.RosterPageSize + 50
	for i := range n - 1 {
		h.join(t, owner, fmt.Sprintf("m%03d@x.test", i), domain.RoleMember)
	}
	seen := map[domain.Email]bool{}
	for page := 1; page <= (n+29)/30; page++ {
		rosters.reads.Store(0)
		res, err := h.svc.ListMembers(ctx, owner, "", page, 30)
		require.NoError(t, err)
		assert.LessOrEqual(t, rosters.reads.Load(), int64(2), "page %d reads at most two roster pages", page)
		assert.Positive(t, rosters.reads.Load(), "the pages are read through the counter")
		assert.EqualValues(t, n, res.Total)
		for _, m := range res.Items {
			assert.False(t, seen[m.Email], "%s listed once", m.Email)
			seen[m.Email] = true
		}
	}
	assert.Len(t, seen, n, "every member is listed")
	res, err := h.svc.ListMembers(ctx, owner, "", 1, 5)
	require.NoError(t, err)
	assert.Equal(t, domain.Email("a@x.test"), res.Items[0].Email, "in the order they joined")
	assert.Equal(t, domain.RoleOwner, res.Items[0].Role)
}
