// Package config keeps homeytray's two small files apart:
//
//   - the settings, config.json in the config folder: what the user chose (the Athom Web API
//     client, the redirect URI, the selected Homey, the API-key Homeys, preferences). Losing a
//     setting betrays the user.
//   - the cache, cache.json in the cache folder: what homeytray only remembers (who is signed in,
//     the account's Homeys, the address that won each Homey's race, the last refresh error).
//     Losing it costs one call to the Athom cloud.
//
// Neither ever holds a secret: the client secret, tokens, bearers and API keys live in the
// keychain (auth.Store).
//
// Many homeytray processes run at once (the tray, `serve`, a script's `token`, a `use` at the
// terminal), and each may change either file. So every change is a transaction: take a lock file
// beside the file (fsutil.Lock: the kernel frees it if the process dies), read the file as it is
// now, apply one change, write it atomically, release. No process writes back a copy it read
// earlier, and two processes that change different things at the same moment both win. Reads
// are cheap: a [Store] keeps what it parsed and reads a file again only when it changed on disk.
package config

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/fsutil"
)

// Settings are the user's choices: config.json.
type Settings struct {
	ClientID          string `json:"client_id,omitempty"`
	RedirectURI       string `json:"redirect_uri,omitempty"`
	SelectedHomey     string `json:"selected_homey,omitempty"`
	InsecureFileStore bool   `json:"insecure_file_store,omitempty"`
	// LocalHomeys are the Homeys reached with an API key (`local add`); their keys are in the
	// keychain, never here. A Homey in both lists is reached with its key.
	LocalHomeys []LocalHomey `json:"local_homeys,omitempty"`
	// ClipboardClearSeconds: how long the tray leaves a copied bearer on the clipboard
	// (nil = 60 s, 0 = never).
	ClipboardClearSeconds *int `json:"clipboard_clear_seconds,omitempty"`
}

// LocalHomey is a Homey reached with an API key. No secret: the key is in the keychain.
type LocalHomey struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Address string `json:"address"` // base URL, e.g. http://192.168.1.20, no trailing slash
	// KeyID and KeyName are set when homeytray made the key (`local add --create-key`): its id
	// and name on the Homey, so that `local remove` can delete it there. Not secret.
	KeyID   string `json:"key_id,omitempty"`
	KeyName string `json:"key_name,omitempty"`
}

// Homey is l as a homey.Homey (for lists and the tray).
func (l LocalHomey) Homey() homey.Homey {
	h := homey.Homey{ID: l.ID, Name: l.Name, Platform: "local"}
	if strings.HasPrefix(l.Address, "https://") {
		h.LocalURLSecure = l.Address
	} else {
		h.LocalURL = l.Address
	}
	return h
}

// Cache is what homeytray remembers: cache.json.
type Cache struct {
	User            *User         `json:"user,omitempty"`
	Homeys          []homey.Homey `json:"homeys,omitempty"`
	HomeysFetchedAt time.Time     `json:"homeys_fetched_at,omitzero"`
	// Routes remembers, per Homey id, the address that won the last race (LAN or relay).
	Routes           map[string]homey.Route `json:"routes,omitempty"`
	LastRefreshError string                 `json:"last_refresh_error,omitempty"`
	LastRefreshErrAt time.Time              `json:"last_refresh_error_at,omitzero"`
}

// User is who is signed in, as /user/me said at the last sign-in or Homey list.
type User struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
}

// legacy is a config.json written before the cache had a file of its own: the cache's fields
// sat beside the settings. They seed the cache until it is written.
type legacy struct {
	Settings
	Cache
}

// Error is a config file that exists but cannot be used. The file is left as it is.
type Error struct {
	Path string
	Err  error
}

// Error names the file and the fix.
func (e *Error) Error() string {
	return fmt.Sprintf("config file %s is not valid JSON (%v): fix or remove it", e.Path, e.Err)
}

// Unwrap returns the parse error.
func (e *Error) Unwrap() error { return e.Err }

// Snapshot is the settings and the cache as they were when read. It is for reading only: its
// slices and maps are shared with other snapshots of the same files (a change goes through the
// Store's Update methods).
type Snapshot struct {
	Settings
	Cache
}

// Store is one profile's settings and cache files. It is safe for concurrent use; the zero
// value needs both paths set.
type Store struct {
	SettingsPath string // <config folder>/config.json
	CachePath    string // <cache folder>/cache.json

	mu       sync.Mutex
	settings parsed[legacy]
	cache    parsed[Cache]
	watched  stamp // config.json as SettingsChanged last saw it
}

// parsed is a file's content as last read, and how the file looked then.
type parsed[T any] struct {
	value T
	stamp stamp
	ok    bool
}

// stamp tells whether a file changed: its size, modification time and identity. An atomic
// replace makes a new file, so even a change within the clock's resolution shows.
type stamp struct {
	exists bool
	size   int64
	mod    time.Time
	fi     os.FileInfo
}

func (s stamp) same(o stamp) bool {
	if s.exists != o.exists {
		return false
	}
	if !s.exists {
		return true
	}
	return s.size == o.size && s.mod.Equal(o.mod) && os.SameFile(s.fi, o.fi)
}

