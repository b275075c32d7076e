package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
	"github.com/passkeyctl/passkeyctl/schema"
	"github.com/spf13/cobra"
)

// MigrateOptions are the inputs of `passkeyctl migrate`.
type MigrateOptions struct {
	IO          *IOStreams
	DB          func(context.Context, db.OpenOptions) (*db.DB, error)
	Output      string
	Now         func() time.Time
	Core        bool
	DryRun      bool
	LockTimeout time.Duration
	// Target describes the database written to (dry run, summary).
	Target targetFunc
}

func newCmdMigrate(f *Factory, runF func(context.Context, *MigrateOptions) error) *cobra.Command {
	opts := &MigrateOptions{IO: f.IO, DB: f.DB, Now: f.Now, Target: f.describeTarget}
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Create or adopt the Auth.js Authenticator table",
		Long: `Apply passkeyctl's migrations: create the Auth.js Authenticator table (composite
primary key, unique credentialID, foreign key to User ON DELETE CASCADE) in the
naming the database already uses (Prisma's "User" or Drizzle's "user").

On a database whose Auth.js tables have no foreign keys (Prisma's relationMode =
"prisma", the PlanetScale default) it creates the table the same way: an index on
userId instead of the foreign key, recorded as 0001_authenticator.nofk.sql, and a
note says so. migrate status warns about an Authenticator table without its foreign
key in a database that has them, with the SQL that adds it.

An Authenticator table that already exists in a known shape (current, legacy "id",
Drizzle) is adopted: recorded, not recreated. One that differs is drift: nothing is
changed and each difference is listed (exit 4).

The Auth.js tables (User, Account) must exist first: run the app's own migrations,
or pass --core to create them in Prisma's shape (new apps, demos, tests). Without
them migrate exits 4 and changes nothing.

Each applied or adopted migration is recorded with its SHA-256 in passkeyctl's own
place, out of sight of Prisma and drizzle-kit (which report any extra table in the
app's namespace as drift): the schema "passkeyctl" on PostgreSQL, the database
"passkeyctl" on MySQL (both per target schema or database), the file next to the
app's with "-passkeyctl" appended on SQLite. The table _passkeyctl_migrations that
earlier versions kept in the app's namespace is read, and moved by the next migrate.
A recorded migration whose file changed is reported, never re-run.

Concurrent runs are safe: a database lock (PostgreSQL advisory lock, MySQL
GET_LOCK, SQLite write lock) makes them apply the schema exactly once; a run that
waits longer than --lock-timeout fails. On MySQL, whose DDL cannot be rolled back,
each step is one atomic CREATE TABLE: a run interrupted half-way is completed by
running migrate again.

With -o json it prints one object: applied, adopted (migration names), sql (the
schema statements run, or with --dry-run that would run), warnings ({message,
fixSQL}), notes, dryRun, variant (the Authenticator table's shape afterwards:
current, legacy, drizzle), naming (prisma, drizzle), historyTable, checksumChanged
(the recorded migrations whose file changed, as migrate status lists them: migrate
then exits 4, as status does).`,
		Example: `  # New app or demo: create the Auth.js core tables too
  passkeyctl --dsn sqlite:auth.db migrate --core

  # See the exact SQL first
  passkeyctl --dsn "$DATABASE_URL" migrate --dry-run

  # In CI: fail (exit 4) unless the schema is up to date
  passkeyctl --dsn "$DATABASE_URL" migrate status`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Output = f.Output()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return migrateRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Core, "core", false, "also create the Auth.js core tables (User, Account, Session, VerificationToken) when absent")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "print the SQL that would run and change nothing")
	cmd.Flags().DurationVar(&opts.LockTimeout, "lock-timeout", 60*time.Second, "how long to wait for another migrate holding the lock")
	cmd.AddCommand(newCmdMigrateStatus(f, nil))
	cmd.AddCommand(newCmdMigrateDown(f, nil))
	return cmd
}

