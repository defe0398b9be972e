package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/homeytray/homeytray/homey/emulator"
	"github.com/homeytray/homeytray/internal/testport"
)

// parseWith runs argv through one command built with a runF hook, as gh's TestNewCmd* tests do:
// it checks flag parsing alone, without running the command. It returns what runF saw and the
// exit code the error would give.
func parseWith[O any](t *testing.T, build func(*Factory, func(O) error) *cobra.Command, argv string) (O, int) {
	t.Helper()
	var got O
	f := quietFactory(strings.NewReader(""))
	cmd := build(f, func(o O) error { got = o; return nil })
	root := &cobra.Command{Use: "homeytray", SilenceErrors: true, SilenceUsage: true}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageErrorf("%s: %v", c.Name(), err) })
	root.AddCommand(cmd)
	root.SetArgs(append([]string{cmd.Name()}, strings.Fields(argv)...))
	root.SetOut(io.Discard)
	if err := root.Execute(); err != nil {
		return got, f.exit(err)
	}
	return got, exitOK
}

func TestNewCmdToken(t *testing.T) {
	for _, c := range []struct {
		argv string
		want tokenOptions
		code int
	}{
		{"", tokenOptions{format: "raw"}, exitOK},
		{"--format json", tokenOptions{format: "json"}, exitOK},
		{"--format=env --homey Kitchen", tokenOptions{format: "env", homey: "Kitchen"}, exitOK},
		{"--cloud --format header", tokenOptions{format: "header", cloud: true}, exitOK},
		{"--cloud --homey Kitchen", tokenOptions{format: "raw", homey: "Kitchen", cloud: true}, exitOK}, // tokenRun refuses it
		{"--format", tokenOptions{}, exitUsage},
		{"--bogus", tokenOptions{}, exitUsage},
		{"extra", tokenOptions{}, exitUsage},
	} {
		got, code := parseWith(t, newCmdToken, c.argv)
		if code != c.code || code == exitOK && got != c.want {
			t.Errorf("token %s: %+v, exit %d; want %+v, exit %d", c.argv, got, code, c.want, c.code)
		}
	}
}

func TestNewCmdDevicesLoginSetupDiscover(t *testing.T) {
	if got, code := parseWith(t, newCmdDevices, "--homey abc --json"); code != exitOK || got != (devicesOptions{homey: "abc", asJSON: true}) {
		t.Errorf("devices: %+v, %d", got, code)
	}
	if got, code := parseWith(t, newCmdLogin, "--no-browser"); code != exitOK || got != (loginOptions{noBrowser: true}) {
		t.Errorf("login: %+v, %d", got, code)
	}
	if got, code := parseWith(t, newCmdLogin, "--pat"); code != exitOK || got != (loginOptions{pat: true}) {
		t.Errorf("login --pat: %+v, %d", got, code)
	}
	if got, code := parseWith(t, newCmdSetup, "--client-id abc"); code != exitOK || got != (setupOptions{clientID: "abc", redirectURI: defaultRedirectURI}) {
		t.Errorf("setup: %+v, %d", got, code)
	}
	if _, code := parseWith(t, newCmdSetup, "--client-secret x"); code != exitUsage {
		t.Errorf("setup --client-secret: exit %d, want 2 (the secret is never a flag)", code)
	}
	if got, code := parseWith(t, newCmdDiscover, "--timeout 5s --json"); code != exitOK || got != (discoverOptions{timeout: 5 * time.Second, asJSON: true}) {
		t.Errorf("discover: %+v, %d", got, code)
	}
	if _, code := parseWith(t, newCmdDiscover, "--timeout soon"); code != exitUsage {
		t.Errorf("discover --timeout soon: exit %d, want 2", code)
	}
	if got, code := parseWith(t, newCmdLocalAdd, "Kitchen --name K"); code != exitOK || got != (localAddOptions{discovered: "Kitchen", name: "K"}) {
		t.Errorf("local add: %+v, %d", got, code)
	}
	if _, code := parseWith(t, newCmdLocalAdd, "a b"); code != exitUsage {
		t.Errorf("local add a b: exit %d, want 2", code)
	}
	if got, code := parseWith(t, newCmdUse, "Kitchen"); code != exitOK || got != "Kitchen" {
		t.Errorf("use: %q, %d", got, code)
	}
	if _, code := parseWith(t, newCmdUse, ""); code != exitUsage {
		t.Errorf("use with no name: exit %d, want 2", code)
	}
	if got, code := parseWith(t, newCmdAutostart, "status"); code != exitOK || got != "status" {
		t.Errorf("autostart: %q, %d", got, code)
	}
	if _, code := parseWith(t, newCmdAutostart, "maybe"); code != exitUsage {
		t.Errorf("autostart maybe: exit %d, want 2", code)
	}
}

