package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
	"github.com/goreleaser/nfpm/v2/rpm"
	"golang.org/x/sync/errgroup"
)

// packAll writes every target's archive and, for Linux, its .deb and .rpm into o.out, all at
// once, and returns their names, sorted.
func packAll(o options, stage string, share []file) ([]string, error) {
	var (
		g     errgroup.Group
		mu    sync.Mutex
		names []string
	)
	g.SetLimit(4)
	emit := func(name string, write func(path string) error) {
		g.Go(func() error {
			if err := write(filepath.Join(o.out, name)); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			mu.Lock()
			names = append(names, name)
			mu.Unlock()
			return nil
		})
	}
	base := pkgName + "_" + archiveVersion(o.version) + "_"
	for _, t := range targets {
		entries := archiveEntries(t, stage)
		if t.goos == "windows" {
			emit(base+t.name()+".zip", func(p string) error { return writeZip(p, entries, o.mtime) })
			continue
		}
		emit(base+t.name()+".tar.gz", func(p string) error { return writeTarGz(p, entries, o.mtime) })
		if t.nfpmArch == "" {
			continue
		}
		for _, format := range []struct {
			name string
			p    nfpm.Packager
		}{{"deb", deb.Default}, {"rpm", rpm.DefaultRPM}} {
			info := packageInfo(o, t, share, stage, format.name)
			if err := nfpm.PrepareForPackager(info, format.name); err != nil {
				return nil, fmt.Errorf("%s for %s: %w", format.name, t.name(), err)
			}
			emit(format.p.ConventionalFileName(info), func(p string) (err error) {
				f, err := os.Create(p)
				if err != nil {
					return err
				}
				defer closeInto(f, &err)
				return format.p.Package(info, f)
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

// archiveVersion is the version in archive names: git describe's, without a leading "v".
func archiveVersion(v string) string {
	if len(v) > 1 && v[0] == 'v' && v[1] >= '0' && v[1] <= '9' {
		return v[1:]
	}
	return v
}

// weakDeps is what the package of format (deb, rpm) recommends and suggests: what the desktop
// path uses but the binary does not need (the command line and `serve` run without them). A
// package manager installs recommended packages by default and lets them be left out or
// removed.
//
//   - A Secret Service provider (the sign-in lives in the keychain), any one of them: Debian's
//     python3-secretstorage recommends the same three; RPM says it with a boolean dependency
//     (the KWallet daemon is kf6-kwallet/kf5-kwallet on Fedora, kwalletd6/kwalletd5 on
//     openSUSE). Debian also names the session bus they answer on, its virtual package.
//   - wl-clipboard: GNOME's compositor offers no data control, so on GNOME on Wayland the tray
//     copies through wl-copy (else through XWayland, which Wayland programs see only in part).
//   - Suggested: GNOME's AppIndicator extension, the tray host GNOME lacks.
func weakDeps(format string) (recommends, suggests []string) {
	suggests = []string{"gnome-shell-extension-appindicator"}
	if format == "rpm" {
		return []string{
			"(gnome-keyring or kf6-kwallet or kwalletd6 or kf5-kwallet or kwalletd5 or keepassxc)",
			"wl-clipboard",
		}, suggests
	}
	return []string{
		"gnome-keyring | libkf5wallet-bin (>= 5.97) | keepassxc",
		"default-dbus-session-bus | dbus-session-bus",
		"wl-clipboard",
	}, suggests
}

// packageInfo describes the .deb or .rpm (format) of a Linux target.
func packageInfo(o options, t target, share []file, stage, format string) *nfpm.Info {
	contents := files.Contents{{
		Source: t.binary(stage), Destination: "/usr/bin/homeytray",
		FileInfo: &files.ContentFileInfo{Mode: 0o755, MTime: o.mtime},
	}}
	for _, f := range share {
		contents = append(contents, &files.Content{
			Source: f.src, Destination: f.dst, Packager: f.packager,
			FileInfo: &files.ContentFileInfo{Mode: f.mode, MTime: o.mtime},
		})
	}
	info := &nfpm.Info{
		Name:          pkgName,
		Arch:          t.nfpmArch,
		Platform:      "linux",
		Version:       pkgVersion(o.version),
		VersionSchema: "none", // pkgVersion already made it one that dpkg and rpm order right
		Section:       "utils",
		Priority:      "optional",
		Maintainer:    maintainer,
		Vendor:        pkgName,
		Homepage:      homepage,
		License:       "MIT",
		Description:   synopsis + "\n" + longDesc,
		MTime:         o.mtime,
		Overridables: nfpm.Overridables{
			Contents: contents,
			Umask:    0o022,
		},
	}
	info.Recommends, info.Suggests = weakDeps(format)
	return nfpm.WithDefaults(info)
}
