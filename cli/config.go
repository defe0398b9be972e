package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/fsutil"
)

// Config holds the non-secret settings in <config dir>/config.json. It never holds a secret: the
// client secret, tokens and Homey bearers live in the keychain (auth.Store).
type Config struct {
	ClientID          string        `json:"client_id,omitempty"`
	RedirectURI       string        `json:"redirect_uri,omitempty"`
	SelectedHomey     string        `json:"selected_homey,omitempty"`
	InsecureFileStore bool          `json:"insecure_file_store,omitempty"`
	User              *CachedUser   `json:"user,omitempty"`
	Homeys            []homey.Homey `json:"homeys,omitempty"`
	HomeysFetchedAt   time.Time     `json:"homeys_fetched_at,omitzero"`
	// LocalHomeys are the Homeys reached with an API key (`local add`); their keys are in the
	// keychain, never here. A Homey in both lists is reached with its key.
	LocalHomeys []LocalHomey `json:"local_homeys,omitempty"`
	// Routes remembers, per Homey id, the address that won the last race (local or cloud relay).
	Routes           map[string]homey.Route `json:"routes,omitempty"`
	LastRefreshError string                 `json:"last_refresh_error,omitempty"`
	LastRefreshErrAt time.Time              `json:"last_refresh_error_at,omitzero"`
	// ClipboardClearSeconds: how long the tray leaves a copied bearer on the clipboard
	// (nil = 60 s, 0 = never).
	ClipboardClearSeconds *int `json:"clipboard_clear_seconds,omitempty"`

	path string
}

// CachedUser is who is signed in, as /user/me said at the last login or `homeys`.
type CachedUser struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
}

// ConfigError is a config file that exists but cannot be used. The file is left as it is.
type ConfigError struct {
	Path string
	Err  error
}

// Error names the file and the fix.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("config file %s is not valid JSON (%v): fix or remove it", e.Path, e.Err)
}

// Unwrap returns the parse error.
func (e *ConfigError) Unwrap() error { return e.Err }

// loadConfig reads path; a missing file is an empty config.
func loadConfig(path string) (*Config, error) {
	c := &Config{path: path}
	b, err := fsutil.ReadFile(path) // another process may be replacing it (Windows)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(c); err != nil {
		return nil, &ConfigError{Path: path, Err: shortJSONError(err)}
	}
	// Anything but JSON whitespace after the value ("}}", "]", a second value) is corrupt.
	// (dec.More alone let a stray "}" or "]" through.)
	if rest := bytes.Trim(b[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return nil, &ConfigError{Path: path, Err: errors.New("trailing data")}
	}
	return c, nil
}

// shortJSONError keeps decoder errors on one short line.
func shortJSONError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("syntax error at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("field %q has the wrong type", te.Field)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("the file ends too early")
	}
	return err
}

// save writes the config atomically: a temp file in the same folder, fsync, rename. A crash
// leaves either the old or the new file, never half of one.
func (c *Config) save() error {
	dir := filepath.Dir(c.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	if err := fsutil.WriteFileAtomic(c.path, append(b, '\n')); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	return nil
}

// homey finds a Homey by id, or by name (case-insensitive) when no id matches, among the
// account's cached Homeys and the API-key Homeys (see allHomeys).
func (c *Config) homey(nameOrID string) (homey.Homey, error) {
	all := c.allHomeys()
	for _, h := range all {
		if h.ID == nameOrID {
			return h, nil
		}
	}
	var found []homey.Homey
	for _, h := range all {
		if strings.EqualFold(h.Name, nameOrID) {
			found = append(found, h)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return homey.Homey{}, fmt.Errorf("%w: %q", errNoSuchHomey, nameOrID)
	default:
		return homey.Homey{}, fmt.Errorf("%w: %q matches %d Homeys, use its id", errAmbiguousHomey, nameOrID, len(found))
	}
}

// allHomeys is the account's Homeys followed by the API-key Homeys it does not list. A Homey
// in both lists appears once, with the account's details and the name given to `local add`.
func (c *Config) allHomeys() []homey.Homey {
	out := make([]homey.Homey, 0, len(c.Homeys)+len(c.LocalHomeys))
	for _, h := range c.Homeys {
		if l, ok := c.localHomey(h.ID); ok {
			h.Name = l.Name
		}
		out = append(out, h)
	}
	for _, l := range c.LocalHomeys {
		if !slices.ContainsFunc(c.Homeys, func(h homey.Homey) bool { return h.ID == l.ID }) {
			out = append(out, l.homey())
		}
	}
	return out
}

// localHomey is the API-key Homey with this id, if there is one.
func (c *Config) localHomey(id string) (LocalHomey, bool) {
	for _, l := range c.LocalHomeys {
		if l.ID == id && id != "" {
			return l, true
		}
	}
	return LocalHomey{}, false
}

var (
	errNoSuchHomey    = errors.New("no Homey of this account is called")
	errAmbiguousHomey = errors.New("ambiguous Homey name")
)
