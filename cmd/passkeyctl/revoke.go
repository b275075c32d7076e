package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
	"github.com/spf13/cobra"
)

// RevokeOptions are the inputs of `passkeyctl revoke`.
type RevokeOptions struct {
	IO     *IOStreams
	Store  func(context.Context) (store.Store, error)
	Output string
	// Target describes the database written to (prompt, dry run, summary).
	Target targetFunc

	IDs            []string
	User           string
	All            bool
	FromFile       string
	RevokeSessions bool
	Backup         string
	Yes            bool
	DryRun         bool
	Wide           bool
	// Orphans removes what no sign-in can use instead of given passkeys
	// (revoke_orphans.go).
	Orphans bool
}

func newCmdRevoke(f *Factory, runF func(context.Context, *RevokeOptions) error) *cobra.Command {
	opts := &RevokeOptions{IO: f.IO, Store: f.Store, Target: f.describeTarget}
	cmd := &cobra.Command{
		Use:   "revoke [flags] -- CREDENTIAL_ID...",
		Short: "Remove passkeys: the Authenticator row and its Account row, in one transaction",
		Long: `Revoke passkeys the way they must go: each one's Authenticator row and its Account
row (type "webauthn", provider = --provider-id, providerAccountId = the credential ID)
are deleted together, in one transaction. Every DELETE is scoped by the passkey's
user: no other user's rows are ever touched.

A credential ID may be given as stored (standard base64), as base64url (what browsers
and logs show), with or without padding, or in hex ("hex:" forces hex). A base64url ID
can start with "-": put the IDs after "--" so they are not read as flags.

All or nothing: if one ID matches no passkey, the command exits 3 and nothing is
revoked. The deletes run in a single transaction (in batches of 500 rows per
statement), so a failure part-way leaves the database as it was. On a terminal the
IDs are looked up first, to be shown before the question; with --yes or --dry-run
they are looked up inside that transaction, as their rows are locked, so that each
passkey is read once.

--from-file reads one credential ID per line ("-" for stdin); blank lines and lines
starting with "#" are skipped. --user USER --all revokes every passkey of one user;
--user with IDs only accepts that user's passkeys.

On a Better Auth database (see --schema) a passkey is one row of its passkey table,
and that row is deleted; --revoke-sessions deletes the users' rows of its session
table.

On an Auth.js app's Redis (a redis:// DSN) a passkey's authenticator key, its entry
in the user's list of credential IDs, its account key and the user's account
pointer go together in one MULTI/EXEC, under WATCH of every key read;
--revoke-sessions deletes the users' session keys.

--backup PATH appends the passkeys to PATH in passkeyctl's export format (the file
is created with mode 0600), read with their rows locked after every check that can
refuse the revoke, and synced before the revoke commits; a mistaken revocation is
undone with: passkeyctl import PATH, however many revokes, crashes and re-runs
wrote to the file.

Concurrent revokes lock rows in credential ID order and retry a deadlock; the one
that finds its passkeys already revoked exits 3, whatever the timing.

--revoke-sessions also deletes the users' Session rows, which signs them out
everywhere when the app uses the database session strategy. JWT sessions live in
the browser's cookie and cannot be revoked server-side: they stay valid until they
expire.

On a terminal the command shows what will be removed and asks first; --yes skips
the question. Without a terminal it refuses (exit 2) unless --yes is given.
--dry-run shows what would be removed and changes nothing (it runs the deletes in a
transaction and rolls it back, so the counts are exact).

--orphans removes, instead of given passkeys, what no sign-in can use: on Auth.js the
webauthn Account rows without their Authenticator row (what list --orphans shows) and
Authenticator rows whose User row is gone (status no-user, possible without foreign
keys) with their Account rows; on Better Auth the passkey rows whose user row is gone
(its deleteUser leaves them where there is no foreign key); on Redis the same as
Auth.js on SQL, plus credential IDs in a user's authenticator:by-user-id: list whose
authenticator key is gone or another user's (the list is rewritten without them) and
user:account:by-user-id: pointers to an account key that is gone. Everything goes in
one transaction (one MULTI/EXEC on Redis), each orphan checked again as it is deleted.
--user limits it to one user, also one whose user record is gone (give the id); it
takes no credential IDs, --all or --from-file. With --backup the removed passkeys
are written as export records (status no-user, which import leaves out until the
user exists again and the status is set to "ok"); orphan accounts and index entries
hold no key, so they are only listed in the output. The output has one record per thing removed
(-o json: an array of {kind, userId, email, credentialID, target, status}).

The output lists the revoked passkeys as "passkeyctl list" shows them (-o json: an
array of the same objects); a summary, and a note for every user left with no
passkey and no other Account, goes to stderr.`,
		Example: `  # A laptop was stolen: remove its passkey and sign the user out
  passkeyctl revoke --revoke-sessions -- INbbybromzQQ0aFYQlauAYFzl2U=

  # IDs as logs show them (base64url) may start with "-"
  passkeyctl revoke --yes -- -NbbybromzQQ0aFYQlauAYFzl2U

  # Offboard a user, keeping a way back
  passkeyctl revoke --user alice@example.com --all --revoke-sessions --backup revoked.jsonl
  passkeyctl import revoked.jsonl   # undo

  # Bulk, from a script: see first, then do
  passkeyctl revoke --from-file ids.txt --dry-run
  passkeyctl revoke --from-file ids.txt --yes -o json > revoked.json

  # Remove what no sign-in can use (see first)
  passkeyctl revoke --orphans --dry-run
  passkeyctl revoke --orphans --yes --backup orphans.jsonl`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IDs = args
			if err := opts.check(); err != nil {
				return usageError{err}
			}
			opts.Output = f.Output()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return revokeRun(cmd.Context(), opts)
		},
	}
	// A base64url credential ID that starts with "-" reaches cobra as an
	// unknown flag: say how to pass it.
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%v (a credential ID that starts with \"-\" must come after --: passkeyctl revoke -- ID...)", err)}
	})
	fl := cmd.Flags()
	nonEmptyStringVarP(fl, &opts.User, "user", "u", "", "the passkeys' owner: a User.id or e-mail address (with --all: every passkey of the user)")
	fl.BoolVar(&opts.All, "all", false, "revoke every passkey of --user")
	nonEmptyStringVarP(fl, &opts.FromFile, "from-file", "", "", "read credential IDs from `PATH`, one per line (\"-\": stdin)")
	fl.BoolVar(&opts.RevokeSessions, "revoke-sessions", false, "also delete the users' database sessions (JWT sessions cannot be revoked server-side)")
	nonEmptyStringVarP(fl, &opts.Backup, "backup", "", "", "first append the passkeys to `PATH` in the export format (undo with: passkeyctl import PATH)")
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "show what would be revoked and change nothing")
	fl.BoolVar(&opts.Wide, "wide", false, "show full credential IDs in the table")
	fl.BoolVar(&opts.Orphans, "orphans", false, "remove what no sign-in can use: accounts without their passkey, passkeys whose user is gone, dangling index entries")
	return cmd
}

