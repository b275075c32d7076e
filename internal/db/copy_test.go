package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// TestWriteRows writes rows through writeRows on every dialect (COPY on
// PostgreSQL, INSERTs elsewhere) and reads them back: the text COPY
// escapes comes back as it was, NULL stays NULL, a duplicate key is
// ErrConflict, and a row of the wrong width or a value of no known form
// is refused.
func TestWriteRows(t *testing.T) {
	awkward := []string{"plain", `back\slash`, "tab\there", "new\nline", "carriage\rreturn", `\N`, `\.`, "\\\t\n\r\\", "é ü 日本 😀", ""}
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			d := dbtest.Open(t, dbtest.New(t, dialect))
			key := "VARCHAR(64) NOT NULL PRIMARY KEY"
			if dialect != "mysql" {
				key = "TEXT NOT NULL PRIMARY KEY"
			}
			dbtest.Exec(t, d, "CREATE TABLE "+d.Q("w")+" (id "+key+", s TEXT, n BIGINT, b BOOLEAN)")
			cols := []string{"id", "s", "n", "b"}
			var rows [][]any
			for i, s := range awkward {
				rows = append(rows, []any{"id-" + s, s, int64(i*1000 - 3), i%2 == 0})
			}
			rows = append(rows, []any{"nulls", sql.NullString{}, nil, false}, []any{"pointer", &awkward[1], 7, true})
			if err := d.WriteRows(ctx, "w", cols, rows); err != nil {
				t.Fatal(err)
			}
			got := map[string][]any{}
			rs, err := d.X.QueryContext(ctx, "SELECT id, s, n, b FROM "+d.Q("w"))
			if err != nil {
				t.Fatal(err)
			}
			for rs.Next() {
				var id string
				var s sql.NullString
				var n sql.NullInt64
				var b bool
				if err := rs.Scan(&id, &s, &n, &b); err != nil {
					t.Fatal(err)
				}
				got[id] = []any{s, n, b}
			}
			if err := rs.Err(); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(rows) {
				t.Fatalf("%d rows read back, want %d: %v", len(got), len(rows), got)
			}
			for i, s := range awkward {
				want := []any{sql.NullString{String: s, Valid: true}, sql.NullInt64{Int64: int64(i*1000 - 3), Valid: true}, i%2 == 0}
				if g := got["id-"+s]; !slices.Equal(g, want) {
					t.Errorf("%q: read back %v, want %v", s, g, want)
				}
			}
			if g := got["nulls"]; !slices.Equal(g, []any{sql.NullString{}, sql.NullInt64{}, false}) {
				t.Errorf("NULLs read back as %v", g)
			}
			if g := got["pointer"]; !slices.Equal(g, []any{sql.NullString{String: awkward[1], Valid: true}, sql.NullInt64{Int64: 7, Valid: true}, true}) {
				t.Errorf("*string and int read back as %v", g)
			}
			// A key already there, and twice in one call: nothing written.
			err = d.WriteRows(ctx, "w", cols, [][]any{{"new", "x", nil, true}, {"id-plain", "x", nil, true}})
			if !errors.Is(err, passkey.ErrConflict) {
				t.Errorf("duplicate key: %v, want ErrConflict", err)
			}
			err = d.WriteRows(ctx, "w", cols, [][]any{{"twice", "x", nil, true}, {"twice", "y", nil, true}})
			if !errors.Is(err, passkey.ErrConflict) {
				t.Errorf("key twice in one call: %v, want ErrConflict", err)
			}
			if got := countRows(t, d, "w")[0]; got != len(rows) {
				t.Errorf("%d rows after the conflicts, want %d", got, len(rows))
			}
			if d.Dialect.Name != "postgres" {
				return
			}
			// COPY's own checks: the row's width, and values it has no text
			// form for.
			if err := d.WriteRows(ctx, "w", cols, [][]any{{"short", "x", nil}}); err == nil || !strings.Contains(err.Error(), "3 values for 4 columns") {
				t.Errorf("short row: %v", err)
			}
			if err := d.WriteRows(ctx, "w", cols, [][]any{{"float", "x", 1.5, true}}); err == nil || !strings.Contains(err.Error(), "float64") {
				t.Errorf("float: %v", err)
			}
			// Times as lib/pq sends them: the instant in a timestamptz, the
			// wall clock of the value's own zone in a timestamp.
			dbtest.Exec(t, d, "CREATE TABLE "+d.Q("tw")+" (id TEXT PRIMARY KEY, tz TIMESTAMPTZ(3), ts TIMESTAMP(3))")
			when := time.Date(2025, 3, 4, 5, 6, 7, 891_000_000, time.FixedZone("x", 5400))
			utc := when.UTC()
			if err := d.WriteRows(ctx, "tw", []string{"id", "tz", "ts"}, [][]any{{"a", when, when}, {"b", utc, utc}}); err != nil {
				t.Fatal(err)
			}
			for id, wall := range map[string]time.Time{"a": when, "b": utc} {
				var tz time.Time
				var ts string
				if err := d.X.QueryRowContext(ctx, `SELECT tz, to_char(ts, 'YYYY-MM-DD HH24:MI:SS.MS') FROM `+d.Q("tw")+" WHERE id = $1", id).Scan(&tz, &ts); err != nil {
					t.Fatal(err)
				}
				if !tz.Equal(when) || ts != wall.Format("2006-01-02 15:04:05.000") {
					t.Errorf("%s: timestamptz %v, timestamp %s; want %v and %s", id, tz, ts, when, wall.Format("2006-01-02 15:04:05.000"))
				}
			}
		})
	}
}

