package ceremony

import (
	"bytes"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
)

//go:embed web
var webFS embed.FS

var pageTemplate = template.Must(template.ParseFS(webFS, "web/index.html"))

// MaxBodyBytes caps every request body: a registration response with the
// longest credential ID and an RSA key is a few kilobytes.
const MaxBodyBytes = 64 << 10

// tokenBytes is the URL token's entropy: 128 bits, as the token is the
// only thing standing between the page and anyone who can reach the port.
const tokenBytes = 16

// Result is a successful ceremony.
type Result struct {
	Mode Mode
	// CredentialID is the raw ID of the enrolled or verified passkey.
	CredentialID []byte
	// UserID is the passkey's owner.
	UserID string
	// Counter is the signature counter stored after the ceremony; with
	// Config.ReadOnly the one the authenticator sent, which was not
	// stored.
	Counter uint32
	// CounterStored is false when a test did not write the counter
	// (Config.ReadOnly).
	CounterStored bool
}

// Server is one ceremony's HTTP server. New checks the configuration and
// listens; Serve runs until the one ceremony ends.
type Server struct {
	cfg     Config
	store   Store
	wa      *webauthn.WebAuthn
	ln      net.Listener
	srv     *http.Server
	token   string
	url     string
	origins map[string]bool
	hosts   map[string]bool
	page    []byte

	mu       sync.Mutex
	state    state
	pending  *pending
	deadline time.Time
	greeted  bool
	// warnedHost is set once a wrong Host header has been reported.
	warnedHost bool
	done       chan outcome

	// app names the store's app in the operator's messages.
	app App
}

type state int

const (
	stateOpen state = iota // waiting for the browser
	stateBusy              // verifying and storing one response
	stateDone              // over: the token is dead
)

// pending is the one outstanding challenge: single-use, replaced by a
// newer one, dead after the deadline.
type pending struct {
	session    webauthn.SessionData
	userHandle []byte
	// allowed (test) or excluded (enrol) credential IDs.
	allowed, excluded [][]byte
	expires           time.Time
}

type outcome struct {
	res Result
	err error
}

// New checks cfg (errors wrap ErrConfig), loads the TLS key pair and
// listens. The caller prints URL() and then calls Serve, or Close.
func New(cfg Config, store Store) (*Server, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if store == nil {
		return nil, configErr("no store")
	}
	// Serve restarts the deadline; setting it here keeps a Server that is
	// driven without Serve (tests) from expiring at once.
	s := &Server{cfg: cfg, store: store, app: appOf(store), done: make(chan outcome, 1), deadline: cfg.Now().Add(cfg.Timeout)}
	var tlsConfig *tls.Config
	if cfg.tlsPair != nil {
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{*cfg.tlsPair}, MinVersion: tls.VersionTLS12}
	}
	tok := make([]byte, tokenBytes)
	if _, err := io.ReadFull(cfg.Rand, tok); err != nil {
		return nil, fmt.Errorf("generate URL token: %w", err)
	}
	s.token = base64.RawURLEncoding.EncodeToString(tok)

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, configErr("cannot listen on %s: %v", cfg.Listen, unwrapOpError(err))
	}
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	s.ln = ln
	if len(s.cfg.Origins) == 0 {
		scheme := "http"
		if tlsConfig != nil {
			scheme = "https"
		}
		port := ln.Addr().(*net.TCPAddr).Port
		s.cfg.Origins = []string{fmt.Sprintf("%s://localhost:%d", scheme, port)}
	}
	s.origins, s.hosts = map[string]bool{}, map[string]bool{}
	for _, o := range s.cfg.Origins {
		s.origins[o] = true
		s.hosts[normaliseHost(hostOf(o))] = true
	}
	s.url = s.cfg.Origins[0] + "/" + s.token + "/"

	s.wa, err = webauthn.New(&webauthn.Config{
		RPID:          s.cfg.RPID,
		RPDisplayName: s.cfg.RPName,
		RPOrigins:     s.cfg.Origins,
		Timeouts: webauthn.TimeoutsConfig{
			// The browser's own timeout; the server enforces its deadline
			// itself, with the injected clock.
			Login:        webauthn.TimeoutConfig{Timeout: s.cfg.Timeout, TimeoutUVD: s.cfg.Timeout},
			Registration: webauthn.TimeoutConfig{Timeout: s.cfg.Timeout, TimeoutUVD: s.cfg.Timeout},
		},
	})
	if err != nil {
		ln.Close()
		return nil, configErr("%v", err)
	}
	if s.page, err = s.renderPage(); err != nil {
		ln.Close()
		return nil, err
	}
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		// TLS handshake noise from scanners is not the operator's concern.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	return s, nil
}

