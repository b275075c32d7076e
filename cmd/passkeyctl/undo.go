package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
	"github.com/spf13/cobra"
)

// UndoOptions are the inputs of `passkeyctl undo`.
type UndoOptions struct {
	IO     *IOStreams
	Store  func(context.Context) (store.Store, error)
	Output string
	Target targetFunc
	// Undoing tells the store's audit context which entry this reverses,
	// before the store opens; Recorded returns the entries this command's
	// changes were recorded as.
	Undoing  func(id int64)
	Recorded func() []int64

	Entry  int64
	DryRun bool
	Yes    bool
}

func newCmdUndo(f *Factory, runF func(context.Context, *UndoOptions) error) *cobra.Command {
	opts := &UndoOptions{IO: f.IO, Store: f.Store, Target: f.describeTarget, Undoing: func(id int64) { f.undoes = id }, Recorded: func() []int64 { return f.recorded }}
	cmd := &cobra.Command{
		Use:   "undo [flags] ENTRY",
		Short: "Reverse a change recorded in the audit log",
		Long: `Reverse the change of one audit log entry (see passkeyctl audit):

  revoke, revoke --orphans   the passkeys removed are written back from the
                             records the entry holds, with their accounts
                             (Auth.js); a passkey whose signature counter moved
                             on since (it was restored and used, and removed
                             again later) comes back with the highest counter
                             the log holds, never a lower one
  serve --enroll, import     the passkeys written are revoked; those an
                             import --on-conflict update overwrote get back
                             the flags they had (deviceType, backedUp) if
                             they still have the ones it wrote; the counter
                             it raised stays (a counter is never lowered)
  rename                     the old name is set back
  undo                       the undo is reversed (a redo)

What has changed since is left as it is and said: a passkey already back, one
already gone, a name changed again. Sessions revoked with --revoke-sessions
stay revoked (their users sign in again), passkeys whose user is gone cannot
come back (their records stay in the log), the flags of a passkey changed again
since an import stay, and migrations are reversed with passkeyctl migrate
(down). The undo is itself recorded, with the entry it reverses; an entry is
undone once. Each kind of change is reversed in its own transaction and
entry: an undo cut short between two of them is completed by running undo
ENTRY again.

Like revoke, undo shows what it will do and asks; without a terminal it needs
--yes. --dry-run shows it and changes nothing.`,
		Example: `  passkeyctl audit --user alice@example.com
  passkeyctl undo 42 --dry-run
  passkeyctl undo 42 --yes --reason "INC-1234: revoked the wrong user"`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("undo takes one audit entry ID (got %d arguments): passkeyctl audit lists them", len(args))}
			}
			n, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(args[0]), "#"), 10, 64)
			if err != nil || n <= 0 {
				return usageError{fmt.Errorf("audit entry %q: an entry ID is a positive number, as passkeyctl audit lists it", args[0])}
			}
			opts.Entry = n
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Output = f.Output()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return undoRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "show what would be reversed; change nothing")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation (needed without a terminal)")
	return cmd
}

// undoPlan is what reversing an entry does, and what it leaves.
type undoPlan struct {
	Entry store.AuditEntry `json:"-"`
	// Restore are the records written back; Remove the passkeys revoked;
	// Rename the names set back; Reflag the passkeys an import updated,
	// as they are now with the flags they had before it (written with
	// import --on-conflict update, which never lowers a counter).
	Restore []passkey.ExportRecord `json:"restore"`
	Remove  []passkey.Passkey      `json:"remove"`
	Rename  []store.AuditRenamed   `json:"rename"`
	Reflag  []passkey.ExportRecord `json:"reflag"`
	// Left says what is not reversed, and why.
	Left []string `json:"left"`
}

func (p *undoPlan) empty() bool { return len(p.Restore)+len(p.Remove)+len(p.Rename)+len(p.Reflag) == 0 }

// undoResult is undo's -o json. The field names are a documented, stable
// interface.
type undoResult struct {
	Entry    int64                  `json:"entry"`
	DryRun   bool                   `json:"dryRun"`
	Restored []passkey.ExportRecord `json:"restored"`
	Removed  []passkey.Passkey      `json:"removed"`
	Renamed  []store.AuditRenamed   `json:"renamed"`
	// FlagsReverted are the passkeys an import updated whose flags were
	// set back (deviceType, backedUp), as written.
	FlagsReverted []passkey.ExportRecord `json:"flagsReverted"`
	Left          []string               `json:"left"`
	// RecordedAs are the audit entries the undo was recorded as.
	RecordedAs []int64 `json:"recordedAs"`
}

