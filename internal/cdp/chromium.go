//go:build unix

package cdp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Timeout bounds each command and each WaitFor: generous, for a loaded machine.
const Timeout = 30 * time.Second

// ChromiumPath finds Chromium on PATH. Without it the test fails where Chromium is supposed to
// be there (CI=true, or inside .ci/desktop.sh, which sets HOMEYTRAY_TEST_DESKTOP) and is skipped
// with a loud message elsewhere.
func ChromiumPath(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("chromium")
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" || os.Getenv("HOMEYTRAY_TEST_DESKTOP") != "" {
		t.Fatalf("chromium is not on PATH (%v): install it with .ci/deps.sh", err)
	}
	t.Skipf("SKIPPED: chromium is not on PATH (%v); run the tests with `make test` to run this test", err)
	return ""
}

// Browser is a headless Chromium driven over its DevTools pipe.
type Browser struct {
	w       *os.File // Chromium's fd 3: commands
	wmu     sync.Mutex
	readEnd *os.File // Chromium's fd 4: answers and events

	mu      sync.Mutex
	nextID  int64
	pending map[int64]chan message
	gone    error         // set when the pipe closed
	done    chan struct{} // closed with gone
}

// message is one DevTools message: an answer (ID set) or an event (Method set).
type message struct {
	ID        int64           `json:"id,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    any             `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// Start runs headless Chromium with a profile of its own, in a process group of its own, with
// the extra command-line flags given (e.g. --host-resolver-rules). The browser and all its helpers
// are killed at t's cleanup; its log is shown if t failed.
func Start(t testing.TB, extra ...string) *Browser {
	t.Helper()
	bin := ChromiumPath(t)
	dir := t.TempDir()
	profile := filepath.Join(dir, "profile")
	logPath := filepath.Join(dir, "chromium.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmdR, cmdW, err := os.Pipe() // Chromium reads commands from cmdR as fd 3
	if err != nil {
		t.Fatal(err)
	}
	evR, evW, err := os.Pipe() // and writes to evW as fd 4
	if err != nil {
		t.Fatal(err)
	}
	// The flags of .ci/browser: no sandbox (the tests may run as root), nothing that reaches
	// beyond loopback on its own, a throwaway profile.
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--password-store=basic", "--remote-debugging-pipe", "--user-data-dir=" + profile}, extra...)
	cmd := exec.Command(bin, append(args, "about:blank")...)
	// Chromium keeps crash reports under $XDG_CONFIG_HOME/chromium whatever --user-data-dir
	// says, and NSS under $HOME/.pki: all of it goes into the profile, which the clean-up below
	// removes once Chromium is gone.
	cmd.Env = append(os.Environ(), "HOME="+profile, "XDG_CONFIG_HOME="+filepath.Join(profile, "config"),
		"XDG_CACHE_HOME="+filepath.Join(profile, "cache"), "XDG_DATA_HOME="+filepath.Join(profile, "data"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.ExtraFiles = []*os.File{cmdR, evW}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	cmdR.Close()
	evW.Close()
	if err != nil {
		cmdW.Close()
		evR.Close()
		t.Fatalf("start chromium: %v", err)
	}
	b := &Browser{w: cmdW, readEnd: evR, pending: map[int64]chan message{}, done: make(chan struct{})}
	read := make(chan struct{})
	go func() {
		defer close(read)
		b.read()
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		cmdW.Close()
		evR.Close() // ends read, should a helper still hold fd 4
		<-read
		if t.Failed() {
			if data, err := os.ReadFile(logPath); err == nil {
				t.Logf("chromium log (last 3000 bytes):\n%s", tail(data, 3000))
			}
		}
		// Helpers that are still dying may hold the profile for a moment; remove it here,
		// retrying, so that TempDir's own removal succeeds.
		for i := 0; i < 50 && os.RemoveAll(profile) != nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	})
	return b
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// read hands each answer to its caller until the pipe closes. Events are dropped: the helpers
// below wait for conditions in the page instead.
func (b *Browser) read() {
	r := bufio.NewReader(b.readEnd)
	var err error
	for {
		var data []byte
		data, err = r.ReadBytes(0)
		if err != nil {
			break
		}
		var m message
		if json.Unmarshal(data[:len(data)-1], &m) != nil || m.ID == 0 {
			continue
		}
		b.mu.Lock()
		ch := b.pending[m.ID]
		delete(b.pending, m.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed) {
		err = errors.New("chromium closed the DevTools pipe")
	}
	b.mu.Lock()
	b.gone = err
	close(b.done)
	b.mu.Unlock()
}

// Call sends a command to the browser itself (session "") or to the page of a session, and
// decodes its result into result (nil = drop it).
func (b *Browser) Call(ctx context.Context, session, method string, params, result any) error {
	ch := make(chan message, 1)
	b.mu.Lock()
	if b.gone != nil {
		b.mu.Unlock()
		return fmt.Errorf("%s: %w", method, b.gone)
	}
	b.nextID++
	id := b.nextID
	b.pending[id] = ch
	b.mu.Unlock()
	data, err := json.Marshal(message{ID: id, SessionID: session, Method: method, Params: params})
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	b.wmu.Lock()
	_, err = b.w.Write(append(data, 0))
	b.wmu.Unlock()
	if err != nil {
		return fmt.Errorf("%s: write to chromium: %w", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return fmt.Errorf("%s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		if result != nil {
			if err := json.Unmarshal(m.Result, result); err != nil {
				return fmt.Errorf("%s: read the result: %w", method, err)
			}
		}
		return nil
	case <-b.done:
		return fmt.Errorf("%s: %w", method, b.gone)
	case <-ctx.Done():
		b.mu.Lock()
		delete(b.pending, id)
		b.mu.Unlock()
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// Page is one tab, attached with a session of its own.
type Page struct {
	b       *Browser
	session string
}

// NewPage opens a new tab on url.
func (b *Browser) NewPage(t testing.TB, url string) *Page {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	var created struct {
		TargetID string `json:"targetId"`
	}
	if err := b.Call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &created); err != nil {
		t.Fatal(err)
	}
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.Call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": created.TargetID, "flatten": true}, &attached); err != nil {
		t.Fatal(err)
	}
	p := &Page{b: b, session: attached.SessionID}
	if url != "" && url != "about:blank" {
		p.Navigate(t, url)
	}
	return p
}

// Call sends a command to the page (e.g. "Browser.grantPermissions" or "Input.dispatchKeyEvent").
func (p *Page) Call(t testing.TB, method string, params, result any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := p.b.Call(ctx, p.session, method, params, result); err != nil {
		t.Fatal(err)
	}
}

// Navigate sends the tab to url, as if typed in the address bar. It returns once the navigation
// has started: WaitFor what the new page shows.
func (p *Page) Navigate(t testing.TB, url string) {
	t.Helper()
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	p.Call(t, "Page.navigate", map[string]any{"url": url}, &nav)
	if nav.ErrorText != "" {
		t.Fatalf("navigate to %s: %s", url, nav.ErrorText)
	}
}

// evalResult is Runtime.evaluate's answer.
type evalResult struct {
	Result struct {
		Type  string          `json:"type"`
		Value json.RawMessage `json:"value"`
	} `json:"result"`
	ExceptionDetails *struct {
		Text      string `json:"text"`
		Exception struct {
			Description string `json:"description"`
		} `json:"exception"`
	} `json:"exceptionDetails"`
}

// eval runs a JavaScript expression in the page (awaiting a promise) and decodes its value
// into out (nil = drop it).
func (p *Page) eval(ctx context.Context, js string, out any) error {
	var r evalResult
	err := p.b.Call(ctx, p.session, "Runtime.evaluate",
		map[string]any{"expression": js, "returnByValue": true, "awaitPromise": true}, &r)
	if err != nil {
		return err
	}
	if d := r.ExceptionDetails; d != nil {
		return fmt.Errorf("javascript: %s %s", d.Text, d.Exception.Description)
	}
	if out == nil || len(r.Result.Value) == 0 {
		return nil
	}
	return json.Unmarshal(r.Result.Value, out)
}

// Eval runs a JavaScript expression in the page and decodes its value into out (nil = drop it).
// A promise is awaited.
func (p *Page) Eval(t testing.TB, js string, out any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := p.eval(ctx, js, out); err != nil {
		t.Fatal(err)
	}
}

// WaitFor waits until the JavaScript expression cond is true in the page, for up to Timeout;
// what names the condition in the failure. While a navigation replaces the document the
// expression may fail: that counts as not yet.
func (p *Page) WaitFor(t testing.TB, what, cond string) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	var last error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		var ok bool
		err := p.eval(ctx, "Boolean("+cond+")", &ok)
		cancel()
		if err == nil && ok {
			return
		}
		if err != nil {
			last = err
		}
		if time.Now().After(deadline) {
			var href string
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = p.eval(ctx, "location.href", &href)
			cancel()
			t.Fatalf("waited %s for %s (page at %s; last error: %v)", Timeout, what, href, last)
		}
		time.Sleep(50 * time.Millisecond) // a poll interval, not a synchronisation
	}
}

// Text is the page's visible text.
func (p *Page) Text(t testing.TB) string {
	t.Helper()
	var s string
	p.Eval(t, "document.body ? document.body.innerText : ''", &s)
	return s
}

// HTML is the page's whole document as markup, including the values typed into fields.
func (p *Page) HTML(t testing.TB) string {
	t.Helper()
	var s string
	p.Eval(t, `(() => {
	  for (const i of document.querySelectorAll("input")) i.setAttribute("data-typed", i.value);
	  return document.documentElement.outerHTML;
	})()`, &s)
	return s
}

// Type focuses the field that selector finds, selects what it holds and types text over it
// (Input.insertText: as an input method would, firing the input events a page listens to).
func (p *Page) Type(t testing.TB, selector, text string) {
	t.Helper()
	var focused bool
	p.Eval(t, fmt.Sprintf(`(() => {
	  const e = document.querySelector(%s);
	  if (!e) return false;
	  e.focus();
	  if (e.select) e.select();
	  return document.activeElement === e;
	})()`, jsString(selector)), &focused)
	if !focused {
		t.Fatalf("type into %s: no such field, or it cannot take the focus", selector)
	}
	p.Call(t, "Input.insertText", map[string]any{"text": text}, nil)
}

// Click clicks the middle of the element that selector finds with the mouse, after scrolling
// it into view.
func (p *Page) Click(t testing.TB, selector string) {
	t.Helper()
	var at *struct{ X, Y float64 }
	p.Eval(t, fmt.Sprintf(`(() => {
	  const e = document.querySelector(%s);
	  if (!e) return null;
	  e.scrollIntoView({block: "center"});
	  const r = e.getBoundingClientRect();
	  return {x: r.x + r.width / 2, y: r.y + r.height / 2};
	})()`, jsString(selector)), &at)
	if at == nil {
		t.Fatalf("click %s: no such element", selector)
	}
	p.Call(t, "Input.dispatchMouseEvent", map[string]any{"type": "mouseMoved", "x": at.X, "y": at.Y}, nil)
	for _, kind := range []string{"mousePressed", "mouseReleased"} {
		p.Call(t, "Input.dispatchMouseEvent", map[string]any{"type": kind, "x": at.X, "y": at.Y,
			"button": "left", "clickCount": 1}, nil)
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}
