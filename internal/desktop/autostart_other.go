//go:build !linux && !darwin && !windows

package desktop

func newAutostart(string, string, []string) (Autostart, error) {
	return nil, ErrAutostartUnsupported
}
