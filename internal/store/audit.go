package store

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
)

// Audit actions: what an AuditEntry records.
const (
	AuditRevoke        = "revoke"
	AuditRevokeOrphans = "revoke-orphans"
	AuditEnroll        = "enroll"
	AuditImport        = "import"
	AuditRename        = "rename"
	AuditMigrate       = "migrate"
	AuditMigrateDown   = "migrate-down"
	// AuditUndo is any change made by `passkeyctl undo`: its Undoes names
	// the entry reversed.
	AuditUndo = "undo"
)

// AuditContext is who makes one command's changes, and why. A store given
// one records each change it commits as an AuditEntry in passkeyctl's own
// place beside the app's data (SQL: the passkeyctl schema, database or
// attached file; Redis: passkeyctl:audit keys), in the same transaction as
// the change: a change that rolls back, or a dry run, records nothing, and
// no change commits without its entry.
type AuditContext struct {
	// Actor is who ran the command: --actor, PASSKEYCTL_ACTOR, or the OS
	// user and host ("alice@ops-1").
	Actor string
	// Reason is --reason: free text.
	Reason string
	// Command is the command line, the DSN redacted.
	Command string
	// Undoes, when not 0, is the entry that this command reverses: its
	// changes are recorded as AuditUndo.
	Undoes int64
	// Prepare, when set, is called before a store's first change (not for
	// a dry run): an error stops the change (the --audit-file cannot be
	// opened).
	Prepare func() error
	// Recorded, when set, is called with each entry once it committed: the
	// --audit-file copy and the command's "recorded as entry N" line.
	Recorded func(AuditEntry)
	// Now is the clock for entries; time.Now when nil.
	Now func() time.Time
	// Warn, when set, receives what the operator should know about where
	// the log is kept (a MySQL user that may not create its database).
	Warn func(string)
}

// Ready calls Prepare, if any: before a change.
func (c *AuditContext) Ready() error {
	if c == nil || c.Prepare == nil {
		return nil
	}
	return c.Prepare()
}

// Entry starts the entry of one change: action (AuditUndo when c undoes
// an entry) and what it did in words.
func (c *AuditContext) Entry(action, summary string) *AuditEntry {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	e := &AuditEntry{
		Time: now().UTC().Truncate(time.Millisecond), Actor: c.Actor, Reason: c.Reason, Command: c.Command,
		Action: action, Summary: summary, Users: []AuditUser{}, Removed: []passkey.ExportRecord{},
		Added: []AuditPasskey{}, Updated: []AuditPasskey{}, Renamed: []AuditRenamed{},
	}
	if c.Undoes != 0 {
		e.Action, e.Undoes = AuditUndo, c.Undoes
	}
	e.SetSummary(summary)
	return e
}

// SetSummary sets what the entry did, in words (an undo says which entry
// it reverses).
func (e *AuditEntry) SetSummary(summary string) {
	e.Summary = summary
	if e.Undoes != 0 {
		e.Summary = "undo of entry " + strconv.FormatInt(e.Undoes, 10) + ": " + summary
	}
}

// RevokeSummary is a revoke's audit summary.
func RevokeSummary(n int, sessions bool) string {
	s := fmt.Sprintf("revoked %d passkey(s)", n)
	if sessions {
		s += " and the users' sessions"
	}
	return s
}

// ImportSummary is an import's audit summary.
func ImportSummary(r *ImportResult) string {
	s := fmt.Sprintf("imported %d passkey(s)", r.Inserted)
	if r.Updated > 0 {
		s += fmt.Sprintf(", updated %d", r.Updated)
	}
	if n := len(r.UsersCreated); n > 0 {
		s += fmt.Sprintf(", created %d user(s)", n)
	}
	return s
}

