package main

import (
	"fmt"
	"io"
	"time"
)

// progress shows how far a long command (export, import, a bulk revoke)
// has come: one line on stderr, rewritten in place at most every
// progressEvery and erased at the end. It shows only when stderr is a
// terminal and the output is the table (never in a pipe, a log file or with
// -o json/jsonl, where a line rewritten with \r would be noise), and never
// with --quiet. A zero or disabled progress ignores every call.
type progress struct {
	w     io.Writer
	what  string // "exported", "imported", ...
	unit  string // "passkey"
	n     int
	now   func() time.Time
	last  time.Time
	shown bool
}

// progressEvery is how often the line is rewritten.
const progressEvery = 250 * time.Millisecond

// newProgress returns the progress of a command with the given output
// format; now is the clock (time.Now when nil).
func newProgress(s *IOStreams, output, what, unit string, now func() time.Time) *progress {
	if !s.ErrTTY || s.Quiet || output != outputTable {
		return &progress{}
	}
	if now == nil {
		now = time.Now
	}
	return &progress{w: s.ErrOut, what: what, unit: unit, now: now, last: now()}
}

// Add counts k more units done and redraws the line when it is due.
func (p *progress) Add(k int) {
	if p.w == nil {
		return
	}
	p.n += k
	if t := p.now(); t.Sub(p.last) >= progressEvery {
		p.last = t
		p.draw()
	}
}

func (p *progress) draw() {
	line := fmt.Sprintf("%s %s…", p.what, plural(p.n, p.unit))
	// \r and the erase-to-end-of-line sequence rewrite the line in place.
	fmt.Fprintf(p.w, "\r%s\x1b[K", line)
	p.shown = true
}

// Set records that n units are done in all and redraws when it is due.
func (p *progress) Set(n int) {
	if p.w != nil {
		p.Add(n - p.n)
	}
}

// Start draws "what n units…" at once, for work that reports no steps (a
// bulk revoke: one transaction).
func (p *progress) Start(n int) {
	if p.w != nil {
		p.n = n
		p.draw()
	}
}

// Done erases the line, so that the summary that follows starts clean.
func (p *progress) Done() {
	if p.w != nil && p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
}
