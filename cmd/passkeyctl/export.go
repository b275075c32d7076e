package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
	"github.com/spf13/cobra"
)

// ExportOptions are the inputs of `passkeyctl export`.
type ExportOptions struct {
	IO         *IOStreams
	Store      func(context.Context) (store.Store, error)
	ProviderID string
	Output     string

	User          string
	File          string
	IncludeBroken bool
}

func newCmdExport(f *Factory, runF func(context.Context, *ExportOptions) error) *cobra.Command {
	opts := &ExportOptions{IO: f.IO, Store: f.Store}
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write every passkey as JSON Lines, for import into another database or app",
		Long: `Write the passkeys of the database, Auth.js or Better Auth, in passkeyctl's export
format: JSON Lines, one object per passkey, in encodings neither app owns. The same
file imports into any Auth.js schema or Better Auth, in any dialect
(passkeyctl import), and is what revoke --backup appends to.

Each line (format version 1):

  version       1
  credentialID  the raw credential ID, base64url without padding (what browsers send)
  publicKey     the COSE public key, standard padded base64 (what both apps store)
  counter       the signature counter
  deviceType    singleDevice or multiDevice
  backedUp      the backup state flag
  transports    list of transports; null when the source stored NULL
  name, createdAt, aaguid
                Better Auth's passkey name, creation time (RFC 3339, UTC) and AAGUID;
                null from Auth.js, which never stores them
  user          {id, email, name, emailVerified} of the owner in the source
  status        "ok", or why the passkey cannot sign in at the source (see list)

Passkeys whose status is not "ok" (an Auth.js passkey without its Account row, or
whose Account belongs to another user, whose user is gone, or whose key cannot
verify a signature) are left out with a warning on stderr: they cannot sign in today
and must not start working elsewhere. --include-broken writes them too; import leaves
them out anyway. When passkeys have no Account row only because their Account rows
are under another provider (a wrong --provider-id), export refuses (exit 2), names
the --provider-id to use and leaves --file untouched.

The export streams: memory stays flat however many passkeys there are. --file writes
to a temporary file renamed into place at the end, so an interrupted export never
leaves a truncated file (mode 0600: it holds e-mail addresses). The temporary file,
.FILE.passkeyctl-export-*.tmp in the same folder, is removed on any error and when
the export is interrupted (Ctrl-C, SIGTERM).`,
		Example: `  # Back up every passkey
  passkeyctl --dsn "$DATABASE_URL" export --file passkeys.jsonl

  # One user's passkeys
  passkeyctl export --user alice@example.com

  # Move from Auth.js to Better Auth in one database (same rpID in both apps!)
  passkeyctl --dsn "$DB" --schema authjs export | passkeyctl --dsn "$DB" --schema better-auth import --create-users`,
		Args: noArgs(userHint("export")),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ProviderID = f.ProviderID()
			opts.Output = f.Output()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return exportRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	nonEmptyStringVarP(fl, &opts.User, "user", "u", "", "only this user's passkeys: a user id or e-mail address")
	nonEmptyStringVarP(fl, &opts.File, "file", "f", "", "write to this file instead of stdout (replaced when complete)")
	fl.BoolVar(&opts.IncludeBroken, "include-broken", false, "also write passkeys whose status is not ok")
	return cmd
}

func exportRun(ctx context.Context, opts *ExportOptions) error {
	st, err := opts.Store(ctx)
	if err != nil {
		return err
	}
	desc := st.Describe()
	var userID string
	if opts.User != "" {
		u, err := st.FindUser(ctx, opts.User)
		if err != nil {
			return err
		}
		userID = u.ID
	}
	if desc.ExportWarning != nil {
		if w := desc.ExportWarning(opts.ProviderID); w != "" {
			fmt.Fprintln(opts.IO.ErrOut, "warning: "+w)
		}
	}

	out, commit, abort, err := exportDestination(opts)
	if err != nil {
		return err
	}
	// Whatever ends the export early (an error, Ctrl-C or SIGTERM cancelling
	// ctx, a panic), the temporary file, which holds every e-mail address
	// written so far, goes with it. After commit, abort does nothing.
	defer abort()
	if userID == "" {
		defer collectLessOften()()
	}
	bw := bufio.NewWriterSize(out, 64<<10)
	w := passkey.NewExportWriter(bw)
	var written, broken int
	prog := newProgress(opts.IO, opts.Output, "exported", "passkey", nil)
	var providers store.ProviderCheck
	err = st.Export(ctx, store.ExportOptions{UserID: userID}, func(r passkey.ExportRecord) error {
		// Return at once when cancelled, not at the driver's next check,
		// so the deferred clean-up runs within the grace period a signal
		// leaves.
		if err := ctx.Err(); err != nil {
			return err
		}
		if r.Status != passkey.StatusOK {
			broken++
			providers.AddRecord(r)
			if !opts.IncludeBroken {
				if broken <= 20 {
					fmt.Fprintf(opts.IO.ErrOut, "warning: left out passkey %s of user %s: status %s (it cannot sign in at the source)\n", r.CredentialID, describeUser(r.User.ID, r.User.Email), r.Status)
				}
				return nil
			}
		}
		written++
		prog.Add(1)
		return w.Write(r)
	})
	prog.Done()
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("export: %w", err) // the deferred abort removes the file
	}
	if err := refuseWrongProvider(ctx, st, &providers); err != nil {
		return err
	}
	if err := commit(); err != nil {
		return err
	}
	if broken > 20 && !opts.IncludeBroken {
		fmt.Fprintf(opts.IO.ErrOut, "warning: ... %d more passkeys left out\n", broken-20)
	}
	if isJSON(opts.Output) {
		return writeExportSummary(opts, exportSummary{Exported: written, LeftOut: leftOut(broken, opts.IncludeBroken), File: opts.File, App: desc.Name})
	}
	msg := fmt.Sprintf("exported %s from %s", plural(written, "passkey"), desc.Label)
	if opts.File != "" && opts.File != "-" {
		msg += " to " + opts.File
	}
	if broken > 0 && !opts.IncludeBroken {
		msg += fmt.Sprintf("; %d left out (status not ok; --include-broken writes them)", broken)
	}
	fmt.Fprintln(opts.IO.ErrOut, msg)
	return nil
}

