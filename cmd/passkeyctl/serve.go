package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"html"
	"io"
	"net/mail"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/ceremony"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
	"github.com/spf13/cobra"
)

// ServeOptions are the inputs of `passkeyctl serve`.
type ServeOptions struct {
	IO         *IOStreams
	Store      func(context.Context) (store.Store, error)
	Output     string
	ProviderID string
	Now        func() time.Time
	// Target describes the database the ceremony writes to.
	Target targetFunc
	// Rand feeds the URL token, challenges, user handles and ids.
	Rand io.Reader
	// OpenBrowser opens a URL for --open.
	OpenBrowser func(url string) error
	// AuditReady checks, before an enrolment's ceremony, that its audit
	// entry can be written (the --audit-file opens): no operator goes
	// through the ceremony for a write that then refuses.
	AuditReady func() error

	Enroll     bool
	Test       bool
	User       string
	CreateUser bool
	Credential string
	ReadOnly   bool
	Name       string
	RPID       string
	RPName     string
	Origins    []string
	Listen     string
	Timeout    time.Duration
	TLSCert    string
	TLSKey     string
	Open       bool
	// URLFile receives the page URL once the server listens (--url-file).
	URLFile string
}

func newCmdServe(f *Factory, runF func(context.Context, *ServeOptions) error) *cobra.Command {
	opts := &ServeOptions{IO: f.IO, Store: f.Store, Now: f.Now, Rand: rand.Reader, OpenBrowser: openBrowser, Target: f.describeTarget,
		AuditReady: func() error {
			a, err := f.auditContext()
			if err != nil {
				return err
			}
			return a.Ready()
		}}
	cmd := &cobra.Command{
		Use:   "serve (--enroll --user USER | --test [--user USER | --credential ID])",
		Short: "Enrol or test one passkey through a one-shot local WebAuthn page",
		Long: `Run one WebAuthn ceremony in a browser, the way the app's Auth.js Passkey provider
(or Better Auth's passkey plugin) does, on a temporary page served by passkeyctl.

  --enroll  creates a passkey for --user and writes it exactly as the app does: for
            Auth.js the Authenticator row and its Account row, in one transaction;
            for Better Auth one row of its passkey table (see --schema).
  --test    checks that a stored passkey signs in as the app would (stored key, user
            verification, counter rule) and updates its counter, as a sign-in does;
            with --read-only it writes nothing (for a database role that may only
            read: the output says the counter was not advanced).

The page's URL, with a random one-time token, is the first line on stdout; open it
in a browser (--open does). Messages go to stderr. Exactly one ceremony runs: on
success the passkey is printed as 'list' shows it and the exit code is 0; a failure
or --timeout exits 5, Ctrl-C 130 (SIGTERM 143), and writes nothing. With -o json or -o jsonl, stdout is
JSON lines: {"event":"listening","url":...}, then {"event":"enrolled"|"verified",
"passkey":{...list fields...}} or {"event":"failed","error":...}.

A passkey works only in apps whose rpID (Auth.js: the host name of AUTH_URL; Better
Auth: passkey({ rpID }), else the host name of its base URL) is the one it was
created for, and browsers create passkeys only on pages whose host is the rpID or a
subdomain of it, over https:// (or on http://localhost). So:
  - the default, --rp-id localhost, makes passkeys for an app on http://localhost;
  - for production, pass --rp-id example.com and --origin https://<host under
    example.com>, and serve the page there: either with TLS on this host
    (--listen 0.0.0.0:443 --tls-cert --tls-key), or behind the app's reverse proxy,
    which terminates TLS and forwards to --listen (it must pass the Host header on).
A --listen address other machines can reach needs --tls-cert/--tls-key, or an
https --origin served through such a proxy.

The options mirror the Auth.js Passkey provider: resident key and user verification
required, attestation none, algorithms EdDSA, ES256 and RS256, the user's passkeys in
excludeCredentials, and a fresh random 64-hex-character user handle (never stored).

USER is a User.id or an e-mail address. --create-user creates the User row (with that
e-mail) in the same transaction as the passkey when no such user exists. A
credential ID for --credential may be base64, base64url or hex; one that starts
with "-" must be given as --credential=-...`,
		Example: `  # Enrol a passkey for Alice in the app running on http://localhost:3000
  passkeyctl serve --enroll --user alice@example.com --open

  # A new user, created together with the passkey
  passkeyctl serve --enroll --user bob@example.com --create-user

  # Prove that a stored passkey still signs in (any passkey, or one user's)
  passkeyctl serve --test
  passkeyctl serve --test --user alice@example.com

  # The same with a read-only database role: nothing is written
  passkeyctl serve --test --user alice@example.com --read-only

  # Production: TLS on this host, the page at https://passkeys.example.com
  passkeyctl serve --enroll --user alice@example.com --rp-id example.com \
    --origin https://passkeys.example.com --listen 0.0.0.0:443 \
    --tls-cert cert.pem --tls-key key.pem

  # Production: behind the app's reverse proxy (passkeys.example.com -> 127.0.0.1:8080)
  passkeyctl serve --enroll --user alice@example.com --rp-id example.com \
    --origin https://passkeys.example.com --listen 127.0.0.1:8080

  # In a script: run serve in the background and take the URL from --url-file
  # (not from stdout: $(passkeyctl serve ... | head -1) returns only once
  # serve has exited, when the URL is dead)
  passkeyctl serve --enroll --user alice@example.com --url-file enrol.url > enrolled.txt &
  serve=$!
  until [ -s enrol.url ] || ! kill -0 $serve 2>/dev/null; do sleep 0.1; done
  echo "Send this link to Alice: $(cat enrol.url)"
  wait $serve   # 0 enrolled, 5 failed or timed out`,
		Args: noArgs(func(arg string) string { return "the passkey's owner goes in --user " + arg }),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case opts.Enroll == opts.Test:
				return usageError{errors.New("choose one of --enroll and --test")}
			case opts.Enroll && opts.User == "":
				return usageError{errors.New("--enroll needs --user USER (a User.id or e-mail address)")}
			case opts.Enroll && opts.Credential != "":
				return usageError{errors.New("--credential goes with --test; an enrolment makes a new credential")}
			case opts.Test && opts.CreateUser:
				return usageError{errors.New("--create-user goes with --enroll")}
			case opts.Test && cmd.Flags().Changed("name"):
				return usageError{errors.New("--name goes with --enroll: it names the new passkey")}
			case opts.Enroll && opts.ReadOnly:
				return usageError{errors.New("--read-only goes with --test; an enrolment writes the passkey")}
			case opts.User != "" && opts.Credential != "":
				return usageError{errors.New("give --user or --credential, not both")}
			case opts.Timeout <= 0:
				return usageError{fmt.Errorf("invalid --timeout %s: give a positive duration such as 5m", opts.Timeout)}
			}
			opts.Output = f.Output()
			opts.ProviderID = f.ProviderID()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return serveRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.Enroll, "enroll", false, "create a passkey for --user and store it as the app does")
	fl.BoolVar(&opts.Test, "test", false, "check that a stored passkey signs in as the app would")
	nonEmptyStringVarP(fl, &opts.User, "user", "u", "", "the passkey's owner: a User.id or e-mail address")
	fl.BoolVar(&opts.CreateUser, "create-user", false, "with --enroll: create the User (by e-mail) with the passkey when it does not exist")
	nonEmptyStringVarP(fl, &opts.Credential, "credential", "", "", "with --test: accept only this passkey (credential ID in base64, base64url or hex)")
	nonEmptyStringVarP(fl, &opts.Name, "name", "", "", "with --enroll: the passkey's name, for apps that store one (Better Auth)")
	fl.BoolVar(&opts.ReadOnly, "read-only", false, "with --test: verify without writing the new counter (for a database role that may only read)")
	nonEmptyStringVarP(fl, &opts.RPID, "rp-id", "", "localhost", "relying party ID: the host name of the app (AUTH_URL) the passkey is for")
	nonEmptyStringVarP(fl, &opts.RPName, "rp-name", "", "", "relying party name some authenticators show (default: the rpID)")
	fl.StringArrayVar(&opts.Origins, "origin", nil, "origin the page is opened at, https://... or http://localhost... (repeatable; default http://localhost:<port>)")
	nonEmptyStringVarP(fl, &opts.Listen, "listen", "", ceremony.DefaultListen, "address to listen on; other than loopback needs TLS here or behind a proxy")
	fl.DurationVar(&opts.Timeout, "timeout", 5*time.Minute, "give up, writing nothing, after this long")
	nonEmptyStringVarP(fl, &opts.TLSCert, "tls-cert", "", "", "serve https with this PEM certificate (with --tls-key)")
	nonEmptyStringVarP(fl, &opts.TLSKey, "tls-key", "", "", "the PEM private key of --tls-cert")
	fl.BoolVar(&opts.Open, "open", false, "open the page in the default browser (through a 0600 temporary file that redirects, so the token is never on a command line)")
	nonEmptyStringVarP(fl, &opts.URLFile, "url-file", "", "", "for scripts: write the page URL to this file (mode 0600) once the server listens; removed when serve exits")
	return cmd
}

