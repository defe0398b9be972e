package ipc

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// xucredVersion is XUCRED_VERSION of <sys/ucred.h>; x/sys/unix does not define it.
const xucredVersion = 0

// peerUID is the effective uid of the process at the other end of the Unix socket fd, as the
// kernel recorded it at connect (or listen) time: LOCAL_PEERCRED, what getpeereid(3) reads.
func peerUID(fd int) (uint32, error) {
	x, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return 0, fmt.Errorf("read the peer of the tray socket (LOCAL_PEERCRED): %w", err)
	}
	if x.Version != xucredVersion {
		return 0, fmt.Errorf("read the peer of the tray socket: xucred version %d", x.Version)
	}
	return x.Uid, nil
}
