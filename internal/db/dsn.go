package db

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/go-sql-driver/mysql"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
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
	// parameter, or "". It is never sent as a search_path startup
	// parameter, which transaction poolers refuse (PgBouncer, Neon) or drop
	// silently (PgBouncer's ignore_startup_parameters, Supavisor): every
	// statement names it instead (DB.Q, DB.inSchema).
	SearchPath string
	// ConnectTimeout is the DSN's connect_timeout (seconds, as libpq and
	// Prisma read it), or 0 when it sets none.
	ConnectTimeout time.Duration
	// SQLitePath is the SQLite database file, or "".
	SQLitePath string
	// SQLitePragmas are the names of the pragmas the DSN's _pragma
	// parameters set. SQLite ignores a pragma it does not know, so Open
	// checks them against its own list: a misspelt one is an error, not a
	// setting silently left out.
	SQLitePragmas []string
	// passwords holds the DSN's password in each form a message may quote
	// it (decoded, as written, and re-encoded), only to scrub it from driver
	// errors, which may quote the DSN in forms Redact does not know.
	passwords []string
}

// Scrub removes the DSN's password, literally and in every DSN form, from a
// message.
func (t Target) Scrub(msg string) string {
	for _, pw := range t.passwords {
		msg = strings.ReplaceAll(msg, pw, "xxxxx")
	}
	return Redact(msg)
}

// passwordForms lists pw decoded and in every encoding a DSN or an error may
// show it in, longest first so that a form is never half-replaced by a
// shorter one it contains.
func passwordForms(pw, asWritten string) []string {
	if pw == "" {
		return nil
	}
	var out []string
	for _, f := range []string{pw, asWritten, url.QueryEscape(pw), url.PathEscape(pw), strings.TrimPrefix(url.UserPassword("", pw).String(), ":")} {
		if f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// rawPassword returns the password exactly as written in a URL DSN, still
// percent-encoded, or "".
func rawPassword(raw string) string {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return ""
	}
	userinfo, ok := urlUserinfo(rest)
	if !ok {
		return ""
	}
	_, pw, _ := strings.Cut(userinfo, ":")
	return pw
}

// prismaOnlyParams are query parameters that Prisma understands and the
// database servers do not; lib/pq would send them as run-time parameters and
// the server would reject the connection.
var prismaOnlyParams = []string{
	"schema", "connection_limit", "pool_timeout", "pgbouncer", "socket_timeout",
	"connect_timeout_ms", "statement_cache_size", "sslaccept", "sslidentity", "sslpassword",
	"max_idle_connection_lifetime", "sslcert",
}

// AcceptedDSNForms is shown in every DSN usage error.
const AcceptedDSNForms = "postgres://user@host:5432/db[?schema=NAME], postgresql://..., mysql://user@host:3306/db, sqlite:PATH or file:PATH, redis://host:6379/0 or rediss://... (passwords go after the user name as usual)"

// ParseDSN turns a DSN in one of the forms Auth.js and Prisma users have into
// a Target. Errors never contain the password.
//
// A URL DSN (postgres://, postgresql://, mysql://, mariadb://) must parse
// cleanly into scheme://[USER[:PASSWORD]@]HOST[:PORT]/DB[?PARAMS]: a DSN that
// does not (a missing "//", a raw "@", "#", "/", "?" or "%" in the password,
// a space) is refused before any driver sees it. Such a typo used to reach
// the server (which logged it, password included) or a DNS resolver (a
// password piece read as a host name). Its error names the problem and the
// fix without quoting the DSN, of which any part could be userinfo.
func ParseDSN(raw string) (Target, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return Target{}, fmt.Errorf("%w: empty DSN", passkey.ErrInvalid)
	}
	scheme, rest, _ := strings.Cut(raw, ":")
	switch lower := strings.ToLower(scheme); lower {
	case "postgres", "postgresql", "mysql", "mariadb":
		name := "PostgreSQL"
		if lower == "mysql" || lower == "mariadb" {
			name = "MySQL"
		}
		if !strings.HasPrefix(rest, "//") {
			return Target{}, fmt.Errorf("%w: the %s DSN starts with %q but not %q: write %s://USER@HOST:PORT/DB with the password after the user name; the DSN is not shown: it may hold a password", passkey.ErrInvalid, name, lower+":", lower+"://", lower)
		}
		if err := checkURLDSN(name, lower, rest[2:]); err != nil {
			return Target{}, err
		}
		redacted := redactCleanURL(lower, rest[2:])
		if name == "MySQL" {
			return parseMySQL(raw, redacted)
		}
		return parsePostgres(raw, redacted)
	case "sqlite", "sqlite3", "file":
		if authority, ok := strings.CutPrefix(rest, "//"); ok {
			// sqlite:///abs/path is the URL form of a path: its authority
			// is empty. A user or host there is a DSN meant for a server.
			if a, _, _ := strings.Cut(authority, "/"); strings.ContainsAny(a, "@:") {
				return Target{}, fmt.Errorf("%w: a %s: DSN names a file and has no user, password or host: write %s:PATH or %s:///ABSOLUTE/PATH (the DSN is not shown: it may hold a password)", passkey.ErrInvalid, lower, lower, lower)
			}
		}
		return parseSQLite(rest, Redact(raw))
	}
	return Target{}, unacceptedDSN(raw, scheme, rest)
}