// ceremonyFailure marks a failed, cancelled or timed-out ceremony (exit 5)
// without changing its message.
type ceremonyFailure struct{ err error }

func (e ceremonyFailure) Error() string   { return e.err.Error() }
func (e ceremonyFailure) Unwrap() []error { return []error{e.err, errCeremony} }

// serveEvent is one JSON line of `serve -o json`.
type serveEvent struct {
	Event   string           `json:"event"`
	URL     string           `json:"url,omitempty"`
	Mode    string           `json:"mode,omitempty"`
	RPID    string           `json:"rpId,omitempty"`
	Passkey *passkey.Passkey `json:"passkey,omitempty"`
	// CounterNotStored is set by a --read-only test: the passkey's stored
	// counter was left as it was.
	CounterNotStored bool   `json:"counterNotStored,omitempty"`
	Error            string `json:"error,omitempty"`
}

func serveRun(ctx context.Context, opts *ServeOptions) error {
	// A script may stop reading stdout once it has the URL. Without this, the
	// first write after that (the result, after the passkey is committed)
	// would kill the process with SIGPIPE and turn a success into exit 141;
	// with it, the write fails with EPIPE, which serveCeremony handles.
	signal.Ignore(syscall.SIGPIPE)
	jsonOut := isJSON(opts.Output)
	events := newJSONLines(opts.IO.Out)
	err := serveCeremony(ctx, opts, func(e serveEvent) error {
		if jsonOut {
			return events.Write(e)
		}
		switch e.Event {
		case "listening":
			_, err := fmt.Fprintln(opts.IO.Out, e.URL)
			return err
		case "enrolled", "verified":
			w := newPasskeyWriter(opts.IO, outputTable, true)
			if err := w.Write(*e.Passkey); err != nil {
				return err
			}
			return w.Close()
		}
		return nil
	})
	if err != nil && jsonOut {
		events.Write(serveEvent{Event: "failed", Error: errorLine(err)})
	}
	return err
}

