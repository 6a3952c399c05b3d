package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"orgd/core/usecase"
	"orgd/test/harness"
)

// checkReport runs orgd check on dir's store with args, and returns its
// JSON report (stdout) and exit code.
func checkReport(t *testing.T, dir string, args ...string) (map[string]any, int) {
	t.Helper()
	cmd := exec.CommandContext(ctx(t), harness.Binary(t), append([]string{"check", "--json"}, args...)...) //nolint:gosec // the test's own binary
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "MONGODB_URI=", "DATA_DIR="+dir, "MONGODB_DATABASE="+harness.Database)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if err != nil {
		require.ErrorAs(t, err, &exit, stderr.String())
		code = exit.ExitCode()
	}
	var rep map[string]any
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &rep), "stdout: %s\nstderr: %s", stdout.String(), stderr.String())
	return rep, code
}

func findingsOf(rep map[string]any, key string) []any {
	if key != "" {
		rep, _ = rep[key].(map[string]any)
	}
	f, _ := rep["findings"].([]any)
	return f
}

// TestCheck: orgd check finds nothing on a sound store, finds an
// organization whose name claim is gone (the duplicate-request defect's
// damage), exits 1, and --repair mends it so the organization is found
// again.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	p := harness.Start(t, harness.Options{DataDir: dir, Env: map[string]string{"SECRET_KEY": secret}})
	c := client{t: t, p: p}
	require.Equal(t, http.StatusCreated, c.create("acme", "admin@acme.test", "password1").status)
	require.Equal(t, http.StatusCreated, c.create("bravo", "admin@bravo.test", "password1").status)
	require.NoError(t, p.Stop())

	rep, code := checkReport(t, dir)
	assert.Equal(t, 0, code, "%v", rep)
	assert.Empty(t, findingsOf(rep, ""))
	assert.EqualValues(t, 2, rep["organizations"])

	p = harness.Start(t, harness.Options{DataDir: dir, Env: map[string]string{"SECRET_KEY": secret}})
	mc := mongoClient(t, p.MongoURI)
	_, err := mc.Database(harness.Database).Collection("name_claims").DeleteOne(ctx(t), bson.D{{Key: "_id", Value: "acme"}})
	require.NoError(t, err)
	require.NoError(t, p.Stop())

	rep, code = checkReport(t, dir)
	assert.Equal(t, 1, code, "findings exit 1")
	found := findingsOf(rep, "")
	require.Len(t, found, 1)
	assert.Equal(t, string(usecase.FindingNameClaim), found[0].(map[string]any)["kind"])
	assert.Equal(t, "acme", found[0].(map[string]any)["key"])

	rep, code = checkReport(t, dir, "--repair")
	assert.Equal(t, 0, code, "%v", rep)
	assert.Empty(t, findingsOf(rep, "left"))
	rep, code = checkReport(t, dir)
	assert.Equal(t, 0, code, "%v", rep)

	p = harness.Start(t, harness.Options{DataDir: dir, Env: map[string]string{"SECRET_KEY": secret}})
	c = client{t: t, p: p}
	assert.Equal(t, http.StatusOK, c.call(http.MethodGet, "/org/get?organization_name=acme", nil, "").status)
}
