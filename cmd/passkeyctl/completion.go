package main

import (
	"context"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/store"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Shell completion (`passkeyctl completion bash|zsh|fish|powershell`, from
// cobra): every flag with a fixed set of values completes them, and --user
// and credential IDs complete from the database, as kubectl completes
// resource names from the cluster.

// completionValues are the values of the enumerated flags, by flag name.
var completionValues = map[string][]string{
	keyOutput:     {outputTable, outputJSON, outputJSONL},
	keySchema:     {"authjs", "better-auth"},
	"on-conflict": {"fail", "skip", "update"},
}

// completionFiles are the flags that take a path: the shell completes file
// names for them. Every other flag without values completes nothing rather
// than offering file names that cannot be right.
var completionFiles = map[string]bool{
	"env-file": true, "config": true, "file": true, "from-file": true, "backup": true,
	"tls-cert": true, "tls-key": true, "url-file": true, "audit-file": true,
}

// credentialArgCommands take credential IDs as arguments.
var credentialArgCommands = map[string]bool{"revoke": true}

// completionTimeout bounds a completion that reads the database: a shell
// must never hang on a slow or unreachable server.
const completionTimeout = 2 * time.Second

// completionLimit caps the values a database completion offers.
const completionLimit = 100

// registerCompletions attaches the completion functions to every command
// of the tree under root.
func registerCompletions(root *cobra.Command, f *Factory) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		register := func(fl *pflag.Flag) {
			var fn cobra.CompletionFunc
			switch {
			case completionValues[fl.Name] != nil:
				vals := completionValues[fl.Name]
				fn = cobra.FixedCompletions(vals, cobra.ShellCompDirectiveNoFileComp)
			case fl.Name == "user":
				fn = f.completeFromStore(store.Store.CompleteUsers)
			case fl.Name == "credential":
				fn = f.completeFromStore(store.Store.CompleteCredentialIDs)
			case completionFiles[fl.Name] || fl.Value.Type() == "bool":
				return
			default:
				fn = cobra.NoFileCompletions
			}
			// Registering twice (a persistent flag seen from a child) is an
			// error cobra reports; the first registration stands.
			_ = c.RegisterFlagCompletionFunc(fl.Name, fn)
		}
		if credentialArgCommands[c.Name()] && c.ValidArgsFunction == nil {
			c.ValidArgsFunction = f.completeFromStore(store.Store.CompleteCredentialIDs)
		}
		c.LocalNonPersistentFlags().VisitAll(register)
		if c == root {
			c.PersistentFlags().VisitAll(register)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// completeFromStore completes from the configured store: the DSN and
// settings resolve as for a command run (flags already on the command line,
// environment, --env-file, config file), the work is bounded by
// completionTimeout, and any failure completes nothing (a completion never
// prints an error or prompts).
func (f *Factory) completeFromStore(values func(store.Store, context.Context, string, int) ([]string, error)) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		parent := cmd.Context()
		if parent == nil {
			parent = context.Background()
		}
		ctx, cancel := context.WithTimeout(parent, completionTimeout)
		defer cancel()
		if f.loadConfig() != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		f.completing = true
		st, err := f.Store(ctx)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		out, err := values(st, ctx, toComplete, completionLimit)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
