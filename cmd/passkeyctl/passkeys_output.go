package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/passkeyctl/passkeyctl/internal/db"
)

// passkeyWriter prints passkeys as `list` shows them, in every output
// format, one at a time so that long listings stream with flat memory.
// Every command that shows passkeys (list, revoke, serve) uses it.
type passkeyWriter struct {
	io     *IOStreams
	format string
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

func newPasskeyWriter(io *IOStreams, format string, wide bool) *passkeyWriter {
	return &passkeyWriter{io: io, format: format, wide: wide || !io.OutTTY, first: true}
}

// Write prints one passkey.
func (w *passkeyWriter) Write(p db.Passkey) error {
	w.count++
	switch w.format {
	case outputJSONL:
		if w.jl == nil {
			w.jl = newJSONLines(w.io.Out)
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
		_, err = fmt.Fprintf(w.io.Out, "%s  %s", prefix, b)
		return err
	default:
		if w.tw == nil {
			w.tw = newTable(w.io.Out)
			fmt.Fprintln(w.tw, "CREDENTIAL ID\tUSER ID\tEMAIL\tALG\tDEVICE TYPE\tBACKED UP\tCOUNTER\tTRANSPORTS\tSTATUS")
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
		_, err := fmt.Fprintf(w.tw, "%s\t%s\t%s\t%s\t%s\t%t\t%d\t%s\t%s\n", id, p.UserID, email, p.Algorithm, p.CredentialDeviceType, p.CredentialBackedUp, p.Counter, transports, p.Status)
		return err
	}
}

// Close ends the output: closes the JSON array (an empty one when nothing
// was written) and flushes the table. A table with no rows prints nothing
// on stdout; callers say "no passkeys" on stderr when they want.
func (w *passkeyWriter) Close() error {
	switch w.format {
	case outputJSON:
		if w.first {
			_, err := fmt.Fprintln(w.io.Out, "[]")
			return err
		}
		_, err := fmt.Fprintln(w.io.Out, "\n]")
		return err
	case outputJSONL:
		return nil
	default:
		if w.tw != nil {
			return w.tw.Flush()
		}
		return nil
	}
}

// Count is how many passkeys were written.
func (w *passkeyWriter) Count() int { return w.count }
