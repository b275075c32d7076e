package db

import "github.com/passkeyctl/passkeyctl/internal/passkey"

// storedCredentialID is raw in the form the app stores and looks up in its
// credential ID column: standard padded base64 for Auth.js, base64url
// without padding for Better Auth.
func storedCredentialID(app App, raw []byte) string {
	if app == AppBetterAuth {
		return passkey.Base64URL(raw)
	}
	return passkey.AuthjsCredentialID(raw)
}
