package db_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
)

// secretPieces lists what must never be printed for a password: the
// password in every encoding, and each piece of it between the characters
// that break URL parsing (a message that cut the DSN at a raw "@" or "#"
// printed the rest).
func secretPieces(pw string) []string {
	out := []string{pw, url.PathEscape(pw), url.QueryEscape(pw), strings.TrimPrefix(url.UserPassword("", pw).String(), ":")}
	for _, p := range strings.FieldsFunc(pw, func(r rune) bool { return strings.ContainsRune("@#/?%:&= ", r) }) {
		if len(p) >= 4 {
			out = append(out, p)
		}
	}
	return out
}

// DSNs with a typo are refused before any driver sees them (ErrInvalid),
// and neither the error nor the redacted description shows any piece of
// the password.
func TestParseDSN_typosNeverShowPassword(t *testing.T) {
	for _, c := range []struct{ dsn, pw string }{
		{"app:S3cretTypo1@db.example.com:5432/app", "S3cretTypo1"},      // no scheme
		{"postgres:/postgres:S3cretTypo2@127.0.0.1/db", "S3cretTypo2"},  // one slash
		{"postgres//app:S3cretTypo3@db/app", "S3cretTypo3"},             // no colon
		{"postgres:app:S3cretTypo4@db/app", "S3cretTypo4"},              // no slashes
		{"postgresql:/app:S3cretTypo5@db:5432/app", "S3cretTypo5"},      // one slash
		{"postgres://app:Rw9x@Pq7z#Wd1k@db/app", "Rw9x@Pq7z#Wd1k"},      // raw @ and #
		{"postgres://app:Hq2m#Zt6v@db/app", "Hq2m#Zt6v"},                // raw #
		{"postgres://app:Jk4n?Lp8w@db/app", "Jk4n?Lp8w"},                // raw ?
		{"postgres://app:Mv3b/Nc5x@db/app", "Mv3b/Nc5x"},                // raw /
		{"postgres://app:12/Bq7yUu@db/app", "12/Bq7yUu"},                // raw / after digits: parses as a port
		{"postgres://app:Gf5t%Yh6u@db/app", "Gf5t%Yh6u"},                // raw %
		{"postgres://app:Kd7s@Wq1e@db/app", "Kd7s@Wq1e"},                // raw @ only
		{"postgres://app:Ax4c'Vb8n@db/app", "Ax4c'Vb8n"},                // a quote: redaction used to stop at it... parses, see below
		{"postgres://app:Sp4c Ee9r@db/app", "Sp4c Ee9r"},                // a space
		{"postgres://app:Tr5y@db/app#frag", "Tr5y"},                     // a fragment
		{"mysql:/root:My5qlTypo@127.0.0.1/db", "My5qlTypo"},             // one slash
		{"mysql:root:My6qlTypo@127.0.0.1:3306/db", "My6qlTypo"},         // no slashes
		{"mysql://root:Zx3c#Vb4n@127.0.0.1:3306/db", "Zx3c#Vb4n"},       // raw #
		{"mysql://root:Qw8e@Rt9y@127.0.0.1:3306/db", "Qw8e@Rt9y"},       // raw @
		{"root:Go7drvPw@tcp(127.0.0.1:3306)/db", "Go7drvPw"},            // go-sql-driver's own form
		{"user:Ns8chm3x@host/db", "Ns8chm3x"},                           // no scheme at all
		{"host=db user=app password=Kv9lPw dbname=app", "Kv9lPw"},       // libpq key=value
		{"redis://admin:Rd1s@Pw2x#Yz3q@cache:6379/0", "Rd1s@Pw2x#Yz3q"}, // unsupported scheme, raw @ #
		{"sqlite://user:Sq1tePw@host/db", "Sq1tePw"},                    // userinfo in a file DSN
		{"file://user:Sq2tePw@host/db", "Sq2tePw"},                      // userinfo in a file DSN
		{"Bare9Secret", "Bare9Secret"},                                  // a password pasted as the DSN
		{"postgres://app:Pc5nt%2@db/app", "Pc5nt"},                      // a bad escape
		{"  postgres:/app:Ws1pace@db/app  ", "Ws1pace"},                 // surrounding blanks
		{"POSTGRES:/app:Up1case@db/app", "Up1case"},                     // upper-case scheme
		{"postgres://app:Nl1ne\n@db/app", "Nl1ne"},                      // a control character
		{"postgres://app:Tb1ab\t@db/app", "Tb1ab"},                      // a tab
		{"postgres://ap@p:Us3rAt@db/app", "Us3rAt"},                     // raw @ in the user name
		{"postgres://app:Pw7@db/app?application_name=a@b", "Pw7"},       // @ in a parameter: ambiguous
		{"mysql://root:My7#@127.0.0.1:3306/db?x=1", "My7#"},             // # just before @
	} {
		t.Run(c.dsn, func(t *testing.T) {
			tg, err := db.ParseDSN(c.dsn)
			if c.pw == "Ax4c'Vb8n" {
				// A quote is legal in a URL's userinfo: it parses, and
				// the redacted form hides it.
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range secretPieces(c.pw) {
					if strings.Contains(tg.Redacted, p) {
						t.Fatalf("redacted form %q shows %q", tg.Redacted, p)
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("parsed (driver DSN withheld); want ErrInvalid")
			}
			if !errors.Is(err, passkey.ErrInvalid) {
				t.Errorf("err %v, want ErrInvalid", err)
			}
			msg := err.Error() + "\n" + db.DescribeDSN(c.dsn)
			for _, p := range secretPieces(c.pw) {
				if len(p) >= 3 && strings.Contains(msg, p) {
					t.Errorf("output shows %q:\n%s", p, msg)
				}
			}
			t.Log(err)
		})
	}
}

// DescribeDSN shows a DSN that parses in its redacted form, and of one
// that does not at most its scheme.
func TestDescribeDSN(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://app:pw@db:5432/app?schema=x":  "postgres://app:xxxxx@db:5432/app?schema=x",
		"postgres://app:p'w@db:5432/app":          "postgres://app:xxxxx@db:5432/app",
		"mysql://root@127.0.0.1:3306/test":        "mysql://root@127.0.0.1:3306/test",
		"sqlite:auth.db":                          "sqlite:auth.db",
		"postgres:/app:pw@db/app":                 "postgres:…",
		"app:pw@db/app":                           "(a DSN that cannot be parsed; not shown)",
		"postgres://app:p@w@db/app":               "postgres://…",
		"redis://u:pw@cache":                      "redis://…",
		"postgres://h/db?password=s3cret&x=1":     "postgres://h/db?password=xxxxx&x=1",
		"postgres://app:pw@db/app?sslpassword=zz": "postgres://app:xxxxx@db/app?sslpassword=xxxxx",
	} {
		if got := db.DescribeDSN(in); got != want {
			t.Errorf("DescribeDSN(%q) = %q, want %q", in, got, want)
		}
	}
}

// Redact, the last line of defence applied to every error message, hides
// everything up to the last "@" of a URL: a password with a raw "@" and
// "#" used to show its second half.
func TestRedact_rawSpecialCharacters(t *testing.T) {
	for _, in := range []string{
		"cannot connect to postgres://app:Rw9x@Pq7z#Wd1k@db/app: boom",
		"x redis://admin:Rd1s@Pw2x#Yz3q@cache:6379/0 y",
		"postgres://app:Jk4n?Lp8w@db/app",
	} {
		got := db.Redact(in)
		for _, p := range []string{"Rw9x", "Pq7z", "Wd1k", "Rd1s", "Pw2x", "Yz3q", "Jk4n", "Lp8w"} {
			if strings.Contains(got, p) {
				t.Errorf("Redact(%q) = %q shows %q", in, got, p)
			}
		}
	}
}
