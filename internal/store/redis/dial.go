package redis

import (
	"context"
	"net"
	"sync"
	"syscall"
	"time"
)

// sockets dials the client's connections: each waits for the server's
// first answer (the HELLO that opens it) no longer than the connect
// timeout, and closeAll closes every one at once (Options.Interrupt).
//
// go-redis sets a read deadline of ReadTimeout (30 s) before each reply,
// and its context deadlines are off (ContextTimeoutEnabled would also cut
// an EXEC's reply short, leaving a committed change reported as failed):
// without this, a server that accepts the connection and never answers
// held passkeyctl for 30 s whatever --connect-timeout said, and a Ctrl-C
// waited for the backstop.
type sockets struct {
	dial           func(ctx context.Context, network, addr string) (net.Conn, error)
	connectTimeout time.Duration

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func (s *sockets) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := s.dial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return nil, errInterrupted
	}
	s.conns[c] = struct{}{}
	a := &answerConn{Conn: c, set: s, until: time.Now().Add(s.connectTimeout)}
	if _, ok := c.(syscall.Conn); ok {
		// go-redis checks an idle connection's health through its
		// file descriptor, when the connection offers one.
		return &answerSyscallConn{a}, nil
	}
	return a, nil
}

// closeAll closes every socket and refuses new ones: a command blocked on
// a server that does not answer returns at once (the server drops what
// the connection had queued; a MULTI never EXECed is discarded).
func (s *sockets) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	clear(s.conns)
}

// answerConn is a connection whose reads, until the server has sent its
// first bytes, wait no later than until.
type answerConn struct {
	net.Conn
	set      *sockets
	until    time.Time
	answered bool
	// asked is the read deadline go-redis last set, restored once the
	// server has answered.
	asked time.Time
}

func (c *answerConn) SetReadDeadline(t time.Time) error {
	c.asked = t
	if !c.answered && (t.IsZero() || t.After(c.until)) {
		t = c.until
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *answerConn) SetDeadline(t time.Time) error {
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.SetReadDeadline(t)
}

func (c *answerConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && !c.answered {
		c.answered = true
		c.Conn.SetReadDeadline(c.asked)
	}
	return n, err
}

func (c *answerConn) Close() error {
	c.set.mu.Lock()
	delete(c.set.conns, c.Conn)
	c.set.mu.Unlock()
	return c.Conn.Close()
}

// answerSyscallConn is an answerConn over a connection with a file
// descriptor (plain TCP; TLS has none).
type answerSyscallConn struct{ *answerConn }

func (c *answerSyscallConn) SyscallConn() (syscall.RawConn, error) {
	return c.Conn.(syscall.Conn).SyscallConn()
}
