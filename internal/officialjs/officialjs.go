// Package officialjs installs and finds Athom's official JS client (npm homey-api) so that tests
// can run it against the emulator of homey/emulator: the conformance test of the emulator and the
// official-client comparison benchmark of e2e. It installs other npm packages that tests run
// under node the same way (the reference Socket.IO 2 server of the realtime tests).
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
	return Package(tb, "homey-api", Version)
}

// Package is Install for another npm package: name@version (an exact version) is installed
// once into its own folder of the same cache, e.g. the reference Socket.IO 2 server that the
// realtime client is tested against.
func Package(tb testing.TB, name, version string) (node, dir string) {
	tb.Helper()
	node, errNode := exec.LookPath("node")
	npm, errNpm := exec.LookPath("npm")
	if errNode != nil || errNpm != nil {
		unavailable(tb, "node and npm are needed to run %s: install Node.js 20+ with npm", name)
	}
	base := os.Getenv("HOMEYTRAY_NPM_CACHE")
	if base == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		base = filepath.Join(cache, "homeytray-conformance")
	}
	dir = filepath.Join(base, name+"@"+version)
	if installedVersion(dir, name) == version {
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
	cmd := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--loglevel=error", name+"@"+version)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		unavailable(tb, "npm install %s@%s: %v\n%s", name, version, err, out)
	}
	tb.Logf("npm install %s@%s: %v", name, version, time.Since(start).Round(time.Millisecond))
	if err := os.Rename(tmp, dir); err != nil && installedVersion(dir, name) != version {
		tb.Fatalf("move the npm install into place: %v", err)
	}
	return node, dir
}

// installedVersion is the version of the package name installed under dir, or "".
func installedVersion(dir, name string) string {
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", name, "package.json"))
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
