package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/dotenv"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// Factory carries what commands need and builds the expensive parts
// lazily: --help and usage errors never dial a database.
type Factory struct {
	IO *IOStreams
	// Now is the clock; tests may replace it.
	Now func() time.Time
	// LookupEnv reads the process environment.
	LookupEnv func(string) (string, bool)

	flags *pflag.FlagSet // the root's persistent flags
	viper *viper.Viper   // the config file only
	// configPath is the config file read, and configExplicit whether it was
	// named by --config (then it ranks with the command line) rather than
	// found through PASSKEYCTL_CONFIG or ./passkeyctl.yaml.
	configPath     string
	configExplicit bool
	envFiles       []string              // --env-file, in order
	dotenv         map[string]envFileVar // the --env-file variables, layered
	// dotenvReplaced holds the values a later --env-file replaced, latest
	// first, for passkeyctl config.
	dotenvReplaced map[string][]envFileVar
	db             *db.DB
	store          store.Store
	dsnTold        bool // dsn said which DSN is used
	// completing is set while a shell completion opens the store: it must
	// answer fast and never say anything.
	completing bool
	started    bool // set once a command's own code runs; errors before that are usage errors
	// interrupt is run's context, which main cancels on SIGINT/SIGTERM.
	interrupt context.Context
	// args is the command line (without the program's name), for the
	// audit log.
	args []string
	// audit is auditContext's, once built; auditFile the --audit-file it
	// appends to; undoes the entry `undo` reverses; recorded the entries
	// this command's changes were recorded as.
	audit     *store.AuditContext
	auditFile *os.File
	undoes    int64
	recorded  []int64
}

// envFileVar is a variable read from an --env-file, with where it was set.
type envFileVar struct {
	Value string
	Path  string
	Line  int
}

// Global settings: flag name = config key; env PASSKEYCTL_<KEY>.
const (
	keyQuiet      = "quiet"
	keyDSN        = "dsn"
	keyOutput     = "output"
	keyProviderID = "provider-id"
	// keyConnectTimeout is a string flag, not a duration flag, so that Get
	// can tell "not set" (the DSN's connect_timeout, else 15 s) from a
	// value.
	keyConnectTimeout = "connect-timeout"
)

// resolvedSetting is a setting's value and where it came from.
type resolvedSetting struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Source string `json:"source"`
	// layered marks a value that a later --env-file replaced: the layering
	// the operator asked for, shown by config but no disagreement.
	layered bool
	// kind is where the value came from, for the code that decides on it;
	// Source is the same for people and may be reworded.
	kind sourceKind
}

// sourceKind is the kind of place a setting came from.
type sourceKind int

const (
	fromDefault sourceKind = iota
	fromFlag
	fromEnvFile
	fromConfig
	fromEnvironment
)

// envNames are the environment (and env-file) variables of a setting:
// PASSKEYCTL_<KEY>, and for the DSN also DATABASE_URL, the app's own.
func envNames(key string) []string {
	names := []string{"PASSKEYCTL_" + strings.ToUpper(strings.ReplaceAll(key, "-", "_"))}
	if key == keyDSN {
		names = append(names, "DATABASE_URL")
	}
	return names
}

