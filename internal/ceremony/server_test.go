package ceremony

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"github.com/passkeyctl/passkeyctl/internal/ceremony/softauth"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestServer_enrolAndTest(t *testing.T) {
	for _, alg := range []int64{-8, -7, -257} {
		t.Run(algName(alg), func(t *testing.T) {
			st := newMemStore()
			a := newSoft(t, alg)

			r := start(t, testConfig(ModeEnroll), st)
			code, rep := r.enrol(a)
			if code != http.StatusOK || rep.Status != "ok" {
				t.Fatalf("enrol: %d %+v", code, rep)
			}
			res, err := r.wait()
			if err != nil {
				t.Fatalf("Serve: %v", err)
			}
			if !bytes.Equal(res.CredentialID, a.CredID) || res.UserID != "u-alice" || res.Mode != ModeEnroll {
				t.Fatalf("result %+v", res)
			}
			if len(st.saved) != 1 || !bytes.Equal(st.saved[0].PublicKey, a.COSEKey()) || !st.saved[0].BackupEligible || !st.saved[0].BackupState {
				t.Fatalf("saved %+v", st.saved)
			}
			if got := strings.Join(st.saved[0].Transports, ","); got != "hybrid,internal" {
				t.Errorf("transports %q", got)
			}
			// The user handle is 64 lower-case hex characters, as Auth.js
			// makes it.
			if len(a.UserHandle) != 64 || strings.Trim(string(a.UserHandle), "0123456789abcdef") != "" {
				t.Errorf("user handle %q", a.UserHandle)
			}

			cfg := testConfig(ModeTest)
			cfg.User = &User{ID: "u-alice"}
			r = start(t, cfg, st)
			code, rep = r.test(a)
			if code != http.StatusOK || rep.Status != "ok" {
				t.Fatalf("test: %d %+v", code, rep)
			}
			res, err = r.wait()
			if err != nil || res.Counter != 1 || res.Mode != ModeTest {
				t.Fatalf("Serve: %+v %v", res, err)
			}
			if c, _ := st.Find(context.Background(), a.CredID); c.Counter != 1 {
				t.Errorf("stored counter %d, want 1", c.Counter)
			}
		})
	}
}

func algName(alg int64) string {
	return map[int64]string{-8: "EdDSA", -7: "ES256", -257: "RS256"}[alg]
}

// The options mirror the Auth.js Passkey provider's.
func TestServer_registrationOptions(t *testing.T) {
	st := newMemStore()
	st.creds["old"] = StoredCredential{ID: []byte("old"), UserID: "u-alice"}
	st.creds["bob"] = StoredCredential{ID: []byte("bob"), UserID: "u-bob"}
	r := start(t, testConfig(ModeEnroll), st)
	code, b := r.post("api/begin", []byte("{}"))
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, b)
	}
	opts := string(b)
	for _, want := range []string{
		`"rp":{"name":"localhost","id":"localhost"}`,
		`"name":"alice@example.com"`, `"displayName":"alice@example.com"`,
		`"pubKeyCredParams":[{"type":"public-key","alg":-8},{"type":"public-key","alg":-7},{"type":"public-key","alg":-257}]`,
		`"residentKey":"required"`, `"requireResidentKey":true`, `"userVerification":"required"`,
		`"attestation":"none"`, `"credProps":true`, `"timeout":20000`,
		`"excludeCredentials":[{"type":"public-key","id":"` + base64.RawURLEncoding.EncodeToString([]byte("old")) + `"}]`,
	} {
		if !strings.Contains(opts, want) {
			t.Errorf("options lack %s:\n%s", want, opts)
		}
	}
}

