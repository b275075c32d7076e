package main

import (
	"bytes"
	"testing"
	"time"
)

// TestProgress: on a terminal the line is rewritten at most every
// progressEvery and erased at the end; in a pipe, with -o json or --quiet
// nothing is written at all.
func TestProgress(t *testing.T) {
	clock := time.Unix(0, 0)
	now := func() time.Time { return clock }
	var buf bytes.Buffer
	s := &IOStreams{ErrOut: &buf, ErrTTY: true}
	p := newProgress(s, outputTable, "exported", "passkey", now)
	p.Add(1) // not due yet
	clock = clock.Add(progressEvery)
	p.Add(1)
	clock = clock.Add(progressEvery / 2)
	p.Add(1) // not due
	clock = clock.Add(progressEvery)
	p.Add(2)
	p.Done()
	want := "\rexported 2 passkeys…\x1b[K\rexported 5 passkeys…\x1b[K\r\x1b[K"
	if got := buf.String(); got != want {
		t.Errorf("terminal: %q, want %q", got, want)
	}

	for name, s := range map[string]*IOStreams{
		"pipe":  {ErrOut: &buf},
		"quiet": {ErrOut: &buf, ErrTTY: true, Quiet: true},
	} {
		buf.Reset()
		p := newProgress(s, outputTable, "exported", "passkey", now)
		clock = clock.Add(time.Second)
		p.Add(10)
		p.Done()
		if buf.Len() != 0 {
			t.Errorf("%s: wrote %q", name, buf.String())
		}
	}
	buf.Reset()
	p = newProgress(s, outputJSON, "exported", "passkey", now)
	clock = clock.Add(time.Second)
	p.Add(10)
	if buf.Len() != 0 {
		t.Errorf("-o json: wrote %q", buf.String())
	}
}

// TestProgress_setAndStart: Set counts to a total read so far; Start draws
// at once, for work that reports no steps.
func TestProgress_setAndStart(t *testing.T) {
	clock := time.Unix(0, 0)
	var buf bytes.Buffer
	p := newProgress(&IOStreams{ErrOut: &buf, ErrTTY: true}, outputTable, "read", "record", func() time.Time { return clock })
	clock = clock.Add(progressEvery)
	p.Set(40)
	clock = clock.Add(progressEvery)
	p.Set(90)
	p.Done()
	if want := "\rread 40 records…\x1b[K\rread 90 records…\x1b[K\r\x1b[K"; buf.String() != want {
		t.Errorf("Set: %q, want %q", buf.String(), want)
	}
	buf.Reset()
	p = newProgress(&IOStreams{ErrOut: &buf, ErrTTY: true}, outputTable, "revoking", "passkey", func() time.Time { return clock })
	p.Start(5000)
	if want := "\rrevoking 5000 passkeys…\x1b[K"; buf.String() != want {
		t.Errorf("Start: %q, want %q", buf.String(), want)
	}
}
