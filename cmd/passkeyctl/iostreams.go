package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"
)

// IOStreams is the command's I/O. Tests build it from buffers; main from the
// process's standard streams.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// InTTY, OutTTY and ErrTTY say whether stdin, stdout and stderr are
	// terminals: prompts need the first, shortened tables the second,
	// progress lines the third.
	InTTY  bool
	OutTTY bool
	ErrTTY bool
	// Quiet (--quiet) sends ErrOut's notes, warnings and progress nowhere;
	// the error line (printed by run on the real stderr) and prompts
	// (promptOut) still show.
	Quiet     bool
	promptOut io.Writer
}

func newIOStreams(stdin io.Reader, stdout, stderr io.Writer) *IOStreams {
	return &IOStreams{In: stdin, Out: stdout, ErrOut: stderr, InTTY: isTerminal(stdin), OutTTY: isTerminal(stdout), ErrTTY: isTerminal(stderr), promptOut: stderr}
}

// setQuiet turns --quiet on or off.
func (s *IOStreams) setQuiet(quiet bool) {
	if s.promptOut == nil {
		s.promptOut = s.ErrOut
	}
	s.Quiet = quiet
	if quiet {
		s.ErrOut = io.Discard
	} else {
		s.ErrOut = s.promptOut
	}
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Confirm asks a yes/no question on the terminal. Without a terminal it
// refuses, so scripts never hang on a prompt: they must pass --yes.
func (s *IOStreams) Confirm(question string) (bool, error) {
	if !s.InTTY {
		return false, usageError{fmt.Errorf("refusing to continue without confirmation: stdin is not a terminal; pass --yes to proceed")}
	}
	prompt := s.promptOut
	if prompt == nil {
		prompt = s.ErrOut
	}
	fmt.Fprintf(prompt, "%s [y/N] ", question)
	line, err := bufio.NewReader(s.In).ReadString('\n')
	if err != nil && line == "" {
		return false, nil
	}
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes", nil
}

// Output formats.
const (
	outputTable = "table"
	outputJSON  = "json"
	outputJSONL = "jsonl"
)

// writeJSON writes v as indented JSON followed by a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// jsonLines writes one compact JSON object per line.
type jsonLines struct{ enc *json.Encoder }

func newJSONLines(w io.Writer) *jsonLines {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &jsonLines{enc: enc}
}

func (j *jsonLines) Write(v any) error { return j.enc.Encode(v) }

// newTable returns an aligned-column writer; call Flush when done.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// ellipsize shortens s to n runes with a trailing "…".
func ellipsize(s string, n int) string {
	r := []rune(s)
	if n <= 1 || len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// marshalIndent is json.MarshalIndent for one element of an indented array,
// without HTML escaping.
func marshalIndent(v any) ([]byte, error) {
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("  ", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimRight(buf.String(), "\n")), nil
}

// writeResult writes a command's result as -o asks: one compact line for
// jsonl, indented JSON otherwise.
func writeResult(w io.Writer, output string, v any) error {
	if output == outputJSONL {
		return newJSONLines(w).Write(v)
	}
	return writeJSON(w, v)
}

// isJSON reports whether the output format is json or jsonl (an options
// struct built without one prints the table).
func isJSON(output string) bool { return output == outputJSON || output == outputJSONL }
