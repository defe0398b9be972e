package homey

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// userMe is the /user/me example of docs/protocol.md#user.
const userMe = `{
  "_id": "5e6f7a8b9c0d1e2f3a4b5c6d",
  "firstname": "Ada", "lastname": "Lovelace", "fullname": "Ada Lovelace",
  "email": "ada@example.com", "language": "en",
  "avatar": {"small": "https://example.invalid/s.jpg", "medium": "https://example.invalid/m.jpg", "large": "https://example.invalid/l.jpg"},
  "roleIds": ["regular"],
  "devices": [],
  "homeys": [{
    "_id": "5f0c2a1b3c4d5e6f7a8b9c0d", "id": "5f0c2a1b3c4d5e6f7a8b9c0d",
    "name": "Home", "platform": "local", "platformVersion": 2, "apiVersion": 3,
    "softwareVersion": "12.4.0", "model": "homey5q", "language": "en",
    "state": "online", "role": "owner",
    "localUrl": "http://192.168.1.50",
    "localUrlSecure": "https://192-168-1-50.homey.homeylocal.com",
    "remoteUrl": "https://5f0c2a1b3c4d5e6f7a8b9c0d.connect.athom.com",
    "users": [{"userId": "5e6f7a8b9c0d1e2f3a4b5c6d", "role": "owner"}]
  }]
}`

func TestUserMeExample(t *testing.T) {
	var u User
	if err := json.Unmarshal([]byte(userMe), &u); err != nil {
		t.Fatal(err)
	}
	want := User{
		ID: "5e6f7a8b9c0d1e2f3a4b5c6d", FirstName: "Ada", LastName: "Lovelace",
		FullName: "Ada Lovelace", Email: "ada@example.com",
		Homeys: []Homey{{
			ID: "5f0c2a1b3c4d5e6f7a8b9c0d", Name: "Home", Platform: "local",
			PlatformVersion: 2, APIVersion: 3, SoftwareVersion: "12.4.0", Model: "homey5q",
			State: "online", Role: "owner",
			LocalURL:       "http://192.168.1.50",
			LocalURLSecure: "https://192-168-1-50.homey.homeylocal.com",
			RemoteURL:      "https://5f0c2a1b3c4d5e6f7a8b9c0d.connect.athom.com",
		}},
	}
	if !reflect.DeepEqual(u, want) {
		t.Errorf("got %+v\nwant %+v", u, want)
	}
	if got := u.Homeys[0].BaseURL(); got != want.Homeys[0].RemoteURL {
		t.Errorf("BaseURL() = %q; want the remote URL", got)
	}
}

func TestHomeyID(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"both", `{"_id":"a1","id":"a1"}`, "a1"},
		{"underscore only", `{"_id":"a1"}`, "a1"},
		{"id only", `{"id":"b2"}`, "b2"},
		{"underscore wins", `{"_id":"a1","id":"b2"}`, "a1"},
		{"none", `{"name":"x"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Homey
			if err := json.Unmarshal([]byte(tt.in), &h); err != nil {
				t.Fatal(err)
			}
			if h.ID != tt.want {
				t.Errorf("ID = %q; want %q", h.ID, tt.want)
			}
		})
	}
}

func TestHomeyWrongType(t *testing.T) {
	var h Homey
	if err := json.Unmarshal([]byte(`{"_id":"a","apiVersion":"3"}`), &h); err == nil {
		t.Error("apiVersion as a string decoded without error")
	}
}

func TestHomeyRoundTrip(t *testing.T) {
	h := Homey{ID: "a1", Name: "Cabin", APIVersion: 3, RemoteURL: "https://a1.connect.athom.com"}
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); !strings.Contains(s, `"id":"a1"`) || strings.Contains(s, `"_id"`) || strings.Contains(s, "localUrl") {
		t.Errorf("Marshal = %s; want \"id\", no \"_id\", empty URLs left out", s)
	}
	var back Homey
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back != h {
		t.Errorf("round trip = %+v; want %+v", back, h)
	}
	// As a value inside another struct (as main's config stores it).
	b, _ = json.Marshal(struct{ H []Homey }{[]Homey{h}})
	if !strings.Contains(string(b), `"id":"a1"`) {
		t.Errorf("nested Marshal = %s", b)
	}
}

func TestUserName(t *testing.T) {
	tests := []struct {
		u    User
		want string
	}{
		{User{FullName: "Ada Lovelace", FirstName: "A", Email: "a@x"}, "Ada Lovelace"},
		{User{FirstName: "Ada", LastName: "Lovelace", Email: "a@x"}, "Ada Lovelace"},
		{User{FirstName: "Ada", Email: "a@x"}, "Ada"},
		{User{LastName: "Lovelace"}, "Lovelace"},
		{User{Email: "a@x"}, "a@x"},
		{User{}, ""},
	}
	for _, tt := range tests {
		if got := tt.u.Name(); got != tt.want {
			t.Errorf("%+v.Name() = %q; want %q", tt.u, got, tt.want)
		}
	}
}

func TestBaseURL(t *testing.T) {
	tests := []struct{ remote, want string }{
		{"https://x.connect.athom.com", "https://x.connect.athom.com"},
		{"https://x.connect.athom.com/", "https://x.connect.athom.com"},
		{"", ""},
	}
	for _, tt := range tests {
		h := Homey{RemoteURL: tt.remote, LocalURL: "http://192.168.1.2"}
		if got := h.BaseURL(); got != tt.want {
			t.Errorf("BaseURL(%q) = %q; want %q", tt.remote, got, tt.want)
		}
	}
}

func TestCloudURL(t *testing.T) {
	tests := []struct{ env, want string }{
		{"", DefaultCloudURL},
		{"http://127.0.0.1:4000", "http://127.0.0.1:4000"},
		{"http://127.0.0.1:4000//", "http://127.0.0.1:4000"},
	}
	for _, tt := range tests {
		t.Setenv("ATHOM_CLOUD_API_BASEURL", tt.env)
		if got := CloudURL(); got != tt.want {
			t.Errorf("CloudURL() with %q = %q; want %q", tt.env, got, tt.want)
		}
	}
}

func TestEndpoint(t *testing.T) {
	got := Endpoint("http://127.0.0.1:4000/")
	want := oauth2.Endpoint{
		AuthURL:   "http://127.0.0.1:4000/oauth2/authorise",
		TokenURL:  "http://127.0.0.1:4000/oauth2/token",
		AuthStyle: oauth2.AuthStyleInHeader,
	}
	if got != want {
		t.Errorf("Endpoint = %+v; want %+v", got, want)
	}
	t.Setenv("ATHOM_CLOUD_API_BASEURL", "")
	if got := Endpoint("").TokenURL; got != DefaultCloudURL+"/oauth2/token" {
		t.Errorf("Endpoint(\"\").TokenURL = %q", got)
	}
}
