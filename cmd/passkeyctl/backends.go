package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
	"github.com/passkeyctl/passkeyctl/internal/store/redis"
)

// backend is one kind of place passkeyctl opens an app's passkeys in.
type backend struct {
	// name says what the backend is, in messages.
	name string
	// accepts reports whether dsn is this backend's.
	accepts func(dsn string) bool
	// open opens the store dsn names (settings from f: schema options,
	// provider id, timeouts).
	open func(ctx context.Context, f *Factory, dsn string) (store.Store, error)
	// migrates is true when `migrate` manages the backend's schema;
	// otherwise check parses the DSN without connecting, so that migrate
	// refuses a malformed one as every other command does.
	migrates bool
	check    func(dsn string) error
}

// backends are tried in order; the first whose accepts takes the DSN opens
// it. This is the one place that names a backend: a new one is an
// implementation of store.Store and one line here.
// (A function rather than a variable: openSQL goes through Factory.DB,
// which asks backendOf.)
func backends() []backend {
	return []backend{
		{name: "Auth.js on Redis (Unstorage adapter)", accepts: redis.IsTarget, open: openRedis, check: checkRedisDSN},
		{name: "SQL database", accepts: func(string) bool { return true }, open: openSQL, migrates: true},
	}
}

// backendOf is the backend that opens dsn.
func backendOf(dsn string) backend {
	all := backends()
	for _, b := range all {
		if b.accepts(dsn) {
			return b
		}
	}
	return all[len(all)-1]
}

// openSQL opens a PostgreSQL, MySQL/MariaDB or SQLite database and detects
// the app whose tables it holds (Auth.js or Better Auth).
func openSQL(ctx context.Context, f *Factory, dsn string) (store.Store, error) {
	d, err := f.DB(ctx, db.OpenOptions{})
	if err != nil {
		return nil, err
	}
	s, err := d.DetectForStore(ctx)
	if err != nil {
		return nil, err
	}
	return &db.Store{DB: d, Schema: s, ProviderID: f.ProviderID()}, nil
}

// openRedis opens an Auth.js app's Redis through the Unstorage adapter's
// key layout (the DSN's query parameters name its prefixes).
func openRedis(ctx context.Context, f *Factory, dsn string) (store.Store, error) {
	so, err := f.schemaOptions()
	if err != nil {
		return nil, err
	}
	if so.App != "" && so.App != db.AppAuthjs || so.PasskeyTable != "" || so.UserTable != "" {
		return nil, usageError{fmt.Errorf("--schema and --tables choose SQL tables; a redis:// DSN holds an Auth.js app's keys (set its key prefixes as DSN query parameters, see passkeyctl help list)")}
	}
	if err := checkRedisDSN(dsn); err != nil {
		return nil, err
	}
	t, err := redis.ParseTarget(dsn)
	if err != nil {
		return nil, err
	}
	timeout, err := parseConnectTimeout(f.Get(keyConnectTimeout))
	if err != nil {
		return nil, err
	}
	audit, err := f.auditContext()
	if err != nil {
		return nil, err
	}
	st, err := redis.Open(ctx, t, redis.Options{ConnectTimeout: timeout, ProviderID: f.ProviderID(), Audit: audit, Interrupt: f.interrupt})
	if err != nil {
		return nil, err
	}
	// The layout is detected from the keys present only to warn: one Redis
	// may hold several apps, and a new one has no passkeys yet. A shell
	// completion says nothing and must not pay for a survey of the
	// database at each keystroke.
	if f.completing {
		return st, nil
	}
	if err := st.CheckLayout(ctx); errors.Is(err, passkey.ErrSchemaNotReady) {
		fmt.Fprintln(f.IO.ErrOut, "warning: "+strings.TrimPrefix(err.Error(), passkey.ErrSchemaNotReady.Error()+": "))
	} else if err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// checkRedisDSN refuses a redis:// DSN that does not split cleanly (a raw
// "@" or "#" in the password, say) before anything connects, and one
// ParseTarget refuses.
func checkRedisDSN(dsn string) error {
	if err := db.CheckURLDSN("Redis", dsn); err != nil {
		return usageError{err}
	}
	_, err := redis.ParseTarget(dsn)
	return err
}

// describeDSN is a DSN as messages show it: the backend's redacted form
// when the backend can parse it, else db.DescribeDSN's, which never quotes
// what it cannot split cleanly.
func describeDSN(dsn string) string {
	if redis.IsTarget(dsn) && checkRedisDSN(dsn) == nil {
		if t, err := redis.ParseTarget(dsn); err == nil {
			return t.Redacted()
		}
	}
	return db.DescribeDSN(dsn)
}

// errNoSchema is `migrate` on a backend that keeps no schema.
type errNoSchema struct{ backend string }

func (e errNoSchema) Error() string {
	return "nothing to migrate: " + e.backend + " keeps no schema; list, revoke, export, import and serve use its keys as the app writes them"
}