// check validates the combination of arguments and flags.
func (o *RevokeOptions) check() error {
	if o.Orphans {
		if err := o.checkOrphans(); err != nil {
			return err
		}
		return o.checkConfirmable()
	}
	sources := 0
	if len(o.IDs) > 0 {
		sources++
	}
	if o.FromFile != "" {
		sources++
	}
	if o.All {
		sources++
		if o.User == "" {
			return errors.New("--all needs --user USER")
		}
	}
	switch {
	case sources == 0 && o.User != "":
		return errors.New("--user needs --all, or the credential IDs to revoke")
	case sources == 0:
		return errors.New("nothing to revoke: give credential IDs (after --), --from-file PATH, or --user USER --all")
	case sources > 1:
		return errors.New("give credential IDs, --from-file or --user --all, not several")
	}
	if o.FromFile == "-" && !o.Yes && !o.DryRun {
		return errors.New("--from-file - reads the IDs from stdin, which cannot also answer the confirmation: add --yes (or --dry-run)")
	}
	return o.checkConfirmable()
}

// checkConfirmable refuses before touching the database: a script must
// never hang on, or half-pass, a prompt.
func (o *RevokeOptions) checkConfirmable() error {
	if !o.Yes && !o.DryRun && !o.IO.InTTY {
		return fmt.Errorf("%w: refusing to revoke without confirmation: stdin is not a terminal; pass --yes (or --dry-run to see what would be removed)", passkey.ErrRefused)
	}
	return nil
}