func stampOf(path string) (stamp, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return stamp{}, nil
	case err != nil:
		return stamp{}, err
	}
	return stamp{exists: true, size: fi.Size(), mod: fi.ModTime(), fi: fi}, nil
}

// Load returns the settings and the cache as they are on disk now (parsed again only where a
// file changed since the last read). A damaged config.json is an *Error; a damaged cache.json
// is an empty cache (it is only a cache, and the next change replaces it).
func (s *Store) Load() (*Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	set, err := s.loadSettings()
	if err != nil {
		return nil, err
	}
	c, err := s.loadCache(set)
	if err != nil {
		return nil, err
	}
	// No deep copy: a parsed value is never changed (a transaction parses the file anew), so
	// snapshots share its slices and maps, read-only.
	return &Snapshot{Settings: set.Settings, Cache: c}, nil
}

func (s *Store) loadSettings() (legacy, error) {
	st, err := stampOf(s.SettingsPath)
	if err != nil {
		return legacy{}, fmt.Errorf("read config: %w", err)
	}
	if s.settings.ok && s.settings.stamp.same(st) {
		return s.settings.value, nil
	}
	v, err := readSettings(s.SettingsPath)
	if err != nil {
		return legacy{}, err
	}
	s.settings = parsed[legacy]{value: v, stamp: st, ok: true}
	return v, nil
}

func (s *Store) loadCache(set legacy) (Cache, error) {
	st, err := stampOf(s.CachePath)
	if err != nil {
		return Cache{}, fmt.Errorf("read the cache: %w", err)
	}
	if !st.exists {
		return set.Cache, nil // a config.json of before the cache file, or nothing at all
	}
	if s.cache.ok && s.cache.stamp.same(st) {
		return s.cache.value, nil
	}
	c := readCache(s.CachePath)
	s.cache = parsed[Cache]{value: c, stamp: st, ok: true}
	return c, nil
}

// UpdateSettings changes the settings in one transaction: under the lock beside config.json it
// reads the file as it is now, calls change, and writes the result atomically (nothing when
// change changed nothing). An error from change aborts it: nothing is written.
func (s *Store) UpdateSettings(ctx context.Context, change func(*Settings) error) error {
	if err := s.migrate(ctx); err != nil {
		return err
	}
	return update(ctx, s.SettingsPath, readSettings, func(l *legacy) error { return change(&l.Settings) },
		func(l legacy) any { return l.Settings })
}

// UpdateCache changes the cache in one transaction, as UpdateSettings does the settings.
func (s *Store) UpdateCache(ctx context.Context, change func(*Cache) error) error {
	read := func(path string) (Cache, error) {
		if st, err := stampOf(path); err == nil && !st.exists {
			// No cache file yet: start from what an older config.json remembered.
			if l, err := readSettings(s.SettingsPath); err == nil {
				return l.Cache, nil
			}
		}
		return readCache(path), nil
	}
	return update(ctx, s.CachePath, read, change, func(c Cache) any { return c })
}

// migrate writes cache.json from the cache fields of an older config.json, once, before a change
// of the settings drops those fields from it.
func (s *Store) migrate(ctx context.Context) error {
	if st, err := stampOf(s.CachePath); err != nil || st.exists {
		return nil // a cache file exists (or cannot be looked at: then the cache is simply lost)
	}
	l, err := readSettings(s.SettingsPath)
	if err != nil || reflect.ValueOf(l.Cache).IsZero() {
		return nil // nothing to keep; a damaged config.json is UpdateSettings' to report
	}
	unlock, err := fsutil.Lock(ctx, s.CachePath+".lock")
	if err != nil {
		return fmt.Errorf("save %s: %w", baseName(s.CachePath), err)
	}
	defer unlock()
	if st, err := stampOf(s.CachePath); err != nil || st.exists {
		return nil // another process wrote it meanwhile
	}
	return write(s.CachePath, l.Cache)
}

// update is one transaction on the file at path.
func update[T any](ctx context.Context, path string, read func(string) (T, error), change func(*T) error, out func(T) any) error {
	unlock, err := fsutil.Lock(ctx, path+".lock")
	if err != nil {
		return fmt.Errorf("save %s: %w", baseName(path), err)
	}
	defer unlock()
	v, err := read(path)
	if err != nil {
		return err
	}
	before, err := json.Marshal(out(v))
	if err != nil {
		return fmt.Errorf("save %s: %w", baseName(path), err)
	}
	if err := change(&v); err != nil {
		return err
	}
	if after, err := json.Marshal(out(v)); err == nil && bytes.Equal(before, after) {
		return nil // nothing changed: nothing to write
	}
	return write(path, out(v))
}

// write replaces the file at path with v as indented JSON, atomically. The caller holds the
// file's lock.
func write(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("save %s: %w", baseName(path), err)
	}
	// Under the file's lock no other writer is in flight: every temp file beside it is from a
	// writer that was killed, and goes.
	if err := fsutil.WriteFileAtomicLocked(path, append(b, '\n')); err != nil {
		return fmt.Errorf("save %s: %w", baseName(path), err)
	}
	return nil
}

