// Package cdp drives a real headless Chromium for tests: it opens pages, reads them, types into
// their fields and clicks their buttons as a user would, so that a test can go through a web page
// served by the application (the sign-in's setup page) in a real browser. For tests only: it
// imports testing, and production code never imports it.
//
// It speaks the Chrome DevTools Protocol over a pipe (--remote-debugging-pipe): Chromium reads
// commands from its file descriptor 3 and writes answers and events to its descriptor 4, each a
// JSON message ended by a NUL byte. No port is opened, so nothing else on the machine can drive
// the browser, and no extra dependency is needed. Handing a child extra descriptors is a Unix
// feature of os/exec, so the package is empty on Windows.
package cdp
