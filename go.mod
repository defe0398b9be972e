module github.com/homeytray/homeytray

go 1.26.8

require (
	github.com/godbus/dbus/v5 v5.2.4
	github.com/gofrs/flock v0.13.2
	github.com/golang-jwt/jwt/v5 v5.3.1
	github.com/pkg/browser v0.0.0-20240102092130-5ac0b6a4141c
	github.com/zalando/go-keyring v0.2.8
	golang.org/x/oauth2 v0.38.0
	golang.org/x/sys v0.50.0
	golang.org/x/term v0.48.0
)

require github.com/danieljoos/wincred v1.2.3 // indirect
