package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/jmoiron/sqlx"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// statsSQL is what Stats runs for one app, each a GROUP BY or COUNT that
// the database aggregates: a million passkeys come back as a few rows.
type statsSQL struct {
	// groups selects status, key header (passkey.KeyHeaderChars
	// characters of the stored key), device type, backed-up and AAGUID
	// (NULL where the app stores none), then COUNT(*), grouped by all five.
	groups     string
	groupsArgs []any
	// users selects the number of distinct users with passkeys and how
	// many of them have a single passkey, single-device and not backed up.
	users string
	// orphans selects the number of orphans; "" when the app has none.
	orphans     string
	orphansArgs []any
}

// Stats implements store.Store.
func (st *Store) Stats(ctx context.Context) (*store.Stats, error) {
	return st.DB.Stats(ctx, st.Schema, st.ProviderID)
}

// Stats counts the passkeys of s's app (see store.Stats). The three
// queries run at once on their own connections (the pool has several
// except on SQLite, where they run one after the other): on PostgreSQL
// the grouping joins while the others scan, which two cores do in about
// the time of the longest. Each query sees its own snapshot: a passkey
// written meanwhile may be in one count and not another, which a gauge
// read every few minutes can bear.
func (d *DB) Stats(ctx context.Context, s *Schema, providerID string) (*store.Stats, error) {
	q, err := s.app().statsSQL(d, s, providerID)
	if err != nil {
		return nil, err
	}
	var groups []store.StatsGroup
	var users, singleDeviceOnly, orphans int64
	err = d.concurrently(ctx,
		func(ctx context.Context) error {
			return d.aggregating(ctx, func(x sqlx.QueryerContext) (err error) {
				groups, err = d.statsGroups(ctx, x, q)
				return err
			})
		},
		func(ctx context.Context) error {
			return d.aggregating(ctx, func(x sqlx.QueryerContext) error {
				var single sql.NullInt64 // SUM of no rows is NULL
				if err := x.QueryRowxContext(ctx, q.users).Scan(&users, &single); err != nil {
					return d.Err("count users with passkeys", err)
				}
				singleDeviceOnly = single.Int64
				return nil
			})
		},
		func(ctx context.Context) error {
			if q.orphans == "" {
				return nil
			}
			return d.aggregating(ctx, func(x sqlx.QueryerContext) error {
				return d.Err("count orphan accounts", x.QueryRowxContext(ctx, d.Dialect.Rebind(q.orphans), q.orphansArgs...).Scan(&orphans))
			})
		},
	)
	if err != nil {
		return nil, err
	}
	out := store.NewStats()
	for _, gr := range groups {
		out.Add(gr)
	}
	out.UsersWithPasskeys, out.UsersSingleDeviceOnly, out.Orphans = users, singleDeviceOnly, orphans
	out.Finish()
	return out, nil
}

