//go:build linux || freebsd || netbsd || openbsd || dragonfly

package x11clip

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// ErrNoDisplay is returned by Open when it is given no display and DISPLAY is not set.
var ErrNoDisplay = errors.New("no X display: DISPLAY is not set")

// ErrClosed is returned once the connection to the X server is gone: closed by Close, or
// lost because the server went away. Open a new Owner then.
var ErrClosed = errors.New("the X connection is closed")

// PasswordHint is the extra target that marks a secret copy; its content is "secret".
const PasswordHint = "x-kde-passwordManagerHint"

// serverTimeout bounds each wait for the X server in Copy; a server that does not answer
// within it is as good as gone.
const serverTimeout = 10 * time.Second

// changePropertyHeader is the size of a ChangeProperty request without its data.
const changePropertyHeader = 24

// Owner owns the CLIPBOARD selection for one X connection and serves pastes of the text it
// was given. It is safe for concurrent use; one goroutine reads the connection's events.
type Owner struct {
	conn *xgb.Conn
	win  xproto.Window
	atom atoms
	// maxText is the largest text Copy accepts: what one ChangeProperty request can carry.
	// Larger data would need the INCR protocol, which this package does not speak: tokens are
	// a few KiB and the limit is 256 KiB even on servers without BIG-REQUESTS.
	maxText int

	copyMu sync.Mutex // one Copy or Clear at a time

	mu     sync.Mutex
	held   bool             // we own the selection with text (until SelectionClear)
	text   string           //
	secret bool             //
	since  xproto.Timestamp // server time at which we took the selection
	seq    uint16           // sequence number of the SetSelectionOwner request that took it
	stamp  chan xproto.Timestamp
	// served, if set, is told each target a paste was answered for (tests watch clipboard
	// managers with it).
	served func(target xproto.Atom)

	done chan struct{} // closed when the event loop has ended: the connection is gone
}

type atoms struct {
	clipboard, targets, timestamp, multiple, utf8, textPlain, text, hint, stamp xproto.Atom
}

// content is what one paste is answered from.
type content struct {
	text   string
	secret bool
	since  xproto.Timestamp
}

// Open connects to the X display (display "" means $DISPLAY) and creates the unmapped
// window that will own the clipboard. It takes nothing yet: see Copy.
func Open(display string) (*Owner, error) {
	if display == "" {
		display = os.Getenv("DISPLAY")
	}
	if display == "" {
		return nil, ErrNoDisplay
	}
	conn, err := xgb.NewConnDisplay(display)
	if err != nil {
		return nil, fmt.Errorf("connect to X display %s: %w", display, err)
	}
	o, err := newOwner(conn)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("X display %s: %w", display, err)
	}
	go o.loop()
	return o, nil
}

func newOwner(conn *xgb.Conn) (*Owner, error) {
	setup := xproto.Setup(conn)
	screen := setup.DefaultScreen(conn)
	win, err := xproto.NewWindowId(conn)
	if err != nil {
		return nil, fmt.Errorf("allocate a window id: %w", err)
	}
	// An InputOnly window that is never mapped: nothing on screen, but it can own selections
	// and receive the PropertyNotify that gives us a server timestamp.
	err = xproto.CreateWindowChecked(conn, 0, win, screen.Root, -1, -1, 1, 1, 0,
		xproto.WindowClassInputOnly, 0, xproto.CwEventMask,
		[]uint32{xproto.EventMaskPropertyChange}).Check()
	if err != nil {
		return nil, fmt.Errorf("create a window: %w", err)
	}
	o := &Owner{
		conn:    conn,
		win:     win,
		maxText: int(setup.MaximumRequestLength)*4 - changePropertyHeader,
		done:    make(chan struct{}),
	}
	names := []struct {
		name string
		atom *xproto.Atom
	}{
		{"CLIPBOARD", &o.atom.clipboard},
		{"TARGETS", &o.atom.targets},
		{"TIMESTAMP", &o.atom.timestamp},
		{"MULTIPLE", &o.atom.multiple},
		{"UTF8_STRING", &o.atom.utf8},
		{"text/plain;charset=utf-8", &o.atom.textPlain},
		{"TEXT", &o.atom.text},
		{PasswordHint, &o.atom.hint},
		{"_HOMEYTRAY_CLIPBOARD_TIME", &o.atom.stamp},
	}
	cookies := make([]xproto.InternAtomCookie, len(names))
	for i, n := range names {
		cookies[i] = xproto.InternAtom(conn, false, uint16(len(n.name)), n.name)
	}
	for i, c := range cookies {
		r, err := c.Reply()
		if err != nil {
			return nil, fmt.Errorf("intern atom %s: %w", names[i].name, err)
		}
		*names[i].atom = r.Atom
	}
	return o, nil
}