func revokeRun(ctx context.Context, opts *RevokeOptions) error {
	if opts.Orphans {
		return revokeOrphansRun(ctx, opts)
	}
	ids := opts.IDs
	if opts.FromFile != "" {
		var err error
		if ids, err = readCredentialIDs(opts.FromFile, opts.IO.In); err != nil {
			return err
		}
		if len(ids) == 0 {
			return usageError{fmt.Errorf("--from-file %s: no credential IDs in it", opts.FromFile)}
		}
	}
	st, err := opts.Store(ctx)
	if err != nil {
		return err
	}
	desc := st.Describe()
	var user *passkey.User
	if opts.User != "" {
		u, err := st.FindUser(ctx, opts.User)
		if err != nil {
			return err
		}
		user = &u
	}
	// With nothing to show before the revoke (--yes, --dry-run), the store
	// looks the IDs up in the revoke's own transaction, reading each
	// passkey once; otherwise they are looked up, shown and confirmed
	// first, and exactly those are revoked.
	printTarget(opts.IO, opts.Target, desc)
	revoke := func(o store.RevokeOptions) (*store.RevokeResult, error) { return st.RevokeCredentials(ctx, ids, o) }
	count := len(ids)
	if user != nil || (!opts.Yes && !opts.DryRun) {
		passkeys, err := lookUpRevoke(ctx, st, opts, ids, user)
		if err != nil {
			noteRevokedBefore(ctx, opts.IO.ErrOut, st, ids, err)
			return err
		}
		if !opts.Yes && !opts.DryRun {
			previewRevoke(opts.IO.ErrOut, passkeys, opts.RevokeSessions)
			ok, err := opts.IO.Confirm(fmt.Sprintf("Revoke %s in %s?", plural(len(passkeys), "passkey"), desc.Location))
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("%w: not confirmed; nothing was revoked", passkey.ErrRefused)
			}
		}
		revoke = func(o store.RevokeOptions) (*store.RevokeResult, error) { return st.Revoke(ctx, passkeys, o) }
		count = len(passkeys)
	}
	revokeOpts := store.RevokeOptions{RevokeSessions: opts.RevokeSessions, DryRun: opts.DryRun}
	var backup *backupFile
	if opts.Backup != "" && !opts.DryRun {
		if backup, err = openBackup(opts.Backup); err != nil {
			return err
		}
		defer backup.Close()
		revokeOpts.Backup = backup.write
	}
	prog := newProgress(opts.IO, opts.Output, "revoking", "passkey", nil)
	if count >= 100 {
		prog.Start(count)
	}
	res, err := revoke(revokeOpts)
	prog.Done()
	if err != nil {
		noteRevokedBefore(ctx, opts.IO.ErrOut, st, ids, err)
		return err
	}
	if backup != nil {
		fmt.Fprintf(opts.IO.ErrOut, "Backed up %s to %s (restore with: passkeyctl import %s).\n", plural(backup.records, "passkey"), opts.Backup, opts.Backup)
	}
	w := newPasskeyWriter(opts.IO, opts.Output, opts.Wide)
	w.named = desc.Named
	for _, p := range res.Passkeys {
		if err := w.Write(p); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	printRevokeSummary(opts.IO.ErrOut, res, opts.RevokeSessions, desc)
	return nil
}