// TestImport_textRoundTrip imports records whose user ids, e-mails and
// names and whose Better Auth passkey names hold what COPY escapes, into
// both apps on every dialect, with the users created by the import, and
// exports them again: every field comes back as it went in.
func TestImport_textRoundTrip(t *testing.T) {
	awkward := []string{`back\slash`, "tab\there", "new\nline", "cr\rhere", `\N`, `\.`, "ü 日本 😀"}
	for _, dialect := range dbtest.Dialects {
		for _, app := range []db.App{db.AppAuthjs, db.AppBetterAuth} {
			t.Run(dialect+"/"+string(app), func(t *testing.T) {
				ctx := context.Background()
				var d *db.DB
				if app == db.AppBetterAuth {
					_, d = dbtest.BetterAuth(t, dialect, dbtest.BetterAuthOptions{})
				} else {
					_, d = dbtest.Migrated(t, dialect)
				}
				s := detect(t, d)
				var in []passkey.ExportRecord
				for i, a := range awkward {
					rec := record(t, "id "+a, fmt.Sprintf("user%d+%s@example.com", i, a))
					name := "name " + a
					rec.User.Name = &name
					rec.User.EmailVerified = i%2 == 0
					rec.Counter = int64(i) * 1_000_003
					rec.BackedUp = i%2 == 1
					rec.Transports = [][]string{nil, {}, {"usb", "nfc"}}[i%3]
					if app == db.AppBetterAuth {
						rec.Name = &name
						created := fmt.Sprintf("2025-0%d-02T03:04:05.678Z", i+1)
						rec.CreatedAt = &created
						aaguid := "adce0002-35bc-c60a-648b-0b25f1f05503"
						rec.AAGUID = &aaguid
						if n, ok := passkey.AuthenticatorName(aaguid); ok {
							rec.Authenticator = &n
						}
					}
					in = append(in, rec)
				}
				res, err := d.Import(ctx, s, strings.NewReader(lines(in...)), store.ImportOptions{ProviderID: "passkey", CreateUsers: true})
				if err != nil {
					t.Fatal(err)
				}
				if res.Inserted != len(in) || len(res.UsersCreated) != len(in) {
					t.Fatalf("result %+v", res)
				}
				_, out := exportAll(t, d, s)
				byID := map[string]passkey.ExportRecord{}
				for _, r := range out {
					byID[r.CredentialID] = r
				}
				for _, want := range in {
					// What the apps make of the records: Auth.js stores no
					// transports as NULL, Better Auth lower-cases e-mails.
					if app == db.AppAuthjs && len(want.Transports) == 0 {
						want.Transports = nil
					}
					if app == db.AppBetterAuth {
						e := strings.ToLower(*want.User.Email)
						want.User.Email = &e
					}
					got, ok := byID[want.CredentialID]
					if !ok {
						t.Errorf("%q: not exported", want.User.ID)
						continue
					}
					if g, w := lines(got), lines(want); g != w {
						t.Errorf("exported\n%s\nwant\n%s", g, w)
					}
				}
			})
		}
	}
}