// Copy takes the clipboard with text. A secret copy also offers x-kde-passwordManagerHint
// ("secret"), so that clipboard managers leave it out of their history. It replaces any
// earlier copy of ours.
func (o *Owner) Copy(text string, secret bool) error {
	if !utf8.ValidString(text) {
		return errors.New("the text is not valid UTF-8")
	}
	if len(text) > o.maxText {
		return fmt.Errorf("the text is %d bytes, more than one X request carries (%d)", len(text), o.maxText)
	}
	o.copyMu.Lock()
	defer o.copyMu.Unlock()
	if o.closed() {
		return ErrClosed
	}
	t, err := o.serverTime()
	if err != nil {
		return err
	}
	// The content is in place before the server makes us the owner: a paste can come at once.
	// The lock is held until the request is sent and its sequence number known, so that the
	// event loop can tell a SelectionClear that ended an earlier ownership from one that ends
	// this one (see lost).
	o.mu.Lock()
	o.held, o.text, o.secret, o.since = true, text, secret, t
	ck := xproto.SetSelectionOwner(o.conn, o.win, o.atom.clipboard, t)
	seq := ck.Sequence
	o.seq = seq
	o.mu.Unlock()

	r, err := xproto.GetSelectionOwner(o.conn, o.atom.clipboard).Reply()
	if err != nil || o.closed() {
		o.drop(seq)
		if o.closed() {
			return ErrClosed
		}
		return fmt.Errorf("check the clipboard owner: %w", err)
	}
	if r.Owner != o.win {
		// The server ignores a SetSelectionOwner older than the selection's last change, and
		// sends no SelectionClear for it.
		o.drop(seq)
		return errors.New("another program took the clipboard at the same moment")
	}
	return nil
}

// Holds reports whether we still own the clipboard with exactly text.
func (o *Owner) Holds(text string) bool {
	o.mu.Lock()
	ours := o.held && o.text == text
	o.mu.Unlock()
	if !ours || o.closed() {
		return false
	}
	// Ask the server too: a SelectionClear may be on its way.
	r, err := xproto.GetSelectionOwner(o.conn, o.atom.clipboard).Reply()
	return err == nil && r.Owner == o.win
}

// Clear gives the clipboard up if we still hold it; someone else's content is left alone.
// From then on no paste is answered with our text.
func (o *Owner) Clear() error {
	o.copyMu.Lock()
	defer o.copyMu.Unlock()
	o.mu.Lock()
	held, since := o.held, o.since
	o.held, o.text, o.secret = false, "", false
	o.mu.Unlock()
	if !held || o.closed() {
		return nil
	}
	r, err := xproto.GetSelectionOwner(o.conn, o.atom.clipboard).Reply()
	if err != nil {
		if o.closed() {
			return nil // the server dropped our ownership with the connection
		}
		return fmt.Errorf("check the clipboard owner: %w", err)
	}
	if r.Owner != o.win {
		return nil
	}
	// With the time we took it: should another program take the selection in between, its
	// change is later and the server ignores this request.
	err = xproto.SetSelectionOwnerChecked(o.conn, xproto.WindowNone, o.atom.clipboard, since).Check()
	if err != nil && !o.closed() {
		return fmt.Errorf("give up the clipboard: %w", err)
	}
	return nil
}

// Close gives the clipboard up (Clear) and closes the connection.
func (o *Owner) Close() error {
	err := o.Clear()
	o.conn.Close()
	<-o.done
	return err
}

