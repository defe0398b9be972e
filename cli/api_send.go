package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/homeytray/homeytray/homey"
	"github.com/homeytray/homeytray/internal/sanitize"
)

// homeySend sends rr to a Homey (name, id, or "" for the selected one) the way `token` reaches
// it (Factory.Access): with a session bearer on the route the race picked, signing in again once
// on a 401, or with its API key at its address. A method that is not idempotent is never sent
// twice after a broken connection. It returns the Homey's answer whatever its status (with the
// 401 error when a 401 is the last word) and who answered, for errors; resp is nil when there is
// no answer to show.
func (f *Factory) homeySend(ctx context.Context, nameOrID string, rr homey.RawRequest) (resp *homey.RawResponse, who string, err error) {
	acc, err := f.Access(ctx, nameOrID)
	if err != nil {
		return nil, "", err
	}
	h := acc.Homey()
	who = "the Homey " + sanitize.Line(h.Name, 0)
	err = acc.Do(ctx, !homey.Idempotent(rr.Method), func(ctx context.Context, c *homey.Client, bearer string) error {
		resp = nil
		r, err := c.Send(ctx, bearer, rr)
		if err != nil {
			return err
		}
		resp = r
		if r.StatusCode == http.StatusUnauthorized {
			return r.Err() // the Athom sign-in signs in to the Homey again once and retries
		}
		return nil
	})
	switch {
	case err == nil:
		return resp, who, nil
	case homey.IsUnauthorized(err) && resp != nil:
		return resp, who, err
	}
	return nil, who, fmt.Errorf("%s %s on %s: %w", rr.Method, rr.Path, sanitize.Line(h.Name, 0), err)
}

// buildFields makes the JSON body of `api` from -F (typed) and -f (string) fields, as gh api
// does: key=value, key[]=value appends to an array.
func buildFields(f *Factory, typed, raw []string) (map[string]any, error) {
	body := map[string]any{}
	add := func(kv string, typedValue bool) error {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usageErrorf("api: field %q: want key=value", sanitize.Line(kv, 0))
		}
		var val any = v
		if typedValue {
			var err error
			if val, err = fieldValue(f, v); err != nil {
				return err
			}
		}
		if name, isArray := strings.CutSuffix(k, "[]"); isArray {
			list, _ := body[name].([]any)
			body[name] = append(list, val)
			return nil
		}
		body[k] = val
		return nil
	}
	for _, kv := range typed {
		if err := add(kv, true); err != nil {
			return nil, err
		}
	}
	for _, kv := range raw {
		if err := add(kv, false); err != nil {
			return nil, err
		}
	}
	return body, nil
}

// fieldValue types one -F value: true, false, null and numbers are JSON, @FILE is the file's
// text (@- stdin), anything else a string.
func fieldValue(f *Factory, v string) (any, error) {
	switch v {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "null":
		return nil, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n, nil
	}
	if fl, err := strconv.ParseFloat(v, 64); err == nil && !strings.ContainsAny(v, "xXpPnN") {
		return json.Number(strconv.FormatFloat(fl, 'g', -1, 64)), nil
	}
	if name, ok := strings.CutPrefix(v, "@"); ok {
		b, err := readInput(f, name)
		if err != nil {
			return nil, err
		}
		return string(b), nil
	}
	return v, nil
}
