package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/pkg/browser"
	"golang.org/x/term"
)

// isTerminal reports whether r is an interactive terminal (the paste prompt and hidden input are
// offered only then; scripts run `login </dev/null`).
func isTerminal(r io.Reader) bool {
	fl, ok := r.(*os.File)
	return ok && term.IsTerminal(int(fl.Fd()))
}

// readSecret reads one secret: typed without echo at a terminal, else the first line of stdin.
// Secrets never come from flags, where every user of the machine could read them.
func (f *Factory) readSecret(prompt string) (string, error) {
	if fl, ok := f.IO.In.(*os.File); ok && f.StdinTerminal() {
		fmt.Fprint(f.IO.Err, prompt)
		b, err := term.ReadPassword(int(fl.Fd()))
		fmt.Fprintln(f.IO.Err)
		if err != nil {
			return "", fmt.Errorf("read from the terminal: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	line, err := bufio.NewReader(io.LimitReader(f.IO.In, 64<<10)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read stdin: %w", err)
	}
	return strings.TrimSpace(line), nil
}

// openBrowser opens url with $BROWSER when set (pkg/browser ignores it on Linux), else with the
// platform opener. $BROWSER is started detached: we neither wait for it nor hand it our stdout,
// which a script may be reading.
func (f *Factory) openBrowser(url string) error {
	if b := f.Getenv("BROWSER"); b != "" {
		return startDetached(browserCommand(b, url))
	}
	browser.Stdout, browser.Stderr = io.Discard, io.Discard
	return browser.OpenURL(url)
}

// browserCommand follows the $BROWSER convention: a colon-separated list of commands (we take the
// first), where %s stands for the URL; without %s the URL is the last argument.
func browserCommand(spec, url string) []string {
	first, _, _ := strings.Cut(spec, ":")
	args := strings.Fields(first)
	replaced := false
	for i, fl := range args {
		if strings.Contains(fl, "%s") {
			args[i] = strings.ReplaceAll(fl, "%s", url)
			replaced = true
		}
	}
	if !replaced {
		args = append(args, url)
	}
	return args
}

func startDetached(argv []string) error {
	if len(argv) == 0 {
		return fmt.Errorf("$BROWSER is empty")
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = detachAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the browser: %w", err)
	}
	go cmd.Wait() // reap it if it exits while we still run
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func writeJSON(f *Factory, v any) error {
	enc := json.NewEncoder(f.IO.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
