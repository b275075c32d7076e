package db

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"modernc.org/sqlite"
)

// Dialect is everything that differs between PostgreSQL, MySQL/MariaDB and
// SQLite, as a small table of values and functions. Store and migrator logic
// is written once against it.
type Dialect struct {
	// Name is "postgres", "mysql" or "sqlite": the folder of the dialect's
	// migrations in the schema package.
	Name string
	// DriverName is the database/sql driver.
	DriverName string
	// BindType is sqlx's placeholder style for the dialect.
	BindType int
	// quote is the identifier quote character.
	quote string
	// lower is the SQL function that lower-cases Unicode text (FindUser's
	// case-insensitive e-mail match).
	lower string
	// isDuplicateKey reports whether err is a unique-constraint violation.
	isDuplicateKey func(error) bool
	// listTables returns the base tables of the current schema/database.
	listTables func(ctx context.Context, q sqlx.QueryerContext) ([]string, error)
	// listColumns returns one table's columns in ordinal order.
	listColumns func(ctx context.Context, q sqlx.QueryerContext, table string) ([]Column, error)
	// listUniqueKeys returns the column sets of the table's primary key and
	// unique indexes; the primary key comes first, flagged.
	listUniqueKeys func(ctx context.Context, q sqlx.QueryerContext, table string) ([]UniqueKey, error)
	// listForeignKeys returns the table's foreign keys.
	listForeignKeys func(ctx context.Context, q sqlx.QueryerContext, table string) ([]ForeignKey, error)
	// copyFrom says that writeRows streams rows with COPY FROM STDIN
	// rather than multi-row INSERTs.
	copyFrom bool
	// importBatch is how many passkeys one round of an import's lookups
	// and writes takes when ImportOptions.BatchSize is 0.
	importBatch int
	// importSetup, when set, is run first in an import's transaction.
	importSetup string
	// rawText, when set, wraps a text expression of a SELECT whose rows
	// are scanned into rawText, so that the driver hands over the bytes it
	// received instead of a new string per value (see RawText).
	rawText func(expr string) string
	// lockCoversJoins says that revoke's lock pass (a SELECT of the
	// passkey rows with their Account rows LEFT JOINed, then lockClause)
	// also locks the Account rows it reads: MySQL's FOR UPDATE locks
	// every row a SELECT reads, in every table; SQLite's transaction holds
	// the whole database. PostgreSQL cannot lock the nullable side of an
	// outer join (FOR UPDATE OF the passkey table alone).
	lockCoversJoins bool
	// readers is how many connections read at once where the reads are
	// independent of each other (ResolveCredentials' batches): more than
	// one where the server waits on its disk for each page a statement
	// misses. InnoDB (O_DIRECT by default since MariaDB 10.6 and MySQL
	// 8.4) reads those pages synchronously, one after the other, at about
	// 170 µs each on the test machine: 5,000 passkeys spread over tables
	// larger than the buffer pool are some 13,000 page reads, 1.8 s on one
	// connection and 0.7 s on four. PostgreSQL reads through the OS page
	// cache and SQLite is a file in it: one connection.
	readers int
	// isConnectionRefused reports whether err is the server refusing one
	// more connection (a connection limit on the user or role, as managed
	// databases set them): reads that wanted several connections at once
	// (readers, stats) then run again on one.
	isConnectionRefused func(error) bool
}

// Quote quotes an identifier for the dialect (`"User"` or “ `User` “).
func (d *Dialect) Quote(ident string) string {
	return d.quote + strings.ReplaceAll(ident, d.quote, d.quote+d.quote) + d.quote
}

// Lower lower-cases a text expression in SQL, Unicode-aware on every
// dialect (on PostgreSQL as far as the database's LC_CTYPE knows the
// letters: a database created with LC_CTYPE=C folds only ASCII).
func (d *Dialect) Lower(expr string) string { return d.lower + "(" + expr + ")" }

