package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/db"
)

// passkeyWriter prints passkeys as `list` shows them, in every output
// format, one at a time so that long listings stream with flat memory.
// Every command that shows passkeys (list, revoke, serve) uses it. When
// stdout is not a terminal the output is buffered: always end with Close,
// or Flush when stopping on an error.
type passkeyWriter struct {
	io *IOStreams
	// out is where rows go: io.Out, through a buffer when it is not a
	// terminal (one write per row costs a system call each; a terminal
	// should see rows as they come). Close and Flush empty the buffer.
	out    io.Writer
	buf    *bufio.Writer
	format string
	// betterAuth adds Better Auth's NAME and CREATED AT columns to tables.
	betterAuth bool
	// wide shows full credential IDs in tables; on a terminal they are
	// shortened with an ellipsis unless --wide.
	wide  bool
	tw    *tabwriter.Writer
	jl    *jsonLines
	first bool
	count int
}

// credentialIDWidth is how much of a credential ID a terminal table shows.
const credentialIDWidth = 16

// tableBlock is how many rows a table aligns at a time. text/tabwriter
// keeps every row until it is flushed; flushing every tableBlock rows keeps
// memory flat for a table of a million passkeys, at the price of columns
// that may shift between blocks (use -o jsonl for such listings).
const tableBlock = 1000

func newPasskeyWriter(s *IOStreams, format string, wide bool) *passkeyWriter {
	w := &passkeyWriter{io: s, out: s.Out, format: format, wide: wide || !s.OutTTY, first: true}
	if !s.OutTTY {
		w.buf = bufio.NewWriterSize(s.Out, 64<<10)
		w.out = w.buf
	}
	return w
}

// Write prints one passkey.
func (w *passkeyWriter) Write(p db.Passkey) error {
	w.count++
	switch w.format {
	case outputJSONL:
		if w.jl == nil {
			w.jl = newJSONLines(w.out)
		}
		return w.jl.Write(p)
	case outputJSON:
		// A streamed JSON array: "[", objects separated by ",", "]".
		prefix := ",\n"
		if w.first {
			prefix = "[\n"
			w.first = false
		}
		b, err := marshalIndent(p)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w.out, "%s  %s", prefix, b)
		return err
	default:
		if w.tw == nil {
			w.tw = newTable(w.out)
			header := "CREDENTIAL ID\tUSER ID\tEMAIL\tALG\tDEVICE TYPE\tBACKED UP\tCOUNTER\tTRANSPORTS\tSTATUS"
			if w.betterAuth {
				header += "\tNAME\tCREATED AT"
			}
			fmt.Fprintln(w.tw, header)
		}
		id := p.CredentialID
		if !w.wide {
			id = ellipsize(id, credentialIDWidth)
		}
		email := "-"
		if p.Email != nil {
			email = *p.Email
		}
		transports := strings.Join(p.Transports, ",")
		if transports == "" {
			transports = "-"
		}
		extra := ""
		if w.betterAuth {
			name, created := "-", "-"
			if p.Name != nil {
				name = *p.Name
			}
			if p.CreatedAt != nil {
				created = p.CreatedAt.UTC().Format(time.RFC3339)
			}
			extra = "\t" + name + "\t" + created
		}
		_, err := fmt.Fprintf(w.tw, "%s\t%s\t%s\t%s\t%s\t%t\t%d\t%s\t%s%s\n", id, p.UserID, email, p.Algorithm, p.CredentialDeviceType, p.CredentialBackedUp, p.Counter, transports, p.Status, extra)
		if err == nil && w.count%tableBlock == 0 {
			err = w.tw.Flush()
		}
		return err
	}
}

// Flush writes out what is buffered without ending the output, for a
// command that stops with an error part-way: the rows already produced
// still reach stdout.
func (w *passkeyWriter) Flush() error {
	if w.tw != nil {
		if err := w.tw.Flush(); err != nil {
			return err
		}
	}
	if w.buf != nil {
		return w.buf.Flush()
	}
	return nil
}

// Close ends the output: closes the JSON array (an empty one when nothing
// was written) and flushes the table. A table with no rows prints nothing
// on stdout; callers say "no passkeys" on stderr when they want.
func (w *passkeyWriter) Close() error {
	var err error
	switch w.format {
	case outputJSON:
		if w.first {
			_, err = fmt.Fprintln(w.out, "[]")
		} else {
			_, err = fmt.Fprintln(w.out, "\n]")
		}
	}
	if err != nil {
		return err
	}
	return w.Flush()
}

// Count is how many passkeys were written.
func (w *passkeyWriter) Count() int { return w.count }
