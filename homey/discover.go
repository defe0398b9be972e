package homey

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/mdns"

	"github.com/homeytray/homeytray/internal/sanitize"
)

// Discovery: Homeys announce themselves on the LAN with mDNS/DNS-SD as _homey._tcp (docs/protocol.md#mdns),
// with a TXT record that carries `model` (newer firmware) and `name`; an `id` is not confirmed.
// The library is github.com/hashicorp/mdns (kept by the Consul and Nomad teams, two small
// dependencies). It sends a query along the system's multicast route unless told an interface,
// so Discover asks on every interface that is up and can multicast, IPv4 only (a Homey's
// localUrl is an IPv4 address). It joins the mDNS group along that route too, so a machine
// without a default (or multicast) route cannot browse: the error says so. Answers are strangers'
// words: control characters go, lengths are capped.

// DiscoverService is the DNS-SD service type Homeys announce on their network.
const DiscoverService = "_homey._tcp"

// Discovered is one Homey that answered [Discover]. Name, Model and ID are the Homey's own
// words, made printable (no control characters, at most 64 runes each); Address is its base URL
// on the network (http://<IPv4>[:port], no trailing slash), e.g. for `local add --address`.
type Discovered struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	Model   string `json:"model,omitempty"`
	ID      string `json:"id,omitempty"`
}

// ErrNoMulticast is the error of [Discover] on a machine with nothing to browse on: no network
// interface is up, can multicast and has an IPv4 address.
var ErrNoMulticast = errors.New("no network interface that is up and can multicast has an IPv4 address: connect to the Homey's network")

// Discover browses [DiscoverService] on every network interface that is up, can multicast and
// has an IPv4 address, for timeout, and returns the Homeys that answered with an IPv4 address,
// sorted by name (case-insensitive), then address; each name and address once. Nothing
// answering is an empty list, not an error. With no such interface the error is
// [ErrNoMulticast]; when the browse failed on every interface (e.g. no route for multicast) the
// error names each interface and why, on one line. A cancelled ctx returns at once with ctx's
// error.
func Discover(ctx context.Context, timeout time.Duration) ([]Discovered, error) {
	ifaces, err := multicastInterfaces()
	if err != nil {
		return nil, err
	}
	entries := make(chan *mdns.ServiceEntry, 65)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []string
		ok   int
	)
	quiet := log.New(io.Discard, "", 0) // the library logs every stray packet otherwise
	for _, ifi := range ifaces {
		wg.Add(1)
		go func(ifi net.Interface) {
			defer wg.Done()
			err := mdns.QueryContext(ctx, &mdns.QueryParam{
				Service:             DiscoverService,
				Domain:              "local",
				Timeout:             timeout,
				Interface:           &ifi,
				Entries:             entries,
				WantUnicastResponse: true,
				DisableIPv6:         true,
				Logger:              quiet,
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				msg := err.Error()
				if i := strings.IndexAny(msg, "\r\n"); i >= 0 {
					msg = msg[:i]
				}
				if strings.Contains(msg, "multicast udp port") {
					// The library joins the group along the system's multicast route.
					msg = "cannot join the mDNS group 224.0.0.251 (no default route? then add one for 224.0.0.0/4 on the Homey's network)"
				}
				errs = append(errs, ifi.Name+": "+msg)
			} else {
				ok++
			}
		}(ifi)
	}
	go func() { wg.Wait(); close(entries) }()

	// The library may still fill in an entry it has sent while its query runs: read them after.
	// It notices a cancelled ctx only at its timeout, so an interrupt returns here at once.
	var answers []*mdns.ServiceEntry
	for collecting := true; collecting; {
		select {
		case e, open := <-entries:
			if !open {
				collecting = false
				break
			}
			answers = append(answers, e)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	seen := map[string]bool{}
	var found []Discovered
	for _, e := range answers {
		d, good := fromEntry(e)
		if !good {
			continue
		}
		key := d.Address + "|" + d.Name
		if seen[key] {
			continue
		}
		seen[key] = true
		found = append(found, d)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if ok == 0 && len(errs) > 0 {
		sort.Strings(errs)
		return nil, fmt.Errorf("mDNS browse failed on %s", strings.Join(errs, "; "))
	}
	sort.Slice(found, func(i, j int) bool {
		if found[i].Name != found[j].Name {
			return strings.ToLower(found[i].Name) < strings.ToLower(found[j].Name)
		}
		return found[i].Address < found[j].Address
	})
	if found == nil {
		found = []Discovered{} // --json prints [], not null
	}
	return found, nil
}

// multicastInterfaces: up, multicast, not loopback, with an IPv4 address.
func multicastInterfaces() ([]net.Interface, error) {
	all, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list network interfaces: %w", err)
	}
	var out []net.Interface
	for _, ifi := range all {
		if ifi.Flags&net.FlagUp == 0 || ifi.Flags&net.FlagMulticast == 0 || ifi.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
				out = append(out, ifi)
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, ErrNoMulticast
	}
	return out, nil
}

// hostID is the cloud id in the host name the official library assumes, homey-<cloud id>.local
// (docs/protocol.md#mdns; a MAC-based name is also reported, which yields nothing). No regexp: nothing
// may run at start-up.
func hostID(host string) string {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	id, ok := strings.CutPrefix(h, "homey-")
	if id, ok2 := strings.CutSuffix(id, ".local"); ok && ok2 && len(id) == 24 && strings.Trim(id, "0123456789abcdef") == "" {
		return id
	}
	return ""
}

// fromEntry turns an answer into a row; an answer without an IPv4 address is of no use to
// `local add` and is dropped.
func fromEntry(e *mdns.ServiceEntry) (Discovered, bool) {
	if e == nil || e.AddrV4 == nil || e.AddrV4.To4() == nil {
		return Discovered{}, false
	}
	txt := map[string]string{}
	for _, f := range e.InfoFields {
		k, v, _ := strings.Cut(f, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if _, dup := txt[k]; k != "" && !dup { // RFC 6763 §6.4: the first one counts
			txt[k] = strings.TrimSpace(v)
		}
	}
	d := Discovered{Name: sanitize.Line(txt["name"], 65), Model: sanitize.Line(txt["model"], 65), ID: sanitize.Line(txt["id"], 65)}
	if d.Name == "" {
		d.Name = sanitize.Line(instanceName(e.Name), 65)
	}
	if d.ID == "" {
		d.ID = hostID(e.Host)
	}
	host := e.AddrV4.To4().String()
	if e.Port != 0 && e.Port != 80 {
		host = net.JoinHostPort(host, strconv.Itoa(e.Port))
	}
	d.Address = "http://" + host
	return d, true
}

// instanceName is the first label of "<instance>._homey._tcp.local.", unescaped
// (miekg/dns writes a space as `\ ` and other bytes as \DDD).
func instanceName(fqdn string) string {
	var b strings.Builder
	for i := 0; i < len(fqdn); i++ {
		c := fqdn[i]
		switch {
		case c == '.':
			return b.String()
		case c == '\\' && i+3 < len(fqdn) && isDigits(fqdn[i+1:i+4]):
			if n, _ := strconv.Atoi(fqdn[i+1 : i+4]); n <= 255 {
				b.WriteByte(byte(n))
			}
			i += 3
		case c == '\\' && i+1 < len(fqdn):
			i++
			b.WriteByte(fqdn[i])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
