package ceremony

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"
)

// The Auth.js Passkey provider's algorithms, in its order: EdDSA, ES256,
// RS256.
var credentialParameters = []protocol.CredentialParameter{
	{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgEdDSA},
	{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgES256},
	{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgRS256},
}

// storeTimeout bounds one store operation. It does not derive from the
// request: a response being stored is finished even if the operator
// presses Ctrl-C, so that the outcome reported is the truth.
const storeTimeout = 30 * time.Second

// waUser is the go-webauthn view of the user of one ceremony. Auth.js
// stores no user handle: an enrolment sends a fresh random one, and a test
// accepts whatever handle the authenticator returns.
type waUser struct {
	id    []byte
	name  string
	creds []webauthn.Credential
}

func (u waUser) WebAuthnID() []byte                         { return u.id }
func (u waUser) WebAuthnName() string                       { return u.name }
func (u waUser) WebAuthnDisplayName() string                { return u.name }
func (u waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// failure is a ceremony that ended badly: the page shows plain, the
// operator's terminal err.
type failure struct {
	status int
	plain  string
	err    error
}

func (s *Server) fail(status int, plain string, err error) *failure {
	return &failure{status: status, plain: plain, err: err}
}

// begin creates the one outstanding challenge and returns the options for
// navigator.credentials.create or get, as the Auth.js Passkey provider
// makes them.
func (s *Server) begin(ctx context.Context, _ []byte) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateOpen {
		return http.StatusConflict, apiReply{"error", "This ceremony is over. Run passkeyctl again to start a new one."}
	}
	p := &pending{expires: s.deadline}
	var options any
	if s.cfg.Mode == ModeEnroll {
		// A fresh random 64-character hex user handle per registration,
		// as Auth.js makes it (its UTF-8 bytes); never stored.
		h := make([]byte, 32)
		if _, err := io.ReadFull(s.cfg.Rand, h); err != nil {
			return s.internal("generate user handle", err)
		}
		p.userHandle = []byte(hex.EncodeToString(h))
		if !s.cfg.User.Create {
			ids, err := s.store.CredentialIDs(ctx, s.cfg.User.ID)
			if err != nil {
				return s.internal("read the user's passkeys", err)
			}
			p.excluded = ids
		}
		exclude := make([]protocol.CredentialDescriptor, len(p.excluded))
		for i, id := range p.excluded {
			exclude[i] = protocol.CredentialDescriptor{Type: protocol.PublicKeyCredentialType, CredentialID: id}
		}
		rk := true
		creation, session, err := s.wa.BeginRegistration(waUser{id: p.userHandle, name: s.cfg.User.label()},
			webauthn.WithCredentialParameters(credentialParameters),
			webauthn.WithExclusions(exclude),
			webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
				RequireResidentKey: &rk,
				ResidentKey:        protocol.ResidentKeyRequirementRequired,
				UserVerification:   protocol.VerificationRequired,
			}),
			webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
			webauthn.WithExtensions(webauthn.WithExtensionCredProps()),
		)
		if err != nil {
			return s.internal("create registration options", err)
		}
		p.session, options = *session, creation
	} else {
		challenge := make([]byte, 32)
		if _, err := io.ReadFull(s.cfg.Rand, challenge); err != nil {
			return s.internal("generate challenge", err)
		}
		switch {
		case len(s.cfg.CredentialID) > 0:
			p.allowed = [][]byte{s.cfg.CredentialID}
		case s.cfg.User != nil:
			ids, err := s.store.CredentialIDs(ctx, s.cfg.User.ID)
			if err != nil {
				return s.internal("read the user's passkeys", err)
			}
			if len(ids) == 0 {
				return http.StatusConflict, apiReply{"error", s.cfg.User.label() + " has no passkeys to test."}
			}
			p.allowed = ids
		}
		opts := []webauthn.LoginOption{
			webauthn.WithChallenge(challenge),
			webauthn.WithUserVerification(protocol.VerificationRequired),
		}
		if p.allowed != nil {
			allow := make([]protocol.CredentialDescriptor, len(p.allowed))
			for i, id := range p.allowed {
				allow[i] = protocol.CredentialDescriptor{Type: protocol.PublicKeyCredentialType, CredentialID: id}
			}
			opts = append(opts, webauthn.WithAllowedCredentials(allow))
		}
		assertion, session, err := s.wa.BeginDiscoverableLogin(opts...)
		if err != nil {
			return s.internal("create authentication options", err)
		}
		p.session, options = *session, assertion
	}
	s.pending = p
	return http.StatusOK, options
}

