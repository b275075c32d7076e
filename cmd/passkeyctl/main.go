// Command passkeyctl runs the passkey side of an Auth.js (NextAuth v5) or
// Better Auth application from the shell: schema migration, listing and
// revoking passkeys, and a one-shot WebAuthn ceremony server.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
