package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
	"github.com/passkeyctl/passkeyctl/internal/store"
	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["filemode"] = cmdFileMode
}

// cmdFileMode checks a file's permission bits:
//
//	filemode PATH 0600
func cmdFileMode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: filemode PATH MODE")
	}
	fi, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	if got := fmt.Sprintf("%04o", fi.Mode().Perm()); got != args[1] {
		ts.Fatalf("%s has mode %s, want %s", args[0], got, args[1])
	}
}

// cancelOnWrite cancels a context at its first write: a stand-in for a
// Ctrl-C that arrives while the export streams.
type cancelOnWrite struct {
	cancel context.CancelFunc
	buf    bytes.Buffer
}

func (c *cancelOnWrite) Write(p []byte) (int, error) {
	c.cancel()
	return c.buf.Write(p)
}

// An export interrupted part-way (its context cancelled, as SIGINT and
// SIGTERM do) returns promptly and leaves neither the file nor its
// temporary file, which holds every e-mail address written so far.
func TestExport_interruptedLeavesNoTempFile(t *testing.T) {
	_, d := dbtest.Migrated(t, "sqlite")
	dbtest.Exec(t, d, `INSERT INTO "User" (id, email, "updatedAt") VALUES ('u1', 'a@example.com', CURRENT_TIMESTAMP)`)
	for i := range 200 {
		id := base64.StdEncoding.EncodeToString(dbtest.BenchCredential(i))
		// No Account row: each passkey is left out with a warning on
		// stderr, mid-stream.
		dbtest.Exec(t, d, fmt.Sprintf(`INSERT INTO "Authenticator" ("credentialID", "userId", "providerAccountId", "credentialPublicKey", counter, "credentialDeviceType", "credentialBackedUp") VALUES ('%s', 'u1', '%s', '%s', 0, 'singleDevice', 0)`, id, id, dbtest.BenchPublicKey))
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errOut := &cancelOnWrite{cancel: cancel}
	opts := &ExportOptions{
		IO:         &IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: errOut},
		Store:      sqlStore(t, d),
		ProviderID: "passkey",
		File:       filepath.Join(dir, "passkeys.jsonl"),
	}
	err := exportRun(ctx, opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if n := strings.Count(errOut.buf.String(), "warning: left out"); n != 1 {
		t.Errorf("%d passkeys handled after the cancellation; want the export to stop at once:\n%s", n-1, errOut.buf.String())
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		t.Errorf("left behind: %s", e.Name())
	}
}

// export --file replaces an existing file with a 0600 one, whatever mode
// the old file had.
func TestExport_fileIsPrivate(t *testing.T) {
	_, d := dbtest.Migrated(t, "sqlite")
	path := filepath.Join(t.TempDir(), "passkeys.jsonl")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := &ExportOptions{
		IO:         &IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard},
		Store:      sqlStore(t, d),
		ProviderID: "passkey",
		File:       path,
	}
	if err := exportRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
}

// sqlStore opens the store of d's detected app, as the SQL backend does.
func sqlStore(t *testing.T, d *db.DB) func(context.Context) (store.Store, error) {
	t.Helper()
	return func(ctx context.Context) (store.Store, error) {
		s, err := d.DetectForStore(ctx)
		if err != nil {
			return nil, err
		}
		return &db.Store{DB: d, Schema: s, ProviderID: "passkey"}, nil
	}
}
