package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
)

// Ctrl-C (the context ending with SIGINT as its cause, as main does) while
// the page waits: exit 130 as for every command, nothing written, and the
// JSON "failed" event after the "listening" one.
func TestServe_cancelled(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "auth.db")
	var errb bytes.Buffer
	if code := run(context.Background(), []string{"--dsn", dsn, "migrate", "--core"}, strings.NewReader(""), io.Discard, &errb); code != 0 {
		t.Fatalf("migrate: %d %s", code, errb.String())
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	outR, outW := io.Pipe()
	errb.Reset()
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, []string{"--dsn", dsn, "-o", "jsonl", "serve", "--enroll", "--user", "new@example.com", "--create-user"}, strings.NewReader(""), outW, &errb)
		outW.Close()
	}()
	lines := bufio.NewScanner(outR)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), `{"event":"listening","url":"http://localhost:`) {
		t.Fatalf("first line %q", lines.Text())
	}
	cancel(interrupted{os.Interrupt})
	if !lines.Scan() || lines.Text() != `{"event":"failed","error":"ceremony cancelled: nothing was written"}` {
		t.Fatalf("second line %q", lines.Text())
	}
	select {
	case code := <-exit:
		if code != exitInterrupted {
			t.Fatalf("exit %d, want %d; stderr %s", code, exitInterrupted, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
	if !strings.Contains(errb.String(), "passkeyctl: interrupted by SIGINT: ceremony cancelled: nothing was written") {
		t.Errorf("stderr %s", errb.String())
	}
	// --create-user created nothing either.
	d := dbtest.Open(t, dsn)
	var users int
	if err := d.X.Get(&users, `SELECT COUNT(*) FROM "User"`); err != nil || users != 0 {
		t.Errorf("%d users (%v)", users, err)
	}
}