func migrateRun(ctx context.Context, opts *MigrateOptions) (err error) {
	// A dry run against a SQLite file that does not exist yet plans against
	// an empty database and leaves no file behind.
	d, err := opts.DB(ctx, db.OpenOptions{CreateSQLite: !opts.DryRun, MissingSQLiteAsEmpty: opts.DryRun, MissingSchemaOK: true, LockTimeout: opts.LockTimeout})
	if err != nil {
		return nothingToMigrate(opts.IO, opts.Output, err)
	}
	// A migrate that fails (no User table without --core, say) leaves no
	// new, empty SQLite file behind.
	defer func() {
		if err != nil {
			d.DiscardCreated()
		}
	}()
	if err := d.RefuseMigrate(ctx); err != nil {
		return err
	}
	printTarget(opts.IO, opts.Target, db.Describe(d, nil))
	fsys, err := schema.FS(d.Dialect.Name)
	if err != nil {
		return err
	}
	res, err := d.Migrate(ctx, fsys, db.MigrateOptions{Core: opts.Core, DryRun: opts.DryRun, LockTimeout: opts.LockTimeout, Now: opts.Now})
	if err != nil {
		return err
	}
	printWarnings(opts.IO, res.Warnings)
	// A changed checksum leaves the schema not up to date: migrate ends as
	// `migrate status` does (exit 4, the same summary), after what it did.
	notUpToDate := func() error {
		if len(res.ChecksumChanged) == 0 {
			return nil
		}
		var names []string
		for _, m := range res.ChecksumChanged {
			names = append(names, m.Name)
		}
		return fmt.Errorf("%w: %d migration(s) with a changed checksum (%s): compare the table with the file, then accept it with the UPDATE in the warning (see: passkeyctl migrate status)",
			passkey.ErrSchemaNotReady, len(names), strings.Join(names, ", "))
	}
	if isJSON(opts.Output) {
		if err := writeResult(opts.IO.Out, opts.Output, res); err != nil {
			return err
		}
		return notUpToDate()
	}
	out := opts.IO.Out
	if opts.DryRun {
		if len(res.SQL) == 0 && len(res.Adopted) == 0 {
			if err := notUpToDate(); err != nil {
				fmt.Fprintln(opts.IO.ErrOut, "-- dry run: nothing would change")
				return err
			}
			fmt.Fprintln(opts.IO.ErrOut, "-- dry run: the schema is up to date, nothing would change")
			return nil
		}
		// stdout stays valid SQL (a DBA may review or apply it); what
		// passkeyctl records besides is said in comments.
		for _, s := range res.SQL {
			fmt.Fprintf(out, "%s;\n", s)
		}
		for _, name := range res.Adopted {
			fmt.Fprintf(out, "-- adopt the existing Authenticator table (variant %s) as %s\n", res.Variant, name)
		}
		for _, n := range res.Notes {
			fmt.Fprintf(out, "-- note: %s\n", n)
		}
		fmt.Fprintf(out, "-- then record %s in %s\n", strings.Join(append(slices.Clone(res.Applied), res.Adopted...), ", "), res.HistoryTable)
		fmt.Fprintln(opts.IO.ErrOut, "-- dry run: nothing was changed")
		return notUpToDate()
	}
	for _, name := range res.Applied {
		fmt.Fprintf(out, "applied  %s\n", name)
	}
	for _, name := range res.Adopted {
		fmt.Fprintf(out, "adopted  %s (existing Authenticator table, variant %s)\n", name, res.Variant)
	}
	for _, n := range res.Notes {
		fmt.Fprintf(opts.IO.ErrOut, "note: %s\n", n)
	}
	for _, m := range res.ChecksumChanged {
		fmt.Fprintf(out, "checksum-changed  %s (recorded %s, embedded %s; never re-run)\n", m.Name, shortSum(m.RecordedChecksum), shortSum(m.Checksum))
	}
	if len(res.Applied)+len(res.Adopted)+len(res.ChecksumChanged) == 0 {
		fmt.Fprintf(out, "schema is up to date (variant %s)\n", res.Variant)
	}
	return notUpToDate()
}

// shortSum is a checksum's first 12 hex digits, as status shows them.
func shortSum(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}

func printWarnings(io *IOStreams, ws []store.Warning) {
	for _, w := range ws {
		fmt.Fprintf(io.ErrOut, "warning: %s\n", w.Message)
		if w.FixSQL != "" {
			fmt.Fprintf(io.ErrOut, "  fix: %s\n", w.FixSQL)
		}
	}
}

// MigrateStatusOptions are the inputs of `passkeyctl migrate status`.
type MigrateStatusOptions struct {
	IO     *IOStreams
	DB     func(context.Context, db.OpenOptions) (*db.DB, error)
	Output string
}

