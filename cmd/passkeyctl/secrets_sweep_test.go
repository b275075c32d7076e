package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/spf13/cobra"
)

// sweepArgs are the arguments each command needs to get as far as opening
// the database. A command not listed (one added later) is swept with no
// arguments.
var sweepArgs = map[string][]string{
	"list":           {},
	"revoke":         {"--yes", "--", "Y3JlZA=="},
	"export":         {"--file", "{dir}/out.jsonl"},
	"import":         {"{dir}/in.jsonl"},
	"migrate":        {},
	"migrate status": {},
	"migrate down":   {"--yes"},
	"serve":          {"--test", "--timeout", "2s"},
	"config":         {},
	"version":        {},
	"rename":         {"--", "Y3JlZA==", "name"},
	"stats":          {},
	"audit":          {"--user", "a@example.com"},
	"undo":           {"1", "--yes"},
}

// sweepCommands lists every command and sub-command of the CLI, as paths
// without "passkeyctl": "list", "migrate status", ...
func sweepCommands(t *testing.T) []string {
	t.Helper()
	var paths []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Name() == "help" || sub.Name() == "completion" || sub.Name() == "exit-codes" || sub.Hidden {
				continue
			}
			paths = append(paths, strings.TrimPrefix(sub.CommandPath(), "passkeyctl "))
			walk(sub)
		}
	}
	walk(newRootCmd(&Factory{IO: &IOStreams{}, LookupEnv: os.LookupEnv}))
	for p := range sweepArgs {
		if !slices.Contains(paths, p) {
			t.Errorf("sweepArgs names %q, which is no command", p)
		}
	}
	return paths
}

// pieces lists what must never appear for a secret: the secret in every
// encoding, and each piece of it between the characters that break a URL
// (a message that cut a DSN at a raw "@" or "#" printed the rest).
func pieces(secret string) []string {
	out := []string{secret, url.PathEscape(secret), url.QueryEscape(secret), strings.TrimPrefix(url.UserPassword("", secret).String(), ":")}
	for _, p := range strings.FieldsFunc(secret, func(r rune) bool { return strings.ContainsRune("@#/?%:&=' \t\n\"`$", r) }) {
		if len(p) >= 4 {
			out = append(out, p)
		}
	}
	return out
}

// listener counts the connections made to a local port that stands in for
// a database server.
type listener struct {
	port  int
	conns atomic.Int64
}

func newListener(t *testing.T) *listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	l := &listener{port: ln.Addr().(*net.TCPAddr).Port}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			l.conns.Add(1)
			c.Close()
		}
	}()
	return l
}

// sweepRun runs one command line in-process and fails the test when its
// output shows any piece of a secret.
func sweepRun(t *testing.T, args []string, secrets []string) (code int, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errOut)
	all := out.String() + errOut.String()
	for _, s := range secrets {
		for _, p := range pieces(s) {
			if strings.Contains(all, p) {
				t.Errorf("%q (exit %d) shows %q:\n%s", args, code, p, all)
				return code, errOut.String()
			}
		}
	}
	return code, errOut.String()
}

