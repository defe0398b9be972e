package emulator

// The fixture: one signed-in user, Ada Lovelace, who owns two Homey Pro
// (Early 2023) units, "Home" and "Cabin", each with three zones and a few
// devices. Ids are fixed so that tests and state files can rely on them.

var fixtureUser = struct{ id, first, last, email string }{
	id: "5e6f7a8b9c0d1e2f3a4b5c6d", first: "Ada", last: "Lovelace", email: "ada@example.com",
}

// homey is one emulated Homey: its identity, listener and data (guarded by Server.mu).
type homey struct {
	id, name, model, version string
	lis                      *listener // the relay: remoteUrl
	local                    *listener // the LAN address: localUrl (its url stays when stopped)
	localStopped             bool      // StopLocal: the local listener is closed
	wrongID                  bool      // SetWrongID: another device answers at localUrl
	forwarded                *listener // remoteUrlForwarded (Variant.Forwarded); nil until needed
	variant                  Variant   // SetVariant
	zones                    map[string]*zone
	devices                  map[string]*device
}

// userDoc is the /user/me answer.
type userDoc struct {
	ID        string            `json:"_id"`
	FirstName string            `json:"firstname"`
	LastName  string            `json:"lastname"`
	FullName  string            `json:"fullname"`
	Email     string            `json:"email"`
	Language  string            `json:"language"`
	Avatar    map[string]string `json:"avatar"`
	RoleIDs   []string          `json:"roleIds"`
	Roles     []any             `json:"roles"`
	Devices   []any             `json:"devices"`
	Homeys    []homeyDoc        `json:"homeys"`
}

// homeyDoc is one Homey in /user/me: localUrl is the Homey's local listener,
// remoteUrl its relay listener. No localUrlSecure (the emulator serves no TLS)
// and no remoteUrlForwarded.
type homeyDoc struct {
	ID              string         `json:"_id"`
	IDAlias         string         `json:"id"`
	Name            string         `json:"name"`
	Platform        string         `json:"platform"`
	PlatformVersion int            `json:"platformVersion"`
	APIVersion      int            `json:"apiVersion"`
	SoftwareVersion string         `json:"softwareVersion"`
	Model           string         `json:"model"`
	Language        string         `json:"language"`
	Region          string         `json:"region"`
	State           string         `json:"state"`
	Role            string         `json:"role"`
	LocalURL        string         `json:"localUrl,omitempty"`
	RemoteURL       string         `json:"remoteUrl"`
	RemoteForwarded string         `json:"remoteUrlForwarded,omitempty"`
	Users           []homeyUserDoc `json:"users"`
}

type homeyUserDoc struct {
	UserID string `json:"userId"`
	Role   string `json:"role"`
}

// userDoc builds /user/me; s.mu must be held.
func (s *Server) userDoc() userDoc {
	u := fixtureUser
	doc := userDoc{
		ID: u.id, FirstName: u.first, LastName: u.last, FullName: u.first + " " + u.last,
		Email: u.email, Language: "en", RoleIDs: []string{"regular"}, Roles: []any{}, Devices: []any{},
		Avatar: map[string]string{
			"small":  "https://example.invalid/avatar/small.jpg",
			"medium": "https://example.invalid/avatar/medium.jpg",
			"large":  "https://example.invalid/avatar/large.jpg",
		},
		Homeys: []homeyDoc{},
	}
	for _, h := range s.homeys {
		d := homeyDoc{
			ID: h.id, IDAlias: h.id, Name: h.name, Platform: "local", PlatformVersion: 2, APIVersion: 3,
			SoftwareVersion: h.version, Model: h.model, Language: "en", Region: "eu", State: "online",
			Role: "owner", LocalURL: h.local.url, RemoteURL: h.lis.url, Users: []homeyUserDoc{{UserID: u.id, Role: "owner"}},
		}
		v := h.variant
		if v.Platform != "" {
			d.Platform, d.Model = v.Platform, "cloud"
		}
		if v.APIVersion != 0 {
			d.APIVersion, d.PlatformVersion = v.APIVersion, 1
		}
		if v.Forwarded && h.forwarded != nil {
			d.LocalURL, d.RemoteForwarded = "", h.forwarded.url
		}
		doc.Homeys = append(doc.Homeys, d)
	}
	return doc
}

// ownsHomey reports whether user id may sign in on Homey h.
func ownsHomey(userID string, _ *homey) bool { return userID == fixtureUser.id }

