package harness

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Receiver is a webhook receiver on a loopback port, as a user would
// write one: it verifies each delivery with the Standard Webhooks
// reference library before acknowledging it. It can go down (its port
// refuses connections) and come back on the same port.
type Receiver struct {
	URL  string
	addr string

	mu       sync.Mutex
	ln       net.Listener
	srv      *http.Server
	secrets  []string
	got      []Delivery
	refused  int
	delay    time.Duration
	answerFn func(Delivery) int
}

// Delivery is one delivery the receiver verified.
type Delivery struct {
	ID   string // webhook-id
	Type string
	// Event is the event's view (the body's data).
	Event map[string]any
	// Started is when its request arrived, At when it was acknowledged;
	// Committed is the body's timestamp (when the change committed).
	Started, At, Committed time.Time
}

// OrgID is the delivery's organization id ("" for none).
func (d Delivery) OrgID() string {
	id, _ := d.Event["organization_id"].(string)
	return id
}

// NewReceiver starts a receiver; it stops when the test ends.
func NewReceiver(t testing.TB) *Receiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &Receiver{addr: ln.Addr().String()}
	r.URL = "http://" + r.addr + "/hook"
	r.serve(ln)
	t.Cleanup(r.Down)
	return r
}

// Trust makes the receiver accept deliveries signed with secret (a
// whsec_ secret as orgd showed it), besides those it trusted already.
func (r *Receiver) Trust(secret string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets = append(r.secrets, secret)
}

// Delay makes each answer wait d (a slow receiver).
func (r *Receiver) Delay(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delay = d
}

// AnswerWith makes the receiver answer verified deliveries with the
// status fn says (nil: 204).
func (r *Receiver) AnswerWith(fn func(Delivery) int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answerFn = fn
}

func (r *Receiver) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(r.handle), ReadHeaderTimeout: 5 * time.Second}
	r.mu.Lock()
	r.ln, r.srv = ln, srv
	r.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// verifies reports whether a delivery is signed with one of secrets, as
// the reference library checks it.
func verifies(secrets []string, body []byte, h http.Header) bool {
	for _, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err == nil && wh.Verify(body, h) == nil {
			return true
		}
	}
	return false
}

func (r *Receiver) handle(w http.ResponseWriter, req *http.Request) {
	started := time.Now()
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	r.mu.Lock()
	secrets, delay, answer := append([]string(nil), r.secrets...), r.delay, r.answerFn
	r.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	verified := err == nil && verifies(secrets, body, req.Header)
	// The first delivery can come before the registration's answer, and
	// so before the test hands its secret on (Trust): wait a moment for a
	// secret trusted since.
	for wait := time.Now().Add(2 * time.Second); !verified && time.Now().Before(wait); {
		time.Sleep(10 * time.Millisecond)
		r.mu.Lock()
		newer := len(r.secrets) > len(secrets)
		if newer {
			secrets = append([]string(nil), r.secrets...)
		}
		r.mu.Unlock()
		if newer {
			verified = err == nil && verifies(secrets, body, req.Header)
		}
	}
	var msg struct {
		Type      string         `json:"type"`
		Timestamp time.Time      `json:"timestamp"`
		Data      map[string]any `json:"data"`
	}
	if !verified || json.Unmarshal(body, &msg) != nil || msg.Data["id"] != req.Header.Get("webhook-id") {
		r.mu.Lock()
		r.refused++
		r.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	d := Delivery{ID: req.Header.Get("webhook-id"), Type: msg.Type, Event: msg.Data, Started: started, At: time.Now(), Committed: msg.Timestamp}
	status := http.StatusNoContent
	if answer != nil {
		status = answer(d)
	}
	if status >= 200 && status < 300 {
		r.mu.Lock()
		r.got = append(r.got, d)
		r.mu.Unlock()
	}
	w.WriteHeader(status)
}

// Down closes the receiver's port: connections are refused until Up.
func (r *Receiver) Down() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// Up opens the receiver's port again.
func (r *Receiver) Up(t testing.TB) {
	t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port may linger a moment after Close
		if ln, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(errors.Join(errors.New("receiver up again"), err))
	}
	r.serve(ln)
}

// Got returns the deliveries acknowledged so far, in arrival order.
func (r *Receiver) Got() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Delivery(nil), r.got...)
}

// Refused counts the deliveries that did not verify.
func (r *Receiver) Refused() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.refused
}

// FirstSeen is the ids of deliveries in the order each first arrived, and
// how many arrived more than once.
func FirstSeen(ds []Delivery) (ids []string, repeats int) {
	seen := map[string]bool{}
	for _, d := range ds {
		if seen[d.ID] {
			repeats++
			continue
		}
		seen[d.ID] = true
		ids = append(ids, d.ID)
	}
	return ids, repeats
}