// sources lists every source that sets key, the one that wins first. What
// the operator named on this command line wins over what is ambient:
//
//  1. the flag (--dsn ...)
//  2. --env-file: PASSKEYCTL_<KEY>, then (for the DSN) DATABASE_URL; of
//     several files the later one wins, as with Node's --env-file and docker
//     compose (so --env-file .env --env-file .env.local layers as Next.js)
//  3. the config file named by --config
//  4. the environment: PASSKEYCTL_<KEY>, then (for the DSN) DATABASE_URL
//  5. the config file found through PASSKEYCTL_CONFIG or ./passkeyctl.yaml
//
// then the flag's default. An ambient DATABASE_URL (left exported from
// another project, or the shell's own) beat an explicit --env-file before,
// so the database a command used was not the one its command line named.
// Empty values count as unset.
func (f *Factory) sources(key string) []resolvedSetting {
	var out []resolvedSetting
	if fl := f.flags.Lookup(key); fl != nil && fl.Changed {
		out = append(out, resolvedSetting{Key: key, Value: fl.Value.String(), Source: "flag --" + key, kind: fromFlag})
	}
	for _, n := range envNames(key) {
		if v, ok := f.dotenv[n]; ok && v.Value != "" {
			out = append(out, resolvedSetting{Key: key, Value: v.Value, Source: fmt.Sprintf("--env-file %s:%d (%s)", v.Path, v.Line, n), kind: fromEnvFile})
		}
		for _, v := range f.dotenvReplaced[n] {
			if v.Value != "" {
				out = append(out, resolvedSetting{Key: key, Value: v.Value, Source: fmt.Sprintf("--env-file %s:%d (%s)", v.Path, v.Line, n), layered: true, kind: fromEnvFile})
			}
		}
	}
	config := func() {
		if f.viper != nil && f.viper.IsSet(key) {
			if v := f.viper.GetString(key); v != "" {
				src := "config file " + f.configPath
				if f.configExplicit {
					src = "--config " + f.configPath
				}
				out = append(out, resolvedSetting{Key: key, Value: v, Source: src, kind: fromConfig})
			}
		}
	}
	if f.configExplicit {
		config()
	}
	for _, n := range envNames(key) {
		if v, ok := f.LookupEnv(n); ok && v != "" {
			out = append(out, resolvedSetting{Key: key, Value: v, Source: "environment (" + n + ")", kind: fromEnvironment})
		}
	}
	if !f.configExplicit {
		config()
	}
	return out
}

// Resolve is the value of a global setting and its source (see sources).
func (f *Factory) Resolve(key string) resolvedSetting {
	if s := f.sources(key); len(s) > 0 {
		return s[0]
	}
	def := ""
	if fl := f.flags.Lookup(key); fl != nil {
		def = fl.DefValue
	}
	return resolvedSetting{Key: key, Value: def, Source: "default"}
}

// Get resolves a global setting (see sources for the order).
func (f *Factory) Get(key string) string { return f.Resolve(key).Value }

// Output is the chosen output format, in lower case: -o JSON is -o json.
func (f *Factory) Output() string { return strings.ToLower(strings.TrimSpace(f.Get(keyOutput))) }

// ProviderID is the Auth.js provider id written to Account.provider.
func (f *Factory) ProviderID() string { return f.Get(keyProviderID) }

// dsn resolves the DSN. When several sources give different DSNs it says
// on stderr, once, which one is used (all redacted).
func (f *Factory) dsn() (resolvedSetting, error) {
	all := f.sources(keyDSN)
	if len(all) == 0 {
		msg := "no database: pass --dsn, set PASSKEYCTL_DSN or DATABASE_URL, use --env-file with the app's .env, or put dsn: in passkeyctl.yaml"
		if near := f.misspeltDSNVar(); near != "" {
			msg = "no database: " + near + "; or pass --dsn"
		}
		return resolvedSetting{}, usageError{errors.New(msg)}
	}
	dsn := all[0]
	if f.dsnTold {
		return dsn, nil
	}
	f.dsnTold = true
	if w := dsnDisagreement(all); w != "" {
		fmt.Fprintln(f.IO.ErrOut, w)
	}
	if len(f.envFiles) > 0 && dsn.kind != fromFlag && dsn.kind != fromEnvFile {
		// The operator named env files, and none of them chose the database:
		// a misspelt DATABASE_URL there must not silently mean the ambient one.
		why := ""
		if near := f.misspeltDSNVar(); near != "" {
			why = " (" + near + ")"
		}
		fmt.Fprintf(f.IO.ErrOut, "warning: no --env-file sets PASSKEYCTL_DSN or DATABASE_URL%s; using the DSN %s from %s\n", why, describeDSN(dsn.Value), dsn.Source)
	}
	return dsn, nil
}

