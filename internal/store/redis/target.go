package redis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
	goredis "github.com/redis/go-redis/v9"
)

// Target is a parsed redis:// or rediss:// DSN: where the server is and the
// key layout of the app on it.
type Target struct {
	// TLS is true for rediss://.
	TLS bool
	// Addr is host:port (port 6379 when the DSN names none).
	Addr     string
	Username string
	// Password is never printed: Redacted and every error leave it out.
	Password string
	// DB is the database number (the DSN's path, 0 when absent).
	DB int
	// Layout is the app's key layout, from the query parameters.
	Layout Layout
}

// layoutParams are the query parameters a DSN may carry, each setting the
// Layout field of the same name (the adapter's or the driver's option).
var layoutParams = map[string]func(*Layout) *string{
	"base":                       func(l *Layout) *string { return &l.Base },
	"baseKeyPrefix":              func(l *Layout) *string { return &l.BaseKeyPrefix },
	"userKeyPrefix":              func(l *Layout) *string { return &l.UserKeyPrefix },
	"emailKeyPrefix":             func(l *Layout) *string { return &l.EmailKeyPrefix },
	"accountKeyPrefix":           func(l *Layout) *string { return &l.AccountKeyPrefix },
	"accountByUserIdPrefix":      func(l *Layout) *string { return &l.AccountByUserIDPrefix },
	"sessionKeyPrefix":           func(l *Layout) *string { return &l.SessionKeyPrefix },
	"sessionByUserIdKeyPrefix":   func(l *Layout) *string { return &l.SessionByUserIDKeyPrefix },
	"verificationTokenKeyPrefix": func(l *Layout) *string { return &l.VerificationTokenKeyPrefix },
	"authenticatorKeyPrefix":     func(l *Layout) *string { return &l.AuthenticatorKeyPrefix },
	"authenticatorUserKeyPrefix": func(l *Layout) *string { return &l.AuthenticatorUserKeyPrefix },
}

// acceptedParams lists layoutParams' names, sorted, for error messages.
func acceptedParams() string {
	names := make([]string, 0, len(layoutParams))
	for n := range layoutParams {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// IsTarget reports whether dsn names a Redis server (redis:// or
// rediss://), so that the caller can choose this backend.
func IsTarget(dsn string) bool {
	s := strings.ToLower(strings.TrimSpace(dsn))
	return strings.HasPrefix(s, "redis://") || strings.HasPrefix(s, "rediss://")
}

// ParseTarget parses redis://[user:password@]host[:port][/db][?params] or
// rediss://... . The parameters set the key layout (the driver's base, the
// adapter's baseKeyPrefix and per-key prefixes, by the adapter's option
// names); an absent one keeps the adapter's default (DefaultLayout). An
// unknown parameter is refused, naming the accepted ones. Values are URL
// query values: ":" and "/" may stand as they are, "+" must be written %2B
// (a bare "+" is a space) and "&" %26. Errors never contain the password.
func ParseTarget(dsn string) (Target, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: redis DSN: %s", passkey.ErrInvalid, fmt.Sprintf(format, args...))
	}
	u, err := url.Parse(strings.TrimSpace(dsn))
	if err != nil {
		// url's error quotes the whole DSN, password included.
		return Target{}, bad("not a URL (want redis://[user:password@]host:port[/db])")
	}
	t := Target{Layout: DefaultLayout()}
	switch strings.ToLower(u.Scheme) {
	case "redis":
	case "rediss":
		t.TLS = true
	default:
		return Target{}, bad("scheme %q: want redis:// or rediss://", u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" {
		return Target{}, bad("no host (want redis://[user:password@]host:port[/db])")
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return Target{}, bad("no host (want redis://[user:password@]host:port[/db])")
	}
	if port == "" {
		port = "6379"
	} else if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return Target{}, bad("port %q is not a TCP port", port)
	}
	t.Addr = net.JoinHostPort(host, port)
	if u.User != nil {
		t.Username = u.User.Username()
		t.Password, _ = u.User.Password()
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return Target{}, bad("database %q is not a number (the path is the database number: redis://host:6379/0)", p)
		}
		t.DB = n
	}
	for name, values := range u.Query() {
		field, ok := layoutParams[name]
		if !ok {
			return Target{}, bad("unknown parameter %q; accepted: %s", name, acceptedParams())
		}
		if len(values) != 1 {
			return Target{}, bad("parameter %q given %d times", name, len(values))
		}
		*field(&t.Layout) = values[0]
	}
	if err := t.Layout.check(); err != nil {
		return Target{}, bad("%v", err)
	}
	return t, nil
}

