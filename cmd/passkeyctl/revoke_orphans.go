package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// checkOrphans refuses what --orphans cannot be combined with: it chooses
// what to remove itself.
func (o *RevokeOptions) checkOrphans() error {
	switch {
	case len(o.IDs) > 0:
		return errors.New("--orphans removes what no sign-in can use and takes no credential IDs (--user limits it to one user)")
	case o.All:
		return errors.New("--orphans and --all do not go together: --orphans --user USER limits the clean-up to one user")
	case o.FromFile != "":
		return errors.New("--orphans and --from-file do not go together")
	case o.RevokeSessions:
		return errors.New("--orphans and --revoke-sessions do not go together: revoke a user's passkeys with --user USER --all --revoke-sessions")
	}
	return nil
}

// Kinds of orphanRow, in JSON.
const (
	orphanKindPasskey = "passkey"
	orphanKindAccount = "account"
)

// orphanRow is one thing revoke --orphans removed (or would remove), in
// every output format. The JSON field names are a documented, stable
// interface.
type orphanRow struct {
	// Kind is "passkey" (its user is gone), "account" (a webauthn account
	// without its passkey), "credential-list" (an ID in a user's list on
	// Redis) or "account-pointer" (a user's pointer to an account that is
	// gone, on Redis).
	Kind         string  `json:"kind"`
	UserID       string  `json:"userId"`
	Email        *string `json:"email"`
	CredentialID string  `json:"credentialID,omitempty"`
	// Target is what an account pointer names.
	Target string `json:"target,omitempty"`
	// Status is the passkey's or account's status as list shows it.
	Status string `json:"status,omitempty"`
}

// orphanRows flattens res in the order: passkeys, accounts, entries.
func orphanRows(res *store.OrphanResult) []orphanRow {
	var rows []orphanRow
	for _, p := range res.Passkeys {
		// A passkey whose user is gone is listed no-user whatever else
		// list would say first of it: that is why it goes.
		rows = append(rows, orphanRow{Kind: orphanKindPasskey, UserID: p.UserID, Email: p.Email, CredentialID: p.CredentialID, Status: passkey.StatusNoUser})
	}
	for _, o := range res.Accounts {
		rows = append(rows, orphanRow{Kind: orphanKindAccount, UserID: o.UserID, Email: o.Email, CredentialID: o.CredentialID, Status: o.Status})
	}
	for _, e := range res.Entries {
		rows = append(rows, orphanRow{Kind: e.Kind, UserID: e.UserID, CredentialID: e.CredentialID, Target: e.Target, Status: "dangling"})
	}
	return rows
}

// orphanKindLabel is a row's kind in a table, in the store's words.
func orphanKindLabel(kind string, desc store.Description) string {
	switch kind {
	case orphanKindAccount:
		return desc.Account
	case store.EntryCredentialList:
		return "list entry"
	case store.EntryAccountPointer:
		return "account pointer"
	}
	return kind
}

// newOrphanRowWriter prints orphanRows as a table, JSON or JSON lines.
func newOrphanRowWriter(s *IOStreams, format string, desc store.Description) *recordWriter[orphanRow] {
	return newRecordWriter(s, format, func() string {
		return "WHAT\tUSER ID\tEMAIL\tCREDENTIAL ID / TARGET\tSTATUS"
	}, func(r orphanRow) string {
		email := "-"
		if r.Email != nil {
			email = *r.Email
		}
		id := r.CredentialID
		if r.Target != "" {
			id = r.Target
		}
		return strings.Join([]string{orphanKindLabel(r.Kind, desc), r.UserID, email, id, r.Status}, "\t")
	})
}

