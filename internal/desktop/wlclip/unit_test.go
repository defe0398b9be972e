//go:build linux || freebsd || netbsd || openbsd || dragonfly

package wlclip

import (
	"slices"
	"testing"
)

func TestSocketPath(t *testing.T) {
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	tests := []struct {
		display string
		vars    map[string]string
		want    string
		err     bool
	}{
		{"", map[string]string{"WAYLAND_DISPLAY": "wayland-1", "XDG_RUNTIME_DIR": "/run/user/1000"}, "/run/user/1000/wayland-1", false},
		{"", map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}, "/run/user/1000/wayland-0", false},
		{"", map[string]string{"WAYLAND_DISPLAY": "/tmp/sway/wayland-1"}, "/tmp/sway/wayland-1", false},
		{"wayland-5", map[string]string{"WAYLAND_DISPLAY": "wayland-1", "XDG_RUNTIME_DIR": "/r"}, "/r/wayland-5", false},
		{"", map[string]string{"WAYLAND_DISPLAY": "wayland-1"}, "", true},
	}
	for _, tt := range tests {
		got, err := socketPath(tt.display, env(tt.vars))
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("socketPath(%q, %v) = %q, %v", tt.display, tt.vars, got, err)
		}
	}
}

func TestSourceData(t *testing.T) {
	plain, secret := source{text: "t"}, source{text: "t", secret: true}
	for _, mime := range mimeTypes(false) {
		if d, ok := plain.data(mime); !ok || string(d) != "t" {
			t.Errorf("plain as %s: %q %v", mime, d, ok)
		}
	}
	if _, ok := plain.data(PasswordHint); ok {
		t.Error("plain text answers the password hint")
	}
	if d, ok := secret.data(PasswordHint); !ok || string(d) != "secret" {
		t.Errorf("secret's hint: %q %v", d, ok)
	}
	if _, ok := secret.data("image/png"); ok {
		t.Error("a type never offered is answered")
	}
	if !slices.Contains(mimeTypes(true), PasswordHint) || slices.Contains(mimeTypes(false), PasswordHint) {
		t.Error("the hint is offered wrongly")
	}
}
