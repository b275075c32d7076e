package db_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/passkeyctl/passkeyctl/internal/db"
	"github.com/passkeyctl/passkeyctl/internal/db/dbtest"
	"github.com/passkeyctl/passkeyctl/internal/passkey"
	"github.com/passkeyctl/passkeyctl/internal/store"
)

// ceremonyFixture is a whole /work/shared/fixtures/*-registration-*.json:
// the rows a real app wrote and a real sign-in to verify against them.
type ceremonyFixture struct {
	RP struct {
		ID     string `json:"id"`
		Origin string `json:"origin"`
	} `json:"rp"`
	Registration struct {
		ResponseJSON struct {
			ID string `json:"id"`
		} `json:"responseJSON"`
		RowsWritten map[string][]map[string]any `json:"rowsWritten"`
	} `json:"registration"`
	Authentication struct {
		OptionsJSON struct {
			Challenge        string `json:"challenge"`
			UserVerification string `json:"userVerification"`
		} `json:"optionsJSON"`
		ResponseJSON json.RawMessage `json:"responseJSON"`
	} `json:"authentication"`
}

// loadCeremony reads a fixture from testdata (vendored) or the shared
// folder.
func loadCeremony(t testing.TB, name string) ceremonyFixture {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		b, err = os.ReadFile("/work/shared/fixtures/" + name)
	}
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	var f ceremonyFixture
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("parse fixture %s: %v", name, err)
	}
	return f
}

// waUser is the user an app resolves from a stored passkey: it stores no
// user handle, so the handle the browser sent is returned as the user's.
type waUser struct {
	handle []byte
	creds  []webauthn.Credential
}

