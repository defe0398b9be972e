package e2e

// stopBrowsers has nothing to stop on Windows: the headless-Chromium harness (.ci/desktop.sh)
// runs on Linux only.
func stopBrowsers() {}
