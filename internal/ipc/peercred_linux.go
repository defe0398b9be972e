package ipc

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// peerUID is the effective uid of the process at the other end of the Unix socket fd, as the
// kernel recorded it at connect (or listen) time: SO_PEERCRED, which the peer cannot forge.
func peerUID(fd int) (uint32, error) {
	u, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return 0, fmt.Errorf("read the peer of the tray socket (SO_PEERCRED): %w", err)
	}
	return u.Uid, nil
}
