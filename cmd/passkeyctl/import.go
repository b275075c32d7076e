package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/store"
	"github.com/spf13/cobra"
)

// ImportOptions are the inputs of `passkeyctl import`.
type ImportOptions struct {
	IO     *IOStreams
	Store  func(context.Context) (store.Store, error)
	Output string
	Now    func() time.Time
	// Target describes the database written to (dry run, summary).
	Target targetFunc

	File        string
	CreateUsers bool
	OnConflict  string
	DryRun      bool
}

func newCmdImport(f *Factory, runF func(context.Context, *ImportOptions) error) *cobra.Command {
	opts := &ImportOptions{IO: f.IO, Store: f.Store, Now: f.Now, Target: f.describeTarget}
	cmd := &cobra.Command{
		Use:   "import [FILE|-] | --file FILE",
		Short: "Write passkeys from an export into this database, in its app's encoding",
		Long: `Read passkeyctl's export format (passkeyctl export, revoke --backup) from FILE or
stdin and write every passkey into the database in the exact encoding its app
expects: for Auth.js (any schema variant) the Authenticator row with its Account row
(credential ID in standard padded base64, provider --provider-id); for Better Auth
one passkey row (credential ID in base64url without padding, an id in the table's id
mode: 32 random characters, a UUID, or the database's serial number).

Users are matched by id, then by e-mail ignoring case. An id that matches a user
with another e-mail is not a match. Unmatched users stop the import (exit 3) and are
listed, unless --create-users creates them: the id is kept where the target's id
type allows, the e-mail lower-cased for Better Auth, its required name taken from
the source or the e-mail's local part, emailVerified copied.

A credential ID already in the target (compared exactly): --on-conflict fail (the
default: exit 1, listed), skip (keep the target's row), or update (write
deviceType, backedUp and the counter into the target's row, which must belong to
the same user; a counter lower than the target's is not written, so restoring an
old backup never reopens a replay window). A record that revoke --backup wrote
(it has "revokedAt") of a passkey the target still holds for the same user is
skipped, whatever --on-conflict says: there is nothing to undo.

A backup that revoke --backup appended to many times, or that a crash or a full
disk cut short, restores as it is, with a warning for each oddity and exit 0:
several records of one credential are imported once, with the highest counter
and the latest flags; a record cut short is skipped (named by its line);
records whose status is not "ok", or whose public key is empty or not base64,
are left out.

All or nothing: everything is written in one transaction, and any problem (an
unmatched user, a conflict, an invalid line) rolls it back. --dry-run runs the
real writes and rolls them back: it fails where the real import would, with
the same exit code, and changes nothing. Imports into one database run one
after the other, so concurrent imports of one file with --on-conflict skip all
succeed and write each passkey once.

A passkey works only for the rpID it was created for: Better Auth must be
configured with the same rpID as the Auth.js app (passkey({ rpID }) or its base
URL's hostname), or no moved passkey can sign in.

-o json prints the result (also when the import fails): app, dryRun, read,
inserted, updated, skipped, broken, torn, duplicates, usersMatched,
usersCreated, unmatched, conflicts.`,
		Example: `  # Restore a backup (revoke --backup, export --file)
  passkeyctl --dsn "$DATABASE_URL" import passkeys.jsonl

  # Move Auth.js passkeys to Better Auth in the same database
  passkeyctl --dsn "$DB" --schema authjs export | passkeyctl --dsn "$DB" --schema better-auth import --create-users

  # From PostgreSQL to another database, first checking what would happen
  passkeyctl --dsn "$OLD" export | passkeyctl --dsn "$NEW" import --dry-run --create-users
  passkeyctl --dsn "$OLD" export | passkeyctl --dsn "$NEW" import --create-users --on-conflict skip`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageError{fmt.Errorf("import reads one export FILE (or - for stdin), got %d arguments: %s", len(args), quoteArgs(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := store.ParseConflictPolicy(opts.OnConflict); err != nil {
				return usageError{err}
			}
			if len(args) == 1 {
				if opts.File != "" {
					return usageError{fmt.Errorf("give the export as FILE or as --file, not both")}
				}
				opts.File = args[0]
			}
			opts.Output = f.Output()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return importRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	// --file as export's, for the same idea; FILE stays for compatibility.
	nonEmptyStringVarP(fl, &opts.File, "file", "f", "", "read the export from this file (- or none: stdin), as export --file writes it")
	fl.BoolVar(&opts.CreateUsers, "create-users", false, "create the users the target does not have")
	fl.StringVar(&opts.OnConflict, "on-conflict", "fail", "when a credential ID is already in the target: fail, skip or update")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "run the real writes and roll them back: report what would be written, change nothing")
	return cmd
}

func importRun(ctx context.Context, opts *ImportOptions) error {
	in, closeIn, err := importSource(opts)
	if err != nil {
		return err
	}
	defer closeIn()
	st, err := opts.Store(ctx)
	if err != nil {
		return err
	}
	desc := st.Describe()
	printTarget(opts.IO, opts.Target, desc)
	policy, _ := store.ParseConflictPolicy(opts.OnConflict)
	errOut := opts.IO.ErrOut
	// The input goes in unwrapped: a file can be read again when the
	// transaction is retried after a deadlock.
	prog := newProgress(opts.IO, opts.Output, "read", "record", nil)
	res, err := st.Import(ctx, in, store.ImportOptions{
		Progress:    prog.Set,
		CreateUsers: opts.CreateUsers,
		OnConflict:  policy,
		DryRun:      opts.DryRun,
		Now:         opts.Now,
		Warn:        func(w string) { prog.Done(); fmt.Fprintln(errOut, "warning: "+w) },
	})
	prog.Done()
	if res == nil {
		return err
	}
	if isJSON(opts.Output) {
		// Also when the import failed: the result says why.
		if werr := writeResult(opts.IO.Out, opts.Output, res); err == nil {
			err = werr
		}
		return err
	}
	if err != nil {
		printImportProblems(errOut, res)
		return err
	}
	printImportResult(opts.IO, desc, res)
	return nil
}

// importSource opens FILE, or stdin for "" and "-"; it refuses to wait for
// an export typed on a terminal.
func importSource(opts *ImportOptions) (io.Reader, func(), error) {
	if opts.File == "" || opts.File == "-" {
		if opts.IO.InTTY {
			return nil, nil, usageError{errors.New("import reads an export from FILE or a pipe, not the terminal: give a FILE, or pipe it in (passkeyctl export | passkeyctl import)")}
		}
		return opts.IO.In, func() {}, nil
	}
	f, err := os.Open(opts.File)
	if err != nil {
		return nil, nil, usageError{fmt.Errorf("cannot read %s: %v", opts.File, unwrapPathError(err))}
	}
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		f.Close()
		return nil, nil, usageError{fmt.Errorf("cannot read %s: it is a directory; give the export file (passkeyctl export --file, revoke --backup)", opts.File)}
	}
	return f, func() { f.Close() }, nil
}

// printImportProblems lists every unmatched user and conflict on stderr
// before the one-line error.
func printImportProblems(w io.Writer, res *store.ImportResult) {
	for _, u := range res.Unmatched {
		line := fmt.Sprintf("user not found: %s (line %d)", describeUser(u.ID, u.Email), u.Line)
		if u.Reason != "" {
			line += ": " + u.Reason
		}
		fmt.Fprintln(w, line)
	}
	for _, c := range res.Conflicts {
		fmt.Fprintf(w, "conflict: %s (line %d): %s\n", c.CredentialID, c.Line, c.Reason)
	}
}

// printImportResult is the summary for people.
func printImportResult(io *IOStreams, desc store.Description, res *store.ImportResult) {
	// A summary is a message: stderr, as revoke's and export's (-o json
	// prints the result as data on stdout).
	out := io.ErrOut
	verb, users := "imported", "created"
	if res.DryRun {
		verb, users = "would import", "would create"
	}
	fmt.Fprintf(out, "%s %s into %s: %d new, %d updated, %d skipped (already there)\n",
		verb, plural(res.Inserted+res.Updated, "passkey"), desc.Label, res.Inserted, res.Updated, res.Skipped)
	if res.Broken > 0 {
		fmt.Fprintf(out, "left out %s whose status at the source is not ok\n", plural(res.Broken, "passkey"))
	}
	if n := len(res.UsersCreated); n > 0 {
		fmt.Fprintf(out, "%s %s:\n", users, plural(n, "user"))
		for i, u := range res.UsersCreated {
			if i == 20 {
				fmt.Fprintf(out, "  ... and %d more (-o json lists them all)\n", n-20)
				break
			}
			fmt.Fprintf(out, "  %s\n", describeUser(u.TargetID, u.Email))
		}
	}
	if res.DryRun {
		fmt.Fprintln(io.ErrOut, "dry run: nothing was written")
	}
	if desc.ImportNote != "" && res.Inserted > 0 && !res.DryRun {
		fmt.Fprintln(io.ErrOut, "note: "+desc.ImportNote)
	}
}
