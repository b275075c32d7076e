package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/passkeyctl/passkeyctl/internal/passkey"
)

// backupFile is revoke --backup's file. Records are appended in the
// export format (with revokedAt), from inside the revoke's transaction,
// with the rows locked; the file is synced before the revoke can commit,
// so `passkeyctl import PATH` restores every passkey a committed revoke
// removed.
//
// The file always ends on a whole line: an append to a file that does not
// (a write cut short by a crash or an older version) starts on a new line,
// records are written in whole lines, and a write that fails (a full disk)
// is taken back. Records of a revoke that then does not commit may stay;
// import skips a record of a passkey the database still holds and merges
// several records of one passkey, so they never make the undo fail or
// lower a counter.
type backupFile struct {
	path string
	f    *os.File
	// records is how many records the last write appended.
	records int
	// created says that this run created the file.
	created bool
}

// openBackup opens (creates, mode 0600) the --backup file for appending,
// before anything is looked up, so that a backup that cannot be written
// stops the revocation early.
func openBackup(path string) (*backupFile, error) {
	created := true
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if errors.Is(err, fs.ErrExist) {
		created = false
		f, err = os.OpenFile(path, os.O_APPEND|os.O_RDWR, 0o600)
	}
	if err != nil {
		return nil, usageError{fmt.Errorf("cannot write --backup %s: %v; nothing was revoked", path, unwrapPathError(err))}
	}
	// The mode above applies only to a new file: an existing one (0644 from
	// touch, a umask or an earlier tool) is narrowed before any passkey and
	// e-mail address goes into it.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, usageError{fmt.Errorf("cannot make --backup %s private (chmod 600): %v; nothing was revoked", path, unwrapPathError(err))}
	}
	return &backupFile{path: path, f: f, created: created}, nil
}

// backupChunk is how many bytes of whole lines one write appends.
const backupChunk = 64 << 10

// write appends the records and syncs the file. On error the file is cut
// back to where it was, unless another process appended since.
func (b *backupFile) write(records []passkey.ExportRecord) error {
	fi, err := b.f.Stat()
	if err != nil {
		return b.fail(err)
	}
	start := fi.Size()
	var buf bytes.Buffer
	if start > 0 && !b.endsWithNewline(start) {
		buf.WriteByte('\n')
	}
	w := passkey.NewExportWriter(&buf)
	written := int64(0)
	flush := func() error {
		n, err := b.f.Write(buf.Bytes())
		written += int64(n)
		buf.Reset()
		return err
	}
	for _, r := range records {
		if err := w.Write(r); err != nil {
			return b.fail(err)
		}
		if buf.Len() >= backupChunk {
			if err := flush(); err != nil {
				return b.takeBack(start, written, err)
			}
		}
	}
	if err := flush(); err != nil {
		return b.takeBack(start, written, err)
	}
	if err := b.f.Sync(); err != nil {
		return b.takeBack(start, written, err)
	}
	b.records = len(records)
	return nil
}

// endsWithNewline reports whether the file's last byte (at size-1) is a
// newline; when it cannot tell, it says no: an extra blank line is
// harmless, a record glued to a torn one is not.
func (b *backupFile) endsWithNewline(size int64) bool {
	// Through the open file (opened read-write for this), not by its path:
	// the path may name another file by now.
	last := make([]byte, 1)
	if _, err := b.f.ReadAt(last, size-1); err != nil && err != io.EOF {
		return false
	}
	return last[0] == '\n'
}

// takeBack cuts the file back to start after a failed write, so that it
// ends on a whole line again, when nobody else appended since.
func (b *backupFile) takeBack(start, written int64, err error) error {
	if fi, serr := b.f.Stat(); serr == nil && fi.Size() == start+written {
		b.f.Truncate(start)
	}
	return b.fail(err)
}

func (b *backupFile) fail(err error) error {
	return fmt.Errorf("write --backup %s: %v; nothing was revoked", b.path, unwrapPathError(err))
}

// Close closes the file, and removes it when this run created it and it
// is still empty: a revoke that did not happen (an unknown ID, a refusal)
// leaves no empty backup behind.
func (b *backupFile) Close() error {
	if b.created {
		if fi, err := b.f.Stat(); err == nil && fi.Size() == 0 {
			os.Remove(b.path)
		}
	}
	return b.f.Close()
}