// user is one in-process user of the command line: its own config, cache and runtime folders,
// the insecure file store (no keychain needed), and an emulator.
type user struct {
	t   *testing.T
	srv *emulator.Server
	env map[string]string
}

func newUser(t *testing.T) *user {
	port, err := testport.Free()
	if err != nil {
		t.Fatal(err)
	}
	srv := emulator.NewServer(t, emulator.Options{RedirectURI: fmt.Sprintf("http://localhost:%d/callback", port)})
	dir := t.TempDir()
	// os.UserConfigDir and os.UserCacheDir read the process environment: these tests are not parallel.
	t.Setenv("XDG_CONFIG_HOME", dir+"/config")
	t.Setenv("XDG_CACHE_HOME", dir+"/cache")
	t.Setenv("XDG_RUNTIME_DIR", dir) // no tray answers here
	return &user{t: t, srv: srv, env: map[string]string{
		"ATHOM_CLOUD_API_BASEURL": srv.URL(),
		"HOMEYTRAY_CLIENT_ID":     srv.ClientID(),
		"HOMEYTRAY_REDIRECT_URI":  srv.RedirectURI(),
		"HOMEYTRAY_PROFILE":       "cmdtest",
	}}
}

// factory is the factory of one run of the command line in u's environment.
func (u *user) factory(s Streams) *Factory {
	u.t.Helper()
	f, err := factoryFor(s, Version{Version: "test"}, func(k string) string { return u.env[k] })
	if err != nil {
		u.t.Fatal(err)
	}
	return f
}

// run runs one command line in this process and returns stdout, stderr and the exit code.
func (u *user) run(stdin string, argv ...string) (string, string, int) {
	u.t.Helper()
	var out, errOut bytes.Buffer
	f := u.factory(Streams{In: strings.NewReader(stdin), Out: &out, Err: &errOut})
	argv = append([]string{"--insecure-file-store"}, argv...) // no keychain needed here
	// The browser: follow the authorise redirect to the loopback listener, as a browser would.
	f.Browser = func(url string) error {
		go func() {
			if resp, err := http.Get(url); err == nil {
				resp.Body.Close()
			}
		}()
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := f.run(ctx, argv)
	return out.String(), errOut.String(), code
}

// TestCommandsInProcess runs the whole CLI, argv to output, against the emulator in this process.
func TestCommandsInProcess(t *testing.T) {
	u := newUser(t)
	if _, stderr, code := u.run("", "token"); code != exitAuth || !strings.Contains(stderr, "login") {
		t.Fatalf("token before login: exit %d, %q", code, stderr)
	}
	// A machine whose browser is elsewhere cannot reach the setup page: one line naming setup.
	if _, stderr, code := u.run("", "login", "--no-browser"); code != exitError || !strings.Contains(stderr, "setup --client-id") ||
		strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("login --no-browser with no client: exit %d, %q; want 1 and one line naming setup", code, stderr)
	}
	if out, stderr, code := u.run(u.srv.ClientSecret()+"\n", "setup", "--client-id", u.srv.ClientID(),
		"--redirect-uri", u.srv.RedirectURI()); code != exitOK || !strings.Contains(out, "login") {
		t.Fatalf("setup: exit %d, %q %q", code, out, stderr)
	}
	out, stderr, code := u.run("", "login")
	if code != exitOK || !strings.Contains(out, "Signed in as") {
		t.Fatalf("login: exit %d, %q %q", code, out, stderr)
	}
	out, _, code = u.run("", "token", "--format", "json")
	var tok struct {
		Token, HomeyID, BaseURL string
	}
	if err := json.Unmarshal([]byte(out), &struct {
		Token   *string `json:"token"`
		HomeyID *string `json:"homey_id"`
		BaseURL *string `json:"base_url"`
	}{&tok.Token, &tok.HomeyID, &tok.BaseURL}); err != nil || code != exitOK || tok.Token == "" || tok.HomeyID == "" {
		t.Fatalf("token --format json: exit %d, %v", code, err)
	}
	if out, _, code := u.run("", "token", "--format", "header"); code != exitOK || out != "Authorization: Bearer "+tok.Token+"\n" {
		t.Errorf("token --format header: exit %d, wrong output", code)
	}
	if out, _, code := u.run("", "token"); code != exitOK || out != tok.Token+"\n" {
		t.Errorf("token: exit %d, not the same bearer", code)
	}
	out, _, code = u.run("", "devices", "--json")
	var devices map[string]any
	if err := json.Unmarshal([]byte(out), &devices); err != nil || code != exitOK || len(devices) == 0 {
		t.Errorf("devices --json: exit %d, %d devices, %v", code, len(devices), err)
	}
	out, _, code = u.run("", "status", "--json")
	var st map[string]any
	if err := json.Unmarshal([]byte(out), &st); err != nil || code != exitOK || st["signed_in"] != true {
		t.Errorf("status --json: exit %d, %v, %v", code, st["signed_in"], err)
	}
	if _, stderr, code := u.run("", "token", "--cloud", "--homey", "x"); code != exitUsage || !strings.Contains(stderr, "exclude each other") {
		t.Errorf("token --cloud --homey: exit %d, %q", code, stderr)
	}
	if _, stderr, code := u.run("", "token", "--format", "yaml"); code != exitUsage || !strings.Contains(stderr, "--format must be one of") {
		t.Errorf("token --format yaml: exit %d, %q", code, stderr)
	}
	if out, _, code := u.run("", "token", "-h"); code != exitOK || !strings.Contains(out, "--format") || !strings.Contains(out, "curl") {
		t.Errorf("token -h: exit %d, %q", code, out)
	}
	for _, leak := range []string{tok.Token, u.srv.ClientSecret()} {
		for _, argv := range [][]string{{"status"}, {"homeys"}, {"devices"}, {"token", "-h"}} {
			out, stderr, _ := u.run("", argv...)
			if strings.Contains(out+stderr, leak) {
				t.Errorf("%v prints a secret", argv)
			}
		}
	}
	if out, _, code := u.run("", "logout"); code != exitOK || !strings.Contains(out, "Signed out") {
		t.Errorf("logout: exit %d, %q", code, out)
	}
	if _, _, code := u.run("", "token"); code != exitAuth {
		t.Errorf("token after logout: exit %d, want 4", code)
	}
}

