package homey

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
	"golang.org/x/net/ipv4"

	"github.com/homeytray/homeytray/internal/sanitize"
)

// Discovery: Homeys announce themselves on the LAN with mDNS/DNS-SD as _homey._tcp
// (docs/protocol.md#mdns): a PTR record _homey._tcp.local → <instance>._homey._tcp.local, whose
// SRV record names the host and port, whose TXT record carries `model` (newer firmware) and
// `name` (an `id` is not confirmed), and the host's A record its IPv4 address.
//
// The browse is written here on golang.org/x/net/dns/dnsmessage rather than with an mDNS
// library: the one we used (hashicorp/mdns) links miekg/dns, whose package initialisation builds
// large tables at every start of the program, `homeytray token` included, though only `discover`
// and `local add NAME` browse. dnsmessage's initialisation is a few small maps.
//
// On each interface that is up, can multicast and has an IPv4 address (a Homey's localUrl is an
// IPv4 address), Discover joins the mDNS group and asks from a socket of its own port with the
// "unicast response" bit, so it hears both kinds of responders: those that answer such a query
// straight back (RFC 6762 §6.7, Avahi) and those that multicast the answer to the group. Both
// the join and the query name the interface, so no route is needed for them. The query goes
// again at 250 ms and 1 s (answers get lost on Wi-Fi), and a PTR answer that came without the
// SRV, TXT or A records it points to is followed by a query for them.
//
// Answers are strangers' words: a packet that does not parse is dropped whole, everything kept
// is capped ([maxInstances], [maxHostAddrs], [maxFollowUps]), and names are made printable.
// dnsmessage refuses a label with a dot in it (golang/go#56246), so an instance named with a dot
// is not found.

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

const (
	serviceFQDN = DiscoverService + ".local."
	mdnsPort    = 5353
	// RFC 6762 §17: an mDNS packet is at most 9000 bytes; a longer one is dropped.
	mdnsMaxPacket = 9000
	// Caps on what one browse keeps: far more than a home has Homeys, far less than a flood.
	maxInstances = 64 // service instances
	maxHostAddrs = 8  // IPv4 addresses of one host
	maxFollowUps = 32 // names asked for again
	maxQuestions = 16 // questions in one follow-up packet
	// RFC 6762 §5.4: the top bit of a question's class asks for a unicast response ("QU"); in a
	// record it is the cache-flush bit. Either way the class is the rest.
	classQU = 1 << 15
)

// mdnsGroup is the IPv4 mDNS group and port, 224.0.0.251:5353.
func mdnsGroup() *net.UDPAddr { return &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: mdnsPort} }

// Discover browses [DiscoverService] on every network interface that is up, can multicast and
// has an IPv4 address, for timeout, and returns the Homeys that answered with an IPv4 address
// (one row for each address a Homey announces), sorted by name (case-insensitive), then
// address; each name and address once. Nothing
// answering is an empty list, not an error. With no such interface the error is
// [ErrNoMulticast]; when the browse failed on every interface (e.g. the mDNS group cannot be
// joined) the error names each interface and why, on one line. A cancelled ctx returns at once
// with ctx's error.
func Discover(ctx context.Context, timeout time.Duration) ([]Discovered, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ifaces, err := multicastInterfaces()
	if err != nil {
		return nil, err
	}
	return browse(ctx, timeout, ifaces)
}

// mdnsLink is the browse on one interface.
type mdnsLink struct {
	name  string
	query *net.UDPConn   // a port of its own: sends the queries, hears unicast answers
	group *net.UDPConn   // 224.0.0.251:5353, joined on this interface: hears multicast answers
	nets  []netip.Prefix // the interface's IPv4 networks: where a unicast answer may come from
}

func (l *mdnsLink) close() {
	l.query.Close()
	l.group.Close()
}

// openLink joins the mDNS group on ifi and opens the socket that asks on it.
func openLink(ifi net.Interface, deadline time.Time) (*mdnsLink, error) {
	l := &mdnsLink{name: ifi.Name}
	if addrs, err := ifi.Addrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(ipn.IP.To4()); ok {
					ones, _ := ipn.Mask.Size()
					l.nets = append(l.nets, netip.PrefixFrom(ip, ones).Masked())
				}
			}
		}
	}
	var err error
	// Also sets SO_REUSEADDR: a running Avahi or Bonjour keeps port 5353 too.
	if l.group, err = net.ListenMulticastUDP("udp4", &ifi, mdnsGroup()); err != nil {
		return nil, fmt.Errorf("cannot join the mDNS group 224.0.0.251: %w", opCause(err))
	}
	if l.query, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4zero}); err != nil {
		l.group.Close()
		return nil, fmt.Errorf("open a UDP socket: %w", opCause(err))
	}
	p := ipv4.NewPacketConn(l.query)
	err = p.SetMulticastInterface(&ifi)
	if err == nil {
		err = p.SetMulticastTTL(255) // RFC 6762 §11: responders may drop a packet with less
	}
	if err == nil {
		err = l.query.SetWriteDeadline(deadline)
	}
	if err != nil {
		l.close()
		return nil, fmt.Errorf("send on this interface: %w", opCause(err))
	}
	l.group.SetReadDeadline(deadline)
	l.query.SetReadDeadline(deadline)
	return l, nil
}

