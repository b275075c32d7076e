package passkey

import "strings"

// MinCredentialPrefix is the fewest characters of a credential ID that
// ResolveCredentials accepts as a prefix, git-style: with 8 base64
// characters (48 bits) two passkeys of one database share a prefix only
// by a rare accident, and then the ambiguity is listed and refused.
const MinCredentialPrefix = 8

// CredentialPrefix reads id as the start of a credential ID as list shows
// it: the shortened form of a table on a terminal ("INbbybromzQQ…", the
// ellipsis included or "..." typed instead) or a plain prefix. explicit
// is true when the ellipsis says it is one; ok is false when id cannot be a
// prefix (too short, or a character no base64 alphabet has).
func CredentialPrefix(id string) (prefix string, explicit, ok bool) {
	id = strings.TrimSpace(id)
	for _, e := range []string{"…", "..."} {
		if p, found := strings.CutSuffix(id, e); found {
			id, explicit = p, true
			break
		}
	}
	if len(id) < MinCredentialPrefix {
		return "", explicit, false
	}
	for _, c := range id {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("+/-_=", c)) {
			return "", explicit, false
		}
	}
	return id, explicit, true
}

// StandardBase64Prefix is a credential ID prefix in the standard base64
// alphabet Auth.js stores IDs in: base64url's "-" and "_" are "+" and "/"
// there, one for one, so a prefix copied from a browser or a log finds the
// stored ID.
func StandardBase64Prefix(prefix string) string {
	return strings.NewReplacer("-", "+", "_", "/").Replace(prefix)
}

// Base64URLPrefix is a credential ID prefix in the base64url alphabet,
// without padding (Better Auth's).
func Base64URLPrefix(prefix string) string {
	return strings.NewReplacer("+", "-", "/", "_", "=", "").Replace(prefix)
}

// IsCredentialPrefix reports whether id can only be, or may be, the start
// of a credential ID that ResolveCredentials resolves: it ends with "…" (or
// "...") after at least MinCredentialPrefix base64 characters.
func IsCredentialPrefix(id string) bool {
	_, explicit, ok := CredentialPrefix(id)
	return explicit && ok
}