// CheckURLDSN is checkURLDSN for a whole DSN of a backend outside this
// package (name is its server's name in messages, "Redis"): a DSN that does
// not split cleanly is refused before any driver sees it. A DSN without
// "scheme://" is left to the backend.
func CheckURLDSN(name, raw string) error {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil
	}
	return checkURLDSN(name, strings.ToLower(scheme), rest)
}

// checkURLDSN refuses a URL DSN (after its "scheme://") that would not
// parse cleanly into userinfo, host and path: url.Parse accepts many such
// typos and reads a piece of the password as the host, port, path or
// fragment. Its messages never quote the DSN.
func checkURLDSN(name, scheme, afterSlashes string) error {
	fix := fmt.Sprintf("write %s://USER@HOST:PORT/DB with the password after the user name, percent-encoding special characters in the user name and password (@ %%40, / %%2F, ? %%3F, # %%23, %% %%25, space %%20); the DSN is not shown: it may hold a password", scheme)
	for _, r := range afterSlashes {
		if r <= ' ' || r == 0x7f || unicode.IsSpace(r) {
			return fmt.Errorf("%w: cannot parse %s DSN %s://...: it holds a space or control character: %s", passkey.ErrInvalid, name, scheme, fix)
		}
	}
	if strings.Contains(afterSlashes, "#") {
		return fmt.Errorf("%w: cannot parse %s DSN %s://...: it holds a \"#\" (a DSN has no #fragment; in a password write %%23): %s", passkey.ErrInvalid, name, scheme, fix)
	}
	switch ats := strings.Count(afterSlashes, "@"); {
	case ats > 1:
		return fmt.Errorf("%w: cannot parse %s DSN %s://...: it holds more than one \"@\" (an @ in the user name, password or a parameter is written %%40): %s", passkey.ErrInvalid, name, scheme, fix)
	case ats == 1:
		authority := afterSlashes
		if i := strings.IndexAny(authority, "/?"); i >= 0 {
			authority = authority[:i]
		}
		if !strings.Contains(authority, "@") {
			return fmt.Errorf("%w: cannot parse %s DSN %s://...: a \"/\" or \"?\" comes before its \"@\" (in a password write them %%2F and %%3F; an @ in a parameter %%40): %s", passkey.ErrInvalid, name, scheme, fix)
		}
	}
	return nil
}

// redactCleanURL is the printable form of a URL DSN that checkURLDSN
// accepted: the password (all of the userinfo after the first ":") and any
// password parameter replaced by "xxxxx". It works on the structure, so a
// character Redact stops at (a quote) cannot cut the redaction short.
func redactCleanURL(scheme, afterSlashes string) string {
	rest := afterSlashes
	if userinfo, hostAndRest, ok := strings.Cut(afterSlashes, "@"); ok {
		if user, _, hasPW := strings.Cut(userinfo, ":"); hasPW {
			userinfo = user + ":xxxxx"
		}
		rest = userinfo + "@" + hostAndRest
	}
	return kvPassword.ReplaceAllString(scheme+"://"+rest, "${1}xxxxx${3}")
}

