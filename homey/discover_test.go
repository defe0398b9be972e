package homey

import (
	"net"
	"strings"
	"testing"

	"github.com/hashicorp/mdns"
)

// Discover itself is tested for real in e2e/discover_test.go (two network namespaces and an mDNS
// responder of the test's own); these are the pure steps from an answer to a row.

const testHomeyID = "5f0c2a1b3c4d5e6f7a8b9c0d"

func TestFromEntry(t *testing.T) {
	ip := net.IPv4(10, 213, 0, 1)
	for _, c := range []struct {
		e    mdns.ServiceEntry
		want Discovered
		ok   bool
	}{
		{mdns.ServiceEntry{Name: `Homey\ Pro._homey._tcp.local.`, Host: "homey-5F0C2A1B3C4D5E6F7A8B9C0D.local.", AddrV4: ip, Port: 80},
			Discovered{Name: "Homey Pro", Address: "http://10.213.0.1", ID: testHomeyID}, true},
		{mdns.ServiceEntry{Name: `Caf\195\169._homey._tcp.local.`, AddrV4: ip, Port: 443, InfoFields: []string{"MODEL=homey6q", "model=ignored", "id=abc", "junk"}},
			Discovered{Name: "Café", Address: "http://10.213.0.1:443", Model: "homey6q", ID: "abc"}, true},
		{mdns.ServiceEntry{Name: "x._homey._tcp.local.", Host: "Homey-9013DA123456.local.", AddrV4: ip, Port: 80},
			Discovered{Name: "x", Address: "http://10.213.0.1"}, true},
		{mdns.ServiceEntry{Name: "x._homey._tcp.local.", AddrV4: ip, Port: 80, InfoFields: []string{"name=Evil\x1b[2J\tHomey\n", "model=" + strings.Repeat("m", 70)}},
			Discovered{Name: "Evil [2J Homey", Address: "http://10.213.0.1", Model: strings.Repeat("m", 64) + "…"}, true},
		{mdns.ServiceEntry{Name: "x._homey._tcp.local.", Port: 80}, Discovered{}, false}, // IPv6 only
	} {
		e := c.e
		got, ok := fromEntry(&e)
		if ok != c.ok || got != c.want {
			t.Errorf("fromEntry(%+v) = %+v, %v; want %+v, %v", c.e, got, ok, c.want, c.ok)
		}
	}
	if _, ok := fromEntry(nil); ok {
		t.Error("fromEntry(nil) is a row")
	}
}

func TestInstanceName(t *testing.T) {
	for in, want := range map[string]string{
		`Homey\ Pro._homey._tcp.local.`:  "Homey Pro",
		`Caf\195\169._homey._tcp.local.`: "Café",
		`a\.b._homey._tcp.local.`:        "a.b",
		`bad\999x._homey._tcp.local.`:    "badx", // \999 is no byte: dropped
		`plain`:                          "plain",
		``:                               "",
	} {
		if got := instanceName(in); got != want {
			t.Errorf("instanceName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHostID(t *testing.T) {
	for in, want := range map[string]string{
		"homey-5f0c2a1b3c4d5e6f7a8b9c0d.local.": testHomeyID,
		"Homey-5F0C2A1B3C4D5E6F7A8B9C0D.local":  testHomeyID,
		"Homey-9013DA123456.local.":             "", // a MAC-based name
		"homey-5f0c2a1b3c4d5e6f7a8b9c0z.local.": "", // not hex
		"homey-5f0c2a1b3c4d5e6f7a8b9c0d.lan.":   "",
		"":                                      "",
	} {
		if got := hostID(in); got != want {
			t.Errorf("hostID(%q) = %q, want %q", in, got, want)
		}
	}
}