// serveCeremony prepares, runs and reports the one ceremony; emit prints
// the stdout events.
func serveCeremony(ctx context.Context, opts *ServeOptions, emit func(serveEvent) error) error {
	cfg := ceremony.Config{
		Mode:     ceremony.ModeTest,
		RPID:     opts.RPID,
		RPName:   opts.RPName,
		Origins:  opts.Origins,
		Listen:   opts.Listen,
		Timeout:  opts.Timeout,
		TLSCert:  opts.TLSCert,
		TLSKey:   opts.TLSKey,
		Now:      opts.Now,
		Rand:     opts.Rand,
		ReadOnly: opts.ReadOnly,
		Logf: func(format string, args ...any) {
			fmt.Fprintf(opts.IO.ErrOut, format+"\n", args...)
		},
	}
	if opts.Enroll {
		cfg.Mode = ceremony.ModeEnroll
	}
	// The browser's rules need no database: check them first, with a
	// stand-in user, so a configuration that cannot work fails at once.
	probe := cfg
	if opts.Enroll {
		probe.User = &ceremony.User{ID: "probe"}
	}
	if err := probe.Check(); err != nil {
		return usageError{err}
	}

	st, err := opts.Store(ctx)
	if err != nil {
		return err
	}
	desc := st.Describe()
	var name *string
	if opts.Enroll && opts.Name != "" {
		if !desc.Named {
			return fmt.Errorf("--name: %w", passkey.ErrNoPasskeyName)
		}
		name = &opts.Name
	}
	printTarget(opts.IO, opts.Target, desc)
	if opts.Enroll {
		if cfg.User, err = enrolUser(ctx, opts, st); err != nil {
			return err
		}
		if err := st.CheckEnroll(ctx, cfg.User.ID, cfg.User.Create); err != nil {
			return err
		}
		if opts.AuditReady != nil {
			if err := opts.AuditReady(); err != nil {
				return err
			}
		}
		printWarnings(opts.IO, desc.Warnings)
	} else if err := testTarget(ctx, opts, st, &cfg); err != nil {
		return err
	}

	srv, err := ceremony.New(cfg, &ceremony.AppStore{Store: st, ProviderID: opts.ProviderID, PasskeyName: name, Now: opts.Now, Rand: opts.Rand})
	if err != nil {
		if errors.Is(err, ceremony.ErrConfig) {
			return usageError{err}
		}
		return err
	}
	if opts.URLFile != "" {
		if err := writeURLFile(opts.URLFile, srv.URL()); err != nil {
			srv.Close()
			return err
		}
		defer os.Remove(opts.URLFile)
	}
	// With --url-file, a stdout nobody reads is no reason to stop.
	if err := emit(serveEvent{Event: "listening", URL: srv.URL(), Mode: string(cfg.Mode), RPID: srv.RPID()}); err != nil && (opts.URLFile == "" || !isClosedPipe(err)) {
		srv.Close()
		return err
	}
	what := "to test a passkey"
	if opts.Enroll {
		what = "to create a passkey for " + userLabel(cfg.User)
	}
	fmt.Fprintf(opts.IO.ErrOut, "Open the URL above in a browser %s. Waiting up to %s; Ctrl-C cancels.\n", what, opts.Timeout)
	fmt.Fprintln(opts.IO.ErrOut, rpIDNote(desc, cfg.Mode, srv.RPID()))
	if opts.Open {
		// The browser gets a file that redirects to the URL: the one-time
		// token on xdg-open's (and the browser's) command line would be
		// visible to every user of the machine in ps.
		page, err := writeRedirectPage(srv.URL())
		if err == nil {
			defer os.Remove(page)
			err = opts.OpenBrowser(page)
		}
		if err != nil {
			fmt.Fprintf(opts.IO.ErrOut, "could not open a browser (%v); open the URL yourself.\n", err)
		}
	}

	res, err := srv.Serve(ctx)
	if err != nil {
		if errors.Is(err, ceremony.ErrSchema) {
			return err // exit 4, with the SQL that fixes it
		}
		return ceremonyFailure{err}
	}
	p, err := st.GetPasskey(context.WithoutCancel(ctx), res.CredentialID)
	if err != nil {
		return fmt.Errorf("the ceremony succeeded but the passkey cannot be read back: %w", err)
	}
	event := serveEvent{Event: "verified", Passkey: &p}
	switch {
	case res.Mode == ceremony.ModeEnroll:
		fmt.Fprintf(opts.IO.ErrOut, "Enrolled %s passkey %s for %s.\n", p.Algorithm, p.CredentialID, userLabel(cfg.User))
		event.Event = "enrolled"
	case !res.CounterStored:
		// The passkey as stored: its counter did not move. The event says
		// so for scripts.
		fmt.Fprintf(opts.IO.ErrOut, "Verified passkey %s of user %s: %s would accept it. Read-only: the counter was not advanced (stored %d, the authenticator sent %d).\n", p.CredentialID, p.UserID, desc.Name, p.Counter, res.Counter)
		event.CounterNotStored = true
	default:
		fmt.Fprintf(opts.IO.ErrOut, "Verified passkey %s of user %s: %s would accept it. Counter now %d.\n", p.CredentialID, p.UserID, desc.Name, p.Counter)
	}
	// The change is committed: a reader that went away does not make it a
	// failure (the exit code is what scripts act on).
	if err := emit(event); err != nil {
		if !isClosedPipe(err) {
			return err
		}
		fmt.Fprintln(opts.IO.ErrOut, "note: stdout was closed: the result above went to stderr only.")
	}
	return nil
}

