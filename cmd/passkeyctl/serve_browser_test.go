package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/passkeyctl/passkeyctl/internal/ceremony/softauth"
	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
)

// chromiumPath is the browser the end-to-end test drives; CI installs it
// (Debian package chromium). PASSKEYCTL_CHROMIUM overrides it.
func chromiumPath() string {
	if p := os.Getenv("PASSKEYCTL_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// TestServe_browser runs `passkeyctl serve` as a process and a real,
// headless Chromium with the DevTools virtual authenticator (CTAP2,
// internal transport, resident keys, user verification) against it:
// enrol, check the rows byte for byte against the Auth.js encoding of the
// credential the authenticator holds, test it, then alter the stored key
// and see the test fail with exit 5. On PostgreSQL and MariaDB. A missing
// Chromium fails the test: CI must not pass by skipping.
func TestServe_browser(t *testing.T) {
	if _, err := os.Stat(chromiumPath()); err != nil {
		t.Fatalf("Chromium is required for the browser test (install the chromium package, or set PASSKEYCTL_CHROMIUM): %v", err)
	}
	bin := buildPasskeyctl(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath()),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if _, err := chromedp.Call(browser, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}

	for _, dialect := range []string{"postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) {
			dsn, d := dbtest.Migrated(t, dialect)
			s, err := d.Detect(ctx)
			if err != nil {
				t.Fatal(err)
			}
			q := d.Dialect.Rebind("INSERT INTO " + d.Q("User") + " (" + d.Q("id") + ", " + d.Q("email") + ", " + d.Q("updatedAt") + ") VALUES (?, ?, ?)")
			if _, err := d.X.Exec(q, "u-alice", "alice@example.com", time.Now().UTC()); err != nil {
				t.Fatal(err)
			}

			added, err := chromedp.Call(browser, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
				Options: &webauthn.VirtualAuthenticatorOptions{
					Protocol:                    webauthn.AuthenticatorProtocolCtap2,
					Ctap2version:                webauthn.Ctap2versionCtap21,
					Transport:                   webauthn.AuthenticatorTransportInternal,
					HasResidentKey:              true,
					HasUserVerification:         true,
					IsUserVerified:              true,
					AutomaticPresenceSimulation: true,
					DefaultBackupEligibility:    true,
					DefaultBackupState:          true,
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			authID := added.AuthenticatorID
			defer chromedp.Call(browser, webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: authID})

			// Enrol.
			p := startServe(t, bin, "--dsn", dsn, "serve", "--enroll", "--user", "alice@example.com", "--timeout", "30s")
			status, msg := runPage(t, browser, p.url(t))
			code, stdout, stderr := p.wait(t)
			if status != "ok" || code != 0 {
				t.Fatalf("enrol: page %s %q, exit %d\nstderr: %s", status, msg, code, stderr)
			}
			creds := credentials(t, browser, authID)
			if len(creds) != 1 {
				t.Fatalf("%d credentials in the authenticator", len(creds))
			}
			c := creds[0]
			id := base64.StdEncoding.EncodeToString(c.CredentialID)
			if !strings.Contains(stdout, id) || !strings.Contains(stdout, "alice@example.com") {
				t.Errorf("stdout does not show the passkey as list does:\n%s", stdout)
			}
			key, err := x509.ParsePKCS8PrivateKey(c.PrivateKey)
			if err != nil {
				t.Fatal(err)
			}
			soft := &softauth.Authenticator{Key: key.(crypto.Signer)}
			got := readAuthjsRows(t, d, id)
			want := authjsRows{
				CredentialID:         id,
				UserID:               "u-alice",
				ProviderAccountID:    id,
				CredentialPublicKey:  base64.StdEncoding.EncodeToString(soft.COSEKey()),
				Counter:              int64(c.SignCount),
				CredentialDeviceType: "multiDevice",
				CredentialBackedUp:   true,
				Transports:           sql.NullString{String: "internal", Valid: true},
				AccountUserID:        "u-alice",
				AccountType:          "webauthn",
				AccountProvider:      "passkey",
			}
			if got != want {
				t.Fatalf("rows are not what Auth.js writes for this credential\n got %+v\nwant %+v", got, want)
			}
			if !c.IsResidentCredential || !bytes.Equal(c.UserHandle, bytes.ToLower(c.UserHandle)) || len(c.UserHandle) != 64 {
				t.Errorf("credential: resident %v, user handle %q", c.IsResidentCredential, c.UserHandle)
			}
			pk, err := d.GetPasskey(ctx, s, c.CredentialID, "passkey")
			if err != nil || pk.Status != passkey.StatusOK {
				t.Fatalf("GetPasskey: %+v %v", pk, err)
			}
			t.Logf("Chromium enrolled a %s passkey; transports %q", pk.Algorithm, got.Transports.String)

			if dialect == "postgres" {
				// The same authenticator again: Chromium refuses it
				// (excludeCredentials) and the page says so in plain words;
				// the operator gives up with Ctrl-C: exit 130.
				p = startServe(t, bin, "--dsn", dsn, "serve", "--enroll", "--user", "alice@example.com", "--timeout", "30s")
				status, msg = runPage(t, browser, p.url(t))
				if status != "error" || !strings.HasPrefix(msg, "This authenticator is already registered for this user.") {
					t.Fatalf("enrol twice: page %s %q\nstderr: %s", status, msg, p.stderr.String())
				}
				// The page shows the error as soon as the browser refuses;
				// the server logs the report it then receives a moment
				// later: wait for it (a loaded machine), then interrupt.
				for deadline := time.Now().Add(10 * time.Second); !strings.Contains(p.stderr.String(), "the browser reported") && time.Now().Before(deadline); {
					time.Sleep(20 * time.Millisecond)
				}
				p.cmd.Process.Signal(os.Interrupt)
				code, _, stderr = p.wait(t)
				if code != exitInterrupted || !strings.Contains(stderr, "the browser reported InvalidStateError") || !strings.Contains(stderr, "passkeyctl: interrupted by SIGINT: ceremony cancelled: nothing was written") {
					t.Errorf("exit %d, stderr: %s", code, stderr)
				}
			}

			// Test, with JSON events.
			p = startServe(t, bin, "--dsn", dsn, "-o", "json", "serve", "--test", "--user", "alice@example.com", "--timeout", "30s")
			status, msg = runPage(t, browser, p.url(t))
			code, stdout, stderr = p.wait(t)
			if status != "ok" || code != 0 {
				t.Fatalf("test: page %s %q, exit %d\nstderr: %s", status, msg, code, stderr)
			}
			var ev struct {
				Event   string
				Passkey passkey.Passkey
			}
			if err := json.Unmarshal([]byte(lastLine(stdout)), &ev); err != nil || ev.Event != "verified" || ev.Passkey.CredentialID != id {
				t.Fatalf("last event %q: %+v %v", lastLine(stdout), ev, err)
			}
			after := credentials(t, browser, authID)[0].SignCount
			if n := readAuthjsRows(t, d, id).Counter; n != int64(after) || ev.Passkey.Counter != n {
				t.Fatalf("stored counter %d, event %d, authenticator %v", n, ev.Passkey.Counter, after)
			}

			// Alter the stored key: the same authenticator now fails.
			other, err := softauth.New(softauth.ES256)
			if err != nil {
				t.Fatal(err)
			}
			q = d.Dialect.Rebind("UPDATE " + d.Q("Authenticator") + " SET " + d.Q("credentialPublicKey") + " = ? WHERE " + d.Q("credentialID") + " = ?")
			if _, err := d.X.Exec(q, base64.StdEncoding.EncodeToString(other.COSEKey()), id); err != nil {
				t.Fatal(err)
			}
			p = startServe(t, bin, "--dsn", dsn, "serve", "--test", "--timeout", "30s")
			status, msg = runPage(t, browser, p.url(t))
			code, _, stderr = p.wait(t)
			if status != "error" || code != exitCeremony {
				t.Fatalf("altered key: page %s %q, exit %d\nstderr: %s", status, msg, code, stderr)
			}
			if !strings.Contains(msg, "signature does not match") || !strings.Contains(stderr, "did not verify") {
				t.Errorf("page %q\nstderr %s", msg, stderr)
			}
			if n := readAuthjsRows(t, d, id).Counter; n != int64(after) {
				t.Errorf("counter changed to %d by a failed test", n)
			}
		})
	}
}

// buildPasskeyctl builds the command once per test run.
func buildPasskeyctl(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "passkeyctl")
	// The go command runs test binaries with GOROOT set; PATH may lack it.
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// serveProc is a running `passkeyctl serve`.
type serveProc struct {
	cmd    *exec.Cmd
	first  chan string
	rest   *lockedBuffer
	stderr *lockedBuffer
	done   chan error
	line   string
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startServe(t *testing.T, bin string, args ...string) *serveProc {
	t.Helper()
	p := &serveProc{first: make(chan string, 1), rest: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = t.TempDir() // no passkeyctl.yaml from the package directory
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + p.cmd.Dir}
	p.cmd.Stderr = p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r := bufio.NewReader(out)
		line, _ := r.ReadString('\n')
		p.first <- line
		io.Copy(p.rest, r)
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
		}
	})
	return p
}

