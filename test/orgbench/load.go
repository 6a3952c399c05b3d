package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// result is one load point.
type result struct {
	Name        string
	Concurrency int
	Ops         int
	Errors      int
	Elapsed     time.Duration
	P50, P99    time.Duration
	// Sample holds the first few errors, to say what failed.
	Sample []string
}

// Throughput is operations per second.
func (r result) Throughput() float64 { return float64(r.Ops) / r.Elapsed.Seconds() }

// closedLoop runs op from c workers until d passes (or, with limit > 0,
// until limit operations ran) and summarizes the latencies. op gets the
// worker and the operation number.
func closedLoop(ctx context.Context, name string, c int, d time.Duration, limit int, op func(ctx context.Context, worker, i int) error) result {
	var (
		mu      sync.Mutex
		lat     []time.Duration
		errs    int
		sample  []string
		counter atomic.Int64
		wg      sync.WaitGroup
	)
	deadline := time.Now().Add(d)
	start := time.Now()
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			var firstErr error
			bad := 0
			for ctx.Err() == nil {
				i := int(counter.Add(1)) - 1
				if (limit > 0 && i >= limit) || (limit == 0 && time.Now().After(deadline)) {
					break
				}
				t0 := time.Now()
				if err := op(ctx, w, i); err != nil {
					if firstErr == nil {
						firstErr = err
					}
					bad++
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += bad
			if firstErr != nil && len(sample) < 3 {
				sample = append(sample, firstErr.Error())
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	r := result{Name: name, Concurrency: c, Ops: len(lat), Errors: errs, Elapsed: time.Since(start), Sample: sample}
	if len(lat) > 0 {
		slices.Sort(lat)
		r.P50 = lat[len(lat)/2]
		r.P99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	return r
}

// api is a small JSON client for orgd.
type api struct {
	base string
	http *http.Client
}

func newAPI(base string, conns int) *api {
	tr := &http.Transport{MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2, IdleConnTimeout: time.Minute}
	return &api{base: base, http: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}
}

// do sends body as JSON and decodes a JSON answer into out (if non-nil);
// a status other than want is an error.
func (a *api) do(ctx context.Context, method, path, token string, body any, want int, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

func (a *api) create(ctx context.Context, name string) error {
	return a.do(ctx, http.MethodPost, "/org/create", "", map[string]string{
		"organization_name": name, "email": name + "@bench.test", "password": benchPassword,
	}, http.StatusCreated, nil)
}

func (a *api) login(ctx context.Context, name string) (string, error) {
	var out struct {
		AccessToken string `json:"access_token"`
	}
	err := a.do(ctx, http.MethodPost, "/admin/login", "", map[string]string{"email": name + "@bench.test", "password": benchPassword}, http.StatusOK, &out)
	return out.AccessToken, err
}

const benchPassword = "bench-password-1"