// misspeltDSNVar names a variable of the --env-file files that looks like
// a misspelt DATABASE_URL or PASSKEYCTL_DSN ("--env-file .env:3 sets
// DATABSE_URL, not DATABASE_URL"), or returns "": a typo there would
// otherwise read as a file without a database.
func (f *Factory) misspeltDSNVar() string {
	names := slices.Sorted(maps.Keys(f.dotenv))
	for _, want := range []string{"DATABASE_URL", "PASSKEYCTL_DSN"} {
		for _, name := range names {
			if name != want && editDistance(strings.ToUpper(name), want) <= 2 {
				v := f.dotenv[name]
				return fmt.Sprintf("--env-file %s:%d sets %s, not %s: correct the name", v.Path, v.Line, name, want)
			}
		}
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// withSource adds where the DSN came from to an error about it, once
// (Store opens the SQL store through DB, which adds it already): the DSN
// itself is never quoted.
func withSource(err error, dsn resolvedSetting) error {
	var sourced dsnSourceError
	if errors.Is(err, passkey.ErrInvalid) && dsn.kind != fromFlag && !errors.As(err, &sourced) {
		return dsnSourceError{fmt.Errorf("%w (the DSN from %s)", err, dsn.Source)}
	}
	return err
}

// dsnSourceError is an error withSource has named the DSN's source in.
type dsnSourceError struct{ error }

func (e dsnSourceError) Unwrap() error { return e.error }

// Store opens the configured store once: the app's passkeys in the
// backend the DSN names (backends.go).
func (f *Factory) Store(ctx context.Context) (store.Store, error) {
	if f.store != nil {
		return f.store, nil
	}
	dsn, err := f.dsn()
	if err != nil {
		return nil, err
	}
	st, err := backendOf(dsn.Value).open(ctx, f, dsn.Value)
	if err != nil {
		return nil, withSource(err, dsn)
	}
	f.store = st
	return st, nil
}

// DB opens the configured SQL database once: migrate's, and the SQL
// backend's. A DSN of a backend without a schema is errNoSchema.
func (f *Factory) DB(ctx context.Context, opts db.OpenOptions) (*db.DB, error) {
	if f.db != nil {
		return f.db, nil
	}
	dsn, err := f.dsn()
	if err != nil {
		return nil, err
	}
	if b := backendOf(dsn.Value); !b.migrates {
		if err := b.check(dsn.Value); err != nil {
			return nil, withSource(err, dsn)
		}
		return nil, errNoSchema{b.name}
	}
	so, err := f.schemaOptions()
	if err != nil {
		return nil, err
	}
	if opts.ConnectTimeout, err = parseConnectTimeout(f.Get(keyConnectTimeout)); err != nil {
		return nil, err
	}
	// SIGINT/SIGTERM close the connections at once; a command's own
	// shorter-lived context does not.
	opts.Interrupt = f.interrupt
	d, err := db.Open(ctx, dsn.Value, opts)
	if err != nil {
		return nil, withSource(err, dsn)
	}
	d.SchemaOptions = so
	if d.Audit, err = f.auditContext(); err != nil {
		d.Close()
		return nil, err
	}
	f.db = d
	return d, nil
}

// dsnDisagreement is the warning printed when sources give different DSNs,
// or "". DSNs are shown as describeDSN prints them: redacted, and of one
// that does not parse at most its scheme.
func dsnDisagreement(all []resolvedSetting) string {
	var ignored []string
	for _, s := range all[1:] {
		if !s.layered && strings.TrimSpace(s.Value) != strings.TrimSpace(all[0].Value) {
			ignored = append(ignored, fmt.Sprintf("%s from %s", describeDSN(s.Value), s.Source))
		}
	}
	if len(ignored) == 0 {
		return ""
	}
	return fmt.Sprintf("warning: using the DSN %s from %s; ignored: %s", describeDSN(all[0].Value), all[0].Source, strings.Join(ignored, "; "))
}

// parseConnectTimeout reads --connect-timeout: a Go duration ("5s",
// "1m30s") or whole seconds as libpq's connect_timeout ("5"); "" means not
// set (0).
func parseConnectTimeout(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if secs, serr := strconv.Atoi(v); serr == nil {
		d, err = time.Duration(secs)*time.Second, nil
	}
	if err != nil || d <= 0 {
		return 0, usageError{fmt.Errorf("invalid --connect-timeout %q: use a positive duration such as 5s or 1m, or whole seconds", v)}
	}
	return d, nil
}

// describeTarget is the one line that says which database a command works
// on and why that one: the DSN (redacted), the app and table detected, the
// PostgreSQL schema of ?schema=, and where the DSN came from (flag,
// --env-file, environment, config file), e.g.
//
//	postgres://app:xxxxx@db/app?schema=auth (Auth.js (table Authenticator), PostgreSQL schema auth; DSN from environment (DATABASE_URL))
func (f *Factory) describeTarget(desc store.Description) string {
	var what []string
	for _, w := range []string{desc.Label, desc.Scope} {
		if w != "" {
			what = append(what, w)
		}
	}
	what = append(what, "DSN from "+f.Resolve(keyDSN).Source)
	return desc.Location + " (" + strings.Join(what, ", ") + ")"
}

func (f *Factory) close() {
	if f.auditFile != nil {
		f.auditFile.Close()
	}
	switch {
	case f.store != nil:
		f.store.Close() // the SQL store's closes f.db
	case f.db != nil:
		f.db.Close()
	}
}

// run is the whole program: it parses args, runs one command, prints at
// most one error and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f := &Factory{IO: newIOStreams(stdin, stdout, stderr), Now: time.Now, LookupEnv: os.LookupEnv, interrupt: ctx, args: args}
	defer f.close()
	root := newRootCmd(f)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	var sig interrupted
	if errors.As(context.Cause(ctx), &sig) {
		// Whatever the command made of its cancelled context, the outcome
		// is the signal's: one line and 128+signal. A ceremony's own line
		// says what was (not) written; elsewhere the deferred rollbacks did
		// their work.
		line := sig.Error() + "; open transactions were rolled back"
		if errors.Is(err, errCeremony) {
			line = sig.Error() + ": " + errorLine(err)
		}
		fmt.Fprintln(stderr, "passkeyctl: "+line)
		return exitCode(sig)
	}
	if !f.started {
		// cobra rejected the flags or arguments before any command ran.
		err = usageError{err}
	}
	fmt.Fprintln(stderr, "passkeyctl: "+errorLine(err))
	var ue usageError
	if errors.As(err, &ue) && !f.started {
		path := "passkeyctl"
		if cmd != nil {
			path = cmd.CommandPath()
		}
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", path)
	}
	return exitCode(err)
}

func newRootCmd(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "passkeyctl",
		Short: "Manage the passkeys of an Auth.js or Better Auth app from the shell",
		Long: `passkeyctl runs the passkey side of an Auth.js (NextAuth v5) or Better Auth
application from the shell: migrate, list, revoke, enrol and test passkeys. It reads
and writes the database exactly as the app does: for Auth.js the Authenticator table
and the Account row that pairs with each passkey, for Better Auth's passkey plugin
its one passkey row.

The app is detected from its tables; when the database holds both apps' tables,
choose with --schema authjs or --schema better-auth (--tables names renamed
Better Auth tables). export and import move passkeys between the two apps, or
between databases, in an app-neutral JSON Lines format, re-encoding each
credential ID as the target app stores it.

Databases: PostgreSQL, MySQL 8 / MariaDB and SQLite, and an Auth.js app's Redis
(redis://HOST:6379/0?base=...: the keys @auth/unstorage-adapter writes; see the
README, "Auth.js on Redis"). What the command line names
wins over what is ambient: the DSN comes from --dsn, else --env-file (PASSKEYCTL_DSN,
then DATABASE_URL; a later file overrides an earlier one), else --config, else the
environment (PASSKEYCTL_DSN, then DATABASE_URL), else PASSKEYCTL_CONFIG or
./passkeyctl.yaml. 'passkeyctl config' shows every setting and where it came from.`,
		Example: `  # Create a new SQLite database with the Auth.js tables and the Authenticator table
  passkeyctl --dsn sqlite:auth.db migrate --core
  passkeyctl --dsn sqlite:auth.db migrate status

  # Use the app's own .env (DATABASE_URL=postgresql://...)
  passkeyctl --env-file ../app/.env migrate status -o json

  # Move an Auth.js app's passkeys to Better Auth
  passkeyctl --dsn "$OLD_DSN" export > passkeys.jsonl
  passkeyctl --dsn "$NEW_DSN" --schema better-auth import passkeys.jsonl

  # An Auth.js app on Redis: its passkeys, then moved to PostgreSQL
  passkeyctl --dsn 'redis://127.0.0.1:6379/0' list
  passkeyctl --dsn 'redis://127.0.0.1:6379/0' export | passkeyctl --dsn "$PG_DSN" import --create-users

  # Every change is recorded (who, when, why, what it removed), and undone by entry
  passkeyctl revoke --user bob@example.com --all --yes --reason "INC-1234: lost laptop"
  passkeyctl audit --user bob@example.com
  passkeyctl undo 17 --yes`,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Name() == cobra.ShellCompRequestCmd || cmd.Name() == cobra.ShellCompNoDescRequestCmd {
				// A completion prints nothing but candidates: it reads the
				// configuration itself, quietly, when it needs the database
				// (completeFromStore).
				f.IO.setQuiet(true)
				return nil
			}
			// --quiet holds from the start, so that it also silences what
			// reading the configuration may warn about.
			f.IO.setQuiet(f.flags.Changed(keyQuiet))
			if err := f.loadConfig(); err != nil {
				return err
			}
			quiet, err := strconv.ParseBool(f.Get(keyQuiet))
			if err != nil {
				return usageError{fmt.Errorf("invalid quiet setting %q: use true or false", f.Get(keyQuiet))}
			}
			f.IO.setQuiet(quiet)
			if err := checkOutput(cmd, f.Output()); err != nil {
				return err
			}
			f.started = true
			return nil
		},
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.SetHelpTemplate(root.HelpTemplate() + "\n" + exitCodesHelp + "\n")
	pf := root.PersistentFlags()
	nonEmptyStringVarP(pf, new(string), keyDSN, "", "", "database URL: postgres://, postgresql://, mysql://, sqlite:PATH or file:PATH (env PASSKEYCTL_DSN, DATABASE_URL)")
	nonEmptyStringArrayVar(pf, &f.envFiles, "env-file", nil, "read DATABASE_URL and PASSKEYCTL_* from the dotenv file `PATH` (the app's .env), as Next.js reads it; repeatable: a later file overrides an earlier one")
	nonEmptyStringVarP(pf, new(string), "config", "", "", "YAML config file (default ./passkeyctl.yaml when present)")
	pf.StringP(keyOutput, "o", outputTable, "output format: table, json or jsonl (stats: also prometheus)")
	pf.BoolP(keyQuiet, "q", false, "print nothing on stderr but errors and prompts: no notes, warnings or progress")
	nonEmptyStringVarP(pf, new(string), keyProviderID, "", "passkey", "Auth.js provider id written to Account.provider")
	nonEmptyStringVarP(pf, new(string), keyConnectTimeout, "", "", "give up connecting to the database after this long: 5s, 1m, or whole seconds; unset, the DSN's connect_timeout applies (env PASSKEYCTL_CONNECT_TIMEOUT) (default 15s)")
	nonEmptyStringVarP(pf, new(string), keySchema, "", "", "app whose tables to use: authjs or better-auth (default: detected; required when the database holds both)")
	nonEmptyStringVarP(pf, new(string), keyTables, "", "", "Better Auth tables the app renamed: passkey=NAME,user=NAME")
	nonEmptyStringVarP(pf, new(string), keyActor, "", "", "who makes the change, for the audit log (env PASSKEYCTL_ACTOR) (default: OS user@host)")
	nonEmptyStringVarP(pf, new(string), keyReason, "", "", "why, for the audit log: a ticket, a sentence (env PASSKEYCTL_REASON)")
	nonEmptyStringVarP(pf, new(string), keyAuditFile, "", "", "also append each audit entry as a JSON line to `PATH` (for a SIEM; env PASSKEYCTL_AUDIT_FILE)")
	f.flags = pf

	// One line per command; each command lives in its own file.
	root.AddCommand(newCmdMigrate(f, nil))
	root.AddCommand(newCmdList(f, nil))
	root.AddCommand(newCmdRevoke(f, nil))
	root.AddCommand(newCmdRename(f, nil))
	root.AddCommand(newCmdServe(f, nil))
	root.AddCommand(newCmdExport(f, nil))
	root.AddCommand(newCmdImport(f, nil))
	root.AddCommand(newCmdVersion(f))
	root.AddCommand(newCmdConfig(f, nil))
	root.AddCommand(newCmdStats(f, nil))
	root.AddCommand(newCmdAudit(f, nil))
	root.AddCommand(newCmdUndo(f, nil))
	// `passkeyctl help exit-codes`, as `gh help exit-codes`: a help topic.
	exitCodes := &cobra.Command{Use: "exit-codes", Short: "The exit codes scripts can rely on", Long: exitCodesHelp}
	exitCodes.SetHelpTemplate("{{.Long}}\n")
	root.AddCommand(exitCodes)
	root.SetHelpCommand(newCmdHelp(f, root))
	registerCompletions(root, f)
	root.Version = version
	root.SetVersionTemplate("passkeyctl {{.Version}}\n")
	return root
}