func (u waUser) WebAuthnID() []byte                         { return u.handle }
func (u waUser) WebAuthnName() string                       { return "user" }
func (u waUser) WebAuthnDisplayName() string                { return "user" }
func (u waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// verifyStored checks the fixture's real assertion against a stored
// passkey the way Auth.js and Better Auth do (AUTHJS.md §5): the key and
// ID decoded leniently, BE from the device type and BS from backedUp, and a
// counter that does not increase is a failure.
func verifyStored(t testing.TB, fx ceremonyFixture, credentialID, publicKey, deviceType string, backedUp bool, counter int64) error {
	t.Helper()
	rawID, err := passkey.DecodeBase64(credentialID)
	if err != nil {
		return fmt.Errorf("credential ID: %w", err)
	}
	key, err := passkey.DecodeBase64(publicKey)
	if err != nil {
		return fmt.Errorf("public key: %w", err)
	}
	wa, err := webauthn.New(&webauthn.Config{RPID: fx.RP.ID, RPDisplayName: "passkeyctl test", RPOrigins: []string{fx.RP.Origin}})
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(fx.Authentication.ResponseJSON)
	if err != nil {
		t.Fatalf("parse assertion: %v", err)
	}
	if !bytes.Equal(parsed.RawID, rawID) {
		return fmt.Errorf("the browser's credential %x is not the stored %x", parsed.RawID, rawID)
	}
	handle := parsed.Response.UserHandle
	if len(handle) == 0 {
		handle = []byte("better-auth ignores the handle")
	}
	user := waUser{handle: handle, creds: []webauthn.Credential{{
		ID:            rawID,
		PublicKey:     key,
		Flags:         webauthn.CredentialFlags{BackupEligible: deviceType == "multiDevice", BackupState: backedUp},
		Authenticator: webauthn.Authenticator{SignCount: uint32(counter)},
	}}}
	session := webauthn.SessionData{
		Challenge:        fx.Authentication.OptionsJSON.Challenge,
		UserID:           handle,
		UserVerification: protocol.UserVerificationRequirement(fx.Authentication.OptionsJSON.UserVerification),
	}
	cred, err := wa.ValidateLogin(user, session, parsed)
	if err != nil {
		return err
	}
	if cred.Authenticator.CloneWarning {
		return errors.New("signature counter did not increase (clone warning)")
	}
	return nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// authjsRecord converts the Auth.js fixture's Authenticator row.
func authjsRecord(t testing.TB, fx ceremonyFixture) passkey.ExportRecord {
	t.Helper()
	a := fx.Registration.RowsWritten["Authenticator"][0]
	u := fx.Registration.RowsWritten["User"][0]
	email := str(u["email"])
	return passkey.ExportRecordFromAuthjs(passkey.AuthjsExportRow{
		Passkey: passkey.Passkey{
			CredentialID: str(a["credentialID"]), UserID: str(a["userId"]), PublicKey: str(a["credentialPublicKey"]),
			Counter: int64(a["counter"].(float64)), CredentialDeviceType: str(a["credentialDeviceType"]),
			CredentialBackedUp: a["credentialBackedUp"].(bool), Transports: strings.Split(str(a["transports"]), ","),
			Status: passkey.StatusOK,
		},
		User: passkey.ExportUser{ID: str(u["id"]), Email: &email},
	})
}

// TestConvert_authjsFixtureToBetterAuth converts the row a real Auth.js
// wrote into the row Better Auth would write for the same credential,
// field by field, and signs in with the fixture's real assertion against
// the converted row.
func TestConvert_authjsFixtureToBetterAuth(t *testing.T) {
	ax := loadCeremony(t, "authjs-registration-postgres.json")
	bx := loadCeremony(t, "betterauth-registration-postgres.json")
	a := ax.Registration.RowsWritten["Authenticator"][0]
	rec := authjsRecord(t, ax)
	p, err := db.BetterAuthPasskeyOf(rec, "target-user-id")
	if err != nil {
		t.Fatal(err)
	}
	// What Better Auth writes for a credential, from its fixture: the
	// browser's id as sent, the COSE key in standard padded base64.
	b := bx.Registration.RowsWritten["passkey"][0]
	if str(b["credentialID"]) != bx.Registration.ResponseJSON.ID {
		t.Fatalf("Better Auth fixture: credentialID %q is not the browser's id %q", b["credentialID"], bx.Registration.ResponseJSON.ID)
	}
	for _, k := range []string{str(b["publicKey"]), p.PublicKey} {
		raw, err := base64.StdEncoding.Strict().DecodeString(k)
		if err != nil || base64.StdEncoding.EncodeToString(raw) != k {
			t.Fatalf("public key %q is not standard padded base64", k)
		}
	}
	if _, err := base64.RawURLEncoding.Strict().DecodeString(p.CredentialID); err != nil || strings.ContainsAny(p.CredentialID, "+/=") {
		t.Fatalf("credentialID %q is not base64url without padding", p.CredentialID)
	}
	// Field by field against the Auth.js row (BETTERAUTH.md's table).
	checks := []struct {
		field     string
		got, want any
	}{
		{"credentialID", p.CredentialID, ax.Registration.ResponseJSON.ID},
		{"publicKey", p.PublicKey, a["credentialPublicKey"]},
		{"userId", p.UserID, "target-user-id"},
		{"counter", p.Counter, int64(a["counter"].(float64))},
		{"deviceType", p.DeviceType, a["credentialDeviceType"]},
		{"backedUp", p.BackedUp, a["credentialBackedUp"]},
		{"transports", *p.Transports, a["transports"]},
		{"name", p.Name == nil, true},
		{"createdAt", p.CreatedAt == nil, true},
		{"aaguid", p.AAGUID == nil, true},
		{"id", p.ID, ""}, // generated by the writer in the table's id mode
	}
	for _, c := range checks {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
		}
	}
	// Every field Better Auth wrote has its counterpart.
	have := map[string]bool{"id": true, "name": true, "publicKey": true, "userId": true, "credentialID": true, "counter": true,
		"deviceType": true, "backedUp": true, "transports": true, "createdAt": true, "aaguid": true}
	for k := range b {
		if !have[k] {
			t.Errorf("Better Auth writes %q, which the conversion does not produce", k)
		}
	}
	// The fixture's real sign-in verifies against the converted row,
	// looked up by the browser's id exactly.
	if err := verifyStored(t, ax, p.CredentialID, p.PublicKey, p.DeviceType, p.BackedUp, p.Counter); err != nil {
		t.Fatalf("assertion against the converted row: %v", err)
	}
	// The checks have teeth: wrong flags and a replayed counter fail.
	if err := verifyStored(t, ax, p.CredentialID, p.PublicKey, "singleDevice", p.BackedUp, p.Counter); err == nil || !strings.Contains(err.Error(), "Backup Eligible") {
		t.Errorf("BE flag from the wrong device type: %v", err)
	}
	if err := verifyStored(t, ax, p.CredentialID, p.PublicKey, p.DeviceType, p.BackedUp, 5); err == nil {
		t.Error("a stored counter above the assertion's must fail")
	}
}

// TestConvert_betterAuthFixtureRoundTrip takes Better Auth's own row
// through the export format and Auth.js's form and back: unchanged, and
// its real assertion still verifies at every step.
func TestConvert_betterAuthFixtureRoundTrip(t *testing.T) {
	bx := loadCeremony(t, "betterauth-registration-postgres.json")
	b := bx.Registration.RowsWritten["passkey"][0]
	u := bx.Registration.RowsWritten["user"][0]
	name, transports, aaguid, created, email := str(b["name"]), str(b["transports"]), str(b["aaguid"]), str(b["createdAt"]), str(u["email"])
	row := db.BetterAuthPasskeyRow{
		BetterAuthPasskey: db.BetterAuthPasskey{
			ID: str(b["id"]), Name: &name, PublicKey: str(b["publicKey"]), UserID: str(b["userId"]), CredentialID: str(b["credentialID"]),
			Counter: int64(b["counter"].(float64)), DeviceType: str(b["deviceType"]), BackedUp: b["backedUp"].(bool),
			Transports: &transports, AAGUID: &aaguid,
		},
		Email: &email, UserFound: true,
	}
	ct, err := parseISO(created)
	if err != nil {
		t.Fatal(err)
	}
	row.CreatedAt = &ct
	rec := db.ExportRecordFromBetterAuth(row)
	if rec.CreatedAt == nil || *rec.CreatedAt != created || rec.Status != passkey.StatusOK || rec.CredentialID != bx.Registration.ResponseJSON.ID {
		t.Fatalf("export record %+v", rec)
	}
	aj, err := rec.AuthjsAuthenticator(str(b["userId"]))
	if err != nil {
		t.Fatal(err)
	}
	if aj.CredentialID != "+/+/DlocM6nS8Etsjhej2cKx8O4=" || aj.ProviderAccountID != aj.CredentialID || aj.CredentialPublicKey != row.PublicKey || aj.Transports == nil || *aj.Transports != transports {
		t.Fatalf("Auth.js row %+v", aj)
	}
	if err := verifyStored(t, bx, aj.CredentialID, aj.CredentialPublicKey, aj.CredentialDeviceType, aj.CredentialBackedUp, aj.Counter); err != nil {
		t.Fatalf("assertion against the Auth.js row: %v", err)
	}
	back := passkey.ExportRecordFromAuthjs(passkey.AuthjsExportRow{Passkey: passkey.Passkey{
		CredentialID: aj.CredentialID, UserID: aj.UserID, PublicKey: aj.CredentialPublicKey, Counter: aj.Counter,
		CredentialDeviceType: aj.CredentialDeviceType, CredentialBackedUp: aj.CredentialBackedUp,
		Transports: passkey.SplitTransports(*aj.Transports), Status: passkey.StatusOK,
	}, User: rec.User})
	p, err := db.BetterAuthPasskeyOf(back, row.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if p.CredentialID != row.CredentialID || p.PublicKey != row.PublicKey || *p.Transports != transports || p.Counter != row.Counter || p.DeviceType != row.DeviceType || p.BackedUp != row.BackedUp {
		t.Fatalf("round trip changed the row: %+v", p)
	}
	if err := verifyStored(t, bx, p.CredentialID, p.PublicKey, p.DeviceType, p.BackedUp, p.Counter); err != nil {
		t.Fatalf("assertion after the round trip: %v", err)
	}
}

// TestExportReader_rejects checks the reader's and validator's errors.
func TestExportReader_rejects(t *testing.T) {
	ax := loadCeremony(t, "authjs-registration-postgres.json")
	good := authjsRecord(t, ax)
	mut := func(f func(r *passkey.ExportRecord)) string {
		r := good
		f(&r)
		b, _ := json.Marshal(r)
		return string(b)
	}
	cases := map[string]string{
		"{not json": "not a JSON object",
		`{"a":1}`:   `no "version"`,
		`[1,2]`:     "not a JSON object",
		mut(func(r *passkey.ExportRecord) { r.Version = 2 }):                      "newer than this passkeyctl",
		mut(func(r *passkey.ExportRecord) { r.CredentialID = "!!" }):              "not base64url",
		mut(func(r *passkey.ExportRecord) { r.DeviceType = "phone" }):             "deviceType",
		mut(func(r *passkey.ExportRecord) { r.Counter = -1 }):                     "counter",
		mut(func(r *passkey.ExportRecord) { r.User = passkey.ExportUser{} }):      "neither a user id nor an e-mail",
		mut(func(r *passkey.ExportRecord) { r.Transports = []string{"usb,nfc"} }): "transport",
		mut(func(r *passkey.ExportRecord) { s := "yesterday"; r.CreatedAt = &s }): "createdAt",
		mut(func(r *passkey.ExportRecord) { s := "not-a-uuid"; r.AAGUID = &s }):   "aaguid",
	}
	_, d := dbtest.Migrated(t, "sqlite")
	s := detect(t, d)
	for line, want := range cases {
		in := "\n" + line + "\n"
		_, err := d.Import(context.Background(), s, strings.NewReader(in), store.ImportOptions{ProviderID: "passkey", CreateUsers: true})
		if !errors.Is(err, passkey.ErrInvalid) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("%s: want ErrInvalid on line 2 mentioning %q, got %v", line, want, err)
		}
	}
}

func parseISO(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }

// exportAll runs ExportPasskeys and returns the JSON Lines of the records
// whose status is ok, as `passkeyctl export` writes them.
func exportAll(t testing.TB, d *db.DB, s *db.Schema) (string, []passkey.ExportRecord) {
	t.Helper()
	var buf bytes.Buffer
	w := passkey.NewExportWriter(&buf)
	var recs []passkey.ExportRecord
	err := d.ExportPasskeys(context.Background(), s, store.ExportOptions{ProviderID: "passkey"}, func(r passkey.ExportRecord) error {
		if r.Status != passkey.StatusOK {
			return nil
		}
		recs = append(recs, r)
		return w.Write(r)
	})
	if err != nil {
		t.Fatal(err)
	}
	return buf.String(), recs
}

// authjsRows reads everything that makes up the Auth.js passkeys of a
// database, sorted, in a dialect-neutral form.
func authjsRows(t testing.TB, d *db.DB, s *db.Schema) []string {
	t.Helper()
	var out []string
	q := fmt.Sprintf(`SELECT %s, %s, %s, %s, %s, %s, %s, %s FROM %s`, d.Q("credentialID"), d.Q("userId"), d.Q("providerAccountId"),
		d.Q("credentialPublicKey"), d.Q("counter"), d.Q("credentialDeviceType"), d.Q("credentialBackedUp"), d.Q("transports"), d.Q(s.Authenticator.Name))
	rows, err := d.X.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, uid, pai, key, dev string
		var counter int64
		var backed bool
		var tr *string
		if err := rows.Scan(&id, &uid, &pai, &key, &counter, &dev, &backed, &tr); err != nil {
			t.Fatal(err)
		}
		trs := "NULL"
		if tr != nil {
			trs = fmt.Sprintf("%q", *tr)
		}
		out = append(out, fmt.Sprintf("Authenticator %s %s %s %s %d %s %t %s", id, uid, pai, key, counter, dev, backed, trs))
	}
	rows.Close()
	q = fmt.Sprintf(`SELECT %s, %s, %s, %s FROM %s`, d.Q("userId"), d.Q("type"), d.Q("provider"), d.Q("providerAccountId"), d.Q(s.Account.Name))
	rows, err = d.X.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a, b, c, e string
		if err := rows.Scan(&a, &b, &c, &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("Account %s %s %s %s", a, b, c, e))
	}
	rows.Close()
	q = fmt.Sprintf(`SELECT %s, %s, %s, CASE WHEN %s IS NULL THEN 0 ELSE 1 END FROM %s`, d.Q("id"), d.Q("email"), d.Q("name"), d.Q("emailVerified"), d.Q(s.User.Name))
	rows, err = d.X.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, email string
		var name *string
		var verified int
		if err := rows.Scan(&id, &email, &name, &verified); err != nil {
			t.Fatal(err)
		}
		n := "NULL"
		if name != nil {
			n = *name
		}
		out = append(out, fmt.Sprintf("User %s %s %s %d", id, email, n, verified))
	}
	rows.Close()
	sort.Strings(out)
	return out
}