// revokeOrphansRun is revoke --orphans: find what no sign-in can use and
// remove it, with revoke's safety (target line, preview and prompt, dry
// run, backup).
func revokeOrphansRun(ctx context.Context, opts *RevokeOptions) error {
	st, err := opts.Store(ctx)
	if err != nil {
		return err
	}
	desc := st.Describe()
	oo := store.OrphanOptions{DryRun: opts.DryRun}
	if opts.User != "" {
		u, err := st.FindUser(ctx, opts.User)
		switch {
		case err == nil:
			oo.UserID = u.ID
		case errors.Is(err, passkey.ErrNotFound):
			// The user record may be what is gone: what is left of them is
			// found by the id their passkeys and accounts still carry.
			oo.UserID = strings.TrimSpace(opts.User)
			fmt.Fprintf(opts.IO.ErrOut, "note: user %s not found: looking for what is left of a user with this id\n", oo.UserID)
		default:
			return err
		}
	}
	printTarget(opts.IO, opts.Target, desc)
	if !opts.Yes && !opts.DryRun {
		preview, err := st.RemoveOrphans(ctx, store.OrphanOptions{UserID: oo.UserID, DryRun: true})
		if err != nil {
			return err
		}
		if preview.Empty() {
			printOrphanSummary(opts.IO.ErrOut, preview, desc)
			return nil
		}
		previewOrphans(opts.IO.ErrOut, orphanRows(preview), desc)
		n := len(orphanRows(preview))
		ok, err := opts.IO.Confirm(fmt.Sprintf("Remove %s in %s?", plural(n, "orphan"), desc.Location))
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: not confirmed; nothing was removed", passkey.ErrRefused)
		}
	}
	var backup *backupFile
	if opts.Backup != "" && !opts.DryRun {
		if backup, err = openBackup(opts.Backup); err != nil {
			return err
		}
		defer backup.Close()
		oo.Backup = backup.write
	}
	res, err := st.RemoveOrphans(ctx, oo)
	if err != nil {
		return err
	}
	if backup != nil {
		fmt.Fprintf(opts.IO.ErrOut, "Backed up %s to %s (status no-user, which passkeyctl import leaves out: to restore one, recreate its user and set its status to \"ok\").\n", plural(backup.records, "passkey"), opts.Backup)
	}
	w := newOrphanRowWriter(opts.IO, opts.Output, desc)
	for _, r := range orphanRows(res) {
		if err := w.Write(r); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	printOrphanSummary(opts.IO.ErrOut, res, desc)
	return nil
}

// previewOrphans shows on the terminal what revoke --orphans will remove.
func previewOrphans(w io.Writer, rows []orphanRow, desc store.Description) {
	fmt.Fprintf(w, "This will remove %s:\n", plural(len(rows), "orphan"))
	tw := newTable(w)
	fmt.Fprintln(tw, "  WHAT\tUSER ID\tCREDENTIAL ID / TARGET\tSTATUS")
	for i, r := range rows {
		if i == previewLimit {
			break
		}
		id := r.CredentialID
		if r.Target != "" {
			id = r.Target
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", orphanKindLabel(r.Kind, desc), r.UserID, id, r.Status)
	}
	tw.Flush()
	if len(rows) > previewLimit {
		fmt.Fprintf(w, "  ... and %d more\n", len(rows)-previewLimit)
	}
}

// printOrphanSummary says on stderr what revoke --orphans removed (or
// would remove).
func printOrphanSummary(w io.Writer, res *store.OrphanResult, desc store.Description) {
	if res.Empty() {
		fmt.Fprintln(w, "No orphans found; nothing was changed.")
		return
	}
	parts := []string{plural(len(res.Passkeys), "passkey") + " whose user is gone"}
	if desc.Accounts {
		parts = append(parts, plural(len(res.Accounts), desc.Account)+" without their passkey")
	}
	if len(res.Entries) > 0 {
		entries := "1 dangling index entry"
		if n := len(res.Entries); n != 1 {
			entries = fmt.Sprintf("%d dangling index entries", n)
		}
		parts = append(parts, entries)
	}
	list := parts[0]
	if len(parts) > 1 {
		list = strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
	}
	if res.DryRun {
		fmt.Fprintf(w, "Dry run: would remove %s; nothing was changed.\n", list)
		return
	}
	fmt.Fprintf(w, "Removed %s.\n", list)
}
