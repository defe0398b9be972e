package emulator

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestDeps keeps test code out of the shipped binary, which links this emulator for `demo`:
// neither the homeytray main package (for each target OS) nor this package may depend on
// testing or on internal/officialjs, and this package may not run programs (os/exec: npm, node).
func TestDeps(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go not found: %v", err)
	}
	const officialjs = "github.com/homeytray/homeytray/internal/officialjs"
	for _, c := range []struct {
		goos, pkg string
		banned    []string
	}{
		{"linux", "github.com/homeytray/homeytray", []string{"testing", officialjs}},
		{"windows", "github.com/homeytray/homeytray", []string{"testing", officialjs}},
		{"darwin", "github.com/homeytray/homeytray", []string{"testing", officialjs}},
		{"", "github.com/homeytray/homeytray/homey/emulator", []string{"testing", officialjs, "os/exec"}},
	} {
		cmd := exec.Command(goTool, "list", "-deps", c.pkg)
		if c.goos != "" {
			cmd.Env = append(cmd.Environ(), "GOOS="+c.goos)
		}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("GOOS=%s go list -deps %s: %v\n%s", c.goos, c.pkg, err, stderrOf(err))
		}
		deps := strings.Fields(string(out))
		for _, b := range c.banned {
			if slices.Contains(deps, b) {
				t.Errorf("GOOS=%s %s depends on %s", c.goos, c.pkg, b)
			}
		}
	}
}

// stderrOf is what a failed command wrote on stderr.
func stderrOf(err error) []byte {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.Stderr
	}
	return nil
}
