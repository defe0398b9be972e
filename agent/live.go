package agent

import (
	"context"
	"sync"

	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/failure"
)

// Realtime is what the agent needs, beside its Core, to keep the selected Homey's devices
// current: the credential source of a realtime connection to a Homey (id or name). The cli
// implements it.
type Realtime interface {
	Realtime(ctx context.Context, homey string) (homey.BearerSource, error)
}

// LiveDevices makes Run keep the selected Homey's device values current while it runs: one
// realtime connection to the selected Homey (homey.Live), opened from each device list the
// refresher reads and closed when the selection changes or the sign-in goes. The refresher
// reads the list at start, on a switch of Homey, after a change of the settings and after the
// machine woke up (a wall-clock jump): each time the connection is made anew and subscribes
// again. In between, the stream itself reconnects after a lost connection (a network change is
// one: its pings stop being answered) and catches up. Every change is reported through
// Sink.Devices with the whole list. Call it before Run; `serve` does not (it shows no devices).
func (a *Agent) LiveDevices(rt Realtime) {
	s := &lockedSink{s: a.ref.sink}
	a.ref.sink = s
	a.ref.live = &liveDevices{rt: rt, core: a.core, sink: s}
}

// liveDevices runs the realtime connection of the selected Homey for the refresher.
type liveDevices struct {
	rt   Realtime
	core Core
	sink Sink
	opt  homey.StreamOptions // tests shorten the backoff

	mu     sync.Mutex // held by a report, so that none comes after stop
	gen    uint64     // of the connection whose reports count
	cancel context.CancelFunc
	done   chan struct{}
}

// start follows homeyID from the devices and zones just read, in place of what was followed.
// It returns at once; the connection lives until stop, or until ctx ends.
func (l *liveDevices) start(ctx context.Context, homeyID string, devices map[string]homey.Device, zones map[string]homey.Zone) {
	if l == nil {
		return
	}
	l.stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	gen := l.gen
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	l.cancel, l.done = cancel, done
	go func() {
		defer close(done)
		src, err := l.rt.Realtime(ctx, homeyID)
		if err != nil {
			return // the refresher's own calls meet the same failure and report it
		}
		list := func(ctx context.Context) (map[string]homey.Device, map[string]homey.Zone, error) {
			return l.core.Devices(ctx, homeyID)
		}
		// A final error (the sign-in gone, the key refused) ends the connection; the
		// refresher finds it out by itself, and its next device list starts one again.
		_ = homey.NewLive(src, list, devices, zones, nil, l.opt).Run(ctx, func(u homey.LiveUpdate) {
			if u.Lost != nil && len(u.Changes) == 0 {
				return // the values stay as they were; the stream reconnects
			}
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.gen == gen {
				l.sink.Devices(u.Devices, u.Zones, nil)
			}
		})
	}()
}

// stop ends the connection, if any, and returns once it has ended: no report of it comes
// after.
func (l *liveDevices) stop() {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.gen++
	cancel, done := l.cancel, l.done
	l.cancel, l.done = nil, nil
	l.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// lockedSink lets the refresher and the live connection report from their goroutines, one
// call at a time.
type lockedSink struct {
	mu sync.Mutex
	s  Sink
}

func (l *lockedSink) SignedIn(acc Account) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.s.SignedIn(acc)
}

func (l *lockedSink) SignedOut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.s.SignedOut()
}

func (l *lockedSink) Attention(f *failure.Failure) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.s.Attention(f)
}

func (l *lockedSink) Healthy() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.s.Healthy()
}

func (l *lockedSink) Homeys(list []homey.Homey, selected string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.s.Homeys(list, selected)
}

func (l *lockedSink) Devices(devices map[string]homey.Device, zones map[string]homey.Zone, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.s.Devices(devices, zones, err)
}

func (l *lockedSink) Incident(i Incident) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.s.Incident(i)
}
