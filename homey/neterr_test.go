package homey

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"
)

func TestNetworkError(t *testing.T) {
	dial := func(err error) error {
		return &url.Error{Op: "Get", URL: "https://api.athom.com/user/me",
			Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)}}
	}
	for _, c := range []struct {
		err   error
		net   bool
		cause string
	}{
		{dial(syscall.ECONNREFUSED), true, "connection refused"},
		{fmt.Errorf("fetch the account: %w", dial(syscall.ECONNRESET)), true, "the connection was reset"},
		{&net.DNSError{Err: "no such host", Name: "api.athom.com\x1b[2J", IsNotFound: true}, true, "cannot find api.athom.com [2J"},
		{fmt.Errorf("GET /user/me: %w", context.DeadlineExceeded), true, "no answer in time"},
		{os.ErrDeadlineExceeded, true, "no answer in time"},
		{&url.Error{Op: "Get", URL: "https://x", Err: errors.New("x509: certificate signed by unknown authority")}, true, "network error"},
		{&fs.PathError{Op: "open", Path: "/x", Err: fs.ErrNotExist}, false, "network error"},
		{&APIError{Op: "GET /user/me", StatusCode: 503}, false, "network error"},
		{context.Canceled, false, "network error"},
	} {
		if got := IsNetworkError(c.err); got != c.net {
			t.Errorf("IsNetworkError(%v) = %v, want %v", c.err, got, c.net)
		}
		if got := NetworkCause(c.err); got != c.cause {
			t.Errorf("NetworkCause(%v) = %q, want %q", c.err, got, c.cause)
		}
	}
}
