package main

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBenchmarksKeepTheirNotes: BENCHMARKS.md is generated (task
// bench:update) and ends with test/orgbench/notes.md verbatim, so what
// is written by hand lives in the notes and survives the next update.
func TestBenchmarksKeepTheirNotes(t *testing.T) {
	doc, err := os.ReadFile("../../BENCHMARKS.md")
	require.NoError(t, err)
	notes, err := os.ReadFile("notes.md")
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(string(doc), string(notes)),
		"BENCHMARKS.md was edited by hand: move the edit into test/orgbench/notes.md")
}
