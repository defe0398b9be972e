package desktop

import (
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/homeytray/homeytray/internal/failure"
)

// fakeClipboard is a clipboard of the test's own.
type fakeClipboard struct {
	mu      sync.Mutex
	text    string
	secret  bool // the last write was marked secret
	ours    bool // the text is our last write
	clears  int
	closes  int
	failing error
}

// access is f as the desktop's clipboard.
func (f *fakeClipboard) access() Access {
	return Access{Write: f.write, Holds: f.holds, Clear: f.clear, Close: f.close}
}

func (f *fakeClipboard) write(s string, secret bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failing != nil {
		return f.failing
	}
	f.text, f.secret, f.ours = s, secret, true
	return nil
}

func (f *fakeClipboard) holds(s string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ours && f.text == s
}

func (f *fakeClipboard) clear() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.text, f.ours = "", false
	f.clears++
	return nil
}

func (f *fakeClipboard) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closes++
	return nil
}

// userCopies is another program writing the clipboard.
func (f *fakeClipboard) userCopies(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.text, f.secret, f.ours = s, false, false
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
		c.CloseWithin(time.Second)
		if text, _, _ := f.get(); text != "" {
			t.Errorf("clipboard %q after quit, want empty", text)
		}
		f.mu.Lock()
		closes := f.closes
		f.mu.Unlock()
		if closes != 1 {
			t.Errorf("%d closes after quit, want 1", closes)
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

// fakeOwner is an owner of the test's own; gone makes its Copy fail as when the display
// server went away.
type fakeOwner struct {
	n      int // which open made it
	text   string
	gone   bool
	closed bool
}

var errGone = errors.New("the display server went away")

func (o *fakeOwner) Copy(text string, _ bool) error {
	if o.gone {
		return errGone
	}
	o.text = text
	return nil
}
func (o *fakeOwner) Holds(text string) bool { return !o.gone && o.text == text }
func (o *fakeOwner) Clear() error           { o.text = ""; return nil }
func (o *fakeOwner) Close() error           { o.closed = true; return nil }

// fakeOpens counts picks and opens and hands out fakeOwners; failing makes the next one fail.
type fakeOpens struct {
	picks, reopens int
	owners         []*fakeOwner
	failing        error
}

func (f *fakeOpens) open() (owner, error) {
	if err := f.failing; err != nil {
		f.failing = nil
		return nil, err
	}
	o := &fakeOwner{n: len(f.owners) + 1}
	f.owners = append(f.owners, o)
	return o, nil
}

func (f *fakeOpens) session() *ownerSession {
	return &ownerSession{
		pick: func() (owner, func() (owner, error), error) {
			f.picks++
			o, err := f.open()
			return o, func() (owner, error) { f.reopens++; return f.open() }, err
		},
		gone: func(err error) bool { return errors.Is(err, errGone) },
	}
}

func TestSessionOpensAtFirstCopyAndKeepsIt(t *testing.T) {
	f := &fakeOpens{}
	a := f.session().access()
	if a.Holds("x") || a.Clear() != nil || f.picks != 0 {
		t.Fatalf("Holds or Clear before any copy opened something (%d picks)", f.picks)
	}
	for _, s := range []string{"one", "two", "three"} {
		if err := a.Write(s, true); err != nil {
			t.Fatal(err)
		}
	}
	if f.picks != 1 || f.reopens != 0 || len(f.owners) != 1 {
		t.Fatalf("%d picks, %d reopens, %d owners after three copies; want 1, 0, 1", f.picks, f.reopens, len(f.owners))
	}
	if !a.Holds("three") || a.Holds("two") {
		t.Error("Holds does not follow the owner")
	}
}

func TestSessionReopensOnceWhenTheServerWentAway(t *testing.T) {
	f := &fakeOpens{}
	a := f.session().access()
	if err := a.Write("one", false); err != nil {
		t.Fatal(err)
	}
	f.owners[0].gone = true
	if err := a.Write("two", false); err != nil {
		t.Fatalf("copy after the server went away: %v", err)
	}
	if f.picks != 1 || f.reopens != 1 || !f.owners[0].closed || f.owners[1].text != "two" {
		t.Fatalf("%d picks, %d reopens, first closed %v, second holds %q; want 1, 1, true, two",
			f.picks, f.reopens, f.owners[0].closed, f.owners[1].text)
	}

	// Gone again and the reopen fails: the copy fails, and the next one opens again (the same
	// way: no new pick).
	f.owners[1].gone = true
	f.failing = errors.New("no server")
	if err := a.Write("three", false); err == nil {
		t.Fatal("copy with the server gone and not back: no error")
	}
	if err := a.Write("four", false); err != nil {
		t.Fatal(err)
	}
	if f.picks != 1 || f.reopens != 3 || f.owners[2].text != "four" {
		t.Errorf("%d picks, %d reopens, third holds %q; want 1, 3, four", f.picks, f.reopens, f.owners[2].text)
	}
}

func TestSessionPickFailsThenWorks(t *testing.T) {
	f := &fakeOpens{failing: failure.ErrNoClipboard}
	a := f.session().access()
	if err := a.Write("one", true); !errors.Is(err, failure.ErrNoClipboard) {
		t.Fatalf("copy: %v, want failure.ErrNoClipboard", err)
	}
	if err := a.Write("one", true); err != nil {
		t.Fatal(err)
	}
	if f.picks != 2 {
		t.Errorf("%d picks, want 2: a failed pick is not kept", f.picks)
	}
}

func TestSessionClosed(t *testing.T) {
	f := &fakeOpens{}
	a := f.session().access()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Write("late", true); !errors.Is(err, errClosed) || f.picks != 0 {
		t.Fatalf("copy after Close: %v (%d picks), want errClosed and no pick", err, f.picks)
	}
	f = &fakeOpens{}
	a = f.session().access()
	_ = a.Write("one", false)
	if err := a.Close(); err != nil || !f.owners[0].closed {
		t.Fatalf("Close: %v, owner closed %v", err, f.owners[0].closed)
	}
	if a.Holds("one") {
		t.Error("Holds after Close")
	}
}
