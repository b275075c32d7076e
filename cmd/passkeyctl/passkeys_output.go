package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// recordWriter prints records of one kind (passkeys, orphan accounts) in
// every output format, one at a time, so that long listings stream with
// flat memory: a JSON array written element by element, JSON lines, or an
// aligned table. When stdout is not a terminal the output is buffered:
// always end with Close, or Flush when stopping on an error.
type recordWriter[T any] struct {
	// out is where rows go: stdout, through a buffer when it is not a
	// terminal (one write per row costs a system call each; a terminal
	// should see rows as they come). Close and Flush empty the buffer.
	out    io.Writer
	buf    *bufio.Writer
	format string
	// header and row make the table: tab-separated columns.
	header func() string
	row    func(T) string
	tw     *tabwriter.Writer
	jl     *jsonLines
	// appendJSON, when set, appends a record as jsonLines writes it
	// (passkey.Passkey.AppendJSON), into line, a buffer reused from row to
	// row: reflection was a tenth of list's CPU per row.
	appendJSON func(T, []byte) ([]byte, error)
	line       []byte
	count      int
}

// collectLessOften sets GOGC to 400, unless the environment sets it, for
// a command that streams a whole table, and returns what restores it. A
// full listing or export makes a few hundred bytes of short-lived garbage
// per passkey over a live heap of a few megabytes, so the default GOGC=100
// collects every few thousand rows. 400 saves most of that work for about
// 15 MB more (peak RSS stays near 40 MB on a million passkeys; see
// BenchmarkList1M). Only for streams: a command that holds every
// passkey would hold five times its live heap.
func collectLessOften() (restore func()) {
	if _, set := os.LookupEnv("GOGC"); set {
		return func() {}
	}
	old := debug.SetGCPercent(400)
	return func() { debug.SetGCPercent(old) }
}

// credentialIDWidth is how much of a credential ID a terminal table shows.
const credentialIDWidth = 16

// tableBlock is how many rows a table aligns at a time. text/tabwriter
// keeps every row until it is flushed; flushing every tableBlock rows keeps
// memory flat for a table of a million passkeys, at the price of columns
// that may shift between blocks (use -o jsonl for such listings).
const tableBlock = 1000

func newRecordWriter[T any](s *IOStreams, format string, header func() string, row func(T) string) *recordWriter[T] {
	w := &recordWriter[T]{out: s.Out, format: format, header: header, row: row}
	if !s.OutTTY {
		w.buf = bufio.NewWriterSize(s.Out, 64<<10)
		w.out = w.buf
	}
	return w
}

// Write prints one record.
func (w *recordWriter[T]) Write(r T) error {
	w.count++
	switch w.format {
	case outputJSONL:
		if w.appendJSON != nil {
			// On an error (a time encoding/json refuses) the encoder
			// below says it in its own words.
			if line, err := w.appendJSON(r, w.line[:0]); err == nil {
				w.line = append(line, '\n')
				_, err = w.out.Write(w.line)
				return err
			}
		}
		if w.jl == nil {
			w.jl = newJSONLines(w.out)
		}
		return w.jl.Write(r)
	case outputJSON:
		// A streamed JSON array: "[", objects separated by ",", "]".
		prefix := ",\n"
		if w.count == 1 {
			prefix = "[\n"
		}
		b, err := marshalIndent(r)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w.out, "%s  %s", prefix, b)
		return err
	default:
		if w.tw == nil {
			w.tw = newTable(w.out)
			fmt.Fprintln(w.tw, w.header())
		}
		_, err := fmt.Fprintln(w.tw, w.row(r))
		if err == nil && w.count%tableBlock == 0 {
			err = w.tw.Flush()
		}
		return err
	}
}

// Flush writes out what is buffered without ending the output, for a
// command that stops with an error part-way: the rows already produced
// still reach stdout.
func (w *recordWriter[T]) Flush() error {
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
func (w *recordWriter[T]) Close() error {
	if w.format == outputJSON {
		end := "\n]"
		if w.count == 0 {
			end = "[]"
		}
		if _, err := fmt.Fprintln(w.out, end); err != nil {
			return err
		}
	}
	return w.Flush()
}

// Count is how many records were written.
func (w *recordWriter[T]) Count() int { return w.count }

// passkeyWriter prints passkeys as `list` shows them. Every command that
// shows passkeys (list, revoke, serve) uses it.
type passkeyWriter struct {
	*recordWriter[passkey.Passkey]
	// named adds the NAME and CREATED AT columns of apps that store them
	// (store.Description.Named) to tables.
	named bool
}

// newPasskeyWriter returns a passkey writer; wide shows full credential
// IDs in tables, which on a terminal are otherwise shortened with an
// ellipsis.
func newPasskeyWriter(s *IOStreams, format string, wide bool) *passkeyWriter {
	wide = wide || !s.OutTTY
	w := &passkeyWriter{}
	w.recordWriter = newRecordWriter(s, format, func() string {
		header := "CREDENTIAL ID\tUSER ID\tEMAIL\tALG\tDEVICE TYPE\tBACKED UP\tCOUNTER\tTRANSPORTS\tSTATUS"
		if w.named {
			header += "\tNAME\tCREATED AT"
		}
		return header
	}, func(p passkey.Passkey) string {
		transports := strings.Join(p.Transports, ",")
		if transports == "" {
			transports = "-"
		}
		row := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%t\t%d\t%s\t%s", tableID(p.CredentialID, wide), p.UserID, orDash(p.Email),
			p.Algorithm, p.CredentialDeviceType, p.CredentialBackedUp, p.Counter, transports, p.Status)
		if w.named {
			created := "-"
			if p.CreatedAt != nil {
				created = p.CreatedAt.UTC().Format(time.RFC3339)
			}
			row += "\t" + orDash(p.Name) + "\t" + created
		}
		return row
	})
	w.appendJSON = func(p passkey.Passkey, b []byte) ([]byte, error) { return p.AppendJSON(b) }
	return w
}

// newOrphanWriter prints orphan Account rows (`list --orphans`).
func newOrphanWriter(s *IOStreams, format string, wide bool) *recordWriter[store.Orphan] {
	wide = wide || !s.OutTTY
	return newRecordWriter(s, format, func() string {
		return "CREDENTIAL ID\tUSER ID\tEMAIL\tPROVIDER\tSTATUS"
	}, func(o store.Orphan) string {
		return fmt.Sprintf("%s\t%s\t%s\t%s\t%s", tableID(o.CredentialID, wide), o.UserID, orDash(o.Email), o.Provider, o.Status)
	})
}

// tableID is a credential ID as a table shows it.
func tableID(id string, wide bool) string {
	if wide {
		return id
	}
	return ellipsize(id, credentialIDWidth)
}

// orDash is *s, or "-" for NULL or empty.
func orDash(s *string) string {
	if s == nil || *s == "" {
		return "-"
	}
	return *s
}
