package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/homeytray/homeytray/auth"
)

func (e *testEnv) keyring() *auth.Keyring {
	return &auth.Keyring{Service: "homeytray-" + envValue(e.vars, "HOMEYTRAY_PROFILE")}
}

// BenchmarkTokenWarmProcess: a whole `homeytray token` process with a cached bearer, beside the
// yardstick (BenchmarkKeychainReadProcess). Target: at most 1.3 times the yardstick.
func BenchmarkTokenWarmProcess(b *testing.B) {
	e := newTestEnv(b, false)
	e.loginHTTP()
	e.must("", "token")
	e.srv.ResetCounts()
	b.ResetTimer()
	for b.Loop() {
		e.must("", "token")
	}
	b.ReportMetric(float64(e.srv.Count("*"))/float64(b.N), "calls/op")
}

// BenchmarkTokenColdProcess: `token` with no cached bearer (delegation + Homey sign-in).
func BenchmarkTokenColdProcess(b *testing.B) {
	e := newTestEnv(b, false)
	e.loginHTTP()
	id := e.srv.Homeys()[0].ID
	kr := e.keyring()
	e.srv.ResetCounts()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		if err := kr.Delete("bearer:" + id); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		e.must("", "token")
	}
	b.ReportMetric(float64(e.srv.Count("*"))/float64(b.N), "calls/op")
}

// BenchmarkKeychainReadProcess is the yardstick: a minimal Go program that reads one secret from
// the keychain through go-keyring.
func BenchmarkKeychainReadProcess(b *testing.B) {
	requireDesktop(b, false)
	yard := newYardstick(b)
	for b.Loop() {
		yard.run(b)
	}
}

// BenchmarkWarmTokenVsKeychainRead runs the two side by side, alternating, and reports the ratio
// of their medians: the target is at most 1.3.
func BenchmarkWarmTokenVsKeychainRead(b *testing.B) {
	e := newTestEnv(b, false)
	e.loginHTTP()
	e.must("", "token")
	yard := newYardstick(b)
	var tok, kc []time.Duration
	for b.Loop() {
		start := time.Now()
		e.must("", "token")
		tok = append(tok, time.Since(start))
		start = time.Now()
		yard.run(b)
		kc = append(kc, time.Since(start))
	}
	mt, mk := median(tok), median(kc)
	b.ReportMetric(float64(mt.Microseconds())/1000, "token-ms")
	b.ReportMetric(float64(mk.Microseconds())/1000, "keychain-read-ms")
	b.ReportMetric(float64(mt)/float64(mk), "ratio")
}

type yardstick struct{ bin, service string }

func newYardstick(b *testing.B) *yardstick {
	y := &yardstick{bin: filepath.Join(b.TempDir(), "kcread"), service: "homeytray-bench-" + randomHex(b, 4)}
	build := exec.Command("go", "build", "-trimpath", "-o", y.bin, "./testdata/kcread")
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // built like homeytray itself
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build kcread: %v\n%s", err, out)
	}
	kr := &auth.Keyring{Service: y.service}
	if err := kr.Set("token", "a-bench-value"); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { kr.Delete("token") })
	return y
}

func (y *yardstick) run(b *testing.B) {
	if out, err := exec.Command(y.bin, y.service, "token").Output(); err != nil || !strings.Contains(string(out), "a-bench-value") {
		b.Fatalf("kcread: %v", err)
	}
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