// noteRevokedBefore says, when err is a revoke's "not found", which of
// the first few IDs given are gone because an entry of the audit log
// revoked them (another run at the same time, or one before): what the
// operator asks next. It is a hint: a failed lookup says nothing.
func noteRevokedBefore(ctx context.Context, w io.Writer, st store.Store, ids []string, err error) {
	if !errors.Is(err, passkey.ErrNotFound) {
		return
	}
	for _, id := range ids[:min(len(ids), 5)] {
		raw, err := passkey.DecodeBase64(strings.TrimSpace(id))
		if err != nil || len(raw) == 0 {
			continue // a prefix, or not an ID
		}
		if _, err := st.GetPasskey(ctx, raw); !errors.Is(err, passkey.ErrNotFound) {
			continue
		}
		var last *store.AuditEntry
		cred := passkey.Base64URL(raw)
		if st.AuditLog(ctx, store.AuditFilter{Credential: cred}, func(e store.AuditEntry) error {
			last = &e
			return nil
		}) != nil || last == nil || !slices.ContainsFunc(last.Removed, func(r passkey.ExportRecord) bool { return r.CredentialID == cred }) {
			continue
		}
		fmt.Fprintf(w, "note: passkey %s was revoked by audit entry %d (%s, %s; passkeyctl audit --credential %s)\n",
			cred, last.ID, last.Actor, last.Time.UTC().Format("2006-01-02 15:04:05 UTC"), cred)
	}
}

// lookUpRevoke returns the passkeys a revoke that shows them first
// removes: every passkey of --user with --all, or those the IDs name (with
// --user, all of them that user's).
func lookUpRevoke(ctx context.Context, st store.Store, opts *RevokeOptions, ids []string, user *passkey.User) ([]passkey.Passkey, error) {
	if opts.All {
		var passkeys []passkey.Passkey
		err := st.ListPasskeys(ctx, store.ListOptions{UserID: user.ID}, func(p passkey.Passkey) error {
			passkeys = append(passkeys, p)
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(passkeys) == 0 {
			return nil, fmt.Errorf("revoke --all: user %s has no passkeys: %w", describeUser(user.ID, user.Email), passkey.ErrNotFound)
		}
		return passkeys, nil
	}
	passkeys, err := st.ResolveCredentials(ctx, ids)
	if err != nil {
		return nil, err
	}
	if user != nil {
		for _, p := range passkeys {
			if p.UserID != user.ID {
				return nil, kindError{passkey.ErrNotFound, fmt.Sprintf("revoke %s: credential is not a passkey of user %s; nothing was revoked", p.CredentialID, describeUser(user.ID, user.Email))}
			}
		}
	}
	return passkeys, nil
}

// kindError is a message that counts as kind (errors.Is, hence the exit
// code) without the kind's own words in the middle of the line, where
// errorLine cannot trim them.
type kindError struct {
	kind error
	msg  string
}

func (e kindError) Error() string { return e.msg }
func (e kindError) Unwrap() error { return e.kind }

// readCredentialIDs reads one ID per line from path ("-": stdin), skipping
// blank lines and "#" comments. A malformed line is reported with its
// number before anything is looked up.
func readCredentialIDs(path string, stdin io.Reader) ([]string, error) {
	var r io.Reader = stdin
	name := "stdin"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, usageError{fmt.Errorf("--from-file %s: %v", path, unwrapPathError(err))}
		}
		defer f.Close()
		r, name = f, path
	}
	var ids []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if _, err := passkey.CredentialIDCandidates(line); err != nil && !passkey.IsCredentialPrefix(line) {
			// ErrInvalid leads so the printed line starts with the place.
			return nil, fmt.Errorf("%w: %s:%d: %s", passkey.ErrInvalid, name, n, strings.TrimPrefix(err.Error(), passkey.ErrInvalid.Error()+": "))
		}
		ids = append(ids, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %v", name, err)
	}
	return ids, nil
}

