package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Discovery is tested for real: two network namespaces of the test's own joined by a veth pair,
// 10.213.0.1/30 (the "Homey", an mDNS responder) and 10.213.0.2/30 (where `homeytray discover`
// runs). No packet leaves them: the binary runs only inside the client namespace, whose one route
// besides the /30 is a default route via the responder's address (as on a LAN, where the system's
// multicast route follows the default route). Needs root and iproute2.

const (
	mdnsResponderEnv = "HOMEYTRAY_TEST_MDNS_RESPONDER" // reply mode: "multicast" or "unicast"
	testHomeyAddr    = "10.213.0.1"
	testClientAddr   = "10.213.0.2"
	testHomeyID      = "5f0c2a1b3c4d5e6f7a8b9c0d"
)

// requireNetns fails under CI=true and skips loudly elsewhere without root and iproute2.
func requireNetns(t *testing.T) {
	t.Helper()
	missing := ""
	if _, err := exec.LookPath("ip"); err != nil {
		missing = "iproute2 (ip)"
	} else if os.Geteuid() != 0 {
		missing = "root (for ip netns)"
	}
	needOrSkip(t, missing, "run the tests as root with iproute2 to test discovery")
}

// lan is a pair of namespaces: homey (the responder's side) and client.
type lan struct{ homey, client string }

func newLAN(t *testing.T) lan { return newLANRoute(t, true) }

func newLANRoute(t *testing.T, defaultRoute bool) lan {
	t.Helper()
	requireNetns(t)
	id := randomHex(t, 4)
	l := lan{homey: "ht-" + id + "-h", client: "ht-" + id + "-c"}
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if out, err := exec.Command("ip", "netns", "add", l.homey).CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("ip netns add: %v\n%s", err, out)
		}
		t.Skipf("SKIPPED: cannot make a network namespace here (ip netns add: %v: %s)", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", l.homey).Run() })
	ip("netns", "add", l.client)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", l.client).Run() })
	ip("-n", l.homey, "link", "add", "ht0", "type", "veth", "peer", "name", "ht1", "netns", l.client)
	for _, s := range []struct{ ns, dev, addr string }{{l.homey, "ht0", testHomeyAddr}, {l.client, "ht1", testClientAddr}} {
		ip("-n", s.ns, "link", "set", "lo", "up")
		ip("-n", s.ns, "link", "set", s.dev, "multicast", "on", "up")
		ip("-n", s.ns, "addr", "add", s.addr+"/30", "dev", s.dev)
	}
	if defaultRoute {
		ip("-n", l.client, "route", "add", "default", "via", testHomeyAddr)
	}
	return l
}

// responder starts the mDNS responder (this test binary, see mdnsResponderMain) in the homey
// namespace and waits until it listens.
func (l lan) responder(t *testing.T, mode string, extraEnv ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", l.homey, os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), mdnsResponderEnv+"="+mode, "HOMEYTRAY_TEST_MDNS_IFACE=ht0"), extraEnv...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe() // the responder ends when this closes
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cancel()
			<-done
		}
		cancel()
	})
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- line
	}()
	select {
	case line := <-ready:
		if strings.TrimSpace(line) != "ready" {
			t.Fatalf("responder did not start: %q", line)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("responder did not start in 20 s")
	}
}

// discover runs `homeytray discover ARGS` in the client namespace.
func (l lan) discover(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", l.client, binary, "discover"}, args...)...)
	cmd.Env = append(cleanEnviron(), "XDG_CONFIG_HOME="+t.TempDir(), "XDG_CACHE_HOME="+t.TempDir())
	return execResult(t, cmd, "")
}

// runInNetns is e.run inside network namespace ns (e.g. newLAN(t).client): a test of a command
// that browses the LAN (discover, `local add NAME`) must run it there, never in the machine's own
// namespace, whose interfaces reach a real network. The emulator on 127.0.0.1 is not reachable
// from there; the keyring's D-Bus socket (a path) is.
func (e *testEnv) runInNetns(ns, stdin string, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, binary}, args...)...)
	cmd.Env = e.vars
	r := execResult(e.t, cmd, stdin)
	e.checkResult(args, r)
	return r
}

