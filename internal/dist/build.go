package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sync/errgroup"
)

// target is one platform of the release.
type target struct {
	goos, goarch, goarm string
	arch                string // in file names: amd64, arm64, armv7
	nfpmArch            string // nfpm's name ("" = no .deb/.rpm): arm7 becomes armhf / armv7hl
}

var targets = []target{
	{goos: "linux", goarch: "amd64", arch: "amd64", nfpmArch: "amd64"},
	{goos: "linux", goarch: "arm64", arch: "arm64", nfpmArch: "arm64"},
	{goos: "linux", goarch: "arm", goarm: "7", arch: "armv7", nfpmArch: "arm7"},
	{goos: "windows", goarch: "amd64", arch: "amd64"},
	{goos: "windows", goarch: "arm64", arch: "arm64"},
}

// name is the target's part of file names: linux_amd64.
func (t target) name() string { return t.goos + "_" + t.arch }

// exe is the binary's file name.
func (t target) exe() string {
	if t.goos == "windows" {
		return "homeytray.exe"
	}
	return "homeytray"
}

// binary is where the target's binary is built.
func (t target) binary(stage string) string { return filepath.Join(stage, t.name(), t.exe()) }

// buildAll builds the binary of every target, two at a time: each go build is parallel itself,
// and the linker is the long pole.
func buildAll(o options, stage string) error {
	var g errgroup.Group
	g.SetLimit(2)
	for _, t := range targets {
		g.Go(func() error { return build(o, t, t.binary(stage)) })
	}
	return g.Wait()
}

// build is the Makefile's build line for one target: pure Go, -trimpath, LDFLAGS; a GUI
// binary on Windows (no console window behind the tray; rsrc_windows_amd64.syso gives the
// amd64 one its icon and version info, arm64 goes without).
func build(o options, t target, out string) error {
	ldflags := o.ldflags
	if t.goos == "windows" {
		ldflags = strings.TrimSpace(ldflags + " -H=windowsgui")
	}
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", ldflags, "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+t.goos, "GOARCH="+t.goarch)
	if t.goarm != "" {
		cmd.Env = append(cmd.Env, "GOARM="+t.goarm)
	}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build for %s: %v\n%s", t.name(), err, stderr.Bytes())
	}
	return nil
}
