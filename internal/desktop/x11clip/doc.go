// Package x11clip owns the X11 CLIPBOARD selection in process: no xclip, xsel or cgo, only
// the X protocol (github.com/jezek/xgb) from an unmapped window of our own.
//
// X has no clipboard storage: the text lives in the owner, which answers every paste
// (SelectionRequest) itself, so an [Owner] keeps serving for as long as it holds the
// selection. A copy can be marked secret: it then also offers the target
// x-kde-passwordManagerHint with the content "secret", the mark password managers use so
// that clipboard managers (Klipper, CopyQ, GNOME extensions, cliphist) do not keep it.
//
// The package builds on Linux and the BSDs, where X11 desktops are.
package x11clip
