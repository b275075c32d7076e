package ceremony

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"github.com/passkeyctl/passkeyctl/internal/ceremony/softauth"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// memStore is an in-memory Store with Auth.js's rules, for the tests of
// the HTTP surface; the database Store has its own tests on every dialect.
type memStore struct {
	mu    sync.Mutex
	creds map[string]StoredCredential
	saved []NewCredential
}

func newMemStore() *memStore { return &memStore{creds: map[string]StoredCredential{}} }

func (m *memStore) CredentialIDs(_ context.Context, userID string) ([][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids [][]byte
	for _, c := range m.creds {
		if c.UserID == userID {
			ids = append(ids, c.ID)
		}
	}
	return ids, nil
}

func (m *memStore) Save(_ context.Context, c NewCredential) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.creds[string(c.ID)]; ok {
		return ErrDuplicate
	}
	m.saved = append(m.saved, c)
	m.creds[string(c.ID)] = StoredCredential{ID: c.ID, UserID: c.User.ID, PublicKey: c.PublicKey, Counter: c.Counter, BackupEligible: c.BackupEligible, BackupState: c.BackupState}
	return nil
}

func (m *memStore) Find(_ context.Context, raw []byte) (StoredCredential, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.creds[string(raw)]
	if !ok {
		return StoredCredential{}, ErrUnknownCredential
	}
	return c, nil
}

func (m *memStore) UpdateCounter(_ context.Context, raw []byte, counter uint32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.creds[string(raw)]
	c.Counter = counter
	m.creds[string(raw)] = c
	return nil
}

// running is a Server whose Serve runs in the background.
type running struct {
	*Server
	t      *testing.T
	cancel context.CancelFunc
	out    chan outcome
	logs   *syncBuffer
	hc     *http.Client
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Logf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(&s.b, format+"\n", args...)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testConfig is an enrolment of alice on localhost with a short timeout.
func testConfig(mode Mode) Config {
	cfg := Config{Mode: mode, Timeout: 20 * time.Second, Rand: rand.Reader}
	if mode == ModeEnroll {
		cfg.User = &User{ID: "u-alice", Email: "alice@example.com"}
	}
	return cfg
}

// start listens and serves cfg in the background.
func start(t *testing.T, cfg Config, st Store) *running {
	t.Helper()
	logs := &syncBuffer{}
	cfg.Logf = func(format string, args ...any) { logs.Logf(format, args...) }
	s, err := New(cfg, st)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Server: s, t: t, cancel: cancel, out: make(chan outcome, 1), logs: logs,
		hc: &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	go func() {
		res, err := s.Serve(ctx)
		r.out <- outcome{res, err}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.out:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	return r
}

// wait returns Serve's result.
func (r *running) wait() (Result, error) {
	r.t.Helper()
	select {
	case o := <-r.out:
		r.out <- o // for the cleanup
		return o.res, o.err
	case <-time.After(15 * time.Second):
		r.t.Fatal("Serve did not return")
	}
	return Result{}, nil
}

// request sends one request to path (relative to the page URL) with the
// headers a same-origin fetch sends, overridden by hdr ("" deletes).
func (r *running) request(method, path string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	r.t.Helper()
	req, err := http.NewRequest(method, r.URL()+path, bytes.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Origin", r.Origins()[0])
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// post is a same-origin JSON POST to the API.
func (r *running) post(path string, body []byte) (int, []byte) {
	r.t.Helper()
	resp, b := r.request(http.MethodPost, path, body, nil)
	return resp.StatusCode, b
}

// reply decodes an apiReply.
func reply(t *testing.T, b []byte) apiReply {
	t.Helper()
	var a apiReply
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("reply %q: %v", b, err)
	}
	return a
}

// enrol runs a whole registration with the software authenticator, as the
// page does, and returns the finish reply.
func (r *running) enrol(a *softauth.Authenticator) (int, apiReply) {
	r.t.Helper()
	st, opts := r.post("api/begin", []byte("{}"))
	if st != http.StatusOK {
		r.t.Fatalf("begin: %d %s", st, opts)
	}
	a.Origin = r.Origins()[0]
	resp, err := a.Create(opts)
	if err != nil {
		r.t.Fatalf("authenticator: %v", err)
	}
	st, b := r.post("api/finish", resp)
	return st, reply(r.t, b)
}

// test runs a whole authentication with the software authenticator.
func (r *running) test(a *softauth.Authenticator) (int, apiReply) {
	r.t.Helper()
	st, opts := r.post("api/begin", []byte("{}"))
	if st != http.StatusOK {
		r.t.Fatalf("begin: %d %s", st, opts)
	}
	a.Origin = r.Origins()[0]
	resp, err := a.Get(opts)
	if err != nil {
		r.t.Fatalf("authenticator: %v", err)
	}
	st, b := r.post("api/finish", resp)
	return st, reply(r.t, b)
}

// challengeOf extracts the challenge from begin's options.
func challengeOf(t *testing.T, opts []byte) string {
	t.Helper()
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(opts, &o); err != nil || o.PublicKey.Challenge == "" {
		t.Fatalf("no challenge in %s (%v)", opts, err)
	}
	return o.PublicKey.Challenge
}

// newSoft returns a software authenticator with a fresh key of alg.
func newSoft(t testing.TB, alg int64) *softauth.Authenticator {
	t.Helper()
	a, err := softauth.New(alg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
