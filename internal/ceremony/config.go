// Package ceremony is passkeyctl's one-shot WebAuthn server: it serves one
// page on a random one-time URL, runs exactly one registration (enrol) or
// authentication (test) ceremony with the options of the Auth.js Passkey
// provider, hands the result to a Store and shuts down.
//
// It knows nothing about flags, environment variables or SQL: the caller
// gives it a Config and a Store (AppStore over the app's store).
package ceremony

import (
	cryptotls "crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
)

// Mode is the ceremony the server runs.
type Mode string

const (
	// ModeEnroll registers a new passkey for a user and stores it.
	ModeEnroll Mode = "enroll"
	// ModeTest verifies a stored passkey as Auth.js does at sign-in and
	// updates its counter.
	ModeTest Mode = "test"
)

// User is the passkey owner of an enrolment, or the user whose passkeys a
// test is limited to.
type User struct {
	// ID is the User.id the passkey belongs to.
	ID string
	// Email is shown on the page and, as in Auth.js, is the name the
	// authenticator shows for the passkey; empty when the user has none.
	Email string
	// Create says the user does not exist yet and is created with the
	// passkey, in the same transaction.
	Create bool
}

// label is how the page and messages name the user.
func (u *User) label() string {
	if u.Email != "" {
		return u.Email
	}
	return u.ID
}

// Config is everything the server needs, decided by the caller.
type Config struct {
	Mode Mode
	// RPID is the relying party ID: the host name of the app the passkey
	// is for. Default "localhost".
	RPID string
	// RPName is shown by some authenticators; default the RPID.
	RPName string
	// Origins are the page origins the browser may report. Empty means
	// http://localhost:<port> (https:// with TLS), known once listening.
	Origins []string
	// Listen is the TCP address; default 127.0.0.1:0 (a free port).
	Listen string
	// Timeout bounds the whole ceremony, from listening to the result.
	Timeout time.Duration
	// TLSCert and TLSKey are PEM files; both or neither.
	TLSCert, TLSKey string
	// User: for ModeEnroll the owner (required); for ModeTest, when set,
	// only this user's passkeys are accepted.
	User *User
	// CredentialID, for ModeTest, accepts only this passkey (raw ID).
	CredentialID []byte
	// ReadOnly, for ModeTest, verifies without writing the new signature
	// counter: for a database role that may only read. The next real
	// sign-in still sees the old counter, which the new one exceeds.
	ReadOnly bool
	// Now is the clock (challenge expiry); time.Now when nil.
	Now func() time.Time
	// Rand is the source of the URL token, challenges and user handles;
	// it must be cryptographically secure outside tests.
	Rand io.Reader
	// Logf prints progress for the operator (passkeyctl: stderr); may be
	// nil.
	Logf func(format string, args ...any)

	// tlsPair is the loaded TLSCert/TLSKey, set by Check.
	tlsPair *cryptotls.Certificate
}

// Errors Serve and New return. Callers map them to exit codes with
// errors.Is; each wrap says what happened in words an operator can act on.
var (
	// ErrConfig means the configuration breaks a rule browsers or the
	// WebAuthn spec impose; nothing was started.
	ErrConfig = errors.New("invalid ceremony configuration")
	// ErrFailed means the ceremony ran and failed: the browser's response
	// did not verify, or the store refused the credential.
	ErrFailed = errors.New("ceremony failed")
	// ErrTimeout means no ceremony completed within Config.Timeout.
	ErrTimeout = errors.New("ceremony timed out")
	// ErrCancelled means the caller's context ended first (Ctrl-C).
	ErrCancelled = errors.New("ceremony cancelled")
)

// configError is an ErrConfig whose message is the rule alone.
type configError struct{ msg string }

func (e configError) Error() string        { return e.msg }
func (e configError) Is(target error) bool { return target == ErrConfig }

func configErr(format string, args ...any) error {
	return configError{fmt.Sprintf(format, args...)}
}

// DefaultListen is the address used when Config.Listen is empty: loopback
// only, a free port.
const DefaultListen = "127.0.0.1:0"

