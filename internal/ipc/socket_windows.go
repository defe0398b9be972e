package ipc

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// Named pipes with deadlines and cancellable accepts need overlapped I/O on an I/O completion
// port; go-winio (Microsoft's, used by Docker and containerd, pure Go) is that code, maintained.
// Writing it here would be some 500 lines of unsafe Win32 nobody on this project can run.

// SocketPath is the named pipe of appName's tray for the current user,
// \\.\pipe\<appName>-<user SID>: pipe names are machine-wide, the SID keeps users apart.
func SocketPath(appName string) (string, error) {
	sid, err := userSID()
	if err != nil {
		return "", err
	}
	return `\\.\pipe\` + appName + "-" + sid.String(), nil
}

// Listen creates the pipe at path, owned by and open only to the current user (remote clients
// are refused by go-winio). Pipes vanish with their process, so there is no stale file; the
// pipe's existence is the single-instance lock: [ErrAlreadyRunning] when a tray answers a ping
// on path, or when the pipe exists already.
func Listen(path string) (net.Listener, error) {
	if isLive(path) {
		return nil, ErrAlreadyRunning
	}
	sid, err := userSID()
	if err != nil {
		return nil, err
	}
	// O: owner; D:P a protected DACL (nothing inherited) whose one entry grants this user
	// everything. The owner is what checkServer verifies on the client side.
	me := sid.String()
	l, err := winio.ListenPipe(path, &winio.PipeConfig{SecurityDescriptor: "O:" + me + "D:P(A;;GA;;;" + me + ")"})
	if err != nil {
		// The first instance is created with FILE_CREATE: an existing pipe gives access denied.
		if errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_PIPE_BUSY) || errors.Is(err, windows.ERROR_ALREADY_EXISTS) {
			return nil, ErrAlreadyRunning
		}
		return nil, fmt.Errorf("listen on the tray pipe: %w", err)
	}
	consumePlaceholder(path)
	return l, nil
}

// consumePlaceholder connects once to the pipe instance that winio.ListenPipe keeps so that the
// name exists between accepts, and hangs up. That instance is opened with SYNCHRONIZE access
// only, which on Windows 10 leaves it disconnected (clients get ERROR_PIPE_BUSY and retry until
// a real instance is there). On Windows 7 and Wine it accepts a client nobody ever serves: the
// first `homeytray token` after each tray start hung until its deadline (31 s in the CLI) and
// failed (go-winio issues #173 and #313). Here no Accept has run yet, so the placeholder is the
// only instance: where it accepts, this connection takes it (a hung-up instance is never
// handed to another client); where it does not, the open fails at once with ERROR_PIPE_BUSY
// and there is nothing to do. One open, no waiting: CreateFile, not winio's retrying dial.
func consumePlaceholder(path string) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ|windows.GENERIC_WRITE, 0, nil, windows.OPEN_EXISTING, 0, 0)
	if err == nil {
		windows.CloseHandle(h)
	}
}

func dial(ctx context.Context, path string) (net.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	c, err := winio.DialPipeContext(dctx, path)
	if err != nil {
		if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) || errors.Is(err, windows.ERROR_PATH_NOT_FOUND) {
			return nil, ErrNoTray
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("reach the tray: %w", err)
	}
	return c, nil
}

// checkClient has nothing left to check: the pipe's DACL lets only this user open it, and the
// kernel enforces that at open time.
func checkClient(net.Conn) error { return nil }

// checkServer refuses a pipe whose owner is not the current user: anyone can create a pipe
// with any free name, but only we can make ourselves its owner. GENERIC_READ, which
// winio.DialPipeContext asks for, includes the READ_CONTROL needed to read the owner.
func checkServer(c net.Conn) error {
	f, ok := c.(interface{ Fd() uintptr })
	if !ok {
		return errForeignPeer
	}
	sd, err := windows.GetSecurityInfo(windows.Handle(f.Fd()), windows.SE_KERNEL_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("check the tray pipe's owner: %w", err)
	}
	owner, _, err := sd.Owner()
	if err != nil {
		return fmt.Errorf("check the tray pipe's owner: %w", err)
	}
	me, err := userSID()
	if err != nil {
		return err
	}
	if owner == nil || !owner.Equals(me) {
		return errForeignPeer
	}
	return nil
}

func userSID() (*windows.SID, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("find the current user: %w", err)
	}
	return u.User.Sid, nil
}
