// Package testport picks loopback ports for tests whose listener starts later than the pick
// (a sign-in on a registered redirect URI). For tests only.
package testport

import (
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
)

// Free returns a loopback port for a test's redirect URI that is free now on
// 127.0.0.1 (and on ::1 where there is IPv6, since a localhost sign-in listens on both). The
// sign-in binds it only later, so it is picked below Linux's ephemeral range (32768–60999):
// there, every outgoing connection and every ":0" listener of the tests running meanwhile could
// take it first, and the sign-in would fail with "port … is in use".
func Free() (int, error) {
	for range 200 {
		port := 20000 + rand.IntN(12000)
		if portFree("127.0.0.1", port) && (!hasIPv6() || portFree("::1", port)) {
			return port, nil
		}
	}
	return 0, errors.New("testport: no free loopback port between 20000 and 32000")
}

func portFree(host string, port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func hasIPv6() bool {
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		return false
	}
	l.Close()
	return true
}
