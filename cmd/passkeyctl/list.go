package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
	"github.com/spf13/cobra"
)

// ListOptions are the inputs of `passkeyctl list`.
type ListOptions struct {
	IO     *IOStreams
	Store  func(context.Context) (store.Store, error)
	Output string

	User    string
	Limit   int
	Wide    bool
	Orphans bool
}

func newCmdList(f *Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IO, Store: f.Store}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List passkeys (Authenticator rows) with their owner and sign-in status",
		Long: `List the passkeys in the Authenticator table, ordered by user ID then credential
ID, with the owner's e-mail, the key algorithm and a status read from the rows:

  ok                     Auth.js can sign in with it
  no-account             no Account row (provider = --provider-id, providerAccountId =
                         the credential ID): Auth.js cannot sign in with it; when
                         the Account rows are under another provider, a warning on
                         stderr names the --provider-id to use
  account-user-mismatch  the Account row belongs to another user than the passkey
  no-user                the User row is gone (a database without foreign keys,
                         such as Prisma's relationMode = "prisma"): Auth.js finds
                         no user at sign-in
  bad-public-key         credentialPublicKey cannot verify a signature: not a COSE
                         key go-webauthn parses, an algorithm neither app verifies,
                         a key type or curve that does not match the algorithm, an
                         EC point off its curve, wrong coordinate lengths, a weak
                         or malformed RSA key

On a Better Auth database (see --schema) the passkeys are the rows of its passkey
table: credentialID as Better Auth stores it (base64url), the status "ok",
"no-user" or "bad-public-key", and the name, createdAt and aaguid fields (NAME and
CREATED AT columns in the table). JSON adds authenticator, the AAGUID's provider name
from an embedded map ("Google Password Manager", "1Password", ...; the all-zero
AAGUID says the authenticator did not identify itself), left out when unknown.

On an Auth.js app's Redis (a redis:// DSN: the keys @auth/unstorage-adapter writes)
the passkeys are its authenticator keys and each one's Account is an account key;
the statuses are the same.

The listing streams: memory stays flat however many passkeys there are.

--user takes a User.id or an e-mail address (matched exactly, then ignoring case).

--orphans lists instead the Account rows of type "webauthn" (provider = --provider-id)
that have no Authenticator row, which Auth.js leaves behind when a registration fails
half-way. Their fields: credentialID (the Account's providerAccountId), userId, email,
provider, status ("no-authenticator").

Output: -o table (on a terminal credential IDs are shortened; --wide shows them in
full, as does any table written to a pipe or file), -o json (one array), -o jsonl
(one object per line). JSON fields: credentialID, userId, email, counter,
credentialDeviceType, credentialBackedUp, transports, algorithm, status, and for
Better Auth name, createdAt, aaguid, authenticator (when set). A table aligns its columns in blocks
of 1,000 rows so that memory stays flat; for large listings use -o jsonl.`,
		Example: `  # Who has passkeys
  passkeyctl list

  # One user's passkeys, by e-mail or User.id
  passkeyctl list --user alice@example.com
  passkeyctl list --user cmwvgemvd0000l07d4xrhgdsb -o json

  # Passkeys Auth.js cannot sign in with
  passkeyctl list -o jsonl | jq -c 'select(.status != "ok")'

  # Account rows left behind by failed registrations
  passkeyctl list --orphans`,
		Args: noArgs(userHint("list")),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Limit < 0 {
				return usageError{fmt.Errorf("invalid --limit %d: use a positive number, or 0 for no limit", opts.Limit)}
			}
			opts.Output = f.Output()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return listRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	nonEmptyStringVarP(fl, &opts.User, "user", "u", "", "only this user's passkeys: a User.id or e-mail address")
	fl.IntVar(&opts.Limit, "limit", 0, "print at most `N` passkeys (0: no limit)")
	fl.BoolVar(&opts.Wide, "wide", false, "show full credential IDs in the table")
	fl.BoolVar(&opts.Orphans, "orphans", false, `list "webauthn" Account rows that have no Authenticator row`)
	return cmd
}

func listRun(ctx context.Context, opts *ListOptions) error {
	st, err := opts.Store(ctx)
	if err != nil {
		return err
	}
	lo := store.ListOptions{Limit: opts.Limit}
	if opts.Limit > 0 {
		// One more than asked: whether it comes tells if --limit cut the
		// output, which a script or a reader must not mistake for the whole.
		lo.Limit = opts.Limit + 1
	}
	cut := false
	who := ""
	if opts.User != "" {
		u, err := st.FindUser(ctx, opts.User)
		if err != nil {
			return err
		}
		lo.UserID = u.ID
		who = " of user " + describeUser(u.ID, u.Email)
	}
	if opts.Orphans {
		w := newOrphanWriter(opts.IO, opts.Output, opts.Wide)
		if err := st.ListOrphans(ctx, lo, upToLimit(opts.Limit, &cut, w.Write)); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		if w.count == 0 && opts.Output == outputTable {
			fmt.Fprintf(opts.IO.ErrOut, "no orphan %ss%s\n", st.Describe().Account, who)
		}
		limitNote(opts, cut, "orphan Account rows")
		return nil
	}
	if lo.UserID == "" {
		defer collectLessOften()()
	}
	w := newPasskeyWriter(opts.IO, opts.Output, opts.Wide)
	w.named = st.Describe().Named
	// Passkeys listed no-account because their Account rows are under
	// another provider mean a wrong --provider-id: say so, as revoke does.
	var providers store.ProviderCheck
	if err := st.ListPasskeys(ctx, lo, upToLimit(opts.Limit, &cut, func(p passkey.Passkey) error {
		providers.AddPasskey(p)
		return w.Write(p)
	})); err != nil {
		w.Flush() // the rows before the error still reach stdout
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	hint, err := st.WrongProviderHint(ctx, &providers)
	if err != nil {
		return err
	}
	if hint != "" {
		fmt.Fprintf(opts.IO.ErrOut, "warning: passkeys listed no-account: %s\n", hint)
	}
	if w.Count() == 0 && opts.Output == outputTable {
		fmt.Fprintf(opts.IO.ErrOut, "no passkeys%s\n", who)
	}
	limitNote(opts, cut, "passkeys")
	return nil
}

// upToLimit passes the first limit records (all when limit is 0) to write
// and sets *cut when one more came: the listing asks for limit+1.
func upToLimit[T any](limit int, cut *bool, write func(T) error) func(T) error {
	n := 0
	return func(v T) error {
		if n++; limit > 0 && n > limit {
			*cut = true
			return nil
		}
		return write(v)
	}
}

// limitNote says on stderr, in every output format, that --limit cut the
// output: stdout keeps exactly the records, so JSON stays what it was.
func limitNote(opts *ListOptions, cut bool, what string) {
	if cut {
		fmt.Fprintf(opts.IO.ErrOut, "note: showing the first %d %s; there are more (raise --limit, or --limit 0 for all)\n", opts.Limit, what)
	}
}

// describeUser is "id <email>" for messages.
func describeUser(id string, email *string) string {
	if email == nil || *email == "" {
		return id
	}
	return id + " <" + *email + ">"
}

// plural returns "1 passkey" or "n passkeys".
func plural(n int, one string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %ss", n, strings.TrimSuffix(one, "s"))
}
