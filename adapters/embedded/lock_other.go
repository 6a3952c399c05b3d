//go:build !unix

package embedded

// lockDir is a no-op where flock is not available; run one orgd per
// data directory there.
func lockDir(string) (func(), error) { return func() {}, nil }
