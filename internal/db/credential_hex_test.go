package db_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/passkeyctl/passkeyctl/internal/db"
)

// "hex:" with nothing (or only blanks) after it is no credential ID: it
// decoded to an empty ID before.
func TestParseCredentialID_emptyHex(t *testing.T) {
	for _, s := range []string{"hex:", " hex: ", "hex:  "} {
		if _, err := db.ParseCredentialID(s); !errors.Is(err, db.ErrInvalid) || !strings.Contains(err.Error(), "empty credential ID") {
			t.Errorf("ParseCredentialID(%q): %v", s, err)
		}
		if _, err := db.CredentialIDCandidates(s); !errors.Is(err, db.ErrInvalid) || !strings.Contains(err.Error(), "empty credential ID") {
			t.Errorf("CredentialIDCandidates(%q): %v", s, err)
		}
	}
	if b, err := db.ParseCredentialID("hex:0a0b"); err != nil || len(b) != 2 {
		t.Errorf("hex:0a0b: %x %v", b, err)
	}
}