// url is the page URL: the first stdout line, plain or a JSON event.
func (p *serveProc) url(t *testing.T) string {
	t.Helper()
	select {
	case p.line = <-p.first:
	case <-time.After(20 * time.Second):
		t.Fatalf("no URL on stdout; stderr: %s", p.stderr.String())
	}
	line := strings.TrimSpace(p.line)
	if strings.HasPrefix(line, "{") {
		var ev struct{ Event, URL string }
		if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Event != "listening" {
			t.Fatalf("first line %q: %v", line, err)
		}
		return ev.URL
	}
	if !strings.HasPrefix(line, "http://localhost:") {
		t.Fatalf("first stdout line %q is not the URL; stderr: %s", line, p.stderr.String())
	}
	return line
}

// wait returns the exit code and the whole stdout and stderr.
func (p *serveProc) wait(t *testing.T) (int, string, string) {
	t.Helper()
	var err error
	select {
	case err = <-p.done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		t.Fatalf("serve did not exit; stderr: %s", p.stderr.String())
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, p.line + p.rest.String(), p.stderr.String()
}

// runPage opens the ceremony page, presses #start and returns the outcome
// the page shows.
func runPage(t *testing.T, browser context.Context, url string) (status, message string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(browser, 25*time.Second)
	defer cancel()
	err := chromedp.Do(ctx,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.ID("start")),
		chromedp.Click(chromedp.ID("start")),
		chromedp.WaitVisible(chromedp.CSS("#result[data-status]")),
	)
	if err != nil {
		t.Fatalf("drive the page %s: %v", url, err)
	}
	if message, err = chromedp.Run(ctx, chromedp.Text(chromedp.ID("result"))); err != nil {
		t.Fatal(err)
	}
	attr, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("result"), "data-status"))
	if err != nil {
		t.Fatal(err)
	}
	return attr.Value, message
}

