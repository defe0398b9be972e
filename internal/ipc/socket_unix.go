//go:build !windows

package ipc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// SocketPath is where the tray of appName listens: $XDG_RUNTIME_DIR/<appName>.sock, else (and
// always on macOS, which has no XDG_RUNTIME_DIR) <user cache folder>/<appName>/tray.sock, a
// folder [Listen] creates with mode 0700.
func SocketPath(appName string) (string, error) {
	if runtime.GOOS != "darwin" {
		if dir := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(dir) {
			return filepath.Join(dir, appName+".sock"), nil
		}
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find the socket folder: %w", err)
	}
	return filepath.Join(dir, appName, "tray.sock"), nil
}

// Listen takes the single-instance lock (an flock on path+".lock", held until the listener is
// closed) and listens on path with mode 0600. It returns [ErrAlreadyRunning] when another tray
// holds the lock or answers a ping on path; a socket file nobody serves is removed first.
func Listen(path string) (net.Listener, error) {
	if err := socketDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	lock, err := lockFile(path + ".lock")
	if err != nil {
		return nil, err
	}
	l, err := listenLocked(path)
	if err != nil {
		lock.Close()
		return nil, err
	}
	return &lockedListener{UnixListener: l, lock: lock}, nil
}

func listenLocked(path string) (*net.UnixListener, error) {
	if isLive(path) { // a tray that took no lock (the lock file was deleted under it)
		return nil, ErrAlreadyRunning
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on the tray socket: %w", err)
	}
	// The folder keeps others out (see socketDir); the mode is a second fence, the peer check a third.
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("listen on the tray socket: %w", err)
	}
	return l, nil
}

// socketDir creates dir with mode 0700 when it is missing, and refuses a folder that others
// could write to (they could put their own socket in our place).
func socketDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create the socket folder: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("check the socket folder: %w", err)
	}
	if fi.Mode().Perm()&0o022 != 0 && fi.Mode()&fs.ModeSticky == 0 {
		return fmt.Errorf("socket folder %s is writable by other users", dir)
	}
	return nil
}

func removeStale(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("check the tray socket: %w", err)
	case fi.Mode().Type() != fs.ModeSocket:
		return fmt.Errorf("%s is not a socket: not removing it", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the stale tray socket: %w", err)
	}
	return nil
}

// lockFile takes an exclusive flock on path without waiting. The kernel drops it when the
// process ends, however it ends, so a crashed tray never blocks the next one.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the tray lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, ErrAlreadyRunning
		}
		return nil, fmt.Errorf("lock the tray lock: %w", err)
	}
	return f, nil
}

// lockedListener releases the single-instance lock when it is closed, after the socket file is
// gone (net.UnixListener.Close unlinks it).
type lockedListener struct {
	*net.UnixListener
	lock *os.File
	once sync.Once
}

func (l *lockedListener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() { l.lock.Close() })
	return err
}

func dial(ctx context.Context, path string) (net.Conn, error) {
	d := net.Dialer{Timeout: dialTimeout}
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOTDIR) {
			return nil, ErrNoTray
		}
		return nil, fmt.Errorf("reach the tray: %w", err)
	}
	return c, nil
}

// errPeerCredUnsupported is peerUID's answer where the OS gives no peer credentials we use.
var errPeerCredUnsupported = errors.New("the peer of a Unix socket cannot be checked on this system")

// checkClient refuses a client that runs as another user.
func checkClient(c net.Conn) error { return samePeer(c) }

// checkServer refuses a server that runs as another user. Where the peer cannot be known the
// tray is not trusted: the caller falls back to the keychain as if no tray ran.
func checkServer(c net.Conn) error {
	err := samePeer(c)
	if errors.Is(err, errPeerCredUnsupported) {
		return ErrNoTray
	}
	return err
}

func samePeer(c net.Conn) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return errForeignPeer
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return fmt.Errorf("check the tray socket peer: %w", err)
	}
	var uid uint32
	var uerr error
	if err := raw.Control(func(fd uintptr) { uid, uerr = peerUID(int(fd)) }); err != nil {
		return fmt.Errorf("check the tray socket peer: %w", err)
	}
	if uerr != nil {
		return uerr
	}
	if uid != uint32(os.Geteuid()) {
		return errForeignPeer
	}
	return nil
}
