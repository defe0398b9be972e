// Package officialjs installs and finds Athom's official JS client (npm homey-api) so that tests
// can run it against the emulator of homey/emulator: the conformance test of emulator and the
// official-client comparison benchmark of e2e.
//
// It is for tests only: it imports testing and runs npm. Production code must never import it
// (homey/emulator's deps test fails if the homeytray binary links it).
package officialjs

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Version is the version of Athom's official JS client (npm homey-api) that the conformance
// test and the benchmark run against the emulator.
const Version = "3.20.0"

// Install finds node and installs homey-api@Version once into a cache folder
// ($HOMEYTRAY_NPM_CACHE, else the user cache folder), returning node's path and the folder that
// holds node_modules. Without node or npm it skips loudly, and under CI=true it fails.
func Install(tb testing.TB) (node, dir string) {
	tb.Helper()
	node, errNode := exec.LookPath("node")
	npm, errNpm := exec.LookPath("npm")
	if errNode != nil || errNpm != nil {
		unavailable(tb, "node and npm are needed to run Athom's official client: install Node.js 20+ with npm")
	}
	base := os.Getenv("HOMEYTRAY_NPM_CACHE")
	if base == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		base = filepath.Join(cache, "homeytray-conformance")
	}
	dir = filepath.Join(base, "homey-api@"+Version)
	if installedVersion(dir) == Version {
		return node, dir
	}
	tmp := fmt.Sprintf("%s.tmp-%d", dir, os.Getpid())
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		tb.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	if err := os.WriteFile(filepath.Join(tmp, "package.json"), []byte(`{"private":true}`+"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "homey-api@"+Version)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		unavailable(tb, "npm install homey-api@%s: %v\n%s", Version, err, out)
	}
	tb.Logf("npm install homey-api@%s: %v", Version, time.Since(start).Round(time.Millisecond))
	if err := os.Rename(tmp, dir); err != nil && installedVersion(dir) != Version {
		tb.Fatalf("move the npm install into place: %v", err)
	}
	return node, dir
}

// installedVersion is the version of the homey-api installed under dir, or "".
func installedVersion(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", "homey-api", "package.json"))
	if err != nil {
		return ""
	}
	var pkg struct{ Version string }
	_ = json.Unmarshal(b, &pkg)
	return pkg.Version
}

// unavailable skips tb with a loud message, or fails it under CI=true.
func unavailable(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf(format, args...)
	}
	tb.Skipf("SKIPPED: "+format, args...)
}
