package redis

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Against the real Redis: the connect timeout bounds a connection only
// until the server's first answer (a blocking command that waits longer
// than it, after, is not cut short), and Options.Interrupt ends a command
// blocked on the server at once.
func TestDialer_connectTimeoutThenInterrupt(t *testing.T) {
	dsn := os.Getenv("PASSKEYCTL_TEST_REDIS")
	if dsn == "" {
		dsn = "redis://127.0.0.1:6379/0"
	}
	tg, err := ParseTarget(dsn)
	if err != nil {
		t.Fatal(err)
	}
	interrupt, stop := context.WithCancel(context.Background())
	defer stop()
	ctx := context.Background()
	s, err := Open(ctx, tg, Options{ConnectTimeout: 200 * time.Millisecond, Interrupt: interrupt})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Nothing is ever pushed to this key: BLPOP waits out its 600 ms.
	key := "pktest-dial-" + time.Now().Format("150405.000000000")
	start := time.Now()
	if err := s.c.BLPop(ctx, 600*time.Millisecond, key).Err(); !errors.Is(err, goredis.Nil) {
		t.Fatalf("BLPOP of 600 ms on a connection with a 200 ms connect timeout: %v after %s, want redis.Nil", err, time.Since(start))
	}
	done := make(chan error, 1)
	start = time.Now()
	go func() { done <- s.c.BLPop(ctx, 10*time.Second, key).Err() }()
	time.Sleep(200 * time.Millisecond)
	stop()
	select {
	case err := <-done:
		if err == nil || errors.Is(err, goredis.Nil) {
			t.Errorf("BLPOP after the interrupt: %v, want a closed connection", err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("BLPOP returned %s after the interrupt, want at once", took)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("BLPOP still blocked 5 s after the interrupt")
	}
}
