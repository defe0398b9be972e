package desktop

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/homeytray/homeytray/internal/fsutil"
)

// Autostart is start-at-login: an XDG autostart entry on Linux, a LaunchAgent on macOS, the
// per-user Run registry key on Windows (docs/decisions.md#start-at-login). The menu's checkbox and
// `homeytray autostart on|off|status` use the same one.
type Autostart interface {
	Enabled() (bool, error)
	SetEnabled(on bool) error
}

// ErrAutostartUnsupported is returned by [NewAutostart] where start-at-login is not implemented.
var ErrAutostartUnsupported = errors.New("start at login is not supported on this system")

// launchAgentPrefix makes a LaunchAgent label (and the macOS bundle id) of an app name.
const launchAgentPrefix = "io.github.homeytray."

var errAutostartArg = errors.New("cannot be written into a start-at-login entry")

// NewAutostart returns the start-at-login entry named appName (the file name on Linux, the
// label on macOS, the registry value on Windows) that runs exe with args at login. exe is the
// absolute path of the running binary (os.Executable). It returns [ErrAutostartUnsupported]
// on systems other than Linux, macOS and Windows.
func NewAutostart(appName, exe string, args []string) (Autostart, error) {
	if appName == "" || strings.ContainsAny(appName, `/\:`) || appName != filepath.Base(appName) {
		return nil, fmt.Errorf("start at login: app name %q %w", appName, errAutostartArg)
	}
	if !filepath.IsAbs(exe) {
		return nil, fmt.Errorf("start at login: the program path %q is not absolute", exe)
	}
	return newAutostart(appName, exe, args)
}

// fileAutostart is an entry that exists as a file while it is enabled (Linux, macOS).
type fileAutostart struct {
	path     string
	content  []byte
	disabled func(content []byte) bool // the user turned the file off without removing it; may be nil
}

func (f *fileAutostart) Enabled() (bool, error) {
	b, err := os.ReadFile(f.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read the start-at-login entry: %w", err)
	}
	return f.disabled == nil || !f.disabled(b), nil
}

func (f *fileAutostart) SetEnabled(on bool) error {
	if !on {
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove the start-at-login entry: %w", err)
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
		return fmt.Errorf("write the start-at-login entry: %w", err)
	}
	if err := fsutil.WriteFileAtomic(f.path, f.content); err != nil {
		return fmt.Errorf("write the start-at-login entry: %w", err)
	}
	return nil
}

// desktopEntry is the XDG autostart file that runs exe with args.
func desktopEntry(appName, exe string, args []string) ([]byte, error) {
	cmd, err := desktopExec(exe, args)
	if err != nil {
		return nil, err
	}
	return []byte("[Desktop Entry]\n" +
		"Type=Application\n" +
		"Name=" + appName + "\n" +
		"Comment=Homey bearer tokens in the tray\n" +
		"Exec=" + cmd + "\n" +
		"Terminal=false\n" +
		"X-GNOME-Autostart-enabled=true\n"), nil
}

// desktopExec is the value of an Exec key that runs exe with args, quoted per the Desktop
// Entry spec ("The Exec key"): an argument with a reserved character is put in double quotes,
// with " ` $ \ escaped by a backslash inside them; % becomes %%; then, as for any string value,
// each backslash is doubled (so a quoted $ is \\$ and a quoted \ is four). Control characters
// have no spelling there and are refused.
func desktopExec(exe string, args []string) (string, error) {
	var b strings.Builder
	for i, a := range append([]string{exe}, args...) {
		if strings.ContainsFunc(a, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return "", fmt.Errorf("start at login: argument %q %w", a, errAutostartArg)
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		if a != "" && !strings.ContainsAny(a, " \"'\\><~|&;$*?#()`") {
			b.WriteString(strings.ReplaceAll(a, "%", "%%"))
			continue
		}
		b.WriteByte('"')
		for _, r := range a {
			switch r {
			case '"', '`', '$':
				b.WriteString(`\\`) // quoting's \, doubled by the string escape
			case '\\':
				b.WriteString(`\\\`) // quoting's \\, each \ doubled by the string escape
			case '%':
				b.WriteByte('%')
			}
			b.WriteRune(r)
		}
		b.WriteByte('"')
	}
	return b.String(), nil
}

// desktopEntryDisabled tells whether the user turned an autostart file off in place (GNOME's
// Startup Applications writes X-GNOME-Autostart-enabled=false; the spec's way is Hidden=true).
func desktopEntryDisabled(content []byte) bool {
	for line := range bytes.Lines(content) {
		switch string(bytes.TrimSpace(line)) {
		case "Hidden=true", "X-GNOME-Autostart-enabled=false":
			return true
		}
	}
	return false
}

// launchAgentPlist is the LaunchAgent that runs exe with args when the user logs in.
func launchAgentPlist(label, exe string, args []string) ([]byte, error) {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>` + xmlText(label) + `</string>
	<key>ProgramArguments</key>
	<array>
`)
	for _, a := range append([]string{exe}, args...) {
		if strings.ContainsFunc(a, func(r rune) bool { return r < 0x20 && r != '\t' && r != '\n' || r == 0xfffe || r == 0xffff }) {
			return nil, fmt.Errorf("start at login: argument %q %w", a, errAutostartArg)
		}
		b.WriteString("\t\t<string>" + xmlText(a) + "</string>\n")
	}
	b.WriteString(`	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>ProcessType</key>
	<string>Interactive</string>
</dict>
</plist>
`)
	return []byte(b.String()), nil
}

// xmlText escapes s for XML character data (no encoding/xml: nothing in it is needed).
func xmlText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// windowsCommandLine is the Run value that starts exe with args: exe in quotes (a path cannot
// contain one), each argument escaped as syscall.EscapeArg does (which exists only on Windows),
// so that CommandLineToArgvW and the Go runtime split the line back into the same arguments.
func windowsCommandLine(exe string, args []string) string {
	var b strings.Builder
	b.WriteString(`"` + exe + `"`)
	for _, a := range args {
		b.WriteByte(' ')
		writeWindowsArg(&b, a)
	}
	return b.String()
}

func writeWindowsArg(b *strings.Builder, a string) {
	space := a == "" || strings.ContainsAny(a, " \t")
	if space {
		b.WriteByte('"')
	}
	slashes := 0
	for i := 0; i < len(a); i++ {
		switch a[i] {
		case '\\':
			slashes++
		case '"':
			b.WriteString(strings.Repeat(`\`, slashes+1)) // double the run, escape the quote
			slashes = 0
		default:
			slashes = 0
		}
		b.WriteByte(a[i])
	}
	if space {
		b.WriteString(strings.Repeat(`\`, slashes)) // a run before the closing quote is doubled
		b.WriteByte('"')
	}
}

// startupApproved reads a value of Explorer's StartupApproved\Run key, where Task Manager's
// "Disable" records itself: the first byte is even (2, 6) when enabled, odd (3, 7) when the
// user disabled the entry. No value means enabled.
func startupApproved(data []byte) bool {
	return len(data) == 0 || data[0]&1 == 0
}