func undoRun(ctx context.Context, opts *UndoOptions) error {
	opts.Undoing(opts.Entry)
	st, err := opts.Store(ctx)
	if err != nil {
		return err
	}
	desc := st.Describe()
	plan, err := planUndo(ctx, st, opts.Entry)
	if err != nil {
		return err
	}
	printTarget(opts.IO, opts.Target, desc)
	res := undoResult{Entry: opts.Entry, DryRun: opts.DryRun, Restored: []passkey.ExportRecord{}, Removed: []passkey.Passkey{}, Renamed: []store.AuditRenamed{}, FlagsReverted: []passkey.ExportRecord{}, Left: plan.Left, RecordedAs: []int64{}}
	if plan.Left == nil {
		res.Left = []string{}
	}
	fmt.Fprintf(opts.IO.ErrOut, "Entry %d: %s, %s by %s.\n", plan.Entry.ID, plan.Entry.Summary, plan.Entry.Time.UTC().Format("2006-01-02 15:04:05 UTC"), plan.Entry.Actor)
	previewUndo(opts.IO.ErrOut, plan)
	if plan.empty() {
		fmt.Fprintln(opts.IO.ErrOut, "Nothing to reverse; nothing was changed.")
		if isJSON(opts.Output) {
			return writeResult(opts.IO.Out, opts.Output, res)
		}
		return nil
	}
	if opts.DryRun {
		res.Restored, res.Removed, res.Renamed, res.FlagsReverted = plan.Restore, plan.Remove, plan.Rename, plan.Reflag
		fmt.Fprintln(opts.IO.ErrOut, "Dry run: nothing was changed.")
		if isJSON(opts.Output) {
			return writeResult(opts.IO.Out, opts.Output, res)
		}
		return nil
	}
	if !opts.Yes {
		ok, err := opts.IO.Confirm(fmt.Sprintf("Reverse entry %d in %s?", plan.Entry.ID, desc.Location))
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: not confirmed; nothing was changed", passkey.ErrRefused)
		}
	}
	if len(plan.Restore) > 0 {
		if err := importRecords(ctx, st, plan.Restore, store.ConflictSkip); err != nil {
			return fmt.Errorf("undo entry %d: restore: %w", plan.Entry.ID, err)
		}
		res.Restored = plan.Restore
	}
	if len(plan.Reflag) > 0 {
		if err := importRecords(ctx, st, plan.Reflag, store.ConflictUpdate); err != nil {
			return fmt.Errorf("undo entry %d: set flags back: %w", plan.Entry.ID, err)
		}
		res.FlagsReverted = plan.Reflag
	}
	if len(plan.Remove) > 0 {
		if _, err := st.Revoke(ctx, plan.Remove, store.RevokeOptions{}); err != nil {
			return fmt.Errorf("undo entry %d: remove: %w", plan.Entry.ID, err)
		}
		res.Removed = plan.Remove
	}
	for _, r := range plan.Rename {
		raw, err := passkey.DecodeBase64(r.CredentialID)
		if err != nil {
			return err
		}
		name := ""
		if r.From != nil {
			name = *r.From
		}
		if _, _, err := st.Rename(ctx, raw, name); err != nil {
			return fmt.Errorf("undo entry %d: rename: %w", plan.Entry.ID, err)
		}
		res.Renamed = append(res.Renamed, r)
	}
	var did []string
	for _, d := range []struct {
		verb string
		n    int
	}{{"restored", len(res.Restored)}, {"removed", len(res.Removed)}, {"renamed", len(res.Renamed)}, {"reverted the flags of", len(res.FlagsReverted)}} {
		if d.n > 0 {
			did = append(did, d.verb+" "+plural(d.n, "passkey"))
		}
	}
	fmt.Fprintf(opts.IO.ErrOut, "Reversed entry %d: %s.\n", plan.Entry.ID, strings.Join(did, ", "))
	res.RecordedAs = append(res.RecordedAs, opts.Recorded()...)
	if isJSON(opts.Output) {
		return writeResult(opts.IO.Out, opts.Output, res)
	}
	return nil
}

// importRecords imports recs into st with the conflict policy given.
func importRecords(ctx context.Context, st store.Store, recs []passkey.ExportRecord, onConflict store.ConflictPolicy) error {
	var buf bytes.Buffer
	w := passkey.NewExportWriter(&buf)
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			return err
		}
	}
	_, err := st.Import(ctx, &buf, store.ImportOptions{OnConflict: onConflict})
	return err
}