// Redacted is the DSN without the password, for messages and logs.
func (t Target) Redacted() string {
	u := url.URL{Scheme: "redis", Host: t.Addr, Path: "/" + strconv.Itoa(t.DB)}
	if t.TLS {
		u.Scheme = "rediss"
	}
	switch {
	case t.Password != "":
		u.User = url.UserPassword(t.Username, "xxxxx")
	case t.Username != "":
		u.User = url.User(t.Username)
	}
	q := url.Values{}
	def := DefaultLayout()
	for name, field := range layoutParams {
		if v := *field(&t.Layout); v != *field(&def) {
			q.Set(name, v)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// DialTimeout, ReadTimeout and WriteTimeout bound every connection and
// command, so that an unreachable or stalled server fails in seconds.
const (
	DialTimeout  = 5 * time.Second
	ReadTimeout  = 30 * time.Second
	WriteTimeout = 30 * time.Second
)

// Open connects to t and pings the server; the error names the server by
// its redacted DSN, never with the password.
func Open(ctx context.Context, t Target, o Options) (*Store, error) {
	dial := DialTimeout
	if o.ConnectTimeout > 0 {
		dial = o.ConnectTimeout
	}
	opts := &goredis.Options{
		Addr:         t.Addr,
		Username:     t.Username,
		Password:     t.Password,
		DB:           t.DB,
		DialTimeout:  dial,
		ReadTimeout:  ReadTimeout,
		WriteTimeout: WriteTimeout,
		// A failed command is reported, not retried behind the caller's
		// back: revoke's transaction has its own retry.
		MaxRetries: -1,
		PoolSize:   4,
	}
	if t.TLS {
		host, _, _ := net.SplitHostPort(t.Addr)
		opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}
	}
	dl := &dialer{dial: goredis.NewDialer(opts), connectTimeout: dial}
	opts.Dialer = dl.DialContext
	c := goredis.NewClient(opts)
	var stopInterrupt func() bool
	if o.Interrupt != nil {
		stopInterrupt = context.AfterFunc(o.Interrupt, dl.open.CloseAll)
	}
	pctx, cancel := context.WithTimeout(ctx, dial)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		c.Close()
		if stopInterrupt != nil {
			stopInterrupt()
		}
		var ne net.Error
		if ctx.Err() == nil && errors.As(err, &ne) && ne.Timeout() {
			return nil, fmt.Errorf("connect to %s: no answer within %s (raise --connect-timeout if the server is only slow)", t.Redacted(), dial)
		}
		return nil, fmt.Errorf("connect to %s: %s", t.Redacted(), scrub(err, t.Password))
	}
	provider := o.ProviderID
	if provider == "" {
		provider = DefaultProviderID
	}
	return &Store{c: c, L: t.Layout, ProviderID: provider, target: t, audit: o.Audit, stopInterrupt: stopInterrupt}, nil
}

// Options tune Open.
type Options struct {
	// ConnectTimeout bounds connecting (DialTimeout when zero).
	ConnectTimeout time.Duration
	// ProviderID is the app's Passkey provider id (DefaultProviderID when
	// empty).
	ProviderID string
	// Audit, when set, is who makes the changes: each one is recorded in
	// passkeyctl's audit log (audit.go) in its own MULTI/EXEC.
	Audit *store.AuditContext
	// Interrupt, when set, is a context whose end (SIGINT or SIGTERM in
	// passkeyctl) closes every connection at once, so that the command
	// returns through its defers instead of waiting out a read on a server
	// that does not answer (see sockets).
	Interrupt context.Context
}

// scrub is err's text without secret (a server may echo what it was sent).
func scrub(err error, secret string) string {
	msg := err.Error()
	if secret != "" {
		msg = strings.ReplaceAll(msg, secret, "xxxxx")
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		msg += " (timed out; is the server reachable?)"
	}
	return msg
}

func init() {
	// go-redis logs dial failures and pool events to stderr on its own;
	// passkeyctl reports every failure itself, once, in one line with the
	// password scrubbed (Open's errors), and a library's log line is one
	// more place a secret could reach.
	goredis.SetLogger(silentLogger{})
}

// silentLogger drops go-redis's log lines.
type silentLogger struct{}

func (silentLogger) Printf(context.Context, string, ...interface{}) {}