// opCause is the system's reason in a net error, without the operation and addresses around it.
func opCause(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

// mdnsPacket is one datagram heard during a browse.
type mdnsPacket struct {
	data    []byte
	src     netip.AddrPort
	unicast bool
}

// listen passes what c hears to out until c is closed, its deadline passes or stop closes.
func listen(c *net.UDPConn, unicast bool, out chan<- mdnsPacket, stop <-chan struct{}) {
	buf := make([]byte, mdnsMaxPacket+1)
	for errs := 0; errs < 100; {
		n, src, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			var ne net.Error
			if errors.Is(err, net.ErrClosed) || errors.As(err, &ne) && ne.Timeout() {
				return
			}
			errs++ // e.g. a reset reported by the system: not worth a busy loop
			continue
		}
		if n > mdnsMaxPacket {
			continue
		}
		select {
		case out <- mdnsPacket{data: append([]byte(nil), buf[:n]...), src: src, unicast: unicast}:
		case <-stop:
			return
		}
	}
}

// browse asks on each of ifaces and gathers the answers until timeout.
func browse(ctx context.Context, timeout time.Duration, ifaces []net.Interface) ([]Discovered, error) {
	start := time.Now()
	deadline := start.Add(timeout)
	service, err := dnsmessage.NewName(serviceFQDN)
	if err != nil {
		return nil, fmt.Errorf("build the mDNS query: %w", err)
	}
	browseQ, err := mdnsQuery([]dnsmessage.Question{{Name: service, Type: dnsmessage.TypePTR, Class: dnsmessage.ClassINET | classQU}})
	if err != nil {
		return nil, fmt.Errorf("build the mDNS query: %w", err)
	}

	var (
		links []*mdnsLink
		errs  []string
	)
	for _, ifi := range ifaces {
		l, err := openLink(ifi, deadline)
		if err == nil {
			if _, err = l.query.WriteToUDP(browseQ, mdnsGroup()); err != nil {
				l.close()
				err = fmt.Errorf("send the mDNS query: %w", opCause(err))
			}
		}
		if err != nil {
			errs = append(errs, ifi.Name+": "+firstLine(err.Error()))
			continue
		}
		links = append(links, l)
	}
	if len(links) == 0 {
		slices.Sort(errs)
		return nil, fmt.Errorf("mDNS browse failed on %s", strings.Join(errs, "; "))
	}

	packets := make(chan mdnsPacket, 16)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() {
		close(stop)
		for _, l := range links {
			l.close() // ends the listeners' reads
		}
		wg.Wait()
	}()
	for _, l := range links {
		for _, c := range []struct {
			conn    *net.UDPConn
			unicast bool
		}{{l.query, true}, {l.group, false}} {
			wg.Add(1)
			go func() { defer wg.Done(); listen(c.conn, c.unicast, packets, stop) }()
		}
	}
	send := func(q []byte) {
		for _, l := range links {
			l.query.WriteToUDP(q, mdnsGroup()) // a lost query is what the resends are for
		}
	}

	end := time.NewTimer(timeout)
	defer end.Stop()
	resends := []time.Duration{250 * time.Millisecond, time.Second}
	again := time.NewTimer(resends[0])
	defer again.Stop()
	heard := newAnswers()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-end.C:
			return heard.list(), nil
		case <-again.C:
			send(browseQ)
			if resends = resends[1:]; len(resends) > 0 {
				again.Reset(time.Until(start.Add(resends[0])))
			}
		case p := <-packets:
			if !fromLink(p, links) {
				continue
			}
			if qs := heard.add(p.data); len(qs) > 0 {
				if q, err := mdnsQuery(qs); err == nil {
					send(q)
				}
			}
		}
	}
}

