package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/joho/godotenv"
	"github.com/passkeyctl/passkeyctl/internal/db"
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

	flags   *pflag.FlagSet // the root's persistent flags
	viper   *viper.Viper   // the config file only
	dotenv  map[string]string
	db      *db.DB
	started bool // set once a command's own code runs; errors before that are usage errors
	// interrupt is run's context, which main cancels on SIGINT/SIGTERM.
	interrupt context.Context
}

// Global settings: flag name = config key; env PASSKEYCTL_<KEY>.
const (
	keyDSN        = "dsn"
	keyOutput     = "output"
	keyProviderID = "provider-id"
	// keyConnectTimeout is a string flag, not a duration flag, so that Get
	// can tell "not set" (the DSN's connect_timeout, else 15 s) from a
	// value.
	keyConnectTimeout = "connect-timeout"
)

// Get resolves a global setting: flag > env (PASSKEYCTL_*, and for the DSN
// DATABASE_URL) > --env-file > config file > default.
func (f *Factory) Get(key string) string {
	if fl := f.flags.Lookup(key); fl != nil && fl.Changed {
		return fl.Value.String()
	}
	names := []string{"PASSKEYCTL_" + strings.ToUpper(strings.ReplaceAll(key, "-", "_"))}
	if key == keyDSN {
		names = append(names, "DATABASE_URL")
	}
	for _, n := range names {
		if v, ok := f.LookupEnv(n); ok && v != "" {
			return v
		}
	}
	for _, n := range names {
		if v := f.dotenv[n]; v != "" {
			return v
		}
	}
	if f.viper != nil && f.viper.IsSet(key) {
		return f.viper.GetString(key)
	}
	if fl := f.flags.Lookup(key); fl != nil {
		return fl.DefValue
	}
	return ""
}

// Output is the chosen output format.
func (f *Factory) Output() string { return f.Get(keyOutput) }

// ProviderID is the Auth.js provider id written to Account.provider.
func (f *Factory) ProviderID() string { return f.Get(keyProviderID) }

// DB opens the configured database once.
func (f *Factory) DB(ctx context.Context, opts db.OpenOptions) (*db.DB, error) {
	if f.db != nil {
		return f.db, nil
	}
	dsn := f.Get(keyDSN)
	if dsn == "" {
		return nil, usageError{errors.New("no database: pass --dsn, set PASSKEYCTL_DSN or DATABASE_URL, use --env-file with the app's .env, or put dsn: in passkeyctl.yaml")}
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
	d, err := db.Open(ctx, dsn, opts)
	if err != nil {
		return nil, err
	}
	d.SchemaOptions = so
	f.db = d
	return d, nil
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

func (f *Factory) close() {
	if f.db != nil {
		f.db.Close()
	}
}

// run is the whole program: it parses args, runs one command, prints at
// most one error and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f := &Factory{IO: newIOStreams(stdin, stdout, stderr), Now: time.Now, LookupEnv: os.LookupEnv, interrupt: ctx}
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

Databases: PostgreSQL, MySQL 8 / MariaDB and SQLite. The DSN comes from --dsn,
PASSKEYCTL_DSN, DATABASE_URL (what the app already has), --env-file or the config
file, in that order.`,
		Example: `  # Create a new SQLite database with the Auth.js tables and the Authenticator table
  passkeyctl --dsn sqlite:auth.db migrate --core
  passkeyctl --dsn sqlite:auth.db migrate status

  # Use the app's own .env (DATABASE_URL=postgresql://...)
  passkeyctl --env-file ../app/.env migrate status -o json

  # Move an Auth.js app's passkeys to Better Auth
  passkeyctl --dsn "$OLD_DSN" export > passkeys.jsonl
  passkeyctl --dsn "$NEW_DSN" --schema better-auth import passkeys.jsonl`,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := f.loadConfig(); err != nil {
				return err
			}
			switch f.Output() {
			case outputTable, outputJSON, outputJSONL:
			default:
				return usageError{fmt.Errorf("invalid --output %q: use table, json or jsonl", f.Output())}
			}
			f.started = true
			return nil
		},
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.SetHelpTemplate(root.HelpTemplate() + "\n" + exitCodesHelp + "\n")
	pf := root.PersistentFlags()
	pf.String(keyDSN, "", "database URL: postgres://, postgresql://, mysql://, sqlite:PATH or file:PATH (env PASSKEYCTL_DSN, DATABASE_URL)")
	pf.String("env-file", "", "read DATABASE_URL and PASSKEYCTL_* from a dotenv file, such as the app's .env")
	pf.String("config", "", "YAML config file (default ./passkeyctl.yaml when present)")
	pf.StringP(keyOutput, "o", outputTable, "output format: table, json or jsonl")
	pf.String(keyProviderID, "passkey", "Auth.js provider id written to Account.provider")
	pf.String(keyConnectTimeout, "", "give up connecting to the database after this long: 5s, 1m, or whole seconds; unset, the DSN's connect_timeout applies (env PASSKEYCTL_CONNECT_TIMEOUT) (default 15s)")
	pf.String(keySchema, "", "app whose tables to use: authjs or better-auth (default: detected; required when the database holds both)")
	pf.String(keyTables, "", "Better Auth tables the app renamed: passkey=NAME,user=NAME")
	f.flags = pf

	// One line per command; each command lives in its own file.
	root.AddCommand(newCmdMigrate(f, nil))
	root.AddCommand(newCmdList(f, nil))
	root.AddCommand(newCmdRevoke(f, nil))
	root.AddCommand(newCmdServe(f, nil))
	root.AddCommand(newCmdExport(f, nil))
	root.AddCommand(newCmdImport(f, nil))
	root.AddCommand(newCmdVersion(f))
	// `passkeyctl help exit-codes`, as `gh help exit-codes`: a help topic.
	exitCodes := &cobra.Command{Use: "exit-codes", Short: "The exit codes scripts can rely on", Long: exitCodesHelp}
	exitCodes.SetHelpTemplate("{{.Long}}\n")
	root.AddCommand(exitCodes)
	root.Version = version
	root.SetVersionTemplate("passkeyctl {{.Version}}\n")
	return root
}

// loadConfig reads --env-file and the config file. Values are resolved
// later, per key, by Get.
func (f *Factory) loadConfig() error {
	if path, _ := f.flags.GetString("env-file"); path != "" {
		m, err := godotenv.Read(path)
		if err != nil {
			return usageError{fmt.Errorf("read --env-file %s: %v", path, unwrapPathError(err))}
		}
		f.dotenv = m
	}
	path, _ := f.flags.GetString("config")
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
			fmt.Fprintln(f.IO.Out, "passkeyctl "+version)
			return nil
		},
	}
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"