// writeURLFile writes the page URL for --url-file: mode 0600 (the URL's
// token lets whoever has it run the ceremony), and whole, so that a script
// polling for a non-empty file never reads half a URL.
func writeURLFile(path, url string) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return usageError{fmt.Errorf("--url-file %s: %v", path, unwrapPathError(err))}
	}
	_, werr := tmp.WriteString(url + "\n")
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("--url-file %s: %v", path, unwrapPathError(werr))
	}
	return nil
}

// isClosedPipe reports whether a write failed because its reader is gone.
func isClosedPipe(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrClosed)
}

// rpIDNote reminds the operator that a passkey belongs to one rpID, and
// where the app takes its rpID from.
func rpIDNote(desc store.Description, mode ceremony.Mode, rpID string) string {
	where := desc.RPIDSource
	if mode == ceremony.ModeTest {
		return fmt.Sprintf("note: this page tests only passkeys created for rpID %q; the app accepts them only if its rpID is the same (%s).", rpID, where)
	}
	return fmt.Sprintf("note: passkeys made here work only in an app whose rpID is %q (%s).", rpID, where)
}

// enrolUser resolves --user for an enrolment, or prepares the user that
// --create-user creates with the passkey.
func enrolUser(ctx context.Context, opts *ServeOptions, st store.Store) (*ceremony.User, error) {
	// Before the lookup, whose own error for this case names no fix.
	if err := st.Ready(store.ForEnrolling); err != nil {
		return nil, err
	}
	u, err := st.FindUser(ctx, opts.User)
	if err == nil {
		return &ceremony.User{ID: u.ID, Email: deref(u.Email)}, nil
	}
	if !errors.Is(err, passkey.ErrNotFound) {
		return nil, err
	}
	if !opts.CreateUser {
		return nil, fmt.Errorf("user %s does not exist; to create it with the passkey, add --create-user: %w", opts.User, passkey.ErrNotFound)
	}
	// Stored as the app's own sign-in would store it, or the user's first
	// e-mail sign-in would create a second user.
	nu, err := st.NewUser(strings.TrimSpace(opts.User), opts.Now(), opts.Rand)
	if err != nil {
		return nil, err
	}
	id, email := nu.ID, deref(nu.Email)
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		return nil, usageError{fmt.Errorf("--create-user needs --user to be an e-mail address, not %q", opts.User)}
	}
	fmt.Fprintf(opts.IO.ErrOut, "User %s does not exist: it will be created (id %s) together with the passkey.\n", email, id)
	return &ceremony.User{ID: id, Email: email, Create: true}, nil
}