// seedAuthjs writes a varied set of Auth.js passkeys: the real fixture, a
// NULL-transports single-device one of a second user with a name and a
// verified e-mail, an RSA key, a 528-byte credential ID whose base64 has
// "+" and "/", and one whose Account is missing (broken: not exported).
func seedAuthjs(t testing.TB, d *db.DB, s *db.Schema) {
	t.Helper()
	insertFixture(t, d, s, loadFixture(t))
	insert(t, d, s, "User", map[string]any{"id": "user2", "email": "Second@Example.com", "name": "Second User", "emailVerified": "2025-01-02T03:04:05Z"})
	if d.Dialect == db.SQLite {
		// Prisma's SQLite DateTime is integer milliseconds.
		dbtest.Exec(t, d, `UPDATE "User" SET "emailVerified" = 1735787045000 WHERE "id" = 'user2'`)
	}
	long := make([]byte, 528)
	for i := range long {
		long[i] = byte(i*7 + 0xfb)
	}
	for _, p := range []struct {
		raw        []byte
		user, key  string
		counter    int
		dev        string
		backed     bool
		transports any
		account    bool
	}{
		{[]byte{0xfb, 0xff, 0xbf, 0x0e, 1, 2, 3}, "user2", coseKey(t, -8), 42, "singleDevice", false, nil, true},
		{[]byte("rsa-credential-0001"), "user2", coseKey(t, -257), 7, "multiDevice", true, "usb,nfc", true},
		{long, "cmwvgemvd0000l07d4xrhgdsb", coseKey(t, -7), 0, "multiDevice", false, "internal", true},
		{[]byte("no-account"), "user2", coseKey(t, -7), 0, "singleDevice", false, nil, false},
	} {
		id := passkey.AuthjsCredentialID(p.raw)
		if p.account {
			insert(t, d, s, "Account", map[string]any{"userId": p.user, "type": "webauthn", "provider": "passkey", "providerAccountId": id})
		}
		insert(t, d, s, "Authenticator", map[string]any{"credentialID": id, "userId": p.user, "providerAccountId": id, "credentialPublicKey": p.key,
			"counter": p.counter, "credentialDeviceType": p.dev, "credentialBackedUp": p.backed, "transports": p.transports})
	}
}