// unacceptedDSN is the error for a DSN of no accepted scheme. It quotes the
// DSN only when it is plainly a file name, and names the scheme only when it
// is plainly one (followed by "//"): in "app:S3cret@db/app" the "scheme" is
// the user name and the rest the password.
func unacceptedDSN(raw, scheme, rest string) error {
	lower := strings.ToLower(raw)
	switch {
	case validScheme(scheme) && strings.HasPrefix(rest, "//"):
		return fmt.Errorf("%w: unsupported DSN scheme %q; accepted forms: %s", passkey.ErrInvalid, strings.ToLower(scheme), AcceptedDSNForms)
	case strings.Contains(raw, "@tcp(") || strings.Contains(raw, "@unix("):
		return fmt.Errorf("%w: the DSN is in go-sql-driver's own form (...@tcp(HOST:PORT)/DB): write mysql://USER@HOST:PORT/DB with the password after the user name; the DSN is not shown: it may hold a password", passkey.ErrInvalid)
	case looksLikeSQLiteFile(raw):
		return fmt.Errorf("%w: DSN %q has no scheme: for a SQLite file write sqlite:%s; accepted forms: %s", passkey.ErrInvalid, raw, raw, AcceptedDSNForms)
	case strings.Contains(raw, "=") && strings.ContainsAny(raw, " \t"):
		return fmt.Errorf("%w: key=value DSNs (host=... user=...) are not accepted: write postgres://USER@HOST:PORT/DB with the password after the user name; the DSN is not shown: it may hold a password", passkey.ErrInvalid)
	}
	for _, s := range []string{"postgresql", "postgres", "mysql", "mariadb"} {
		if strings.HasPrefix(lower, s) {
			return fmt.Errorf("%w: the DSN starts with %q but not %q: write %s://USER@HOST:PORT/DB with the password after the user name; the DSN is not shown: it may hold a password", passkey.ErrInvalid, s, s+"://", s)
		}
	}
	return fmt.Errorf("%w: the DSN has no scheme it can be read by (the DSN is not shown: it may hold a password); accepted forms: %s", passkey.ErrInvalid, AcceptedDSNForms)
}

// validScheme reports whether s is a URL scheme (RFC 3986: a letter, then
// letters, digits, "+", "-" or ".").
func validScheme(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.')
	}) < 0
}

// looksLikeSQLiteFile reports whether a DSN without a scheme is plainly a
// SQLite file name (safe to quote back): a SQLite file extension and none
// of the characters that a password or userinfo would bring.
func looksLikeSQLiteFile(raw string) bool {
	if strings.ContainsAny(raw, ":@=?#%& \t") {
		return false
	}
	for _, ext := range []string{".db", ".sqlite", ".sqlite3", ".db3"} {
		if strings.HasSuffix(strings.ToLower(raw), ext) {
			return true
		}
	}
	return false
}

// DescribeDSN is raw as it may be printed: the redacted DSN when it parses,
// else at most its scheme ("postgres://…"), since any other part of a DSN
// that does not parse could be its password.
func DescribeDSN(raw string) string {
	raw = strings.TrimSpace(raw)
	t, err := ParseDSN(raw)
	if err == nil {
		return t.Redacted
	}
	scheme, rest, _ := strings.Cut(raw, ":")
	switch {
	case looksLikeSQLiteFile(raw):
		return raw
	case validScheme(scheme) && strings.HasPrefix(rest, "//"):
		return strings.ToLower(scheme) + "://…"
	}
	switch lower := strings.ToLower(scheme); lower {
	case "postgres", "postgresql", "mysql", "mariadb", "sqlite", "sqlite3", "file":
		return lower + ":…"
	}
	return "(a DSN that cannot be parsed; not shown)"
}

