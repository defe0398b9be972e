//go:build linux || freebsd || netbsd || openbsd || dragonfly

package wlclip

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"
)

// ErrNoDataControl is returned by Open when the compositor offers neither
// ext_data_control_manager_v1 nor zwlr_data_control_manager_v1 (GNOME's Mutter, weston).
var ErrNoDataControl = errors.New("the compositor offers no data-control protocol")

// ErrNoDisplay is returned by Open when the display is a socket name but XDG_RUNTIME_DIR,
// where such sockets are, is not set.
var ErrNoDisplay = errors.New("no Wayland display: XDG_RUNTIME_DIR is not set")

// ErrClosed is returned once the connection to the compositor is gone: closed by Close,
// lost, or ended by a protocol error. Open a new Owner then.
var ErrClosed = errors.New("the Wayland connection is closed")

// PasswordHint is the extra MIME type that marks a secret copy; its content is "secret".
const PasswordHint = "x-kde-passwordManagerHint"

// The protocol spoken, from wayland.xml (libwayland 1.21), ext-data-control-v1.xml
// (wayland-protocols 1.39) and wlr-data-control-unstable-v1.xml: wl_display, wl_registry and
// wl_callback (version 1), wl_seat bound at version 1 (only to name the seat), and the
// data-control manager bound at version 1. ext-data-control-v1 is the standardised copy of
// wlr-data-control: both number their requests and events alike, so one set of opcodes serves
// both (the wlr primary_selection event only exists from version 2, which we do not bind).
const (
	ifaceSeat       = "wl_seat"
	ifaceExtManager = "ext_data_control_manager_v1"
	ifaceWlrManager = "zwlr_data_control_manager_v1"

	displayID = 1 // wl_display is always object 1
	// serverIDStart is where the ids of objects the compositor creates begin.
	serverIDStart = 0xff000000

	// wl_display
	reqDisplaySync        = 0 // (new_id wl_callback)
	reqDisplayGetRegistry = 1 // (new_id wl_registry)
	evDisplayError        = 0 // (object, uint code, string message)
	evDisplayDeleteID     = 1 // (uint id)
	// wl_registry
	reqRegistryBind  = 0 // (uint name, string interface, uint version, new_id)
	evRegistryGlobal = 0 // (uint name, string interface, uint version)
	// wl_callback
	evCallbackDone = 0 // (uint data)
	// data-control manager
	reqManagerCreateDataSource = 0 // (new_id source)
	reqManagerGetDataDevice    = 1 // (new_id device, object wl_seat)
	// data-control device
	reqDeviceSetSelection    = 0 // (object source, nullable)
	reqDeviceDestroy         = 1
	evDeviceDataOffer        = 0 // (new_id offer)
	evDeviceSelection        = 1 // (object offer, nullable)
	evDeviceFinished         = 2
	evDevicePrimarySelection = 3 // (object offer, nullable)
	// data-control source
	reqSourceOffer    = 0 // (string mime_type)
	reqSourceDestroy  = 1
	evSourceSend      = 0 // (string mime_type, fd)
	evSourceCancelled = 1
	// data-control offer
	reqOfferDestroy = 1
)

const (
	// roundtripTimeout bounds each wait for the compositor; one that does not answer within it
	// is as good as gone.
	roundtripTimeout = 10 * time.Second
	// pasteTimeout bounds the writing of one paste into a reader's pipe: a reader that does not
	// read does not keep a goroutine for ever.
	pasteTimeout = 10 * time.Second
	// maxFDs is the most file descriptors one read takes (libwayland sends at most 28 at once).
	maxFDs = 28
)

// kind is what an object id stands for, which says how to read its events.
type kind uint8

const (
	kindDisplay kind = iota + 1
	kindRegistry
	kindCallback
	kindSeat
	kindManager
	kindDevice
	kindSource
	kindOffer
)

func (k kind) String() string {
	switch k {
	case kindDisplay:
		return "wl_display"
	case kindRegistry:
		return "wl_registry"
	case kindCallback:
		return "wl_callback"
	case kindSeat:
		return "wl_seat"
	case kindManager:
		return "data-control manager"
	case kindDevice:
		return "data-control device"
	case kindSource:
		return "data-control source"
	case kindOffer:
		return "data-control offer"
	}
	return "unknown object"
}

