package desktop

import (
	"fmt"
	"os"
	"path/filepath"
)

// newAutostart is the XDG autostart entry $XDG_CONFIG_HOME/autostart/<appName>.desktop
// (default ~/.config/autostart; os.UserConfigDir applies the XDG rules).
func newAutostart(appName, exe string, args []string) (Autostart, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return nil, fmt.Errorf("start at login: %w", err)
	}
	content, err := desktopEntry(appName, exe, args)
	if err != nil {
		return nil, err
	}
	return &fileAutostart{
		path:     filepath.Join(dir, "autostart", appName+".desktop"),
		content:  content,
		disabled: desktopEntryDisabled,
	}, nil
}
