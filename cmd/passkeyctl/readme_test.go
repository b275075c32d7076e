package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
)

// readmeBlocks returns the README's fenced ```sh blocks, each as its lines.
func readmeBlocks(t *testing.T) [][]string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks [][]string
	var cur []string
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case !in && strings.HasPrefix(line, "```sh"):
			in, cur = true, nil
		case in && strings.HasPrefix(line, "```"):
			in = false
			blocks = append(blocks, cur)
		case in:
			cur = append(cur, line)
		}
	}
	return blocks
}

// readmeFixture is one real passkey (the Auth.js fixture's) of alice, and one
// of bob, for the examples that list and revoke.
const readmeFixture = `INSERT INTO "User" ("id", "email", "updatedAt") VALUES ('u_alice', 'alice@example.com', CURRENT_TIMESTAMP), ('u_bob', 'bob@example.com', CURRENT_TIMESTAMP);
INSERT INTO "Account" ("userId", "type", "provider", "providerAccountId", "updatedAt") VALUES ('u_alice', 'webauthn', 'passkey', 'INbbybromzQQ0aFYQlauAYFzl2U=', CURRENT_TIMESTAMP), ('u_bob', 'webauthn', 'passkey', 'Ym9iLXBhc3NrZXk=', CURRENT_TIMESTAMP);
INSERT INTO "Authenticator" ("credentialID", "userId", "providerAccountId", "credentialPublicKey", "counter", "credentialDeviceType", "credentialBackedUp", "transports") VALUES
 ('INbbybromzQQ0aFYQlauAYFzl2U=', 'u_alice', 'INbbybromzQQ0aFYQlauAYFzl2U=', 'pQECAyYgASFYIMAYEZESxZA8Oph6Bewn9vMntNwy+Ca7PZbKcHhUMANrIlggZLbNNdO6oJ/2NtR8/An2CHU8ASi/rqmwaztKfyYows4=', 0, 'multiDevice', TRUE, 'hybrid,internal'),
 ('Ym9iLXBhc3NrZXk=', 'u_bob', 'Ym9iLXBhc3NrZXk=', 'pQECAyYgASFYIMAYEZESxZA8Oph6Bewn9vMntNwy+Ca7PZbKcHhUMANrIlggZLbNNdO6oJ/2NtR8/An2CHU8ASi/rqmwaztKfyYows4=', 0, 'singleDevice', FALSE, NULL);`

// TestREADME_examples runs the README's shell examples verbatim, line by
// line, each block against a fresh database as the section describes it
// (DATABASE_URL, DB and the files they name set up first), and checks the
// exit code each line must have: 0, or the documented refusal of an
// interactive command run without a terminal. Blocks that install or build
// (Install, the opening make test), and those that need a browser (serve
// without --url-file) are not run here; the --url-file recipe is run
// verbatim by testdata/script/serve_scripting.txtar, which this test holds
// to the README's text.
func TestREADME_examples(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Fatal("the README's examples use jq: install it (apt-get install jq)")
	}
	ran := 0
	for _, block := range readmeBlocks(t) {
		text := strings.Join(block, "\n")
		switch {
		case strings.Contains(text, "go install") || strings.Contains(text, "make test"):
			continue
		case strings.Contains(text, "--url-file"):
			checkRecipe(t, block)
			continue
		case strings.Contains(text, "passkeyctl serve"):
			continue
		}
		dir := t.TempDir()
		work := filepath.Join(dir, "work")
		for _, d := range []string{work, filepath.Join(dir, "app")} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		appDB := "sqlite:" + filepath.Join(dir, "app.db")
		env := append(os.Environ(), "DATABASE_URL="+appDB)
		setup := [][]string{{"--dsn", appDB, "migrate", "--core"}}
		if !strings.Contains(text, "migrate down") {
			// The examples that read and revoke passkeys need some; migrate
			// down without --force needs none.
			setup = append(setup, []string{"--dsn", appDB, "import-sql-fixture"})
		}
		if strings.Contains(text, `"$DB"`) {
			// Both apps' tables in one database: PostgreSQL (SQLite folds
			// "User" and Better Auth's "user" into one name).
			dsn, d := dbtest.Migrated(t, "postgres")
			dbtest.Exec(t, d, strings.Split(readmeFixture, ";\n")...)
			dbtest.Exec(t, d, dbtest.BetterAuthSQL("postgres", dbtest.BetterAuthOptions{})...)
			env = append(env, "DB="+dsn)
		}
		for _, args := range setup {
			if args[2] == "import-sql-fixture" {
				dbtest.Exec(t, dbtest.Open(t, appDB), strings.Split(readmeFixture, ";\n")...)
				continue
			}
			runPasskeyctl(t, work, env, args...)
		}
		writeFile(t, filepath.Join(dir, "app", ".env"), "DATABASE_URL="+appDB+"\n")
		writeFile(t, filepath.Join(work, "ids.txt"), "Ym9iLXBhc3NrZXk=\n")
		for _, line := range block {
			cmdline := strings.TrimSpace(stripComment(line))
			if cmdline == "" {
				continue
			}
			want := 0
			if interactive(cmdline) {
				want = exitUsage // the documented refusal without a terminal
			}
			// bash with pipefail: a failing passkeyctl before "| jq" counts.
			cmd := exec.Command("bash", "-o", "pipefail", "-c", cmdline)
			cmd.Dir, cmd.Env = work, env
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != want {
				t.Errorf("README example %q: exit %d, want %d\n%s", cmdline, code, want, out.String())
			}
			ran++
		}
	}
	if ran < 10 {
		t.Errorf("ran %d README examples; the README has more: did the block markers change?", ran)
	}
}

// interactive reports whether a README line asks for confirmation: a
// revoke or migrate down without --yes or --dry-run, which without a
// terminal refuses (exit 2) rather than waiting on a prompt.
func interactive(cmdline string) bool {
	asks := strings.Contains(cmdline, " revoke ") || strings.Contains(cmdline, "migrate down")
	return asks && !strings.Contains(cmdline, "--yes") && !strings.Contains(cmdline, "--dry-run")
}

// stripComment cuts a trailing "# comment" off a shell line.
func stripComment(line string) string {
	if i := regexp.MustCompile(`\s#\s`).FindStringIndex(line); i != nil {
		return line[:i[0]]
	}
	return line
}

// checkRecipe holds the README's --url-file recipe to the one
// serve_scripting.txtar runs.
func checkRecipe(t *testing.T, block []string) {
	t.Helper()
	b, err := os.ReadFile("testdata/script/serve_scripting.txtar")
	if err != nil {
		t.Fatal(err)
	}
	script := string(b)
	for _, line := range block {
		line = strings.TrimSpace(stripComment(line))
		if line != "" && !strings.Contains(script, line) {
			t.Errorf("README recipe line %q is not in serve_scripting.txtar's recipe: the test no longer runs the README's recipe verbatim", line)
		}
	}
}

func runPasskeyctl(t *testing.T, dir string, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command("passkeyctl", args...)
	cmd.Dir, cmd.Env = dir, env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("passkeyctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