func (o *Owner) closed() bool {
	select {
	case <-o.done:
		return true
	default:
		return false
	}
}

// drop forgets the content taken by the SetSelectionOwner request seq, unless a later Copy
// replaced it.
func (o *Owner) drop(seq uint16) {
	o.mu.Lock()
	if o.seq == seq {
		o.held, o.text, o.secret = false, "", false
	}
	o.mu.Unlock()
}

// serverTime gets a real server timestamp, as ICCCM asks of a selection owner (CurrentTime
// would let a late request from an earlier owner win): a zero-length append to a property
// of our window, whose PropertyNotify carries the server time.
func (o *Owner) serverTime() (xproto.Timestamp, error) {
	ch := make(chan xproto.Timestamp, 1)
	o.mu.Lock()
	o.stamp = ch
	o.mu.Unlock()
	defer func() {
		o.mu.Lock()
		o.stamp = nil
		o.mu.Unlock()
	}()
	xproto.ChangeProperty(o.conn, xproto.PropModeAppend, o.win, o.atom.stamp, xproto.AtomString, 8, 0, nil)
	timer := time.NewTimer(serverTimeout)
	defer timer.Stop()
	select {
	case t := <-ch:
		return t, nil
	case <-o.done:
		return 0, ErrClosed
	case <-timer.C:
		return 0, fmt.Errorf("the X server sent no timestamp within %s", serverTimeout)
	}
}

// loop reads the connection's events until it is closed.
func (o *Owner) loop() {
	defer close(o.done)
	for {
		ev, xerr := o.conn.WaitForEvent()
		if ev == nil && xerr == nil {
			o.mu.Lock()
			o.held, o.text, o.secret = false, "", false
			o.mu.Unlock()
			return
		}
		if xerr != nil {
			// An error of a request we sent without waiting for its answer: typically a
			// requestor window that was destroyed before we wrote the paste into it.
			continue
		}
		switch e := ev.(type) {
		case xproto.PropertyNotifyEvent:
			if e.Window == o.win && e.Atom == o.atom.stamp && e.State == xproto.PropertyNewValue {
				o.mu.Lock()
				if o.stamp != nil {
					o.stamp <- e.Time
					o.stamp = nil
				}
				o.mu.Unlock()
			}
		case xproto.SelectionRequestEvent:
			o.answer(e)
		case xproto.SelectionClearEvent:
			o.lost(e)
		}
	}
}

// lost handles SelectionClear: another client took the selection, so we hold nothing. An
// event the server generated before it processed our latest SetSelectionOwner (its sequence
// number is older) ended an earlier ownership and is ignored.
func (o *Owner) lost(e xproto.SelectionClearEvent) {
	if e.Selection != o.atom.clipboard {
		return
	}
	o.mu.Lock()
	if o.held && !seqBefore(e.Sequence, o.seq) {
		o.held, o.text, o.secret = false, "", false
	}
	o.mu.Unlock()
}

// answer serves one paste: it writes the converted text into the requestor's property and
// tells it with a SelectionNotify, whose property is None when the request is refused.
func (o *Owner) answer(e xproto.SelectionRequestEvent) {
	o.mu.Lock()
	c, ok := content{o.text, o.secret, o.since}, o.held && e.Selection == o.atom.clipboard
	served := o.served
	o.mu.Unlock()
	// A request older than our ownership is for an earlier owner (ICCCM 2.2); CurrentTime is 0.
	if e.Time != xproto.TimeCurrentTime && timeBefore(e.Time, c.since) {
		ok = false
	}
	prop := e.Property
	if prop == xproto.AtomNone {
		// Obsolete clients send no property: the target atom is the property name then.
		prop = e.Target
	}
	if ok {
		if e.Target == o.atom.multiple {
			ok = e.Property != xproto.AtomNone && o.multiple(e.Requestor, e.Property, c)
		} else {
			ok = o.convert(e.Requestor, e.Target, prop, c)
		}
	}
	if !ok {
		prop = xproto.AtomNone
	} else if served != nil {
		served(e.Target)
	}
	ev := xproto.SelectionNotifyEvent{
		Time: e.Time, Requestor: e.Requestor, Selection: e.Selection, Target: e.Target, Property: prop,
	}
	xproto.SendEvent(o.conn, false, e.Requestor, xproto.EventMaskNoEvent, string(ev.Bytes()))
}

