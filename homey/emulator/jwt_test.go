package emulator

import (
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The emulator's own RS512 JWTs agree with an independent library both ways, and a Homey's
// checks refuse what a real one would.
func TestJWT(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_900_000_000, 0)
	claims := jwtClaims{Aud: "homey", Sub: "user", Iss: "cloud", Iat: now.Unix(), Exp: now.Add(time.Minute).Unix(), Jti: "j"}
	signed, err := signJWT(key, claims)
	if err != nil {
		t.Fatal(err)
	}
	var rc jwt.RegisteredClaims
	if _, err := jwt.ParseWithClaims(signed, &rc, func(*jwt.Token) (any, error) { return &key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS512"}), jwt.WithAudience("homey"), jwt.WithTimeFunc(func() time.Time { return now })); err != nil || rc.Subject != "user" {
		t.Fatalf("golang-jwt refuses our token: %v", err)
	}
	if got, err := verifyJWT(signed, &key.PublicKey, "homey", now); err != nil || got != claims {
		t.Fatalf("verifyJWT = %+v, %v", got, err)
	}
	theirs, err := jwt.NewWithClaims(jwt.SigningMethodRS512, jwt.MapClaims{"aud": "homey", "sub": "u2", "exp": now.Add(time.Minute).Unix()}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := verifyJWT(theirs, &key.PublicKey, "homey", now); err != nil || got.Sub != "u2" {
		t.Fatalf("verifyJWT refuses golang-jwt's token: %v", err)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims{"aud": "homey", "exp": now.Add(time.Minute).Unix()}).SignedString([]byte("k"))
	for name, tc := range map[string]struct {
		token string
		aud   string
		at    time.Time
	}{
		"expired":        {signed, "homey", now.Add(time.Minute)},
		"before issued":  {signed, "homey", now.Add(-time.Second)},
		"other audience": {signed, "apps", now},
		"other key":      {func() string { s, _ := signJWT(other, claims); return s }(), "homey", now},
		"HS512":          {hs, "homey", now},
		"tampered":       {strings.Replace(signed, ".", ".e30", 1), "homey", now},
		"two parts":      {"a.b", "homey", now},
		"no expiry":      {func() string { c := claims; c.Exp = 0; s, _ := signJWT(key, c); return s }(), "homey", now},
	} {
		if _, err := verifyJWT(tc.token, &key.PublicKey, tc.aud, tc.at); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
