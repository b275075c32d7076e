package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
)

// runTerminal runs passkeyctl like run does, but with stdin and stdout
// flagged as terminals or not, which testscript cannot do: the
// confirmation prompt and shortened table IDs depend on it.
func runTerminal(t *testing.T, inTTY, outTTY bool, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	f := &Factory{
		IO:        &IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut, InTTY: inTTY, OutTTY: outTTY},
		Now:       time.Now,
		LookupEnv: func(string) (string, bool) { return "", false },
	}
	defer f.close()
	root := newRootCmd(f)
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	if err := root.ExecuteContext(context.Background()); err != nil {
		errOut.WriteString("passkeyctl: " + errorLine(err) + "\n")
		return out.String(), errOut.String(), exitCode(err)
	}
	return out.String(), errOut.String(), exitOK
}

const fixtureSeed = `INSERT INTO "User" ("id", "email", "updatedAt") VALUES ('cmwvgemvd0000l07d4xrhgdsb', 'fixture@example.com', '2025-01-01 00:00:00');
INSERT INTO "Account" ("userId", "type", "provider", "providerAccountId", "updatedAt") VALUES ('cmwvgemvd0000l07d4xrhgdsb', 'webauthn', 'passkey', 'INbbybromzQQ0aFYQlauAYFzl2U=', '2025-01-01 00:00:00');
INSERT INTO "Authenticator" ("credentialID", "userId", "providerAccountId", "credentialPublicKey", "counter", "credentialDeviceType", "credentialBackedUp", "transports") VALUES ('INbbybromzQQ0aFYQlauAYFzl2U=', 'cmwvgemvd0000l07d4xrhgdsb', 'INbbybromzQQ0aFYQlauAYFzl2U=', 'pQECAyYgASFYIMAYEZESxZA8Oph6Bewn9vMntNwy+Ca7PZbKcHhUMANrIlggZLbNNdO6oJ/2NtR8/An2CHU8ASi/rqmwaztKfyYows4=', 0, 'multiDevice', TRUE, 'hybrid,internal')`

func seededSQLite(t *testing.T) string {
	t.Helper()
	dsn, d := dbtest.Migrated(t, "sqlite")
	dbtest.Exec(t, d, strings.Split(fixtureSeed, ";\n")...)
	return dsn
}

func countAuthenticators(t *testing.T, dsn string) int {
	t.Helper()
	d := dbtest.Open(t, dsn)
	var n int
	if err := d.X.Get(&n, `SELECT COUNT(*) FROM "Authenticator"`); err != nil {
		t.Fatal(err)
	}
	var a int
	if err := d.X.Get(&a, `SELECT COUNT(*) FROM "Account"`); err != nil {
		t.Fatal(err)
	}
	if a != n {
		t.Fatalf("%d Authenticator rows but %d Account rows: revoke split a passkey", n, a)
	}
	return n
}

func TestRevoke_confirmOnTerminal(t *testing.T) {
	dsn := seededSQLite(t)

	// "n" (or anything but y/yes) refuses: exit 2, nothing deleted, and the
	// preview names the user, the credential and the device type.
	stdout, stderr, code := runTerminal(t, true, true, "n\n", "--dsn", dsn, "revoke", "--", "INbbybromzQQ0aFYQlauAYFzl2U")
	if code != exitUsage || stdout != "" {
		t.Fatalf("answer n: exit %d, stdout %q", code, stdout)
	}
	for _, want := range []string{"This will revoke 1 passkey of 1 user:", "cmwvgemvd0000l07d4xrhgdsb", "fixture@example.com", "INbbybromzQQ0aFYQlauAYFzl2U=", "multiDevice", "Revoke 1 passkey in " + dsn + "? [y/N]", "not confirmed; nothing was revoked"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("answer n: stderr lacks %q:\n%s", want, stderr)
		}
	}
	if n := countAuthenticators(t, dsn); n != 1 {
		t.Fatalf("answer n: %d passkeys left, want 1", n)
	}
	// End of input is no.
	if _, _, code := runTerminal(t, true, true, "", "--dsn", dsn, "revoke", "--", "INbbybromzQQ0aFYQlauAYFzl2U"); code != exitUsage {
		t.Fatalf("no answer: exit %d", code)
	}

	// "y" revokes; the table on a terminal shortens the ID.
	stdout, stderr, code = runTerminal(t, true, true, "y\n", "--dsn", dsn, "revoke", "--", "INbbybromzQQ0aFYQlauAYFzl2U")
	if code != exitOK {
		t.Fatalf("answer y: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "INbbybromzQQ0aF…") || strings.Contains(stdout, "INbbybromzQQ0aFYQlauAYFzl2U=") {
		t.Fatalf("terminal table should shorten the ID:\n%s", stdout)
	}
	if !strings.Contains(stderr, "Revoked 1 passkey of 1 user (deleted 1 Account row).") || !strings.Contains(stderr, "note: user cmwvgemvd0000l07d4xrhgdsb <fixture@example.com> has no passkey and no other Account left") {
		t.Fatalf("answer y: stderr:\n%s", stderr)
	}
	if n := countAuthenticators(t, dsn); n != 0 {
		t.Fatalf("answer y: %d passkeys left", n)
	}
}

func TestRevoke_noTerminalRefusesBeforeOpening(t *testing.T) {
	// The DSN points at a file that does not exist: the refusal comes
	// before any database work.
	_, stderr, code := runTerminal(t, false, false, "y\n", "--dsn", "sqlite:"+t.TempDir()+"/none.db", "revoke", "--", "INbbybromzQQ0aFYQlauAYFzl2U")
	if code != exitUsage || !strings.Contains(stderr, "pass --yes") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestList_terminalTable(t *testing.T) {
	dsn := seededSQLite(t)
	stdout, _, code := runTerminal(t, false, true, "", "--dsn", dsn, "list")
	if code != exitOK || !strings.Contains(stdout, "INbbybromzQQ0aF… ") {
		t.Fatalf("terminal table: exit %d\n%s", code, stdout)
	}
	stdout, _, _ = runTerminal(t, false, true, "", "--dsn", dsn, "list", "--wide")
	if !strings.Contains(stdout, "INbbybromzQQ0aFYQlauAYFzl2U=  ") {
		t.Fatalf("--wide table:\n%s", stdout)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 || strings.Index(lines[0], "USER ID") != strings.Index(lines[1], "cmwvgemvd0000l07d4xrhgdsb") {
		t.Fatalf("columns not aligned:\n%s", stdout)
	}
}