func newCmdMigrateStatus(f *Factory, runF func(context.Context, *MigrateStatusOptions) error) *cobra.Command {
	opts := &MigrateStatusOptions{IO: f.IO, DB: f.DB}
	return &cobra.Command{
		Use:   "status",
		Short: "Show the detected schema and each migration's state (exit 4 unless up to date)",
		Long: `Show the detected Auth.js schema (dialect, naming, whether the core tables exist, the
Authenticator table's variant), each migration's state, drift and warnings. Nothing
is changed and no lock is taken.

A migration is applied (passkeyctl created it), adopted (the table existed and was
recorded), pending (with the action migrate would take: create or adopt), or
checksum-changed (recorded with another SHA-256 than the file this passkeyctl
embeds; never re-run). Exit 0 when up to date, 4 when anything is pending, drifted,
changed or the core tables are missing.

With -o json it prints one object: dialect, naming, variant ("" when there is no
Authenticator table), coreTables, upToDate, migrations [{name, state, checksum,
recordedChecksum, action, appliedAt}], drift [strings], warnings [{message,
fixSQL}].`,
		Example: `  passkeyctl --dsn sqlite:auth.db migrate status
  passkeyctl migrate status -o json | jq .variant`,
		Args: noArgs(nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Output = f.Output()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return migrateStatusRun(cmd.Context(), opts)
		},
	}
}

func migrateStatusRun(ctx context.Context, opts *MigrateStatusOptions) error {
	d, err := opts.DB(ctx, db.OpenOptions{})
	if err != nil {
		return nothingToMigrate(opts.IO, opts.Output, err)
	}
	if report, ready, err := d.ForeignStatus(ctx); err != nil {
		return err
	} else if report != nil {
		if isJSON(opts.Output) {
			if err := writeResult(opts.IO.Out, opts.Output, report); err != nil {
				return err
			}
		} else {
			report.Print(opts.IO.Out)
		}
		return ready
	}
	fsys, err := schema.FS(d.Dialect.Name)
	if err != nil {
		return err
	}
	st, err := d.MigrationStatus(ctx, fsys)
	if err != nil {
		return err
	}
	if isJSON(opts.Output) {
		err = writeResult(opts.IO.Out, opts.Output, struct {
			*db.Status
			UpToDate bool `json:"upToDate"`
		}{st, st.UpToDate()})
	} else {
		printStatusTable(opts.IO, st)
	}
	if err != nil {
		return err
	}
	if !st.UpToDate() {
		return fmt.Errorf("%w: %s", passkey.ErrSchemaNotReady, statusSummary(st))
	}
	return nil
}

func printStatusTable(io *IOStreams, st *db.Status) {
	out := io.Out
	variant := string(st.Variant)
	if variant == "" {
		variant = "none (no Authenticator table)"
	}
	fmt.Fprintf(out, "dialect:      %s\n", st.Dialect)
	fmt.Fprintf(out, "naming:       %s\n", st.Naming)
	fmt.Fprintf(out, "core tables:  %s\n", map[bool]string{true: "present", false: "missing"}[st.CoreTables])
	fmt.Fprintf(out, "variant:      %s\n\n", variant)
	tw := newTable(out)
	fmt.Fprintln(tw, "MIGRATION\tSTATE\tAPPLIED AT\tCHECKSUM")
	for _, m := range st.Migrations {
		at := "-"
		if m.AppliedAt != nil {
			at = m.AppliedAt.UTC().Format(time.RFC3339)
		}
		state := string(m.State)
		switch {
		case m.Action == "blocked":
			state += " (blocked by drift)"
		case m.Action == "adopt":
			state += " (adopt)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Name, state, at, shortSum(m.Checksum))
	}
	tw.Flush()
	store.WriteProblems(out, st.Drift, st.Warnings)
}

func statusSummary(st *db.Status) string {
	var parts []string
	if !st.CoreTables {
		parts = append(parts, "Auth.js core tables missing (run your app's migrations, or migrate --core)")
	}
	if len(st.Drift) > 0 {
		parts = append(parts, fmt.Sprintf("%d drift difference(s)", len(st.Drift)))
	}
	var pending, changed int
	for _, m := range st.Migrations {
		switch m.State {
		case db.StatePending:
			pending++
		case db.StateChecksumChanged:
			changed++
		}
	}
	switch {
	case pending > 0 && len(st.Drift) > 0:
		// migrate refuses to adopt a table that matches no variant.
		parts = append(parts, fmt.Sprintf("%d migration(s) pending, blocked by the drift: make the table match an Auth.js schema (the drift lines say how it differs), then run passkeyctl migrate", pending))
	case pending > 0:
		parts = append(parts, fmt.Sprintf("%d migration(s) pending (run: passkeyctl migrate)", pending))
	}
	if changed > 0 {
		parts = append(parts, fmt.Sprintf("%d migration(s) with a changed checksum", changed))
	}
	return strings.Join(parts, "; ")
}

// MigrateDownOptions are the inputs of `passkeyctl migrate down`.
type MigrateDownOptions struct {
	IO     *IOStreams
	DB     func(context.Context, db.OpenOptions) (*db.DB, error)
	Force  bool
	Yes    bool
	DryRun bool
	Output string
	// Target describes the database written to (prompt, summary).
	Target targetFunc
	// ProviderID is the Auth.js provider id of the passkeys' accounts.
	ProviderID string
}

// migrateDownResult is `migrate down -o json`.
type migrateDownResult struct {
	Table    string `json:"table"`
	Passkeys int64  `json:"passkeys"`
	DryRun   bool   `json:"dryRun"`
}

func newCmdMigrateDown(f *Factory, runF func(context.Context, *MigrateDownOptions) error) *cobra.Command {
	opts := &MigrateDownOptions{IO: f.IO, DB: f.DB, Target: f.describeTarget}
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Drop the Authenticator table (refuses while it holds passkeys unless --force)",
		Long: `Drop the Authenticator table and forget the migrations that created or adopted it.
The core tables and their Account rows are left alone, and so are Better Auth's
tables: on a Better Auth database, or with --schema better-auth, it refuses (exit 2).

It refuses (exit 2) while the table holds passkeys unless --force: dropping it
signs every one of them out for good. On a terminal it asks for confirmation
unless --yes; without a terminal it refuses unless --yes.`,
		Example: `  passkeyctl migrate down --dry-run       # what would be dropped; changes nothing
  passkeyctl migrate down --yes
  passkeyctl migrate down --force --yes   # also when passkeys exist: they are lost`,
		Args: noArgs(nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Output = f.Output()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			opts.ProviderID = f.ProviderID()
			return migrateDownRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Force, "force", false, "drop the table even though it holds passkeys")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "say what would be dropped (the DROP on stdout) and change nothing; refuses where the real run refuses")
	return cmd
}