func TestServer_authenticationOptions(t *testing.T) {
	st := newMemStore()
	st.creds["a1"] = StoredCredential{ID: []byte("a1"), UserID: "u-alice"}
	st.creds["b1"] = StoredCredential{ID: []byte("b1"), UserID: "u-bob"}
	for _, tc := range []struct {
		name  string
		setup func(*Config)
		allow string
	}{
		{"discoverable", func(*Config) {}, ""},
		{"user", func(c *Config) { c.User = &User{ID: "u-alice"} }, `"allowCredentials":[{"type":"public-key","id":"YTE"}]`},
		{"credential", func(c *Config) { c.CredentialID = []byte("b1") }, `"allowCredentials":[{"type":"public-key","id":"YjE"}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(ModeTest)
			tc.setup(&cfg)
			r := start(t, cfg, st)
			code, b := r.post("api/begin", []byte("{}"))
			if code != http.StatusOK {
				t.Fatalf("%d %s", code, b)
			}
			opts := string(b)
			if !strings.Contains(opts, `"userVerification":"required"`) || !strings.Contains(opts, `"rpId":"localhost"`) {
				t.Errorf("options %s", opts)
			}
			if tc.allow == "" && strings.Contains(opts, "allowCredentials") {
				t.Errorf("discoverable login with allowCredentials: %s", opts)
			}
			if tc.allow != "" && !strings.Contains(opts, tc.allow) {
				t.Errorf("options lack %s: %s", tc.allow, opts)
			}
		})
	}
}

func TestServer_requestChecks(t *testing.T) {
	r := start(t, testConfig(ModeEnroll), newMemStore())
	host := strings.TrimPrefix(r.Origins()[0], "http://")
	for _, tc := range []struct {
		name   string
		method string
		path   string
		body   []byte
		hdr    map[string]string
		want   int
	}{
		{"page", "GET", "", nil, nil, 200},
		{"page HEAD", "HEAD", "", nil, nil, 200},
		{"script", "GET", "app.js", nil, nil, 200},
		{"style", "GET", "style.css", nil, nil, 200},
		{"unknown path under the token", "GET", "secret", nil, nil, 404},
		{"POST to the page", "POST", "", []byte("{}"), nil, 405},
		{"GET of an API", "GET", "api/begin", nil, nil, 405},
		{"PUT of an API", "PUT", "api/finish", nil, nil, 405},
		{"wrong Host (DNS rebinding)", "GET", "", nil, map[string]string{"Host": "attacker.example:" + strings.Split(host, ":")[1]}, 421},
		{"Host by IP", "GET", "", nil, map[string]string{"Host": "127.0.0.1:" + strings.Split(host, ":")[1]}, 421},
		{"no Origin", "POST", "api/begin", []byte("{}"), map[string]string{"Origin": ""}, 403},
		{"cross Origin", "POST", "api/begin", []byte("{}"), map[string]string{"Origin": "https://attacker.example"}, 403},
		{"cross-site fetch", "POST", "api/begin", []byte("{}"), map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"form post", "POST", "api/begin", []byte("a=b"), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415},
		{"text body", "POST", "api/begin", []byte("{}"), map[string]string{"Content-Type": "text/plain"}, 415},
		{"body over 64 KiB", "POST", "api/report", bytes.Repeat([]byte(" "), MaxBodyBytes+1), nil, 413},
		{"JSON with charset", "POST", "api/report", []byte(`{"name":"NotAllowedError"}`), map[string]string{"Content-Type": "application/json; charset=utf-8"}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := r.request(tc.method, tc.path, tc.body, tc.hdr)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want, b)
			}
			for h, want := range map[string]string{
				"Content-Security-Policy": "default-src 'self'",
				"X-Frame-Options":         "DENY",
				"Referrer-Policy":         "no-referrer",
				"Cache-Control":           "no-store",
			} {
				if got := resp.Header.Get(h); !strings.HasPrefix(got, want) {
					t.Errorf("%s: %q, want %q", h, got, want)
				}
			}
		})
	}
	if !strings.Contains(r.logs.String(), `refused a request for host "attacker.example:`) {
		t.Errorf("the wrong Host was not reported: %q", r.logs.String())
	}
	// None of it ended the ceremony.
	if code, _ := r.enrol(newSoft(t, -7)); code != 200 {
		t.Fatalf("enrol after the checks: %d", code)
	}
}

func TestServer_wrongTokenIs404(t *testing.T) {
	r := start(t, testConfig(ModeEnroll), newMemStore())
	base := strings.TrimSuffix(r.URL(), r.token+"/")
	wrong := []byte(r.token)
	wrong[0] ^= 1
	for _, path := range []string{"", "favicon.ico", string(wrong) + "/", string(wrong) + "/api/begin", r.token[:len(r.token)-1] + "/"} {
		req, _ := http.NewRequest("GET", base+path, nil)
		resp, err := r.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("GET /%s: %d, want 404", path, resp.StatusCode)
		}
	}
	// The token without its trailing slash redirects to the page.
	req, _ := http.NewRequest("GET", strings.TrimSuffix(r.URL(), "/"), nil)
	resp, err := r.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != "/"+r.token+"/" {
		t.Errorf("no slash: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestServer_tokenHas128Bits(t *testing.T) {
	seen := map[string]bool{}
	for range 3 {
		s, err := New(testConfig(ModeEnroll), newMemStore())
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		raw, err := base64.RawURLEncoding.DecodeString(s.token)
		if err != nil || len(raw) < 16 {
			t.Fatalf("token %q: %d bytes, %v", s.token, len(raw), err)
		}
		if seen[s.token] {
			t.Fatal("token repeated")
		}
		seen[s.token] = true
		if !strings.HasPrefix(s.URL(), "http://localhost:") || !strings.HasSuffix(s.URL(), "/"+s.token+"/") {
			t.Errorf("URL %s", s.URL())
		}
	}
}

func TestServer_page(t *testing.T) {
	r := start(t, testConfig(ModeEnroll), newMemStore())
	resp, b := r.request("GET", "", nil, nil)
	page := string(b)
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("content type %q", ct)
	}
	for _, want := range []string{`id="start"`, `id="result"`, "alice@example.com", "localhost", `<script src="app.js" defer></script>`, `href="style.css"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	// Nothing from the network, no inline script or style (the CSP would
	// block them anyway).
	for _, bad := range []string{"https://", "<script>", "<style", "style=", "onclick"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	_, js := r.request("GET", "app.js", nil, nil)
	for _, want := range []string{"already registered for this user", `dataset.status`, `"api/begin"`, `"api/finish"`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("app.js lacks %s", want)
		}
	}
	if strings.Contains(string(js), "://") {
		t.Error("app.js names a URL")
	}
	if !strings.Contains(r.logs.String(), "page was opened") {
		t.Errorf("no progress message: %q", r.logs.String())
	}
}

// The token dies with the ceremony, and the challenge is single-use.
func TestServer_oneCeremonyOnly(t *testing.T) {
	st := newMemStore()
	r := start(t, testConfig(ModeEnroll), st)
	if code, rep := r.post("api/finish", []byte("{}")); code != http.StatusBadRequest {
		t.Fatalf("finish before begin: %d %s", code, rep)
	}
	_, opts := r.post("api/begin", []byte("{}"))
	a := newSoft(t, -8)
	a.Origin = r.Origins()[0]
	answer, err := a.Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	// A corrupted answer consumes the challenge and ends the ceremony.
	bad := bytes.Replace(answer, []byte(`"type":"public-key"`), []byte(`"type":"other"`), 1)
	code, b := r.post("api/finish", bad)
	if code == http.StatusOK || reply(t, b).Status != "error" {
		t.Fatalf("bad answer accepted: %d %s", code, b)
	}
	_, err = r.wait()
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("Serve: %v, want ErrFailed", err)
	}
	if len(st.saved) != 0 {
		t.Fatal("something was saved")
	}
	// The good answer comes too late: the token is dead.
	w := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/"+r.token+"/api/finish", bytes.NewReader(answer))
	req.Host = strings.TrimPrefix(r.Origins()[0], "http://")
	req.Header.Set("Origin", r.Origins()[0])
	req.Header.Set("Content-Type", "application/json")
	r.ServeHTTP(w, req)
	if w.Code != http.StatusNotFound {
		t.Fatalf("after the ceremony: %d, want 404", w.Code)
	}
}

// A newer begin replaces the challenge: an answer to the old one fails.
func TestServer_oldChallengeRejected(t *testing.T) {
	r := start(t, testConfig(ModeEnroll), newMemStore())
	_, first := r.post("api/begin", []byte("{}"))
	_, second := r.post("api/begin", []byte("{}"))
	if challengeOf(t, first) == challengeOf(t, second) {
		t.Fatal("challenge reused")
	}
	a := newSoft(t, -7)
	a.Origin = r.Origins()[0]
	answer, _ := a.Create(first)
	if code, b := r.post("api/finish", answer); code != http.StatusUnprocessableEntity {
		t.Fatalf("stale answer: %d %s", code, b)
	}
	if _, err := r.wait(); !errors.Is(err, ErrFailed) {
		t.Fatalf("Serve: %v", err)
	}
}

func TestServer_timeout(t *testing.T) {
	cfg := testConfig(ModeEnroll)
	cfg.Timeout = 200 * time.Millisecond
	r := start(t, cfg, newMemStore())
	_, err := r.wait()
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "no passkey was enrolled within 200ms") {
		t.Fatalf("Serve: %v", err)
	}
}

func TestServer_cancel(t *testing.T) {
	r := start(t, testConfig(ModeTest), newMemStore())
	r.cancel()
	if _, err := r.wait(); !errors.Is(err, ErrCancelled) {
		t.Fatalf("Serve: %v", err)
	}
}

// The challenge expires with the ceremony's deadline, by the injected
// clock.
func TestServer_challengeExpires(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cfg := testConfig(ModeEnroll)
	cfg.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	r := start(t, cfg, newMemStore())
	_, opts := r.post("api/begin", []byte("{}"))
	a := newSoft(t, -7)
	a.Origin = r.Origins()[0]
	answer, _ := a.Create(opts)
	mu.Lock()
	now = now.Add(cfg.Timeout + time.Second)
	mu.Unlock()
	if code, b := r.post("api/finish", answer); code != http.StatusGone {
		t.Fatalf("expired answer: %d %s", code, b)
	}
	if _, err := r.wait(); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Serve: %v", err)
	}
}

// A browser-side error (cancelled dialog) is logged and the user may try
// again.
func TestServer_browserErrorAllowsRetry(t *testing.T) {
	st := newMemStore()
	r := start(t, testConfig(ModeEnroll), st)
	r.post("api/begin", []byte("{}"))
	if code, b := r.post("api/report", []byte(`{"name":"NotAllowedError","message":"The operation either timed out or was not allowed.\u001b[2J"}`)); code != 200 {
		t.Fatalf("report: %d %s", code, b)
	}
	if logs := r.logs.String(); !strings.Contains(logs, "NotAllowedError") || strings.Contains(logs, "\x1b") {
		t.Errorf("log %q", logs)
	}
	if code, rep := r.enrol(newSoft(t, -8)); code != 200 {
		t.Fatalf("retry: %d %+v", code, rep)
	}
	if _, err := r.wait(); err != nil {
		t.Fatal(err)
	}
}

// A client that ignores excludeCredentials cannot register the same
// authenticator twice.
func TestServer_excludedCredentialRefused(t *testing.T) {
	st := newMemStore()
	a := newSoft(t, -7)
	st.creds[string(a.CredID)] = StoredCredential{ID: a.CredID, UserID: "u-alice"}
	r := start(t, testConfig(ModeEnroll), st)
	_, opts := r.post("api/begin", []byte("{}"))
	a.Origin = r.Origins()[0]
	if _, err := a.Create(opts); !errors.Is(err, softauth.ErrExcluded) {
		t.Fatalf("authenticator not excluded: %v", err)
	}
	// Forge the answer without the exclusion check.
	opts = bytes.Replace(opts, []byte("excludeCredentials"), []byte("ignored"), 1)
	answer, err := a.Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	code, b := r.post("api/finish", answer)
	if code != http.StatusConflict || reply(t, b).Message != "This authenticator is already registered for this user." {
		t.Fatalf("%d %s", code, b)
	}
	if _, err := r.wait(); !errors.Is(err, ErrFailed) {
		t.Fatalf("Serve: %v", err)
	}
	if len(st.saved) != 0 {
		t.Fatal("saved")
	}
}

// Auth.js requires user verification, at registration and sign-in.
func TestServer_userVerificationRequired(t *testing.T) {
	a := newSoft(t, -8)
	a.UV = false
	r := start(t, testConfig(ModeEnroll), newMemStore())
	code, rep := r.enrol(a)
	if code != http.StatusUnprocessableEntity || !strings.Contains(rep.Message, "did not verify you") {
		t.Fatalf("%d %+v", code, rep)
	}
	if _, err := r.wait(); !errors.Is(err, ErrFailed) {
		t.Fatalf("Serve: %v", err)
	}
}

// An answer made for another origin fails, even with a valid signature.
func TestServer_wrongOriginInClientData(t *testing.T) {
	st := newMemStore()
	a := newSoft(t, -7)
	r := start(t, testConfig(ModeEnroll), st)
	_, opts := r.post("api/begin", []byte("{}"))
	a.Origin = "http://localhost:1"
	answer, _ := a.Create(opts)
	code, b := r.post("api/finish", answer)
	if code != http.StatusUnprocessableEntity || !strings.Contains(reply(t, b).Message, "address") {
		t.Fatalf("%d %s", code, b)
	}
	if _, err := r.wait(); !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "origin") {
		t.Fatalf("Serve: %v", err)
	}
}