func unwrapOpError(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err
	}
	return err
}

// URL is the page's one-time address: the first origin and the token.
func (s *Server) URL() string { return s.url }

// Origins are the origins the browser may report, defaults filled in.
func (s *Server) Origins() []string { return s.cfg.Origins }

// RPID is the relying party ID passkeys are created for.
func (s *Server) RPID() string { return s.cfg.RPID }

// Close releases the listener of a server whose Serve was never called.
func (s *Server) Close() error { return s.ln.Close() }

// Serve runs the one ceremony and returns its result. It fails with
// ErrFailed (wrapping the store's error, if any) when the browser's
// response does not verify or cannot be stored, ErrTimeout after
// Config.Timeout and ErrCancelled when ctx ends. A response being
// verified when the time runs out is finished first, so the result always
// says whether something was written.
func (s *Server) Serve(ctx context.Context) (Result, error) {
	s.mu.Lock()
	s.deadline = s.cfg.Now().Add(s.cfg.Timeout)
	s.mu.Unlock()
	timer := time.NewTimer(s.cfg.Timeout)
	defer timer.Stop()
	served := make(chan error, 1)
	go func() { served <- s.srv.Serve(s.ln) }()

	var out outcome
	select {
	case out = <-s.done:
	case err := <-served:
		out = s.stop(fmt.Errorf("%w: the server stopped: %v", ErrFailed, err))
	case <-timer.C:
		out = s.stop(fmt.Errorf("%w: no passkey was %s within %s", ErrTimeout, s.verb(), s.cfg.Timeout))
	case <-ctx.Done():
		out = s.stop(fmt.Errorf("%w: nothing was written", ErrCancelled))
	}
	// The grace lets the page's last response reach the browser. After
	// Ctrl-C or SIGTERM the process must end within 2 s (passkeyctl's main
	// exits 1.5 s after the signal whatever happens), so a request the page
	// keeps open gets a short grace only.
	grace := 5 * time.Second
	if ctx.Err() != nil {
		grace = 250 * time.Millisecond
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := s.srv.Shutdown(shutdownCtx); err != nil {
		s.srv.Close()
	}
	return out.res, out.err
}

// stop ends the ceremony for a reason other than a response, unless a
// response is being verified: then its outcome wins.
func (s *Server) stop(reason error) outcome {
	s.mu.Lock()
	if s.state == stateBusy {
		s.mu.Unlock()
		return <-s.done
	}
	s.state = stateDone
	s.pending = nil
	s.mu.Unlock()
	return outcome{err: reason}
}

func (s *Server) verb() string {
	if s.cfg.Mode == ModeEnroll {
		return "enrolled"
	}
	return "verified"
}

// ServeHTTP routes the few paths of the page, after the checks every
// request passes: the Host header names an allowed origin (DNS rebinding
// defence) and the path starts with the live token (anything else is 404,
// so the server reveals nothing to a scanner).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if !s.hosts[normaliseHost(r.Host)] {
		s.mu.Lock()
		first := !s.warnedHost
		s.warnedHost = true
		s.mu.Unlock()
		if first {
			// Usually a reverse proxy that rewrites Host, or the page
			// opened by IP: say so once, without echoing more than a line.
			s.cfg.Logf("refused a request for host %q: open the page at %s (a reverse proxy must pass the Host header on)", printable(r.Host, 100), s.cfg.Origins[0])
		}
		http.Error(w, "misdirected request", http.StatusMisdirectedRequest)
		return
	}
	rest, ok := s.route(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch rest {
	case "/":
		s.asset(w, r, "text/html; charset=utf-8", s.page)
		s.mu.Lock()
		first := !s.greeted
		s.greeted = true
		s.mu.Unlock()
		if first && r.Method == http.MethodGet {
			s.cfg.Logf("the page was opened in a browser; waiting for the passkey")
		}
	case "":
		// The token without its slash: the page's relative links need it.
		http.Redirect(w, r, "/"+s.token+"/", http.StatusPermanentRedirect)
	case "/app.js":
		s.asset(w, r, "text/javascript; charset=utf-8", mustRead("web/app.js"))
	case "/style.css":
		s.asset(w, r, "text/css; charset=utf-8", mustRead("web/style.css"))
	case "/api/begin":
		s.api(w, r, s.begin)
	case "/api/finish":
		s.api(w, r, s.finish)
	case "/api/report":
		s.api(w, r, s.report)
	default:
		http.NotFound(w, r)
	}
}

