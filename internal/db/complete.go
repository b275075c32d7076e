package db

import (
	"context"
)

// CompleteUsers returns up to limit e-mail addresses of the schema's app's
// users that start with prefix, in order: shell completion of --user. The
// match follows the column's collation (case-insensitive on MySQL's *_ci).
func (d *DB) CompleteUsers(ctx context.Context, s *Schema, prefix string, limit int) ([]string, error) {
	ut, err := s.users()
	if err != nil {
		return nil, err
	}
	return d.completeColumn(ctx, ut.table.Name, ut.email, prefix, limit)
}

// CompleteCredentialIDs returns up to limit credential IDs, as list shows
// them, that start with prefix: shell completion of revoke's arguments and
// --credential.
func (d *DB) CompleteCredentialIDs(ctx context.Context, s *Schema, prefix string, limit int) ([]string, error) {
	table, col, err := s.app().credentialColumn(s)
	if err != nil {
		return nil, err
	}
	if table == "" {
		return nil, nil
	}
	return d.completeColumn(ctx, table, col, prefix, limit)
}

// completeColumn returns the distinct non-NULL values of one column that
// start with prefix, in order, at most limit. An index on the column serves
// the prefix test where the dialect allows it (Dialect.PrefixMatch; not
// PostgreSQL under a non-C collation, nor MySQL under a *_ci one for mixed
// case), and LIMIT bounds what is read back.
func (d *DB) completeColumn(ctx context.Context, table, col, prefix string, limit int) ([]string, error) {
	c := d.Q(col)
	match, arg := d.Dialect.PrefixMatch(c, prefix)
	query := "SELECT DISTINCT " + c + " FROM " + d.Q(table) + " WHERE " + match + " ORDER BY " + c + " LIMIT ?"
	rows, err := d.X.QueryContext(ctx, d.Dialect.Rebind(query), arg, limit)
	if err != nil {
		return nil, d.Err("complete", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, d.Err("complete", err)
		}
		out = append(out, v)
	}
	return out, d.Err("complete", rows.Err())
}