func TestDiscoverAcrossNamespaces(t *testing.T) {
	want := discovered{Name: "Kitchen Homey", Address: "http://" + testHomeyAddr, Model: "homey5q", ID: testHomeyID}
	// Responders differ in how they answer a query from a port other than 5353: Avahi answers
	// it straight back (RFC 6762 §6.7), others multicast the answer to the group.
	for _, mode := range []string{"multicast", "unicast"} {
		t.Run(mode, func(t *testing.T) {
			l := newLAN(t)
			l.responder(t, mode)

			start := time.Now()
			r := l.discover(t, "--timeout", "1500ms")
			took := time.Since(start)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("discover: exit %d\nstderr: %s", r.code, r.stderr)
			}
			lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
			if len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "NAME ADDRESS MODEL ID" {
				t.Fatalf("discover printed:\n%s", r.stdout)
			}
			for _, s := range []string{want.Name, want.Address, want.Model, want.ID} {
				if !strings.Contains(lines[1], s) {
					t.Errorf("row %q lacks %q", lines[1], s)
				}
			}
			if took > 10*time.Second {
				t.Errorf("discover --timeout 1500ms took %s", took)
			}
			t.Logf("discover with --timeout 1500ms took %s", took.Round(time.Millisecond))

			r = l.discover(t, "--timeout", "1s", "--json")
			if r.code != 0 {
				t.Fatalf("discover --json: exit %d\nstderr: %s", r.code, r.stderr)
			}
			var got []discovered
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
				t.Fatalf("discover --json printed %q: %v", r.stdout, err)
			}
			if !reflect.DeepEqual(got, []discovered{want}) {
				t.Errorf("discover --json = %+v, want %+v", got, want)
			}
		})
	}
}

// A Homey that announces no name, model or id in its TXT record (2019-and-older firmware) and
// serves on another port still shows: name from the instance label, port in the address.
func TestDiscoverOldFirmwareNoTXT(t *testing.T) {
	l := newLAN(t)
	l.responder(t, "multicast", "HOMEYTRAY_TEST_MDNS_TXT=", "HOMEYTRAY_TEST_MDNS_HOST=Homey-9013DA123456.local.", "HOMEYTRAY_TEST_MDNS_PORT=8080")
	r := l.discover(t, "--timeout", "1s", "--json")
	var got []discovered
	if err := json.Unmarshal([]byte(r.stdout), &got); r.code != 0 || err != nil {
		t.Fatalf("discover --json: exit %d, %v\nstdout: %s\nstderr: %s", r.code, err, r.stdout, r.stderr)
	}
	want := []discovered{{Name: "Kitchen Homey", Address: "http://" + testHomeyAddr + ":8080"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("discover --json = %+v, want %+v", got, want)
	}
}

// A PTR answer without the SRV, TXT and A records is followed by a query for them; a first
// query that goes unanswered (lost, as happens on Wi-Fi) is asked again.
func TestDiscoverAsksAgain(t *testing.T) {
	want := []discovered{{Name: "Kitchen Homey", Address: "http://" + testHomeyAddr, Model: "homey5q", ID: testHomeyID}}
	for name, env := range map[string]string{
		"terse": "HOMEYTRAY_TEST_MDNS_TERSE=1",
		"deaf":  "HOMEYTRAY_TEST_MDNS_DEAF=1",
	} {
		t.Run(name, func(t *testing.T) {
			l := newLAN(t)
			l.responder(t, "multicast", env)
			r := l.discover(t, "--timeout", "2s", "--json")
			var got []discovered
			if err := json.Unmarshal([]byte(r.stdout), &got); r.code != 0 || err != nil {
				t.Fatalf("discover --json: exit %d, %v\nstdout: %s\nstderr: %s", r.code, err, r.stdout, r.stderr)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("discover --json = %+v, want %+v", got, want)
			}
		})
	}
}

// A LAN that answers nothing: one line on stdout, exit 0; --json prints an empty list.
func TestDiscoverNothingAnswers(t *testing.T) {
	l := newLAN(t)
	r := l.discover(t, "--timeout", "500ms")
	if r.code != 0 || r.stderr != "" || strings.Count(r.stdout, "\n") != 1 || !strings.HasPrefix(r.stdout, "No Homey answered") {
		t.Fatalf("discover on a silent LAN: exit %d\nstdout: %q\nstderr: %q", r.code, r.stdout, r.stderr)
	}
	r = l.discover(t, "--timeout", "500ms", "--json")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("discover --json on a silent LAN: exit %d\nstdout: %q\nstderr: %q", r.code, r.stdout, r.stderr)
	}
	for _, bad := range []string{"0s", "2h", "soon"} {
		r = l.discover(t, "--timeout", bad)
		if r.code != exitUsage || strings.Count(r.stderr, "\n") > 2 || r.stdout != "" {
			t.Errorf("discover --timeout %s: exit %d\nstdout: %q\nstderr: %q", bad, r.code, r.stdout, r.stderr)
		}
	}
}