func parsePostgres(raw, redacted string) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// Neither the DSN nor url.Parse's reason is shown: a password with
		// raw special characters is what usually breaks parsing, and either
		// could quote part of it.
		return Target{}, fmt.Errorf("%w: cannot parse PostgreSQL DSN %s://...: use postgres://USER@HOST:PORT/DB (password after the user name) and percent-encode special characters in the user name and password (@ as %%40, / as %%2F, ? as %%3F, # as %%23, %% as %%25)", passkey.ErrInvalid, strings.ToLower(u0scheme(raw)))
	}
	q := u.Query()
	searchPath := q.Get("schema")
	// Prisma's sslcert is the server's CA certificate (lib/pq's
	// sslrootcert); lib/pq's own sslcert is a client certificate.
	if ca := q.Get("sslcert"); ca != "" && q.Get("sslrootcert") == "" {
		q.Set("sslrootcert", ca)
	}
	for _, p := range prismaOnlyParams {
		q.Del(p)
	}
	if q.Get("sslmode") == "" {
		if isLocalHost(u.Hostname()) {
			// Local servers rarely speak TLS.
			q.Set("sslmode", "disable")
		} else {
			// Prisma's and libpq's default; lib/pq's own (require) would
			// fail on a server without TLS where the app succeeds.
			q.Set("sslmode", "prefer")
		}
	}
	// Every parameterised statement goes as one round trip
	// (Parse/Bind/Describe/Execute/Sync) instead of lib/pq's default two
	// (Parse/Describe/Sync, then Bind/Execute/Sync), between which a
	// transaction pooler may hand the server connection to another client.
	// With it, lib/pq sends []byte arguments in binary format (the same
	// bytes for text and bytea columns) and every other argument as text, as
	// before. Always on, whatever the DSN says: passkeyctl never knows
	// whether a pooler sits in front of the server.
	q.Set("binary_parameters", "yes")
	// search_path is never sent as a startup parameter (see
	// Target.SearchPath). One the DSN sets itself would be refused or
	// dropped by a pooler, and dropping it silently would put passkeyctl
	// on public: refuse it and name the form that works everywhere.
	if q.Has("search_path") || strings.Contains(q.Get("options"), "search_path") {
		return Target{}, fmt.Errorf("%w: DSN %q sets search_path as a startup parameter, which connection poolers refuse or drop silently: name the schema with ?schema=NAME instead (passkeyctl then names it in every statement)", passkey.ErrInvalid, redacted)
	}
	connectTimeout := connectTimeoutParam(q.Get("connect_timeout"))
	u.Scheme = "postgres"
	u.RawQuery = q.Encode()
	pw, _ := u.User.Password()
	if pw == "" {
		// libpq's ?password= form.
		pw = q.Get("password")
	}
	return Target{Dialect: Postgres, DriverDSN: u.String(), Redacted: redacted, SearchPath: searchPath, ConnectTimeout: connectTimeout, passwords: passwordForms(pw, rawPassword(raw))}, nil
}

func parseMySQL(raw, redacted string) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Target{}, fmt.Errorf("%w: cannot parse MySQL DSN %s://...: use mysql://USER@HOST:PORT/DB (password after the user name) and percent-encode special characters in the user name and password (@ as %%40, / as %%2F, ? as %%3F, # as %%23, %% as %%25)", passkey.ErrInvalid, strings.ToLower(u0scheme(raw)))
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
		return Target{}, fmt.Errorf("%w: MySQL DSN %q names no database (mysql://USER@HOST:3306/DB)", passkey.ErrInvalid, redacted)
	}
	cfg.ParseTime = true
	cfg.MultiStatements = false
	cfg.Params = map[string]string{}
	var connectTimeout time.Duration
	for k, v := range u.Query() {
		val := ""
		if len(v) > 0 {
			val = v[0]
		}
		switch k {
		case "connection_limit", "pool_timeout", "socket_timeout", "sslcert", "sslidentity", "sslpassword", "max_idle_connection_lifetime", "statement_cache_size", "pgbouncer", "schema":
			// Prisma-only parameters: go-sql-driver would send them to the
			// server as system variables, which it rejects.
		case "connect_timeout":
			// Prisma's connect timeout, in seconds; Open applies it.
			connectTimeout = connectTimeoutParam(val)
		case "socket":
			// Prisma's form for a Unix socket.
			cfg.Net, cfg.Addr = "unix", val
		case "sslaccept":
			// Prisma: strict verifies the certificate, accept_invalid_certs
			// only encrypts.
			if strings.EqualFold(val, "accept_invalid_certs") {
				cfg.TLSConfig = "skip-verify"
			} else {
				cfg.TLSConfig = "true"
			}
		case "ssl-mode", "sslmode", "ssl":
			cfg.TLSConfig = mysqlTLSMode(val)
		case "password":
			// go-sql-driver sends unknown parameters as SET statements
			// after connecting: "SET password=..." would change the
			// account's password. Read it as the login password instead.
			if cfg.Passwd == "" {
				cfg.Passwd = val
			}
		case "user":
			if cfg.User == "" {
				cfg.User = val
			}
		default:
			cfg.Params[k] = val
		}
	}
	return Target{Dialect: MySQL, DriverDSN: cfg.FormatDSN(), Redacted: redacted, ConnectTimeout: connectTimeout, passwords: passwordForms(cfg.Passwd, rawPassword(raw))}, nil
}

