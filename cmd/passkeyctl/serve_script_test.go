package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/passkeyctl/passkeyctl/internal/ceremony/softauth"
	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["webauthn"] = cmdWebAuthn
	scriptCmds["browse"] = cmdBrowse
}

// cmdBrowse plays the browser and the authenticator for a `passkeyctl
// serve` that a script started on its own (in the background, as the
// README's recipe does): it waits for a URL to appear in FILE (serve's
// --url-file, or the message a script sends on), then presses the button.
//
//	browse [-alg EdDSA|ES256|RS256] [-key NAME] FILE
func cmdBrowse(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! browse")
	}
	fs := flag.NewFlagSet("browse", flag.ContinueOnError)
	alg := fs.String("alg", "EdDSA", "key algorithm of a new authenticator")
	key := fs.String("key", "", "name of the authenticator to reuse or remember")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		ts.Fatalf("usage: browse [flags] FILE (%v)", err)
	}
	a := scriptAuthenticator(ts, *key, *alg)
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, err := os.ReadFile(ts.MkAbs(fs.Arg(0)))
		if pageURL := urlIn(string(b)); err == nil && pageURL != "" {
			ts.Check(browse(pageURL, a))
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("browse: no URL in %s after 20s", fs.Arg(0))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scriptAuthenticators are the software authenticators a script named with
// -key, per script, so that one enrolled can be tested later.
var (
	scriptAuthMu         sync.Mutex
	scriptAuthenticators = map[*testscript.TestScript]map[string]*softauth.Authenticator{}
)

// cmdWebAuthn plays the browser and the authenticator for a `passkeyctl
// serve` it starts: it reads the URL from the first stdout line, opens the
// page, presses the button (begin, create or get, finish) and waits for
// the exit. The command's stdout and stderr become the script's.
//
//	webauthn [-alg EdDSA|ES256|RS256] [-key NAME] [-counter N] [-no-uv]
//	         [-ignore-lists] [-close-stdout] [-exit CODE] passkeyctl ARGS...
//
// -key keeps the authenticator under NAME for later commands of the
// script; -counter sets its signature counter before the ceremony; -exit
// is the exit code expected (default 0); -close-stdout closes serve's stdout
// once the URL line is read, as a script that reads only that line does.
func cmdWebAuthn(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! webauthn (use -exit CODE)")
	}
	fs := flag.NewFlagSet("webauthn", flag.ContinueOnError)
	alg := fs.String("alg", "EdDSA", "key algorithm of a new authenticator")
	key := fs.String("key", "", "name of the authenticator to reuse or remember")
	counter := fs.Int("counter", -1, "set the signature counter first")
	noUV := fs.Bool("no-uv", false, "the authenticator does not verify the user")
	ignore := fs.Bool("ignore-lists", false, "ignore excludeCredentials/allowCredentials (a forged answer)")
	wantExit := fs.Int("exit", 0, "expected exit code")
	closeStdout := fs.Bool("close-stdout", false, "close serve's stdout after its first line")
	if err := fs.Parse(args); err != nil || fs.NArg() < 1 {
		ts.Fatalf("usage: webauthn [flags] passkeyctl ARGS... (%v)", err)
	}

	a := scriptAuthenticator(ts, *key, *alg)
	if *counter >= 0 {
		a.Counter = uint32(*counter)
	}
	a.UV = !*noUV
	a.IgnoreLists = *ignore

	bin, err := exec.LookPath(fs.Arg(0))
	ts.Check(err)
	cmd := exec.Command(bin, fs.Args()[1:]...)
	cmd.Dir = ts.MkAbs(".")
	cmd.Env = scriptEnv(ts)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	ts.Check(err)
	ts.Check(cmd.Start())
	r := bufio.NewReader(out)
	first, _ := r.ReadString('\n')
	var rest bytes.Buffer
	copied := make(chan struct{})
	go func() {
		if *closeStdout {
			out.Close()
		} else {
			io.Copy(&rest, r)
		}
		close(copied)
	}()

	if pageURL := urlOf(first); pageURL != "" {
		if err := browse(pageURL, a); err != nil {
			fmt.Fprintf(ts.Stderr(), "webauthn: %v\n", err)
		}
	}
	done := make(chan error, 1)
	go func() { <-copied; done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		ts.Fatalf("passkeyctl did not exit")
	}
	fmt.Fprint(ts.Stdout(), first+rest.String())
	fmt.Fprint(ts.Stderr(), stderr.String())
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		ts.Fatalf("webauthn: %v", err)
	}
	if code != *wantExit {
		ts.Fatalf("exit code %d, want %d", code, *wantExit)
	}
}

