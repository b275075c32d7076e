package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
	"github.com/spf13/cobra"
)

// AuditOptions are the inputs of `passkeyctl audit`.
type AuditOptions struct {
	IO     *IOStreams
	Store  func(context.Context) (store.Store, error)
	Output string
	Now    func() time.Time

	User       string
	Since      string
	Credential string
}

func newCmdAudit(f *Factory, runF func(context.Context, *AuditOptions) error) *cobra.Command {
	opts := &AuditOptions{IO: f.IO, Store: f.Store, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "audit [flags]",
		Short: "List the changes passkeyctl made: who, when, why, and what it removed",
		Long: `List passkeyctl's audit log of the app: every change a passkeyctl command made
(revoke, revoke --orphans, serve --enroll, import, rename, migrate, undo), with
its time, actor (--actor, PASSKEYCTL_ACTOR, or the OS user@host), --reason, the
command line (DSN redacted), the users concerned and the full records of every
passkey removed. Each entry is written in the same transaction as its change:
a change that failed, or a dry run, records nothing.

The log lives beside the app's data but out of its tables, so that Prisma and
drizzle-kit never see it: the PostgreSQL schema passkeyctl, the MySQL/MariaDB
database passkeyctl on the same server, the SQLite file next to the app's with
"-passkeyctl" appended, the Redis keys passkeyctl:audit*. --audit-file PATH
also appends each entry as a JSON line, for a SIEM.

An entry's ID is what passkeyctl undo takes.`,
		Example: `  passkeyctl audit
  passkeyctl audit --user alice@example.com --since 7d
  passkeyctl audit --credential AQEBAQEBAQEBAQEBAQEBAQ   # what happened to this passkey
  passkeyctl audit --since 2026-11-01 -o jsonl | jq 'select(.action == "revoke")'
  passkeyctl revoke --user bob@example.com --all --yes --reason "INC-1234: lost laptop"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Output = f.Output()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return auditRun(cmd.Context(), opts)
		},
	}
	nonEmptyStringVarP(cmd.Flags(), &opts.User, "user", "", "", "only entries concerning this user id or e-mail address")
	nonEmptyStringVarP(cmd.Flags(), &opts.Since, "since", "", "", "only entries at or after this time: a duration back from now (90m, 24h, 7d) or a date (2026-11-01, RFC 3339)")
	nonEmptyStringVarP(cmd.Flags(), &opts.Credential, "credential", "", "", "only entries that removed, added, updated or renamed this passkey (its credential ID in any base64 form)")
	return cmd
}

// parseSince reads --since: a duration back from now (Go's, or whole days
// "7d") or a date or RFC 3339 time (UTC unless it says otherwise).
func parseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return now.AddDate(0, 0, -n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usageError{fmt.Errorf("--since %q: give a duration back from now (90m, 24h, 7d) or a date (2026-11-01, 2026-11-01T09:00:00Z)", s)}
}

func auditRun(ctx context.Context, opts *AuditOptions) error {
	var f store.AuditFilter
	if opts.Since != "" {
		t, err := parseSince(opts.Since, opts.Now())
		if err != nil {
			return err
		}
		f.Since = t
	}
	f.User = strings.TrimSpace(opts.User)
	if opts.Credential != "" {
		raw, err := passkey.DecodeBase64(strings.TrimSpace(opts.Credential))
		if err != nil || len(raw) == 0 {
			return usageError{fmt.Errorf("--credential %q: give a whole credential ID, in base64 or base64url (as list shows it)", opts.Credential)}
		}
		f.Credential = passkey.Base64URL(raw)
	}
	st, err := opts.Store(ctx)
	if err != nil {
		return err
	}
	if f.User != "" {
		// The user as they are now, when they still exist: entries that
		// know them by id alone match too. A user who is gone is matched
		// by what the entries say.
		if u, err := st.FindUser(ctx, f.User); err == nil {
			f.UserID = u.ID
		} else if !errors.Is(err, passkey.ErrNotFound) {
			return err
		}
	}
	w := newRecordWriter(opts.IO, opts.Output, func() string {
		return "ID\tTIME\tACTOR\tACTION\tUSERS\tSUMMARY\tREASON"
	}, func(e store.AuditEntry) string {
		users := make([]string, 0, len(e.Users))
		for _, u := range e.Users {
			users = append(users, describeUser(u.ID, u.Email))
		}
		reason := e.Reason
		if reason == "" {
			reason = "-"
		}
		return strings.Join([]string{strconv.FormatInt(e.ID, 10), e.Time.UTC().Format(time.RFC3339), e.Actor, e.Action,
			ellipsize(strings.Join(users, ", "), 60), e.Summary, reason}, "\t")
	})
	if err := st.AuditLog(ctx, f, w.Write); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if w.count == 0 && !isJSON(opts.Output) {
		fmt.Fprintf(opts.IO.ErrOut, "No audit entries%s.\n", describeFilter(f))
	}
	return nil
}

// describeFilter is what an audit listing was limited to, in words.
func describeFilter(f store.AuditFilter) string {
	var parts []string
	if f.User != "" {
		parts = append(parts, "concerning "+f.User)
	}
	if !f.Since.IsZero() {
		parts = append(parts, "since "+f.Since.UTC().Format(time.RFC3339))
	}
	if f.Credential != "" {
		parts = append(parts, "of passkey "+f.Credential)
	}
	if len(parts) == 0 {
		return ""
	}
	return " " + strings.Join(parts, " ")
}
