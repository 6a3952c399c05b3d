package e2e

import (
	"os/exec"
	"path/filepath"
)

func runCmd(bin string, args ...string) (string, error) { return runCmdEnv(bin, nil, args...) }

func runCmdEnv(bin string, env []string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = filepath.Dir(bin)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}
