package emulator

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStateFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	first, err := New(Options{StateFile: path})
	if err != nil {
		t.Fatal(err)
	}
	tok := signIn(t, first)
	session := homeySession(t, first, first.Homeys()[1])
	pending, err := first.AuthorizeCode("")
	if err != nil {
		t.Fatal(err)
	}
	wantURL, wantHomeys, wantID, wantSecret := first.URL(), first.Homeys(), first.ClientID(), first.ClientSecret()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}

	second := NewServer(t, Options{StateFile: path})
	if second.URL() != wantURL || second.ClientID() != wantID || second.ClientSecret() != wantSecret {
		t.Fatalf("second server: %s, want %s with the same client", second.URL(), wantURL)
	}
	for i, h := range second.Homeys() {
		if h != wantHomeys[i] {
			t.Fatalf("Homeys()[%d] = %+v, want %+v", i, h, wantHomeys[i])
		}
	}
	if r := do(t, http.MethodGet, second.URL()+"/user/me", bearer(tok.AccessToken), ""); r.status != http.StatusOK {
		t.Errorf("first server's access token: status %d", r.status)
	}
	jwt := delegation(t, second, tok.AccessToken, "homey")
	if r := login(t, second.Homeys()[0], jwt); r.status != http.StatusOK {
		t.Errorf("login with the second server's delegation token: status %d", r.status)
	}
	if r := do(t, http.MethodGet, wantHomeys[1].BaseURL+"/api/manager/devices/device", bearer(session), ""); r.status != http.StatusOK {
		t.Errorf("first server's Homey session: status %d", r.status)
	}
	grant(t, second, refreshForm(tok.RefreshToken))
	grant(t, second, map[string][]string{"grant_type": {"authorization_code"}, "code": {pending}})
	postToken(t, second, refreshForm(tok.RefreshToken)).wantError(t, http.StatusBadRequest, "invalid_grant")

	second.ExpireAccessTokens()
	if b, err := os.ReadFile(path); err != nil || strings.Contains(string(b), tok.AccessToken) {
		t.Errorf("state file keeps an expired access token (read error %v)", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("state folder holds %d files, want only the state file (no temp files left)", len(entries))
	}
}

func TestStateFileErrors(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"not json":      "{",
		"wrong version": `{"version": 99}`,
		"bad key":       `{"version": 1, "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if s, err := New(Options{StateFile: path}); err == nil {
				s.Close()
				t.Fatal("New accepted a broken state file")
			}
		})
	}
	if _, err := New(Options{RedirectURI: "/callback"}); err == nil {
		t.Error("New accepted a relative redirect URI")
	}
}

func TestServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, Options{RedirectURI: "http://127.0.0.1:9/cb"}, pw) }()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]string
	if err := json.Unmarshal([]byte(line), &fields); err != nil {
		t.Fatalf("Serve's line is not JSON: %v", err)
	}
	for _, k := range []string{"cloud", "client_id", "client_secret", "redirect_uri"} {
		if fields[k] == "" {
			t.Errorf("Serve's line has no %s", k)
		}
	}
	if len(fields) != 4 || fields["redirect_uri"] != "http://127.0.0.1:9/cb" {
		t.Errorf("Serve's line has %d fields, redirect_uri %q", len(fields), fields["redirect_uri"])
	}
	do(t, http.MethodGet, fields["cloud"]+"/user/me", nil, "").wantError(t, http.StatusUnauthorized, "invalid_token")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve = %v, want nil after ctx is done", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after ctx was done")
	}
	if _, _, err := rawGet(context.Background(), fields["cloud"]+"/user/me"); err == nil {
		t.Error("the cloud still answers after Serve returned")
	}
}
