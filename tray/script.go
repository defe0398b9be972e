package tray

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey"
)

// Errors of the script handler; the answers carry them as one line of text.
var (
	errUnknownOp      = errors.New("unknown request")
	errNoSuchHomey    = errors.New("no Homey of this account is called")
	errAmbiguousHomey = errors.New("ambiguous Homey name")
	errCloudAndHomey  = errors.New("a cloud token belongs to no Homey")
	errNoHomeys       = errors.New("this Athom account has no Homey")
	errNoSelection    = errors.New("no Homey is selected")
)

// scriptHandler answers the script socket from core: "token" (a bearer of a Homey, or the
// Athom access token when Cloud), "devices", "changed" (the command line signed in or out:
// core reloads, then changed redraws the menu) and "ping".
func scriptHandler(core Core, changed func()) Handler {
	return func(ctx context.Context, r Request) Answer {
		switch r.Op {
		case "ping":
			return Answer{PID: os.Getpid()}
		case "token":
			if r.Cloud {
				return scriptCloudToken(ctx, core, r)
			}
			return scriptBearer(ctx, core, r)
		case "devices":
			return scriptDevices(ctx, core, r)
		case "changed":
			err := core.Reload()
			if changed != nil {
				changed() // also after a failed reload: the menu shows the failure
			}
			return scriptFailure(err)
		}
		return scriptFailure(fmt.Errorf("%w %q", errUnknownOp, r.Op))
	}
}

func scriptCloudToken(ctx context.Context, core Core, r Request) Answer {
	if r.Homey != "" {
		return scriptFailure(errCloudAndHomey)
	}
	t, err := core.AccessToken(ctx)
	if err != nil {
		return scriptFailure(err)
	}
	a := Answer{Token: t.AccessToken}
	if !t.Expiry.IsZero() {
		a.ExpiresAt = &t.Expiry
	}
	return a
}

func scriptBearer(ctx context.Context, core Core, r Request) Answer {
	id, err := resolveHomey(ctx, core, r.Homey)
	if err != nil {
		return scriptFailure(err)
	}
	b, err := core.Bearer(ctx, id)
	if err != nil {
		return scriptFailure(err)
	}
	return Answer{Token: b.Token, HomeyID: b.HomeyID, BaseURL: b.BaseURL}
}

func scriptDevices(ctx context.Context, core Core, r Request) Answer {
	id, err := resolveHomey(ctx, core, r.Homey)
	if err != nil {
		return scriptFailure(err)
	}
	if id == "" {
		if id, err = selectedHomeyID(ctx, core); err != nil {
			return scriptFailure(err)
		}
	}
	devs, zones, err := core.Devices(ctx, id)
	if err != nil {
		return scriptFailure(err)
	}
	a := Answer{HomeyID: id}
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

// resolveHomey resolves a Homey's id or name (case-insensitive; an id wins) to its id. "" stays ""
// (the selected Homey, as Core.Bearer takes it) and costs no lookup.
func resolveHomey(ctx context.Context, core Core, nameOrID string) (string, error) {
	if nameOrID == "" {
		return "", nil
	}
	list, _, err := core.Homeys(ctx)
	if err != nil {
		return "", err
	}
	var found []string
	for _, h := range list {
		if h.ID == nameOrID {
			return h.ID, nil
		}
		if strings.EqualFold(h.Name, nameOrID) {
			found = append(found, h.ID)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%w %q", errNoSuchHomey, nameOrID)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%w: %q matches %d Homeys, use its id", errAmbiguousHomey, nameOrID, len(found))
}

// selectedHomeyID is the id of the selected Homey, or of the only one.
func selectedHomeyID(ctx context.Context, core Core) (string, error) {
	list, selected, err := core.Homeys(ctx)
	switch {
	case err != nil:
		return "", err
	case selected != "":
		return selected, nil
	case len(list) == 1:
		return list[0].ID, nil
	case len(list) == 0:
		return "", errNoHomeys
	}
	return "", errNoSelection
}

// scriptFailure is the answer for err (nil: an empty, successful answer).
func scriptFailure(err error) Answer {
	if err == nil {
		return Answer{}
	}
	return Answer{
		Error:  errorText(err),
		SignIn: errors.Is(err, auth.ErrNotSignedIn) || errors.Is(err, auth.ErrSignInGone),
	}
}