// Owner holds the Wayland clipboard for one connection and serves pastes of the text it was
// given. It is safe for concurrent use; one goroutine reads the connection.
type Owner struct {
	sock *net.UnixConn
	raw  syscall.RawConn
	wmu  sync.Mutex // one write at a time on the socket

	manager, device uint32
	protocol        string // the manager's interface: ext_data_control_manager_v1 or zwlr_…

	copyMu sync.Mutex // one Copy or Clear at a time

	mu        sync.Mutex
	next      uint32   // next never-used client object id
	free      []uint32 // ids the compositor has released (delete_id), to reuse
	objects   map[uint32]kind
	callbacks map[uint32]chan struct{}
	globals   []global
	sources   map[uint32]source // our live data sources
	current   uint32            // the source holding the selection; 0 if none
	selection uint32            // the offers the compositor last announced, to destroy
	primary   uint32            // when it replaces them
	noDevice  bool              // the data device is finished (its seat is gone)
	pasteTime time.Duration     // pasteTimeout; tests change it
	err       error             // why the connection ended, once done is closed

	done    chan struct{}  // closed when the reading goroutine has ended
	writers sync.WaitGroup // pastes being written
	writing atomic.Int32   // how many (for tests)
	written atomic.Int32   // how many were started (for tests)
}

type global struct {
	name    uint32
	iface   string
	version uint32
}

// source is the content of one data source of ours.
type source struct {
	text   string
	secret bool
}

// mimeTypes lists what a source offers.
func mimeTypes(secret bool) []string {
	m := []string{"text/plain;charset=utf-8", "text/plain", "UTF8_STRING", "TEXT"}
	if secret {
		m = append(m, PasswordHint)
	}
	return m
}

// data is what a paste as mime gets; false for a type we do not offer.
func (s source) data(mime string) ([]byte, bool) {
	switch mime {
	case "text/plain;charset=utf-8", "text/plain", "UTF8_STRING", "TEXT":
		return []byte(s.text), true
	case PasswordHint:
		if s.secret {
			return []byte("secret"), true
		}
	}
	return nil, false
}

// socketPath finds the compositor's socket as libwayland does (WAYLAND_SOCKET, an inherited
// descriptor, is not supported): display, else $WAYLAND_DISPLAY, else "wayland-0"; an
// absolute path is used as it is, a name is looked up in $XDG_RUNTIME_DIR.
func socketPath(display string, getenv func(string) string) (string, error) {
	if display == "" {
		display = getenv("WAYLAND_DISPLAY")
	}
	if display == "" {
		display = "wayland-0"
	}
	if filepath.IsAbs(display) {
		return display, nil
	}
	dir := getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		return "", ErrNoDisplay
	}
	return filepath.Join(dir, display), nil
}

// Open connects to the compositor (display "" means $WAYLAND_DISPLAY, see socketPath), binds
// the first seat and the data-control manager, and gets the seat's data device. It takes
// nothing yet: see Copy. Without data control it returns ErrNoDataControl.
func Open(display string) (*Owner, error) {
	path, err := socketPath(display, os.Getenv)
	if err != nil {
		return nil, err
	}
	sock, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("connect to the Wayland display: %w", err)
	}
	raw, err := sock.SyscallConn()
	if err != nil {
		sock.Close()
		return nil, fmt.Errorf("connect to the Wayland display: %w", err)
	}
	o := &Owner{
		sock:      sock,
		raw:       raw,
		next:      displayID + 1,
		objects:   map[uint32]kind{displayID: kindDisplay},
		callbacks: map[uint32]chan struct{}{},
		sources:   map[uint32]source{},
		pasteTime: pasteTimeout,
		done:      make(chan struct{}),
	}
	go o.loop()
	if err := o.setup(); err != nil {
		o.shutdown()
		if errors.Is(err, ErrNoDataControl) {
			return nil, err
		}
		return nil, fmt.Errorf("wayland display %s: %w", path, err)
	}
	return o, nil
}

func (o *Owner) setup() error {
	o.mu.Lock()
	registry := o.alloc(kindRegistry)
	o.mu.Unlock()
	if err := o.send(newRequest(displayID, reqDisplayGetRegistry).uint(registry)); err != nil {
		return err
	}
	// The compositor announces all its globals before it answers the roundtrip.
	if err := o.roundtrip(); err != nil {
		return err
	}
	var seat, manager *global
	o.mu.Lock()
	for i := range o.globals {
		g := &o.globals[i]
		switch {
		case g.iface == ifaceSeat && seat == nil:
			seat = g
		case g.iface == ifaceExtManager:
			manager = g
		case g.iface == ifaceWlrManager && manager == nil:
			manager = g
		}
	}
	o.mu.Unlock()
	if manager == nil {
		return ErrNoDataControl
	}
	if seat == nil {
		return errors.New("the compositor offers no seat")
	}
	o.mu.Lock()
	seatID, managerID, deviceID := o.alloc(kindSeat), o.alloc(kindManager), o.alloc(kindDevice)
	o.manager, o.device, o.protocol = managerID, deviceID, manager.iface
	o.mu.Unlock()
	err := o.send(
		newRequest(registry, reqRegistryBind).uint(seat.name).string(seat.iface).uint(1).uint(seatID),
		newRequest(registry, reqRegistryBind).uint(manager.name).string(manager.iface).uint(1).uint(managerID),
		newRequest(managerID, reqManagerGetDataDevice).uint(deviceID).uint(seatID),
	)
	if err != nil {
		return err
	}
	return o.roundtrip()
}

