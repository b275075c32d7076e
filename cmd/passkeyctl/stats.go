package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/passkeyctl/passkeyctl/internal/store"
	"github.com/spf13/cobra"
)

// outputPrometheus is the Prometheus text exposition format, which only
// stats writes (see commandOutputs).
const outputPrometheus = "prometheus"

// StatsOptions are the inputs of `passkeyctl stats`.
type StatsOptions struct {
	IO     *IOStreams
	Store  func(context.Context) (store.Store, error)
	Output string
}

func newCmdStats(f *Factory, runF func(context.Context, *StatsOptions) error) *cobra.Command {
	opts := &StatsOptions{IO: f.IO, Store: f.Store}
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Count passkeys by status, algorithm, device type, backup state and authenticator",
		Long: `Count the passkeys, for dashboards and audits: how many, how many users have one,
and how they split by status, algorithm, device type (singleDevice, multiDevice),
backup state (credentialBackedUp) and authenticator (the AAGUID Better Auth stores;
"unknown" for Auth.js, which stores none); the users whose only passkey is
single-device and not backed up (one lost device from being locked out); and the
orphans (Auth.js: webauthn Account rows, or account keys on Redis, without their
passkey; Better Auth has none).

The counting is done by the database (GROUP BY queries on SQL, one streaming SCAN
on Redis); no passkey is read into passkeyctl.

The status counted is structural, from the same joins as list: ok, no-account,
account-user-mismatch, no-user. Whether a key can verify a signature needs every
key decoded: list checks it (bad-public-key), stats does not. The algorithm is the
one each key's COSE header names, as list names it.

Output: -o table (default), -o json (one object; -o jsonl on one line) with the
fields passkeys, usersWithPasskeys, usersSingleDeviceOnly, orphans, byStatus,
byAlgorithm, byDeviceType, byBackedUp (objects of counts) and byAuthenticator (a
list of {aaguid, name, passkeys}, most first; name where the AAGUID is known), or -o prometheus: the text exposition
format for node_exporter's textfile collector, gauges passkeyctl_passkeys{status},
passkeyctl_passkeys_by_algorithm{algorithm},
passkeyctl_passkeys_by_device_type{device_type},
passkeyctl_passkeys_by_backup_state{backed_up},
passkeyctl_passkeys_by_authenticator{aaguid,name}, passkeyctl_users_with_passkeys,
passkeyctl_users_single_device_only and passkeyctl_orphans.`,
		Example: `  # The counts, for people
  passkeyctl stats

  # For node_exporter's textfile collector, from cron every 5 minutes
  */5 * * * * passkeyctl stats -o prometheus > /var/lib/node_exporter/textfile/passkeys.prom.$$ && mv /var/lib/node_exporter/textfile/passkeys.prom.$$ /var/lib/node_exporter/textfile/passkeys.prom

  # Users one lost device from lock-out
  passkeyctl stats -o json | jq .usersSingleDeviceOnly`,
		Annotations: map[string]string{annotationOutputs: outputPrometheus},
		Args:        noArgs(nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Output = f.Output()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return statsRun(cmd.Context(), opts)
		},
	}
	return cmd
}

func statsRun(ctx context.Context, opts *StatsOptions) error {
	st, err := opts.Store(ctx)
	if err != nil {
		return err
	}
	stats, err := st.Stats(ctx)
	if err != nil {
		return err
	}
	switch opts.Output {
	case outputPrometheus:
		return writeStatsPrometheus(opts.IO.Out, stats)
	case outputJSON, outputJSONL:
		return writeResult(opts.IO.Out, opts.Output, stats)
	}
	return writeStatsTable(opts.IO.Out, stats)
}

// writeStatsTable writes the counts for people: the totals, then each
// breakdown as an indented block, largest first.
func writeStatsTable(w io.Writer, st *store.Stats) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "Passkeys\t%d\n", st.Passkeys)
	fmt.Fprintf(tw, "Users with passkeys\t%d\n", st.UsersWithPasskeys)
	fmt.Fprintf(tw, "Users whose only passkey is single-device, not backed up\t%d\n", st.UsersSingleDeviceOnly)
	fmt.Fprintf(tw, "Orphans\t%d\n", st.Orphans)
	block := func(title string, counts map[string]int64) {
		fmt.Fprintln(tw, title)
		for _, k := range byCount(counts) {
			fmt.Fprintf(tw, "  %s\t%d\n", k, counts[k])
		}
	}
	block("By status", st.ByStatus)
	block("By algorithm", st.ByAlgorithm)
	block("By device type", st.ByDeviceType)
	block("By backed up", st.ByBackedUp)
	fmt.Fprintln(tw, "By authenticator (AAGUID)")
	for _, a := range st.ByAuthenticator {
		fmt.Fprintf(tw, "  %s\t%d\n", a.AAGUID, a.Passkeys)
	}
	return tw.Flush()
}

