package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"orgd/test/harness"
)

// BenchmarkWebhookLag measures how long a change takes to reach a
// receiver: from its commit (the body's timestamp) to the receiver's
// acknowledgement, at 50 changes per second for WEBHOOK_LAG_FOR (default
// 10s), on the embedded store. It reports the p50, p99 and max.
//
//	go test ./test/e2e -run '^$' -bench WebhookLag -benchtime 1x
func BenchmarkWebhookLag(b *testing.B) {
	span := 10 * time.Second
	if v := os.Getenv("WEBHOOK_LAG_FOR"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatal(err)
		}
		span = d
	}
	const rate = 50
	for range b.N {
		p := harness.Start(b, harness.Options{Env: hookEnv(map[string]string{"SECRET_KEY": secret})})
		c := benchClient{b: b, p: p}
		root := c.login("root@platform.test", "root-password-long")
		rcv := harness.NewReceiver(b)
		rcv.Trust(c.post("/webhooks", map[string]any{"url": rcv.URL}, root)["secret"].(string))
		// Changes go to five organizations, each sent on its tick whether
		// the one before has been answered or not.
		const orgs = 5
		owners := make([]string, orgs)
		for o := range orgs {
			c.post("/org/create", map[string]any{"organization_name": fmt.Sprintf("lag%d", o), "email": fmt.Sprintf("owner@lag%d.test", o), "password": "password1"}, "")
			owners[o] = c.login(fmt.Sprintf("owner@lag%d.test", o), "password1")
		}
		tick := time.NewTicker(time.Second / rate)
		n := int(span.Seconds() * rate)
		start := time.Now()
		var wg sync.WaitGroup
		for i := range n {
			<-tick.C
			wg.Go(func() {
				if _, err := c.try("/org/invitations", map[string]any{"email": fmt.Sprintf("m%d@lag.test", i), "role": "member"}, owners[i%orgs]); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
		tick.Stop()
		achieved := float64(n) / time.Since(start).Seconds()
		deadline := time.Now().Add(time.Minute)
		var lags []time.Duration
		for time.Now().Before(deadline) {
			lags = lags[:0]
			for _, d := range rcv.Got() {
				if d.Type == "invitation.created" {
					lags = append(lags, d.At.Sub(d.Committed))
				}
			}
			if len(lags) >= n {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if len(lags) < n {
			b.Fatalf("%d of %d changes delivered", len(lags), n)
		}
		slices.Sort(lags)
		ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
		b.ReportMetric(achieved, "changes/s")
		b.ReportMetric(ms(lags[len(lags)/2]), "p50-ms")
		b.ReportMetric(ms(lags[len(lags)*99/100]), "p99-ms")
		b.ReportMetric(ms(lags[len(lags)-1]), "max-ms")
		p.Kill()
	}
}

// benchClient is the few calls the benchmark makes.
type benchClient struct {
	b *testing.B
	p *harness.Proc
}

func (c benchClient) post(path string, body map[string]any, token string) map[string]any {
	c.b.Helper()
	m, err := c.try(path, body, token)
	if err != nil {
		c.b.Fatal(err)
	}
	return m
}

// try is post, from any goroutine: it returns what went wrong.
func (c benchClient) try(path string, body map[string]any, token string) (map[string]any, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	resp, out, err := c.p.Do(c.b.Context(), http.MethodPost, path, raw, h)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, out)
	}
	var m map[string]any
	return m, json.Unmarshal(out, &m)
}

func (c benchClient) login(email, pw string) string {
	return c.post("/admin/login", map[string]any{"email": email, "password": pw}, "")["access_token"].(string)
}