func (s *Server) internal(what string, err error) (int, any) {
	s.cfg.Logf("cannot %s: %v", what, err)
	return http.StatusInternalServerError, apiReply{"error", "passkeyctl could not " + what + "; the terminal running it shows why."}
}

// finish verifies the browser's response to the outstanding challenge.
// Whatever the outcome, it is the one ceremony: the token dies and Serve
// returns it.
func (s *Server) finish(ctx context.Context, body []byte) (int, any) {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return http.StatusConflict, apiReply{"error", "This ceremony is over. Run passkeyctl again to start a new one."}
	}
	p := s.pending
	if p == nil {
		s.mu.Unlock()
		return http.StatusBadRequest, apiReply{"error", "No passkey request is in progress: press the button first."}
	}
	s.pending = nil // single use, whatever happens next
	s.state = stateBusy
	s.mu.Unlock()

	opCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	var res Result
	var f *failure
	if s.cfg.Now().After(p.expires) {
		f = s.fail(http.StatusGone, "The request expired. Run passkeyctl again.", fmt.Errorf("%w: the challenge expired", ErrTimeout))
	} else if s.cfg.Mode == ModeEnroll {
		res, f = s.finishEnroll(opCtx, p, body)
	} else {
		res, f = s.finishTest(opCtx, p, body)
	}

	s.mu.Lock()
	s.state = stateDone
	s.mu.Unlock()
	if f != nil {
		err := f.err
		if !errors.Is(err, ErrTimeout) {
			err = fmt.Errorf("%w: %w", ErrFailed, f.err)
		}
		s.done <- outcome{err: err}
		return f.status, apiReply{"error", f.plain}
	}
	s.done <- outcome{res: res}
	if res.Mode == ModeEnroll {
		return http.StatusOK, apiReply{"ok", fmt.Sprintf("Passkey saved. %s can now sign in to the app at %s with it. You can close this page.", s.cfg.User.label(), s.cfg.RPID)}
	}
	return http.StatusOK, apiReply{"ok", fmt.Sprintf("This passkey works: the app at %s would accept it. Its signature counter is now %d. You can close this page.", s.cfg.RPID, res.Counter)}
}

// finishEnroll verifies a registration and stores it as Auth.js would.
func (s *Server) finishEnroll(ctx context.Context, p *pending, body []byte) (Result, *failure) {
	parsed, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		return Result{}, s.fail(http.StatusBadRequest, "The browser's answer could not be read.", fmt.Errorf("unreadable registration response: %s", detail(err)))
	}
	user := waUser{id: p.userHandle, name: s.cfg.User.label()}
	cred, err := s.wa.CreateCredential(user, p.session, parsed)
	if err != nil {
		return Result{}, s.fail(http.StatusUnprocessableEntity, "The new passkey could not be verified: "+plain(err), fmt.Errorf("registration did not verify: %s", detail(err)))
	}
	id := s.app.EncodeID(cred.ID)
	for _, ex := range p.excluded {
		if bytes.Equal(ex, cred.ID) {
			return Result{}, s.fail(http.StatusConflict, "This authenticator is already registered for this user.", fmt.Errorf("credential %s is already registered for %s", id, s.cfg.User.label()))
		}
	}
	transports := make([]string, 0, len(cred.Transport))
	for _, t := range cred.Transport {
		transports = append(transports, string(t))
	}
	nc := NewCredential{
		User:           *s.cfg.User,
		ID:             cred.ID,
		PublicKey:      cred.PublicKey,
		Counter:        cred.Authenticator.SignCount,
		BackupEligible: cred.Flags.BackupEligible,
		BackupState:    cred.Flags.BackupState,
		Transports:     transports,
		AAGUID:         cred.Authenticator.AAGUID,
	}
	if err := s.store.Save(ctx, nc); err != nil {
		switch {
		case errors.Is(err, ErrDuplicate):
			return Result{}, s.fail(http.StatusConflict, "This passkey is already registered in the app's database. Nothing was saved.", err)
		case errors.Is(err, ErrSchema):
			return Result{}, s.fail(http.StatusInternalServerError, "The app's database cannot store this passkey the way the app does. Nothing was saved; the terminal running passkeyctl shows the fix for an administrator.", err)
		}
		return Result{}, s.fail(http.StatusInternalServerError, "The passkey could not be saved in the database. Nothing was saved; the terminal running passkeyctl shows why.", fmt.Errorf("save credential %s: %w", id, err))
	}
	return Result{Mode: ModeEnroll, CredentialID: cred.ID, UserID: s.cfg.User.ID, Counter: nc.Counter, CounterStored: true}, nil
}