func migrateDownRun(ctx context.Context, opts *MigrateDownOptions) error {
	d, err := opts.DB(ctx, db.OpenOptions{})
	if err != nil {
		return nothingToMigrate(opts.IO, opts.Output, err)
	}
	if err := d.PrepareMigrateDown(ctx); err != nil {
		return err
	}
	plan, err := d.MigrateDownPlan(ctx)
	if err != nil {
		return err
	}
	printTarget(opts.IO, opts.Target, db.Describe(d, nil))
	if plan.Rows > 0 && !opts.Force {
		return fmt.Errorf("%w: %s holds %d passkey(s); dropping it signs every one of them out for good. Export or revoke them first, or pass --force", passkey.ErrRefused, plan.Table, plan.Rows)
	}
	res := migrateDownResult{Table: plan.Table, Passkeys: plan.Rows, DryRun: opts.DryRun}
	if opts.DryRun {
		if isJSON(opts.Output) {
			return writeResult(opts.IO.Out, opts.Output, res)
		}
		fmt.Fprintf(opts.IO.Out, "DROP TABLE %s;\n", d.Q(plan.Table))
		fmt.Fprintf(opts.IO.ErrOut, "-- dry run: would drop %s (%d passkey(s)) and forget its migrations; nothing was changed\n", plan.Table, plan.Rows)
		return nil
	}
	if !opts.Yes {
		ok, err := opts.IO.Confirm(fmt.Sprintf("Drop table %s with %d passkey(s) in %s?", plan.Table, plan.Rows, d.Target.Redacted))
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: not confirmed; nothing was changed", passkey.ErrRefused)
		}
	}
	if plan.Rows > 0 {
		// The passkeys dropped are kept in the audit log, record by record:
		// a --force that was a mistake can still be undone by hand
		// (passkeyctl audit -o json, then import after migrate).
		s, err := d.DetectForStore(ctx)
		if err != nil {
			return err
		}
		if err := d.ExportPasskeys(ctx, s, store.ExportOptions{ProviderID: opts.ProviderID}, func(r passkey.ExportRecord) error {
			plan.Records = append(plan.Records, r)
			return nil
		}); err != nil {
			return err
		}
	}
	if err := d.MigrateDown(ctx, plan); err != nil {
		return err
	}
	if isJSON(opts.Output) {
		return writeResult(opts.IO.Out, opts.Output, res)
	}
	fmt.Fprintf(opts.IO.Out, "dropped  %s (%d passkey(s))\n", plan.Table, plan.Rows)
	return nil
}

// nothingToMigrate answers migrate, migrate status and migrate down on a
// backend that keeps no schema (errNoSchema): it says so and succeeds.
// Other errors are returned as they are.
func nothingToMigrate(io *IOStreams, output string, err error) error {
	var none errNoSchema
	if !errors.As(err, &none) {
		return err
	}
	if isJSON(output) {
		return writeResult(io.Out, output, struct {
			NothingToMigrate bool   `json:"nothingToMigrate"`
			Backend          string `json:"backend"`
		}{true, none.backend})
	}
	fmt.Fprintln(io.ErrOut, none.Error())
	return nil
}
