// Command dist builds homeytray's release files into one folder (`make dist`): per target the
// binary with version, commit and date, a .tar.gz (Linux) or .zip (Windows) with README.md and
// LICENSE, .deb and .rpm packages for Linux (made with nfpm, a library: nothing to download),
// and SHA256SUMS over all of them. It runs from the repository root; nfpm is linked into this
// program only, never into homeytray.
//
//	go run ./internal/dist -out dist -man MANDIR -version V -date RFC3339 -ldflags '...'
//
// MANDIR holds the man pages of internal/mangen (the Makefile writes them first).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

func main() {
	var o options
	flag.StringVar(&o.out, "out", "dist", "output folder (the Makefile empties it first)")
	flag.StringVar(&o.man, "man", "", "folder of the man pages (*.1) from internal/mangen")
	flag.StringVar(&o.version, "version", "dev", "the version (git describe)")
	flag.StringVar(&o.ldflags, "ldflags", "", "go build -ldflags (version, commit and date set)")
	date := flag.String("date", "", "build date, RFC 3339 (the files' time in archives and packages)")
	flag.Parse()
	if o.man == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	o.mtime = time.Now().UTC().Truncate(time.Second)
	if *date != "" {
		t, err := time.Parse(time.RFC3339, *date)
		if err != nil {
			fmt.Fprintln(os.Stderr, "dist: -date:", err)
			os.Exit(2)
		}
		o.mtime = t.UTC()
	}
	start := time.Now()
	files, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dist:", err)
		os.Exit(1)
	}
	for _, f := range files {
		fmt.Println(filepath.Join(o.out, f))
	}
	fmt.Fprintf(os.Stderr, "dist: %d files in %s (%.1fs)\n", len(files), o.out, time.Since(start).Seconds())
}

// options are the command line.
type options struct {
	out, man, version, ldflags string
	mtime                      time.Time
}

// run builds everything and returns the release files' names (in o.out), SHA256SUMS last.
func run(o options) ([]string, error) {
	stage := filepath.Join(o.out, ".stage")
	defer os.RemoveAll(stage)
	if err := buildAll(o, stage); err != nil {
		return nil, err
	}
	share, err := stageShare(o, filepath.Join(stage, "share"))
	if err != nil {
		return nil, err
	}
	files, err := packAll(o, stage, share)
	if err != nil {
		return nil, err
	}
	if err := writeSums(o.out, files); err != nil {
		return nil, err
	}
	return append(files, "SHA256SUMS"), nil
}
