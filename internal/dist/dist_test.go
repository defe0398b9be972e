package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPkgVersion(t *testing.T) {
	for in, want := range map[string]string{
		"v1.2.0":                  "1.2.0",
		"1.2":                     "1.2",
		"v1.2.0-3-gabc1234-dirty": "1.2.0+3.gabc1234.dirty",
		"v1.2.0-rc1":              "1.2.0~rc1",
		"0.1.0-dev":               "0.1.0~dev",
		"c682177-dirty":           "0.0.0~c682177.dirty",
		"2105cee-dirty":           "0.0.0~2105cee.dirty", // a commit that starts with a digit
		"2105cee":                 "0.0.0~2105cee",
		"":                        "0.0.0~dev",
		"v1.2.0-3-gabc/../x y":    "1.2.0+3.gabc....x.y",
	} {
		if got := pkgVersion(in); got != want {
			t.Errorf("pkgVersion(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(pkgVersion(in), "-") {
			t.Errorf("pkgVersion(%q) has a dash", in)
		}
	}
}

func TestArchiveVersion(t *testing.T) {
	for in, want := range map[string]string{"v1.2.0": "1.2.0", "2105cee-dirty": "2105cee-dirty", "vendor": "vendor"} {
		if got := archiveVersion(in); got != want {
			t.Errorf("archiveVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestStageIcons: the icons of build/ give the hicolor sizes, each where its size says.
func TestStageIcons(t *testing.T) {
	chdirRoot(t)
	fs, err := stageIcons(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var dsts []string
	for _, f := range fs {
		dsts = append(dsts, f.dst)
	}
	for _, n := range []string{"16x16", "32x32", "48x48", "64x64", "128x128", "256x256", "512x512"} {
		want := "/usr/share/icons/hicolor/" + n + "/apps/homeytray.png"
		if !strings.Contains(strings.Join(dsts, " "), want) {
			t.Errorf("icons %q lack %s", dsts, want)
		}
	}
}

func TestIcoImagesRefusesGarbage(t *testing.T) {
	bad := [][]byte{nil, []byte("icns"), {0, 0, 1, 0, 5, 0}, append([]byte{0, 0, 1, 0, 1, 0}, bytes.Repeat([]byte{0xff}, 16)...)}
	for _, b := range bad {
		if _, err := icoImages(b); err == nil {
			t.Errorf("icoImages(%x) did not fail", b)
		}
	}
	if _, err := icnsImages([]byte("icns\x00\x00\x00\x10\x00\x00\x00\x00\xff\xff\xff\xff")); err == nil {
		t.Error("icnsImages of a bad entry did not fail")
	}
}

// TestDebianDocs: copyright is DEP-5 with the MIT (Expat) text of LICENSE; changelog names
// the package version.
func TestDebianDocs(t *testing.T) {
	chdirRoot(t)
	dir := t.TempDir()
	if _, err := stageDebianDocs(options{version: "v1.2.0"}, dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "copyright"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/",
		"Copyright: 2026 the homeytray developers", "License: Expat\n Permission is hereby granted", "\n .\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("copyright lacks %q:\n%s", want, s)
		}
	}
}

func chdirRoot(t *testing.T) {
	t.Helper()
	t.Chdir(filepath.Join("..", ".."))
}
