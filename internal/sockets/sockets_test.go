package sockets

import (
	"errors"
	"net"
	"testing"
	"time"
)

// CloseAll ends a read blocked on a socket at once and refuses sockets
// dialled after it; a socket closed by its client is forgotten.
func TestCloseAll(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // never answers
		}
	}()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	var s Set
	first, second := dial(), dial()
	for _, c := range []net.Conn{first, second} {
		if err := s.Add(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(first); err != nil {
		t.Fatal(err)
	}
	if len(s.conns) != 1 {
		t.Fatalf("%d sockets kept after one was closed, want 1", len(s.conns))
	}
	read := make(chan error, 1)
	go func() {
		_, err := second.Read(make([]byte, 1))
		read <- err
	}()
	time.Sleep(50 * time.Millisecond)
	s.CloseAll()
	select {
	case err := <-read:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("the blocked read returned %v, want net.ErrClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the blocked read is still waiting 2s after CloseAll")
	}
	late := dial()
	if err := s.Add(late); !errors.Is(err, ErrInterrupted) {
		t.Errorf("Add after CloseAll: %v, want ErrInterrupted", err)
	}
	if _, err := late.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("a socket refused after CloseAll is open: write returned %v", err)
	}
}