// PrefixMatch is a condition on expr that is true for values starting with
// prefix, and its argument. SQLite's LIKE ignores case and so cannot use an
// index; its GLOB compares exactly and can, for a constant prefix. LIKE
// elsewhere (it too may ignore case under MySQL's *_ci collations: callers
// compare exactly afterwards).
func (d *Dialect) PrefixMatch(expr, prefix string) (string, any) {
	if d == SQLite {
		return expr + " GLOB ?", strings.NewReplacer("*", "[*]", "?", "[?]", "[", "[[]").Replace(prefix) + "*"
	}
	return expr + " LIKE ? ESCAPE '!'", strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(prefix) + "%"
}

// RawText is expr as a column the driver returns as the bytes it received,
// for a rawText to scan without a string allocation per value. lib/pq
// turns every text value into a new Go string but returns the bytes of a
// type it does not know, unconverted, as a slice of its read buffer: so on
// PostgreSQL the value is sent as a cstring (textout of its text form,
// the same bytes). go-sql-driver/mysql returns bytes already; SQLite's
// driver makes a string whatever the query says.
func (d *Dialect) RawText(expr string) string {
	if d.rawText == nil {
		return expr
	}
	return d.rawText(expr)
}

// Rebind turns a query written with ? placeholders into the dialect's style.
func (d *Dialect) Rebind(query string) string { return sqlx.Rebind(d.BindType, query) }

// IsDuplicateKey reports whether err is a unique or primary key violation.
func (d *Dialect) IsDuplicateKey(err error) bool { return err != nil && d.isDuplicateKey(err) }

// Column is one column as the database describes it.
type Column struct {
	Name string
	// Type is the lower-cased base type: "text", "varchar", "integer",
	// "int", "boolean", "tinyint", "timestamp", ...
	Type string
	// FullType is the declared type, e.g. "varchar(191)" or
	// "varchar(1400) character set ascii collate ascii_bin".
	FullType string
	// MaxLength is the character limit of a string column, 0 if unbounded.
	MaxLength int
	Nullable  bool
	// HasDefault is true when the database fills the column on insert.
	HasDefault bool
	// Charset and Collation are MySQL's; empty elsewhere.
	Charset   string
	Collation string
}

// UniqueKey is a primary key or unique index.
type UniqueKey struct {
	Name    string
	Primary bool
	Columns []string
}

// ForeignKey is a foreign key constraint.
type ForeignKey struct {
	Name       string
	Columns    []string
	RefTable   string
	RefColumns []string
	OnDelete   string
}

