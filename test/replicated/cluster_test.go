//go:build mongodb

package replicated

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"orgd/adapters/mongodb"
	"orgd/adapters/mongodb/mongotest"
	"orgd/test/harness"
)

func TestMain(m *testing.M) {
	if os.Getenv(mongotest.EnvURI) == "" {
		fmt.Fprintf(os.Stderr, "%s must name the shared server these tests run on (task test:mongodb)\n", mongotest.EnvURI)
		os.Exit(2)
	}
	os.Exit(harness.Main(m))
}

const (
	secret = "replicated-secret-key-replicated-secret-key"
	// lease is the replicas' OPERATION_LEASE: short, so that a killed
	// replica's operations are taken over within seconds.
	lease = 3 * time.Second
)

// cluster is n replicas of orgd on one fresh master database of the
// shared server, sharing one Redis.
type cluster struct {
	t     testing.TB
	uri   string
	db    string
	redis *harness.Redis
	procs []atomic.Pointer[harness.Proc]
	next  atomic.Uint64
	mc    *mongo.Client // straight to the server
	extra map[string]string
}

func newCluster(t testing.TB, n int) *cluster {
	t.Helper()
	return newClusterVia(t, n, os.Getenv(mongotest.EnvURI), nil)
}

// newClusterVia starts n replicas that reach the shared server at uri
// (through a proxy, say), with extra configuration.
func newClusterVia(t testing.TB, n int, uri string, extra map[string]string) *cluster {
	t.Helper()
	var b [5]byte
	_, _ = rand.Read(b[:])
	c := &cluster{t: t, uri: uri, db: "orgd_rep_" + hex.EncodeToString(b[:]), redis: harness.StartRedis(t), extra: extra}
	mc, err := mongo.Connect(options.Client().ApplyURI(os.Getenv(mongotest.EnvURI)).SetServerSelectionTimeout(10 * time.Second))
	require.NoError(t, err)
	c.mc = mc
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = mc.Database(c.db).Drop(ctx)
		for i := range mongodb.TenantDatabases {
			_ = mc.Database(mongodb.TenantDatabaseName(c.db, i)).Drop(ctx)
		}
		_ = mc.Disconnect(ctx)
	})
	c.procs = make([]atomic.Pointer[harness.Proc], n)
	for i := range n {
		c.start(i)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for i := range c.procs {
				if p := c.procs[i].Load(); p != nil {
					t.Logf("logs of replica %d:\n%s", i, p.Logs())
				}
			}
		}
	})
	return c
}

// The cluster's super admin, who reads the event log.
const (
	rootEmail    = "root@platform.test"
	rootPassword = "root-password-long"
)

// env is replica i's configuration.
func (c *cluster) env(i int) map[string]string {
	env := map[string]string{
		"MONGODB_URI": c.uri, "MONGODB_DATABASE": c.db, "REDIS_URL": c.redis.URL,
		"SECRET_KEY": secret, "OPERATION_LEASE": lease.String(), "INSTANCE_ID": fmt.Sprintf("replica-%d", i),
		"FIRST_SUPERADMIN_EMAIL": rootEmail, "FIRST_SUPERADMIN_PASSWORD": rootPassword,
	}
	for k, v := range c.extra {
		env[k] = v
	}
	return env
}

// start (re)starts replica i.
func (c *cluster) start(i int) {
	c.t.Helper()
	c.procs[i].Store(harness.Start(c.t, harness.Options{Env: c.env(i)}))
}

// kill SIGKILLs replica i.
func (c *cluster) kill(i int) { c.procs[i].Load().Kill() }

// url is the next replica's base URL, round robin.
func (c *cluster) url() string {
	i := int(c.next.Add(1) % uint64(len(c.procs)))
	return c.procs[i].Load().URL
}

type reply struct {
	status int
	body   map[string]any
	raw    string
}

// call sends a request to replica i (-1: the next, round robin).
func (c *cluster) call(i int, method, path string, body any, token string) reply {
	c.t.Helper()
	base := c.url()
	if i >= 0 {
		base = c.procs[i].Load().URL
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(c.t, err)
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	require.NoError(c.t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func (c *cluster) create(i int, name, email string) {
	c.t.Helper()
	r := c.call(i, http.MethodPost, "/org/create", map[string]string{"organization_name": name, "email": email, "password": "password1"}, "")
	require.Equal(c.t, http.StatusCreated, r.status, r.raw)
}

func (c *cluster) login(i int, email string) string {
	c.t.Helper()
	r := c.call(i, http.MethodPost, "/admin/login", map[string]string{"email": email, "password": "password1"}, "")
	require.Equal(c.t, http.StatusOK, r.status, r.raw)
	return r.body["access_token"].(string)
}

// check runs orgd check online against the cluster's database and returns
// its report and exit code.
func (c *cluster) check(args ...string) (string, int) {
	c.t.Helper()
	cmd := exec.Command(harness.Binary(c.t), append([]string{"check"}, args...)...) //nolint:gosec // the test's own binary
	cmd.Dir = c.t.TempDir()
	cmd.Env = append(os.Environ(), "MONGODB_URI="+c.uri, "MONGODB_DATABASE="+c.db, "OPERATION_LEASE="+lease.String())
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if err == nil {
		return out.String(), 0
	}
	var exit *exec.ExitError
	require.ErrorAs(c.t, err, &exit, errOut.String())
	return out.String() + errOut.String(), exit.ExitCode()
}

// tenantDocs counts the documents of organization key's collection,
// found through its document as an operator would.
func (c *cluster) tenantDocs(key string) int64 {
	c.t.Helper()
	ctx := context.Background()
	coll, err := harness.TenantCollectionIn(ctx, c.mc, c.db, key)
	require.NoError(c.t, err)
	n, err := coll.CountDocuments(ctx, map[string]any{})
	require.NoError(c.t, err)
	return n
}

// harnessTenant returns organization key's collection.
func harnessTenant(c *cluster, key string) (*mongo.Collection, error) {
	return harness.TenantCollectionIn(context.Background(), c.mc, c.db, key)
}

// sendTo sends one request to base and returns its status.
func sendTo(base, method, path string, body any, token string) (int, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequest(method, base+path, bytes.NewReader(b)) //nolint:noctx // cut off by a kill
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
