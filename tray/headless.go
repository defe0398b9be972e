package tray

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/sanitize"
)

// Headless is the tray without its icon, for a Raspberry Pi or a server (`homeytray serve`): the
// same background refresh and script socket as [Run], and nothing that needs a desktop — no
// systray, no D-Bus, no clipboard, no notification. What the icon and the notifications would
// show goes to Options.Logf instead, one line per change of state (never a secret). Options.Title,
// ClipboardClear and Autostart are not used.
//
// Options.Socket is required: it is also the single-instance lock shared with Run, so a second
// Headless or tray of this user returns ErrAlreadyRunning before doing anything. Headless blocks
// until ctx is done (or the socket fails) and returns nil once the requests in progress ended.
func Headless(ctx context.Context, o Options) error {
	if o.Core == nil {
		return errors.New("tray: no Core")
	}
	if o.Socket == "" {
		return errors.New("tray: no Socket")
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	l, err := Listen(o.Socket)
	if err != nil {
		if errors.Is(err, ErrAlreadyRunning) {
			return err
		}
		return fmt.Errorf("script socket: %w", err)
	}
	return headless(ctx, l, o)
}

// headless runs the refresher and serves l until ctx is done.
func headless(ctx context.Context, l net.Listener, o Options) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &logSink{logf: o.Logf}
	ref := newRefresher(o.Core, s, s.note)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ref.run(ctx)
	}()
	o.Logf("serving scripts on %s", l.Addr())
	// Serve returns when ctx is done or the listener closed under it (it then ends on its own).
	err := Serve(ctx, l, scriptHandler(o.Core, func() { ref.request(stepsAll, true) }))
	if err == nil && ctx.Err() == nil {
		err = errors.New("script socket: closed")
	}
	cancel()
	wg.Wait()
	return err
}

// logSink is the refresher's sink when there is no icon: one log line per change of state. It
// is called from the refresher's goroutine only.
type logSink struct {
	logf     func(format string, args ...any)
	state    string // the last line said about the sign-in, to say each change once
	selected string
}

func (s *logSink) say(line string) {
	if line != s.state {
		s.state = line
		s.logf("%s", line)
	}
}

func (s *logSink) signedIn(acc Account) {
	s.say("signed in as " + sanitize.Line(acc.Name, 80))
}

func (s *logSink) signedOut() {
	s.selected = ""
	s.say("not signed in: run 'homeytray login'")
}

func (s *logSink) attention(err error) {
	s.say("sign-in needs attention: " + errorText(err))
}

func (s *logSink) healthy() {
	s.say("the sign-in works again")
}

func (s *logSink) homeys(list []homey.Homey, selected string) {
	if selected == s.selected {
		return
	}
	s.selected = selected
	if selected == "" {
		s.logf("no Homey selected: run 'homeytray use NAME'")
		return
	}
	name := selected
	for _, h := range list {
		if h.ID == selected {
			name = fmt.Sprintf("%s (%s)", homeyName(h), h.ID)
		}
	}
	s.logf("selected Homey: %s", name)
}

func (s *logSink) devices([]deviceGroup, error) {}

// note is what the tray would notify: attention was already said by attention (its note points
// to the tray menu); the others, a renewal that keeps failing, are logged as they are.
func (s *logSink) note(n note) {
	if n.title == attentionNote(nil).title {
		return
	}
	s.say(n.title + ": " + n.body)
}
