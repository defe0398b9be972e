package emulator

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

const stateVersion = 1

// state is the StateFile: what a later process needs to continue where an
// earlier one stopped.
type state struct {
	Version       int                  `json:"version"`
	CloudAddr     string               `json:"cloud_addr"`
	HomeyAddrs    map[string]string    `json:"homey_addrs"` // Homey id -> relay listen address
	LocalAddrs    map[string]string    `json:"local_addrs"` // Homey id -> local listen address
	ClientID      string               `json:"client_id"`
	ClientSecret  string               `json:"client_secret"`
	RedirectURI   string               `json:"redirect_uri"`
	PrivateKey    string               `json:"private_key"` // PKCS #8 PEM: signs delegation tokens
	Codes         map[string]*authCode `json:"codes"`
	AccessTokens  map[string]time.Time `json:"access_tokens"`  // token -> expiry
	RefreshTokens map[string]time.Time `json:"refresh_tokens"` // token -> issued
	Sessions      map[string]*session  `json:"sessions"`
}

// processKey is the signing key of every Server of this process that does
// not load one from its StateFile (RSA 2048 costs ~0.1 s to generate).
var processKey = sync.OnceValues(func() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, 2048)
})

func loadState(path string) (*state, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state file: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("read state file %s: %w", path, err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("read state file %s: unsupported version %d", path, st.Version)
	}
	return &st, nil
}

// applyState sets the client, the key and the live tokens from o and st (st may be nil).
func (s *Server) applyState(o Options, st *state) error {
	if st == nil {
		st = &state{}
	}
	s.clientID = firstOf(o.ClientID, st.ClientID, randHex(12))
	s.clientSecret = firstOf(o.ClientSecret, st.ClientSecret, randHex(20))
	s.redirectURI = firstOf(o.RedirectURI, st.RedirectURI, DefaultRedirectURI)
	if u, err := url.Parse(s.redirectURI); err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" {
		return fmt.Errorf("invalid redirect URI %q: need an absolute URL without fragment", s.redirectURI)
	}
	var err error
	if st.PrivateKey != "" {
		s.key, err = parseKey(st.PrivateKey)
	} else {
		s.key, err = processKey()
	}
	if err != nil {
		return fmt.Errorf("signing key: %w", err)
	}
	maps.Copy(s.codes, st.Codes)
	maps.Copy(s.access, st.AccessTokens)
	maps.Copy(s.refresh, st.RefreshTokens)
	maps.Copy(s.sessions, st.Sessions)
	for _, m := range []map[string]time.Time{st.AccessTokens, st.RefreshTokens} {
		s.issued = slices.AppendSeq(s.issued, maps.Keys(m))
	}
	s.issued = slices.AppendSeq(s.issued, maps.Keys(st.Sessions))
	s.issued = slices.AppendSeq(s.issued, maps.Keys(st.Codes))
	return nil
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func parseKey(p string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(p))
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok || rk.N.BitLen() < 2048 {
		return nil, errors.New("not an RSA key of at least 2048 bits")
	}
	return rk, nil
}

// snapshotLocked is the state to save: only what is still live.
func (s *Server) snapshotLocked() (*state, error) {
	der, err := x509.MarshalPKCS8PrivateKey(s.key)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	st := &state{
		Version: stateVersion, CloudAddr: s.cloud.ln.Addr().String(), HomeyAddrs: map[string]string{},
		LocalAddrs: map[string]string{},
		ClientID:   s.clientID, ClientSecret: s.clientSecret, RedirectURI: s.redirectURI,
		PrivateKey:   string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		Codes:        map[string]*authCode{},
		AccessTokens: map[string]time.Time{}, RefreshTokens: maps.Clone(s.refresh),
		Sessions: map[string]*session{},
	}
	for _, h := range s.homeys {
		st.HomeyAddrs[h.id] = h.lis.ln.Addr().String()
		st.LocalAddrs[h.id] = h.local.addr
	}
	for c, ac := range s.codes {
		if !ac.Used && now.Before(ac.Expiry) {
			st.Codes[c] = ac
		}
	}
	for t, exp := range s.access {
		if now.Before(exp) {
			st.AccessTokens[t] = exp
		}
	}
	for t, sess := range s.sessions {
		if now.Before(sess.Expiry) {
			st.Sessions[t] = sess
		}
	}
	return st, nil
}

// saveLocked writes the StateFile, if any, atomically with mode 0600.
func (s *Server) saveLocked() error {
	if s.stateFile == "" {
		return nil
	}
	st, err := s.snapshotLocked()
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := writeFileAtomic(s.stateFile, b); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// saveLogged saves for callers that cannot return an error (the switches).
func (s *Server) saveLogged() {
	if err := s.saveLocked(); err != nil {
		log.Printf("emulator: %v", err)
	}
}

// writeFileAtomic writes a temporary file in path's folder and renames it over path.
func writeFileAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// StateInfo reads what a running emulator that keeps its state in path told its clients: its
// cloud URL and its client. `homeytray demo COMMAND` uses it to talk to the emulator inside a
// running demo tray instead of starting a second one on the same ports.
func StateInfo(path string) (Info, error) {
	st, err := loadState(path)
	if err != nil {
		return Info{}, err
	}
	if st == nil {
		return Info{}, fmt.Errorf("read state file %s: %w", path, fs.ErrNotExist)
	}
	return Info{Cloud: "http://" + st.CloudAddr, ClientID: st.ClientID, ClientSecret: st.ClientSecret,
		RedirectURI: st.RedirectURI}, nil
}
