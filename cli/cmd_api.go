package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/sanitize"
)

// apiOptions are the flags and argument of `api`.
type apiOptions struct {
	method, path, input, homey string
	fields, rawFields          []string
	include                    bool
}

func newCmdAPI(f *Factory, runF func(apiOptions) error) *cobra.Command {
	var o apiOptions
	cmd := &cobra.Command{
		Use:   "api [-X METHOD] PATH [flags]",
		Short: "Make one authenticated request to a Homey's API",
		Long: `Sends one request to the selected Homey (or --homey) over the route homeytray chose (its LAN
address or Athom's relay), or with its API key, and prints the answer's body: pretty-printed JSON
on a terminal, as it came otherwise. PATH may leave out /api/manager/.

-F key=value adds a typed field to a JSON body, as gh api does: true, false, null and numbers
become JSON, @FILE reads a file (@- stdin), anything else is a string; key[]=value makes an
array. -f key=value adds a string field. With GET the fields go to the query string instead.
--input FILE (- for stdin) sends a body as it is. With fields or --input the method defaults to
POST, else GET.

A 401 signs in to the Homey again once and retries. Another answer of 400 or more prints the
Homey's error in one line on stderr and exits 1 (--include prints the answer on stdout too).
A POST or PATCH is never sent twice after a broken connection.`,
		Example: `  homeytray api devices/device
  homeytray api -X PUT /api/manager/devices/device/ID/capability/onoff -F value=true
  homeytray api /api/manager/devices/device | jq 'keys|length'`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("api: one PATH required, e.g. %s api /api/manager/devices/device", f.prog())
			}
			o.path = args[0]
			if runF != nil {
				return runF(o)
			}
			return apiRun(cmd.Context(), f, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.method, "method", "X", "", "the HTTP `METHOD` (default GET, or POST with fields or --input)")
	fl.StringArrayVarP(&o.fields, "field", "F", nil, "a typed `key=value` field of the JSON body (see above)")
	fl.StringArrayVarP(&o.rawFields, "raw-field", "f", nil, "a string `key=value` field of the JSON body")
	fl.StringVar(&o.input, "input", "", "send the body of `FILE` as it is (- for stdin)")
	fl.StringVar(&o.homey, "homey", "", "the `NAME|ID` of another Homey than the selected one")
	fl.BoolVarP(&o.include, "include", "i", false, "print the status line and headers before the body")
	_ = cmd.RegisterFlagCompletionFunc("homey", f.completeHomeys)
	return cmd
}

func apiRun(ctx context.Context, f *Factory, o apiOptions) error {
	rr, err := apiRequest(f, o)
	if err != nil {
		return err
	}
	cctx, cancel := withTimeout(ctx)
	defer cancel()
	resp, who, err := f.homeySend(cctx, o.homey, rr)
	if resp == nil {
		return err
	}
	if o.include {
		fmt.Fprintf(f.IO.Out, "%s %s\n", resp.Proto, resp.Status)
		keys := make([]string, 0, len(resp.Header))
		for k := range resp.Header {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			for _, v := range resp.Header[k] {
				fmt.Fprintf(f.IO.Out, "%s: %s\n", k, sanitize.Line(v, 0))
			}
		}
		fmt.Fprintln(f.IO.Out)
	}
	if resp.StatusCode < 400 || o.include {
		writeBody(f.IO.Out, resp)
	}
	if err := resp.Err(); err != nil && resp.StatusCode >= 400 {
		return fmt.Errorf("%s answered %w", who, err)
	}
	return nil
}

// writeBody prints an answer's body: indented JSON on a terminal, else the bytes as they came.
func writeBody(w io.Writer, resp *homey.RawResponse) {
	body := resp.Body
	if fl, ok := w.(*os.File); ok && term.IsTerminal(int(fl.Fd())) && strings.Contains(resp.Header.Get("Content-Type"), "json") {
		var buf bytes.Buffer
		if json.Indent(&buf, body, "", "  ") == nil {
			body = buf.Bytes()
		}
		if len(body) > 0 && body[len(body)-1] != '\n' {
			body = append(body, '\n')
		}
	}
	_, _ = w.Write(body)
}

// apiRequest builds the request of `api` from its flags (usage errors for what cannot be meant).
func apiRequest(f *Factory, o apiOptions) (homey.RawRequest, error) {
	method := strings.ToUpper(o.method)
	hasBody := len(o.fields)+len(o.rawFields) > 0 || o.input != ""
	if method == "" {
		method = http.MethodGet
		if hasBody {
			method = http.MethodPost
		}
	}
	rr := homey.RawRequest{Method: method, Path: apiPath(o.path)}
	if strings.ContainsAny(method, " \t/") {
		return rr, usageErrorf("api: -X %q is no HTTP method", sanitize.Line(o.method, 0))
	}
	if o.input != "" && len(o.fields)+len(o.rawFields) > 0 {
		return rr, usageErrorf("api: --input sends the body as it is: give fields (-F, -f) or --input, not both")
	}
	if o.input != "" {
		b, err := readInput(f, o.input)
		if err != nil {
			return rr, err
		}
		rr.Body = b
		return rr, nil
	}
	if !hasBody {
		return rr, nil
	}
	body, err := buildFields(f, o.fields, o.rawFields)
	if err != nil {
		return rr, err
	}
	if method == http.MethodGet || method == http.MethodHead {
		q := url.Values{}
		for k, v := range body {
			q.Set(k, fmt.Sprint(v))
		}
		sep := "?"
		if strings.Contains(rr.Path, "?") {
			sep = "&"
		}
		rr.Path += sep + q.Encode()
		return rr, nil
	}
	if rr.Body, err = json.Marshal(body); err != nil {
		return rr, fmt.Errorf("api: encode the fields: %w", err)
	}
	return rr, nil
}

// apiPath puts /api/manager/ in front of a PATH that leaves it out.
func apiPath(p string) string {
	p = strings.TrimSpace(p)
	if strings.HasPrefix(p, "/api/") {
		return p
	}
	return "/api/manager/" + strings.TrimLeft(p, "/")
}

func readInput(f *Factory, name string) ([]byte, error) {
	if name == "-" {
		b, err := io.ReadAll(io.LimitReader(f.IO.In, 32<<20))
		if err != nil {
			return nil, fmt.Errorf("api: read stdin: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, usageErrorf("api: --input: %v", err)
	}
	return b, nil
}
