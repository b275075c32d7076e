package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
	"github.com/spf13/cobra"
)

// RenameOptions are the inputs of `passkeyctl rename`.
type RenameOptions struct {
	IO     *IOStreams
	Store  func(context.Context) (store.Store, error)
	Output string
	// Target describes the database written to.
	Target targetFunc

	Credential string
	Name       string
}

func newCmdRename(f *Factory, runF func(context.Context, *RenameOptions) error) *cobra.Command {
	opts := &RenameOptions{IO: f.IO, Store: f.Store, Target: f.describeTarget}
	cmd := &cobra.Command{
		Use:   "rename [flags] -- CREDENTIAL_ID NAME",
		Short: "Name a passkey, as the app's own passkey list shows it (Better Auth)",
		Long: `Set a passkey's name: the name column of Better Auth's passkey table, which its
passkey list and the app's own pages show ("MacBook", "YubiKey 5"). Auth.js stores
no passkey name: rename refuses there (exit 2).

CREDENTIAL_ID takes every form revoke takes: as stored, base64url, hex, or a unique
prefix of 8 or more characters as list shows it. The old name is printed, so a
rename can be undone with another one. An empty NAME clears the name.`,
		Example: `  passkeyctl --schema better-auth rename -- bxqWEqGAtp2q3o2I2YvsoQ "Alice's YubiKey"
  passkeyctl rename -- bxqWEqGA… "MacBook Air" -o json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageError{fmt.Errorf("rename takes a credential ID and a name (got %d arguments): passkeyctl rename -- CREDENTIAL_ID NAME", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Credential, opts.Name = args[0], args[1]
			opts.Output = f.Output()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return renameRun(cmd.Context(), opts)
		},
	}
	return cmd
}

func renameRun(ctx context.Context, opts *RenameOptions) error {
	if strings.ContainsAny(opts.Name, "\n\r\x00") {
		return usageError{errors.New("a passkey name is one line of text")}
	}
	st, err := opts.Store(ctx)
	if err != nil {
		return err
	}
	desc := st.Describe()
	if !desc.Named {
		return passkey.ErrNoPasskeyName
	}
	ps, err := st.ResolveCredentials(ctx, []string{opts.Credential})
	if err != nil {
		return err
	}
	raw, err := passkey.DecodeBase64(ps[0].CredentialID)
	if err != nil {
		return err
	}
	printTarget(opts.IO, opts.Target, desc)
	before, after, err := st.Rename(ctx, raw, opts.Name)
	if err != nil {
		return err
	}
	if isJSON(opts.Output) {
		return writeResult(opts.IO.Out, opts.Output, struct {
			Before passkey.Passkey `json:"before"`
			After  passkey.Passkey `json:"after"`
		}{before, after})
	}
	fmt.Fprintf(opts.IO.ErrOut, "Renamed passkey %s of user %s from %s to %q.\n", after.CredentialID, describeUser(after.UserID, after.Email), quoteName(before.Name), opts.Name)
	return nil
}

// quoteName is a passkey name for messages: quoted, or "no name".
func quoteName(name *string) string {
	if name == nil {
		return "no name"
	}
	return fmt.Sprintf("%q", *name)
}