// Postgres is the PostgreSQL dialect.
var Postgres = &Dialect{
	Name:       "postgres",
	DriverName: "postgres",
	BindType:   sqlx.DOLLAR,
	quote:      `"`,
	lower:      "LOWER",
	isDuplicateKey: func(err error) bool {
		var pe *pq.Error
		return errors.As(err, &pe) && pe.Code == "23505"
	},
	listTables: func(ctx context.Context, q sqlx.QueryerContext) ([]string, error) {
		var names []string
		err := sqlx.SelectContext(ctx, q, &names, `SELECT table_name FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`)
		return names, err
	},
	listColumns: func(ctx context.Context, q sqlx.QueryerContext, table string) ([]Column, error) {
		// data_type says only USER-DEFINED for extension types such as
		// citext: udt_name names them.
		rows, err := q.QueryxContext(ctx, `SELECT column_name, CASE WHEN data_type = 'USER-DEFINED' THEN udt_name ELSE data_type END,
			COALESCE(character_maximum_length, 0),
			is_nullable = 'YES', column_default IS NOT NULL OR is_identity = 'YES' OR is_generated = 'ALWAYS'
			FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1
			ORDER BY ordinal_position`, table)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var cols []Column
		for rows.Next() {
			var c Column
			if err := rows.Scan(&c.Name, &c.Type, &c.MaxLength, &c.Nullable, &c.HasDefault); err != nil {
				return nil, err
			}
			c.Type = normalisePostgresType(c.Type)
			c.FullType = c.Type
			cols = append(cols, c)
		}
		return cols, rows.Err()
	},
	listUniqueKeys: func(ctx context.Context, q sqlx.QueryerContext, table string) ([]UniqueKey, error) {
		rows, err := q.QueryxContext(ctx, `SELECT ic.relname, i.indisprimary, a.attname
			FROM pg_index i
			JOIN pg_class t ON t.oid = i.indrelid
			JOIN pg_namespace n ON n.oid = t.relnamespace
			JOIN pg_class ic ON ic.oid = i.indexrelid
			CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
			JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
			WHERE n.nspname = current_schema() AND t.relname = $1 AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
			ORDER BY i.indisprimary DESC, ic.relname, k.ord`, table)
		if err != nil {
			return nil, err
		}
		return collectKeys(rows)
	},
	listForeignKeys: func(ctx context.Context, q sqlx.QueryerContext, table string) ([]ForeignKey, error) {
		rows, err := q.QueryxContext(ctx, `SELECT c.conname, a.attname, rt.relname, ra.attname,
			CASE c.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'r' THEN 'RESTRICT' WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT' ELSE 'NO ACTION' END
			FROM pg_constraint c
			JOIN pg_class t ON t.oid = c.conrelid
			JOIN pg_namespace n ON n.oid = t.relnamespace
			JOIN pg_class rt ON rt.oid = c.confrelid
			CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(attnum, refnum, ord)
			JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
			JOIN pg_attribute ra ON ra.attrelid = rt.oid AND ra.attnum = k.refnum
			WHERE c.contype = 'f' AND n.nspname = current_schema() AND t.relname = $1
			ORDER BY c.conname, k.ord`, table)
		if err != nil {
			return nil, err
		}
		return collectForeignKeys(rows)
	},
	// Rows go through COPY, whose cost per statement is a round trip
	// and a 64 KiB buffer, not parameters: a larger batch costs only
	// its records' memory.
	copyFrom:    true,
	importBatch: 5000,
	// No JIT compilation: planned without statistics (the tables the
	// import fills have none of its rows), a batch's existence lookup on
	// an index that is not unique (Better Auth's credentialID) is costed
	// far above jit_above_cost, and compiling it took three times as long
	// as running it.
	importSetup: "SET LOCAL jit = off",
	isConnectionRefused: func(err error) bool {
		// too_many_connections: the role's CONNECTION LIMIT, or the
		// server's max_connections.
		var pe *pq.Error
		return errors.As(err, &pe) && pe.Code == "53300"
	},
	// A million-row listing spent a quarter of its client time in lib/pq
	// making strings, and that much again collecting them.
	rawText: func(expr string) string { return "textout((" + expr + ")::text)" },
}

func normalisePostgresType(t string) string {
	switch t {
	case "character varying":
		return "varchar"
	case "timestamp without time zone", "timestamp with time zone":
		return "timestamp"
	}
	return t
}