func scriptAuthenticator(ts *testscript.TestScript, name, alg string) *softauth.Authenticator {
	scriptAuthMu.Lock()
	defer scriptAuthMu.Unlock()
	m := scriptAuthenticators[ts]
	if m == nil {
		m = map[string]*softauth.Authenticator{}
		scriptAuthenticators[ts] = m
		ts.Defer(func() {
			scriptAuthMu.Lock()
			delete(scriptAuthenticators, ts)
			scriptAuthMu.Unlock()
		})
	}
	if a := m[name]; a != nil && name != "" {
		return a
	}
	algs := map[string]int64{"EdDSA": softauth.EdDSA, "ES256": softauth.ES256, "RS256": softauth.RS256}
	id, ok := algs[alg]
	if !ok {
		ts.Fatalf("webauthn: unknown -alg %q", alg)
	}
	a, err := softauth.New(id)
	ts.Check(err)
	if name != "" {
		m[name] = a
	}
	return a
}

// scriptEnv is the script's environment for a child process: testscript
// keeps its own list private, so take the test process's (whose PATH has
// the passkeyctl command) without the variables scripts must not inherit,
// and the script's HOME.
func scriptEnv(ts *testscript.TestScript) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PASSKEYCTL_") || k == "DATABASE_URL" || k == "HOME" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+ts.Getenv("HOME"))
}

// urlOf reads the page URL from serve's first stdout line, plain or a
// JSON "listening" event; "" when the line is neither (serve failed).
func urlOf(line string) string {
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, "{") {
		var ev struct{ Event, URL string }
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Event == "listening" {
			return ev.URL
		}
		return ""
	}
	if strings.HasPrefix(line, "http://") || strings.HasPrefix(line, "https://") {
		return line
	}
	return ""
}

// urlIn finds the first whole line's http(s) URL in text, "" when there is
// none yet.
func urlIn(text string) string {
	for _, line := range strings.SplitAfter(text, "\n") {
		if !strings.HasSuffix(line, "\n") {
			break // not written whole yet
		}
		if i := strings.Index(line, "http"); i >= 0 {
			if u := urlOf(line[i:]); u != "" {
				return u
			}
		}
	}
	return ""
}

// browse does what the page does when its button is pressed.
func browse(pageURL string, a *softauth.Authenticator) error {
	u, err := url.Parse(pageURL)
	if err != nil {
		return err
	}
	origin := u.Scheme + "://" + u.Host
	a.Origin = origin
	hc := &http.Client{Timeout: 20 * time.Second}
	post := func(path string, body []byte) ([]byte, error) {
		req, _ := http.NewRequest("POST", pageURL+path, bytes.NewReader(body))
		req.Header.Set("Origin", origin)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		return io.ReadAll(resp.Body)
	}
	resp, err := hc.Get(pageURL)
	if err != nil {
		return err
	}
	resp.Body.Close()
	opts, err := post("api/begin", []byte("{}"))
	if err != nil {
		return err
	}
	var answer []byte
	if bytes.Contains(opts, []byte(`"pubKeyCredParams"`)) {
		answer, err = a.Create(opts)
	} else {
		answer, err = a.Get(opts)
	}
	if err != nil {
		// What the page does with a browser error: report it and let the
		// user try again (here: let the server time out).
		name, msg, _ := strings.Cut(err.Error(), ": ")
		report, _ := json.Marshal(map[string]string{"name": name, "message": msg})
		_, rerr := post("api/report", report)
		return rerr
	}
	_, err = post("api/finish", answer)
	return err
}