// Every command, given a DSN that does not parse (from --dsn, the
// environment, an --env-file or a config file), exits 2 without showing
// any piece of the password and without connecting anywhere: the hosts
// point at a local listener (and lib/pq's defaults, PGHOST/PGPORT, too),
// which must see no connection.
func TestSweep_malformedDSNs(t *testing.T) {
	ln := newListener(t)
	hp := fmt.Sprintf("127.0.0.1:%d", ln.port)
	t.Setenv("PGHOST", "127.0.0.1")
	t.Setenv("PGPORT", fmt.Sprint(ln.port))
	for _, k := range []string{"DATABASE_URL", "PASSKEYCTL_DSN", "PASSKEYCTL_CONFIG", "PASSKEYCTL_OUTPUT"} {
		t.Setenv(k, "")
	}
	type dsnCase struct{ dsn, secret string }
	cases := []dsnCase{
		{"app:S3cretTypo1@" + hp + "/app", "S3cretTypo1"},
		{"postgres:/postgres:S3cretTypo2@" + hp + "/db", "S3cretTypo2"},
		{"postgres//app:S3cretTypo3@" + hp + "/app", "S3cretTypo3"},
		{"postgres:app:S3cretTypo4@" + hp + "/app", "S3cretTypo4"},
		{"postgresql:/app:S3cretTypo5@" + hp + "/app", "S3cretTypo5"},
		{"postgres://app:Rw9x@Pq7z#Wd1k@" + hp + "/app", "Rw9x@Pq7z#Wd1k"},
		{"postgres://app:Hq2m#Zt6v@" + hp + "/app", "Hq2m#Zt6v"},
		{"postgres://app:Jk4n?Lp8w@" + hp + "/app", "Jk4n?Lp8w"},
		{"postgres://app:Mv3b/Nc5x@" + hp + "/app", "Mv3b/Nc5x"},
		{"postgres://app:12/Bq7yUu@" + hp + "/app", "12/Bq7yUu"},
		{"postgres://app:Gf5t%Yh6u@" + hp + "/app", "Gf5t%Yh6u"},
		{"postgres://app:Kd7s@Wq1e@" + hp + "/app", "Kd7s@Wq1e"},
		{"postgres://app:Sp4c Ee9r@" + hp + "/app", "Sp4c Ee9r"},
		{"postgres://app:Pw7Param@" + hp + "/app?application_name=a@b", "Pw7Param"},
		{"mysql:/root:My5qlTypo@" + hp + "/db", "My5qlTypo"},
		{"mysql:root:My6qlTypo@" + hp + "/db", "My6qlTypo"},
		{"mysql://root:Zx3c#Vb4n@" + hp + "/db", "Zx3c#Vb4n"},
		{"mysql://root:Qw8e@Rt9y@" + hp + "/db", "Qw8e@Rt9y"},
		{"mysql://root:Mq1u?Mq2v@" + hp + "/db", "Mq1u?Mq2v"},
		{"root:Go7drvPw@tcp(" + hp + ")/db", "Go7drvPw"},
		{"user:Ns8chm3x@" + hp + "/db", "Ns8chm3x"},
		{"host=127.0.0.1 port=" + fmt.Sprint(ln.port) + " user=app password=Kv9lPw dbname=app", "Kv9lPw"},
		{"redis://admin:Rd1s@Pw2x#Yz3q@" + hp + "/0", "Rd1s@Pw2x#Yz3q"},
		{"sqlite://user:Sq1tePw@" + hp + "/db", "Sq1tePw"},
		{"Bare9SecretPw", "Bare9SecretPw"},
		{"POSTGRES:/app:Up1casePw@" + hp + "/app", "Up1casePw"},
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.jsonl"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	commands := sweepCommands(t)
	envSecrets := []string{"EnvAuthS3cret", "EnvGoogleS3cret"}
	for _, c := range cases {
		envFile := filepath.Join(dir, "app.env")
		// Single quotes: the env file keeps the DSN exactly (no ${}
		// or # handling in the way).
		body := "AUTH_SECRET=EnvAuthS3cret\nDATABASE_URL='" + c.dsn + "'\nAUTH_GOOGLE_SECRET=\"EnvGoogleS3cret\"\n"
		if err := os.WriteFile(envFile, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		configFile := filepath.Join(dir, "passkeyctl.yaml")
		if err := os.WriteFile(configFile, []byte(fmt.Sprintf("dsn: %q\n", c.dsn)), 0o600); err != nil {
			t.Fatal(err)
		}
		secrets := append([]string{c.secret}, envSecrets...)
		for _, cmd := range commands {
			var args []string
			for _, a := range sweepArgs[cmd] {
				args = append(args, strings.ReplaceAll(a, "{dir}", dir))
			}
			path := strings.Fields(cmd)
			for _, mode := range []struct {
				name string
				args []string
				env  string
			}{
				{"flag", []string{"--dsn", c.dsn}, ""},
				{"flag json", []string{"--dsn", c.dsn, "-o", "json"}, ""},
				{"DATABASE_URL", nil, "DATABASE_URL"},
				{"PASSKEYCTL_DSN", nil, "PASSKEYCTL_DSN"},
				{"env-file", []string{"--env-file", envFile}, ""},
				{"config", []string{"--config", configFile}, ""},
			} {
				if mode.env != "" {
					os.Setenv(mode.env, c.dsn)
				}
				full := append(append(append([]string{}, mode.args...), path...), args...)
				code, stderr := sweepRun(t, full, secrets)
				if mode.env != "" {
					os.Setenv(mode.env, "")
				}
				if cmd != "config" && cmd != "version" && code != exitUsage {
					t.Errorf("%s: %q: exit %d, want 2 (refused before connecting):\n%s", mode.name, full, code, stderr)
				}
			}
		}
	}
	if n := ln.conns.Load(); n != 0 {
		t.Errorf("the stand-in server received %d connections for DSNs that do not parse", n)
	}
}

// Every command, given an --env-file that does not parse (or parses with
// lines it ignores), shows no value of the file.
func TestSweep_brokenEnvFiles(t *testing.T) {
	for _, k := range []string{"DATABASE_URL", "PASSKEYCTL_DSN", "PASSKEYCTL_CONFIG", "PASSKEYCTL_OUTPUT"} {
		t.Setenv(k, "")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.jsonl"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	const key = "-----BEGIN PRIVATE KEY-----\nMIIEvKeyS3cretLine\n-----END PRIVATE KEY-----"
	secrets := []string{"AuthS3cretValue", "GoogleS3cretValue", "MIIEvKeyS3cretLine", "BadNameS3cret", "JunkLineS3cret", "DbPassS3cret"}
	files := map[string]string{
		"unterminated":    "DATABASE_URL=sqlite:{dir}/none.db\nAUTH_SECRET=\"AuthS3cretValue\nAUTH_GOOGLE_SECRET=GoogleS3cretValue\nPRIVATE_KEY=\"" + key + "\"\n",
		"unterminated sq": "AUTH_SECRET='AuthS3cretValue\nAUTH_GOOGLE_SECRET=GoogleS3cretValue\n",
		"runaway":         "AUTH_SECRET=\"AuthS3cretValue\nAUTH_GOOGLE_SECRET=\"GoogleS3cretValue\"\nDATABASE_URL=postgres://app:DbPassS3cret@127.0.0.1:1/app\n",
		"bom":             "\ufeffAUTH_SECRET=AuthS3cretValue\r\nFOO BAR JunkLineS3cret\r\nDATABASE_URL=sqlite:{dir}/none.db\r\n",
		"junk":            "FOO BAR JunkLineS3cret\n1BAD-NAME=BadNameS3cret\nAUTH_SECRET=AuthS3cretValue\nDATABASE_URL=sqlite:{dir}/none.db\n",
		"self reference":  "AUTH_SECRET=AuthS3cretValue$AUTH_GOOGLE_SECRET\nAUTH_GOOGLE_SECRET=GoogleS3cretValue$AUTH_SECRET\nDATABASE_URL=sqlite:{dir}/none.db\n",
		"bad dsn":         "AUTH_SECRET=AuthS3cretValue\nDB_PASS=DbPassS3cret\nDATABASE_URL=postgres:/app:${DB_PASS}@127.0.0.1:1/app\n",
		"hash in dsn":     "DATABASE_URL=postgres://app:DbPassS3cret#GoogleS3cretValue@127.0.0.1:1/app\nAUTH_SECRET=AuthS3cretValue\n",
		"text after key":  "PRIVATE_KEY=\"" + key + "\" AuthS3cretValue\n",
		"binary":          "AUTH_SECRET=AuthS3cretValue\x00\xff\xfe\nDATABASE_URL=\x00GoogleS3cretValue\n",
	}
	commands := sweepCommands(t)
	for name, body := range files {
		envFile := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".env")
		if err := os.WriteFile(envFile, []byte(strings.ReplaceAll(body, "{dir}", dir)), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, cmd := range commands {
			var args []string
			for _, a := range sweepArgs[cmd] {
				args = append(args, strings.ReplaceAll(a, "{dir}", dir))
			}
			for _, out := range []string{"table", "json"} {
				full := append(append([]string{"--env-file", envFile, "-o", out}, strings.Fields(cmd)...), args...)
				sweepRun(t, full, secrets)
			}
		}
	}
}

// DSNs that do parse, with passwords of every character a URL allows raw or
// percent-encoded, reach the (stand-in) server, and no output of any
// command shows the password: not in the redacted DSN, not in the driver's
// error.
func TestSweep_validDSNsWithOddPasswords(t *testing.T) {
	ln := newListener(t)
	hp := fmt.Sprintf("127.0.0.1:%d", ln.port)
	for _, k := range []string{"DATABASE_URL", "PASSKEYCTL_DSN", "PASSKEYCTL_CONFIG", "PASSKEYCTL_OUTPUT"} {
		t.Setenv(k, "")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.jsonl"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var dsns []string
	var secrets []string
	for i, pw := range []string{"Qu0te'Pw1", "D0llar$Pw2", "Sub!*()Pw3", "Semi;,+=Pw4", "Col:on:Pw5", "Pct@#/?%& Pw6", "Uni\u00e9Pw7"} {
		secret := fmt.Sprintf("%s%d", pw, i)
		secrets = append(secrets, secret)
		enc := strings.TrimPrefix(url.UserPassword("", secret).String(), ":")
		dsns = append(dsns, "postgres://app:"+enc+"@"+hp+"/app", "mysql://root:"+enc+"@"+hp+"/db")
		if !strings.ContainsAny(secret, "@#/?% é") {
			// As written, unencoded: these characters are legal raw.
			dsns = append(dsns, "postgres://app:"+secret+"@"+hp+"/app", "mysql://root:"+secret+"@"+hp+"/db")
		}
		dsns = append(dsns, "postgres://app@"+hp+"/app?password="+url.QueryEscape(secret))
	}
	for _, dsn := range dsns {
		for _, cmd := range []string{"list", "migrate status", "config"} {
			sweepRun(t, append([]string{"--dsn", dsn}, strings.Fields(cmd)...), secrets)
		}
	}
	// list and migrate status connect; config does not.
	if n := ln.conns.Load(); n < int64(len(dsns)) {
		t.Errorf("%d connections reached the stand-in server for %d DSNs that parse", n, len(dsns))
	}
}
