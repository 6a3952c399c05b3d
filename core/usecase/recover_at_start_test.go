package usecase_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
	"orgd/core/usecase"
	"orgd/ports"
)

// writeCountingOrgs counts the organization writes.
type writeCountingOrgs struct {
	ports.OrgRepository
	writes *atomic.Int64
}

func (c writeCountingOrgs) Replace(ctx context.Context, org domain.Organization, expected int64) error {
	c.writes.Add(1)
	return c.OrgRepository.Replace(ctx, org, expected)
}

// downLog is an event log that takes no event while down.
type downLog struct {
	ports.EventLog
	down *atomic.Bool
}

func (l downLog) Put(ctx context.Context, stream string, pos int64, e domain.Event) error {
	if l.down.Load() {
		return errors.New("event log down")
	}
	return l.EventLog.Put(ctx, stream, pos, e)
}

// TestRecoverAtStartWritesNothingForPlacedEvents: a start places every
// committed event before serving (an organization whose events a crash or
// an outage left out of the log), but leaves the outboxes whose events
// are all placed for the background pass: after many changes a start
// would otherwise wait for a write per organization changed.
func TestRecoverAtStartWritesNothingForPlacedEvents(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	var down atomic.Bool
	svc := h.withPorts(t, func(d *usecase.Deps) { d.Events = downLog{d.Events, &down} })
	for i := range 5 {
		_, err := svc.CreateOrg(ctx, usecase.CreateOrgInput{Name: fmt.Sprintf("placed%d", i), Email: fmt.Sprintf("p%d@x.test", i), Password: "password1"})
		require.NoError(t, err)
	}
	down.Store(true)
	unplaced, err := svc.CreateOrg(ctx, usecase.CreateOrgInput{Name: "unplaced", Email: "u@x.test", Password: "password1"})
	require.NoError(t, err, "committed; its event waits in its outbox")
	down.Store(false)

	var writes atomic.Int64
	start := h.withPorts(t, func(d *usecase.Deps) { d.Orgs = writeCountingOrgs{d.Orgs, &writes} })
	_, err = h.svc.EnsureSuperAdmin(ctx, "root@orgd.test", "root-password-123")
	require.NoError(t, err)
	root, _ := h.login(t, "root@orgd.test", "root-password-123")
	require.Empty(t, h.stream(t, root, usecase.EventQuery{OrgID: unplaced.ID}), "not in the log yet")
	writes.Store(0)
	_, err = start.RecoverAtStart(ctx, true)
	require.NoError(t, err)
	assert.Len(t, h.stream(t, root, usecase.EventQuery{OrgID: unplaced.ID}), 1, "the event the outage left out, placed before serving")
	assert.Zero(t, writes.Load(), "no outbox cleared at the start")

	_, err = start.RecoverPending(ctx, false)
	require.NoError(t, err)
	cleared := writes.Load()
	assert.Equal(t, int64(6), cleared, "the background pass clears the six outboxes")
	_, err = start.RecoverPending(ctx, false)
	require.NoError(t, err)
	assert.Equal(t, cleared, writes.Load(), "once")
}
