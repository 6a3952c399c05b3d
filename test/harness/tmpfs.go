package harness

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// Tmpfs mounts a tmpfs of sizeMiB under a fresh directory and returns it;
// it is unmounted when the test ends. It needs root, as the machines that
// run this suite give it: a failure to mount fails the test.
func Tmpfs(t *testing.T, sizeMiB int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.Itoa(sizeMiB)+"m", "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("mount a %d MiB tmpfs (needs root): %v: %s", sizeMiB, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}