// planUndo reads entry id and what has happened since, and says what
// reversing it does now.
func planUndo(ctx context.Context, st store.Store, id int64) (*undoPlan, error) {
	var plan undoPlan
	found := false
	if err := st.AuditLog(ctx, store.AuditFilter{ID: id}, func(e store.AuditEntry) error {
		plan.Entry, found = e, true
		return nil
	}); err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("audit entry %d: %w in the audit log of %s (passkeyctl audit lists the entries)", id, passkey.ErrNotFound, st.Describe().Location)
	}
	e := &plan.Entry
	switch {
	case e.Action == store.AuditMigrateDown && len(e.Removed) > 0:
		// The table is back (the store opened): its passkeys can be.
		if err := st.Ready(store.ForReading); err != nil {
			return nil, fmt.Errorf("entry %d dropped the passkeys' table: run passkeyctl migrate first, then passkeyctl undo %d restores its %s: %w", id, id, plural(len(e.Removed), "passkey"), err)
		}
		plan.Left = append(plan.Left, "the table itself was created again by passkeyctl migrate")
	case len(e.Migrations) > 0:
		what := "passkeyctl migrate down"
		if e.Action == store.AuditMigrateDown {
			what = "passkeyctl migrate"
		}
		return nil, usageError{fmt.Errorf("entry %d changed the schema (%s): reverse it with %s", id, strings.Join(e.Migrations, ", "), what)}
	}
	// The highest counter the log holds for each credential after this
	// entry: a restored passkey never comes back below it.
	counters := map[string]int64{}
	var undoers []store.AuditEntry
	if err := st.AuditLog(ctx, store.AuditFilter{After: id}, func(later store.AuditEntry) error {
		if later.Undoes == id {
			undoers = append(undoers, later)
		}
		for _, r := range later.Removed {
			counters[r.CredentialID] = max(counters[r.CredentialID], r.Counter)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	var undoneAlready error
	if len(undoers) > 0 {
		var partly bool
		if partly, undoneAlready = leftToUndo(e, undoers, &plan); !partly {
			return nil, undoneAlready
		}
	}
	for _, r := range e.Removed {
		raw, err := passkey.DecodeBase64(r.CredentialID)
		if err != nil {
			return nil, fmt.Errorf("entry %d: credential %s: %w", id, r.CredentialID, err)
		}
		switch _, err := st.GetPasskey(ctx, raw); {
		case err == nil:
			plan.Left = append(plan.Left, "passkey "+r.CredentialID+" is there already: kept as it is")
			continue
		case !errors.Is(err, passkey.ErrNotFound):
			return nil, err
		}
		if r.Status != "" && r.Status != passkey.StatusOK {
			plan.Left = append(plan.Left, fmt.Sprintf("passkey %s of user %s was removed with status %s (its user was gone): not restored, its record stays in the log", r.CredentialID, r.User.ID, r.Status))
			continue
		}
		r.Counter = max(r.Counter, counters[r.CredentialID])
		// Matched by user id alone: the user's e-mail may have changed
		// since, and the id is what the passkey belonged to.
		r.User.Email = nil
		r.RevokedAt = nil
		plan.Restore = append(plan.Restore, r)
	}
	now := currentPasskeys(ctx, st, e.Added)
	for _, a := range e.Added {
		p, err := now.get(ctx, a.CredentialID)
		switch {
		case errors.Is(err, passkey.ErrNotFound):
			plan.Left = append(plan.Left, "passkey "+a.CredentialID+" is gone already")
		case err != nil:
			return nil, fmt.Errorf("entry %d: %w", id, err)
		case p.UserID != a.UserID:
			plan.Left = append(plan.Left, fmt.Sprintf("passkey %s belongs to user %s now, not %s: kept", a.CredentialID, p.UserID, a.UserID))
		default:
			plan.Remove = append(plan.Remove, p)
		}
	}
	for _, r := range e.Renamed {
		raw, err := passkey.DecodeBase64(r.CredentialID)
		if err != nil {
			return nil, err
		}
		p, err := st.GetPasskey(ctx, raw)
		switch {
		case errors.Is(err, passkey.ErrNotFound):
			plan.Left = append(plan.Left, "passkey "+r.CredentialID+" is gone: its name is not set back")
		case err != nil:
			return nil, err
		case !sameName(p.Name, r.To):
			plan.Left = append(plan.Left, fmt.Sprintf("passkey %s was renamed again since (now %s): kept", r.CredentialID, quoteName(p.Name)))
		default:
			plan.Rename = append(plan.Rename, r)
		}
	}
	if len(e.Updated) > 0 {
		if err := planReflag(ctx, st, e, &plan); err != nil {
			return nil, err
		}
	}
	if n := len(e.OrphanAccounts) + len(e.DanglingEntries); n > 0 {
		plan.Left = append(plan.Left, fmt.Sprintf("%d orphan account(s) and index entries are not written back: no sign-in could use them", n))
	}
	if e.Sessions > 0 {
		plan.Left = append(plan.Left, fmt.Sprintf("the %d session(s) revoked stay revoked: their users sign in again", e.Sessions))
	}
	if undoneAlready != nil && plan.empty() {
		// What the earlier undo left is still there to leave: it was
		// not cut short.
		return nil, undoneAlready
	}
	return &plan, nil
}

// planReflag plans setting back the flags (deviceType, backedUp) of the
// passkeys import entry e updated: those still of the same user with the
// flags the import left. The counters it raised stay: a counter is never
// lowered.
func planReflag(ctx context.Context, st store.Store, e *store.AuditEntry, plan *undoPlan) error {
	now := currentPasskeys(ctx, st, e.Updated)
	var unrecorded, unchanged int
	for _, u := range e.Updated {
		if u.Before == nil || u.After == nil {
			unrecorded++
			continue
		}
		if u.FlagsUnchanged() {
			unchanged++
			continue
		}
		p, err := now.get(ctx, u.CredentialID)
		switch {
		case errors.Is(err, passkey.ErrNotFound):
			plan.Left = append(plan.Left, "passkey "+u.CredentialID+" is gone: its flags are not set back")
			continue
		case err != nil:
			return fmt.Errorf("entry %d: %w", e.ID, err)
		case p.UserID != u.UserID:
			plan.Left = append(plan.Left, fmt.Sprintf("passkey %s belongs to user %s now, not %s: its flags are kept", u.CredentialID, p.UserID, u.UserID))
			continue
		}
		if flags := (store.AuditFlags{DeviceType: p.CredentialDeviceType, BackedUp: p.CredentialBackedUp}); flags != *u.After {
			plan.Left = append(plan.Left, fmt.Sprintf("passkey %s's flags changed since the import (now %s): kept", u.CredentialID, describeFlags(flags)))
			continue
		}
		plan.Reflag = append(plan.Reflag, passkey.ExportRecord{
			Version:      passkey.ExportFormatVersion,
			CredentialID: u.CredentialID,
			PublicKey:    p.PublicKey,
			Counter:      p.Counter,
			DeviceType:   u.Before.DeviceType,
			BackedUp:     u.Before.BackedUp,
			Transports:   p.Transports,
			// Matched by id alone, as a restore is.
			User:   passkey.ExportUser{ID: p.UserID},
			Status: passkey.StatusOK,
		})
	}
	if unrecorded > 0 {
		plan.Left = append(plan.Left, fmt.Sprintf("%s updated by the import are not set back: the entry was written before passkeyctl kept the flags it overwrote", plural(unrecorded, "passkey")))
	}
	if unchanged > 0 {
		plan.Left = append(plan.Left, fmt.Sprintf("%s updated by the import kept their flags: nothing to set back", plural(unchanged, "passkey")))
	}
	plan.Left = append(plan.Left, "counters raised by the import stay: a counter is never lowered")
	return nil
}

func describeFlags(f store.AuditFlags) string {
	return fmt.Sprintf("deviceType %s, backedUp %t", f.DeviceType, f.BackedUp)
}

// passkeysNow are passkeys an entry wrote, as they are now: looked up in
// batches when every one is still there (an import's undo may have
// 100,000), else one by one (get).
type passkeysNow struct {
	st    store.Store
	byRaw map[string]passkey.Passkey
}

func currentPasskeys(ctx context.Context, st store.Store, written []store.AuditPasskey) passkeysNow {
	now := passkeysNow{st: st, byRaw: map[string]passkey.Passkey{}}
	if len(written) > 1 {
		ids := make([]string, len(written))
		for i, a := range written {
			ids[i] = a.CredentialID
		}
		if ps, err := st.ResolveCredentials(ctx, ids); err == nil {
			for _, p := range ps {
				if raw, err := passkey.DecodeBase64(p.CredentialID); err == nil {
					now.byRaw[string(raw)] = p
				}
			}
		}
	}
	return now
}

// get is the passkey of credentialID (base64url) now; ErrNotFound when
// it is gone.
func (n passkeysNow) get(ctx context.Context, credentialID string) (passkey.Passkey, error) {
	raw, err := passkey.DecodeBase64(credentialID)
	if err != nil {
		return passkey.Passkey{}, fmt.Errorf("credential %s: %w", credentialID, err)
	}
	if p, found := n.byRaw[string(raw)]; found {
		return p, nil
	}
	return n.st.GetPasskey(ctx, raw)
}

// leftToUndo narrows e to what the entries that undo it already
// (undoers) did not reverse, and returns whether anything is left, and the
// refusal for an entry undone already: an entry is undone once, and
// undoing that undo is a redo. When something is left it notes the
// partial undo in plan.Left; the caller refuses if the plan still comes
// out empty. An undo is one step per kind of change (restore, set the
// flags back, remove, rename), each its own transaction and entry: when a
// run was cut short between them, undo ENTRY again completes it.
func leftToUndo(e *store.AuditEntry, undoers []store.AuditEntry, plan *undoPlan) (partly bool, refusal error) {
	key := func(kind, credentialID string) string {
		if raw, err := passkey.DecodeBase64(credentialID); err == nil {
			return kind + string(raw)
		}
		return kind + credentialID
	}
	done := map[string]bool{}
	ids := make([]string, len(undoers))
	for i, u := range undoers {
		ids[i] = strconv.FormatInt(u.ID, 10)
		for _, a := range u.Added {
			done[key("restored ", a.CredentialID)] = true
		}
		for _, r := range u.Removed {
			done[key("removed ", r.CredentialID)] = true
		}
		for _, p := range u.Updated {
			done[key("reflagged ", p.CredentialID)] = true
		}
		for _, r := range u.Renamed {
			done[key("renamed ", r.CredentialID)] = true
		}
	}
	rest := *e
	rest.Removed = slices.DeleteFunc(slices.Clone(e.Removed), func(r passkey.ExportRecord) bool { return done[key("restored ", r.CredentialID)] })
	rest.Added = slices.DeleteFunc(slices.Clone(e.Added), func(a store.AuditPasskey) bool { return done[key("removed ", a.CredentialID)] })
	rest.Updated = slices.DeleteFunc(slices.Clone(e.Updated), func(u store.AuditPasskey) bool { return done[key("reflagged ", u.CredentialID)] })
	rest.Renamed = slices.DeleteFunc(slices.Clone(e.Renamed), func(r store.AuditRenamed) bool { return done[key("renamed ", r.CredentialID)] })
	// Flags the import did not change were never set back: nothing of
	// them is left to do.
	rest.Updated = slices.DeleteFunc(rest.Updated, store.AuditPasskey.FlagsUnchanged)
	by := "entry " + ids[0]
	if len(ids) > 1 {
		by = "entries " + strings.Join(ids, ", ")
	}
	refusal = usageError{fmt.Errorf("entry %d was undone already, by %s (passkeyctl undo %s reverses that undo)", e.ID, by, ids[len(ids)-1])}
	if len(rest.Removed)+len(rest.Added)+len(rest.Updated)+len(rest.Renamed) == 0 {
		return false, refusal
	}
	*e = rest
	plan.Left = append(plan.Left, fmt.Sprintf("entry %d was undone in part already, by %s (a run cut short?): the rest of it is reversed now", e.ID, by))
	return true, refusal
}

func sameName(a, b *string) bool {
	av, bv := "", ""
	if a != nil {
		av = *a
	}
	if b != nil {
		bv = *b
	}
	return av == bv
}

// previewUndo shows what undo will do and what it leaves.
func previewUndo(w io.Writer, p *undoPlan) {
	for _, r := range p.Restore {
		fmt.Fprintf(w, "  restore passkey %s of user %s (counter %d)\n", r.CredentialID, r.User.ID, r.Counter)
	}
	for _, r := range p.Remove {
		fmt.Fprintf(w, "  remove  passkey %s of user %s\n", r.CredentialID, describeUser(r.UserID, r.Email))
	}
	for _, r := range p.Rename {
		fmt.Fprintf(w, "  rename  passkey %s back to %s\n", r.CredentialID, quoteName(r.From))
	}
	for _, r := range p.Reflag {
		fmt.Fprintf(w, "  flags   passkey %s of user %s back to %s\n", r.CredentialID, r.User.ID, describeFlags(store.AuditFlags{DeviceType: r.DeviceType, BackedUp: r.BackedUp}))
	}
	for _, l := range p.Left {
		fmt.Fprintf(w, "  left:   %s\n", l)
	}
}
