// Package wlclip owns the Wayland clipboard in process through the data-control protocol
// (ext-data-control-v1, else wlr-data-control-unstable-v1), written here from the wire
// protocol: no wl-copy, no libwayland, no cgo.
//
// Data control lets a client without a window or keyboard focus set the selection, which is
// what a tray needs. wlroots compositors (sway, Hyprland, river, labwc, …) and KDE's KWin
// offer it; GNOME's Mutter does not, and Open then returns [ErrNoDataControl] so that the
// caller can fall back to something else.
//
// A secret copy also offers the MIME type x-kde-passwordManagerHint with the content
// "secret", the mark password managers use so that clipboard managers (Klipper, CopyQ,
// cliphist) leave it out of their history.
//
// The package builds on Linux and the BSDs, where Wayland compositors are.
package wlclip