// concurrently runs each fn on its own goroutine and returns the first
// error; the first error cancels the others' context. An fn refused a
// connection (a connection limit on the login: Dialect.isConnectionRefused)
// cancels nothing and runs again once the others are done, on the
// connection they leave: the fns must be reads.
func (d *DB) concurrently(ctx context.Context, fns ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Go(func() {
			if errs[i] = fn(ctx); errs[i] != nil && !d.Dialect.refusedConnection(errs[i]) {
				cancel()
			}
		})
	}
	wg.Wait()
	// The error that cancelled the others, not their cancellation.
	var first error
	for _, err := range errs {
		if err != nil && !d.Dialect.refusedConnection(err) && (first == nil || errors.Is(first, context.Canceled) && !errors.Is(err, context.Canceled)) {
			first = err
		}
	}
	if first != nil {
		return first
	}
	for i, fn := range fns {
		if errs[i] != nil {
			if err := fn(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// statsWorkMem is the PostgreSQL work_mem of one stats query: with the
// default 4 MB, a million passkeys' joins and sorts spill to disk in
// batches (1.6 s for the grouping query on the 2-core test machine, 1.1 s
// with 32 MB). It is per sort or hash of one query, for its transaction
// only: a few dozen MB, briefly, on the server.
const statsWorkMem = "32MB"

// aggregating runs fn's one aggregate query: on PostgreSQL in a read-only
// transaction of its own with statsWorkMem (SET LOCAL: safe behind
// transaction poolers), elsewhere on the pool.
func (d *DB) aggregating(ctx context.Context, fn func(q sqlx.QueryerContext) error) error {
	if d.Dialect != Postgres {
		return fn(d.X)
	}
	return d.inSchema(ctx, true, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, "SET LOCAL work_mem = '"+statsWorkMem+"'"); err != nil {
			return d.Err("set work_mem", err)
		}
		return fn(tx)
	})
}

// statsKey is a grouping key of the stats queries, grouped by its bytes:
// on PostgreSQL in the "C" collation, whose sort compares bytes (the
// database's own, en_US say, costs a strcoll per comparison: the grouping
// sort of a million passkeys took 0.1 s longer); on MySQL its binary form
// (binary).
func (d *DB) statsKey(expr string) string {
	if d.Dialect == Postgres {
		return "(" + expr + `) COLLATE "C"`
	}
	return d.binary(expr)
}

// statsGroups runs q.groups on x and names each key header's algorithm,
// once per distinct header rather than once per passkey.
func (d *DB) statsGroups(ctx context.Context, x sqlx.QueryerContext, q *statsSQL) ([]store.StatsGroup, error) {
	rows, err := x.QueryxContext(ctx, d.Dialect.Rebind(q.groups), q.groupsArgs...)
	if err != nil {
		return nil, d.Err("count passkeys", err)
	}
	defer rows.Close()
	algs := map[string]string{}
	var out []store.StatsGroup
	for rows.Next() {
		var status string
		var header, deviceType, aaguid sql.NullString
		// backedUp is scanned as the driver gives it: a boolean on
		// PostgreSQL, an integer on MySQL and SQLite.
		var backedUp sql.NullBool
		var n int64
		if err := rows.Scan(&status, &header, &deviceType, &backedUp, &aaguid, &n); err != nil {
			return nil, d.Err("count passkeys", err)
		}
		alg, seen := algs[header.String]
		if !seen {
			alg = passkey.KeyHeaderAlgorithm(header.String)
			algs[header.String] = alg
		}
		out = append(out, store.StatsGroup{Status: status, Algorithm: alg, DeviceType: deviceType.String,
			BackedUp: backedUp.Bool, AAGUID: aaguid.String, N: n})
	}
	return out, d.Err("count passkeys", rows.Err())
}

// keyHeader is the SQL of the first passkey.KeyHeaderChars characters of
// a stored key column, grouped by their bytes: base64 is case-sensitive,
// MySQL's default collations are not.
func (d *DB) keyHeader(col string) string {
	return d.statsKey("SUBSTR(" + col + ", 1, " + strconv.Itoa(passkey.KeyHeaderChars) + ")")
}

// usersSQL is the users query of statsSQL over table's userID column: one
// group per user (by the ID's bytes, as list tells users apart), then the
// users whose one passkey is single-device and not backed up.
func (d *DB) usersSQL(table, userID, deviceType, backedUp string) string {
	col := func(c string) string { return "a." + d.Q(c) }
	single := "CASE WHEN " + col(deviceType) + " = '" + store.DeviceSingle + "' AND NOT " + col(backedUp) + " THEN 1 ELSE 0 END"
	return "SELECT COUNT(*), SUM(CASE WHEN n = 1 AND single = 1 THEN 1 ELSE 0 END) FROM (SELECT COUNT(*) AS n, MAX(" + single +
		") AS single FROM " + d.Q(table) + " a GROUP BY " + d.statsKey(col(userID)) + ") t"
}

// statsSQL is Stats for Auth.js: status from the joins of passkeyQueryFor
// (the Account row Auth.js finds at sign-in, then the User row), and the
// orphans of listOrphans counted.
func (authjsApp) statsSQL(d *DB, s *Schema, providerID string) (*statsSQL, error) {
	if err := readable(s); err != nil {
		return nil, err
	}
	q := d.Q
	col := func(alias, name string) string { return alias + "." + q(name) }
	owner := d.authjsOwnerOf(s, providerID)
	out := &statsSQL{
		groups: "SELECT " + owner.status + ", " + d.keyHeader(col("a", "credentialPublicKey")) + ", " + col("a", "credentialDeviceType") + ", " +
			col("a", "credentialBackedUp") + ", NULL, COUNT(*) FROM " + q(s.Authenticator.Name) + " a" + owner.joins +
			" GROUP BY 1, 2, 3, 4",
		groupsArgs: owner.args,
		users:      d.usersSQL(s.Authenticator.Name, "userId", "credentialDeviceType", "credentialBackedUp"),
	}
	if s.Account != nil && s.Account.Has("provider") && s.Account.Has("providerAccountId") && s.Account.Has("type") {
		match := d.exactColumnsEq(col("a", "credentialID"), col("ac", "providerAccountId"))
		out.orphans = "SELECT COUNT(*) FROM " + q(s.Account.Name) + " ac WHERE " + d.ExactEq(col("ac", "provider")) +
			" AND " + col("ac", "type") + " = 'webauthn' AND NOT EXISTS (SELECT 1 FROM " + q(s.Authenticator.Name) + " a WHERE " + match + ")"
		out.orphansArgs = []any{providerID, providerID}
	}
	return out, nil
}

// statsSQL is Stats for Better Auth: a passkey is one row, "no-user" when
// its user row is gone, and there are no orphans.
func (betterAuthApp) statsSQL(d *DB, s *Schema, _ string) (*statsSQL, error) {
	ba, err := s.PasskeyTableReady()
	if err != nil {
		return nil, err
	}
	q := d.Q
	p := func(c string) string {
		if c == "" {
			return "NULL"
		}
		return "p." + q(c)
	}
	if ba.P.DeviceType == "" || ba.P.BackedUp == "" {
		return nil, fmt.Errorf("%w: table %s has no deviceType or backedUp column", passkey.ErrDrift, ba.Passkey.Name)
	}
	status := "CASE WHEN u." + q(ba.U.ID) + " IS NULL THEN '" + passkey.StatusNoUser + "' ELSE '" + passkey.StatusOK + "' END"
	groupBy := " GROUP BY 1, 2, 3, 4, 5"
	if ba.P.AAGUID == "" {
		groupBy = " GROUP BY 1, 2, 3, 4" // column 5 is NULL
	}
	groups := "SELECT " + status + ", " + d.keyHeader(p(ba.P.PublicKey)) + ", " + p(ba.P.DeviceType) + ", " + p(ba.P.BackedUp) + ", " +
		p(ba.P.AAGUID) + ", COUNT(*) FROM " + q(ba.Passkey.Name) + " p LEFT JOIN " + q(ba.User.Name) +
		" u ON u." + q(ba.U.ID) + " = p." + q(ba.P.UserID) + groupBy
	return &statsSQL{
		groups: groups,
		users:  d.usersSQL(ba.Passkey.Name, ba.P.UserID, ba.P.DeviceType, ba.P.BackedUp),
	}, nil
}