// TestExportImport_authjsRoundTrip moves Auth.js passkeys from PostgreSQL
// to MariaDB and SQLite through the export format: the rows are identical.
func TestExportImport_authjsRoundTrip(t *testing.T) {
	ctx := context.Background()
	_, src := dbtest.Migrated(t, "postgres")
	ss := detect(t, src)
	seedAuthjs(t, src, ss)
	jsonl, recs := exportAll(t, src, ss)
	if len(recs) != 4 {
		t.Fatalf("exported %d passkeys, want the 4 whose ownership is consistent:\n%s", len(recs), jsonl)
	}
	want := slices.DeleteFunc(authjsRows(t, src, ss), func(r string) bool {
		return strings.Contains(r, passkey.AuthjsCredentialID([]byte("no-account")))
	})
	for _, dialect := range []string{"postgres", "mysql", "sqlite"} {
		t.Run(dialect, func(t *testing.T) {
			_, dst := dbtest.Migrated(t, dialect)
			ds := detect(t, dst)
			res, err := dst.Import(ctx, ds, strings.NewReader(jsonl), store.ImportOptions{ProviderID: "passkey", CreateUsers: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.Inserted != 4 || len(res.UsersCreated) != 2 || res.Read != 4 {
				t.Fatalf("result %+v", res)
			}
			got := authjsRows(t, dst, ds)
			if !slices.Equal(got, want) {
				t.Fatalf("rows differ:\n got  %s\n want %s", strings.Join(got, "\n      "), strings.Join(want, "\n      "))
			}
			// And back out: the same export, byte for byte.
			again, _ := exportAll(t, dst, ds)
			if again != jsonl {
				t.Fatalf("re-export differs:\n%s\nvs\n%s", again, jsonl)
			}
		})
	}
}

// TestImport_betterAuth moves the real Auth.js passkey into Better Auth
// tables of every dialect and naming; the fixture's real sign-in verifies
// against the row read back by the browser's id, exactly as Better Auth
// looks it up.
func TestImport_betterAuth(t *testing.T) {
	ctx := context.Background()
	ax := loadCeremony(t, "authjs-registration-postgres.json")
	_, src := dbtest.Migrated(t, "sqlite")
	ss := detect(t, src)
	insertFixture(t, src, ss, loadFixture(t))
	jsonl, _ := exportAll(t, src, ss)
	for _, dialect := range dbtest.Dialects {
		for _, sh := range baShapes {
			t.Run(dialect+"/"+sh.name, func(t *testing.T) {
				o := sh.opts
				if sh.opts.Snake {
					o.IDMode = "integer"
				}
				_, dst := dbtest.BetterAuth(t, dialect, o)
				ds := detect(t, dst)
				res, err := dst.Import(ctx, ds, strings.NewReader(jsonl), store.ImportOptions{CreateUsers: true})
				if err != nil {
					t.Fatal(err)
				}
				if res.Inserted != 1 || len(res.UsersCreated) != 1 || res.App != string(db.AppBetterAuth) {
					t.Fatalf("result %+v", res)
				}
				got, err := dst.GetBetterAuthPasskey(ctx, ds, ax.Registration.ResponseJSON.ID)
				if err != nil {
					t.Fatalf("lookup by the browser's id: %v", err)
				}
				if err := verifyStored(t, ax, got.CredentialID, got.PublicKey, got.DeviceType, got.BackedUp, got.Counter); err != nil {
					t.Fatalf("sign-in against the imported row: %v", err)
				}
				if got.Name != nil || got.CreatedAt != nil || got.AAGUID != nil || got.Transports == nil || *got.Transports != "hybrid,internal" {
					t.Errorf("row %+v: name, createdAt, aaguid must be NULL (Auth.js never stored them)", got)
				}
				// The user, as Better Auth needs it: name from the
				// e-mail's local part, lower-cased e-mail, boolean
				// emailVerified; the id kept in text mode.
				u, err := dst.FindUser(ctx, ds, "fixture@example.com")
				if err != nil {
					t.Fatal(err)
				}
				if u.Name == nil || *u.Name != "fixture" || u.EmailVerified || got.UserID != u.ID {
					t.Errorf("user %+v owns %s", u, got.UserID)
				}
				if o.IDMode == "integer" {
					if u.ID != "1" || got.ID != "1" {
						t.Errorf("integer mode: user %s passkey %s, want the database's ids", u.ID, got.ID)
					}
				} else if u.ID != "cmwvgemvd0000l07d4xrhgdsb" || !textID.MatchString(got.ID) {
					t.Errorf("text mode: user %s passkey id %s", u.ID, got.ID)
				}
				// Better Auth back to the export format: the same record.
				back, _ := exportAll(t, dst, ds)
				var r1, r2 passkey.ExportRecord
				json.Unmarshal([]byte(jsonl), &r1)
				json.Unmarshal([]byte(back), &r2)
				r2.User.ID, r1.User.ID = "", ""
				r1.User.Name, r2.User.Name = nil, nil
				if b1, b2 := mustJSON(r1), mustJSON(r2); b1 != b2 {
					t.Errorf("Better Auth export differs:\n%s\n%s", b1, b2)
				}
			})
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestExportImport_betterAuthToAuthjs moves Better Auth's real passkey to
// Auth.js: its real sign-in verifies against the Authenticator row.
func TestExportImport_betterAuthToAuthjs(t *testing.T) {
	ctx := context.Background()
	bx := loadCeremony(t, "betterauth-registration-postgres.json")
	_, src := dbtest.BetterAuth(t, "postgres", dbtest.BetterAuthOptions{})
	ss := detect(t, src)
	b := bx.Registration.RowsWritten["passkey"][0]
	u := bx.Registration.RowsWritten["user"][0]
	baUser(t, src, ss, str(u["id"]), str(u["email"]), str(u["name"]))
	name, aaguid := str(b["name"]), str(b["aaguid"])
	if _, err := src.InsertBetterAuthPasskey(ctx, ss, db.BetterAuthPasskey{
		ID: str(b["id"]), Name: &name, PublicKey: str(b["publicKey"]), UserID: str(b["userId"]), CredentialID: str(b["credentialID"]),
		DeviceType: str(b["deviceType"]), BackedUp: true, Transports: ptr(str(b["transports"])), AAGUID: &aaguid,
	}, db.BetterAuthInsertOptions{}); err != nil {
		t.Fatal(err)
	}
	jsonl, recs := exportAll(t, src, ss)
	if len(recs) != 1 || recs[0].Name == nil || *recs[0].Name != "fixture key" || recs[0].AAGUID == nil || recs[0].CreatedAt == nil || recs[0].User.Name == nil {
		t.Fatalf("export %s", jsonl)
	}
	_, dst := dbtest.Migrated(t, "sqlite")
	ds := detect(t, dst)
	if _, err := dst.Import(ctx, ds, strings.NewReader(jsonl), store.ImportOptions{ProviderID: "passkey", CreateUsers: true}); err != nil {
		t.Fatal(err)
	}
	p, err := dst.GetPasskey(ctx, ds, mustDecode(t, bx.Registration.ResponseJSON.ID), "passkey")
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != passkey.StatusOK || p.CredentialID != "+/+/DlocM6nS8Etsjhej2cKx8O4=" {
		t.Fatalf("Auth.js passkey %+v", p)
	}
	if err := verifyStored(t, bx, p.CredentialID, p.PublicKey, p.CredentialDeviceType, p.CredentialBackedUp, p.Counter); err != nil {
		t.Fatalf("sign-in against the Authenticator row: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

func mustDecode(t testing.TB, s string) []byte {
	t.Helper()
	b, err := passkey.DecodeBase64(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// record makes an export line for user (id, email) with a fresh credential.
func record(t testing.TB, userID, email string) passkey.ExportRecord {
	t.Helper()
	raw := make([]byte, 16)
	rand.Read(raw)
	e := email
	return passkey.ExportRecord{
		Version: passkey.ExportFormatVersion, CredentialID: base64.RawURLEncoding.EncodeToString(raw), PublicKey: coseKey(t, -7),
		DeviceType: "multiDevice", BackedUp: true, Transports: []string{"internal"},
		User: passkey.ExportUser{ID: userID, Email: &e}, Status: passkey.StatusOK,
	}
}

func lines(recs ...passkey.ExportRecord) string {
	var sb strings.Builder
	w := passkey.NewExportWriter(&sb)
	for _, r := range recs {
		w.Write(r)
	}
	return sb.String()
}

// countRows returns the row counts of the tables.
func countRows(t testing.TB, d *db.DB, tables ...string) []int {
	t.Helper()
	var out []int
	for _, tb := range tables {
		var n int
		if err := d.X.Get(&n, "SELECT COUNT(*) FROM "+d.Q(tb)); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

// importTarget is a fresh target of an app on a dialect with one existing
// user "u1" <one@example.com>.
func importTarget(t *testing.T, app db.App, dialect string) (*db.DB, *db.Schema, []string) {
	t.Helper()
	if app == db.AppBetterAuth {
		_, d := dbtest.BetterAuth(t, dialect, dbtest.BetterAuthOptions{})
		s := detect(t, d)
		baUser(t, d, s, "u1", "One@Example.com", "One")
		return d, s, []string{"passkey", "user"}
	}
	_, d := dbtest.Migrated(t, dialect)
	s := detect(t, d)
	insert(t, d, s, "User", map[string]any{"id": "u1", "email": "One@Example.com"})
	return d, s, []string{"Authenticator", "Account", "User"}
}

func TestImport_users(t *testing.T) {
	// Every dialect: MySQL's collation matches e-mails case-insensitively
	// in the first lookup, PostgreSQL and SQLite need the LOWER one.
	for _, dialect := range dbtest.Dialects {
		for _, app := range []db.App{db.AppAuthjs, db.AppBetterAuth} {
			t.Run(dialect+"/"+string(app), func(t *testing.T) {
				testImportUsers(t, dialect, app)
			})
		}
	}
}

func testImportUsers(t *testing.T, dialect string, app db.App) {
	ctx := context.Background()
	d, s, tables := importTarget(t, app, dialect)
	before := countRows(t, d, tables...)
	in := lines(
		record(t, "u1", "one@example.com"),       // by id
		record(t, "other-id", "ONE@example.COM"), // by e-mail, case-insensitively
		record(t, "u2", "two@example.com"),       // missing
		record(t, "u2", "two@example.com"),
		record(t, "u3", "three@example.com"), // missing
		record(t, "u1", "someone@else.com"),  // id of another person
	)
	res, err := d.Import(ctx, s, strings.NewReader(in), store.ImportOptions{ProviderID: "passkey"})
	if !errors.Is(err, passkey.ErrNotFound) || !strings.Contains(err.Error(), "--create-users") {
		t.Fatalf("want ErrNotFound naming --create-users, got %v", err)
	}
	if len(res.Unmatched) != 3 || res.Unmatched[0].ID != "u2" || res.Unmatched[0].Line != 3 || res.Unmatched[1].ID != "u3" ||
		!strings.Contains(res.Unmatched[2].Reason, "One@Example.com, not someone@else.com") {
		t.Fatalf("unmatched %+v", res.Unmatched)
	}
	if after := countRows(t, d, tables...); !slices.Equal(after, before) {
		t.Fatalf("rows %v -> %v: something was written", before, after)
	}
	// With --create-users the missing users are created; the one
	// whose id belongs to someone else is still refused.
	res, err = d.Import(ctx, s, strings.NewReader(in), store.ImportOptions{ProviderID: "passkey", CreateUsers: true})
	if !errors.Is(err, passkey.ErrNotFound) || len(res.Unmatched) != 1 {
		t.Fatalf("want only the foreign id unmatched, got %v %+v", err, res.Unmatched)
	}
	in = strings.Join(strings.Split(in, "\n")[:5], "\n")
	res, err = d.Import(ctx, s, strings.NewReader(in), store.ImportOptions{ProviderID: "passkey", CreateUsers: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Inserted != 5 || len(res.UsersCreated) != 2 || res.UsersMatched != 2 {
		t.Fatalf("result %+v", res)
	}
	for _, ref := range []string{"two@example.com", "three@example.com"} {
		if _, err := d.FindUser(ctx, s, ref); err != nil {
			t.Errorf("created user %s: %v", ref, err)
		}
	}
}

func TestImport_conflicts(t *testing.T) {
	ctx := context.Background()
	for _, app := range []db.App{db.AppAuthjs, db.AppBetterAuth} {
		t.Run(string(app), func(t *testing.T) {
			d, s, tables := importTarget(t, app, "mysql")
			a := record(t, "u1", "one@example.com")
			if _, err := d.Import(ctx, s, strings.NewReader(lines(a)), store.ImportOptions{ProviderID: "passkey"}); err != nil {
				t.Fatal(err)
			}
			before := countRows(t, d, tables...)
			a2 := a
			a2.Counter, a2.BackedUp = 9, false
			fresh := record(t, "u1", "one@example.com")
			// A credential that differs only in case is another
			// credential, also on MySQL's case-insensitive collation.
			raw := mustDecode(t, a.CredentialID)
			caseTwin := fresh
			caseTwin.CredentialID = flipCase(a.CredentialID)
			if bytes.Equal(mustDecode(t, caseTwin.CredentialID), raw) {
				t.Fatal("test needs a letter in the ID")
			}
			in := lines(fresh, a2, caseTwin)

			res, err := d.Import(ctx, s, strings.NewReader(in), store.ImportOptions{ProviderID: "passkey"})
			if !errors.Is(err, passkey.ErrConflict) || len(res.Conflicts) != 1 || res.Conflicts[0].Line != 2 {
				t.Fatalf("fail: %v %+v", err, res)
			}
			if after := countRows(t, d, tables...); !slices.Equal(after, before) {
				t.Fatalf("fail wrote rows: %v -> %v", before, after)
			}

			res, err = d.Import(ctx, s, strings.NewReader(in), store.ImportOptions{ProviderID: "passkey", OnConflict: store.ConflictSkip, DryRun: true})
			if err != nil || res.Inserted != 2 || res.Skipped != 1 {
				t.Fatalf("skip dry run: %v %+v", err, res)
			}
			if after := countRows(t, d, tables...); !slices.Equal(after, before) {
				t.Fatalf("dry run wrote rows: %v -> %v", before, after)
			}

			res, err = d.Import(ctx, s, strings.NewReader(in), store.ImportOptions{ProviderID: "passkey", OnConflict: store.ConflictUpdate})
			if err != nil || res.Inserted != 2 || res.Updated != 1 {
				t.Fatalf("update: %v %+v", err, res)
			}
			counter, backed := storedCounter(t, d, s, raw)
			if counter != 9 || backed {
				t.Fatalf("after update: counter %d backedUp %t", counter, backed)
			}
			// An older record (an old backup) never lowers the counter.
			older := a2
			older.Counter = 2
			if res, err = d.Import(ctx, s, strings.NewReader(lines(older)), store.ImportOptions{ProviderID: "passkey", OnConflict: store.ConflictUpdate}); err != nil || res.Updated != 1 {
				t.Fatalf("update with a lower counter: %v %+v", err, res)
			}
			if counter, _ := storedCounter(t, d, s, raw); counter != 9 {
				t.Fatalf("a lower counter was written: %d, want 9 kept", counter)
			}
			// Everything is there now: skip changes nothing.
			res, err = d.Import(ctx, s, strings.NewReader(in), store.ImportOptions{ProviderID: "passkey", OnConflict: store.ConflictSkip})
			if err != nil || res.Skipped != 3 || res.Inserted != 0 {
				t.Fatalf("skip all: %v %+v", err, res)
			}
			// The same credential twice in one input (a backup file
			// appended to twice): one passkey, the highest counter, the
			// latest flags, whichever line comes first.
			twice := record(t, "u1", "one@example.com")
			var warned []string
			warn := func(w string) { warned = append(warned, w) }
			res, err = d.Import(ctx, s, strings.NewReader(lines(twice, twice)), store.ImportOptions{ProviderID: "passkey", Warn: warn})
			if err != nil || res.Inserted != 1 || res.Duplicates != 1 || len(warned) != 1 || !strings.Contains(warned[0], "line 2") {
				t.Fatalf("repeated line: %v %+v %q", err, res, warned)
			}
			twiceRaw := mustDecode(t, twice.CredentialID)
			deleteCredential(t, d, s, twiceRaw)
			newer := twice
			newer.Counter, newer.BackedUp = 3, !twice.BackedUp
			res, err = d.Import(ctx, s, strings.NewReader(lines(newer, twice)), store.ImportOptions{ProviderID: "passkey", OnConflict: store.ConflictSkip})
			if err != nil || res.Inserted != 1 || res.Updated != 0 || res.Skipped != 0 || res.Duplicates != 1 {
				t.Fatalf("repeated line, skip: %v %+v", err, res)
			}
			if c, _ := storedCounter(t, d, s, twiceRaw); c != 3 {
				t.Fatalf("the highest counter wins: counter %d, want 3", c)
			}
			// Across batches too: the later record updates the row the
			// earlier batch wrote.
			deleteCredential(t, d, s, twiceRaw)
			res, err = d.Import(ctx, s, strings.NewReader(lines(twice, newer)), store.ImportOptions{ProviderID: "passkey", BatchSize: 1})
			if err != nil || res.Inserted != 1 || res.Updated != 0 || res.Duplicates != 1 {
				t.Fatalf("repeated line across batches: %v %+v", err, res)
			}
			if c, _ := storedCounter(t, d, s, twiceRaw); c != 3 {
				t.Fatalf("the highest counter wins across batches: counter %d, want 3", c)
			}
			// Owned by another user in the target: update refuses.
			other := a
			other.User = passkey.ExportUser{ID: "u9", Email: ptr("nine@example.com")}
			res, err = d.Import(ctx, s, strings.NewReader(lines(other)), store.ImportOptions{ProviderID: "passkey", OnConflict: store.ConflictUpdate, CreateUsers: true})
			if !errors.Is(err, passkey.ErrConflict) || !strings.Contains(res.Conflicts[0].Reason, "another user") {
				t.Fatalf("other owner: %v %+v", err, res)
			}
		})
	}
}

func flipCase(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = c - 32
			return string(b)
		case c >= 'A' && c <= 'Z':
			b[i] = c + 32
			return string(b)
		}
	}
	return s
}

// storedCounter reads counter and the backed-up flag of a passkey.
func storedCounter(t testing.TB, d *db.DB, s *db.Schema, raw []byte) (int64, bool) {
	t.Helper()
	if s.App == db.AppBetterAuth {
		r, err := d.GetBetterAuthPasskey(context.Background(), s, passkey.Base64URL(raw))
		if err != nil {
			t.Fatal(err)
		}
		return r.Counter, r.BackedUp
	}
	p, err := d.GetPasskey(context.Background(), s, raw, "passkey")
	if err != nil {
		t.Fatal(err)
	}
	return p.Counter, p.CredentialBackedUp
}

func TestImport_dryRunAndBroken(t *testing.T) {
	ctx := context.Background()
	d, s, tables := importTarget(t, db.AppAuthjs, "sqlite")
	before := countRows(t, d, tables...)
	broken := record(t, "u1", "one@example.com")
	broken.Status = passkey.StatusNoAccount
	in := lines(record(t, "u1", "one@example.com"), record(t, "new", "new@example.com"), broken)
	var warnings []string
	res, err := d.Import(ctx, s, strings.NewReader(in), store.ImportOptions{ProviderID: "passkey", CreateUsers: true, DryRun: true, Warn: func(w string) { warnings = append(warnings, w) }})
	if err != nil {
		t.Fatal(err)
	}
	if !res.DryRun || res.Inserted != 2 || len(res.UsersCreated) != 1 || res.Broken != 1 || len(warnings) != 1 || !strings.Contains(warnings[0], "line 3") {
		t.Fatalf("dry run %+v warnings %v", res, warnings)
	}
	if after := countRows(t, d, tables...); !slices.Equal(after, before) {
		t.Fatalf("dry run wrote rows: %v -> %v", before, after)
	}
	// An invalid line after valid ones that were already written in the
	// transaction: all rolled back.
	in = lines(record(t, "u1", "one@example.com")) + "{\"version\":1}\n"
	if _, err := d.Import(ctx, s, strings.NewReader(in), store.ImportOptions{ProviderID: "passkey", BatchSize: 1}); !errors.Is(err, passkey.ErrInvalid) {
		t.Fatalf("invalid line: %v", err)
	}
	if after := countRows(t, d, tables...); !slices.Equal(after, before) {
		t.Fatalf("invalid input wrote rows: %v -> %v", before, after)
	}
}

// TestExport_statusAndUser checks broken passkeys carry their status and
// --user limits the export.
func TestExport_statusAndUser(t *testing.T) {
	_, d := dbtest.Migrated(t, "sqlite")
	s := detect(t, d)
	seedAuthjs(t, d, s)
	var all []passkey.ExportRecord
	if err := d.ExportPasskeys(context.Background(), s, store.ExportOptions{ProviderID: "passkey", UserID: "user2"}, func(r passkey.ExportRecord) error {
		all = append(all, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Fatalf("user2 has 3 passkeys, got %d", len(all))
	}
	var statuses []string
	for _, r := range all {
		statuses = append(statuses, r.Status)
		if r.User.ID != "user2" || r.User.Name == nil || *r.User.Name != "Second User" || !r.User.EmailVerified {
			t.Errorf("user %+v", r.User)
		}
	}
	slices.Sort(statuses)
	if !slices.Equal(statuses, []string{passkey.StatusNoAccount, passkey.StatusOK, passkey.StatusOK}) {
		t.Fatalf("statuses %v", statuses)
	}
	// list and export agree on every status.
	err := d.ListPasskeys(context.Background(), s, store.ListOptions{ProviderID: "passkey", UserID: "user2"}, func(p passkey.Passkey) error {
		for _, r := range all {
			if r.CredentialID == passkey.Base64URL(mustDecode(t, p.CredentialID)) && r.Status != p.Status {
				t.Errorf("%s: list says %s, export %s", p.CredentialID, p.Status, r.Status)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// variantDB loads one of testdata's Auth.js schema variants.
func variantDB(t *testing.T, dialect, file string) (*db.DB, *db.Schema) {
	t.Helper()
	d := dbtest.Open(t, dbtest.New(t, dialect))
	b, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	dbtest.Exec(t, d, db.SplitStatements(string(b))...)
	return d, detect(t, d)
}

// TestImport_authjsVariants writes into the older schemas Auth.js apps
// still run: ids generated where Prisma would, lower-case Drizzle tables,
// and the refusals the narrow MySQL docs schema needs.
func TestImport_authjsVariants(t *testing.T) {
	ctx := context.Background()
	ax := loadCeremony(t, "authjs-registration-postgres.json")
	fixture := lines(authjsRecord(t, ax))
	t.Run("mysql legacy", func(t *testing.T) {
		d, s := variantDB(t, "mysql", "legacy.mysql.sql")
		if s.Variant != db.VariantLegacy {
			t.Fatalf("variant %s", s.Variant)
		}
		if _, err := d.Import(ctx, s, strings.NewReader(fixture), store.ImportOptions{ProviderID: "passkey", CreateUsers: true}); err != nil {
			t.Fatal(err)
		}
		p, err := d.GetPasskey(ctx, s, mustDecode(t, ax.Registration.ResponseJSON.ID), "passkey")
		if err != nil || p.Status != passkey.StatusOK {
			t.Fatalf("%+v %v", p, err)
		}
		if err := verifyStored(t, ax, p.CredentialID, p.PublicKey, p.CredentialDeviceType, p.CredentialBackedUp, p.Counter); err != nil {
			t.Fatal(err)
		}
		var ids []string
		if err := d.X.Select(&ids, "SELECT `id` FROM `Authenticator` UNION ALL SELECT `id` FROM `Account`"); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if len(id) != 25 || id[0] != 'c' {
				t.Errorf("generated id %q is not cuid-shaped", id)
			}
		}
		// Account.userId is UNIQUE there: a second passkey of the user
		// cannot have its Account row. Nothing is written.
		second := record(t, "cmwvgemvd0000l07d4xrhgdsb", "fixture@example.com")
		_, err = d.Import(ctx, s, strings.NewReader(lines(second)), store.ImportOptions{ProviderID: "passkey"})
		if !errors.Is(err, passkey.ErrSchemaNotReady) || !strings.Contains(err.Error(), "userId is UNIQUE") {
			t.Fatalf("second passkey: %v", err)
		}
		// An RSA key does not fit VARCHAR(191): refused before writing.
		rsa := record(t, "u-rsa", "rsa@example.com")
		rsa.PublicKey = coseKey(t, -257)
		_, err = d.Import(ctx, s, strings.NewReader(lines(rsa)), store.ImportOptions{ProviderID: "passkey", CreateUsers: true})
		if !errors.Is(err, passkey.ErrSchemaNotReady) || !strings.Contains(err.Error(), "credentialPublicKey holds 191 characters") {
			t.Fatalf("RSA key in VARCHAR(191): %v", err)
		}
		if n := countRows(t, d, "Authenticator", "User"); !slices.Equal(n, []int{1, 1}) {
			t.Fatalf("rows %v after refused imports", n)
		}
	})
	t.Run("sqlite drizzle", func(t *testing.T) {
		d, s := variantDB(t, "sqlite", "drizzle.sqlite.sql")
		if s.Variant != db.VariantDrizzle || s.App != db.AppAuthjs {
			t.Fatalf("variant %s app %s", s.Variant, s.App)
		}
		rec := authjsRecord(t, ax)
		rec.User.EmailVerified = true
		if _, err := d.Import(ctx, s, strings.NewReader(lines(rec)), store.ImportOptions{ProviderID: "passkey", CreateUsers: true, Now: func() time.Time { return time.UnixMilli(1764035565510) }}); err != nil {
			t.Fatal(err)
		}
		var verified int64
		if err := d.X.Get(&verified, `SELECT "emailVerified" FROM "user"`); err != nil || verified != 1764035565510 {
			t.Fatalf("emailVerified %d (%v), want Drizzle's integer milliseconds", verified, err)
		}
		p, err := d.GetPasskey(ctx, s, mustDecode(t, ax.Registration.ResponseJSON.ID), "passkey")
		if err != nil || p.Status != passkey.StatusOK {
			t.Fatalf("%+v %v", p, err)
		}
	})
}

// TestImport_refusesUnfillableColumns: a NOT NULL column without a default
// that is not the app's is filled by the app's own code; import refuses
// before reading anything rather than fail half-way or guess a value.
func TestImport_refusesUnfillableColumns(t *testing.T) {
	ctx := context.Background()
	in := lines(record(t, "u1", "one@example.com"))
	cases := []struct {
		app         db.App
		table, want string
		createUsers bool
	}{
		{db.AppAuthjs, "Account", `Account.tenantId is NOT NULL without a default and is not an Auth.js column`, false},
		{db.AppAuthjs, "Authenticator", `Authenticator.tenantId is NOT NULL without a default and is not an Auth.js column`, false},
		{db.AppAuthjs, "User", `User.tenantId is NOT NULL without a default and is not an Auth.js column`, true},
		{db.AppBetterAuth, "passkey", `passkey.tenantId is NOT NULL without a default and is not a column of Better Auth's schema`, false},
		{db.AppBetterAuth, "user", `user.tenantId is NOT NULL without a default and is not a column of Better Auth's schema`, true},
	}
	for _, c := range cases {
		t.Run(string(c.app)+"/"+c.table, func(t *testing.T) {
			d, _, tables := importTarget(t, c.app, "postgres")
			dbtest.Exec(t, d, `ALTER TABLE `+d.Q(c.table)+` ADD COLUMN "tenantId" TEXT NOT NULL DEFAULT 't1'`, `ALTER TABLE `+d.Q(c.table)+` ALTER COLUMN "tenantId" DROP DEFAULT`)
			s := detect(t, d)
			before := countRows(t, d, tables...)
			_, err := d.Import(ctx, s, strings.NewReader(in), store.ImportOptions{ProviderID: "passkey", CreateUsers: c.createUsers})
			if !errors.Is(err, passkey.ErrSchemaNotReady) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want ErrSchemaNotReady %q, got %v", c.want, err)
			}
			if after := countRows(t, d, tables...); !slices.Equal(after, before) {
				t.Fatalf("rows %v -> %v", before, after)
			}
		})
	}
}

// deleteCredential revokes one passkey, so that a test can import it again.
func deleteCredential(t testing.TB, d *db.DB, s *db.Schema, raw []byte) {
	t.Helper()
	ctx := context.Background()
	ps, err := d.ResolveCredentials(ctx, s, []string{passkey.Base64URL(raw)}, "passkey")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Revoke(ctx, s, ps, store.RevokeOptions{ProviderID: "passkey"}); err != nil {
		t.Fatal(err)
	}
}

// TestExportReader_torn reads what a crash or a full disk leaves in a
// backup: records cut short, one glued to the whole record appended after
// it. Each torn part is ErrTornRecord with its line; every whole record is
// still read.
func TestExportReader_torn(t *testing.T) {
	whole := func(id string) string {
		r := record(t, "u1", "one@example.com")
		r.CredentialID = id
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	a, b, c := whole("AQEBAQEBAQEBAQEBAQEBAQ"), whole("AgICAgICAgICAgICAgICAg"), whole("AwMDAwMDAwMDAwMDAwMDAw")
	in := a + "\n" + b[:40] + c[:25] + a + "\n\n" + c + "\n" + b[:len(b)-1]
	rd := passkey.NewExportReader(strings.NewReader(in))
	type got struct {
		id   string
		line int
		torn bool
	}
	var out []got
	for {
		rec, line, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, passkey.ErrTornRecord) {
			t.Fatalf("line %d: %v", line, err)
		}
		out = append(out, got{rec.CredentialID, line, err != nil})
	}
	want := []got{{"AQEBAQEBAQEBAQEBAQEBAQ", 1, false}, {"", 2, true}, {"", 2, true}, {"AQEBAQEBAQEBAQEBAQEBAQ", 2, false},
		{"AwMDAwMDAwMDAwMDAwMDAw", 4, false}, {"", 5, true}}
	if !slices.Equal(out, want) {
		t.Fatalf("got %+v\nwant %+v", out, want)
	}
}

// TestImport_backupRecords: a revoke backup's record of a passkey the
// target still holds for the same user is skipped, with every conflict
// policy; a plain export record of it is a conflict; a record with an
// unusable public key is left out, not an error.
func TestImport_backupRecords(t *testing.T) {
	ctx := context.Background()
	for _, app := range []db.App{db.AppAuthjs, db.AppBetterAuth} {
		t.Run(string(app), func(t *testing.T) {
			d, s, _ := importTarget(t, app, "sqlite")
			a := record(t, "u1", "one@example.com")
			if _, err := d.Import(ctx, s, strings.NewReader(lines(a)), store.ImportOptions{ProviderID: "passkey"}); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Import(ctx, s, strings.NewReader(lines(a)), store.ImportOptions{ProviderID: "passkey"}); !errors.Is(err, passkey.ErrConflict) {
				t.Fatalf("an export record of a stored passkey: want ErrConflict, got %v", err)
			}
			at := "2026-11-30T10:00:00.000Z"
			backup := a
			backup.RevokedAt = &at
			backup.Counter = a.Counter + 5
			noKey := record(t, "u1", "one@example.com")
			noKey.PublicKey = ""
			var warned []string
			res, err := d.Import(ctx, s, strings.NewReader(lines(backup, noKey)), store.ImportOptions{ProviderID: "passkey", Warn: func(w string) { warned = append(warned, w) }})
			if err != nil || res.Skipped != 1 || res.Broken != 1 || res.Inserted != 0 || len(warned) != 1 || !strings.Contains(warned[0], "line 2") {
				t.Fatalf("backup record of a stored passkey: %v %+v %q", err, res, warned)
			}
			if c, _ := storedCounter(t, d, s, mustDecode(t, a.CredentialID)); c != a.Counter {
				t.Fatalf("a skipped record changed the counter: %d", c)
			}
		})
	}
}