// `local add NAME` takes a name that discover lists: the key is checked with the Homey at the
// discovered address and the Homey is kept under that address.
func TestDiscoverThenLocalAdd(t *testing.T) {
	e := newTestEnv(t, false)
	l := newLAN(t)
	h := e.srv.Homeys()[0]
	target, err := url.Parse(h.LocalURL)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "homey.sock")
	ul, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: httputil.NewSingleHostReverseProxy(target)}
	go srv.Serve(ul)
	t.Cleanup(func() { srv.Close() })
	l.responder(t, "unicast", "HOMEYTRAY_TEST_MDNS_ID="+h.ID, "HOMEYTRAY_TEST_MDNS_FORWARD="+sock)

	key := e.srv.AddAPIKey(h.ID, []string{"homey.device.readonly", "homey.zone.readonly"})
	e.secrets = append(e.secrets, key)
	r := e.runInNetns(l.client, key+"\n", "local", "add", "kitchen homey")
	if r.code != 0 {
		t.Fatalf("local add kitchen homey: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	list := e.must("", "local", "list")
	if !strings.Contains(list, "Kitchen Homey") || !strings.Contains(list, "http://"+testHomeyAddr) || !strings.Contains(list, h.ID) {
		t.Errorf("local list after adding a discovered Homey:\n%s", list)
	}

	// A name nobody answers to: one line, exit 1, nothing stored.
	r = e.runInNetns(l.client, key+"\n", "local", "add", "Attic")
	if r.code != exitError || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.Contains(r.stderr, "Attic") {
		t.Errorf("local add Attic: exit %d\nstderr: %q", r.code, r.stderr)
	}
}

// An interrupt ends a long browse at once.
func TestDiscoverInterrupt(t *testing.T) {
	l := newLAN(t)
	cmd := exec.Command("ip", "netns", "exec", l.client, binary, "discover", "--timeout", "30s")
	cmd.Env = cleanEnviron()
	var errb strings.Builder
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	time.Sleep(500 * time.Millisecond) // ip execs the binary: the same process
	start := time.Now()
	cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitError || !strings.Contains(errb.String(), "interrupted") {
			t.Errorf("interrupted discover: %v\nstderr: %q", err, errb.String())
		}
		t.Logf("discover ended %s after the interrupt", time.Since(start).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("discover --timeout 30s still ran 5 s after an interrupt")
	}
}

// A LAN without a default route: the join and the query name the interface, so discovery needs
// no route, for multicast or otherwise.
func TestDiscoverNoRoute(t *testing.T) {
	l := newLANRoute(t, false)
	l.responder(t, "unicast")
	r := l.discover(t, "--timeout", "1s")
	if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, "Kitchen Homey") {
		t.Fatalf("discover without a route: exit %d\nstdout: %q\nstderr: %q", r.code, r.stdout, r.stderr)
	}
}

// When the browse fails on every interface, the one-line error names each and why. Here the
// client's namespace allows no multicast group memberships at all (igmp_max_memberships 0), so
// joining the mDNS group fails.
func TestDiscoverCannotJoin(t *testing.T) {
	l := newLAN(t)
	set := exec.Command("ip", "netns", "exec", l.client, "sh", "-c", "echo 0 >/proc/sys/net/ipv4/igmp_max_memberships")
	if out, err := set.CombinedOutput(); err != nil {
		t.Fatalf("set igmp_max_memberships: %v\n%s", err, out)
	}
	r := l.discover(t, "--timeout", "300ms")
	if r.code != exitError || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "mDNS browse failed on ht1: cannot join the mDNS group") {
		t.Fatalf("discover that cannot join the group: exit %d\nstdout: %q\nstderr: %q", r.code, r.stdout, r.stderr)
	}
	t.Logf("stderr: %s", strings.TrimSpace(r.stderr))
}

// A namespace with no interface but loopback: nothing to browse on is an error (exit 1), one line.
func TestDiscoverNoNetwork(t *testing.T) {
	requireNetns(t)
	ns := "ht-" + randomHex(t, 4) + "-n"
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	r := lan{client: ns}.discover(t, "--timeout", "200ms")
	if r.code != exitError || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "multicast") {
		t.Fatalf("discover without a network: exit %d\nstdout: %q\nstderr: %q", r.code, r.stdout, r.stderr)
	}
}