// Check applies the defaults and checks the rules browsers enforce, so that
// a configuration that can never work fails before anything listens:
// origins must be https:// or http://localhost; the rpID must be each
// origin's host or a parent domain of it; a listener other machines can
// reach needs TLS here or an https origin served through a TLS proxy.
func (c *Config) Check() error {
	if c.Mode != ModeEnroll && c.Mode != ModeTest {
		return configErr("unknown mode %q", c.Mode)
	}
	if c.Mode == ModeEnroll && (c.User == nil || c.User.ID == "") {
		return configErr("enrolment needs the user the passkey is for")
	}
	if c.Mode == ModeTest && c.User != nil && c.User.Create {
		return configErr("a test cannot create a user")
	}
	if c.Timeout <= 0 {
		return configErr("the timeout must be positive, e.g. 5m")
	}
	if c.Rand == nil {
		return configErr("no random source")
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	c.RPID = strings.ToLower(strings.TrimSpace(c.RPID))
	if c.RPID == "" {
		c.RPID = "localhost"
	}
	if net.ParseIP(strings.Trim(c.RPID, "[]")) != nil {
		return configErr("--rp-id %s is an IP address; browsers accept passkeys only for domain names (use the app's host name, or localhost)", c.RPID)
	}
	if strings.ContainsAny(c.RPID, ":/") {
		return configErr("--rp-id %q must be a bare host name such as example.com: no scheme, port or path", c.RPID)
	}
	if err := protocol.ValidateRPID(c.RPID); err != nil {
		return configErr("--rp-id %q is not a valid domain name: %v", c.RPID, err)
	}
	if c.RPName == "" {
		c.RPName = c.RPID
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return configErr("--tls-cert and --tls-key go together")
	}
	tls := c.TLSCert != ""
	if tls {
		// Read now, so a wrong path fails before anything else happens.
		pair, err := cryptotls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return configErr("cannot load --tls-cert %s / --tls-key %s: %v", c.TLSCert, c.TLSKey, unwrapPathError(err))
		}
		c.tlsPair = &pair
	}
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return configErr("--listen %q is not HOST:PORT (e.g. 127.0.0.1:0 or 0.0.0.0:8443): %v", c.Listen, err)
	}
	norm := make([]string, 0, len(c.Origins))
	allHTTPS := len(c.Origins) > 0
	for _, o := range c.Origins {
		n, u, err := normaliseOrigin(o)
		if err != nil {
			return err
		}
		h := u.Hostname()
		if h != c.RPID && !strings.HasSuffix(h, "."+c.RPID) {
			return configErr("origin %s does not belong to rpID %s: the rpID must be the origin's host or a parent domain of it (e.g. --rp-id example.com with --origin https://example.com or https://admin.example.com)", n, c.RPID)
		}
		if u.Scheme != "https" {
			allHTTPS = false
			if tls {
				return configErr("origin %s is http, but with --tls-cert the page is served over https: use --origin https://%s", n, u.Host)
			}
		}
		norm = append(norm, n)
	}
	c.Origins = norm
	if len(c.Origins) == 0 && c.RPID != "localhost" && !strings.HasSuffix(c.RPID, ".localhost") {
		return configErr("--rp-id %s needs --origin: the page must be opened at https://%s or a subdomain of it, where browsers will create a passkey for %s; serve it there with TLS on this host (--tls-cert/--tls-key) or through the app's reverse proxy", c.RPID, c.RPID, c.RPID)
	}
	if !isLoopback(host) && !tls && !allHTTPS {
		return configErr("--listen %s can be reached from other machines, and browsers allow passkeys only on https:// pages (or http://localhost): pass --tls-cert/--tls-key, or serve it behind a TLS reverse proxy and pass the public --origin https://...", c.Listen)
	}
	if c.Mode == ModeTest && c.User != nil && len(c.CredentialID) > 0 {
		return configErr("limit a test to a user or to one credential, not both")
	}
	return nil
}

// normaliseOrigin checks one --origin and returns it as the browser
// reports it: scheme://host[:port], lower case, no default port, no slash.
func normaliseOrigin(o string) (string, *url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(o))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", nil, configErr("origin %q is not a URL like https://admin.example.com", o)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", nil, configErr("origin %q must be scheme://host[:port] only, with no path, query or user", o)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	h := strings.ToLower(u.Hostname())
	if net.ParseIP(h) != nil {
		return "", nil, configErr("origin %q uses an IP address; browsers accept passkeys only on domain names (use localhost or the app's host name)", o)
	}
	if u.Scheme == "http" && h != "localhost" && !strings.HasSuffix(h, ".localhost") {
		return "", nil, configErr("origin %q is plain http: browsers allow passkeys only on https:// pages and http://localhost", o)
	}
	port := u.Port()
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	u.Host = h
	if port != "" {
		u.Host = net.JoinHostPort(h, port)
	}
	u.Path = ""
	return u.Scheme + "://" + u.Host, u, nil
}

// isLoopback reports whether a listen host is reachable only from this
// machine. An empty host listens on every interface.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// hostOf is the Host header a browser sends for an origin (no default
// port).
func hostOf(origin string) string {
	_, rest, _ := strings.Cut(origin, "://")
	return rest
}

// normaliseHost lower-cases a Host header and drops a default port, so
// "Admin.Example.com:443" matches the origin https://admin.example.com.
func normaliseHost(h string) string {
	h = strings.ToLower(h)
	for _, p := range []string{":80", ":443"} {
		h = strings.TrimSuffix(h, p)
	}
	return h
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}