// byCount is the keys of counts, largest count first, then by name.
func byCount(counts map[string]int64) []string {
	return slices.SortedFunc(maps.Keys(counts), func(a, b string) int {
		if c := cmp.Compare(counts[b], counts[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
}

// writeStatsPrometheus writes the counts in the Prometheus text exposition
// format (version 0.0.4): each metric's HELP and TYPE lines, then its
// samples sorted by label value, so that a file written every few minutes
// differs only where the counts do.
func writeStatsPrometheus(w io.Writer, st *store.Stats) error {
	var b strings.Builder
	gauge := func(name, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", name, escapeHelp(help), name)
	}
	labelled := func(name, help, label string, counts map[string]int64) {
		gauge(name, help)
		for _, k := range slices.Sorted(maps.Keys(counts)) {
			fmt.Fprintf(&b, "%s{%s=\"%s\"} %d\n", name, label, escapeLabelValue(k), counts[k])
		}
	}
	labelled("passkeyctl_passkeys", "Passkeys by structural status (ok, no-account, account-user-mismatch, no-user).", "status", st.ByStatus)
	labelled("passkeyctl_passkeys_by_algorithm", "Passkeys by the COSE algorithm their key names.", "algorithm", st.ByAlgorithm)
	labelled("passkeyctl_passkeys_by_device_type", "Passkeys by credentialDeviceType.", "device_type", st.ByDeviceType)
	labelled("passkeyctl_passkeys_by_backup_state", "Passkeys by credentialBackedUp.", "backed_up", st.ByBackedUp)
	gauge("passkeyctl_passkeys_by_authenticator", "Passkeys by authenticator AAGUID (unknown where the app stores none), with its name where known.")
	for _, a := range slices.SortedFunc(slices.Values(st.ByAuthenticator), func(x, y store.AuthenticatorCount) int { return strings.Compare(x.AAGUID, y.AAGUID) }) {
		fmt.Fprintf(&b, "passkeyctl_passkeys_by_authenticator{aaguid=\"%s\",name=\"%s\"} %d\n", escapeLabelValue(a.AAGUID), escapeLabelValue(a.Name), a.Passkeys)
	}
	gauge("passkeyctl_users_with_passkeys", "Users with at least one passkey.")
	fmt.Fprintf(&b, "passkeyctl_users_with_passkeys %d\n", st.UsersWithPasskeys)
	gauge("passkeyctl_users_single_device_only", "Users whose only passkey is single-device and not backed up.")
	fmt.Fprintf(&b, "passkeyctl_users_single_device_only %d\n", st.UsersSingleDeviceOnly)
	gauge("passkeyctl_orphans", "Webauthn accounts without their passkey (Auth.js).")
	fmt.Fprintf(&b, "passkeyctl_orphans %d\n", st.Orphans)
	_, err := io.WriteString(w, b.String())
	return err
}

// escapeLabelValue escapes a label value as the text format requires:
// backslash, double quote and line feed.
func escapeLabelValue(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// escapeHelp escapes HELP text as the text format requires: backslash and
// line feed.
func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

// annotationOutputs is the cobra annotation in which a command lists the
// output formats it writes besides table, json and jsonl, comma-separated
// (stats: prometheus).
const annotationOutputs = "passkeyctl/outputs"

// checkOutput refuses (exit 2) an -o value that cmd does not write: table,
// json and jsonl everywhere, and the formats cmd's annotation adds. A
// format that another command writes is named with that command, so that
// `list -o prometheus` says where prometheus is.
func checkOutput(cmd *cobra.Command, output string) error {
	switch output {
	case outputTable, outputJSON, outputJSONL:
		return nil
	}
	var extra []string
	if a := cmd.Annotations[annotationOutputs]; a != "" {
		extra = strings.Split(a, ",")
	}
	if slices.Contains(extra, output) {
		return nil
	}
	if len(extra) > 0 {
		return usageError{fmt.Errorf("invalid --output %q: use table, json, jsonl or %s", output, strings.Join(extra, " or "))}
	}
	if output == outputPrometheus {
		return usageError{fmt.Errorf("invalid --output %q for %s: only passkeyctl stats writes prometheus; use table, json or jsonl", output, cmd.CommandPath())}
	}
	return usageError{fmt.Errorf("invalid --output %q: use table, json or jsonl", output)}
}
