// Package metrics exposes orgd's Prometheus metrics: HTTP requests by route
// and status, rate-limit rejections, the password-hashing pool, store
// command latency, the lifecycle's integrity and the Go runtime.
package metrics

import (
	"context"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.mongodb.org/mongo-driver/v2/event"
)

// Metrics holds orgd's collectors in their own registry.
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	rateLimited prometheus.Counter
	store       *prometheus.HistogramVec
}

// New registers every collector, the Go runtime's and the process's
// included.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orgd_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "orgd_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "orgd_rate_limited_total", Help: "Requests refused with 429 by the per-IP rate limit.",
		}),
		store: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "orgd_store_command_duration_seconds", Help: "Store command latency by command and outcome.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1, 5},
		}, []string{"command", "outcome"}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.rateLimited, m.store,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveRequest counts one request; route is its registered path.
func (m *Metrics) ObserveRequest(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route, method).Observe(d.Seconds())
}

// RateLimited counts one request refused by the rate limit.
func (m *Metrics) RateLimited() { m.rateLimited.Inc() }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// HashPool publishes the password-hashing pool's occupancy.
func (m *Metrics) HashPool(stats func() (inUse, waiting int)) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "orgd_password_hash_in_progress", Help: "Password hashes running now."},
			func() float64 { n, _ := stats(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "orgd_password_hash_queued", Help: "Password hashes waiting for a slot."},
			func() float64 { _, n := stats(); return float64(n) }),
	)
}

// Lifecycle publishes how many times recovery met an operation it could
// not settle (each logged at ERROR with its organization).
func (m *Metrics) Lifecycle(stuck func() int64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "orgd_lifecycle_stuck_total",
		Help: "Operations recovery could not settle (logged at ERROR; run orgd check).",
	}, func() float64 { return float64(stuck()) }))
}

// Integrity publishes the periodic integrity audit's findings by kind
// (orgd_integrity_findings) and when it last completed; it returns the
// function that records an audit's counts.
func (m *Metrics) Integrity(kinds []string) func(counts map[string]int) {
	findings := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "orgd_integrity_findings", Help: "What the last integrity audit found, by kind (orgd check lists them).",
	}, []string{"kind"})
	last := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "orgd_integrity_last_audit_timestamp_seconds", Help: "When the last integrity audit completed.",
	})
	m.reg.MustRegister(findings, last)
	return func(counts map[string]int) {
		for _, k := range kinds {
			findings.WithLabelValues(k).Set(float64(counts[k]))
		}
		last.SetToCurrentTime()
	}
}

// Webhooks publishes webhook delivery: attempts by outcome
// (orgd_webhook_attempts_total{outcome}) and, per endpoint this orgd
// delivers, the age of the oldest event not yet delivered
// (orgd_webhook_oldest_undelivered_seconds{webhook_id}: endpoint ids,
// never URLs, so the labels stay bounded).
func (m *Metrics) Webhooks(stats func() (outcomes map[string]int64, lag map[string]time.Duration)) {
	m.reg.MustRegister(webhookCollector{stats: stats})
}

type webhookCollector struct {
	stats func() (map[string]int64, map[string]time.Duration)
}

var (
	webhookAttempts = prometheus.NewDesc("orgd_webhook_attempts_total",
		"Webhook delivery attempts by outcome: delivered (2xx), failed (retried), gone (410: disabled), no_secret (nothing sent).", []string{"outcome"}, nil)
	webhookLag = prometheus.NewDesc("orgd_webhook_oldest_undelivered_seconds",
		"Age of the oldest event not yet delivered, per endpoint this orgd delivers (0: none waiting).", []string{"webhook_id"}, nil)
)

func (webhookCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- webhookAttempts
	ch <- webhookLag
}

func (c webhookCollector) Collect(ch chan<- prometheus.Metric) {
	outcomes, lag := c.stats()
	for o, n := range outcomes {
		ch <- prometheus.MustNewConstMetric(webhookAttempts, prometheus.CounterValue, float64(n), o)
	}
	for id, d := range lag {
		ch <- prometheus.MustNewConstMetric(webhookLag, prometheus.GaugeValue, d.Seconds(), id)
	}
}

// Redis publishes whether the shared Redis answers (orgd_redis_up) and
// how many calls this process served from its own counters while it did
// not (orgd_redis_fallbacks_total).
func (m *Metrics) Redis(up func() bool, fallbacks func() int64) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "orgd_redis_up", Help: "1 while the shared Redis answers, 0 while rate limits and login back-off fall back to this process's own."},
			func() float64 {
				if up() {
					return 1
				}
				return 0
			}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "orgd_redis_fallbacks_total", Help: "Rate-limit and login back-off calls served from this process's own counters because Redis did not answer."},
			func() float64 { return float64(fallbacks()) }),
	)
}

// BuildInfo publishes orgd_build_info{version, revision, goversion} = 1.
func (m *Metrics) BuildInfo(version, revision string) {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "orgd_build_info", Help: "orgd's version and VCS revision; always 1.",
	}, []string{"version", "revision", "goversion"})
	g.WithLabelValues(version, revision, runtime.Version()).Set(1)
	m.reg.MustRegister(g)
}

// CommandMonitor times every store command.
func (m *Metrics) CommandMonitor() *event.CommandMonitor {
	return &event.CommandMonitor{
		Succeeded: func(_ context.Context, e *event.CommandSucceededEvent) {
			m.store.WithLabelValues(e.CommandName, "ok").Observe(e.Duration.Seconds())
		},
		Failed: func(_ context.Context, e *event.CommandFailedEvent) {
			m.store.WithLabelValues(e.CommandName, "error").Observe(e.Duration.Seconds())
		},
	}
}