// Remove deletes both files (and what a killed writer left beside them): `logout --all`.
func (s *Store) Remove() error {
	for _, p := range []string{s.SettingsPath, s.CachePath} {
		if err := fsutil.RemoveFile(p); err != nil {
			return fmt.Errorf("remove %s: %w", baseName(p), err)
		}
	}
	return nil
}

func baseName(path string) string {
	if i := strings.LastIndexAny(path, `/\`); i >= 0 {
		return path[i+1:]
	}
	return path
}

// readSettings reads config.json; a missing file is empty settings.
func readSettings(path string) (legacy, error) {
	var l legacy
	b, err := fsutil.ReadFile(path) // another process may be replacing it (Windows)
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return l, fmt.Errorf("read config: %w", err)
	}
	if err := decodeStrict(b, &l); err != nil {
		return legacy{}, &Error{Path: path, Err: err}
	}
	return l, nil
}

// readCache reads cache.json; a missing or damaged file is an empty cache.
func readCache(path string) Cache {
	var c Cache
	b, err := fsutil.ReadFile(path)
	if err != nil || decodeStrict(b, &c) != nil {
		return Cache{}
	}
	return c
}

// decodeStrict decodes one JSON value and refuses anything but white space after it.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return shortJSONError(err)
	}
	// Anything but JSON whitespace after the value ("}}", "]", a second value) is corrupt.
	// (dec.More alone let a stray "}" or "]" through.)
	if rest := bytes.Trim(b[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return errors.New("trailing data")
	}
	return nil
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
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return errors.New("the file ends too early")
	}
	return err
}

// Homey finds a Homey by id, or by name (case-insensitive) when no id matches, among the
// account's Homeys and the API-key Homeys (see AllHomeys).
func (s *Snapshot) Homey(nameOrID string) (homey.Homey, error) {
	all := s.AllHomeys()
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
		return homey.Homey{}, fmt.Errorf("%w: %q", ErrNoSuchHomey, nameOrID)
	default:
		return homey.Homey{}, fmt.Errorf("%w: %q matches %d Homeys, use its id", ErrAmbiguousHomey, nameOrID, len(found))
	}
}

// AllHomeys is the account's Homeys followed by the API-key Homeys it does not list. A Homey in
// both lists appears once, with the account's details and the name given to `local add`.
func (s *Snapshot) AllHomeys() []homey.Homey {
	return AllHomeys(s.Homeys, s.LocalHomeys)
}

// AllHomeys is Snapshot.AllHomeys for the two lists.
func AllHomeys(account []homey.Homey, local []LocalHomey) []homey.Homey {
	out := make([]homey.Homey, 0, len(account)+len(local))
	for _, h := range account {
		if i := slices.IndexFunc(local, func(l LocalHomey) bool { return l.ID == h.ID }); i >= 0 {
			h.Name = local[i].Name
		}
		out = append(out, h)
	}
	for _, l := range local {
		if !slices.ContainsFunc(account, func(h homey.Homey) bool { return h.ID == l.ID }) {
			out = append(out, l.Homey())
		}
	}
	return out
}

// LocalHomey is the API-key Homey with this id, if there is one.
func (s *Settings) LocalHomey(id string) (LocalHomey, bool) {
	for _, l := range s.LocalHomeys {
		if l.ID == id && id != "" {
			return l, true
		}
	}
	return LocalHomey{}, false
}

// Errors of Homey.
var (
	ErrNoSuchHomey    = errors.New("no Homey of this account is called")
	ErrAmbiguousHomey = errors.New("ambiguous Homey name")
)

// Way is how a Homey is reached, as the settings decide it: with its API key at an address
// (`local add`), or through the Athom sign-in. A Homey that has both is reached with its key
// (docs/decisions.md#api-key-wins). The cli picks its homey.Access by it; lists show it.
type Way struct {
	Kind    string // WayAPIKey or WaySignIn
	Address string // the API key's address
}

// The kinds of Way, as `homeys --json` and `status --json` name them.
const (
	WayAPIKey = "api_key"
	WaySignIn = "athom"
)

// Way is how the Homey with this id is reached.
func (s *Settings) Way(id string) Way {
	if l, ok := s.LocalHomey(id); ok {
		return Way{Kind: WayAPIKey, Address: l.Address}
	}
	return Way{Kind: WaySignIn}
}

// String is the way for a table: "Athom sign-in" or "API key, <address>".
func (w Way) String() string {
	if w.Kind == WayAPIKey {
		return "API key, " + w.Address
	}
	return "Athom sign-in"
}

// SettingsChanged reports whether config.json changed on disk since the last call (the first
// call: since nothing, so true only if it exists): another process's `use`, `local add` or
// `setup`. A long-running process asks it now and then.
func (s *Store) SettingsChanged() bool {
	st, err := stampOf(s.SettingsPath)
	if err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := !s.watched.same(st)
	s.watched = st
	return changed
}
