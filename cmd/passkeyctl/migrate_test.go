package main

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
)

// On a terminal, migrate down asks before it drops the table, and only
// "y" or "yes" goes ahead; anything else refuses (exit 2) and changes
// nothing.
func TestMigrateDown_asksOnTerminal(t *testing.T) {
	for _, c := range []struct {
		name, answer string
		dropped      bool
	}{{"y", "y\n", true}, {"YES", "YES\n", true}, {"n", "n\n", false}, {"enter", "\n", false}, {"eof", "", false}} {
		t.Run(c.name, func(t *testing.T) {
			_, d := dbtest.Migrated(t, "sqlite")
			var out, errOut bytes.Buffer
			opts := &MigrateDownOptions{
				IO: &IOStreams{In: strings.NewReader(c.answer), Out: &out, ErrOut: &errOut, InTTY: true},
				DB: func(context.Context, db.OpenOptions) (*db.DB, error) { return d, nil },
			}
			err := migrateDownRun(context.Background(), opts)
			if want := "Drop table Authenticator with 0 passkey(s) in " + d.Target.Redacted + "? [y/N] "; errOut.String() != want {
				t.Errorf("prompt %q", errOut.String())
			}
			s, derr := d.Detect(context.Background())
			if derr != nil {
				t.Fatal(derr)
			}
			if (s.Authenticator == nil) != c.dropped {
				t.Errorf("table dropped = %v, want %v", s.Authenticator == nil, c.dropped)
			}
			if c.dropped {
				if err != nil || out.String() != "dropped  Authenticator (0 passkey(s))\n" {
					t.Errorf("err %v, out %q", err, out.String())
				}
				return
			}
			if !errors.Is(err, passkey.ErrRefused) || exitCode(err) != exitUsage || !strings.Contains(err.Error(), "not confirmed; nothing was changed") {
				t.Errorf("err %v (exit %d), want a refusal with exit 2", err, exitCode(err))
			}
		})
	}
}

// --yes skips the question on a terminal; --force is still needed for a
// table that holds passkeys, terminal or not.
func TestMigrateDown_yesAndForce(t *testing.T) {
	_, d := dbtest.Migrated(t, "sqlite")
	dbtest.Exec(t, d,
		`INSERT INTO "User" (id, email, "updatedAt") VALUES ('u1', 'a@example.com', CURRENT_TIMESTAMP)`,
		`INSERT INTO "Authenticator" ("credentialID", "userId", "providerAccountId", "credentialPublicKey", counter, "credentialDeviceType", "credentialBackedUp") VALUES ('Y3JlZA==', 'u1', 'Y3JlZA==', 'cHVi', 0, 'singleDevice', 0)`)
	var out, errOut bytes.Buffer
	opts := &MigrateDownOptions{
		IO:  &IOStreams{In: strings.NewReader("y\n"), Out: &out, ErrOut: &errOut, InTTY: true},
		DB:  func(context.Context, db.OpenOptions) (*db.DB, error) { return d, nil },
		Yes: true,
	}
	if err := migrateDownRun(context.Background(), opts); !errors.Is(err, passkey.ErrRefused) || !strings.Contains(err.Error(), "holds 1 passkey(s)") {
		t.Fatalf("without --force: %v", err)
	}
	opts.Force = true
	if err := migrateDownRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if errOut.Len() != 0 {
		t.Errorf("asked with --yes: %q", errOut.String())
	}
	if out.String() != "dropped  Authenticator (1 passkey(s))\n" {
		t.Errorf("out %q", out.String())
	}
}

// No message from migrate, migrate status, migrate down or a bad DSN ever
// shows the password, whether the DSN came from --dsn, the environment or
// an --env-file, decoded or percent-encoded.
func TestMigrate_errorsNeverShowPassword(t *testing.T) {
	const secret = "Pk-s3cr3t@:/?#%&="
	enc := url.UserPassword("x", secret).String()[2:]
	forms := []string{secret, enc, url.QueryEscape(secret), url.PathEscape(secret), "Pk-s3cr3t"}

	pg, _ := url.Parse(dbtest.New(t, "postgres"))
	my, _ := url.Parse(dbtest.New(t, "mysql"))
	dsns := map[string]string{
		// MariaDB checks the password: root's is empty.
		"mysql wrong password": "mysql://root:" + enc + "@" + my.Host + my.Path,
		// The test PostgreSQL trusts local connections, so an unknown
		// role is what fails there.
		"postgres unknown role": "postgresql://pk_nobody:" + enc + "@" + pg.Host + pg.Path + "?sslmode=disable&schema=app",
		"postgres unreachable":  "postgres://postgres:" + enc + "@127.0.0.1:1/app",
		"unsupported scheme":    "mssql://sa:" + enc + "@db/app",
		"unparsable":            "postgres://app:" + secret + "@db:port/app",
	}
	commands := [][]string{{"migrate"}, {"migrate", "--core", "--dry-run"}, {"migrate", "status", "-o", "json"}, {"migrate", "down", "--yes"}}
	check := func(t *testing.T, args []string, env map[string]string) {
		t.Helper()
		for k, v := range env {
			t.Setenv(k, v)
		}
		var out, errOut bytes.Buffer
		code := run(context.Background(), args, strings.NewReader(""), &out, &errOut)
		if code != exitFailure && code != exitUsage {
			t.Errorf("%v: exit %d, want 1 or 2; stderr %q", args, code, errOut.String())
		}
		for _, f := range forms {
			if strings.Contains(out.String()+errOut.String(), f) {
				t.Fatalf("%v: output shows the password (%q):\n%s%s", args, f, out.String(), errOut.String())
			}
		}
		if !strings.Contains(errOut.String(), "passkeyctl: ") {
			t.Errorf("%v: no error line: %q", args, errOut.String())
		}
	}
	for name, dsn := range dsns {
		t.Run(name, func(t *testing.T) {
			for _, cmd := range commands {
				check(t, append([]string{"--dsn", dsn}, cmd...), nil)
			}
			check(t, []string{"migrate", "status"}, map[string]string{"DATABASE_URL": dsn})
			check(t, []string{"migrate"}, map[string]string{"PASSKEYCTL_DSN": dsn})
			envFile := filepath.Join(t.TempDir(), ".env")
			if err := os.WriteFile(envFile, []byte("DATABASE_URL='"+dsn+"'\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			check(t, []string{"--env-file", envFile, "migrate", "status"}, map[string]string{"DATABASE_URL": "", "PASSKEYCTL_DSN": ""})
		})
	}
}
