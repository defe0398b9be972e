// Package desktop is homeytray's desktop glue: the clipboard, desktop notifications and start
// at login, each in the platform's own way. The tray reaches the desktop only through it.
package desktop
