// Package dotenv reads env files (an app's .env) as Next.js's @next/env
// reads them: the syntax of dotenv 16 and the ${VAR} expansion of
// dotenv-expand 10, which @next/env bundles, so that passkeyctl sees the
// values the app sees. What dotenv passes over in silence (a line that is
// no assignment, a quote never closed, text after a closing quote) is read
// as dotenv reads it and reported as a warning. No message ever contains a
// value, only the file, the line and the variable's name: env files hold
// secrets.
//
// The package reads no environment variables itself: Expand takes the
// environment as a lookup function.
package dotenv

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// Var is one assignment of an env file.
type Var struct {
	Name  string
	Value string
	// Line is where the assignment starts (1-based).
	Line int
}

// Error is a problem in an env file. Its message names the file, the line
// and, when there is one, the variable; never a value.
type Error struct {
	Path   string
	Line   int
	Name   string
	Reason string
}

// Error is "PATH:LINE: NAME: REASON" (no NAME for a line without one).
func (e *Error) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Reason)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.Path, e.Line, e.Name, e.Reason)
}

// Parse reads data, the contents of the env file at path, as dotenv 16
// does: NAME=value or NAME: value, an optional "export " prefix, names of
// letters, digits, "_", "." and "-", "#" comments (an unquoted value ends at
// its first "#"), values in single, double or backtick quotes that may span
// lines, "\n" and "\r" escapes inside double quotes only, a leading UTF-8
// byte order mark, CRLF line ends. A later assignment of a name replaces an
// earlier one (the variable keeps its first position). Lines that are no
// assignment are left out, as dotenv leaves them out; a quoted value that
// is never closed, or has text after its closing quote, is read as dotenv
// reads it (the line up to any "#", as an unquoted value); both are
// reported as warnings. Like dotenv, Parse reads any input.
func Parse(path string, data []byte) (vars []Var, warnings []*Error) {
	src := strings.TrimPrefix(string(data), "\ufeff")
	src = strings.ReplaceAll(src, "\r\n", "\n")
	src = strings.ReplaceAll(src, "\r", "\n")
	index := map[string]int{}
	line := 1
	for len(src) > 0 {
		start := line
		var text string
		text, src = cutLine(src)
		line++
		rest := strings.TrimLeftFunc(text, unicode.IsSpace)
		if rest == "" || strings.HasPrefix(rest, "#") {
			continue
		}
		if r, ok := strings.CutPrefix(rest, "export"); ok && r != "" && unicode.IsSpace(rune(r[0])) {
			rest = strings.TrimLeftFunc(r, unicode.IsSpace)
		}
		name := rest[:len(rest)-len(strings.TrimLeftFunc(rest, isNameChar))]
		rest = rest[len(name):]
		afterSep, ok := cutSeparator(rest)
		if name == "" || !ok {
			warnings = append(warnings, &Error{Path: path, Line: start, Reason: "not a NAME=value line; ignored, as Next.js ignores it (the line is not shown)"})
			continue
		}
		value := strings.TrimLeft(afterSep, " \t\v\f\u00a0\ufeff")
		quotedOK := false
		if value != "" && strings.ContainsRune("'\"`", rune(value[0])) {
			q := value[0]
			// The quoted value may run over the following lines.
			body, after, closed, lines := quoted(value[1:]+"\n"+src, q)
			tail, rest := cutLine(after)
			if t := strings.TrimLeftFunc(tail, unicode.IsSpace); closed && (t == "" || strings.HasPrefix(t, "#")) {
				if q == '"' {
					body = strings.ReplaceAll(body, `\n`, "\n")
					body = strings.ReplaceAll(body, `\r`, "\r")
				}
				value, src, line, quotedOK = body, rest, start+lines+1, true
			} else {
				// dotenv then reads the line as an unquoted value (below),
				// and so does the app: say so, without the value.
				reason := fmt.Sprintf("the %s that opens the value is never closed", quoteName(q))
				if closed {
					reason = fmt.Sprintf("text after the closing %s on line %d", quoteName(q), start+lines)
				}
				warnings = append(warnings, &Error{Path: path, Line: start, Name: name, Reason: reason + "; read as Next.js reads it: the line up to any #, quote included (the value is not shown)"})
			}
		}
		if !quotedOK {
			if i := strings.IndexByte(value, '#'); i >= 0 {
				value = value[:i]
			}
			value = strings.TrimFunc(value, unicode.IsSpace)
			// dotenv's last steps: \n and \r in a value that starts with a
			// double quote, and quotes around the whole value dropped.
			if strings.HasPrefix(value, `"`) {
				value = strings.ReplaceAll(value, `\n`, "\n")
				value = strings.ReplaceAll(value, `\r`, "\r")
			}
			if len(value) >= 2 && strings.ContainsRune("'\"`", rune(value[0])) && value[len(value)-1] == value[0] {
				value = value[1 : len(value)-1]
			}
		}
		if i, ok := index[name]; ok {
			vars[i].Value, vars[i].Line = value, start
			continue
		}
		index[name] = len(vars)
		vars = append(vars, Var{Name: name, Value: value, Line: start})
	}
	return vars, warnings
}

