package main

import (
	"os"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// validatedStringFlags are string flags that may keep a plain string type:
// each one refuses "" through its own validation (an unknown format or
// policy, an origin that is no URL).
var validatedStringFlags = map[string]bool{"output": true, "on-conflict": true, "origin": true}

// Every string flag of every command refuses an empty value: through the
// shared nonEmptyString type (so "" is a usage error at parse time, exit
// 2), or its own validation listed above. A new --user, --file or path flag
// defined with fl.StringVar would bring back "empty means everything".
func TestFlags_emptyRefusedEverywhere(t *testing.T) {
	root := newRootCmd(&Factory{IO: &IOStreams{}, LookupEnv: os.LookupEnv})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		check := func(fl *pflag.Flag) {
			switch fl.Value.(type) {
			case nonEmptyString, *nonEmptyStringArray:
				return
			}
			if (fl.Value.Type() == "string" || fl.Value.Type() == "stringArray" || fl.Value.Type() == "stringSlice") && !validatedStringFlags[fl.Name] {
				t.Errorf("%s --%s is a plain %s flag: define it with nonEmptyStringVarP so that an empty value is refused", c.CommandPath(), fl.Name, fl.Value.Type())
			}
		}
		c.LocalNonPersistentFlags().VisitAll(check)
		c.PersistentFlags().VisitAll(check)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