func TestHelpVersionAndCompletion(t *testing.T) {
	u := newUser(t)
	for _, c := range []struct {
		argv []string
		code int
		want []string
	}{
		{[]string{"help"}, exitOK, []string{"token", "devices", "local", "completion", "Exit codes"}},
		{[]string{"--help"}, exitOK, []string{"Usage:"}},
		{[]string{"help", "token"}, exitOK, []string{"--format", "--homey", "--cloud"}},
		{[]string{"local", "add", "-h"}, exitOK, []string{"--address", "--name"}},
		{[]string{"demo", "emulator", "-h"}, exitOK, []string{"--addr", "--refresh-grace"}},
		{[]string{"--version"}, exitOK, []string{"homeytray test"}},
		{[]string{"completion", "bash"}, exitOK, []string{"__start_homeytray"}},
		{[]string{"completion", "zsh"}, exitOK, []string{"#compdef homeytray"}},
		{[]string{"completion", "fish"}, exitOK, []string{"complete -c homeytray"}},
		{[]string{"completion", "powershell"}, exitOK, []string{"Register-ArgumentCompleter"}},
		{[]string{"__complete", "token", "--format", ""}, exitOK, []string{"raw\n", "header\n", "json\n", "env\n", "curl\n"}},
		{[]string{"__complete", "to"}, exitOK, []string{"token"}},
	} {
		out, stderr, code := u.run("", c.argv...)
		if code != c.code {
			t.Errorf("%v: exit %d, want %d (%s)", c.argv, code, c.code, stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q", c.argv, w)
			}
		}
	}
	for _, argv := range [][]string{{"bogus"}, {"token", "--bogus"}, {"--bogus"}, {"help", "bogus"}, {"use"}, {"local", "frob"}} {
		if _, stderr, code := u.run("", argv...); code != exitUsage || strings.Count(strings.TrimSpace(stderr), "\n") > 1 {
			t.Errorf("%v: exit %d, %q; want exit 2 and at most two lines", argv, code, stderr)
		}
	}
}

// Help is generated from the flags: each needs its own usage text.
func TestEveryFlagHasHelp(t *testing.T) {
	root := newRootCmd(quietFactory(strings.NewReader("")), "")
	var names []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if f.Usage == "" {
				names = append(names, c.CommandPath()+" --"+f.Name)
			}
		})
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	if len(names) > 0 {
		t.Errorf("flags without a usage text: %v", names)
	}
}

// quietFactory is a factory with stdin and no outputs, in an empty environment.
func quietFactory(stdin io.Reader) *Factory {
	return newFactory(Streams{In: stdin, Out: io.Discard, Err: io.Discard}, Version{}, func(string) string { return "" }, profile{})
}
