package redis

import (
	"context"
	"net"
	"syscall"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/sockets"
)

// dialer dials the client's connections: each waits for the server's
// first answer (the HELLO that opens it) no longer than the connect
// timeout, and open.CloseAll closes every one at once (Options.Interrupt;
// the server drops what a connection had queued: a MULTI never EXECed is
// discarded).
//
// go-redis sets a read deadline of ReadTimeout (30 s) before each reply,
// and its context deadlines are off (ContextTimeoutEnabled would also cut
// an EXEC's reply short, leaving a committed change reported as failed):
// without this, a server that accepts the connection and never answers
// held passkeyctl for 30 s whatever --connect-timeout said, and a Ctrl-C
// waited for the backstop.
type dialer struct {
	dial           func(ctx context.Context, network, addr string) (net.Conn, error)
	connectTimeout time.Duration
	open           sockets.Set
}

func (d *dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := d.dial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if err := d.open.Add(c); err != nil {
		return nil, err
	}
	a := &answerConn{Conn: c, open: &d.open, until: time.Now().Add(d.connectTimeout)}
	if _, ok := c.(syscall.Conn); ok {
		// go-redis checks an idle connection's health through its
		// file descriptor, when the connection offers one.
		return &answerSyscallConn{a}, nil
	}
	return a, nil
}

// answerConn is a connection whose reads, until the server has sent its
// first bytes, wait no later than until.
type answerConn struct {
	net.Conn
	open     *sockets.Set
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

func (c *answerConn) Close() error { return c.open.Close(c.Conn) }

// answerSyscallConn is an answerConn over a connection with a file
// descriptor (plain TCP; TLS has none).
type answerSyscallConn struct{ *answerConn }

func (c *answerSyscallConn) SyscallConn() (syscall.RawConn, error) {
	return c.Conn.(syscall.Conn).SyscallConn()
}
