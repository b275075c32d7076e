// Command passkeyctl runs the passkey side of an Auth.js (NextAuth v5) or
// Better Auth application from the shell: schema migration, listing and
// revoking passkeys, and a one-shot WebAuthn ceremony server.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// backstopDelay is how long after SIGINT or SIGTERM the process waits for
// the command to return through its defers (rolling back transactions,
// removing temporary files) before it exits anyway: a driver blocked on a
// server that never answers does not see the cancelled context. Closing
// the socket by exiting makes the server roll back; SQLite's journal rolls
// back on the next open.
const backstopDelay = 1500 * time.Millisecond

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		cancel(interrupted{sig})
		select {
		case <-time.After(backstopDelay):
			fmt.Fprintf(os.Stderr, "passkeyctl: interrupted by %s; exiting without waiting for the database (the server rolls back what was open)\n", signalName(sig))
		case sig = <-sigs:
			// A second Ctrl-C: the operator does not want to wait.
		}
		os.Exit(signalExitCode(sig))
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// interrupted is the cause of a context that SIGINT or SIGTERM cancelled.
type interrupted struct{ sig os.Signal }

func (e interrupted) Error() string { return "interrupted by " + signalName(e.sig) }

// signalExitCode is the shell's convention, 128 + the signal's number: 130
// for SIGINT, 143 for SIGTERM.
func signalExitCode(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return exitInterrupted
}

func signalName(sig os.Signal) string {
	switch sig {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}
