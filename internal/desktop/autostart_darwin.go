package desktop

import (
	"fmt"
	"os"
	"path/filepath"
)

// newAutostart is the LaunchAgent ~/Library/LaunchAgents/<label>.plist (RunAtLoad): launchd
// reads the folder at login. Turning it off removes the file; a running tray is not stopped.
func newAutostart(appName, exe string, args []string) (Autostart, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return nil, fmt.Errorf("start at login: %w", err)
	}
	label := launchAgentPrefix + appName
	content, err := launchAgentPlist(label, exe, args)
	if err != nil {
		return nil, err
	}
	return &fileAutostart{
		path:    filepath.Join(home, "Library", "LaunchAgents", label+".plist"),
		content: content,
	}, nil
}
