package desktop

import (
	"encoding/xml"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Arguments that exercise every quoting rule of the three formats.
var awkwardArgs = []string{
	"tray", "", "two words", `say "hi"`, `$HOME`, "`id`", `back\slash`, `trailing\`,
	`\\"both`, "50%", "%f", "a=b;c|d&e", "<xml> & 'quotes'", "~user", "*?#()", "ünïcødé",
}

func TestDesktopExec(t *testing.T) {
	for _, tc := range []struct {
		exe  string
		args []string
		want string
	}{
		{"/usr/bin/homeytray", nil, `/usr/bin/homeytray`},
		{"/opt/my apps/homeytray", []string{"tray"}, `"/opt/my apps/homeytray" tray`},
		{"/a", []string{"50%"}, `/a 50%%`},
		{"/a", []string{`a"b`}, `/a "a\\"b"`},
		{"/a", []string{"$HOME"}, `/a "\\$HOME"`},
		{"/a", []string{`back\slash`}, `/a "back\\\\slash"`},
		{"/a", []string{""}, `/a ""`},
		{"/a", []string{"--x=1", "50% off"}, `/a --x=1 "50%% off"`},
	} {
		got, err := desktopExec(tc.exe, tc.args)
		if err != nil || got != tc.want {
			t.Errorf("desktopExec(%q, %q) = %s, %v; want %s", tc.exe, tc.args, got, err, tc.want)
		}
	}
	for _, bad := range []string{"new\nline", "tab\there", "nul\x00"} {
		if _, err := desktopExec("/a", []string{bad}); !errors.Is(err, errAutostartArg) {
			t.Errorf("desktopExec(%q): %v; want errAutostartArg", bad, err)
		}
	}
	exe := "/opt/my $apps/home\\tray"
	got, err := desktopExec(exe, awkwardArgs)
	if err != nil {
		t.Fatal(err)
	}
	if argv := parseDesktopExec(t, got); !reflect.DeepEqual(argv, append([]string{exe}, awkwardArgs...)) {
		t.Errorf("Exec=%s reads back as %q", got, argv)
	}
}

// parseDesktopExec reads an Exec value as the Desktop Entry spec says: string escapes first,
// then quoting, then %% (an independent reading of the rules desktopExec follows).
func parseDesktopExec(t *testing.T, v string) []string {
	t.Helper()
	var s strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '\\' {
			s.WriteByte(v[i])
			continue
		}
		i++
		switch v[i] {
		case 's':
			s.WriteByte(' ')
		case 'n':
			s.WriteByte('\n')
		case 't':
			s.WriteByte('\t')
		case 'r':
			s.WriteByte('\r')
		case '\\':
			s.WriteByte('\\')
		default:
			t.Fatalf("invalid string escape \\%c in %s", v[i], v)
		}
	}
	var argv []string
	var arg strings.Builder
	in, quoted := false, false
	u := s.String()
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch {
		case quoted && c == '\\':
			i++
			if !strings.ContainsRune("\"`$\\", rune(u[i])) {
				t.Fatalf("invalid quoted escape \\%c in %s", u[i], u)
			}
			arg.WriteByte(u[i])
		case c == '"':
			quoted, in = !quoted, true
		case c == ' ' && !quoted:
			if in {
				argv = append(argv, arg.String())
				arg.Reset()
			}
			in = false
		case c == '%':
			i++
			if u[i] != '%' {
				t.Fatalf("field code %%%c in %s", u[i], u)
			}
			arg.WriteByte('%')
			in = true
		default:
			arg.WriteByte(c)
			in = true
		}
	}
	if in {
		argv = append(argv, arg.String())
	}
	return argv
}

func TestDesktopEntryDisabled(t *testing.T) {
	entry, err := desktopEntry("homeytray", "/usr/bin/homeytray", nil)
	if err != nil {
		t.Fatal(err)
	}
	if desktopEntryDisabled(entry) {
		t.Error("a fresh entry reads as disabled")
	}
	for _, off := range []string{"Hidden=true", "X-GNOME-Autostart-enabled=false"} {
		if !desktopEntryDisabled(append(entry, off+"\n"...)) {
			t.Errorf("an entry with %s reads as enabled", off)
		}
	}
}

