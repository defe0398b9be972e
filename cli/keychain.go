package cli

import (
	"encoding/json"
	"errors"
	"path/filepath"

	"github.com/homeytray/homeytray/auth"
	"github.com/homeytray/homeytray/homey"
)

// keychain is the secret store of this run: the OS keychain, or the 0600 file the user opted into.
type keychain struct {
	set   *settings
	store auth.Store
}

// Keys of the secrets this app keeps in its Store (one keychain service per profile).
const (
	keyClientSecret = "client-secret"
	keyBearerPrefix = "bearer:"
)

// secrets is the Store: the OS keychain, or the 0600 file the user opted into.
func (k *keychain) secrets() (auth.Store, error) {
	if k.store != nil {
		return k.store, nil
	}
	c, err := k.set.config()
	if err != nil {
		return nil, err
	}
	if k.set.insecure || c.InsecureFileStore {
		dir, err := k.set.configDir()
		if err != nil {
			return nil, err
		}
		k.store = &auth.FileStore{Path: filepath.Join(dir, "secrets.json")}
	} else {
		k.store = &auth.Keyring{Service: k.set.appName()}
	}
	return k.store, nil
}

// bearerCache keeps Homey bearers in the secret store, one item per Homey.
type bearerCache struct{ store auth.Store }

func (c bearerCache) LoadBearer(homeyID string) (*homey.Bearer, error) {
	v, err := c.store.Get(keyBearerPrefix + homeyID)
	if errors.Is(err, auth.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var b homey.Bearer
	if err := json.Unmarshal([]byte(v), &b); err != nil || b.Token == "" {
		// A damaged cache entry is only a cache: the caller signs in to the Homey again.
		return nil, nil
	}
	return &b, nil
}

func (c bearerCache) SaveBearer(b *homey.Bearer) error {
	v, err := json.Marshal(b)
	if err != nil {
		return err
	}
	return c.store.Set(keyBearerPrefix+b.HomeyID, string(v))
}

func (c bearerCache) DropBearer(homeyID string) error {
	return c.store.Delete(keyBearerPrefix + homeyID)
}