// TestSelectIn finds rows by values that an array literal must quote, on
// every dialect, with and without a further condition.
func TestSelectIn(t *testing.T) {
	values := []string{`quo"te`, `back\slash`, "com,ma", "{brace}", "sp ace", "NULL", "", "é", `\"`}
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			d := dbtest.Open(t, dbtest.New(t, dialect))
			key := "VARCHAR(64) NOT NULL PRIMARY KEY"
			if dialect != "mysql" {
				key = "TEXT NOT NULL PRIMARY KEY"
			}
			dbtest.Exec(t, d, "CREATE TABLE "+d.Q("w")+" (id "+key+", k TEXT)")
			var rows [][]any
			for i, v := range values {
				rows = append(rows, []any{v, fmt.Sprint(i % 2)})
			}
			rows = append(rows, []any{"other", "0"})
			if err := d.WriteRows(context.Background(), "w", []string{"id", "k"}, rows); err != nil {
				t.Fatal(err)
			}
			find := append(slices.Clone(values), "missing", `"`)
			for _, c := range []struct {
				cond string
				args []any
				want []string
			}{
				{"", nil, values},
				{"k = ?", []any{"1"}, []string{values[1], values[3], values[5], values[7]}},
			} {
				q, args := d.SelectIn("id, k", d.Q("w"), c.cond, c.args, "id", find)
				var got []string
				if err := d.X.Select(&got, d.Dialect.Rebind("SELECT id FROM ("+q+") AS s"), args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				slices.Sort(got)
				want := slices.Sorted(slices.Values(c.want))
				if !slices.Equal(got, want) {
					t.Errorf("%q: found %q, want %q", c.cond, got, want)
				}
			}
		})
	}
}

// A connection the server ends in the middle of a transaction's COPY
// (pg_terminate_backend here; a restart, a failover or a pooler in
// production) fails the write at once, and the transaction ends: the
// revoke that met it hung for ever. copyIn runs COPY through
// database/sql's Conn.Raw on the Conn the transaction holds, and Raw,
// told the connection was bad, closed the Conn, which waits for the
// transaction to let go of it first.
func TestWriteRows_connectionEndedInTransaction(t *testing.T) {
	ctx := context.Background()
	dsn := dbtest.New(t, "postgres")
	d := dbtest.Open(t, dsn)
	admin := dbtest.Open(t, dsn)
	dbtest.Exec(t, d, `CREATE TABLE t (a TEXT)`)
	// A first write, which learns that the server takes COPY.
	if err := d.WriteRows(ctx, "t", []string{"a"}, [][]any{{"first"}}); err != nil {
		t.Fatal(err)
	}
	for run := range 5 {
		done := make(chan error, 1)
		go func() {
			done <- d.WriteRowsAfter(ctx, "t", []string{"a"}, [][]any{{"lost"}}, func(ctx context.Context, tx *sqlx.Tx) error {
				var pid int
				if err := tx.GetContext(ctx, &pid, `SELECT pg_backend_pid()`); err != nil {
					return err
				}
				if _, err := admin.X.ExecContext(ctx, `SELECT pg_terminate_backend($1, 5000)`, pid); err != nil {
					return err
				}
				return nil
			})
		}()
		select {
		case err := <-done:
			if err == nil {
				t.Fatalf("run %d: the write went through a connection the server had ended", run)
			}
			t.Logf("run %d: %v", run, err)
		case <-time.After(30 * time.Second):
			t.Fatalf("run %d: the write still waits 30 s after the server ended its connection", run)
		}
	}
	var n int
	if err := d.X.GetContext(ctx, &n, `SELECT COUNT(*) FROM t WHERE a = 'lost'`); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d rows of the ended transactions were written", n)
	}
}

// A panic inside rawConn's function, on the Conn of an open transaction,
// comes out as a panic: database/sql's Raw takes a panic for a bad
// connection and would have closed the Conn, waiting for the transaction
// for ever.
func TestRawConn_panicInTransaction(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t, dbtest.New(t, "postgres"))
	conn, err := d.X.Connx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	got := make(chan any, 1)
	go func() {
		defer func() { got <- recover() }()
		db.RawConn(conn, func(any) error { panic("boom") })
	}()
	select {
	case p := <-got:
		if p != "boom" {
			t.Fatalf("recovered %v, want the panic boom", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a panic inside Raw on a transaction's Conn still hangs after 10 s")
	}
}
