package agent

import (
	"context"
	"fmt"

	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/failure"
	"github.com/homeytray/homeytray/internal/sanitize"
)

// Serve is the agent without a tray, for a Raspberry Pi or a server (`homeytray serve`): the same
// background refresh and script socket as the tray's, and nothing that needs a desktop. What the
// icon and the notifications would show goes to logf instead, one line per change of state
// (never a secret).
//
// socket is also the single-instance lock shared with the tray: when another tray or serve of
// this user runs, Serve returns ipc.ErrAlreadyRunning before doing anything. It blocks until ctx
// is done (or the socket fails) and returns nil once the requests in progress ended.
func Serve(ctx context.Context, core Core, socket string, logf func(format string, args ...any)) error {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	l, err := Listen(socket)
	if err != nil {
		return err
	}
	a := New(core, &logSink{logf: logf})
	logf("serving scripts on %s", l.Addr())
	return a.Run(ctx, l)
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

func (s *logSink) SignedIn(acc Account) {
	s.say("signed in as " + sanitize.Line(acc.Name, 80))
}

func (s *logSink) SignedOut() {
	s.selected = ""
	s.say("not signed in: run 'homeytray login'")
}

func (s *logSink) Attention(f *failure.Failure) {
	s.say("sign-in needs attention: " + f.Text())
}

func (s *logSink) Healthy() {
	s.say("the sign-in works again")
}

func (s *logSink) Homeys(list []homey.Homey, selected string) {
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
			name = fmt.Sprintf("%s (%s)", sanitize.Line(h.Name, 60), h.ID)
		}
	}
	s.logf("selected Homey: %s", name)
}

func (s *logSink) Devices(map[string]homey.Device, map[string]homey.Zone, error) {}

// Incident is what the tray would notify: one that needs the user was already said by Attention
// (its notification points to the tray menu); an outage that outlasts the token is logged.
func (s *logSink) Incident(i Incident) {
	if i.NeedsUser {
		return
	}
	title, body := i.Failure.Outage(i.Expiry)
	s.say(title + ": " + body)
}