// loadConfig reads the --env-file files and the config file. Values are
// resolved later, per key, by Resolve.
func (f *Factory) loadConfig() error {
	if err := f.loadEnvFiles(); err != nil {
		return err
	}
	path, _ := f.flags.GetString("config")
	f.configExplicit = path != ""
	if path == "" {
		if v, ok := f.LookupEnv("PASSKEYCTL_CONFIG"); ok {
			path = v
		}
	}
	explicit := path != ""
	if !explicit {
		path = "passkeyctl.yaml"
		if _, err := os.Stat(path); err != nil {
			return nil
		}
	}
	v := viper.New()
	v.SetConfigFile(path)
	v.SetConfigType("yaml")
	if err := v.ReadInConfig(); err != nil {
		return usageError{fmt.Errorf("read config %s: %v", path, unwrapPathError(err))}
	}
	for _, k := range v.AllKeys() {
		if (f.flags.Lookup(k) == nil || k == "config" || k == "env-file") && !configOnlyKeys[k] {
			return usageError{fmt.Errorf("config %s: unknown key %q (known: %s)", path, k, strings.Join(f.configKeys(), ", "))}
		}
	}
	f.viper = v
	f.configPath = path
	return nil
}

// loadEnvFiles reads each --env-file in order, as Next.js reads an app's
// .env files (internal/dotenv), layering them: a variable of a later file
// replaces an earlier file's. A file's ${VAR} references see the earlier
// files' variables, then the process environment. What dotenv reads in
// silence (a line that is no assignment, a quote never closed) gets a
// warning; a reference that never ends is an error. Warnings and errors
// name the file, line and variable, never a value.
func (f *Factory) loadEnvFiles() error {
	f.dotenv = map[string]envFileVar{}
	f.dotenvReplaced = map[string][]envFileVar{}
	for _, path := range f.envFiles {
		data, err := os.ReadFile(path)
		if err != nil {
			return usageError{fmt.Errorf("read --env-file %s: %v", path, unwrapPathError(err))}
		}
		vars, warnings := dotenv.Parse(path, data)
		for _, w := range warnings {
			fmt.Fprintln(f.IO.ErrOut, "warning: --env-file "+w.Error())
		}
		vars, err = dotenv.Expand(path, vars, func(name string) (string, bool) {
			if v, ok := f.dotenv[name]; ok {
				return v.Value, true
			}
			return f.LookupEnv(name)
		})
		if err != nil {
			return usageError{fmt.Errorf("--env-file %w (no value is shown: the file may hold secrets)", err)}
		}
		for _, v := range vars {
			if old, ok := f.dotenv[v.Name]; ok {
				f.dotenvReplaced[v.Name] = append([]envFileVar{old}, f.dotenvReplaced[v.Name]...)
			}
			f.dotenv[v.Name] = envFileVar{Value: v.Value, Path: path, Line: v.Line}
		}
	}
	return nil
}

