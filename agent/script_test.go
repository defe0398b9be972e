package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/ipc"
)

// fakeCore is a Core with two Homeys (one selected) and programmable errors.
type fakeCore struct {
	homeys   []homey.Homey
	selected string
	expiry   time.Time
	err      error // returned by every call when set
	reloads  int
	bearerOf []string // the ids Bearer was called with
	devices  map[string]homey.Device
}

func newFakeCore() *fakeCore {
	kitchen := json.RawMessage(`{"id":"d1","name":"Lamp","zone":"z1","extra":{"kept":true}}`)
	return &fakeCore{
		homeys: []homey.Homey{
			{ID: "h-home", Name: "Home"},
			{ID: "h-cabin", Name: "Cabin"},
			{ID: "h-cabin2", Name: "cabin"},
		},
		selected: "h-home",
		expiry:   time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
		devices: map[string]homey.Device{
			"d1": {ID: "d1", Name: "Lamp", Zone: "z1", Raw: kitchen},
			"d2": {ID: "d2", Name: "Plug", Zone: "z1"}, // no Raw: encoded from the fields
		},
	}
}

func (f *fakeCore) Account(context.Context) (Account, error) { return Account{Name: "Ada"}, f.err }
func (f *fakeCore) AccessToken(context.Context) (*oauth2.Token, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &oauth2.Token{AccessToken: "fake-access", Expiry: f.expiry}, nil
}
func (f *fakeCore) Bearer(_ context.Context, id string) (*homey.Bearer, error) {
	f.bearerOf = append(f.bearerOf, id)
	if f.err != nil {
		return nil, f.err
	}
	if id == "" {
		id = f.selected
	}
	return &homey.Bearer{Token: "fake-bearer-" + id, HomeyID: id, BaseURL: "https://" + id + ".test"}, nil
}
func (f *fakeCore) Homeys(context.Context) ([]homey.Homey, string, error) {
	return f.homeys, f.selected, f.err
}
func (f *fakeCore) Select(id string) error { f.selected = id; return f.err }
func (f *fakeCore) Devices(_ context.Context, id string) (map[string]homey.Device, map[string]homey.Zone, error) {
	if f.err != nil {
		return nil, nil, f.err
	}
	if id != "" && !slices.ContainsFunc(f.homeys, func(h homey.Homey) bool { return h.ID == id }) {
		return nil, nil, fmt.Errorf("devices of %q: no such Homey", id)
	}
	return f.devices, map[string]homey.Zone{"z1": {ID: "z1", Name: "Kitchen"}}, nil
}
func (f *fakeCore) Login(context.Context) error  { return f.err }
func (f *fakeCore) Logout(context.Context) error { return f.err }
func (f *fakeCore) Reload() error                { f.reloads++; return f.err }
func (f *fakeCore) SettingsChanged() bool        { return false }

// TestScriptToken: the request's Homey goes to the Core as it came (the Core resolves names, as
// for the command line), and the answer carries the bearer.
func TestScriptToken(t *testing.T) {
	for _, name := range []string{"", "h-cabin", "Cabin"} {
		core := newFakeCore()
		a := scriptHandler(core, nil)(t.Context(), ipc.Request{Op: ipc.OpToken, Homey: name})
		id := name
		if id == "" {
			id = core.selected
		}
		want := ipc.Answer{Token: "fake-bearer-" + id, HomeyID: id, BaseURL: "https://" + id + ".test"}
		if !reflect.DeepEqual(a, want) {
			t.Errorf("token %q: answer %+v; want %+v", name, a, want)
		}
		if len(core.bearerOf) != 1 || core.bearerOf[0] != name {
			t.Errorf("Bearer called with %q; want [%q]", core.bearerOf, name)
		}
	}
}

