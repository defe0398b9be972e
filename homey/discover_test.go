package homey

import (
	"net"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/miekg/dns"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/homeytray/homeytray/internal/sanitize"
)

// Discover itself is tested for real in e2e/discover_test.go (two network namespaces and an mDNS
// responder of the test's own); these are the pure steps from response packets to rows. The
// packets are built with miekg/dns, a DNS library independent of the parser under test.

const (
	testHomeyID  = "5f0c2a1b3c4d5e6f7a8b9c0d"
	testInstance = `Homey\ Pro._homey._tcp.local.` // miekg/dns's presentation form: the label is "Homey Pro"
	testHost     = "homey-5F0C2A1B3C4D5E6F7A8B9C0D.local."
)

func rrHdr(name string, t uint16, ttl uint32) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
}

func ptrRR(instance string) dns.RR {
	return &dns.PTR{Hdr: rrHdr(serviceFQDN, dns.TypePTR, 4500), Ptr: instance}
}

func srvRR(instance string, port uint16, target string) dns.RR {
	return &dns.SRV{Hdr: rrHdr(instance, dns.TypeSRV, 120), Port: port, Target: target}
}

func txtRR(instance string, fields ...string) dns.RR {
	return &dns.TXT{Hdr: rrHdr(instance, dns.TypeTXT, 4500), Txt: fields}
}

func aRR(host, ip string) dns.RR {
	return &dns.A{Hdr: rrHdr(host, dns.TypeA, 120), A: net.ParseIP(ip).To4()}
}

