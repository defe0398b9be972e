package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// The packages' metadata.
const (
	pkgName    = "homeytray"
	maintainer = "homeytray developers <homeytray@users.noreply.github.com>"
	homepage   = "https://github.com/homeytray/homeytray"
	synopsis   = "fresh Homey (Athom) API bearer tokens: tray app and command line"
	longDesc   = `homeytray signs you in to your Athom account once through the browser,
keeps the long-lived secret in the OS keychain and hands out fresh Homey
bearer tokens: in the tray menu, on the command line (homeytray token) and
to scripts. "homeytray serve" (the systemd user unit homeytray.service) does
the same without a tray icon, for a Raspberry Pi or a server.`
)

// stageDebianDocs writes the two documents Debian policy wants of every package in
// /usr/share/doc/homeytray: copyright in the machine-readable format (the MIT license, which
// Debian calls Expat, from LICENSE) and changelog.gz (one entry: this version).
func stageDebianDocs(o options, dir string) ([]file, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	lic, err := os.ReadFile(licenseFile)
	if err != nil {
		return nil, err
	}
	holder, text, err := splitLicense(string(lic))
	if err != nil {
		return nil, err
	}
	copyright := fmt.Sprintf(`Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: %s
Upstream-Contact: %s
Source: %s

Files: *
Copyright: %s
License: Expat

License: Expat
%s`, pkgName, maintainer, homepage, holder, indent(text))
	if err := os.WriteFile(filepath.Join(dir, "copyright"), []byte(copyright), 0o644); err != nil {
		return nil, err
	}
	changelog := fmt.Sprintf("%s (%s) unstable; urgency=medium\n\n  * Release %s: see %s\n\n -- %s  %s\n",
		pkgName, pkgVersion(o.version), o.version, homepage, maintainer, o.mtime.Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	if err := writeGzip(filepath.Join(dir, "changelog.gz"), []byte(changelog)); err != nil {
		return nil, err
	}
	return []file{
		{src: filepath.Join(dir, "copyright"), dst: docDir + "/copyright", mode: 0o644, packager: "deb"},
		{src: filepath.Join(dir, "changelog.gz"), dst: docDir + "/changelog.gz", mode: 0o644, packager: "deb"},
	}, nil
}

// splitLicense takes LICENSE apart: the holder ("2026 the homeytray developers") and the text
// after the copyright line.
func splitLicense(s string) (holder, text string, err error) {
	for i, l := range strings.Split(s, "\n") {
		if h, ok := strings.CutPrefix(l, "Copyright (c) "); ok {
			return strings.TrimSpace(h), strings.Join(strings.Split(s, "\n")[i+1:], "\n"), nil
		}
	}
	return "", "", fmt.Errorf("%s: no \"Copyright (c)\" line", licenseFile)
}

// releaseVersion is how a tag's version starts: 1.2 or 1.2.3.
var releaseVersion = regexp.MustCompile(`^[0-9]+\.[0-9]+(\.[0-9]+)*($|[-+~])`)

// pkgVersion turns git describe's version into one that dpkg and rpm order correctly and that
// has no "-" (a Debian revision, refused by rpm): v1.2.0 → 1.2.0, v1.2.0-3-gabc1234-dirty →
// 1.2.0+3.gabc1234.dirty (after 1.2.0), 1.2.0-rc1 → 1.2.0~rc1 (before it), and a bare commit
// (no tag yet) c682177-dirty → 0.0.0~c682177.dirty.
func pkgVersion(v string) string {
	v = strings.TrimPrefix(v, "v")
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '+', r == '~':
				return r
			}
			return '.'
		}, s)
	}
	if v == "" {
		v = "dev"
	}
	if !releaseVersion.MatchString(v) { // a commit, even one that starts with a digit
		return "0.0.0~" + clean(v)
	}
	base, rest, _ := strings.Cut(v, "-")
	if rest == "" {
		return clean(base)
	}
	if rest[0] >= '0' && rest[0] <= '9' {
		return clean(base) + "+" + clean(rest)
	}
	return clean(base) + "~" + clean(rest)
}
