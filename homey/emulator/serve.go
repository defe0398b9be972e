package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
)

// Info is the line Serve writes: how a client reaches the emulator.
type Info struct {
	Cloud        string `json:"cloud"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	RedirectURI  string `json:"redirect_uri"`
}

// Serve runs an emulator until ctx is done (then it returns nil). Once it
// listens it writes exactly one line of JSON to out, an Info:
//
//	{"cloud":"http://127.0.0.1:43123","client_id":"…","client_secret":"…","redirect_uri":"…"}
//
// Point a client at it with ATHOM_CLOUD_API_BASEURL=<cloud>.
func Serve(ctx context.Context, o Options, out io.Writer) error {
	s, err := New(o)
	if err != nil {
		return err
	}
	defer s.Close()
	line, err := json.Marshal(Info{Cloud: s.URL(), ClientID: s.ClientID(), ClientSecret: s.ClientSecret(), RedirectURI: s.RedirectURI()})
	if err != nil {
		return fmt.Errorf("encode server info: %w", err)
	}
	if _, err := fmt.Fprintf(out, "%s\n", line); err != nil {
		return fmt.Errorf("write server info: %w", err)
	}
	<-ctx.Done()
	return s.Close()
}