// finishTest verifies an assertion as Auth.js does at sign-in: the row
// found by the credential ID, its stored key, BE/BS from the row, user
// verification required, the counter rule; then it writes the counter.
func (s *Server) finishTest(ctx context.Context, p *pending, body []byte) (Result, *failure) {
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return Result{}, s.fail(http.StatusBadRequest, "The browser's answer could not be read.", fmt.Errorf("unreadable authentication response: %s", detail(err)))
	}
	raw := []byte(parsed.RawID)
	id := s.app.EncodeID(raw)
	stored, err := s.store.Find(ctx, raw)
	if err != nil {
		switch {
		case errors.Is(err, ErrUnknownCredential):
			// Logs and browsers show base64url: say it too when the app
			// stores another form.
			browser := ""
			if b64u := base64.RawURLEncoding.EncodeToString(raw); b64u != id {
				browser = " " + b64u
			}
			return Result{}, s.fail(http.StatusNotFound, "This passkey is not registered in the app's database, so the app would refuse it.", fmt.Errorf("%w: no %s has credentialID %s, where %s looks for the browser's passkey%s", ErrUnknownCredential, s.app.Record, id, s.app.Name, browser))
		case errors.Is(err, ErrUnusable):
			return Result{}, s.fail(http.StatusConflict, "This passkey is in the database, but the app could not sign in with it. The terminal running passkeyctl shows why.", err)
		}
		return Result{}, s.fail(http.StatusInternalServerError, "The passkey could not be read from the database; the terminal running passkeyctl shows why.", fmt.Errorf("look up %s: %w", id, err))
	}
	if s.cfg.User != nil && stored.UserID != s.cfg.User.ID {
		return Result{}, s.fail(http.StatusForbidden, "This passkey belongs to another user, not "+s.cfg.User.label()+".", fmt.Errorf("passkey %s belongs to user %s, not %s", id, stored.UserID, s.cfg.User.label()))
	}
	if p.allowed != nil && !containsID(p.allowed, raw) {
		return Result{}, s.fail(http.StatusForbidden, "This is not the passkey being tested.", fmt.Errorf("passkey %s was not among the passkeys this test accepts", id))
	}
	handle := []byte(parsed.Response.UserHandle)
	if len(handle) == 0 {
		// A non-discoverable credential returns no handle; Auth.js never
		// looks at it, so any stand-in will do for the library.
		handle = []byte("passkeyctl:" + stored.UserID)
	}
	session := p.session
	session.UserID = handle
	// The allow list was checked above, against the store's owner.
	session.AllowedCredentialIDs = nil
	user := waUser{id: handle, creds: []webauthn.Credential{{
		ID:            raw,
		PublicKey:     stored.PublicKey,
		Flags:         webauthn.CredentialFlags{BackupEligible: stored.BackupEligible, BackupState: stored.BackupState},
		Authenticator: webauthn.Authenticator{SignCount: stored.Counter},
	}}}
	cred, err := s.wa.ValidateLogin(user, session, parsed)
	if err != nil {
		return Result{}, s.fail(http.StatusUnprocessableEntity, "The passkey could not be verified: "+plain(err), fmt.Errorf("passkey %s did not verify: %s", id, s.detailWithRow(err, stored)))
	}
	got := parsed.Response.AuthenticatorData.Counter
	if cred.Authenticator.CloneWarning {
		return Result{}, s.fail(http.StatusUnprocessableEntity, fmt.Sprintf("The passkey's signature counter did not go up (stored %d, received %d). The app refuses such a sign-in: the answer may be a replay, or the authenticator a copy.", stored.Counter, got),
			fmt.Errorf("passkey %s: signature counter %d is not greater than the stored %d (replay or cloned authenticator); %s would refuse this sign-in", id, got, stored.Counter, s.app.Name))
	}
	if s.cfg.ReadOnly {
		return Result{Mode: ModeTest, CredentialID: raw, UserID: stored.UserID, Counter: cred.Authenticator.SignCount}, nil
	}
	if err := s.store.UpdateCounter(ctx, raw, cred.Authenticator.SignCount); err != nil {
		return Result{}, s.fail(http.StatusInternalServerError, "The passkey verified, but its counter could not be saved; the terminal running passkeyctl shows why.", fmt.Errorf("update counter of %s: %w", id, err))
	}
	return Result{Mode: ModeTest, CredentialID: raw, UserID: stored.UserID, Counter: cred.Authenticator.SignCount, CounterStored: true}, nil
}