func TestScriptCloudToken(t *testing.T) {
	core := newFakeCore()
	h := scriptHandler(core, nil)
	a := h(t.Context(), ipc.Request{Op: ipc.OpToken, Cloud: true})
	if a.Token != "fake-access" || a.ExpiresAt == nil || !a.ExpiresAt.Equal(core.expiry) || a.Failure != nil {
		t.Errorf("cloud token: %+v", a)
	}
	core.expiry = time.Time{} // a personal access token: expiry unknown
	if a := h(t.Context(), ipc.Request{Op: ipc.OpToken, Cloud: true}); a.Token != "fake-access" || a.ExpiresAt != nil {
		t.Errorf("cloud token without expiry: %+v", a)
	}
	if a := h(t.Context(), ipc.Request{Op: ipc.OpToken, Cloud: true, Homey: "Home"}); a.Failure == nil || a.Token != "" {
		t.Errorf("cloud token for a Homey: %+v; want an error", a)
	}
}

func TestScriptDevices(t *testing.T) {
	core := newFakeCore()
	a := scriptHandler(core, nil)(t.Context(), ipc.Request{Op: ipc.OpDevices})
	if a.Failure != nil {
		t.Fatalf("devices: %+v", a)
	}
	var devices map[string]map[string]any
	if err := json.Unmarshal(a.Devices, &devices); err != nil {
		t.Fatal(err)
	}
	if devices["d1"]["extra"] == nil {
		t.Errorf("d1 = %v; want the Homey's whole object (with \"extra\")", devices["d1"])
	}
	if devices["d2"]["name"] != "Plug" {
		t.Errorf("d2 = %v; want its fields", devices["d2"])
	}
	var zones map[string]homey.Zone
	if err := json.Unmarshal(a.Zones, &zones); err != nil || zones["z1"].Name != "Kitchen" {
		t.Errorf("zones %s: %v", a.Zones, err)
	}

	if a := scriptHandler(core, nil)(t.Context(), ipc.Request{Op: ipc.OpDevices, Homey: "h-cabin"}); a.Failure != nil {
		t.Errorf("devices of h-cabin: %+v", a)
	}
	if a := scriptHandler(core, nil)(t.Context(), ipc.Request{Op: ipc.OpDevices, Homey: "h-garage"}); a.Failure == nil {
		t.Errorf("devices of an unknown Homey: %+v; want the Core's error", a)
	}
}

func TestScriptErrors(t *testing.T) {
	for _, tc := range []struct {
		err    error
		signIn bool
	}{
		{fmt.Errorf("load the token: %w", auth.ErrNotSignedIn), true},
		{fmt.Errorf("refresh: %w", auth.ErrSignInGone), true},
		{errors.New("api.athom.com: unreachable\nsecond line"), false},
	} {
		core := newFakeCore()
		core.err = tc.err
		h := scriptHandler(core, nil)
		for _, r := range []ipc.Request{{Op: ipc.OpToken}, {Op: ipc.OpToken, Cloud: true}, {Op: ipc.OpDevices}, {Op: ipc.OpToken, Homey: "Home"}} {
			a := h(t.Context(), r)
			if a.Failure == nil || strings.Contains(a.Failure.Message("homeytray"), "\n") || a.Failure.SignIn() != tc.signIn || a.Token != "" {
				t.Errorf("%+v with %q: %+v; want one line, SignIn %v", r, tc.err, a, tc.signIn)
			}
		}
	}
}

func TestScriptChangedAndPing(t *testing.T) {
	core := newFakeCore()
	redraws := 0
	h := scriptHandler(core, func() { redraws++ })
	if a := h(t.Context(), ipc.Request{Op: ipc.OpChanged}); !reflect.DeepEqual(a, ipc.Answer{}) || core.reloads != 1 || redraws != 1 {
		t.Errorf("changed: %+v, %d reloads, %d redraws", a, core.reloads, redraws)
	}
	core.err = fmt.Errorf("read the config: %w", os.ErrPermission)
	if a := h(t.Context(), ipc.Request{Op: ipc.OpChanged}); a.Failure == nil || redraws != 2 {
		t.Errorf("changed, reload failing: %+v, %d redraws; want an error and a redraw", a, redraws)
	}
	if a := h(t.Context(), ipc.Request{Op: ipc.OpPing}); a.PID != os.Getpid() {
		t.Errorf("ping: %+v", a)
	}
	if a := h(t.Context(), ipc.Request{Op: "bogus"}); a.Failure == nil || a.Failure.Message("homeytray") != `unknown request "bogus"` {
		t.Errorf("unknown op: %+v", a)
	}
}
