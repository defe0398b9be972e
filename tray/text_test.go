package tray

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey"
)

// A token-shaped secret that no text may contain.
const secretToken = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU"

func TestStatusLine(t *testing.T) {
	gone := fmt.Errorf("refresh: %w", auth.ErrSignInGone)
	locked := &auth.KeychainError{Backend: "Secret Service", Op: "get", Kind: auth.Locked}
	tests := []struct {
		name   string
		p      phase
		acc    Account
		reason error
		want   string
	}{
		{"signed in", phaseSignedIn, Account{Name: "Ada Lovelace", Email: "ada@example.com"}, nil, "Signed in as Ada Lovelace"},
		{"no name", phaseSignedIn, Account{Email: "ada@example.com"}, nil, "Signed in as ada@example.com"},
		{"nothing known", phaseSignedIn, Account{}, nil, "Signed in as your Athom account"},
		{"name with newline", phaseSignedIn, Account{Name: "Ada\nLovelace"}, nil, "Signed in as Ada Lovelace"},
		{"signed out", phaseSignedOut, Account{Name: "Ada"}, nil, "Not signed in"},
		{"gone", phaseAttention, Account{Name: "Ada"}, gone, "Sign-in needs attention: Athom no longer accepts it, log in again"},
		{"missing", phaseAttention, Account{}, auth.ErrNotSignedIn, "Sign-in needs attention: the saved sign-in is missing, log in again"},
		{"locked", phaseAttention, Account{}, locked, "Sign-in needs attention: the keychain is locked"},
		{"unavailable", phaseAttention, Account{}, &auth.KeychainError{Kind: auth.Unavailable}, "Sign-in needs attention: no keychain is available"},
		{"timeout", phaseAttention, Account{}, &auth.KeychainError{Kind: auth.Timeout}, "Sign-in needs attention: the keychain does not answer"},
		{"other", phaseAttention, Account{}, errors.New("boom"), "Sign-in needs attention: boom"},
		{"loading", phaseLoading, Account{}, nil, "homeytray"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := statusLine(tt.p, tt.acc, tt.reason, "homeytray"); got != tt.want {
				t.Errorf("statusLine = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoginLabel(t *testing.T) {
	tests := []struct {
		p      phase
		reason error
		want   string
	}{
		{phaseLoading, nil, labelLogin},
		{phaseSignedOut, nil, labelLogin},
		{phaseSignedIn, nil, labelLogout},
		{phaseAttention, fmt.Errorf("x: %w", auth.ErrSignInGone), labelLogin},
		{phaseAttention, auth.ErrNotSignedIn, labelLogin},
		{phaseAttention, &auth.KeychainError{Kind: auth.Locked}, labelLogout},
	}
	for _, tt := range tests {
		if got := loginLabel(tt.p, tt.reason); got != tt.want {
			t.Errorf("loginLabel(%v, %v) = %q, want %q", tt.p, tt.reason, got, tt.want)
		}
	}
	if labelLogin != "Log in…" || labelLogout != "Log out" || labelCopy != "Copy bearer token" ||
		labelHomeys != "Homeys" || labelDevices != "Devices" || labelAutostart != "Start at login" || labelQuit != "Quit" {
		t.Error("a menu label differs from SPEC §5")
	}
}

func TestErrorText(t *testing.T) {
	refused := &url.Error{Op: "Post", URL: "https://api.athom.com/oauth2/token?code=" + secretToken,
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"sign-in gone", fmt.Errorf("refresh: %w", auth.ErrSignInGone), "the sign-in is no longer valid: log in again"},
		{"not signed in", fmt.Errorf("account: %w", auth.ErrNotSignedIn), "not signed in"},
		{"keychain", fmt.Errorf("load: %w", &auth.KeychainError{Backend: "Secret Service", Op: "get", Kind: auth.Locked}),
			(&auth.KeychainError{Kind: auth.Locked}).Error()},
		{"denied", auth.ErrAccessDenied, "access was denied in the browser"},
		{"login timeout", auth.ErrLoginTimeout, "the sign-in timed out"},
		{"no clipboard", fmt.Errorf("copy: %w", errNoClipboard), "no clipboard tool found: install xclip, xsel or wl-clipboard, then restart the tray"},
		{"cancelled", context.Canceled, "cancelled"},
		{"refused", fmt.Errorf("refresh: %w", refused), "cannot reach the server: connection refused"},
		{"deadline", fmt.Errorf("get: %w", context.DeadlineExceeded), "cannot reach the server: no answer in time"},
		{"dns", &net.DNSError{Name: "api.athom.com", Err: "no such host"}, "cannot reach the server: cannot find api.athom.com"},
		{"reset", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, "cannot reach the server: the connection was reset"},
		{"401", &homey.APIError{Op: "GET /api/manager/sessions/session/me", StatusCode: 401, Code: "invalid_token"}, "the server refused the token (HTTP 401)"},
		{"503", fmt.Errorf("devices: %w", &homey.APIError{Op: "GET /x", StatusCode: 503}), "the server had a problem (HTTP 503); try again in a moment"},
		{"subscription", fmt.Errorf("x: %w", homey.ErrSubscriptionInactive), "the Homey's subscription is inactive"},
		{"other, one line", errors.New("first line\nsecond line"), "first line"},
		{"token-like text", errors.New("bad token " + secretToken + " here"), "bad token … here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := errorText(tt.err)
			if got != tt.want {
				t.Errorf("errorText = %q, want %q", got, tt.want)
			}
			if strings.ContainsAny(got, "\r\n") || strings.Contains(got, secretToken) || strings.Contains(got, "https://") {
				t.Errorf("errorText = %q: not one clean line", got)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want incidentKind
	}{
		{fmt.Errorf("x: %w", auth.ErrSignInGone), incidentAttention},
		{auth.ErrNotSignedIn, incidentAttention},
		{fmt.Errorf("x: %w", &auth.KeychainError{Kind: auth.Timeout}), incidentAttention},
		{&url.Error{Op: "Get", URL: "u", Err: errors.New("x")}, incidentNetwork},
		{&homey.APIError{StatusCode: 500}, incidentNetwork},
		{errors.New("anything else"), incidentNetwork},
	}
	for _, tt := range tests {
		if got := classify(tt.err); got != tt.want {
			t.Errorf("classify(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestRedact(t *testing.T) {
	id := "5f4c1e2a9b8d7c6e5f4a3b2c"                                // a Homey id: 24 hex digits
	uuid := "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"                  // a device id
	long := strings.Repeat("A", 39) + " " + strings.Repeat("b", 40) // 39 stays, 40 goes
	tests := []struct{ in, want string }{
		{"homey " + id, "homey " + id},
		{"device " + uuid + ".", "device " + uuid + "."},
		{long, strings.Repeat("A", 39) + " …"},
		{secretToken, "…"},
		{"Bearer " + secretToken + ", then", "Bearer …, then"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := redact(tt.in); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMenuLabel(t *testing.T) {
	tests := []struct{ in, goos, want string }{
		{"Living_Room", "linux", "Living__Room"},
		{"Living_Room", "freebsd", "Living__Room"},
		{"Living_Room", "darwin", "Living_Room"},
		{"Tom & Jerry", "windows", "Tom && Jerry"},
		{"Tom & Jerry", "linux", "Tom & Jerry"},
		{"a\tb\nc", "linux", "a b c"},
		{"Log in…", "linux", "Log in…"},
	}
	for _, tt := range tests {
		if got := menuLabel(tt.in, tt.goos); got != tt.want {
			t.Errorf("menuLabel(%q, %s) = %q, want %q", tt.in, tt.goos, got, tt.want)
		}
	}
}

func TestNotes(t *testing.T) {
	at := time.Date(2030, 5, 6, 14, 5, 0, 0, time.Local)
	b := &homey.Bearer{Token: secretToken, HomeyID: "h1", ConfirmedAt: at}
	tests := []struct {
		name string
		n    note
		want note
	}{
		{"copied", copiedNote(b, "Home", time.Minute),
			note{"Bearer token copied", "Confirmed valid at 14:05 by Home. The clipboard is cleared in 60 s."}},
		{"copied, never cleared", copiedNote(b, "", 0), note{"Bearer token copied", "Confirmed valid at 14:05."}},
		{"copied, unconfirmed", copiedNote(&homey.Bearer{Token: secretToken}, "Home", 5*time.Minute),
			note{"Bearer token copied", "For Home. The clipboard is cleared in 5 min."}},
		{"device", deviceCopiedNote("Lamp"), note{"Device ID copied", "Lamp"}},
		{"copy failed", failNote(titleCopyFailed, errNoClipboard),
			note{"Could not copy the bearer token", "No clipboard tool found: install xclip, xsel or wl-clipboard, then restart the tray."}},
		{"gone", attentionNote(auth.ErrSignInGone),
			note{"Sign-in needs attention", "Athom no longer accepts the saved sign-in. Choose “Log in…” in the tray menu."}},
		{"locked", attentionNote(&auth.KeychainError{Kind: auth.Locked}),
			note{"Sign-in needs attention", sentence((&auth.KeychainError{Kind: auth.Locked}).Error())}},
		{"offline", offlineNote(&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, at),
			note{"Cannot renew the sign-in", "The access token expired at 14:05 and could not be renewed (cannot reach the server: connection refused). Retrying in the background."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.n != tt.want {
				t.Errorf("note = %q, want %q", tt.n, tt.want)
			}
			if strings.Contains(tt.n.title+tt.n.body, secretToken) {
				t.Error("the note holds the token")
			}
			if strings.Contains(strings.ToLower(tt.n.body), "valid until") || strings.Contains(tt.n.body, "expires") {
				t.Error("the note claims a bearer expiry nobody knows")
			}
		})
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		45 * time.Second: "45 s", time.Minute: "60 s", 2 * time.Minute: "2 min", 90 * time.Minute: "90 min", 3 * time.Hour: "3 h",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestGroupDevices(t *testing.T) {
	root := "z-home"
	zones := map[string]homey.Zone{
		"z-home":    {ID: "z-home", Name: "Home"},
		"z-kitchen": {ID: "z-kitchen", Name: "kitchen", Parent: &root},
		"z-bath":    {ID: "z-bath", Name: "Bathroom", Parent: &root},
		"z-unnamed": {ID: "z-unnamed"},
	}
	devices := map[string]homey.Device{
		"d1": {ID: "d1", Name: "Toaster", Zone: "z-kitchen"},
		"d2": {ID: "d2", Name: "fridge", Zone: "z-kitchen"},
		"d3": {ID: "d3", Name: "Fan", Zone: "z-bath"},
		"d4": {Name: "Lost", Zone: "z-gone"},          // keyed id only, unknown zone
		"d5": {ID: "d5", Name: "", Zone: "z-unnamed"}, // no name, unnamed zone
		"d6": {ID: "d6", Name: "Fridge", Zone: "z-kitchen"},
		"d7": {ID: "d7", Name: "Hub\nLight", Zone: "z-home"},
	}
	got := groupDevices(devices, zones)
	want := []deviceGroup{
		{zone: "Bathroom", zoneID: "z-bath", devices: []deviceRef{{"d3", "Fan", ""}}},
		{zone: "Home", zoneID: "z-home", devices: []deviceRef{{"d7", "Hub Light", ""}}},
		{zone: "kitchen", zoneID: "z-kitchen", devices: []deviceRef{{"d6", "Fridge", ""}, {"d2", "fridge", ""}, {"d1", "Toaster", ""}}},
		{zone: "Other devices", devices: []deviceRef{{"d5", "d5", ""}, {"d4", "Lost", ""}}},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("groupDevices =\n%v\nwant\n%v", got, want)
	}

	entries := deviceEntries(got[:1], nil, false)
	if want := []entry{{label: "Bathroom"}, {label: "Fan", value: "d3"}}; fmt.Sprint(entries) != fmt.Sprint(want) {
		t.Errorf("deviceEntries = %v, want %v", entries, want)
	}
	for _, tt := range []struct {
		name    string
		err     error
		loading bool
		want    string
	}{
		{"loading", nil, true, "Loading…"},
		{"none", nil, false, "No devices"},
		{"failed", context.DeadlineExceeded, false, "Could not load the devices: cannot reach the server: no answer in time"},
	} {
		e := deviceEntries(nil, tt.err, tt.loading)
		if len(e) != 1 || e[0].label != tt.want || e[0].value != "" {
			t.Errorf("%s: deviceEntries = %v, want one disabled %q", tt.name, e, tt.want)
		}
	}
}

func TestHomeyEntries(t *testing.T) {
	list := []homey.Homey{{ID: "aaaaaaaa1", Name: "Home"}, {ID: "bbbbbbbb2", Name: "Cabin"}, {ID: "ccccccccc3", Name: "Cabin"}, {ID: "d4"}}
	got := homeyEntries(list, "bbbbbbbb2")
	want := []entry{
		{label: "Home", value: "aaaaaaaa1"},
		{label: "Cabin (bbbbbb)", value: "bbbbbbbb2", checked: true},
		{label: "Cabin (cccccc)", value: "ccccccccc3"},
		{label: "d4", value: "d4"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("homeyEntries = %v, want %v", got, want)
	}
}

func TestIncidents(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	expiry := t0.Add(time.Hour)
	type ev struct {
		fail     incidentKind // incidentNone = a success (end)
		at       time.Duration
		deadline time.Time
		notify   bool
	}
	tests := []struct {
		name   string
		events []ev
	}{
		{"attention notifies once over many retries", []ev{
			{incidentAttention, 0, expiry, true},
			{incidentAttention, time.Minute, expiry, false},
			{incidentAttention, 2 * time.Hour, expiry, false},
			{incidentNetwork, 3 * time.Hour, expiry, false},
			{incidentAttention, 4 * time.Hour, expiry, false},
		}},
		{"a new incident after a success notifies again", []ev{
			{incidentAttention, 0, expiry, true},
			{incidentNone, time.Minute, expiry, false},
			{incidentAttention, 2 * time.Minute, expiry, true},
			{incidentAttention, 3 * time.Minute, expiry, false},
		}},
		{"a blip shorter than the token", []ev{
			{incidentNetwork, 0, expiry, false},
			{incidentNetwork, 30 * time.Minute, expiry, false},
			{incidentNone, 40 * time.Minute, expiry, false},
		}},
		{"an outage longer than the token notifies once", []ev{
			{incidentNetwork, 0, expiry, false},
			{incidentNetwork, 59 * time.Minute, expiry, false},
			{incidentNetwork, 61 * time.Minute, expiry, true},
			{incidentNetwork, 3 * time.Hour, expiry, false},
		}},
		{"unknown expiry never notifies for the network", []ev{
			{incidentNetwork, 0, time.Time{}, false},
			{incidentNetwork, 100 * time.Hour, time.Time{}, false},
		}},
		{"the network then the sign-in", []ev{
			{incidentNetwork, 2 * time.Hour, expiry, true},
			{incidentAttention, 3 * time.Hour, expiry, true},
			{incidentNetwork, 4 * time.Hour, expiry, false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s incidents
			for i, e := range tt.events {
				var got bool
				if e.fail == incidentNone {
					s.end()
				} else {
					got = s.fail(e.fail, t0.Add(e.at), e.deadline)
				}
				if got != e.notify {
					t.Errorf("event %d: notify = %v, want %v", i, got, e.notify)
				}
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	for _, limit := range []time.Duration{backoffCap, backoffCapAttend} {
		prevHigh := time.Duration(0)
		for attempt := 0; attempt < 40; attempt++ {
			high := min(backoffBase<<min(attempt, 20), limit)
			for _, rnd := range []float64{0, 0.25, 0.5, 0.999999} {
				d := backoff(attempt, rnd, limit)
				if d < high/2 || d > high {
					t.Fatalf("backoff(%d, %v, %v) = %v, want within [%v, %v]", attempt, rnd, limit, d, high/2, high)
				}
			}
			if high < prevHigh {
				t.Fatalf("attempt %d: bound %v fell below %v", attempt, high, prevHigh)
			}
			prevHigh = high
		}
		if d := backoff(1000, 0.999999, limit); d > limit || d < limit/2 {
			t.Errorf("backoff(1000) = %v, want within the cap %v", d, limit)
		}
	}
	if d := backoff(0, 0, backoffCap); d != backoffBase/2 {
		t.Errorf("first retry at least %v, got %v", backoffBase/2, d)
	}
}
