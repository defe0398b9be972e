//go:build !windows

package e2e

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// stopBrowsers ends the headless Chromiums that .ci/browser started (each in a process group of
// its own), so they do not pile up over the run.
func stopBrowsers() {
	pidfile := os.Getenv("CHROMIUM_PIDFILE")
	b, err := os.ReadFile(pidfile)
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
			_ = syscall.Kill(-pid, syscall.SIGTERM)
		}
	}
	_ = os.WriteFile(pidfile, nil, 0o600)
}
