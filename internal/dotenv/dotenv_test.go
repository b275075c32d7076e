package dotenv_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/dotenv"
)

func vars(t *testing.T, src string, env map[string]string) map[string]string {
	t.Helper()
	vs, _ := dotenv.Parse("t.env", []byte(src))
	vs, err := dotenv.Expand("t.env", vs, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, v := range vs {
		m[v.Name] = v.Value
	}
	return m
}

// The syntax of dotenv 16 and the expansion of dotenv-expand 10, as
// @next/env reads .env files.
func TestParse_likeNextEnv(t *testing.T) {
	src := "\ufeff# comment\n" +
		"PLAIN=value\n" +
		"  SPACED = spaced value  \n" +
		"export EXPORTED=yes\n" +
		"COLON: colon form\n" +
		"HASH=before#after\n" +
		"HASH_SPACE=before # after\n" +
		"DQ=\"a # b\\nc\"\n" +
		"SQ='single \\n $PLAIN'\n" +
		"BT=`back'tick\"`\n" +
		"MULTI=\"line1\nline2\"\n" +
		"EMPTY=\n" +
		"1BAD-NAME.x=ok\n" +
		"REF=${PLAIN}-$PLAIN-${MISSING:-dflt}-${MISSING}-\\$PLAIN\n" +
		"FROM_ENV=${HOME_DIR}/x\n" +
		"LATER=${DEFINED_BELOW}\n" +
		"DEFINED_BELOW=below\n" +
		"DUP=first\nDUP=second\n" +
		"DOLLARS=pa$$word\n" +
		"CRLF=crlf\r\n"
	got := vars(t, src, map[string]string{"HOME_DIR": "/home/op"})
	for k, want := range map[string]string{
		"PLAIN":         "value",
		"SPACED":        "spaced value",
		"EXPORTED":      "yes",
		"COLON":         "colon form",
		"HASH":          "before",
		"HASH_SPACE":    "before",
		"DQ":            "a # b\nc",
		"SQ":            "single \\n value",
		"BT":            "back'tick\"",
		"MULTI":         "line1\nline2",
		"EMPTY":         "",
		"1BAD-NAME.x":   "ok",
		"REF":           "value-value-dflt--$PLAIN",
		"FROM_ENV":      "/home/op/x",
		"LATER":         "below",
		"DEFINED_BELOW": "below",
		"DUP":           "second",
		"DOLLARS":       "pa$",
		"CRLF":          "crlf",
	} {
		if g, ok := got[k]; !ok || g != want {
			t.Errorf("%s = %q (set %v), want %q", k, g, ok, want)
		}
	}
}

// A line that is not an assignment is ignored with a warning that names
// the line, as Next.js ignores it.
func TestParse_ignoredLines(t *testing.T) {
	vs, warns := dotenv.Parse("app.env", []byte("FOO BAR\nA=1\nnot-a-line s3cretLine\n"))
	if len(vs) != 1 || vs[0].Name != "A" || vs[0].Line != 2 {
		t.Errorf("vars %+v", vs)
	}
	if len(warns) != 2 || warns[0].Error() != "app.env:1: not a NAME=value line; ignored, as Next.js ignores it (the line is not shown)" || warns[1].Line != 3 {
		t.Errorf("warnings %v", warns)
	}
	for _, w := range warns {
		if strings.Contains(w.Error(), "s3cretLine") || strings.Contains(w.Error(), "BAR") {
			t.Errorf("warning shows the line: %v", w)
		}
	}
}

// A quote never closed, or text after a closing quote, is read as dotenv
// reads it (the line, unquoted, up to any "#"), with a warning that names
// the file, line and variable but shows no value; the lines after it are
// read as usual.
func TestParse_brokenQuotesReadAsDotenv(t *testing.T) {
	for _, c := range []struct {
		src  string
		want map[string]string
		warn string
	}{
		{"A=1\nAUTH_SECRET=\"S3cretUnterminated\nGOOGLE_SECRET=G00gleS3cret\n",
			map[string]string{"A": "1", "AUTH_SECRET": `"S3cretUnterminated`, "GOOGLE_SECRET": "G00gleS3cret"},
			"app.env:2: AUTH_SECRET: the double quote that opens the value is never closed; read as Next.js reads it: the line up to any #, quote included (the value is not shown)"},
		{"AUTH_SECRET='S3cretUnterminated\n", map[string]string{"AUTH_SECRET": "'S3cretUnterminated"},
			"app.env:1: AUTH_SECRET: the single quote that opens the value is never closed; read as Next.js reads it: the line up to any #, quote included (the value is not shown)"},
		{"A=\"S3cret\nB=\"G00gleS3cret\"\n", map[string]string{"A": `"S3cret`, "B": "G00gleS3cret"},
			"app.env:1: A: text after the closing double quote on line 2; read as Next.js reads it: the line up to any #, quote included (the value is not shown)"},
		{"A='it's S3cret'\n", map[string]string{"A": "it's S3cret"},
			"app.env:1: A: text after the closing single quote on line 1; read as Next.js reads it: the line up to any #, quote included (the value is not shown)"},
		{"A=\"S3cret\\nx\" G00gle#c\n", map[string]string{"A": "\"S3cret\nx\" G00gle"},
			"app.env:1: A: text after the closing double quote on line 1; read as Next.js reads it: the line up to any #, quote included (the value is not shown)"},
	} {
		vs, warns := dotenv.Parse("app.env", []byte(c.src))
		got := map[string]string{}
		for _, v := range vs {
			got[v.Name] = v.Value
		}
		for k, w := range c.want {
			if got[k] != w {
				t.Errorf("%q: %s = %q, want %q", c.src, k, got[k], w)
			}
		}
		if len(warns) != 1 || warns[0].Error() != c.warn {
			t.Errorf("%q: warnings %v, want %s", c.src, warns, c.warn)
		}
		for _, w := range warns {
			for _, s := range []string{"S3cret", "G00gle"} {
				if strings.Contains(w.Error(), s) {
					t.Errorf("warning shows a value: %v", w)
				}
			}
		}
	}
}

// A reference that never ends is an error (for the app a stack overflow,
// after which @next/env drops the whole file); it names the file, line
// and variable, never a value.
func TestExpand_endlessReference(t *testing.T) {
	for _, src := range []string{"A=S3cret$A\n", "A=S3cret${B}\nB=G00gle$A\n"} {
		vs, _ := dotenv.Parse("app.env", []byte(src))
		_, err := dotenv.Expand("app.env", vs, func(string) (string, bool) { return "", false })
		var de *dotenv.Error
		if !errors.As(err, &de) || err.Error() != "app.env:1: A: its ${...} references expand without end (a variable that refers to itself?)" {
			t.Errorf("%q: %v", src, err)
		}
	}
}
