// Package schema embeds passkeyctl's SQL migrations, one folder per dialect
// (postgres, mysql, sqlite). Each folder holds:
//
//   - core.sql: the Auth.js core tables (User, Account, Session,
//     VerificationToken) in Prisma naming, applied only by migrate --core
//     when they are absent;
//   - NNNN_name.sql: the numbered migrations, applied in order and recorded
//     with the SHA-256 of the file.
//
// Files are text/template documents: {{.User}} and {{.Authenticator}} are the
// quoted table names of the detected naming (Prisma or Drizzle),
// {{.AuthenticatorName}} the bare name for constraint names, and, on MySQL,
// {{.UserIDType}} is the exact column type of User.id, which the foreign key
// column must repeat. Statements end with a semicolon at the end of a line.
package schema

import (
	"embed"
	"io/fs"
)

//go:embed postgres/*.sql mysql/*.sql sqlite/*.sql
var files embed.FS

// FS returns the migrations of one dialect ("postgres", "mysql", "sqlite").
func FS(dialect string) (fs.FS, error) {
	return fs.Sub(files, dialect)
}