// connectTimeoutParam reads a DSN's connect_timeout: whole seconds, as libpq
// and Prisma read it. Zero, a negative number or garbage means "not set":
// libpq reads 0 as "wait for ever", but passkeyctl always bounds the connect
// (Open falls back to --connect-timeout's default).
func connectTimeoutParam(v string) time.Duration {
	secs, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || secs <= 0 {
		return 0
	}
	return time.Duration(secs) * time.Second
}

// driverDSNWithTimeout is the driver DSN with the connect timeout that Open
// chose: lib/pq's connect_timeout bounds the TCP connect and the whole
// startup handshake (whole seconds, rounded up); go-sql-driver's timeout
// bounds the dial, and Open's context the handshake.
func (t Target) driverDSNWithTimeout(timeout time.Duration) (string, error) {
	switch t.Dialect {
	case Postgres:
		u, err := url.Parse(t.DriverDSN)
		if err != nil {
			return "", err
		}
		q := u.Query()
		q.Set("connect_timeout", strconv.Itoa(int((timeout+time.Second-1)/time.Second)))
		u.RawQuery = q.Encode()
		return u.String(), nil
	case MySQL:
		cfg, err := mysql.ParseDSN(t.DriverDSN)
		if err != nil {
			return "", err
		}
		cfg.Timeout = timeout
		return cfg.FormatDSN(), nil
	}
	return t.DriverDSN, nil
}

// u0scheme is the DSN's scheme, the part before the first ":".
func u0scheme(raw string) string {
	scheme, _, _ := strings.Cut(raw, ":")
	return scheme
}

// mysqlTLSMode maps the MySQL client's --ssl-mode values (and mysql2's
// ssl={...}) to go-sql-driver's tls parameter.
func mysqlTLSMode(v string) string {
	switch strings.ToUpper(v) {
	case "DISABLED", "DISABLE", "FALSE", "0":
		return "false"
	case "PREFERRED", "PREFER":
		return "preferred"
	case "REQUIRED", "REQUIRE":
		return "skip-verify"
	}
	// VERIFY_CA, VERIFY_IDENTITY, true, or mysql2's JSON object: verify.
	return "true"
}

func parseSQLite(rest, redacted string) (Target, error) {
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
		return Target{}, fmt.Errorf("%w: SQLite DSN %q names no file (sqlite:PATH)", passkey.ErrInvalid, redacted)
	}
	// Every write transaction starts with BEGIN IMMEDIATE: it takes the
	// write lock at once (waiting up to the busy timeout), so two writers
	// never both read and then fail to upgrade with SQLITE_BUSY. It comes
	// first because the driver reads the first _txlock. Foreign keys are off
	// by default in SQLite; Auth.js's ON DELETE CASCADE needs them on. The
	// busy timeout lets concurrent processes wait for the write lock instead
	// of failing at once.
	params := "_txlock=immediate"
	if query != "" {
		params += "&" + query
	}
	params += "&_pragma=foreign_keys(1)"
	if !strings.Contains(query, "busy_timeout") {
		params += "&_pragma=busy_timeout(10000)"
	}
	values, err := url.ParseQuery(query)
	if err != nil {
		// The driver would fail on it at the first connection, as a
		// connection error (exit 1); it is the DSN's text that is wrong.
		return Target{}, fmt.Errorf("%w: cannot parse the query of the SQLite DSN for %s (the query is not shown): percent-encode special characters (%% as %%25, & as %%26)", passkey.ErrInvalid, path)
	}
	var pragmas []string
	for _, v := range values["_pragma"] {
		m := sqlitePragma.FindStringSubmatch(v)
		if m == nil {
			// The driver runs "PRAGMA " + v on every connection: a syntax
			// error there reads as a connection failure.
			// Neither the value nor the DSN's query is shown: a value
			// cut short may hold anything (a key, say).
			name, _, _ := strings.Cut(strings.SplitN(v, "=", 2)[0], "(")
			return Target{}, fmt.Errorf("%w: the SQLite DSN for %s sets _pragma=%s…, which is not NAME, NAME(VALUE) or NAME=VALUE (the value is not shown; https://sqlite.org/pragma.html)", passkey.ErrInvalid, path, strings.TrimSpace(name))
		}
		pragmas = append(pragmas, strings.ToLower(m[1]))
	}
	return Target{Dialect: SQLite, DriverDSN: "file:" + path + "?" + params, Redacted: redacted, SQLitePath: path, SQLitePragmas: pragmas}, nil
}

