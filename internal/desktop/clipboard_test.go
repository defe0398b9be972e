package desktop

import (
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/atotto/clipboard"

	"github.com/homeytray/homeytray/internal/failure"
)

// fakeClipboard is a clipboard of the test's own.
type fakeClipboard struct {
	mu      sync.Mutex
	text    string
	secret  bool // the last write was marked secret
	clears  int
	failing error
}

// access is f as the desktop's clipboard.
func (f *fakeClipboard) access() Access {
	return Access{Write: f.write, Read: f.read, Clear: f.clear}
}

func (f *fakeClipboard) write(s string, secret bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failing != nil {
		return f.failing
	}
	f.text, f.secret = s, secret
	return nil
}

func (f *fakeClipboard) read() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.text, f.failing
}

func (f *fakeClipboard) clear() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.text = ""
	f.clears++
	return nil
}

// userCopies is another program writing the clipboard.
func (f *fakeClipboard) userCopies(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.text, f.secret = s, false
}

func (f *fakeClipboard) get() (string, bool, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.text, f.secret, f.clears
}

func TestClipClearsAfterDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeClipboard{}
		c := NewClipboard(f.access(), time.Minute)
		if err := c.CopySecret("tok-1"); err != nil {
			t.Fatal(err)
		}
		if text, secret, _ := f.get(); text != "tok-1" || !secret {
			t.Fatalf("clipboard %q (secret %v) after the copy", text, secret)
		}
		time.Sleep(time.Minute - time.Millisecond)
		synctest.Wait()
		if text, _, _ := f.get(); text != "tok-1" {
			t.Fatalf("cleared early: %q", text)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if text, _, clears := f.get(); text != "" || clears != 1 {
			t.Fatalf("clipboard %q, %d clears after the delay; want empty, 1", text, clears)
		}
		c.Clear() // quitting later: nothing of ours is left
		if _, _, clears := f.get(); clears != 1 {
			t.Errorf("%d clears, want 1", clears)
		}
	})
}

func TestClipLeavesOthersAlone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeClipboard{}
		c := NewClipboard(f.access(), time.Minute)
		_ = c.CopySecret("tok-1")
		f.userCopies("a shopping list")
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		c.Clear()
		if text, _, clears := f.get(); text != "a shopping list" || clears != 0 {
			t.Errorf("clipboard %q, %d clears; the user's copy must stay", text, clears)
		}
	})
}

func TestClipNewCopyRestartsDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeClipboard{}
		c := NewClipboard(f.access(), time.Minute)
		_ = c.CopySecret("tok-1")
		time.Sleep(50 * time.Second)
		_ = c.CopySecret("tok-2")
		time.Sleep(50 * time.Second)
		synctest.Wait()
		if text, _, _ := f.get(); text != "tok-2" {
			t.Fatalf("clipboard %q 50 s after the second copy, want tok-2", text)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if text, _, clears := f.get(); text != "" || clears != 1 {
			t.Errorf("clipboard %q, %d clears; want empty, 1", text, clears)
		}
	})
}

func TestClipNeverClearOnTimerButOnQuit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeClipboard{}
		c := NewClipboard(f.access(), 0)
		_ = c.CopySecret("tok-1")
		time.Sleep(24 * time.Hour)
		synctest.Wait()
		if text, _, _ := f.get(); text != "tok-1" {
			t.Fatalf("clipboard %q, want the token still (ClipboardClear 0)", text)
		}
		c.ClearWithin(time.Second)
		if text, _, _ := f.get(); text != "" {
			t.Errorf("clipboard %q after quit, want empty", text)
		}
	})
}

func TestClipDeviceIDIsNotCleared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeClipboard{}
		c := NewClipboard(f.access(), time.Minute)
		_ = c.CopySecret("tok-1")
		if err := c.CopyText("device-id"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		c.Clear()
		if text, secret, clears := f.get(); text != "device-id" || secret || clears != 0 {
			t.Errorf("clipboard %q (secret %v), %d clears; want the device id, plain, never cleared", text, secret, clears)
		}
	})
}

func TestClipWriteFails(t *testing.T) {
	f := &fakeClipboard{}
	f.failing = failure.ErrNoClipboard
	c := NewClipboard(f.access(), time.Minute)
	if err := c.CopySecret("tok-1"); !errors.Is(err, failure.ErrNoClipboard) {
		t.Fatalf("copySecret: %v, want failure.ErrNoClipboard", err)
	}
	if c.held != "" || c.timer != nil {
		t.Error("a failed copy is remembered")
	}
}

func TestNoClipboardTool(t *testing.T) {
	old := clipboard.Unsupported
	t.Cleanup(func() { clipboard.Unsupported = old })
	clipboard.Unsupported = true
	if err := writeClipboard("x", true); !errors.Is(err, failure.ErrNoClipboard) {
		t.Errorf("writeClipboard: %v, want failure.ErrNoClipboard", err)
	}
	if _, err := readClipboard(); !errors.Is(err, failure.ErrNoClipboard) {
		t.Errorf("readClipboard: %v, want failure.ErrNoClipboard", err)
	}
	if !ClipboardMissing() {
		t.Error("clipboardMissing = false")
	}
}
