package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
)

func runCmd(bin string, args ...string) (string, error) { return runCmdEnv(bin, nil, args...) }

func runCmdEnv(bin string, env []string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = filepath.Dir(bin)
	cmd.Env = env
	if cover := os.Getenv("ORGD_COVERDIR"); cover != "" && env != nil {
		cmd.Env = append(cmd.Env, "GOCOVERDIR="+cover) // task cover: the binary's counters (a nil env inherits them)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}