// cutLine splits s at its first newline.
func cutLine(s string) (line, rest string) {
	line, rest, _ = strings.Cut(s, "\n")
	return line, rest
}

// isNameChar is dotenv's [\w.-].
func isNameChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-'
}

// cutSeparator removes dotenv's separator, "=" with optional blanks around
// it or ":" followed by a blank, from the text after a name.
func cutSeparator(s string) (string, bool) {
	t := strings.TrimLeft(s, " \t")
	if r, ok := strings.CutPrefix(t, "="); ok {
		return r, true
	}
	if r, ok := strings.CutPrefix(s, ":"); ok && r != "" && (r[0] == ' ' || r[0] == '\t') {
		return r, true
	}
	return "", false
}

// quoted reads a quoted value from s (just after its opening quote q) as
// dotenv's pattern q(?:\\q|[^q])*q does: a backslash before q escapes it
// (the backslash stays), anything else, newlines included, is content. It
// returns the content, what follows the closing quote, whether there was
// one, and how many newlines the content spans.
func quoted(s string, q byte) (body, after string, closed bool, lines int) {
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == q:
			i++
		case s[i] == q:
			return s[:i], s[i+1:], true, strings.Count(s[:i], "\n")
		}
	}
	return "", "", false, 0
}

func quoteName(q byte) string {
	switch q {
	case '\'':
		return "single quote"
	case '`':
		return "backtick"
	}
	return "double quote"
}

// reference is dotenv-expand 10's ${NAME}, $NAME or ${NAME:-default},
// matched at the last unescaped "$" of a value.
var reference = regexp.MustCompile(`^\$\{?(\w+)(?::-([^}\\]*))?\}?`)

// maxExpansions bounds the substitutions in one value: a variable that
// refers to itself would otherwise expand for ever.
const maxExpansions = 1000

// Expand resolves the ${NAME} and $NAME references of vars (one file's, in
// file order) as dotenv-expand 10 does: repeatedly the right-most unescaped
// "$", replaced by env's value if set and not empty, else the ":-" default,
// else the file's own variable of that name, else ""; then "\$" becomes
// "$". Unlike dotenv-expand, a variable the file sets keeps the file's value
// even when env also sets it: the operator named the file explicitly. env
// is the environment the references see (for layered files: the
// variables of the files read before, then the process environment).
func Expand(path string, vars []Var, env func(string) (string, bool)) ([]Var, error) {
	parsed := make(map[string]string, len(vars))
	for _, v := range vars {
		parsed[v.Name] = v.Value
	}
	out := make([]Var, len(vars))
	for i, v := range vars {
		value, ok := interpolate(v.Value, env, parsed)
		if !ok {
			return nil, &Error{Path: path, Line: v.Line, Name: v.Name, Reason: "its ${...} references expand without end (a variable that refers to itself?)"}
		}
		value = strings.ReplaceAll(value, `\$`, "$")
		parsed[v.Name] = value
		out[i] = Var{Name: v.Name, Value: value, Line: v.Line}
	}
	return out, nil
}

func interpolate(value string, env func(string) (string, bool), parsed map[string]string) (string, bool) {
	for n := 0; n < maxExpansions && len(value) < 1<<20; n++ {
		i := lastUnescapedDollar(value)
		if i < 0 {
			return value, true
		}
		m := reference.FindStringSubmatch(value[i:])
		if m == nil {
			return value, true
		}
		group, name, def := m[0], m[1], m[2]
		rep, _ := env(name)
		if rep == "" {
			rep = def
		}
		if rep == "" {
			rep = parsed[name]
		}
		value = jsReplaceFirst(value, group, rep)
	}
	return "", false
}

// lastUnescapedDollar is the index of the last "$" not preceded by a
// backslash, or -1.
func lastUnescapedDollar(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '$' && (i == 0 || s[i-1] != '\\') {
			return i
		}
	}
	return -1
}

// jsReplaceFirst is JavaScript's s.replace(pattern, replacement) with a
// string pattern, which dotenv-expand uses: the first occurrence is
// replaced, and "$$", "$&", "$`" and "$'" in the replacement are
// JavaScript's special patterns (so a "$$" in a referenced value becomes
// "$", as it does for the app).
func jsReplaceFirst(s, pattern, replacement string) string {
	at := strings.Index(s, pattern)
	if at < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(replacement); i++ {
		if replacement[i] != '$' || i+1 == len(replacement) {
			b.WriteByte(replacement[i])
			continue
		}
		switch replacement[i+1] {
		case '$':
			b.WriteByte('$')
		case '&':
			b.WriteString(pattern)
		case '`':
			b.WriteString(s[:at])
		case '\'':
			b.WriteString(s[at+len(pattern):])
		default:
			b.WriteByte('$')
			continue
		}
		i++
	}
	return s[:at] + b.String() + s[at+len(pattern):]
}
