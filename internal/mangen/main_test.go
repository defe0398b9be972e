package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/homeytray/homeytray/cli"
)

// Every command gets a page, and every flag of a command is on its page.
func TestWriteCoversEveryCommandAndFlag(t *testing.T) {
	dir := t.TempDir()
	if err := write(dir, "1.2.3"); err != nil {
		t.Fatal(err)
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if !c.IsAvailableCommand() && c.HasParent() {
			return
		}
		name := strings.ReplaceAll(c.CommandPath(), " ", "-") + ".1"
		page, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("no page for %q: %v", c.CommandPath(), err)
			return
		}
		text := strings.ReplaceAll(string(page), `\-`, "-")
		c.NonInheritedFlags().VisitAll(func(f *pflag.Flag) {
			if !strings.Contains(text, "--"+f.Name) {
				t.Errorf("%s does not mention --%s", name, f.Name)
			}
		})
		if !strings.Contains(text, "homeytray 1.2.3") {
			t.Errorf("%s does not name the version", name)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	root := cli.NewCommand(cli.Version{Version: "1.2.3"})
	walk(root)
	for _, want := range []string{"homeytray.1", "homeytray-token.1", "homeytray-local-add.1", "homeytray-demo-emulator.1", "homeytray-watch.1"} {
		if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
			t.Errorf("missing %s", want)
		}
	}
}
