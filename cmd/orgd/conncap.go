package main

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// connCap is a listener that holds at most max connections open. When it
// is full, it closes the connection that has gone longest without a whole
// request in progress (a keep-alive connection idle between requests, or
// one still sending its first request's headers, slowly or not at all)
// before it waits for a slot: idle and slow clients can never lock out new
// ones, probes included, and the process never runs out of file
// descriptors for its store connections. A connection whose request is
// being handled is never shed.
type connCap struct {
	net.Listener
	slots chan struct{}

	mu    sync.Mutex
	conns map[net.Conn]connInfo
}

// connInfo is where one connection is, and since when.
type connInfo struct {
	state http.ConnState
	since time.Time
}

func newConnCap(ln net.Listener, maxConns int) *connCap {
	return &connCap{Listener: ln, slots: make(chan struct{}, maxConns), conns: map[net.Conn]connInfo{}}
}

// Accept waits for a slot, shedding a connection that is not handling a
// request if there is none.
func (l *connCap) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	default:
		l.shed()
		l.slots <- struct{}{}
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &cappedConn{Conn: c, release: sync.OnceFunc(func() { <-l.slots })}, nil
}

// shed closes the connection that has waited longest without a request in
// progress (new or idle), if any.
func (l *connCap) shed() {
	l.mu.Lock()
	defer l.mu.Unlock()
	var oldest net.Conn
	var since time.Time
	for c, info := range l.conns {
		if info.state != http.StateNew && info.state != http.StateIdle {
			continue
		}
		if oldest == nil || info.since.Before(since) {
			oldest, since = c, info.since
		}
	}
	if oldest != nil {
		delete(l.conns, oldest)
		_ = oldest.Close()
	}
}

// track is the server's ConnState hook: it keeps each connection's state
// and when it entered it.
func (l *connCap) track(c net.Conn, s http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch s {
	case http.StateClosed, http.StateHijacked:
		delete(l.conns, c)
	default:
		l.conns[c] = connInfo{state: s, since: time.Now()}
	}
}

type cappedConn struct {
	net.Conn
	release func()
}

func (c *cappedConn) Close() error {
	c.release()
	return c.Conn.Close()
}

// connectionCap is how many client connections orgd holds at once:
// MAX_CONNECTIONS if set, else a quarter of the file limit is kept for the
// store's connections and files and the rest serves clients. A configured
// cap is lowered to fit the file limit the same way.
func connectionCap(configured, files int) int {
	const fallback = 1024
	if files <= 0 {
		if configured > 0 {
			return configured
		}
		return fallback
	}
	fits := max(files-max(files/4, 64), 16)
	if configured > 0 {
		return min(configured, fits)
	}
	return fits
}
