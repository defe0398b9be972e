package homey

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"syscall"

	"github.com/homeytray/homeytray/internal/sanitize"
)

// IsNetworkError reports whether err is a failure to reach a server or to get its answer in
// time: a dial, DNS, reset, refused or timed-out request, as opposed to an answer. (Not
// net.Error: *fs.PathError satisfies it too.) The command line and the tray both word their
// messages with it.
func IsNetworkError(err error) bool {
	var (
		oe *net.OpError
		de *net.DNSError
		ue *url.Error
	)
	return errors.As(err, &oe) || errors.As(err, &de) || errors.As(err, &ue) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// NetworkCause names the cause of a network error ([IsNetworkError]) in a few words, without
// addresses, ports or URLs: "no answer in time", "connection refused", "the connection was
// reset", "cannot find <host>", else "network error".
func NetworkCause(err error) string {
	var de *net.DNSError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded):
		return "no answer in time"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "the connection was reset"
	case errors.As(err, &de):
		return "cannot find " + sanitize.Line(de.Name, 80)
	}
	return "network error"
}

// isNetworkErrorAt reports whether err is a transport failure (no answer, reset, refused, timed
// out) of a request to base, as opposed to an answer, or a failure at another host (the cloud).
func isNetworkErrorAt(err error, base string) bool {
	var te *transportError
	return errors.As(err, &te) && te.base == base
}

// transportError marks a failure to get an answer from base; its text is the cause's.
type transportError struct {
	err  error
	base string
}

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }
