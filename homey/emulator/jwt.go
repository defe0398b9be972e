package emulator

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The delegation tokens are JWTs signed RS512, as Athom's are (docs/protocol.md#delegation). The
// emulator signs and checks them itself: a JWT library would be linked into every homeytray
// process for the demo alone, and its package init would cost the start-up of every command.
// The tests check the tokens with github.com/golang-jwt/jwt, independently of this code.

// jwtClaims are the claims of a delegation token.
type jwtClaims struct {
	Aud string `json:"aud"`
	Sub string `json:"sub"`
	Iss string `json:"iss"`
	Iat int64  `json:"iat"`
	Exp int64  `json:"exp"`
	Jti string `json:"jti"`
}

var b64 = base64.RawURLEncoding

// signJWT signs claims with key, RS512.
func signJWT(key *rsa.PrivateKey, claims jwtClaims) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signing := b64.EncodeToString([]byte(`{"alg":"RS512","typ":"JWT"}`)) + "." + b64.EncodeToString(payload)
	sum := sha512.Sum512([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA512, sum[:])
	if err != nil {
		return "", err
	}
	return signing + "." + b64.EncodeToString(sig), nil
}

var errBadJWT = errors.New("token is malformed")

// verifyJWT checks token as a Homey does: three parts, header alg RS512, a valid signature by
// pub, aud = audience, an expiry after now and an issue time not after it. It returns the claims.
func verifyJWT(token string, pub *rsa.PublicKey, audience string, now time.Time) (jwtClaims, error) {
	var c jwtClaims
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(token) > 8<<10 {
		return c, errBadJWT
	}
	head, err1 := b64.DecodeString(parts[0])
	payload, err2 := b64.DecodeString(parts[1])
	sig, err3 := b64.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return c, errBadJWT
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(head, &h) != nil {
		return c, errBadJWT
	}
	if h.Alg != "RS512" {
		return c, fmt.Errorf("signing method %q is invalid", h.Alg)
	}
	sum := sha512.Sum512([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA512, sum[:], sig) != nil {
		return c, errors.New("signature is invalid")
	}
	if json.Unmarshal(payload, &c) != nil {
		return c, errBadJWT
	}
	switch {
	case c.Aud != audience:
		return c, errors.New("token has invalid audience")
	case c.Exp == 0:
		return c, errors.New("token is missing required claim: exp")
	case !now.Before(time.Unix(c.Exp, 0)):
		return c, errors.New("token is expired")
	case c.Iat != 0 && now.Before(time.Unix(c.Iat, 0)):
		return c, errors.New("token used before issued")
	}
	return c, nil
}
