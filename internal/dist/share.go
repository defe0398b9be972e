package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/homeytray/homeytray/cli"
)

// file is one file of the packages besides the binary: where it is staged and where it goes.
type file struct {
	src, dst string
	mode     os.FileMode
	packager string // "deb" or "rpm" for a file of one format only; "" = both
}

// Inputs from the repository (run from its root).
const (
	desktopFile = "build/linux/homeytray.desktop"
	serviceFile = "build/linux/homeytray.service"
	overrides   = "build/linux/lintian-overrides"
	licenseFile = "LICENSE"
	readmeFile  = "README.md"
	docDir      = "/usr/share/doc/homeytray"
)

// stageShare writes into dir what the packages hold besides the binary and lists it: the
// desktop entry, the icons, the man pages (gzip -9n), the shell completions, the systemd user
// unit, and the documents each format wants (Debian: copyright, changelog.gz and the lintian
// override of the static binary; RPM: the license and the README).
func stageShare(o options, dir string) ([]file, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	fs := []file{
		{src: desktopFile, dst: "/usr/share/applications/homeytray.desktop", mode: 0o644},
		{src: serviceFile, dst: "/usr/lib/systemd/user/homeytray.service", mode: 0o644},
		{src: overrides, dst: "/usr/share/lintian/overrides/homeytray", mode: 0o644, packager: "deb"},
		{src: licenseFile, dst: "/usr/share/licenses/homeytray/LICENSE", mode: 0o644, packager: "rpm"},
		{src: readmeFile, dst: docDir + "/README.md", mode: 0o644, packager: "rpm"},
	}
	icons, err := stageIcons(filepath.Join(dir, "icons"))
	if err != nil {
		return nil, err
	}
	man, err := stageMan(o.man, filepath.Join(dir, "man"))
	if err != nil {
		return nil, err
	}
	comp, err := stageCompletions(o.version, filepath.Join(dir, "completions"))
	if err != nil {
		return nil, err
	}
	docs, err := stageDebianDocs(o, filepath.Join(dir, "doc"))
	if err != nil {
		return nil, err
	}
	return append(append(append(append(fs, icons...), man...), comp...), docs...), nil
}

// stageMan gzips every page of src (gzip -9n: no name, no time, so the same page gives the
// same bytes) for /usr/share/man/man1.
func stageMan(src, dir string) ([]file, error) {
	pages, err := filepath.Glob(filepath.Join(src, "*.1"))
	if err != nil {
		return nil, err
	}
	if len(pages) == 0 {
		return nil, fmt.Errorf("no man pages in %s (go run ./internal/mangen %s VERSION)", src, src)
	}
	sort.Strings(pages)
	var fs []file
	for _, p := range pages {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		name := filepath.Base(p) + ".gz"
		if err := writeGzip(filepath.Join(dir, name), data); err != nil {
			return nil, err
		}
		fs = append(fs, file{src: filepath.Join(dir, name), dst: "/usr/share/man/man1/" + name, mode: 0o644})
	}
	return fs, nil
}

// stageCompletions writes what `homeytray completion bash|zsh|fish` prints (the same command
// tree, with descriptions) where each shell looks for a package's completions.
func stageCompletions(version, dir string) ([]file, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	root := cli.NewCommand(cli.Version{Version: version})
	var fs []file
	for _, c := range []struct {
		shell, dst string
		gen        func(*bytes.Buffer) error
	}{
		{"bash", "/usr/share/bash-completion/completions/homeytray", func(b *bytes.Buffer) error { return root.GenBashCompletionV2(b, true) }},
		{"zsh", "/usr/share/zsh/vendor-completions/_homeytray", func(b *bytes.Buffer) error { return root.GenZshCompletion(b) }},
		{"fish", "/usr/share/fish/vendor_completions.d/homeytray.fish", func(b *bytes.Buffer) error { return root.GenFishCompletion(b, true) }},
	} {
		var b bytes.Buffer
		if err := c.gen(&b); err != nil {
			return nil, fmt.Errorf("%s completion: %w", c.shell, err)
		}
		src := filepath.Join(dir, c.shell)
		if err := os.WriteFile(src, b.Bytes(), 0o644); err != nil {
			return nil, err
		}
		fs = append(fs, file{src: src, dst: c.dst, mode: 0o644})
	}
	return fs, nil
}

// writeGzip writes data gzipped as gzip -9n does.
func writeGzip(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var b bytes.Buffer
	w, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// indent is s as the continuation lines of a Debian control-style field: each line after a
// space, an empty line as " .".
func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l = strings.TrimRight(l, " \t"); l == "" {
			l = "."
		}
		b.WriteString(" " + l + "\n")
	}
	return b.String()
}
