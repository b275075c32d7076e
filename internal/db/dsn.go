package db

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// Target is a parsed DSN: which dialect to use, what to hand the Go driver,
// and a redacted form that is safe to print.
type Target struct {
	Dialect *Dialect
	// DriverDSN is the data source name in the driver's own syntax. It may
	// contain a password and must never be printed.
	DriverDSN string
	// Redacted is the DSN as the user wrote it with any password replaced
	// by "xxxxx".
	Redacted string
	// SearchPath is the PostgreSQL schema named by Prisma's ?schema=
	// parameter, or "".
	SearchPath string
	// password is kept only to scrub it from driver errors, which may quote
	// the DSN in forms Redact does not know.
	password string
}

// Scrub removes the DSN's password, literally and in every DSN form, from a
// message.
func (t Target) Scrub(msg string) string {
	if t.password != "" {
		msg = strings.ReplaceAll(msg, t.password, "xxxxx")
		if esc := url.QueryEscape(t.password); esc != t.password {
			msg = strings.ReplaceAll(msg, esc, "xxxxx")
		}
	}
	return Redact(msg)
}

// prismaOnlyParams are query parameters that Prisma understands and the
// database servers do not; lib/pq would send them as run-time parameters and
// the server would reject the connection.
var prismaOnlyParams = []string{
	"schema", "connection_limit", "pool_timeout", "pgbouncer", "socket_timeout",
	"connect_timeout_ms", "statement_cache_size", "sslaccept", "sslidentity", "sslpassword",
}

// AcceptedDSNForms is shown in every DSN usage error.
const AcceptedDSNForms = "postgres://user@host:5432/db[?schema=NAME], postgresql://..., mysql://user@host:3306/db, sqlite:PATH or file:PATH (passwords go after the user name as usual)"

// ParseDSN turns a DSN in one of the forms Auth.js and Prisma users have into
// a Target. Errors never contain the password.
func ParseDSN(raw string) (Target, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return Target{}, fmt.Errorf("%w: empty DSN", ErrInvalid)
	}
	redacted := Redact(raw)
	scheme, rest, ok := strings.Cut(raw, ":")
	if !ok {
		return Target{}, fmt.Errorf("%w: DSN %q has no scheme; accepted forms: %s", ErrInvalid, redacted, AcceptedDSNForms)
	}
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		return parsePostgres(raw, redacted)
	case "mysql", "mariadb":
		return parseMySQL(raw, redacted)
	case "sqlite", "sqlite3", "file":
		return parseSQLite(strings.ToLower(scheme), rest, redacted)
	default:
		return Target{}, fmt.Errorf("%w: unsupported DSN scheme %q in %q; accepted forms: %s", ErrInvalid, scheme, redacted, AcceptedDSNForms)
	}
}

func parsePostgres(raw, redacted string) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Target{}, fmt.Errorf("%w: cannot parse PostgreSQL DSN %q", ErrInvalid, redacted)
	}
	q := u.Query()
	searchPath := q.Get("schema")
	for _, p := range prismaOnlyParams {
		q.Del(p)
	}
	if q.Get("sslmode") == "" && isLocalHost(u.Hostname()) {
		// Local servers rarely speak TLS; lib/pq's default (require) would
		// fail where Prisma's (prefer) succeeds.
		q.Set("sslmode", "disable")
	}
	u.Scheme = "postgres"
	u.RawQuery = q.Encode()
	pw, _ := u.User.Password()
	return Target{Dialect: Postgres, DriverDSN: u.String(), Redacted: redacted, SearchPath: searchPath, password: pw}, nil
}

func parseMySQL(raw, redacted string) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Target{}, fmt.Errorf("%w: cannot parse MySQL DSN %q", ErrInvalid, redacted)
	}
	cfg := mysql.NewConfig()
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	host := u.Hostname()
	if host == "" {
		host = "127.0.0.1"
	}
	port := u.Port()
	if port == "" {
		port = "3306"
	}
	cfg.Net = "tcp"
	cfg.Addr = host + ":" + port
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	if cfg.DBName == "" {
		return Target{}, fmt.Errorf("%w: MySQL DSN %q names no database (mysql://user:pass@host:3306/DB)", ErrInvalid, redacted)
	}
	cfg.ParseTime = true
	cfg.MultiStatements = false
	cfg.Params = map[string]string{}
	for k, v := range u.Query() {
		switch k {
		case "connection_limit", "pool_timeout", "socket_timeout", "connect_timeout", "sslaccept", "sslcert", "sslidentity", "sslpassword":
			// Prisma-only parameters.
		case "ssl-mode", "sslmode":
			if len(v) > 0 && !strings.EqualFold(v[0], "disabled") {
				cfg.TLSConfig = "preferred"
			}
		default:
			if len(v) > 0 {
				cfg.Params[k] = v[0]
			}
		}
	}
	return Target{Dialect: MySQL, DriverDSN: cfg.FormatDSN(), Redacted: redacted, password: cfg.Passwd}, nil
}

func parseSQLite(scheme, rest, redacted string) (Target, error) {
	path := rest
	// sqlite:///abs/path and file:///abs/path are URL forms of an absolute path.
	if strings.HasPrefix(path, "//") {
		path = strings.TrimPrefix(path, "//")
	}
	query := ""
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path, query = path[:i], path[i+1:]
	}
	if path == "" {
		return Target{}, fmt.Errorf("%w: SQLite DSN %q names no file (sqlite:PATH)", ErrInvalid, redacted)
	}
	_ = scheme
	// Foreign keys are off by default in SQLite; Auth.js's ON DELETE CASCADE
	// needs them on. The busy timeout lets concurrent processes wait for the
	// write lock instead of failing at once.
	params := "_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_txlock=immediate"
	if query != "" {
		params = query + "&" + params
	}
	return Target{Dialect: SQLite, DriverDSN: "file:" + path + "?" + params, Redacted: redacted}, nil
}

func isLocalHost(h string) bool {
	return h == "" || h == "localhost" || h == "127.0.0.1" || h == "::1" || strings.HasPrefix(h, "/")
}

var (
	urlPassword = regexp.MustCompile(`(://[^:/@\s]*):([^@\s]*)@`)
	kvPassword  = regexp.MustCompile(`(?i)((?:password|passwd|pwd)\s*=\s*)('[^']*'|[^\s&;]*)`)
	goMySQLPass = regexp.MustCompile(`^([^:/@\s]+):([^@\s]*)@(tcp|unix)\(`)
)

// Redact replaces every password that a DSN, or any text that contains
// one, may carry with "xxxxx". It is applied to DSNs before they are shown
// and to driver errors before they are wrapped.
func Redact(s string) string {
	s = urlPassword.ReplaceAllString(s, "${1}:xxxxx@")
	s = kvPassword.ReplaceAllString(s, "${1}xxxxx")
	s = goMySQLPass.ReplaceAllString(s, "${1}:xxxxx@${3}(")
	return s
}