func credentials(t *testing.T, browser context.Context, id webauthn.AuthenticatorID) []*webauthn.Credential {
	t.Helper()
	res, err := chromedp.Call(browser, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	if err != nil {
		t.Fatal(err)
	}
	return res.Credentials
}

// authjsRows is an Authenticator row and its Account row as stored.
type authjsRows struct {
	CredentialID, UserID, ProviderAccountID, CredentialPublicKey, CredentialDeviceType string
	Counter                                                                            int64
	CredentialBackedUp                                                                 bool
	Transports                                                                         sql.NullString
	AccountUserID, AccountType, AccountProvider                                        string
}

func readAuthjsRows(t *testing.T, d *db.DB, id string) authjsRows {
	t.Helper()
	var r authjsRows
	c := func(alias, col string) string { return alias + "." + d.Q(col) }
	q := d.Dialect.Rebind("SELECT " + strings.Join([]string{
		c("a", "credentialID"), c("a", "userId"), c("a", "providerAccountId"), c("a", "credentialPublicKey"), c("a", "credentialDeviceType"),
		c("a", "counter"), c("a", "credentialBackedUp"), c("a", "transports"), c("ac", "userId"), c("ac", "type"), c("ac", "provider"),
	}, ", ") + " FROM " + d.Q("Authenticator") + " a JOIN " + d.Q("Account") + " ac ON " + c("ac", "providerAccountId") + " = " + c("a", "providerAccountId") +
		" WHERE " + c("a", "credentialID") + " = ?")
	err := d.X.QueryRow(q, id).Scan(&r.CredentialID, &r.UserID, &r.ProviderAccountID, &r.CredentialPublicKey, &r.CredentialDeviceType,
		&r.Counter, &r.CredentialBackedUp, &r.Transports, &r.AccountUserID, &r.AccountType, &r.AccountProvider)
	if err != nil {
		t.Fatalf("read the rows of %s: %v", id, err)
	}
	return r
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
