//go:build windows && wine

package winetest

import (
	_ "unsafe" // go:linkname

	"golang.org/x/sys/windows"
)

// Wine 8 does not implement FileDispositionInformationEx and answers it with
// STATUS_NOT_IMPLEMENTED, which Go's os.Remove (Go >= 1.25, internal/syscall/windows.Deleteat)
// does not treat as "unsupported": every os.RemoveAll fails with "unlinkat …: Invalid
// function", and so does the clean-up of every t.TempDir. Real Windows 10 1607+ has the call.
// Go keeps a switch for its own tests that makes Deleteat take the FileDispositionInfo path of
// older Windows; this reaches it. A pull linkname into the standard library needs
// -ldflags=-checklinkname=0, which is why this file is behind the "wine" build tag: a plain
// `go test` on Windows never links it.
//
//go:linkname deleteatFallback internal/syscall/windows.TestDeleteatFallback
var deleteatFallback bool

func init() {
	if UnderWine() {
		deleteatFallback = true
	}
}

// UnderWine reports whether this process runs under Wine (its ntdll exports wine_get_version).
func UnderWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}
