package db

import (
	"context"
	"fmt"
	"strings"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
)

// betterAuthImport is Better Auth's importTarget: one row of its passkey
// table per passkey, users as its migrator makes them.
type betterAuthImport struct{ ba *BetterAuthSchema }

func (t betterAuthImport) passkeyTable(*importer) string { return t.ba.Passkey.Name }

func (t betterAuthImport) columns() importColumns {
	p := t.ba.P
	return importColumns{credential: p.CredentialID, user: p.UserID, publicKey: p.PublicKey, counter: p.Counter, deviceType: p.DeviceType, backedUp: p.BackedUp}
}

// checkCounters refuses a counter Better Auth's counter column cannot
// hold (a 32-bit INTEGER on PostgreSQL and MySQL).
func (t betterAuthImport) checkCounters(imp *importer, groups ...[]*passkey.Normalized) error {
	for _, ns := range groups {
		for _, n := range ns {
			if err := imp.d.checkBetterAuthCounter(t.ba, n.Rec.Counter); err != nil {
				return fmt.Errorf("line %d: %w; nothing was written", n.Line, err)
			}
		}
	}
	return nil
}

// newUserID implements importTarget: the input's id where the target's id
// mode allows it, so that a re-import matches by id, else a new one in
// Better Auth's form; "" where the database numbers users.
func (t betterAuthImport) newUserID(imp *importer, u passkey.ExportUser) (string, error) {
	switch t.ba.UserIDMode {
	case IDInteger:
		return "", nil
	case IDUUID:
		if id := strings.ToLower(u.ID); uuidPattern.MatchString(id) {
			return id, nil
		}
		return NewBetterAuthID(IDUUID, imp.opts.Rand)
	}
	if c, _ := t.ba.User.Column(t.ba.U.ID); u.ID != "" && (c.MaxLength == 0 || len(u.ID) <= c.MaxLength) {
		return u.ID, nil
	}
	return NewBetterAuthID(IDText, imp.opts.Rand)
}

// userRow implements importTarget.
func (t betterAuthImport) userRow(imp *importer, id, email string, u passkey.ExportUser) ([]string, []any) {
	return betterAuthUserRow(imp.d.Dialect, t.ba, id, email, u.Name, u.EmailVerified, imp.now)
}

// serialUsers implements importTarget: integer user ids are the
// database's to number.
func (t betterAuthImport) serialUsers() (table, idCol string, ok bool) {
	return t.ba.User.Name, t.ba.U.ID, t.ba.UserIDMode == IDInteger
}

// existingAccounts implements importTarget: Better Auth keeps no account
// row per passkey.
func (betterAuthImport) existingAccounts(*importer, []string, func(string, []any, bool) error) error {
	return nil
}

// insert implements importTarget: one passkey row each.
func (t betterAuthImport) insert(ctx context.Context, imp *importer, ns []*passkey.Normalized, owners map[*passkey.Normalized]string, _ map[string]existingCredential) error {
	if err := imp.checkWidths(ns, t.ba.Passkey, map[string]func(*passkey.Normalized) string{
		t.ba.P.CredentialID: func(n *passkey.Normalized) string { return n.ID },
		t.ba.P.PublicKey:    func(n *passkey.Normalized) string { return n.PublicKey },
	}); err != nil {
		return err
	}
	w := newBetterAuthWriter(imp.d, t.ba, imp.opts.Rand)
	return imp.d.writeRows(ctx, imp.tx, t.ba.Passkey.Name, w.columns(), "insert passkey", func(rw rowWriter) error {
		for _, n := range ns {
			p := betterAuthPasskey(n, owners[n])
			if err := w.row(rw, &p); err != nil {
				return err
			}
		}
		return nil
	})
}
