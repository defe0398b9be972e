package homey

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// listDevices is a Do callback that lists devices and records the bearers it was given.
func listDevices(seen *[]string) func(ctx context.Context, c *Client, bearer string) error {
	return func(ctx context.Context, c *Client, bearer string) error {
		*seen = append(*seen, bearer)
		if c.HomeyID != "h1" {
			return errors.New("client for the wrong Homey")
		}
		_, err := c.Devices(ctx, bearer)
		return err
	}
}

func TestBearersDo(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(e *bearerEnv)
		calls  map[string]int
		seen   []string // bearers given to fn, in order
		unauth bool     // want an IsUnauthorized error
		drops  int
	}{
		{name: "cached, accepted", setup: func(e *bearerEnv) { e.cached("cached", time.Minute, true) },
			calls: map[string]int{devicesOp: 1}, seen: []string{"cached"}},
		{name: "cached, 401: log in once and retry", setup: func(e *bearerEnv) { e.cached("cached", time.Minute, false) },
			calls: map[string]int{devicesOp: 2, routeDelegation: 1, routeLogin: 1},
			seen:  []string{"cached", "session-1"}, drops: 1},
		{name: "401 twice: no third try", setup: func(e *bearerEnv) {
			e.cached("cached", time.Minute, true)
			e.fake.devicesAlways401 = true
		}, calls: map[string]int{devicesOp: 2, routeDelegation: 1, routeLogin: 1},
			seen: []string{"cached", "session-1"}, unauth: true, drops: 1},
		{name: "none: log in first", setup: func(*bearerEnv) {},
			calls: map[string]int{devicesOp: 1, routeDelegation: 1, routeLogin: 1}, seen: []string{"session-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newBearerEnv(t)
			tt.setup(e)
			var seen []string
			err := e.b.Do(context.Background(), e.h, listDevices(&seen))
			if (err != nil) != tt.unauth || IsUnauthorized(err) != tt.unauth {
				t.Errorf("Do = %v; want unauthorized %v", err, tt.unauth)
			}
			e.checkCalls(t, tt.calls)
			if !slices.Equal(seen, tt.seen) {
				t.Errorf("fn ran %d times with other bearers than want (%d runs)", len(seen), len(tt.seen))
			}
			if e.cache.drops != tt.drops {
				t.Errorf("%d drops; want %d", e.cache.drops, tt.drops)
			}
		})
	}
}

func TestBearersDoOtherErrors(t *testing.T) {
	boom := errors.New("boom")
	e := newBearerEnv(t)
	e.cached("cached", time.Minute, true)
	runs := 0
	err := e.b.Do(context.Background(), e.h, func(context.Context, *Client, string) error {
		runs++
		return boom
	})
	if !errors.Is(err, boom) || runs != 1 {
		t.Errorf("Do = %v after %d runs; want boom after 1", err, runs)
	}
	e.checkCalls(t, map[string]int{})

	// A failing Get: fn never runs.
	e.cache.loadErr = boom
	runs = 0
	if err := e.b.Do(context.Background(), e.h, func(context.Context, *Client, string) error { runs++; return nil }); !errors.Is(err, boom) || runs != 0 {
		t.Errorf("Do with a broken cache = %v after %d runs", err, runs)
	}
}

func TestBearersDoDropError(t *testing.T) {
	errCache := errors.New("keychain sentinel")
	e := newBearerEnv(t)
	e.cached("cached", time.Minute, false)
	e.cache.dropErr = errCache
	var seen []string
	if err := e.b.Do(context.Background(), e.h, listDevices(&seen)); !errors.Is(err, errCache) {
		t.Errorf("Do = %v; want the drop error", err)
	}
	e.checkCalls(t, map[string]int{devicesOp: 1})
}
