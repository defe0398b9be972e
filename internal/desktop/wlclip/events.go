//go:build linux || freebsd || netbsd || openbsd || dragonfly

package wlclip

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// loop reads and handles the compositor's events until the connection ends.
func (o *Owner) loop() {
	var fds []int // received with the messages, taken by the events that carry one
	var cause error
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
		o.mu.Lock()
		if o.err == nil {
			o.err = fmt.Errorf("%w: %v", ErrClosed, cause)
		}
		o.current = 0
		clear(o.sources)
		o.mu.Unlock()
		o.sock.Close()
		close(o.done)
	}()
	buf := make([]byte, 0, 2*maxMessage)
	chunk := make([]byte, 4*maxMessage)
	oob := make([]byte, unix.CmsgSpace(maxFDs*4))
	for {
		n, got, err := o.recv(chunk, oob)
		fds = append(fds, got...)
		if err != nil {
			cause = err
			return
		}
		buf = append(buf, chunk[:n]...)
		off := 0
		for {
			ev, size, err := nextEvent(buf[off:])
			if err != nil {
				cause = err
				return
			}
			if size == 0 {
				break
			}
			if err := o.dispatch(ev, &fds); err != nil {
				cause = err
				return
			}
			off += size
		}
		buf = buf[:copy(buf, buf[off:])]
	}
}

// recv reads what the compositor sent, with the file descriptors that came with it.
func (o *Owner) recv(b, oob []byte) (int, []int, error) {
	var n, oobn, flags int
	var rerr error
	err := o.raw.Read(func(fd uintptr) bool {
		for {
			n, oobn, flags, _, rerr = unix.Recvmsg(int(fd), b, oob, unix.MSG_CMSG_CLOEXEC)
			if rerr != unix.EINTR {
				break
			}
		}
		return rerr != unix.EAGAIN
	})
	if err == nil {
		err = rerr
	}
	var fds []int
	if err == nil && oobn > 0 {
		msgs, perr := unix.ParseSocketControlMessage(oob[:oobn])
		if perr != nil {
			return 0, nil, fmt.Errorf("read file descriptors: %w", perr)
		}
		for i := range msgs {
			if msgs[i].Header.Level == unix.SOL_SOCKET && msgs[i].Header.Type == unix.SCM_RIGHTS {
				got, perr := unix.ParseUnixRights(&msgs[i])
				if perr != nil {
					return 0, fds, fmt.Errorf("read file descriptors: %w", perr)
				}
				fds = append(fds, got...)
			}
		}
	}
	switch {
	case err != nil:
		return 0, fds, fmt.Errorf("read from the compositor: %w", err)
	case flags&unix.MSG_CTRUNC != 0:
		return 0, fds, errors.New("read from the compositor: file descriptors were cut off")
	case n == 0:
		return 0, fds, fmt.Errorf("read from the compositor: %w", io.EOF)
	}
	return n, fds, nil
}

