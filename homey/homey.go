// Package homey speaks the Athom cloud and Homey HTTP APIs: the signed-in user and their Homeys
// ([Cloud]), one Homey's manager routes ([Client]), the Homey session bearers that those routes
// need ([Bearers]) and the choice of address to reach a Homey at, local first ([Race], [Routes]).
// For a Homey reached on its LAN with an API key it finds the Homeys that announce themselves
// ([Discover], mDNS), checks that an address is the Homey before a key goes there ([Ping],
// [Pinged]) and what a key's scopes allow ([HasScope]). [IsNetworkError] and [NetworkCause]
// classify failures to reach a server, for the messages of the command line and the tray.
// [Stream] keeps a realtime connection to a Homey (Socket.IO 2 over Engine.IO 3) and delivers
// its events (capability values, device changes), with the bearer of [Bearers.Realtime] or an
// API key ([StaticBearer]).
//
// The package knows nothing about how the Athom access token is obtained or stored: it takes an
// [oauth2.TokenSource] and, when the cloud rejects a token, tells it so through the optional
// [Rejecter] interface. Bearer tokens travel only in the Authorization header; errors are one line
// and never hold a token or a raw server body.
package homey

import (
	"encoding/json"
	"os"
	"strings"

	"golang.org/x/oauth2"
)

// DefaultCloudURL is the Athom cloud API base URL used when ATHOM_CLOUD_API_BASEURL is unset.
const DefaultCloudURL = "https://api.athom.com"

// CloudURL returns $ATHOM_CLOUD_API_BASEURL without trailing slashes, or [DefaultCloudURL].
func CloudURL() string {
	if u := strings.TrimRight(strings.TrimSpace(os.Getenv("ATHOM_CLOUD_API_BASEURL")), "/"); u != "" {
		return u
	}
	return DefaultCloudURL
}

// Endpoint returns the Athom OAuth2 endpoint under cloudURL ("" means [CloudURL]). The client
// credentials go in a Basic header, as the official library sends them; setting the style
// explicitly also stops x/oauth2 from retrying every failed token request with the other style.
func Endpoint(cloudURL string) oauth2.Endpoint {
	c := strings.TrimRight(cloudURL, "/")
	if c == "" {
		c = CloudURL()
	}
	return oauth2.Endpoint{
		AuthURL:   c + "/oauth2/authorise",
		TokenURL:  c + "/oauth2/token",
		AuthStyle: oauth2.AuthStyleInHeader,
	}
}

// User is the signed-in Athom account, as GET /user/me returns it.
type User struct {
	ID        string  `json:"_id"`
	FirstName string  `json:"firstname"`
	LastName  string  `json:"lastname"`
	FullName  string  `json:"fullname"`
	Email     string  `json:"email"`
	Homeys    []Homey `json:"homeys"`
}

// Name is the user's full name, else first and last name, else the e-mail address.
func (u *User) Name() string {
	if u.FullName != "" {
		return u.FullName
	}
	if n := strings.TrimSpace(u.FirstName + " " + u.LastName); n != "" {
		return n
	}
	return u.Email
}

// Homey is one Homey of the user, as listed by GET /user/me. Its ID is the cloud id; the cloud
// sends it as "_id" (and usually "id" too), and [Homey.MarshalJSON] writes it as "id".
type Homey struct {
	ID                 string `json:"id"`
	Name               string `json:"name"`
	Platform           string `json:"platform"`
	PlatformVersion    int    `json:"platformVersion"`
	APIVersion         int    `json:"apiVersion"`
	SoftwareVersion    string `json:"softwareVersion"`
	Model              string `json:"model"`
	State              string `json:"state"`
	Role               string `json:"role"`
	LocalURL           string `json:"localUrl,omitempty"`
	LocalURLSecure     string `json:"localUrlSecure,omitempty"`
	RemoteURL          string `json:"remoteUrl,omitempty"`
	RemoteURLForwarded string `json:"remoteUrlForwarded,omitempty"`
}

// homeyFields has Homey's fields without its methods, for the default JSON coding.
type homeyFields Homey

// UnmarshalJSON reads a Homey, taking its ID from "_id" or, when that is absent, "id".
func (h *Homey) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var v struct {
		homeyFields
		UnderscoreID string `json:"_id"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*h = Homey(v.homeyFields)
	if v.UnderscoreID != "" {
		h.ID = v.UnderscoreID
	}
	return nil
}

// MarshalJSON writes a Homey with its ID as "id".
func (h Homey) MarshalJSON() ([]byte, error) {
	return json.Marshal(homeyFields(h))
}

// BaseURL is h's cloud relay URL (remoteUrl), without a trailing slash; "" when the cloud listed
// none. It is the route [Bearers] uses without a [Router]; [Race] and [Routes] pick among all of
// h's [Homey.Candidates], local ones first.
func (h Homey) BaseURL() string {
	return strings.TrimRight(h.RemoteURL, "/")
}