// AuditEntry is one change passkeyctl made, as recorded with it. The JSON
// field names are a documented, stable interface (`passkeyctl audit -o
// json`, --audit-file).
type AuditEntry struct {
	// ID numbers the entries of one log in the order they committed; it
	// is what `passkeyctl undo` takes.
	ID      int64     `json:"id"`
	Time    time.Time `json:"time"`
	Actor   string    `json:"actor"`
	Reason  string    `json:"reason"`
	Command string    `json:"command"`
	// Action is one of the Audit* constants.
	Action string `json:"action"`
	// App is the app's id (Description.ID).
	App string `json:"app"`
	// Undoes is the entry an AuditUndo reversed.
	Undoes int64 `json:"undoes,omitempty"`
	// Summary says what was done, in words.
	Summary string `json:"summary"`
	// Users are the users concerned.
	Users []AuditUser `json:"users"`
	// Removed are the full records of the passkeys removed, as they were
	// (with RevokedAt): what an undo restores.
	Removed []passkey.ExportRecord `json:"removed"`
	// Added are the passkeys written: what an undo removes.
	Added []AuditPasskey `json:"added"`
	// Updated are the passkeys an import overwrote (--on-conflict update).
	Updated []AuditPasskey `json:"updated"`
	// Renamed are the name changes.
	Renamed []AuditRenamed `json:"renamed"`
	// Sessions is how many sessions a revoke --revoke-sessions deleted
	// (undo does not bring them back, and says so).
	Sessions int64 `json:"sessions,omitempty"`
	// Migrations are the migration steps applied or dropped.
	Migrations []string `json:"migrations,omitempty"`
	// OrphanAccounts and DanglingEntries are what revoke --orphans removed
	// besides passkeys: nothing a sign-in could use, kept for the record.
	OrphanAccounts  []Orphan        `json:"orphanAccounts,omitempty"`
	DanglingEntries []DanglingEntry `json:"danglingEntries,omitempty"`

	// users indexes Users by id (AddUser: an import of 100,000 passkeys
	// adds a user per passkey).
	users map[string]bool
}

// RecordOrphans records what RemoveOrphans removed: res, and the records
// of the passkeys it may have removed (those res lists are kept). e may
// be nil (nothing recorded).
func (e *AuditEntry) RecordOrphans(res *OrphanResult, records []passkey.ExportRecord) {
	if e == nil {
		return
	}
	// The passkeys carry their IDs as stored (standard base64 on Auth.js),
	// the records in base64url: compared as bytes.
	raw := func(id string) string {
		b, err := passkey.DecodeBase64(id)
		if err != nil {
			return id
		}
		return string(b)
	}
	removed := map[string]bool{}
	for _, p := range res.Passkeys {
		removed[raw(p.CredentialID)] = true
	}
	for _, r := range records {
		if removed[raw(r.CredentialID)] {
			e.AddRemoved(r)
		}
	}
	e.OrphanAccounts, e.DanglingEntries = res.Accounts, res.Entries
	for _, a := range res.Accounts {
		e.AddUser(a.UserID, nil)
	}
	for _, d := range res.Entries {
		e.AddUser(d.UserID, nil)
	}
	e.SetSummary(fmt.Sprintf("removed %d orphan passkey(s), %d orphan account(s), %d dangling index entr(ies)", len(res.Passkeys), len(res.Accounts), len(res.Entries)))
}

// AuditUser is a user an entry concerns.
type AuditUser struct {
	ID    string  `json:"id"`
	Email *string `json:"email"`
}

// AuditPasskey is a passkey an entry wrote: its credential ID as the
// export format writes it (base64url), and its owner.
type AuditPasskey struct {
	CredentialID string `json:"credentialID"`
	UserID       string `json:"userId"`
	// Before and After are, for a passkey an import updated, its flags
	// as the import found and left them: what undo sets back, when they
	// are still After. Nil for a passkey added, and in entries written
	// before passkeyctl kept them.
	Before *AuditFlags `json:"before,omitempty"`
	After  *AuditFlags `json:"after,omitempty"`
}

// FlagsUnchanged reports whether an update left the passkey's flags as
// they were, so that an undo has nothing of them to set back.
func (p AuditPasskey) FlagsUnchanged() bool {
	return p.Before != nil && p.After != nil && *p.Before == *p.After
}

