//go:build !linux && !darwin && !windows

package tray

func newAutostart(string, string, []string) (Autostart, error) {
	return nil, ErrAutostartUnsupported
}