// configKeys lists the keys a config file may set: every global flag but
// --config and --env-file, and configOnlyKeys.
func (f *Factory) configKeys() []string {
	var keys []string
	f.flags.VisitAll(func(fl *pflag.Flag) {
		if fl.Name != "config" && fl.Name != "env-file" && fl.Name != "help" {
			keys = append(keys, fl.Name)
		}
	})
	for k := range configOnlyKeys {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// configOnlyKeys are accepted in the config file without a root flag.
var configOnlyKeys = map[string]bool{}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func newCmdVersion(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the passkeyctl version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.Output() == outputTable {
				fmt.Fprintln(f.IO.Out, "passkeyctl "+version)
				return nil
			}
			return writeResult(f.IO.Out, f.Output(), versionInfo{Version: version, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH})
		},
	}
}

// versionInfo is `passkeyctl version -o json`.
type versionInfo struct {
	Version  string `json:"version"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

// newCmdHelp is `passkeyctl help [COMMAND]`: cobra's, except that a topic
// that does not exist is an error (exit 2), not the root help with exit 0,
// so a script that asks for help on a misspelt command learns of it. It
// reads no configuration: help must work whatever the config file holds.
func newCmdHelp(f *Factory, root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			f.started = true
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			target, rest, err := root.Find(args)
			if err != nil || target == nil || len(rest) > 0 {
				return usageError{fmt.Errorf("unknown help topic %q; run 'passkeyctl --help' for the commands", strings.Join(args, " "))}
			}
			target.InitDefaultHelpFlag()
			return target.Help()
		},
	}
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"