// sqlitePragma is the form of a _pragma in a SQLite DSN, as the driver
// runs it ("PRAGMA " + it): [schema.]name, then nothing, "(value)" or
// "=value", where a value is a number, a keyword or a quoted string.
// Group 1 is the name.
var sqlitePragma = regexp.MustCompile(`^\s*(?:\w+\.)?(\w+)\s*(?:\(\s*(?:[+-]?[\w.]+|'[^']*'|"[^"]*")\s*\)|=\s*(?:[+-]?[\w.]+|'[^']*'|"[^"]*"))?\s*$`)

func isLocalHost(h string) bool {
	return h == "" || h == "localhost" || h == "127.0.0.1" || h == "::1" || strings.HasPrefix(h, "/")
}

var (
	// The unquoted value stops at the ": " that follows a DSN quoted in a
	// message, so the message keeps its separator.
	kvPassword  = regexp.MustCompile(`(?i)((?:password|passwd|pwd)\s*=\s*)('[^']*'|"[^"]*"|[^\s&;,]*?)(:\s|[\s&;,]|$)`)
	goMySQLPass = regexp.MustCompile(`(^|[\s"'(])([^:/@\s"'(]+):([^\s"']*)@(tcp|unix)\(`)
)

// Redact replaces every password that a DSN, or any text that contains
// one, may carry with "xxxxx". It is applied to DSNs before they are shown
// and to driver errors before they are wrapped.
func Redact(s string) string {
	s = redactURLPasswords(s)
	s = kvPassword.ReplaceAllString(s, "${1}xxxxx${3}")
	s = goMySQLPass.ReplaceAllString(s, "${1}${2}:xxxxx@${4}(")
	return s
}

// redactURLPasswords replaces the password of every scheme://user:pass@host
// in s. A password may hold a raw "@", "/", "?" or ":" that its writer did
// not percent-encode, so the password runs to the last "@" of the URL's
// authority rather than to the first.
func redactURLPasswords(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "://")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+3])
		s = s[i+3:]
		userinfo, ok := urlUserinfo(s)
		user, _, hasPW := strings.Cut(userinfo, ":")
		if !ok || !hasPW {
			continue
		}
		b.WriteString(user + ":xxxxx")
		s = s[len(userinfo):]
	}
}

// urlUserinfo returns the user:password part of a URL whose "scheme://" has
// been cut off, without the "@". The URL ends at white space; its userinfo
// ends at its last "@": a password may hold a raw "@", "#", "?" or "/", and
// when in doubt more is hidden rather than less (an "@" in a parameter hides
// the host and path too).
func urlUserinfo(rest string) (string, bool) {
	u := rest
	if end := strings.IndexAny(u, " \t\r\n"); end >= 0 {
		u = u[:end]
	}
	last := strings.LastIndexByte(u, '@')
	if last <= 0 {
		return "", false
	}
	userinfo := u[:last]
	// A user name cannot hold "/", "?" or "#" (they end the authority): the
	// "@" then belongs to a path or a query, not to the userinfo.
	if user, _, _ := strings.Cut(userinfo, ":"); user != "" && strings.ContainsAny(user, "/?#") {
		return "", false
	}
	return userinfo, true
}
