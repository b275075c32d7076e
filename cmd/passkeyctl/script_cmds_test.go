package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os/exec"
	"sort"
	"strconv"
	"strings"

	"github.com/passkeyctl/passkeyctl/internal/db"
	storeredis "github.com/passkeyctl/passkeyctl/internal/store/redis"
	goredis "github.com/redis/go-redis/v9"
	"github.com/rogpeppe/go-internal/testscript"
)

// scriptCmds are the commands testscript scripts may use besides the
// built-in ones and passkeyctl itself.
var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"sql":      cmdSQL,
	"exitcode": cmdExitCode,
	"redis":    cmdRedis,
}

// cmdSQL runs SQL against a test database, so scripts can seed rows and
// count them:
//
//	sql DSN 'STATEMENT' ... | sql DSN @FILE
//
// Identifiers are double-quoted in every dialect (MySQL runs the session
// with ANSI_QUOTES), string literals single-quoted. A FILE holds statements
// each ending with ";" at the end of a line; lines starting with "--" are
// comments. A statement that returns rows
// prints them to stdout, one per line, columns separated by a tab, NULL as
// NULL.
func cmdSQL(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! sql")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: sql DSN 'STATEMENT'... | sql DSN @FILE")
	}
	ctx := context.Background()
	d, err := db.Open(ctx, args[0], db.OpenOptions{CreateSQLite: true})
	ts.Check(err)
	defer d.Close()
	conn, err := d.X.Conn(ctx)
	ts.Check(err)
	defer conn.Close()
	if d.Dialect == db.MySQL {
		_, err := conn.ExecContext(ctx, "SET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')")
		ts.Check(err)
	}
	var stmts []string
	for _, a := range args[1:] {
		if file, ok := strings.CutPrefix(a, "@"); ok {
			for _, s := range strings.Split(ts.ReadFile(file), ";\n") {
				var lines []string
				for _, l := range strings.Split(s, "\n") {
					if !strings.HasPrefix(strings.TrimSpace(l), "--") {
						lines = append(lines, l)
					}
				}
				if s = strings.TrimSpace(strings.Join(lines, "\n")); s != "" {
					stmts = append(stmts, strings.TrimSuffix(s, ";"))
				}
			}
			continue
		}
		stmts = append(stmts, a)
	}
	for _, s := range stmts {
		if !strings.HasPrefix(strings.ToUpper(strings.TrimSpace(s)), "SELECT") {
			if _, err := conn.ExecContext(ctx, s); err != nil {
				ts.Fatalf("sql %q: %v", s, err)
			}
			continue
		}
		rows, err := conn.QueryContext(ctx, s)
		if err != nil {
			ts.Fatalf("sql %q: %v", s, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			ts.Check(rows.Scan(ptrs...))
			out := make([]string, len(vals))
			for i, v := range vals {
				out[i] = "NULL"
				if v.Valid {
					out[i] = v.String
				}
			}
			fmt.Fprintln(ts.Stdout(), strings.Join(out, "\t"))
		}
		ts.Check(rows.Err())
		rows.Close()
	}
}

// cmdExitCode runs a program and checks its exit status, which `exec` and
// `! exec` cannot tell apart beyond zero and non-zero; stdout and stderr
// stay available to the next commands:
//
//	exitcode N PROGRAM ARGS...
func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N PROGRAM ARGS...")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exitcode: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("exit code %d, want %d", got, want)
	}
}

// cmdRedis reads and writes the keys of a script's Redis key space (the
// DSN's base) directly, as the app does: to seed what passkeyctl never
// writes (sessions) and to show what a command left.
//
//	redis DSN dump             every key under the base, sorted, as KEY<tab>VALUE
//	redis DSN get KEY          KEY's value
//	redis DSN set KEY VALUE
//
// KEY is written without the base and goes through unstorage's key
// normalisation, as the app's keys do.
func cmdRedis(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! redis")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: redis DSN dump | get KEY | set KEY VALUE")
	}
	t, err := storeredis.ParseTarget(args[0])
	ts.Check(err)
	base := strings.TrimSuffix(t.Layout.Base, ":")
	if base == "" {
		ts.Fatalf("redis: the DSN has no ?base=: a script works in its own key space ($REDIS_DSN)")
	}
	c := goredis.NewClient(&goredis.Options{Addr: t.Addr, Username: t.Username, Password: t.Password, DB: t.DB})
	defer c.Close()
	ctx := context.Background()
	key := func(k string) string { return storeredis.JoinKeys(base, k) }
	switch cmd := args[1]; {
	case cmd == "dump" && len(args) == 2:
		out := ts.Stdout() // replaces the previous command's, also when empty
		var keys []string
		var cursor uint64
		for {
			batch, next, err := c.Scan(ctx, cursor, base+":*", 1000).Result()
			ts.Check(err)
			keys = append(keys, batch...)
			if next == 0 {
				break
			}
			cursor = next
		}
		sort.Strings(keys)
		for _, k := range keys {
			if strings.Contains(k, "passkeyctl:audit") {
				// passkeyctl's own audit log (a hash, and entries that
				// hold times): the audit scripts read it with passkeyctl
				// audit; a dump shows the app's keys.
				continue
			}
			v, err := c.Get(ctx, k).Result()
			ts.Check(err)
			fmt.Fprintf(out, "%s\t%s\n", strings.TrimPrefix(k, base+":"), v)
		}
	case cmd == "get" && len(args) == 3:
		v, err := c.Get(ctx, key(args[2])).Result()
		ts.Check(err)
		fmt.Fprintln(ts.Stdout(), v)
	case cmd == "set" && len(args) == 4:
		ts.Check(c.Set(ctx, key(args[2]), args[3], 0).Err())
	default:
		ts.Fatalf("usage: redis DSN dump | get KEY | set KEY VALUE")
	}
}