func TestLaunchAgentPlist(t *testing.T) {
	exe := "/Applications/Homey Tray.app/Contents/MacOS/homeytray"
	b, err := launchAgentPlist(launchAgentPrefix+"homeytray", exe, awkwardArgs)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		XMLName xml.Name `xml:"plist"`
		Dict    struct {
			Keys    []string   `xml:"key"`
			Strings []string   `xml:"string"`
			Array   []string   `xml:"array>string"`
			True    []struct{} `xml:"true"`
		} `xml:"dict"`
	}
	if err := xml.Unmarshal(b, &p); err != nil {
		t.Fatalf("not XML: %v\n%s", err, b)
	}
	d := p.Dict
	if want := []string{"Label", "ProgramArguments", "RunAtLoad", "ProcessType"}; !reflect.DeepEqual(d.Keys, want) {
		t.Errorf("keys %q; want %q", d.Keys, want)
	}
	if want := []string{"io.github.homeytray.homeytray", "Interactive"}; !reflect.DeepEqual(d.Strings, want) {
		t.Errorf("strings %q; want %q", d.Strings, want)
	}
	if want := append([]string{exe}, awkwardArgs...); !reflect.DeepEqual(d.Array, want) {
		t.Errorf("ProgramArguments %q; want %q", d.Array, want)
	}
	if len(d.True) != 1 {
		t.Errorf("RunAtLoad is not <true/>:\n%s", b)
	}
	if _, err := launchAgentPlist("x", "/a", []string{"bell\a"}); !errors.Is(err, errAutostartArg) {
		t.Errorf("control character: %v; want errAutostartArg", err)
	}
}

func TestWindowsCommandLine(t *testing.T) {
	exe := `C:\Program Files\homeytray\homeytray.exe`
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, `"C:\Program Files\homeytray\homeytray.exe"`},
		{[]string{"tray"}, `"C:\Program Files\homeytray\homeytray.exe" tray`},
		// The outputs of syscall.EscapeArg on Windows:
		{[]string{"", "a b", `a"b`, `a\b`, `a\"b`, `a b\`, `a\\ b`}, `"C:\Program Files\homeytray\homeytray.exe" "" "a b" a\"b a\b a\\\"b "a b\\" "a\\ b"`},
	} {
		if got := windowsCommandLine(exe, tc.args); got != tc.want {
			t.Errorf("windowsCommandLine(%q) =\n  %s\nwant\n  %s", tc.args, got, tc.want)
		}
	}
	got := windowsCommandLine(exe, awkwardArgs)
	if argv := parseWindowsCommandLine(got); !reflect.DeepEqual(argv, append([]string{exe}, awkwardArgs...)) {
		t.Errorf("%s reads back as %q", got, argv)
	}
}

// parseWindowsCommandLine splits like CommandLineToArgvW: 2n backslashes before a quote are n
// and the quote toggles quoting; 2n+1 are n and a literal quote; other backslashes are literal.
func parseWindowsCommandLine(s string) []string {
	var argv []string
	var arg strings.Builder
	in, quoted := false, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			n := 0
			for i < len(s) && s[i] == '\\' {
				n, i = n+1, i+1
			}
			if i < len(s) && s[i] == '"' {
				arg.WriteString(strings.Repeat(`\`, n/2))
				if n%2 == 1 {
					arg.WriteByte('"')
				} else {
					quoted = !quoted
				}
			} else {
				arg.WriteString(strings.Repeat(`\`, n))
				i--
			}
			in = true
		case c == '"':
			quoted, in = !quoted, true
		case (c == ' ' || c == '\t') && !quoted:
			if in {
				argv = append(argv, arg.String())
				arg.Reset()
			}
			in = false
		default:
			arg.WriteByte(c)
			in = true
		}
	}
	if in {
		argv = append(argv, arg.String())
	}
	return argv
}

func TestStartupApproved(t *testing.T) {
	for _, tc := range []struct {
		data []byte
		want bool
	}{
		{nil, true},
		{[]byte{2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, true},
		{[]byte{6, 0, 0, 0}, true},
		{[]byte{3, 0, 0, 0, 0x10, 0x20, 0x30, 0x40, 1, 2, 3, 4}, false},
		{[]byte{7, 0, 0, 0}, false},
	} {
		if got := startupApproved(tc.data); got != tc.want {
			t.Errorf("startupApproved(% x) = %v; want %v", tc.data, got, tc.want)
		}
	}
}

func TestNewAutostartRefuses(t *testing.T) {
	for _, tc := range []struct{ app, exe string }{
		{"homeytray", "homeytray"},
		{"homeytray", "./bin/homeytray"},
		{"", "/usr/bin/homeytray"},
		{"../evil", "/usr/bin/homeytray"},
		{"a/b", "/usr/bin/homeytray"},
	} {
		if a, err := NewAutostart(tc.app, tc.exe, nil); err == nil || a != nil {
			t.Errorf("NewAutostart(%q, %q) = %v, %v; want an error", tc.app, tc.exe, a, err)
		}
	}
}
