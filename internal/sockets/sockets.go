// Package sockets keeps the network connections a database client opened,
// so that an interrupt (SIGINT, SIGTERM) can close them all at once: a
// driver blocked reading from a server that does not answer returns at
// once, and the command through its defers, instead of waiting out the
// driver's own timeout.
package sockets

import (
	"errors"
	"net"
	"sync"
)

// ErrInterrupted is what a connection opened after CloseAll fails with.
var ErrInterrupted = errors.New("interrupted: connections closed")

// Set is the open connections of one client. The zero value is ready.
type Set struct {
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// Add keeps c, just dialled; after CloseAll it closes c and returns
// ErrInterrupted instead.
func (s *Set) Add(c net.Conn) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return ErrInterrupted
	}
	if s.conns == nil {
		s.conns = map[net.Conn]struct{}{}
	}
	s.conns[c] = struct{}{}
	return nil
}

// Close closes c and forgets it: the client closed it itself.
func (s *Set) Close(c net.Conn) error {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	return c.Close()
}

// CloseAll closes every connection and refuses new ones.
func (s *Set) CloseAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	clear(s.conns)
}
