package cli

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/homeytray/homeytray/homey"
)

// settings is where this run's choices come from: the profile, the environment, the flags that
// apply to every command, and the config file (read once).
type settings struct {
	getenv   func(string) string
	profile  string // "" for the real sign-in; $HOMEYTRAY_PROFILE; "demo" for `homeytray demo`
	demo     bool   // running against the in-process emulator
	insecure bool   // --insecure-file-store for this run
	cfg      *Config
	httpc    *http.Client // bounds every request to the Athom cloud and the Homeys
}

// cmdPrefix is how the user runs this program, for hints ("homeytray login").
func (s *settings) cmdPrefix() string {
	if s.demo {
		return "homeytray demo"
	}
	return "homeytray"
}

// validProfile keeps profile names usable as folder and keychain service names:
// 1–32 lowercase letters, digits and dashes, not starting with a dash.
func validProfile(p string) bool {
	if p == "" || len(p) > 32 || p[0] == '-' {
		return false
	}
	for _, r := range p {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}

func (s *settings) appName() string {
	if s.profile == "" {
		return "homeytray"
	}
	return "homeytray-" + s.profile
}

func (s *settings) configDir() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the config folder: %w", err)
	}
	return filepath.Join(dir, s.appName()), nil
}

// config loads config.json once per process.
func (s *settings) config() (*Config, error) {
	if s.cfg != nil {
		return s.cfg, nil
	}
	dir, err := s.configDir()
	if err != nil {
		return nil, err
	}
	c, err := loadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	s.cfg = c
	return c, nil
}

func (s *settings) cloudURL() string {
	if v := strings.TrimRight(s.getenv("ATHOM_CLOUD_API_BASEURL"), "/"); v != "" {
		return v
	}
	return homey.DefaultCloudURL
}

func (s *settings) clientID(c *Config) string {
	if v := s.getenv("HOMEYTRAY_CLIENT_ID"); v != "" {
		return v
	}
	return c.ClientID
}

func (s *settings) redirectURI(c *Config) string {
	if v := s.getenv("HOMEYTRAY_REDIRECT_URI"); v != "" {
		return v
	}
	if c.RedirectURI != "" {
		return c.RedirectURI
	}
	return defaultRedirectURI
}

// lockPath is the cross-process refresh lock, in the per-user cache folder.
func (s *settings) lockPath() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find the cache folder: %w", err)
	}
	dir = filepath.Join(dir, s.appName())
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create the cache folder: %w", err)
	}
	return filepath.Join(dir, "refresh.lock"), nil
}
