//go:build linux || freebsd || netbsd || openbsd || dragonfly

package desktop

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// wlCopy owns the Wayland clipboard through wl-copy (wl-clipboard), the way onto a compositor
// without data control (GNOME's Mutter): wl-copy sets the selection from a window of its own,
// which a tray has not.
//
// wl-copy forks once the selection is set and the parent exits: that exit is how we know the
// copy is done (or why it failed). The child serves pastes until another program copies, then
// ends. Its standard error is a pipe of ours, which it keeps open as long as it runs: the end
// of that pipe is how we know it has ended (its process id would not do: an orphan that has
// ended counts as a process until init reaps it). The text goes in on stdin, never on the
// command line, which other users can read in /proc. wl-copy writes it to a temporary file
// under $TMPDIR (given our $XDG_RUNTIME_DIR, a per-user tmpfs) while it serves it:
// wl-clipboard 2.1 until it is replaced or cleared, when it removes the file itself (a killed
// one would leave it behind, so Clear never kills it); 2.3 unlinks it at once. It needs cat
// (and 2.1 rm) on PATH.
//
// A secret is marked only by wl-clipboard 2.3 and later (--sensitive offers
// x-kde-passwordManagerHint); older ones (Debian 12 has 2.1) offer text only.
type wlCopy struct {
	path      string
	sensitive bool // this wl-copy knows --sensitive
	env       []string

	mu  sync.Mutex
	cur *wlCopied // our last copy; nil after Clear
}

// wlCopied is one copy: the text, and the end of the wl-copy serving it.
type wlCopied struct {
	text  string
	ended <-chan struct{}
}

// wlCopyTimeout bounds each run of wl-copy until it has set the selection (or cleared it).
const wlCopyTimeout = 10 * time.Second

// openWlCopy prepares copies with the wl-copy at path; it asks it whether it knows
// --sensitive.
func openWlCopy(path string) (owner, error) {
	w := &wlCopy{path: path, env: os.Environ()}
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
		w.env = append(w.env, "TMPDIR="+dir)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wlCopyTimeout)
	defer cancel()
	help, err := exec.CommandContext(ctx, path, "--help").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%s --help: %w", path, err)
	}
	w.sensitive = bytes.Contains(help, []byte("--sensitive"))
	return w, nil
}

// Copy starts a wl-copy that takes the clipboard with text and waits until it has (the
// wl-copy serving our earlier copy, if any, is then cancelled by the compositor and ends).
func (w *wlCopy) Copy(text string, secret bool) error {
	args := []string{"--type", "text/plain;charset=utf-8"}
	if secret && w.sensitive {
		args = append(args, "--sensitive")
	}
	ended, err := w.run(text, args...)
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.cur = &wlCopied{text: text, ended: ended}
	w.mu.Unlock()
	return nil
}

// Holds reports whether our wl-copy still serves exactly text: wl-copy ends when another
// program copies.
func (w *wlCopy) Holds(text string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cur != nil && w.cur.text == text && !closed(w.cur.ended)
}

// Clear empties the clipboard if our wl-copy still serves it: wl-copy --clear, after which
// ours is cancelled and ends, removing its temporary file.
func (w *wlCopy) Clear() error {
	w.mu.Lock()
	cur := w.cur
	w.cur = nil
	w.mu.Unlock()
	if cur == nil || closed(cur.ended) {
		return nil
	}
	_, err := w.run("", "--clear")
	return err
}

// Close clears our copy: our wl-copy would go on serving it after we quit.
func (w *wlCopy) Close() error { return w.Clear() }

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// run runs wl-copy with args and stdin until it exits (having forked the child that serves
// the copy) and returns what is closed when that child has ended too.
func (w *wlCopy) run(stdin string, args ...string) (<-chan struct{}, error) {
	r, wr, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("wl-copy: %w", err)
	}
	cmd := exec.Command(w.path, args...)
	cmd.Env = w.env
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stderr = wr
	// A group of its own: a wl-copy that hangs is ended with its children.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	wr.Close()
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("start wl-copy: %w", err)
	}
	// Read what it says until every wl-copy process has closed the pipe: ended. The first
	// line is kept for an error message; reading on keeps a chatty child from blocking.
	ended := make(chan struct{})
	var said strings.Builder
	var saidMu sync.Mutex
	go func() {
		defer close(ended)
		defer r.Close()
		buf := make([]byte, 512)
		for {
			n, err := r.Read(buf)
			saidMu.Lock()
			if said.Len() < 512 {
				said.Write(buf[:n])
			}
			saidMu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	timer := time.NewTimer(wlCopyTimeout)
	defer timer.Stop()
	select {
	case err = <-exited:
	case <-timer.C:
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		<-ended
		return nil, fmt.Errorf("wl-copy did not set the clipboard within %s", wlCopyTimeout)
	}
	if err != nil {
		<-ended // no child serves anything: the pipe ends with the processes
		saidMu.Lock()
		line, _, _ := strings.Cut(strings.TrimSpace(said.String()), "\n")
		saidMu.Unlock()
		if line != "" {
			err = fmt.Errorf("%w: %s", err, line)
		}
		return nil, fmt.Errorf("wl-copy: %w", err)
	}
	return ended, nil
}
