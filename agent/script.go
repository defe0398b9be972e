package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/failure"
	"github.com/homeytray/homeytray/internal/ipc"
)

// Errors of the script handler; the answers carry them as one line of text. Which Homey a
// request means (id, name, or "" for the selected one) is the Core's to resolve, as for the
// command line.
var (
	errUnknownOp     = errors.New("unknown request")
	errCloudAndHomey = errors.New("a cloud token belongs to no Homey")
)

// scriptHandler answers the script socket from core: "token" (a bearer of a Homey, or the
// Athom access token when Cloud), "devices", "changed" (the command line signed in or out:
// core reloads, then changed redraws the menu) and "ping".
func scriptHandler(core Core, changed func()) ipc.Handler {
	return func(ctx context.Context, r ipc.Request) ipc.Answer {
		switch r.Op {
		case ipc.OpPing:
			return ipc.Answer{PID: os.Getpid()}
		case ipc.OpToken:
			if r.Cloud {
				return scriptCloudToken(ctx, core, r)
			}
			return scriptBearer(ctx, core, r)
		case ipc.OpDevices:
			return scriptDevices(ctx, core, r)
		case ipc.OpChanged:
			err := core.Reload()
			if changed != nil {
				changed() // also after a failed reload: the menu shows the failure
			}
			return scriptFailure(err)
		}
		return scriptFailure(fmt.Errorf("%w %q", errUnknownOp, r.Op))
	}
}

func scriptCloudToken(ctx context.Context, core Core, r ipc.Request) ipc.Answer {
	if r.Homey != "" {
		return scriptFailure(errCloudAndHomey)
	}
	t, err := core.AccessToken(ctx)
	if err != nil {
		return scriptFailure(err)
	}
	a := ipc.Answer{Token: t.AccessToken}
	if !t.Expiry.IsZero() {
		a.ExpiresAt = &t.Expiry
	}
	return a
}

func scriptBearer(ctx context.Context, core Core, r ipc.Request) ipc.Answer {
	b, err := core.Bearer(ctx, r.Homey)
	if err != nil {
		return scriptFailure(err)
	}
	return ipc.Answer{Token: b.Token, HomeyID: b.HomeyID, BaseURL: b.BaseURL, Route: homey.Route{Strategy: b.Strategy}.Kind()}
}

func scriptDevices(ctx context.Context, core Core, r ipc.Request) ipc.Answer {
	devs, zones, err := core.Devices(ctx, r.Homey)
	if err != nil {
		return scriptFailure(err)
	}
	var a ipc.Answer
	if a.Devices, err = rawDevices(devs); err != nil {
		return scriptFailure(err)
	}
	if a.Zones, err = json.Marshal(zones); err != nil {
		return scriptFailure(fmt.Errorf("encode the zones: %w", err))
	}
	return a
}

// rawDevices is the devices keyed by id, each as the Homey sent it (what `devices --json`
// prints without a tray).
func rawDevices(devs map[string]homey.Device) (json.RawMessage, error) {
	raw := make(map[string]json.RawMessage, len(devs))
	for id, d := range devs {
		raw[id] = d.Raw
		if len(d.Raw) == 0 { // not decoded from the Homey's JSON (tests, the emulator's Go side)
			b, err := json.Marshal(d)
			if err != nil {
				return nil, fmt.Errorf("encode the devices: %w", err)
			}
			raw[id] = b
		}
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf("encode the devices: %w", err)
	}
	return b, nil
}

// scriptFailure is the answer for err (nil: an empty, successful answer).
func scriptFailure(err error) ipc.Answer {
	if err == nil {
		return ipc.Answer{}
	}
	return ipc.Answer{Failure: failure.Of(err)}
}