// mdnsResponderMain is the helper process (TestMain runs it when mdnsResponderEnv is set): an
// mDNS responder written with miekg/dns, independent of the code under test, that announces
// one Homey for _homey._tcp on HOMEYTRAY_TEST_MDNS_IFACE. It answers a question for any of its
// records (PTR, SRV, TXT, A); to a PTR question it adds the others, as responders do, unless
// HOMEYTRAY_TEST_MDNS_TERSE is set. It says "ready" on stdout, answers for at most a minute and
// ends when its parent closes its stdin.
func mdnsResponderMain() int {
	mode := os.Getenv(mdnsResponderEnv)
	ifi, err := net.InterfaceByName(os.Getenv("HOMEYTRAY_TEST_MDNS_IFACE"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "responder:", err)
		return 1
	}
	group := &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353}
	conn, err := net.ListenMulticastUDP("udp4", ifi, group) // also sets IP_MULTICAST_IF to ifi
	if err != nil {
		fmt.Fprintln(os.Stderr, "responder:", err)
		return 1
	}
	defer conn.Close()
	go func() { os.Stdin.Read(make([]byte, 1)); conn.Close() }()
	conn.SetDeadline(time.Now().Add(time.Minute))

	service := "_homey._tcp.local."
	instance := `Kitchen\ Homey.` + service
	host := "homey-" + testHomeyID + ".local."
	if h := os.Getenv("HOMEYTRAY_TEST_MDNS_HOST"); h != "" {
		host = h
	}
	port := uint16(80)
	if p := os.Getenv("HOMEYTRAY_TEST_MDNS_PORT"); p != "" {
		fmt.Sscan(p, &port)
	}
	id := testHomeyID
	if v := os.Getenv("HOMEYTRAY_TEST_MDNS_ID"); v != "" {
		id = v
	}
	txt := []string{"name=Kitchen Homey", "model=homey5q", "id=" + id}
	if v, set := os.LookupEnv("HOMEYTRAY_TEST_MDNS_TXT"); set && v == "" {
		txt = []string{""} // an empty TXT record, as DNS-SD requires one
	}
	class := uint16(dns.ClassINET)
	if mode == "multicast" {
		class |= 1 << 15 // the cache-flush bit on unique records; never in legacy unicast replies
	}
	hdr := func(name string, t uint16, ttl uint32) dns.RR_Header {
		return dns.RR_Header{Name: name, Rrtype: t, Class: class, Ttl: ttl}
	}
	ptr := &dns.PTR{Hdr: dns.RR_Header{Name: service, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 4500}, Ptr: instance}
	extra := []dns.RR{
		&dns.SRV{Hdr: hdr(instance, dns.TypeSRV, 120), Port: port, Target: host},
		&dns.TXT{Hdr: hdr(instance, dns.TypeTXT, 4500), Txt: txt},
		&dns.A{Hdr: hdr(host, dns.TypeA, 120), A: net.ParseIP(testHomeyAddr).To4()},
	}
	if sock := os.Getenv("HOMEYTRAY_TEST_MDNS_FORWARD"); sock != "" {
		// The Homey's HTTP side: TCP on its address here, passed on to a Unix socket of the test
		// (a path, so it crosses namespaces) that serves the emulator.
		l, err := net.Listen("tcp", net.JoinHostPort(testHomeyAddr, strconv.Itoa(int(port))))
		if err != nil {
			fmt.Fprintln(os.Stderr, "responder:", err)
			return 1
		}
		defer l.Close()
		go forward(l, sock)
	}
	records := append([]dns.RR{ptr}, extra...)
	terse := os.Getenv("HOMEYTRAY_TEST_MDNS_TERSE") != ""          // the PTR alone; the rest only when asked
	deaf, _ := strconv.Atoi(os.Getenv("HOMEYTRAY_TEST_MDNS_DEAF")) // queries to leave unanswered
	fmt.Println("ready")

	buf := make([]byte, 9000)
	for {
		n, src, err := conn.ReadFromUDP(buf)
		if err != nil {
			return 0 // closed or a minute passed
		}
		var q dns.Msg
		if q.Unpack(buf[:n]) != nil || q.Response {
			continue
		}
		var answer []dns.RR
		for _, qq := range q.Question {
			for _, rr := range records {
				if h := rr.Header(); strings.EqualFold(qq.Name, h.Name) && (qq.Qtype == h.Rrtype || qq.Qtype == dns.TypeANY) {
					answer = append(answer, rr)
				}
			}
		}
		if len(answer) == 0 {
			continue
		}
		if deaf > 0 {
			deaf--
			continue
		}
		resp := &dns.Msg{MsgHdr: dns.MsgHdr{Response: true, Authoritative: true}, Answer: answer}
		if !terse && slices.Contains(answer, dns.RR(ptr)) {
			resp.Extra = extra
		}
		to := group
		if mode == "unicast" {
			// RFC 6762 §6.7: a legacy unicast reply repeats the id and the question.
			resp.Id, resp.Question, to = q.Id, q.Question, src
		}
		out, err := resp.Pack()
		if err != nil {
			fmt.Fprintln(os.Stderr, "responder:", err)
			return 1
		}
		conn.WriteToUDP(out, to)
	}
}

// forward passes each connection accepted on l on to the Unix socket sock.
func forward(l net.Listener, sock string) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			u, err := net.Dial("unix", sock)
			if err != nil {
				return
			}
			defer u.Close()
			go func() { io.Copy(u, c); u.(*net.UnixConn).CloseWrite() }()
			io.Copy(c, u)
		}()
	}
}