// fromLink: RFC 6762 §6 has a querier ignore responses from a port other than 5353, and §11 a
// unicast response from an address that is not on one of its links (multicast ones cannot come
// from further away).
func fromLink(p mdnsPacket, links []*mdnsLink) bool {
	if p.src.Port() != mdnsPort {
		return false
	}
	if !p.unicast {
		return true
	}
	ip := p.src.Addr().Unmap()
	for _, l := range links {
		for _, n := range l.nets {
			if n.Contains(ip) {
				return true
			}
		}
	}
	return false
}

// mdnsQuery is a query packet of qs: id 0 and no recursion wanted (RFC 6762 §18).
func mdnsQuery(qs []dnsmessage.Question) ([]byte, error) {
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), dnsmessage.Header{})
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	for _, q := range qs {
		if err := b.Question(q); err != nil {
			return nil, err
		}
	}
	return b.Finish()
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

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// answers is what the responses of one browse said about instances of the service.
type answers struct {
	instances map[string]*instance    // by the instance's name, lower case
	hosts     map[string][]netip.Addr // IPv4 addresses by host name, lower case; SRV targets only
	asked     map[string]bool         // names a follow-up query went out for, lower case
}

// instance is one announced service instance, "<label>._homey._tcp.local.".
type instance struct {
	fqdn            string // as announced
	label           string
	target          string // the SRV record's host name; "" until one came
	port            uint16
	name, model, id string // TXT values, as announced
}

func newAnswers() *answers {
	return &answers{instances: map[string]*instance{}, hosts: map[string][]netip.Addr{}, asked: map[string]bool{}}
}

// mdnsRecord is one resource record of a response that matters to the browse.
type mdnsRecord struct {
	hdr  dnsmessage.ResourceHeader
	body dnsmessage.ResourceBody // *PTRResource, *SRVResource, *TXTResource or *AResource
}

// parseResponse returns the PTR, SRV, TXT and A records in the answer and additional sections
// of an mDNS response, or false when pkt is not a well-formed successful response.
func parseResponse(pkt []byte) ([]mdnsRecord, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(pkt)
	if err != nil || !h.Response || h.OpCode != 0 || h.RCode != dnsmessage.RCodeSuccess {
		return nil, false // RFC 6762 §18: a response with another opcode or rcode is ignored
	}
	if p.SkipAllQuestions() != nil {
		return nil, false
	}
	var recs []mdnsRecord
	next := func(hdr func() (dnsmessage.ResourceHeader, error), skip func() error) bool {
		for {
			h, err := hdr()
			if errors.Is(err, dnsmessage.ErrSectionDone) {
				return true
			}
			if err != nil {
				return false
			}
			var body dnsmessage.ResourceBody
			switch {
			case h.Class&^classQU != dnsmessage.ClassINET:
				err = skip()
			case h.Type == dnsmessage.TypePTR:
				var r dnsmessage.PTRResource
				r, err = p.PTRResource()
				body = &r
			case h.Type == dnsmessage.TypeSRV:
				var r dnsmessage.SRVResource
				r, err = p.SRVResource()
				body = &r
			case h.Type == dnsmessage.TypeTXT:
				var r dnsmessage.TXTResource
				r, err = p.TXTResource()
				body = &r
			case h.Type == dnsmessage.TypeA && h.Length == 4:
				var r dnsmessage.AResource
				r, err = p.AResource()
				body = &r
			default:
				err = skip()
			}
			if err != nil {
				return false
			}
			if body != nil {
				recs = append(recs, mdnsRecord{hdr: h, body: body})
			}
		}
	}
	if !next(p.AnswerHeader, p.SkipAnswer) || p.SkipAllAuthorities() != nil || !next(p.AdditionalHeader, p.SkipAdditional) {
		return nil, false
	}
	return recs, true
}

// add takes in the records of one response packet (a malformed one adds nothing) and returns
// the questions to ask for what its PTR and SRV records point to and no answer has said yet.
func (a *answers) add(pkt []byte) []dnsmessage.Question {
	recs, ok := parseResponse(pkt)
	if !ok {
		return nil
	}
	// Instances first, then the addresses of their hosts, whatever the order in the packet.
	for _, r := range recs {
		if r.hdr.TTL == 0 {
			continue // a goodbye (RFC 6762 §10.1)
		}
		owner := r.hdr.Name.String()
		switch b := r.body.(type) {
		case *dnsmessage.PTRResource:
			if asciiLower(owner) == serviceFQDN {
				a.instance(b.PTR.String())
			}
		case *dnsmessage.SRVResource:
			if in := a.instance(owner); in != nil && b.Port != 0 {
				in.target, in.port = b.Target.String(), b.Port
			}
		case *dnsmessage.TXTResource:
			if in := a.instance(owner); in != nil {
				in.name, in.model, in.id = txtValues(b.TXT)
			}
		}
	}
	targets := map[string]bool{}
	for _, in := range a.instances {
		if in.target != "" {
			targets[asciiLower(in.target)] = true
		}
	}
	for _, r := range recs {
		host := asciiLower(r.hdr.Name.String())
		if b, ok := r.body.(*dnsmessage.AResource); ok && r.hdr.TTL != 0 && targets[host] {
			ip := netip.AddrFrom4(b.A)
			if have := a.hosts[host]; len(have) < maxHostAddrs && !slices.Contains(have, ip) {
				a.hosts[host] = append(have, ip)
			}
		}
	}
	return a.followUps()
}

