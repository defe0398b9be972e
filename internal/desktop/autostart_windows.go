package desktop

import (
	"errors"
	"fmt"

	"golang.org/x/sys/windows/registry"
)

const (
	runKey = `Software\Microsoft\Windows\CurrentVersion\Run`
	// Task Manager's Startup tab disables a Run entry here instead of deleting it.
	approvedKey = `Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run`
)

// runEntry is the value <appName> of HKCU\...\Run, the command line Explorer starts at login.
type runEntry struct{ name, command string }

func newAutostart(appName, exe string, args []string) (Autostart, error) {
	return &runEntry{name: appName, command: windowsCommandLine(exe, args)}, nil
}

func (e *runEntry) Enabled() (bool, error) {
	k, err := registry.OpenKey(registry.CURRENT_USER, runKey, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read the start-at-login entry: %w", err)
	}
	defer k.Close()
	if _, _, err := k.GetStringValue(e.name); errors.Is(err, registry.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("read the start-at-login entry: %w", err)
	}
	return startupApproved(e.approval()), nil
}

// approval is the entry's StartupApproved value (nil when there is none or it cannot be read).
func (e *runEntry) approval() []byte {
	k, err := registry.OpenKey(registry.CURRENT_USER, approvedKey, registry.QUERY_VALUE)
	if err != nil {
		return nil
	}
	defer k.Close()
	b, _, _ := k.GetBinaryValue(e.name)
	return b
}

func (e *runEntry) SetEnabled(on bool) error {
	k, _, err := registry.CreateKey(registry.CURRENT_USER, runKey, registry.SET_VALUE)
	if err != nil {
		return fmt.Errorf("write the start-at-login entry: %w", err)
	}
	defer k.Close()
	if !on {
		if err := k.DeleteValue(e.name); err != nil && !errors.Is(err, registry.ErrNotExist) {
			return fmt.Errorf("remove the start-at-login entry: %w", err)
		}
		return nil
	}
	if err := k.SetStringValue(e.name, e.command); err != nil {
		return fmt.Errorf("write the start-at-login entry: %w", err)
	}
	// The user asked for it again: drop a "disabled" Task Manager left behind.
	if a, err := registry.OpenKey(registry.CURRENT_USER, approvedKey, registry.SET_VALUE); err == nil {
		a.DeleteValue(e.name)
		a.Close()
	}
	return nil
}
