package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
)

// What the binary promises its users, written down here from the README rather than taken from
// package cli: the tests hold the program to it from the outside.

// The exit codes (README: 0 ok, 1 error, 2 usage error, 4 not signed in / sign in again).
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
	exitAuth  = 4
)

// statusReport is the part of `status --json` the tests read.
type statusReport struct {
	SignedIn         bool   `json:"signed_in"`
	Client           string `json:"client"`    // where the client in use comes from
	ClientID         string `json:"client_id"` // its id
	SignIn           string `json:"sign_in"`
	SelectedAccess   string `json:"selected_access"`
	LastRefreshError string `json:"last_refresh_error"`
	LocalHomeys      []struct {
		ID        string `json:"id"`
		Address   string `json:"address"`
		KeyStored bool   `json:"key_stored"`
	} `json:"local_homeys"`
	Bearers []struct {
		ID    string `json:"id"`
		Route string `json:"route"`
	} `json:"homey_bearers"`
}

// localHomey is an API-key Homey as `local list --json` prints it and config.json keeps it.
type localHomey struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Address string `json:"address"`
}

// discovered is a Homey as `discover --json` prints it.
type discovered struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	Model   string `json:"model,omitempty"`
	ID      string `json:"id,omitempty"`
}

// configFile is the part of config.json (in the config folder) the tests read.
type configFile struct {
	SelectedHomey string       `json:"selected_homey"`
	LocalHomeys   []localHomey `json:"local_homeys"`
}

// cacheFile is the part of cache.json (in the cache folder) the tests read: what homeytray
// remembers of the account, apart from the user's settings.
type cacheFile struct {
	Homeys []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"homeys"`
	Routes map[string]struct {
		Strategy string `json:"strategy"`
		BaseURL  string `json:"base_url"`
	} `json:"routes"`
}

// loadConfig reads config.json as the app accepts it: a missing file is an empty config, and
// anything but white space after the one JSON object is damage.
func loadConfig(path string) (*configFile, error) {
	c := &configFile{}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(c); err != nil {
		return nil, err
	}
	if rest := bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return nil, errors.New("trailing data")
	}
	return c, nil
}
