package usecase_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
	"orgd/core/usecase"
)

// snapshotter records that it was asked.
type snapshotter struct{ taken int }

func (s *snapshotter) Snapshot(_ context.Context, w io.Writer) error {
	s.taken++
	_, err := w.Write([]byte("snapshot"))
	return err
}

func TestSnapshotIsForTheSuperAdminOfAnEmbeddedStore(t *testing.T) {
	ctx := context.Background()
	snaps := &snapshotter{}
	h := newHarnessWith(t, usecase.Deps{Snapshots: snaps})
	var out bytes.Buffer
	open := func() io.Writer { return &out }

	err := h.svc.Snapshot(ctx, domain.Principal{AdminID: "a", OrgID: "o"}, open)
	require.ErrorIs(t, err, domain.ErrSuperAdminOnly)
	assert.Zero(t, snaps.taken, "refused before the store is asked")
	require.NoError(t, h.svc.Snapshot(ctx, domain.Principal{AdminID: "root", Super: true}, open))
	assert.Equal(t, "snapshot", out.String())

	without := newHarness(t)
	err = without.svc.Snapshot(ctx, domain.Principal{AdminID: "root", Super: true}, open)
	require.ErrorIs(t, err, domain.ErrNoSnapshots, "MongoDB is backed up with its own tools")
}