// MySQL is the MySQL 8 / MariaDB dialect.
var MySQL = &Dialect{
	Name:       "mysql",
	DriverName: "mysql",
	BindType:   sqlx.QUESTION,
	quote:      "`",
	lower:      "LOWER",
	isDuplicateKey: func(err error) bool {
		var me *mysql.MySQLError
		return errors.As(err, &me) && me.Number == 1062
	},
	listTables: func(ctx context.Context, q sqlx.QueryerContext) ([]string, error) {
		var names []string
		// MariaDB lists system-versioned tables with their own type.
		err := sqlx.SelectContext(ctx, q, &names, `SELECT TABLE_NAME FROM information_schema.TABLES
			WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') ORDER BY TABLE_NAME`)
		return names, err
	},
	listColumns: func(ctx context.Context, q sqlx.QueryerContext, table string) ([]Column, error) {
		// A binary comparison: on case-insensitive file systems and with
		// lower_case_table_names, `user` and `User` would both match.
		rows, err := q.QueryxContext(ctx, `SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, COALESCE(CHARACTER_MAXIMUM_LENGTH, 0),
			IS_NULLABLE = 'YES', (COLUMN_DEFAULT IS NOT NULL AND COLUMN_DEFAULT <> 'NULL') OR EXTRA LIKE '%auto_increment%',
			COALESCE(CHARACTER_SET_NAME, ''), COALESCE(COLLATION_NAME, '')
			FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND CAST(TABLE_NAME AS BINARY) = ?
			ORDER BY ORDINAL_POSITION`, table)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var cols []Column
		for rows.Next() {
			var c Column
			var maxLen int64
			if err := rows.Scan(&c.Name, &c.Type, &c.FullType, &maxLen, &c.Nullable, &c.HasDefault, &c.Charset, &c.Collation); err != nil {
				return nil, err
			}
			c.MaxLength = int(maxLen)
			c.Type = strings.ToLower(c.Type)
			c.FullType = strings.ToLower(c.FullType)
			if c.Type == "text" || c.Type == "mediumtext" || c.Type == "longtext" {
				c.MaxLength = 0 // far beyond any credential
			}
			cols = append(cols, c)
		}
		return cols, rows.Err()
	},
	listUniqueKeys: func(ctx context.Context, q sqlx.QueryerContext, table string) ([]UniqueKey, error) {
		rows, err := q.QueryxContext(ctx, `SELECT INDEX_NAME, INDEX_NAME = 'PRIMARY', COLUMN_NAME
			FROM information_schema.STATISTICS
			WHERE TABLE_SCHEMA = DATABASE() AND CAST(TABLE_NAME AS BINARY) = ? AND NON_UNIQUE = 0
			ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX`, table)
		if err != nil {
			return nil, err
		}
		return collectKeys(rows)
	},
	listForeignKeys: func(ctx context.Context, q sqlx.QueryerContext, table string) ([]ForeignKey, error) {
		rows, err := q.QueryxContext(ctx, `SELECT k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, r.DELETE_RULE
			FROM information_schema.KEY_COLUMN_USAGE k
			JOIN information_schema.REFERENTIAL_CONSTRAINTS r
			  ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME
			WHERE k.TABLE_SCHEMA = DATABASE() AND CAST(k.TABLE_NAME AS BINARY) = ? AND k.REFERENCED_TABLE_NAME IS NOT NULL
			ORDER BY k.CONSTRAINT_NAME, k.ORDINAL_POSITION`, table)
		if err != nil {
			return nil, err
		}
		return collectForeignKeys(rows)
	},
	importBatch:     500,
	lockCoversJoins: true,
	readers:         4,
	isConnectionRefused: func(err error) bool {
		// ER_CON_COUNT_ERROR, ER_TOO_MANY_USER_CONNECTIONS,
		// ER_USER_LIMIT_REACHED (MAX_USER_CONNECTIONS).
		var me *mysql.MySQLError
		return errors.As(err, &me) && (me.Number == 1040 || me.Number == 1203 || me.Number == 1226)
	},
}