// announce is a response as responders send one: the PTR as the answer, the rest as additional
// records.
func announce(t testing.TB, answer []dns.RR, extra ...dns.RR) []byte {
	t.Helper()
	m := &dns.Msg{MsgHdr: dns.MsgHdr{Response: true, Authoritative: true}, Answer: answer, Extra: extra}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// full is a complete announcement of one instance on one address.
func full(t testing.TB, instance string, port uint16, host, ip string, txt ...string) []byte {
	t.Helper()
	extra := []dns.RR{srvRR(instance, port, host), aRR(host, ip)}
	if txt != nil {
		extra = append(extra, txtRR(instance, txt...))
	}
	return announce(t, []dns.RR{ptrRR(instance)}, extra...)
}

func heardOf(pkts ...[]byte) []Discovered {
	a := newAnswers()
	for _, p := range pkts {
		a.add(p)
	}
	return a.list()
}

func TestAnswersRows(t *testing.T) {
	const ip = "10.213.0.1"
	for _, c := range []struct {
		name string
		pkts [][]byte
		want []Discovered
	}{
		{"id from the host name", [][]byte{full(t, testInstance, 80, testHost, ip)},
			[]Discovered{{Name: "Homey Pro", Address: "http://10.213.0.1", ID: testHomeyID}}},
		{"TXT keys, the first counts; port", [][]byte{full(t, `Caf\195\169._homey._tcp.local.`, 443, "h.local.", ip, "MODEL=homey6q", "model=ignored", "id=abc", "junk")},
			[]Discovered{{Name: "Café", Address: "http://10.213.0.1:443", Model: "homey6q", ID: "abc"}}},
		{"a MAC-based host name", [][]byte{full(t, "x._homey._tcp.local.", 80, "Homey-9013DA123456.local.", ip, "")},
			[]Discovered{{Name: "x", Address: "http://10.213.0.1"}}},
		{"cleaned and capped", [][]byte{full(t, "x._homey._tcp.local.", 80, "h.local.", ip, "name=Evil\x1b[2J\tHomey\n", "model="+strings.Repeat("m", 70))},
			[]Discovered{{Name: "Evil [2J Homey", Address: "http://10.213.0.1", Model: strings.Repeat("m", 64) + "…"}}},
		{"a TXT name that cleans to nothing", [][]byte{full(t, "Attic._homey._tcp.local.", 80, "h.local.", ip, "name=\u200b\x00")},
			[]Discovered{{Name: "Attic", Address: "http://10.213.0.1"}}},
		{"IPv6 only", [][]byte{announce(t, []dns.RR{ptrRR("x._homey._tcp.local.")}, srvRR("x._homey._tcp.local.", 80, "h.local."),
			&dns.AAAA{Hdr: rrHdr("h.local.", dns.TypeAAAA, 120), AAAA: net.ParseIP("fe80::1")})}, []Discovered{}},
		{"no SRV record", [][]byte{announce(t, []dns.RR{ptrRR("x._homey._tcp.local.")}, aRR("h.local.", ip))}, []Discovered{}},
		{"SRV port 0", [][]byte{full(t, "x._homey._tcp.local.", 0, "h.local.", ip)}, []Discovered{}},
		{"an A record of another host", [][]byte{announce(t, []dns.RR{ptrRR("x._homey._tcp.local.")}, srvRR("x._homey._tcp.local.", 80, "h.local."), aRR("other.local.", ip))},
			[]Discovered{}},
		{"another service", [][]byte{full(t, "x._hap._tcp.local.", 80, "h.local.", ip)}, []Discovered{}},
		{"the pieces in other packets, A before SRV in one, names in other cases", [][]byte{
			announce(t, []dns.RR{ptrRR("Kitchen._homey._tcp.local.")}),
			announce(t, []dns.RR{aRR("H.local.", ip), srvRR("kitchen._HOMEY._tcp.local.", 80, "h.LOCAL.")}),
			announce(t, []dns.RR{txtRR("KITCHEN._homey._tcp.local.", "model=homey5q")}),
		}, []Discovered{{Name: "Kitchen", Address: "http://10.213.0.1", Model: "homey5q"}}},
		{"SRV without PTR", [][]byte{announce(t, []dns.RR{srvRR("x._homey._tcp.local.", 80, "h.local."), aRR("h.local.", ip)})},
			[]Discovered{{Name: "x", Address: "http://10.213.0.1"}}},
		{"each name and address once, sorted by name then address", [][]byte{
			full(t, "b._homey._tcp.local.", 80, "hb.local.", "10.0.0.9", "name=beta"),
			full(t, "b._homey._tcp.local.", 80, "hb.local.", "10.0.0.9", "name=beta"),
			announce(t, nil, aRR("hb.local.", "10.0.0.10"), aRR("hb.local.", "10.0.0.9")),
			full(t, "a._homey._tcp.local.", 80, "ha.local.", "10.0.0.1", "name=Alpha"),
			full(t, "c._homey._tcp.local.", 80, "hc.local.", "10.0.0.9", "name=beta"), // the same name at the same address
		}, []Discovered{
			{Name: "Alpha", Address: "http://10.0.0.1"},
			{Name: "beta", Address: "http://10.0.0.10"},
			{Name: "beta", Address: "http://10.0.0.9"},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := heardOf(c.pkts...); !reflect.DeepEqual(got, c.want) {
				t.Errorf("rows = %+v\nwant %+v", got, c.want)
			}
		})
	}
}

// What is not a well-formed successful response, a goodbye or another class adds nothing.
func TestAnswersIgnored(t *testing.T) {
	good := full(t, "x._homey._tcp.local.", 80, "h.local.", "10.0.0.1")
	pack := func(m *dns.Msg) []byte {
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var m dns.Msg
	if err := m.Unpack(good); err != nil {
		t.Fatal(err)
	}
	query := m.Copy()
	query.Response = false
	failed := m.Copy()
	failed.Rcode = dns.RcodeNameError
	goodbye := m.Copy()
	for _, rr := range append(goodbye.Answer, goodbye.Extra...) {
		rr.Header().Ttl = 0
	}
	chaos := m.Copy()
	for _, rr := range append(chaos.Answer, chaos.Extra...) {
		rr.Header().Class = dns.ClassCHAOS
	}
	flush := m.Copy() // the cache-flush bit is no other class
	for _, rr := range flush.Extra {
		rr.Header().Class |= 1 << 15
	}
	for name, c := range map[string]struct {
		pkt  []byte
		rows int
	}{
		"good":                  {good, 1},
		"cache-flush bit":       {pack(flush), 1},
		"a query":               {pack(query), 0},
		"NXDOMAIN":              {pack(failed), 0},
		"goodbye":               {pack(goodbye), 0},
		"class CH":              {pack(chaos), 0},
		"truncated":             {good[:len(good)-3], 0},
		"header only":           {good[:12], 0},
		"empty":                 {nil, 0},
		"a dot inside a label":  {full(t, `a\.b._homey._tcp.local.`, 80, "h.local.", "10.0.0.1"), 0},
		"a label under another": {full(t, "a.b._homey._tcp.local.", 80, "h.local.", "10.0.0.1"), 0},
	} {
		if got := heardOf(c.pkt); len(got) != c.rows {
			t.Errorf("%s: %d rows %+v, want %d", name, len(got), got, c.rows)
		}
	}
}

// A PTR answer without what it points to is asked about once; so is an SRV target without an
// address.
func TestAnswersFollowUps(t *testing.T) {
	a := newAnswers()
	qs := a.add(announce(t, []dns.RR{ptrRR("Kitchen._homey._tcp.local.")}))
	want := []string{"Kitchen._homey._tcp.local. SRV", "Kitchen._homey._tcp.local. TXT"}
	if got := questions(qs); !reflect.DeepEqual(got, want) {
		t.Errorf("after a bare PTR asked %v, want %v", got, want)
	}
	if qs := a.add(announce(t, []dns.RR{ptrRR("Kitchen._homey._tcp.local.")})); len(qs) != 0 {
		t.Errorf("asked again: %v", questions(qs))
	}
	qs = a.add(announce(t, []dns.RR{srvRR("Kitchen._homey._tcp.local.", 80, "homey-x.local.")}))
	if got := questions(qs); !reflect.DeepEqual(got, []string{"homey-x.local. A"}) {
		t.Errorf("after an SRV without an address asked %v", got)
	}
	if qs := a.add(announce(t, []dns.RR{aRR("homey-x.local.", "10.0.0.1")})); len(qs) != 0 || len(a.list()) != 1 {
		t.Errorf("after the A record: asked %v, rows %+v", questions(qs), a.list())
	}
	for _, q := range qs {
		if q.Class != dnsmessage.ClassINET|classQU {
			t.Errorf("question %v without the QU bit", q)
		}
	}

	// A flood of bare PTRs: capped instances, capped questions.
	a = newAnswers()
	asked := 0
	for i := range 200 {
		asked += len(a.add(announce(t, []dns.RR{ptrRR("h" + strconv.Itoa(i) + "._homey._tcp.local.")})))
	}
	if len(a.instances) != maxInstances || asked != 2*maxFollowUps {
		t.Errorf("200 PTRs: %d instances, %d questions; want %d, %d", len(a.instances), asked, maxInstances, 2*maxFollowUps)
	}
}

func questions(qs []dnsmessage.Question) []string {
	var out []string
	for _, q := range qs {
		out = append(out, q.Name.String()+" "+strings.TrimPrefix(q.Type.String(), "Type"))
	}
	slices.Sort(out)
	return out
}

// The query as another DNS library reads it: one PTR question with the QU bit, id 0, no
// recursion.
func TestMdnsQuery(t *testing.T) {
	n, err := dnsmessage.NewName(serviceFQDN)
	if err != nil {
		t.Fatal(err)
	}
	b, err := mdnsQuery([]dnsmessage.Question{{Name: n, Type: dnsmessage.TypePTR, Class: dnsmessage.ClassINET | classQU}})
	if err != nil {
		t.Fatal(err)
	}
	var m dns.Msg
	if err := m.Unpack(b); err != nil {
		t.Fatal(err)
	}
	want := []dns.Question{{Name: "_homey._tcp.local.", Qtype: dns.TypePTR, Qclass: dns.ClassINET | 1<<15}}
	if m.Id != 0 || m.Response || m.RecursionDesired || !reflect.DeepEqual(m.Question, want) || len(m.Answer)+len(m.Ns)+len(m.Extra) != 0 {
		t.Errorf("query = %v", &m)
	}
}

func TestFromLink(t *testing.T) {
	links := []*mdnsLink{{nets: []netip.Prefix{netip.MustParsePrefix("10.213.0.0/30")}}}
	for _, c := range []struct {
		src     string
		unicast bool
		ok      bool
	}{
		{"10.213.0.1:5353", true, true},
		{"10.213.0.1:5353", false, true},
		{"10.213.0.1:53", true, false}, // RFC 6762 §6: not from port 5353
		{"10.213.0.1:53", false, false},
		{"192.0.2.1:5353", true, false}, // not on a link
		{"192.0.2.1:5353", false, true}, // multicast: on a link by nature
	} {
		if got := fromLink(mdnsPacket{src: netip.MustParseAddrPort(c.src), unicast: c.unicast}, links); got != c.ok {
			t.Errorf("fromLink(%s, unicast %v) = %v", c.src, c.unicast, got)
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

var fuzzAddress = regexp.MustCompile(`^http://(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}(:[1-9][0-9]*)?$`)

// FuzzDiscoverPacket: any packet (twice, as a responder repeats itself) gives rows that are
// printable, capped, sorted and unique, with an http://IPv4[:port] address, and a bounded
// follow-up query; never a panic.
func FuzzDiscoverPacket(f *testing.F) {
	f.Add(full(f, testInstance, 80, testHost, "10.213.0.1", "name=Kitchen Homey", "model=homey5q", "id="+testHomeyID))
	f.Add(full(f, `Caf\195\169._homey._tcp.local.`, 8080, "h.local.", "192.168.1.20", ""))
	f.Add(announce(f, []dns.RR{ptrRR("x._homey._tcp.local.")}))
	f.Add(announce(f, []dns.RR{srvRR("x._homey._tcp.local.", 80, "h.local.")}, aRR("h.local.", "10.0.0.1"), aRR("h.local.", "10.0.0.2")))
	f.Fuzz(func(t *testing.T, pkt []byte) {
		a := newAnswers()
		qs := a.add(pkt)
		qs = append(qs, a.add(pkt)...)
		if len(qs) > maxQuestions*2 || len(a.asked) > maxFollowUps {
			t.Fatalf("%d follow-up questions, %d names asked", len(qs), len(a.asked))
		}
		if _, err := mdnsQuery(qs); err != nil {
			t.Fatalf("follow-up query: %v", err)
		}
		rows := a.list()
		if rows == nil || len(rows) > maxInstances*maxHostAddrs {
			t.Fatalf("%d rows (nil: %v)", len(rows), rows == nil)
		}
		for i, d := range rows {
			for _, s := range []string{d.Name, d.Model, d.ID} {
				if !utf8.ValidString(s) || sanitize.Line(s, 65) != s || utf8.RuneCountInString(s) > 65 {
					t.Fatalf("row %+v: %q is not clean", d, s)
				}
			}
			if !fuzzAddress.MatchString(d.Address) {
				t.Fatalf("row %+v: address", d)
			}
			if i > 0 {
				p := rows[i-1]
				if strings.ToLower(p.Name) > strings.ToLower(d.Name) || p.Name == d.Name && p.Address >= d.Address {
					t.Fatalf("rows out of order or repeated: %+v, %+v", p, d)
				}
			}
		}
	})
}
