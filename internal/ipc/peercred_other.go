//go:build !linux && !darwin && !windows

package ipc

// peerUID refuses: on the BSDs and other Unixes the peer's uid would come from
// getpeereid(3) or an OS-specific socket option that this project neither builds nor tests.
// Without knowing who is asking, handing out tokens would trust anyone who can reach the socket,
// so the tray answers nobody and the command line reads the keychain itself (Ask returns
// ErrNoTray). The socket still serves as the single-instance lock.
func peerUID(int) (uint32, error) { return 0, errPeerCredUnsupported }
