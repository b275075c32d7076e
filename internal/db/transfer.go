package db

import (
	"context"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// ExportRecordFromBetterAuth converts a Better Auth passkey row.
func ExportRecordFromBetterAuth(r BetterAuthPasskeyRow) passkey.ExportRecord {
	rec := passkey.ExportRecord{
		Version:      passkey.ExportFormatVersion,
		CredentialID: r.CredentialID,
		PublicKey:    r.PublicKey,
		Counter:      r.Counter,
		DeviceType:   r.DeviceType,
		BackedUp:     r.BackedUp,
		Transports:   splitTransportsNullable(r.Transports),
		Name:         r.Name,
		CreatedAt:    formatTime(r.CreatedAt),
		AAGUID:       r.AAGUID,
		User:         passkey.ExportUser{ID: r.UserID, Email: r.Email, Name: r.UserName, EmailVerified: r.EmailVerified},
		Status:       r.Status(),
	}
	if raw, err := passkey.DecodeBase64(r.CredentialID); err == nil && len(raw) > 0 {
		rec.CredentialID = passkey.Base64URL(raw)
	}
	if rec.AAGUID != nil {
		a := strings.ToLower(*rec.AAGUID)
		rec.AAGUID = &a
	}
	rec.Authenticator = passkey.AuthenticatorOf(rec.AAGUID)
	return rec
}

// BetterAuthPasskeyOf converts the record into the row Better Auth stores
// for it: base64url credentialID, the COSE key unchanged (standard padded
// base64), transports comma-joined with NULL kept NULL, id left to the
// writer.
func BetterAuthPasskeyOf(rec passkey.ExportRecord, userID string) (BetterAuthPasskey, error) {
	n, err := rec.Validate(0)
	if err != nil {
		return BetterAuthPasskey{}, err
	}
	return betterAuthPasskey(n, userID), nil
}

func betterAuthPasskey(n *passkey.Normalized, userID string) BetterAuthPasskey {
	p := BetterAuthPasskey{
		Name:         n.Rec.Name,
		PublicKey:    n.PublicKey,
		UserID:       userID,
		CredentialID: n.ID,
		Counter:      n.Rec.Counter,
		DeviceType:   n.Rec.DeviceType,
		BackedUp:     n.Rec.BackedUp,
		CreatedAt:    n.CreatedAt,
		AAGUID:       n.Rec.AAGUID,
	}
	if n.Rec.Transports != nil {
		t := strings.Join(n.Rec.Transports, ",")
		p.Transports = &t
	}
	return p
}

// ExportPasskeys calls fn with every passkey of the schema's app as an
// export record, broken ones included (Status says which), ordered by user
// then credential ID. Rows stream from one cursor, so memory stays flat.
func (d *DB) ExportPasskeys(ctx context.Context, s *Schema, opts store.ExportOptions, fn func(passkey.ExportRecord) error) error {
	if opts.CredentialIDs != nil {
		return d.exportCredentials(ctx, s, opts, fn)
	}
	return s.app().exportPasskeys(d, ctx, s, opts, fn)
}

// exportCredentials exports the passkeys of opts.CredentialIDs, in that
// order, each once; IDs not stored are skipped.
func (d *DB) exportCredentials(ctx context.Context, s *Schema, opts store.ExportOptions, fn func(passkey.ExportRecord) error) error {
	stored := make([]string, 0, len(opts.CredentialIDs))
	for _, raw := range opts.CredentialIDs {
		stored = append(stored, s.app().storedID(raw))
	}
	found := map[string]passkey.ExportRecord{}
	want := map[string]bool{}
	for _, v := range stored {
		want[v] = true
	}
	for start := 0; start < len(stored); start += batchSize {
		batch := stored[start:min(len(stored), start+batchSize)]
		err := s.app().exportBatch(d, ctx, s, opts, batch, func(stored string, rec passkey.ExportRecord) {
			if want[stored] {
				found[stored] = rec
			}
		})
		if err != nil {
			return err
		}
	}
	done := map[string]bool{}
	for _, v := range stored {
		if rec, ok := found[v]; ok && !done[v] {
			done[v] = true
			if err := fn(rec); err != nil {
				return err
			}
		}
	}
	return nil
}

// authjsExportRows reads Authenticator rows (alias a) through qx, joined, as
// Auth.js joins them at sign-in, with the Account of the provider (for the
// status) and with the owner's User row. tail replaces the default ORDER BY
// (user, then credential ID): revoke passes its own order and row lock.
func (d *DB) authjsExportRows(ctx context.Context, qx sqlx.QueryerContext, s *Schema, opts store.ExportOptions, where string, whereArgs []any, tail string, fn func(passkey.AuthjsExportRow) error) error {
	return d.readAuthjsExportRows(ctx, qx, s, opts, where, whereArgs, tail, checkKeysNow, fn)
}

// keyCheck says when readAuthjsExportRows checks a row's key.
type keyCheck bool

const (
	checkKeysNow   keyCheck = true
	checkKeysLater keyCheck = false // the caller runs checkKey (through keyStatus)
)

func (d *DB) readAuthjsExportRows(ctx context.Context, qx sqlx.QueryerContext, s *Schema, opts store.ExportOptions, where string, whereArgs []any, tail string, keys keyCheck, fn func(passkey.AuthjsExportRow) error) error {
	if err := readable(s); err != nil {
		return err
	}
	q := d.Q
	col := func(alias, name string) string { return alias + "." + q(name) }
	// The same joins as list's, so that the status is the same.
	owner := d.authjsOwnerOf(s, opts.ProviderID)
	nameCol, verifiedCol := "NULL", "0"
	if owner.user != "" {
		if s.User.Has("name") {
			nameCol = col("u", "name")
		}
		if s.User.Has("emailVerified") {
			verifiedCol = "CASE WHEN " + col("u", "emailVerified") + " IS NULL THEN 0 ELSE 1 END"
		}
	}
	query := d.passkeySelect(s, owner, d.Dialect.RawText(nameCol), verifiedCol)
	args := owner.args
	var conds []string
	if opts.UserID != "" {
		conds = append(conds, d.ExactEq(col("a", "userId")))
		args = append(args, opts.UserID, opts.UserID)
	}
	if where != "" {
		conds = append(conds, where)
		args = append(args, whereArgs...)
	}
	if len(conds) > 0 {
		query += " WHERE " + strings.Join(conds, " AND ")
	}
	if tail == "" {
		tail = " ORDER BY " + col("a", "userId") + ", " + col("a", "credentialID")
	}
	rows, err := qx.QueryContext(ctx, d.Dialect.Rebind(query+tail), args...)
	if err != nil {
		return d.Err("read passkeys", err)
	}
	defer rows.Close()
	var r passkeyRow
	var name rawText
	var verified rawInt
	dst := append(r.dest(), &name, &verified)
	for rows.Next() {
		if err := r.scan(rows, dst); err != nil {
			return d.Err("read passkeys", err)
		}
		p, userName := r.uncheckedNamed(&name)
		if keys == checkKeysNow {
			checkKey(&p)
		}
		out := passkey.AuthjsExportRow{
			Passkey:        p,
			TransportsNull: !r.transports.valid,
			User:           passkey.ExportUser{ID: p.UserID, Email: p.Email, Name: userName, EmailVerified: verified.v == 1},
		}
		if err := fn(out); err != nil {
			return err
		}
	}
	return d.Err("read passkeys", rows.Err())
}

// splitTransportsNullable is SplitTransports keeping NULL as nil, which
// the export format writes as null.
func splitTransportsNullable(s *string) []string {
	if s == nil {
		return nil
	}
	return passkey.SplitTransports(*s)
}
