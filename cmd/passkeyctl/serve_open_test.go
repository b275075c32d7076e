package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/ceremony"
	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// --open never puts the one-time URL on a command line (where ps shows it
// to every user of the machine): the browser is given a 0600 file that
// redirects to the URL, removed when the ceremony ends.
func TestServe_openKeepsTokenOffCommandLine(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "auth.db")
	if code := run(context.Background(), []string{"--dsn", dsn, "migrate", "--core"}, strings.NewReader(""), io.Discard, io.Discard); code != 0 {
		t.Fatalf("migrate: %d", code)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut bytes.Buffer
	var opened, content string
	var mode os.FileMode
	opts := &ServeOptions{
		IO: &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
		Store: func(ctx context.Context) (store.Store, error) {
			d, err := db.Open(ctx, dsn, db.OpenOptions{})
			if err != nil {
				return nil, err
			}
			s, err := d.DetectForStore(ctx)
			if err != nil {
				return nil, err
			}
			return &db.Store{DB: d, Schema: s, ProviderID: "passkey"}, nil
		},
		Now: time.Now, Rand: rand.Reader, Output: outputTable, ProviderID: "passkey",
		Enroll: true, User: "new@example.com", CreateUser: true,
		RPID: "localhost", Listen: ceremony.DefaultListen, Timeout: time.Minute, Open: true,
		OpenBrowser: func(arg string) error {
			opened = arg
			if fi, err := os.Stat(arg); err == nil {
				mode = fi.Mode().Perm()
				b, _ := os.ReadFile(arg)
				content = string(b)
			}
			cancel()
			return nil
		},
	}
	err := serveRun(ctx, opts)
	if !errors.Is(err, errCeremony) {
		t.Fatalf("err %v, want the cancelled ceremony", err)
	}
	pageURL := strings.TrimSpace(strings.SplitN(out.String(), "\n", 2)[0])
	if !strings.HasPrefix(pageURL, "http://localhost:") {
		t.Fatalf("stdout %q", out.String())
	}
	if opened == "" || strings.Contains(opened, pageURL) || strings.Contains(opened, "http") {
		t.Fatalf("the browser was given %q, which carries the URL %s", opened, pageURL)
	}
	if mode != 0o600 {
		t.Errorf("redirect file mode %v, want 0600", mode)
	}
	if !strings.Contains(content, pageURL) && !strings.Contains(content, strings.ReplaceAll(pageURL, "&", "&amp;")) {
		t.Errorf("redirect file does not lead to %s:\n%s", pageURL, content)
	}
	if _, err := os.Stat(opened); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("redirect file %s left behind (%v)", opened, err)
	}
}