// fixtureHomeys returns fresh Homeys with their zones and devices.
func fixtureHomeys() []*homey {
	home := newHomey("5f0c2a1b3c4d5e6f7a8b9c0d", "Home",
		[]*zone{
			newZone("9919ee1e-ffbc-480b-bc4b-77fb047e9e68", "Home", "", "home"),
			newZone("0d1e2f3a-4b5c-4d6e-9f0a-1b2c3d4e5f6a", "Living room", "9919ee1e-ffbc-480b-bc4b-77fb047e9e68", "livingRoom"),
			newZone("1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", "Kitchen", "9919ee1e-ffbc-480b-bc4b-77fb047e9e68", "kitchen"),
		},
		[]*device{
			newDevice("6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "Desk lamp", "0d1e2f3a-4b5c-4d6e-9f0a-1b2c3d4e5f6a", "light", "com.ikea.tradfri:bulb",
				onoff(true), dim(0.4)),
			newDevice("7b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e", "Ceiling light", "0d1e2f3a-4b5c-4d6e-9f0a-1b2c3d4e5f6a", "light", "com.philips.hue.zigbee:LWA001",
				onoff(false), dim(1), lightTemperature(0.3)),
			newDevice("8c3d4e5f-6a7b-4c8d-8e9f-1a2b3c4d5e6f", "Thermostat", "0d1e2f3a-4b5c-4d6e-9f0a-1b2c3d4e5f6a", "thermostat", "com.tado2:thermostat",
				targetTemperature(20.5), measureTemperature(19.8)),
			newDevice("9d4e5f6a-7b8c-4d9e-9f0a-2b3c4d5e6f7a", "Kettle plug", "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", "socket", "com.fibaro:FGWPx-102",
				onoff(false), measurePower(0)),
			newDevice("ae5f6a7b-8c9d-4e0f-8a1b-3c4d5e6f7a8b", "Fridge sensor", "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", "sensor", "com.aqara:door-sensor",
				alarmContact(false), measureTemperature(4.2), measureBattery(87)),
			newDevice("bf6a7b8c-9d0e-4f1a-9b2c-4d5e6f7a8b9c", "Front door", "9919ee1e-ffbc-480b-bc4b-77fb047e9e68", "lock", "com.nuki:smartlock",
				locked(true), measureBattery(64)),
		})
	home.model, home.version = "homey5q", "12.4.0"
	cabin := newHomey("6a1d3b2c4e5f6071829a3b4c", "Cabin",
		[]*zone{
			newZone("2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e", "Cabin", "", "home"),
			newZone("3a4b5c6d-7e8f-4a9b-8c0d-2e3f4a5b6c7d", "Porch", "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e", "garden"),
			newZone("4f5e6d7c-8b9a-4c0d-9e1f-3a4b5c6d7e8f", "Sauna", "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e", "bathroom"),
		},
		[]*device{
			newDevice("c07b8c9d-0e1f-4a2b-8c3d-5e6f7a8b9c0d", "Porch light", "3a4b5c6d-7e8f-4a9b-8c0d-2e3f4a5b6c7d", "light", "com.ikea.tradfri:bulb",
				onoff(false), dim(0.8)),
			newDevice("d18c9d0e-1f2a-4b3c-9d4e-6f7a8b9c0d1e", "Motion sensor", "3a4b5c6d-7e8f-4a9b-8c0d-2e3f4a5b6c7d", "sensor", "com.aqara:motion-sensor",
				alarmMotion(false), measureBattery(92)),
			newDevice("e29d0e1f-2a3b-4c4d-8e5f-7a8b9c0d1e2f", "Sauna heater", "4f5e6d7c-8b9a-4c0d-9e1f-3a4b5c6d7e8f", "heater", "com.shelly:shelly-pro-2pm",
				onoff(false), measurePower(0), measureTemperature(23.1)),
			newDevice("f3ae1f2a-3b4c-4d5e-9f6a-8b9c0d1e2f3a", "Cabin thermostat", "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e", "thermostat", "com.danfoss:ally",
				targetTemperature(16), measureTemperature(15.5)),
		})
	cabin.model, cabin.version = "homey5q", "12.4.0"
	return []*homey{home, cabin}
}

func newHomey(id, name string, zones []*zone, devices []*device) *homey {
	h := &homey{id: id, name: name, zones: map[string]*zone{}, devices: map[string]*device{}}
	for _, z := range zones {
		h.zones[z.ID] = z
	}
	for _, d := range devices {
		h.devices[d.ID] = d
	}
	return h
}