// previewLimit is how many passkeys the confirmation lists before "... and
// N more".
const previewLimit = 20

// previewRevoke shows on the terminal what a revoke will remove.
func previewRevoke(w io.Writer, passkeys []passkey.Passkey, sessions bool) {
	users := usersOf(passkeys)
	fmt.Fprintf(w, "This will revoke %s of %s:\n", plural(len(passkeys), "passkey"), plural(len(users), "user"))
	tw := newTable(w)
	fmt.Fprintln(tw, "  USER ID\tEMAIL\tCREDENTIAL ID\tDEVICE TYPE\tSTATUS")
	for i, p := range passkeys {
		if i == previewLimit {
			break
		}
		email := "-"
		if p.Email != nil {
			email = *p.Email
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", p.UserID, email, p.CredentialID, p.CredentialDeviceType, p.Status)
	}
	tw.Flush()
	if len(passkeys) > previewLimit {
		fmt.Fprintf(w, "  ... and %d more\n", len(passkeys)-previewLimit)
	}
	if sessions {
		fmt.Fprintf(w, "and delete every database session of %s.\n", plural(len(users), "user"))
	}
}

// usersOf returns the distinct user IDs of passkeys in first-seen order.
func usersOf(passkeys []passkey.Passkey) []string {
	seen := map[string]bool{}
	var users []string
	for _, p := range passkeys {
		if !seen[p.UserID] {
			seen[p.UserID] = true
			users = append(users, p.UserID)
		}
	}
	return users
}

// printRevokeSummary says on stderr what was (or would be) removed, and
// which users can no longer sign in with a passkey or another account.
func printRevokeSummary(w io.Writer, res *store.RevokeResult, sessions bool, desc store.Description) {
	users := usersOf(res.Passkeys)
	verb, del, note := "Revoked", "deleted", ""
	if res.DryRun {
		verb, del, note = "Dry run: would revoke", "would delete", "; nothing was changed"
	}
	extra := del + " " + plural(int(res.Accounts), desc.Account)
	if !desc.Accounts {
		// The app keeps a passkey in one record (Better Auth's one row):
		// there is no Account.
		extra = del + " " + plural(len(res.Passkeys), "passkey row")
	}
	if sessions {
		extra += " and " + plural(int(res.Sessions), "session")
	}
	fmt.Fprintf(w, "%s %s of %s (%s)%s.\n", verb, plural(len(res.Passkeys), "passkey"), plural(len(users), "user"), extra, note)
	var mismatched []string
	for _, p := range res.Passkeys {
		if p.Status == passkey.StatusAccountUserMismatch {
			mismatched = append(mismatched, p.CredentialID)
		}
	}
	printNotes(w, mismatched, "the "+desc.Account+" of %s belongs to another user and was left alone",
		"passkeys' "+desc.Account+"s belong to other users and were left alone")
	stranded := desc.Stranded
	strandedMany := "users have " + stranded
	var who []string
	for _, u := range res.Stranded {
		who = append(who, describeUser(u.ID, u.Email))
	}
	printNotes(w, who, "user %s has "+stranded, strandedMany)
}

// maxNotes is how many per-item notes a summary prints before it sums the
// rest up: a bulk revoke of 10,000 passkeys printed 2,500 note lines.
const maxNotes = 10

// printNotes prints one note per item (format has one %s), or, past
// maxNotes, the first few and one line for the rest (many follows the
// count: "3 more users have ..."). -o json carries the whole list.
func printNotes(w io.Writer, items []string, format, many string) {
	for i, it := range items {
		if i == maxNotes {
			fmt.Fprintf(w, "note: and %d more %s\n", len(items)-maxNotes, many)
			return
		}
		fmt.Fprintf(w, "note: "+format+"\n", it)
	}
}
