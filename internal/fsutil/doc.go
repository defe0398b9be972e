// Package fsutil replaces files atomically and removes them with the temporary files that a
// killed writer left beside them. The config file, the insecure file store and the
// start-at-login entry are written with it.
package fsutil
