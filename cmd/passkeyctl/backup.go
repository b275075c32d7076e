package main

import (
	"bufio"
	"context"
	"fmt"
	"os"

	"github.com/passkeyctl/passkeyctl/internal/db"
)

// appendBackup appends the passkeys, in the export format, to the file at
// path (created with mode 0600), and syncs it to disk before revoke deletes
// anything: `passkeyctl import PATH` restores them. A failure stops the
// revocation.
func appendBackup(ctx context.Context, io *IOStreams, d *db.DB, s *db.Schema, path, providerID string, passkeys []db.Passkey) error {
	raws := make([][]byte, 0, len(passkeys))
	for _, p := range passkeys {
		if raw, err := db.DecodeBase64(p.CredentialID); err == nil && len(raw) > 0 {
			raws = append(raws, raw)
		}
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return usageError{fmt.Errorf("cannot write --backup %s: %v; nothing was revoked", path, unwrapPathError(err))}
	}
	// The mode above applies only to a new file: an existing one (0644 from
	// touch, a umask or an earlier tool) is narrowed before any passkey and
	// e-mail address goes into it.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return usageError{fmt.Errorf("cannot make --backup %s private (chmod 600): %v; nothing was revoked", path, unwrapPathError(err))}
	}
	bw := bufio.NewWriter(f)
	w := db.NewExportWriter(bw)
	n := 0
	err = d.ExportPasskeys(ctx, s, db.ExportOptions{ProviderID: providerID, CredentialIDs: raws}, func(r db.ExportRecord) error {
		n++
		return w.Write(r)
	})
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write --backup %s: %w; nothing was revoked", path, err)
	}
	if n != len(passkeys) {
		return fmt.Errorf("--backup %s: %d of %d passkeys could be read back for the backup (they changed since they were listed): %w; nothing was revoked, run the command again", path, n, len(passkeys), db.ErrConflict)
	}
	fmt.Fprintf(io.ErrOut, "Backed up %s to %s (restore with: passkeyctl import %s).\n", plural(n, "passkey"), path, path)
	return nil
}