// convert writes text as target into the requestor's property; false if we cannot.
func (o *Owner) convert(requestor xproto.Window, target, prop xproto.Atom, c content) bool {
	typ, format, data, ok := o.atom.convert(target, c)
	if !ok {
		return false
	}
	n := uint32(len(data))
	if format == 32 {
		n /= 4
	}
	xproto.ChangeProperty(o.conn, xproto.PropModeReplace, requestor, prop, typ, format, n, data)
	return true
}

// maxPairs bounds how many conversions one MULTIPLE request may ask for.
const maxPairs = 256

// multiple answers a MULTIPLE request: the property holds (target, property) atom pairs;
// each is converted on its own, and a pair we cannot convert gets its property set to None.
func (o *Owner) multiple(requestor xproto.Window, prop xproto.Atom, c content) bool {
	r, err := xproto.GetProperty(o.conn, false, requestor, prop, xproto.AtomAny, 0, 2*maxPairs).Reply()
	if err != nil || r.Format != 32 || len(r.Value) == 0 || len(r.Value)%8 != 0 {
		return false
	}
	pairs := append([]byte(nil), r.Value...)
	for i := 0; i+8 <= len(pairs); i += 8 {
		target, p := xproto.Atom(xgb.Get32(pairs[i:])), xproto.Atom(xgb.Get32(pairs[i+4:]))
		if target == o.atom.multiple || p == xproto.AtomNone || !o.convert(requestor, target, p, c) {
			xgb.Put32(pairs[i+4:], uint32(xproto.AtomNone))
		}
	}
	xproto.ChangeProperty(o.conn, xproto.PropModeReplace, requestor, prop, r.Type, 32, uint32(len(pairs)/4), pairs)
	return true
}

// convert gives the property type, format and data of text as target, or false for a target
// we do not offer.
func (a atoms) convert(target xproto.Atom, c content) (typ xproto.Atom, format byte, data []byte, ok bool) {
	latin1, isLatin1 := toLatin1(c.text)
	switch target {
	case a.targets:
		list := []xproto.Atom{a.targets, a.timestamp, a.multiple, a.utf8, a.textPlain, a.text}
		if isLatin1 {
			list = append(list, xproto.AtomString)
		}
		if c.secret {
			list = append(list, a.hint)
		}
		data = make([]byte, 4*len(list))
		for i, t := range list {
			xgb.Put32(data[4*i:], uint32(t))
		}
		return xproto.AtomAtom, 32, data, true
	case a.timestamp:
		data = make([]byte, 4)
		xgb.Put32(data, uint32(c.since))
		return xproto.AtomInteger, 32, data, true
	case a.utf8, a.textPlain:
		// MIME-named targets answer with their own atom as the type, as GTK and Qt do.
		return target, 8, []byte(c.text), true
	case a.text:
		// TEXT lets the owner pick the encoding: STRING where it can, for old clients.
		if isLatin1 {
			return xproto.AtomString, 8, latin1, true
		}
		return a.utf8, 8, []byte(c.text), true
	case xproto.AtomString:
		if !isLatin1 {
			return 0, 0, nil, false
		}
		return xproto.AtomString, 8, latin1, true
	case a.hint:
		if !c.secret {
			return 0, 0, nil, false
		}
		return a.hint, 8, []byte("secret"), true
	}
	return 0, 0, nil, false
}

// toLatin1 encodes s as ISO 8859-1, the encoding of STRING; false if a rune is outside it.
func toLatin1(s string) ([]byte, bool) {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return nil, false
		}
		b = append(b, byte(r))
	}
	return b, true
}

// timeBefore compares X timestamps, which wrap around every 49.7 days.
func timeBefore(a, b xproto.Timestamp) bool { return int32(a-b) < 0 }

// seqBefore compares 16-bit request sequence numbers, which wrap around.
func seqBefore(a, b uint16) bool { return int16(a-b) < 0 }
