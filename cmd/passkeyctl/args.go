package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// noArgs refuses positional arguments like cobra.NoArgs, whose message
// ("unknown command") misleads for a command without subcommands. hint,
// when set, turns the stray argument into the flag the user probably
// meant: `list alice@example.com` -> "pass --user alice@example.com".
func noArgs(hint func(arg string) string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		// "list", "migrate status": the error line already starts with
		// "passkeyctl: ".
		path := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
		msg := fmt.Sprintf("%s takes no arguments, got %s", path, quoteArgs(args))
		if hint != nil {
			msg += ": " + hint(args[0])
		}
		return usageError{fmt.Errorf("%s", msg)}
	}
}

// userHint is the hint of commands that take the user as --user.
func userHint(what string) func(string) string {
	return func(arg string) string {
		return fmt.Sprintf("to %s one user's passkeys, pass --user %s", what, arg)
	}
}

// quoteArgs lists arguments for a message, at most three of them.
func quoteArgs(args []string) string {
	q := make([]string, 0, 3)
	for i, a := range args {
		if i == 3 {
			q = append(q, fmt.Sprintf("and %d more", len(args)-3))
			break
		}
		q = append(q, fmt.Sprintf("%q", a))
	}
	return strings.Join(q, " ")
}