// SQLite is the embedded SQLite dialect (modernc.org/sqlite, pure Go).
var SQLite = &Dialect{
	Name:       "sqlite",
	DriverName: "sqlite",
	BindType:   sqlx.QUESTION,
	quote:      `"`,
	lower:      sqliteLower,
	isDuplicateKey: func(err error) bool {
		var se *sqlite.Error
		if errors.As(err, &se) {
			// SQLITE_CONSTRAINT_UNIQUE (2067) and SQLITE_CONSTRAINT_PRIMARYKEY (1555).
			return se.Code() == 2067 || se.Code() == 1555
		}
		return false
	},
	listTables: func(ctx context.Context, q sqlx.QueryerContext) ([]string, error) {
		var names []string
		err := sqlx.SelectContext(ctx, q, &names, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
		return names, err
	},
	listColumns: func(ctx context.Context, q sqlx.QueryerContext, table string) ([]Column, error) {
		rows, err := q.QueryxContext(ctx, `SELECT name, type, "notnull", dflt_value IS NOT NULL, pk FROM pragma_table_info(?) ORDER BY cid`, table)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var cols []Column
		for rows.Next() {
			var c Column
			var notNull bool
			var pk int
			if err := rows.Scan(&c.Name, &c.FullType, &notNull, &c.HasDefault, &pk); err != nil {
				return nil, err
			}
			c.FullType = strings.ToLower(c.FullType)
			c.Type = c.FullType
			if i := strings.IndexByte(c.Type, '('); i >= 0 {
				c.Type = strings.TrimSpace(c.Type[:i])
			}
			// SQLite lets a primary key column be NULL unless declared NOT
			// NULL; Prisma and Drizzle always declare it.
			c.Nullable = !notNull
			cols = append(cols, c)
		}
		return cols, rows.Err()
	},
	listUniqueKeys: func(ctx context.Context, q sqlx.QueryerContext, table string) ([]UniqueKey, error) {
		rows, err := q.QueryxContext(ctx, `SELECT il.name, il.origin = 'pk', ii.name
			FROM pragma_index_list(?) il JOIN pragma_index_info(il.name) ii
			WHERE il."unique" = 1 AND il.partial = 0
			ORDER BY il.origin = 'pk' DESC, il.name, ii.seqno`, table)
		if err != nil {
			return nil, err
		}
		keys, err := collectKeys(rows)
		if err != nil {
			return nil, err
		}
		// A rowid table's INTEGER PRIMARY KEY and a single-column TEXT
		// PRIMARY KEY declared inline do not always appear in
		// pragma_index_list; read the pk flags of table_info instead.
		hasPK := len(keys) > 0 && keys[0].Primary
		if !hasPK {
			var pkCols []string
			if err := sqlx.SelectContext(ctx, q, &pkCols, `SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk`, table); err != nil {
				return nil, err
			}
			if len(pkCols) > 0 {
				keys = append([]UniqueKey{{Name: "PRIMARY", Primary: true, Columns: pkCols}}, keys...)
			}
		}
		return keys, nil
	},
	listForeignKeys: func(ctx context.Context, q sqlx.QueryerContext, table string) ([]ForeignKey, error) {
		rows, err := q.QueryxContext(ctx, `SELECT CAST(id AS TEXT), "from", "table", "to", on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq`, table)
		if err != nil {
			return nil, err
		}
		return collectForeignKeys(rows)
	},
	importBatch:     500,
	lockCoversJoins: true,
}

// collectKeys groups (index, primary, column) rows into keys. An index with
// an expression part (a NULL column name on MySQL 8 and SQLite) is left out:
// it does not make its plain columns unique.
func collectKeys(rows *sqlx.Rows) ([]UniqueKey, error) {
	defer rows.Close()
	var keys []UniqueKey
	expr := map[string]bool{}
	for rows.Next() {
		var name string
		var col sql.NullString
		var primary bool
		if err := rows.Scan(&name, &primary, &col); err != nil {
			return nil, err
		}
		if !col.Valid {
			expr[name] = true
		}
		if n := len(keys); n > 0 && keys[n-1].Name == name {
			keys[n-1].Columns = append(keys[n-1].Columns, col.String)
			continue
		}
		keys = append(keys, UniqueKey{Name: name, Primary: primary, Columns: []string{col.String}})
	}
	keys = slices.DeleteFunc(keys, func(k UniqueKey) bool { return expr[k.Name] })
	return keys, rows.Err()
}

func collectForeignKeys(rows *sqlx.Rows) ([]ForeignKey, error) {
	defer rows.Close()
	var fks []ForeignKey
	for rows.Next() {
		var name, col, refTable, refCol, onDelete string
		if err := rows.Scan(&name, &col, &refTable, &refCol, &onDelete); err != nil {
			return nil, err
		}
		if n := len(fks); n > 0 && fks[n-1].Name == name {
			fks[n-1].Columns = append(fks[n-1].Columns, col)
			fks[n-1].RefColumns = append(fks[n-1].RefColumns, refCol)
			continue
		}
		fks = append(fks, ForeignKey{Name: name, Columns: []string{col}, RefTable: refTable, RefColumns: []string{refCol}, OnDelete: strings.ToUpper(onDelete)})
	}
	return fks, rows.Err()
}

// parallelReads is Dialect.readers, at least 1.
func (d *Dialect) parallelReads() int { return max(d.readers, 1) }

// refusedConnection reports whether err is the server refusing one more
// connection (Dialect.isConnectionRefused).
func (d *Dialect) refusedConnection(err error) bool {
	return err != nil && d.isConnectionRefused != nil && d.isConnectionRefused(err)
}
