package main

import (
	"net"
	"net/http"
	"sync"
)

// connCap is a listener that holds at most max connections open. When it
// is full, it closes the longest-idle keep-alive connection (a client
// reconnects transparently) before waiting for a slot, so idle clients can
// never lock out new ones, and the process never runs out of file
// descriptors for its store connections. Connections that have sent no
// request yet are bounded by the server's ReadHeaderTimeout instead.
type connCap struct {
	net.Listener
	slots chan struct{}

	mu   sync.Mutex
	idle map[net.Conn]struct{} // keep-alive connections between requests, in no order
}

func newConnCap(ln net.Listener, maxConns int) *connCap {
	return &connCap{Listener: ln, slots: make(chan struct{}, maxConns), idle: map[net.Conn]struct{}{}}
}

// Accept waits for a slot, shedding an idle connection if there is none.
func (l *connCap) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	default:
		l.shedIdle()
		l.slots <- struct{}{}
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &cappedConn{Conn: c, release: sync.OnceFunc(func() { <-l.slots })}, nil
}

// shedIdle closes one idle connection, if any.
func (l *connCap) shedIdle() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.idle {
		delete(l.idle, c)
		_ = c.Close()
		return
	}
}

// track is the server's ConnState hook: it keeps the set of idle
// connections.
func (l *connCap) track(c net.Conn, s http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s == http.StateIdle {
		l.idle[c] = struct{}{}
	} else {
		delete(l.idle, c)
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
