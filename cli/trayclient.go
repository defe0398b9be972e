package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/ipc"
)

// askTray sends r to the running tray. ok is false when no tray answers (or it cannot be
// reached): the caller then does the work itself from the keychain. Nothing here reads the
// config or the keychain: a warm `token` answered by the tray costs little more than start-up.
func (f *Factory) askTray(ctx context.Context, r ipc.Request) (ans ipc.Answer, ok bool, err error) {
	path, err := ipc.SocketPath(f.profile.appName())
	if err != nil {
		return ans, false, nil
	}
	ans, err = ipc.Ask(ctx, path, r)
	if err != nil {
		return ans, false, nil // no tray, or a broken one: the keychain path still works
	}
	if ans.Failure != nil {
		return ans, true, ans.Failure // worded here, as a failure of this process would be
	}
	return ans, true, nil
}

// tellTray lets a running tray know that the sign-in or the selection changed.
func (f *Factory) tellTray(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, _, _ = f.askTray(ctx, ipc.Request{Op: ipc.OpChanged})
}

// trayDevices decodes a tray's devices answer into what `devices` prints.
func trayDevices(ans ipc.Answer) (map[string]homey.Device, map[string]homey.Zone, error) {
	var devices map[string]homey.Device
	var zones map[string]homey.Zone
	if err := json.Unmarshal(ans.Devices, &devices); err != nil {
		return nil, nil, fmt.Errorf("the tray's answer: %w", errors.Join(homey.ErrBadResponse, err))
	}
	if len(ans.Zones) > 0 {
		if err := json.Unmarshal(ans.Zones, &zones); err != nil {
			return nil, nil, fmt.Errorf("the tray's answer: %w", errors.Join(homey.ErrBadResponse, err))
		}
	}
	return devices, zones, nil
}