// route checks the token in constant time and returns the rest of the
// path; false when the token is wrong or dead.
func (s *Server) route(path string) (string, bool) {
	tok, rest, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if len(rest) > 0 || strings.HasSuffix(path, "/") {
		rest = "/" + rest
	}
	if subtle.ConstantTimeCompare([]byte(tok), []byte(s.token)) != 1 {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return rest, s.state != stateDone
}

func mustRead(name string) []byte {
	b, err := webFS.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time
	}
	return b
}

func (s *Server) asset(w http.ResponseWriter, r *http.Request, contentType string, body []byte) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(body)
	}
}

// apiReply is every API answer's shape; the page shows Message.
type apiReply struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// api accepts only same-origin JSON POSTs with a bounded body, then calls
// fn. A cross-site page cannot send such a request without CORS, which the
// server never grants, and a request whose Origin is not the page's is
// refused even if it got here.
func (s *Server) api(w http.ResponseWriter, r *http.Request, fn func(context.Context, []byte) (int, any)) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeReply(w, http.StatusMethodNotAllowed, apiReply{"error", "Only POST is allowed here."})
		return
	}
	if !s.origins[requestOrigin(r)] {
		writeReply(w, http.StatusForbidden, apiReply{"error", "This request did not come from the passkeyctl page."})
		return
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		writeReply(w, http.StatusForbidden, apiReply{"error", "This request did not come from the passkeyctl page."})
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeReply(w, http.StatusUnsupportedMediaType, apiReply{"error", "The request must be JSON."})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeReply(w, http.StatusRequestEntityTooLarge, apiReply{"error", "The request is too large."})
			return
		}
		writeReply(w, http.StatusBadRequest, apiReply{"error", "The request could not be read."})
		return
	}
	status, v := fn(r.Context(), body)
	writeReply(w, status, v)
}

// requestOrigin is the Origin header normalised like the configured
// origins; "" when absent or malformed.
func requestOrigin(r *http.Request) string {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return ""
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Scheme) + "://" + normaliseHost(u.Host)
}

func writeReply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

// renderPage fills the page template once: the page is the same for every
// request of this ceremony.
func (s *Server) renderPage() ([]byte, error) {
	data := struct {
		Mode, Title, User, RPID, Origin, Button, Explain, Timeout string
	}{Mode: string(s.cfg.Mode), RPID: s.cfg.RPID, Origin: s.cfg.Origins[0], Timeout: s.cfg.Timeout.String()}
	switch s.cfg.Mode {
	case ModeEnroll:
		data.User = s.cfg.User.label()
		if s.cfg.User.Create {
			data.User += " (new user, created with the passkey)"
		}
		data.Title = "Create a passkey for " + s.cfg.User.label()
		data.Button = "Create passkey"
		data.Explain = fmt.Sprintf("When you press the button, your browser asks you to create a passkey for %s, with your fingerprint, face, screen lock or security key. passkeyctl then saves it in the app's database for %s, who can then sign in to the app at %s with it. If you cancel, nothing is saved.", s.cfg.RPID, s.cfg.User.label(), s.cfg.RPID)
	default:
		switch {
		case s.cfg.User != nil:
			data.User = s.cfg.User.label() + " (only this user's passkeys are accepted)"
		case len(s.cfg.CredentialID) > 0:
			data.User = "the owner of passkey " + base64.StdEncoding.EncodeToString(s.cfg.CredentialID)
		default:
			data.User = "any user (use any passkey stored for " + s.cfg.RPID + ")"
		}
		data.Title = "Test a passkey for " + s.cfg.RPID
		data.Button = "Test passkey"
		data.Explain = fmt.Sprintf("When you press the button, your browser asks you to choose a passkey for %s. passkeyctl checks it against the app's database exactly as the app does when someone signs in. Only the passkey's signature counter is updated, as a real sign-in would.", s.cfg.RPID)
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("render page: %w", err)
	}
	return buf.Bytes(), nil
}