func containsID(ids [][]byte, id []byte) bool {
	for _, x := range ids {
		if bytes.Equal(x, id) {
			return true
		}
	}
	return false
}

// detail is a go-webauthn error with its developer information, for the
// operator's terminal.
func detail(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		if pe.DevInfo != "" {
			return pe.Details + ": " + pe.DevInfo
		}
		return pe.Details
	}
	return err.Error()
}

// detailWithRow adds the stored flags to a backup-flag mismatch, the one
// failure whose cause is usually the row rather than the authenticator.
func (s *Server) detailWithRow(err error, c StoredCredential) string {
	d := detail(err)
	if strings.Contains(d, "Backup Eligible") {
		want := "singleDevice"
		if c.BackupEligible {
			want = "multiDevice"
		}
		d += fmt.Sprintf(" (the row says %s %s; the authenticator says otherwise)", s.app.DeviceTypeColumn, want)
	}
	return d
}

// plain says what went wrong in words for the page.
func plain(err error) string {
	d := detail(err)
	switch {
	case strings.Contains(d, "User verification required"):
		return "the authenticator did not verify you (PIN, fingerprint, face or screen lock), which the app requires."
	case strings.Contains(d, "Error validating origin"):
		return "the page's address is not one passkeyctl was told to accept."
	case strings.Contains(d, "RP Hash mismatch"):
		return "the passkey was made for another site (relying party ID)."
	case strings.Contains(d, "Error validating challenge"):
		return "the answer does not belong to this request."
	case strings.Contains(d, "Backup Eligible"):
		return "the authenticator's backup flags do not match what the database stored for this passkey."
	case strings.Contains(d, "signature"):
		return "the signature does not match the public key stored in the database."
	case strings.Contains(d, "algorithm") || strings.Contains(d, "Unsupported"):
		return "the authenticator used a key type the app does not accept (it accepts EdDSA, ES256 and RS256)."
	}
	return "the answer did not pass the checks the app makes."
}

// report logs an error the browser raised before anything reached the
// server (cancelled dialog, excluded authenticator). The ceremony goes on:
// the operator's user may press the button again.
func (s *Server) report(_ context.Context, body []byte) (int, any) {
	var r struct{ Name, Message string }
	if err := json.Unmarshal(body, &r); err != nil {
		return http.StatusBadRequest, apiReply{"error", "The report could not be read."}
	}
	s.cfg.Logf("the browser reported %s: %s (the page lets the user try again)", printable(r.Name, 40), printable(r.Message, 300))
	return http.StatusOK, apiReply{"ok", "noted"}
}

// printable keeps a browser-supplied string from messing up the terminal.
func printable(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, s)
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	return s
}