// AuditFlags are the flags of a passkey that import --on-conflict update
// overwrites. The counter is not among them: it is never lowered, so an
// undo leaves it where it is.
type AuditFlags struct {
	DeviceType string `json:"deviceType"`
	BackedUp   bool   `json:"backedUp"`
}

// AuditRenamed is one rename: the names before and after (nil: none).
type AuditRenamed struct {
	CredentialID string  `json:"credentialID"`
	UserID       string  `json:"userId"`
	From         *string `json:"from"`
	To           *string `json:"to"`
}

// AddUser adds u to the users concerned, once.
func (e *AuditEntry) AddUser(id string, email *string) {
	if e.users == nil {
		e.users = make(map[string]bool, len(e.Users))
		for _, u := range e.Users {
			e.users[u.ID] = true
		}
	}
	if e.users[id] {
		return
	}
	e.users[id] = true
	e.Users = append(e.Users, AuditUser{ID: id, Email: email})
}

// AddRemoved records the removal of the passkeys whose records these are.
func (e *AuditEntry) AddRemoved(recs ...passkey.ExportRecord) {
	for _, r := range recs {
		e.Removed = append(e.Removed, r)
		e.AddUser(r.User.ID, r.User.Email)
	}
}

// AddRename records the rename of a passkey from before to after. e may
// be nil (nothing recorded).
func (e *AuditEntry) AddRename(before, after passkey.Passkey) {
	if e == nil {
		return
	}
	e.Renamed = append(e.Renamed, AuditRenamed{CredentialID: after.CredentialID, UserID: after.UserID, From: before.Name, To: after.Name})
	e.AddUser(after.UserID, after.Email)
}

// Concerns reports whether the entry concerns the user with this id or
// e-mail address (compared ignoring case).
func (e *AuditEntry) Concerns(ref string) bool {
	return slices.ContainsFunc(e.Users, func(u AuditUser) bool {
		return u.ID == ref || u.Email != nil && strings.EqualFold(*u.Email, ref)
	})
}

// Empty reports whether the entry records no change to a passkey.
func (e *AuditEntry) Empty() bool {
	return len(e.Removed) == 0 && len(e.Added) == 0 && len(e.Updated) == 0 && len(e.Renamed) == 0 && len(e.Migrations) == 0 &&
		len(e.OrphanAccounts) == 0 && len(e.DanglingEntries) == 0
}

// AuditFilter selects audit entries.
type AuditFilter struct {
	// ID, when not 0, selects that entry alone.
	ID int64
	// After selects entries with a greater ID.
	After int64
	// Since selects entries at or after this time.
	Since time.Time
	// User selects entries concerning this user id or e-mail address, or
	// UserID when set (the id User resolves to now: an entry may know the
	// user by id alone).
	User   string
	UserID string
	// Credential selects entries that removed, added, updated or renamed
	// the passkey with this credential ID (base64url without padding, as
	// entries name it).
	Credential string
}

// Match reports whether e passes f (the checks a store does not do in its
// query).
func (f AuditFilter) Match(e *AuditEntry) bool {
	switch {
	case f.ID != 0 && e.ID != f.ID, e.ID <= f.After:
		return false
	case !f.Since.IsZero() && e.Time.Before(f.Since):
		return false
	case f.User != "" && !e.Concerns(f.User) && (f.UserID == "" || !e.Concerns(f.UserID)):
		return false
	case f.Credential != "" && !e.Touches(f.Credential):
		return false
	}
	return true
}

// Touches reports whether the entry removed, added, updated or renamed
// the passkey with this credential ID (base64url, as entries name it).
func (e *AuditEntry) Touches(credentialID string) bool {
	return slices.ContainsFunc(e.Removed, func(r passkey.ExportRecord) bool { return r.CredentialID == credentialID }) ||
		slices.ContainsFunc(e.Added, func(p AuditPasskey) bool { return p.CredentialID == credentialID }) ||
		slices.ContainsFunc(e.Updated, func(p AuditPasskey) bool { return p.CredentialID == credentialID }) ||
		slices.ContainsFunc(e.Renamed, func(r AuditRenamed) bool { return r.CredentialID == credentialID })
}
