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

	"github.com/homeytray/homeytray/agent"
	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/failure"
)

// A token-shaped secret that no text may contain.
const secretToken = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU"

func TestStatusLine(t *testing.T) {
	gone := fmt.Errorf("refresh: %w", auth.ErrSignInGone)
	locked := &auth.KeychainError{Backend: "Secret Service", Op: "get", Kind: auth.Locked}
	tests := []struct {
		name   string
		p      phase
		acc    agent.Account
		reason error
		want   string
	}{
		{"signed in", phaseSignedIn, agent.Account{Name: "Ada Lovelace", Email: "ada@example.com"}, nil, "Signed in as Ada Lovelace"},
		{"no name", phaseSignedIn, agent.Account{Email: "ada@example.com"}, nil, "Signed in as ada@example.com"},
		{"nothing known", phaseSignedIn, agent.Account{}, nil, "Signed in as your Athom account"},
		{"name with newline", phaseSignedIn, agent.Account{Name: "Ada\nLovelace"}, nil, "Signed in as Ada Lovelace"},
		{"signed out", phaseSignedOut, agent.Account{Name: "Ada"}, nil, "Not signed in"},
		{"gone", phaseAttention, agent.Account{Name: "Ada"}, gone, "Sign-in needs attention: Athom no longer accepts it, log in again"},
		{"missing", phaseAttention, agent.Account{}, auth.ErrNotSignedIn, "Sign-in needs attention: the saved sign-in is missing, log in again"},
		{"locked", phaseAttention, agent.Account{}, locked, "Sign-in needs attention: the keychain is locked"},
		{"unavailable", phaseAttention, agent.Account{}, &auth.KeychainError{Kind: auth.Unavailable}, "Sign-in needs attention: no keychain is available"},
		{"timeout", phaseAttention, agent.Account{}, &auth.KeychainError{Kind: auth.Timeout}, "Sign-in needs attention: the keychain does not answer"},
		{"other", phaseAttention, agent.Account{}, errors.New("boom"), "Sign-in needs attention: boom"},
		{"loading", phaseLoading, agent.Account{}, nil, "homeytray"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := statusLine(tt.p, tt.acc, failure.Of(tt.reason), "homeytray"); got != tt.want {
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
		if got := loginLabel(tt.p, failure.Of(tt.reason)); got != tt.want {
			t.Errorf("loginLabel(%v, %v) = %q, want %q", tt.p, tt.reason, got, tt.want)
		}
	}
	if labelLogin != "Log in…" || labelLogout != "Log out" || labelCopy != "Copy bearer token" ||
		labelHomeys != "Homeys" || labelDevices != "Devices" || labelAutostart != "Start at login" || labelQuit != "Quit" {
		t.Error("a menu label differs from docs/decisions.md#tray-menu")
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
		{"no clipboard", fmt.Errorf("copy: %w", failure.ErrNoClipboard), "no display to own a clipboard on: start the tray inside your desktop session (GNOME on Wayland without XWayland also needs wl-clipboard)"},
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
		{"copy failed", failNote(titleCopyFailed, failure.ErrNoClipboard),
			note{"Could not copy the bearer token", "No display to own a clipboard on: start the tray inside your desktop session (GNOME on Wayland without XWayland also needs wl-clipboard)."}},
		{"gone", incidentNote(agent.Incident{Failure: failure.Of(auth.ErrSignInGone), NeedsUser: true}),
			note{"Sign-in needs attention", "Athom no longer accepts the saved sign-in. Choose “Log in…” in the tray menu."}},
		{"locked", incidentNote(agent.Incident{Failure: failure.Of(&auth.KeychainError{Kind: auth.Locked}), NeedsUser: true}),
			note{"Sign-in needs attention", failure.Sentence((&auth.KeychainError{Kind: auth.Locked}).Error())}},
		{"offline", incidentNote(agent.Incident{Failure: failure.Of(&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), Expiry: at}),
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