// instance is the instance of the service named fqdn, new if there is room; nil when fqdn is
// not "<label>._homey._tcp.local.".
func (a *answers) instance(fqdn string) *instance {
	key := asciiLower(fqdn)
	label, ok := strings.CutSuffix(key, "."+serviceFQDN)
	if !ok || label == "" || strings.Contains(label, ".") {
		return nil
	}
	if in := a.instances[key]; in != nil {
		return in
	}
	if len(a.instances) >= maxInstances {
		return nil
	}
	in := &instance{fqdn: fqdn, label: fqdn[:len(label)]}
	a.instances[key] = in
	return in
}

// followUps: an instance without its SRV record is asked for SRV and TXT, a host without an
// address for A; each name once a browse, at most maxFollowUps names.
func (a *answers) followUps() []dnsmessage.Question {
	var qs []dnsmessage.Question
	ask := func(name string, types ...dnsmessage.Type) {
		key := asciiLower(name)
		if a.asked[key] || len(a.asked) >= maxFollowUps || len(qs)+len(types) > maxQuestions {
			return
		}
		n, err := dnsmessage.NewName(name)
		if err != nil {
			return
		}
		a.asked[key] = true
		for _, t := range types {
			qs = append(qs, dnsmessage.Question{Name: n, Type: t, Class: dnsmessage.ClassINET | classQU})
		}
	}
	for _, in := range a.instances {
		switch {
		case in.target == "":
			ask(in.fqdn, dnsmessage.TypeSRV, dnsmessage.TypeTXT)
		case len(a.hosts[asciiLower(in.target)]) == 0:
			ask(in.target, dnsmessage.TypeA)
		}
	}
	return qs
}

// list is the Homeys heard: each instance with an SRV record at each IPv4 address of its host,
// sorted by name (case-insensitive), then address; each name and address once.
func (a *answers) list() []Discovered {
	found := []Discovered{} // --json prints [], not null
	for _, in := range a.instances {
		if in.target == "" {
			continue
		}
		d := Discovered{Name: sanitize.Line(in.name, 65), Model: sanitize.Line(in.model, 65), ID: sanitize.Line(in.id, 65)}
		if d.Name == "" {
			d.Name = sanitize.Line(in.label, 65)
		}
		if d.ID == "" {
			d.ID = hostID(in.target)
		}
		for _, ip := range a.hosts[asciiLower(in.target)] {
			host := ip.String()
			if in.port != 80 {
				host = net.JoinHostPort(host, strconv.Itoa(int(in.port)))
			}
			d.Address = "http://" + host
			found = append(found, d)
		}
	}
	slices.SortFunc(found, func(x, y Discovered) int {
		return cmp.Or(cmp.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name)), cmp.Compare(x.Name, y.Name),
			cmp.Compare(x.Address, y.Address), cmp.Compare(x.Model, y.Model), cmp.Compare(x.ID, y.ID))
	})
	return slices.CompactFunc(found, func(x, y Discovered) bool { return x.Name == y.Name && x.Address == y.Address })
}

// txtValues are the `name`, `model` and `id` of a TXT record's key=value strings; keys are
// case-insensitive and the first of a key counts (RFC 6763 §6.4).
func txtValues(fields []string) (name, model, id string) {
	seen := map[string]bool{}
	for _, f := range fields {
		k, v, _ := strings.Cut(f, "=")
		k = asciiLower(strings.TrimSpace(k))
		if k == "" || seen[k] {
			continue
		}
		seen[k] = true
		switch k {
		case "name":
			name = v
		case "model":
			model = v
		case "id":
			id = v
		}
	}
	return name, model, id
}

// asciiLower lowers ASCII letters only: DNS names compare so (RFC 4343), and other bytes (UTF-8
// or not) stay as they are.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
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
