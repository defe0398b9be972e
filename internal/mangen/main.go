// Command mangen writes homeytray's man pages, one per command, from the command tree itself
// (`make man`: docs/man/*.1), so that they cannot drift from the flags.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra/doc"

	"github.com/homeytray/homeytray/cli"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: mangen DIR VERSION")
		os.Exit(2)
	}
	if err := write(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "mangen:", err)
		os.Exit(1)
	}
}

// write generates the pages of every command into dir.
func write(dir, version string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root := cli.NewCommand(cli.Version{Version: version})
	root.DisableAutoGenTag = true // no date in the pages: the same tree gives the same files
	header := &doc.GenManHeader{Title: "HOMEYTRAY", Section: "1", Source: "homeytray " + version, Manual: "homeytray manual"}
	return doc.GenManTree(root, header, dir)
}