// dispatch handles one event. An error ends the connection.
func (o *Owner) dispatch(ev event, fds *[]int) error {
	o.mu.Lock()
	k := o.objects[ev.obj]
	o.mu.Unlock()
	a := &args{b: ev.body}
	switch k {
	case kindDisplay:
		switch ev.opcode {
		case evDisplayError:
			obj, code, msg := a.uint(), a.uint(), a.string()
			o.mu.Lock()
			objKind := o.objects[obj]
			o.mu.Unlock()
			return fmt.Errorf("protocol error on %s %d, code %d: %s", objKind, obj, code, msg)
		case evDisplayDeleteID:
			o.release(a.uint())
		}
	case kindRegistry:
		if ev.opcode == evRegistryGlobal {
			g := global{name: a.uint(), iface: a.string(), version: a.uint()}
			if a.err == nil {
				o.mu.Lock()
				o.globals = append(o.globals, g)
				o.mu.Unlock()
			}
		}
	case kindCallback:
		if ev.opcode == evCallbackDone {
			o.mu.Lock()
			ch := o.callbacks[ev.obj]
			delete(o.callbacks, ev.obj)
			o.mu.Unlock()
			if ch != nil {
				close(ch)
			}
		}
	case kindDevice:
		switch ev.opcode {
		case evDeviceDataOffer:
			id := a.uint()
			if a.err == nil {
				o.mu.Lock()
				o.objects[id] = kindOffer
				o.mu.Unlock()
			}
		case evDeviceSelection, evDevicePrimarySelection:
			if id := a.uint(); a.err == nil {
				return o.offered(ev.opcode == evDevicePrimarySelection, id)
			}
		case evDeviceFinished:
			o.mu.Lock()
			o.noDevice = true
			o.current = 0
			o.mu.Unlock()
			return o.send(newRequest(ev.obj, reqDeviceDestroy))
		}
	case kindSource:
		switch ev.opcode {
		case evSourceSend:
			if len(*fds) == 0 {
				return errors.New("a send event came without its file descriptor")
			}
			fd := (*fds)[0]
			*fds = (*fds)[1:]
			mime := a.string()
			if a.err != nil {
				unix.Close(fd)
				break
			}
			o.serve(ev.obj, mime, fd)
		case evSourceCancelled:
			// Another client set the selection (or we did, with a newer source).
			o.mu.Lock()
			_, live := o.sources[ev.obj]
			delete(o.sources, ev.obj)
			if o.current == ev.obj {
				o.current = 0
			}
			o.mu.Unlock()
			if live {
				return o.send(newRequest(ev.obj, reqSourceDestroy))
			}
		}
	default:
		// Events of objects we never asked about or destroyed: none of them carries a file
		// descriptor (only a source's send does, and sources stay known until delete_id).
	}
	if a.err != nil {
		return fmt.Errorf("event %d of %s %d: %w", ev.opcode, k, ev.obj, a.err)
	}
	return nil
}

// offered handles a selection or primary_selection event: the compositor introduced an offer
// for the new selection (we do not read it), and the one it replaces must be destroyed.
func (o *Owner) offered(primary bool, id uint32) error {
	o.mu.Lock()
	var old uint32
	if primary {
		old, o.primary = o.primary, id
	} else {
		old, o.selection = o.selection, id
	}
	stale := old != 0 && old != o.selection && old != o.primary
	if stale {
		// Ids the compositor creates get no delete_id: forget it now.
		delete(o.objects, old)
	}
	o.mu.Unlock()
	if stale {
		return o.send(newRequest(old, reqOfferDestroy))
	}
	return nil
}

// release handles delete_id: the compositor has destroyed the object, its id may be reused.
func (o *Owner) release(id uint32) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.objects, id)
	delete(o.callbacks, id)
	if id > displayID && id < serverIDStart {
		o.free = append(o.free, id)
	}
}

// serve answers one paste: the data goes into the reader's pipe from a goroutine of its own,
// so that a slow reader never holds up the connection.
func (o *Owner) serve(obj uint32, mime string, fd int) {
	o.mu.Lock()
	s, ok := o.sources[obj]
	timeout := o.pasteTime
	o.mu.Unlock()
	var data []byte
	if ok {
		data, ok = s.data(mime)
	}
	if !ok {
		unix.Close(fd)
		return
	}
	o.writers.Add(1)
	o.writing.Add(1)
	o.written.Add(1)
	go func() {
		defer o.writers.Done()
		defer o.writing.Add(-1)
		writePaste(fd, data, timeout)
	}()
}

// busyWriters is how many pastes are being written.
func (o *Owner) busyWriters() int { return int(o.writing.Load()) }

// writePaste writes data into a reader's pipe and closes it. The pipe is made non-blocking so
// that the write can have a deadline: a reader that never reads is given up on.
func writePaste(fd int, data []byte, timeout time.Duration) {
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return
	}
	f := os.NewFile(uintptr(fd), "paste")
	defer f.Close()
	_ = f.SetWriteDeadline(time.Now().Add(timeout))
	_, _ = f.Write(data)
}
