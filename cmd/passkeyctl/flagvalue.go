package main

import (
	"errors"
	"strings"

	"github.com/spf13/pflag"
)

// errEmptyFlag is why a flag given an empty value is refused.
var errEmptyFlag = errors.New(`empty value (an unset shell variable?): give a value, or leave the flag out`)

// nonEmptyString is a string flag that refuses "" (and blanks) when it is
// parsed. A flag that narrows what a command touches (--user, --credential,
// --provider-id, --schema, --tables) or names a file or database (--file,
// --backup, --dsn, --env-file, ...) must never quietly read an unset shell
// variable as "no value": `export --user "$EMAIL"` with EMAIL unset exported
// every user's passkeys, `revoke --user "" -- ID` dropped its ownership
// check, `revoke --backup "$BK"` would skip the backup. Given empty, such a
// flag is a usage error (exit 2), the same in every command.
type nonEmptyString struct{ p *string }

// nonEmptyStringVarP defines a nonEmptyString flag, as StringVarP does.
func nonEmptyStringVarP(fs *pflag.FlagSet, p *string, name, shorthand, value, usage string) {
	*p = value
	fs.VarP(nonEmptyString{p}, name, shorthand, usage)
}

func (v nonEmptyString) Set(s string) error {
	if strings.TrimSpace(s) == "" {
		return errEmptyFlag
	}
	*v.p = s
	return nil
}

func (v nonEmptyString) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

func (v nonEmptyString) Type() string { return "string" }

// nonEmptyStringArray is a repeatable nonEmptyString (each occurrence adds
// one value, as pflag's StringArray does).
type nonEmptyStringArray struct {
	p       *[]string
	changed bool
}

// nonEmptyStringArrayVar defines a nonEmptyStringArray flag.
func nonEmptyStringArrayVar(fs *pflag.FlagSet, p *[]string, name string, value []string, usage string) {
	*p = value
	fs.Var(&nonEmptyStringArray{p: p}, name, usage)
}

func (v *nonEmptyStringArray) Set(s string) error {
	if strings.TrimSpace(s) == "" {
		return errEmptyFlag
	}
	if !v.changed {
		*v.p = nil
		v.changed = true
	}
	*v.p = append(*v.p, s)
	return nil
}

func (v *nonEmptyStringArray) String() string {
	if v.p == nil || len(*v.p) == 0 {
		return "" // no "(default [])" in the help
	}
	return "[" + strings.Join(*v.p, ",") + "]"
}

func (v *nonEmptyStringArray) Type() string { return "stringArray" }

// nonEmptyStringArray also satisfies pflag.SliceValue. Read the values
// through the variable it fills, not pflag's GetStringArray, which
// re-parses String() as CSV (a path with a comma would split).
func (v *nonEmptyStringArray) GetSlice() []string { return *v.p }

func (v *nonEmptyStringArray) Append(s string) error { return v.Set(s) }

func (v *nonEmptyStringArray) Replace(ss []string) error {
	for _, s := range ss {
		if strings.TrimSpace(s) == "" {
			return errEmptyFlag
		}
	}
	*v.p = ss
	return nil
}