// Copy sets the clipboard to text. A secret copy also offers x-kde-passwordManagerHint
// ("secret"), so that clipboard managers leave it out of their history. It replaces any
// earlier copy of ours. The text is written to each reader through a pipe, so there is no
// size limit.
func (o *Owner) Copy(text string, secret bool) error {
	if !utf8.ValidString(text) {
		return errors.New("the text is not valid UTF-8")
	}
	o.copyMu.Lock()
	defer o.copyMu.Unlock()
	if err := o.usable(); err != nil {
		return err
	}
	o.mu.Lock()
	id := o.alloc(kindSource)
	o.sources[id] = source{text: text, secret: secret}
	o.current = id // before set_selection: its cancelled event may come at once
	o.mu.Unlock()
	reqs := []*request{newRequest(o.manager, reqManagerCreateDataSource).uint(id)}
	for _, m := range mimeTypes(secret) {
		reqs = append(reqs, newRequest(id, reqSourceOffer).string(m))
	}
	reqs = append(reqs, newRequest(o.device, reqDeviceSetSelection).uint(id))
	if err := o.send(reqs...); err != nil {
		return err
	}
	if err := o.roundtrip(); err != nil {
		return err
	}
	// The earlier source, if any, is cancelled by the compositor and destroyed then.
	o.mu.Lock()
	ours := o.current == id
	o.mu.Unlock()
	if !ours {
		return errors.New("another program took the clipboard at the same moment")
	}
	return nil
}

// Holds reports whether we still hold the clipboard with exactly text.
func (o *Owner) Holds(text string) bool {
	held := func() bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		s, ok := o.sources[o.current]
		return o.current != 0 && ok && s.text == text
	}
	// The roundtrip lets a cancelled event that is on its way arrive first.
	return held() && o.roundtrip() == nil && held()
}

// Clear gives the clipboard up if we still hold it; someone else's content is left alone.
// Destroying the source that holds the selection makes the compositor clear the selection;
// a source that was already replaced is not the selection any more.
func (o *Owner) Clear() error {
	o.copyMu.Lock()
	defer o.copyMu.Unlock()
	o.mu.Lock()
	id := o.current
	o.current = 0
	delete(o.sources, id)
	o.mu.Unlock()
	if id == 0 || o.usable() != nil {
		return nil
	}
	if err := o.send(newRequest(id, reqSourceDestroy)); err != nil {
		return err
	}
	return o.roundtrip()
}

// Close gives the clipboard up (Clear) and closes the connection.
func (o *Owner) Close() error {
	err := o.Clear()
	if errors.Is(err, ErrClosed) {
		err = nil
	}
	o.shutdown()
	return err
}

// shutdown closes the connection and waits for the reading goroutine and the pastes.
func (o *Owner) shutdown() {
	o.mu.Lock()
	if o.err == nil {
		o.err = ErrClosed
	}
	o.mu.Unlock()
	o.sock.Close()
	<-o.done
	o.writers.Wait()
}

// usable returns why Copy cannot work: the connection or the data device is gone.
func (o *Owner) usable() error {
	select {
	case <-o.done:
		o.mu.Lock()
		defer o.mu.Unlock()
		return o.err
	default:
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.noDevice {
		return errors.New("the seat's data device is gone")
	}
	return nil
}

// alloc returns a free client object id for an object of kind k. o.mu must be held.
func (o *Owner) alloc(k kind) uint32 {
	var id uint32
	if n := len(o.free); n > 0 {
		id, o.free = o.free[n-1], o.free[:n-1]
	} else {
		id = o.next
		o.next++
	}
	o.objects[id] = k
	return id
}

// send writes requests to the compositor in one write. Requests carry no file descriptors
// here (we never pass one), so a plain write does.
func (o *Owner) send(reqs ...*request) error {
	var b []byte
	for _, r := range reqs {
		m, err := r.encode()
		if err != nil {
			return err
		}
		b = append(b, m...)
	}
	o.wmu.Lock()
	defer o.wmu.Unlock()
	if _, err := o.sock.Write(b); err != nil {
		if e := o.usable(); e != nil {
			return e
		}
		return fmt.Errorf("write to the compositor: %w", err)
	}
	return nil
}

// roundtrip waits until the compositor has handled every request sent before it
// (wl_display.sync) and we have read every event it sent before answering.
func (o *Owner) roundtrip() error {
	ch := make(chan struct{})
	o.mu.Lock()
	id := o.alloc(kindCallback)
	o.callbacks[id] = ch
	o.mu.Unlock()
	if err := o.send(newRequest(displayID, reqDisplaySync).uint(id)); err != nil {
		return err
	}
	timer := time.NewTimer(roundtripTimeout)
	defer timer.Stop()
	select {
	case <-ch:
		return nil
	case <-o.done:
		return o.usable()
	case <-timer.C:
		return fmt.Errorf("the compositor did not answer within %s", roundtripTimeout)
	}
}