// exportSummary is export's summary with -o json or jsonl.
type exportSummary struct {
	Exported int    `json:"exported"`
	LeftOut  int    `json:"leftOut"`
	File     string `json:"file,omitempty"`
	App      string `json:"app"`
}

func leftOut(broken int, included bool) int {
	if included {
		return 0
	}
	return broken
}

// writeExportSummary prints the summary as JSON: on stdout when the
// records went to --file, else on stderr, since stdout holds the records.
func writeExportSummary(opts *ExportOptions, sum exportSummary) error {
	w := opts.IO.ErrOut
	if opts.File != "" && opts.File != "-" {
		w = opts.IO.Out
	}
	return writeResult(w, opts.Output, sum)
}

// exportDestination opens stdout or a temporary file next to --file; commit
// renames it into place, abort removes it.
func exportDestination(opts *ExportOptions) (out io.Writer, commit func() error, abort func(), err error) {
	if opts.File == "" || opts.File == "-" {
		return opts.IO.Out, func() error { return nil }, func() {}, nil
	}
	// The file is renamed into place at the end: a directory there would
	// fail only after the whole export, with the temporary file's name.
	if fi, err := os.Stat(opts.File); err == nil && fi.IsDir() {
		return nil, nil, nil, usageError{fmt.Errorf("--file %s is a directory: give the path of a file, such as %s", opts.File, filepath.Join(opts.File, "passkeys.jsonl"))}
	}
	dir := filepath.Dir(opts.File)
	// Named so that one left behind (only SIGKILL or a power cut can leave
	// one) is recognisable: .passkeys.jsonl.passkeyctl-export-123.tmp.
	// CreateTemp makes it 0600, and the rename keeps that mode whatever
	// the file it replaces had.
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(opts.File)+".passkeyctl-export-*.tmp")
	if err != nil {
		return nil, nil, nil, usageError{fmt.Errorf("cannot write --file %s: %v", opts.File, unwrapPathError(err))}
	}
	done := false
	commit = func() error {
		done = true
		if err := tmp.Sync(); err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			return fmt.Errorf("write %s: %v", opts.File, err)
		}
		if err := tmp.Close(); err != nil {
			os.Remove(tmp.Name())
			return fmt.Errorf("write %s: %v", opts.File, err)
		}
		if err := os.Rename(tmp.Name(), opts.File); err != nil {
			os.Remove(tmp.Name())
			return fmt.Errorf("write %s: %v", opts.File, unwrapPathError(err))
		}
		return nil
	}
	abort = func() {
		if done {
			return
		}
		done = true
		tmp.Close()
		os.Remove(tmp.Name())
	}
	return tmp, commit, abort, nil
}

// refuseWrongProvider fails the export when passkeys came out no-account
// because their Account rows are under another provider than
// --provider-id: the backup would hold none of them (or, with
// --include-broken, all of them marked broken, which import leaves out),
// so a backup job must not succeed. The error names the provider to use,
// as revoke's does; --file is left untouched.
func refuseWrongProvider(ctx context.Context, st store.Store, c *store.ProviderCheck) error {
	hint, err := st.WrongProviderHint(ctx, c)
	if err != nil || hint == "" {
		return err
	}
	return fmt.Errorf("%w: export: %s; refusing an export without them", passkey.ErrInvalid, hint)
}