// testTarget limits a test to --user's or --credential's passkeys, and
// refuses at once when there is nothing to test.
func testTarget(ctx context.Context, opts *ServeOptions, st store.Store, cfg *ceremony.Config) error {
	if err := st.Ready(store.ForReading); err != nil {
		return err
	}
	switch {
	case opts.Credential != "":
		// Every form revoke takes: as stored, base64url, hex, a unique
		// prefix; ambiguity is refused there.
		ps, err := st.ResolveCredentials(ctx, []string{opts.Credential})
		if errors.Is(err, passkey.ErrNotFound) {
			return fmt.Errorf("credential %s is not in the %s: %w", opts.Credential, st.Describe().Where, passkey.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if cfg.CredentialID, err = passkey.DecodeBase64(ps[0].CredentialID); err != nil {
			return err
		}
		fmt.Fprintf(opts.IO.ErrOut, "Testing passkey %s of user %s.\n", ps[0].CredentialID, ps[0].UserID)
		return nil
	case opts.User != "":
		u, err := st.FindUser(ctx, opts.User)
		if err != nil {
			return err
		}
		ids, err := st.UserCredentialIDs(ctx, u.ID)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return fmt.Errorf("user %s has no passkeys to test (enrol one with: passkeyctl serve --enroll --user %s): %w", opts.User, opts.User, passkey.ErrNotFound)
		}
		cfg.User = &ceremony.User{ID: u.ID, Email: deref(u.Email)}
		return nil
	}
	some := false
	err := st.ListPasskeys(ctx, store.ListOptions{Limit: 1}, func(passkey.Passkey) error {
		some = true
		return nil
	})
	if err != nil {
		return err
	}
	if !some {
		return fmt.Errorf("there are no passkeys to test: %w", passkey.ErrNotFound)
	}
	return nil
}

func userLabel(u *ceremony.User) string {
	if u.Email != "" {
		return u.Email
	}
	return u.ID
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// writeRedirectPage writes a page that sends the browser on to url, in a
// new file of the temporary folder, mode 0600 (only its owner can read the
// token in it). The caller removes it when the ceremony ends; by then the
// browser has long read it.
func writeRedirectPage(url string) (string, error) {
	f, err := os.CreateTemp("", "passkeyctl-open-*.html")
	if err != nil {
		return "", err
	}
	attr, script := html.EscapeString(url), strconv.Quote(url)
	_, err = fmt.Fprintf(f, `<!doctype html><meta charset="utf-8"><meta name="referrer" content="no-referrer"><meta http-equiv="refresh" content="0;url=%s"><title>passkeyctl</title><script>location.replace(%s)</script><p><a href="%s">Continue to the passkeyctl page</a></p>`+"\n", attr, script, attr)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// openBrowser opens a file or URL in the desktop's default browser.
func openBrowser(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait()
	return nil
}
