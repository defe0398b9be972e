package agent

import (
	"testing"
	"time"
)

func TestIncidents(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	expiry := t0.Add(time.Hour)
	type ev struct {
		fail     incidentKind // incidentNone = a success (end)
		at       time.Duration
		deadline time.Time
		notify   bool
	}
	tests := []struct {
		name   string
		events []ev
	}{
		{"attention notifies once over many retries", []ev{
			{incidentAttention, 0, expiry, true},
			{incidentAttention, time.Minute, expiry, false},
			{incidentAttention, 2 * time.Hour, expiry, false},
			{incidentNetwork, 3 * time.Hour, expiry, false},
			{incidentAttention, 4 * time.Hour, expiry, false},
		}},
		{"a new incident after a success notifies again", []ev{
			{incidentAttention, 0, expiry, true},
			{incidentNone, time.Minute, expiry, false},
			{incidentAttention, 2 * time.Minute, expiry, true},
			{incidentAttention, 3 * time.Minute, expiry, false},
		}},
		{"a blip shorter than the token", []ev{
			{incidentNetwork, 0, expiry, false},
			{incidentNetwork, 30 * time.Minute, expiry, false},
			{incidentNone, 40 * time.Minute, expiry, false},
		}},
		{"an outage longer than the token notifies once", []ev{
			{incidentNetwork, 0, expiry, false},
			{incidentNetwork, 59 * time.Minute, expiry, false},
			{incidentNetwork, 61 * time.Minute, expiry, true},
			{incidentNetwork, 3 * time.Hour, expiry, false},
		}},
		{"unknown expiry never notifies for the network", []ev{
			{incidentNetwork, 0, time.Time{}, false},
			{incidentNetwork, 100 * time.Hour, time.Time{}, false},
		}},
		{"the network then the sign-in", []ev{
			{incidentNetwork, 2 * time.Hour, expiry, true},
			{incidentAttention, 3 * time.Hour, expiry, true},
			{incidentNetwork, 4 * time.Hour, expiry, false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s incidents
			for i, e := range tt.events {
				var got bool
				if e.fail == incidentNone {
					s.end()
				} else {
					got = s.fail(e.fail, t0.Add(e.at), e.deadline)
				}
				if got != e.notify {
					t.Errorf("event %d: notify = %v, want %v", i, got, e.notify)
				}
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	for _, limit := range []time.Duration{backoffCap, backoffCapAttend} {
		prevHigh := time.Duration(0)
		for attempt := 0; attempt < 40; attempt++ {
			high := min(backoffBase<<min(attempt, 20), limit)
			for _, rnd := range []float64{0, 0.25, 0.5, 0.999999} {
				d := backoff(attempt, rnd, limit)
				if d < high/2 || d > high {
					t.Fatalf("backoff(%d, %v, %v) = %v, want within [%v, %v]", attempt, rnd, limit, d, high/2, high)
				}
			}
			if high < prevHigh {
				t.Fatalf("attempt %d: bound %v fell below %v", attempt, high, prevHigh)
			}
			prevHigh = high
		}
		if d := backoff(1000, 0.999999, limit); d > limit || d < limit/2 {
			t.Errorf("backoff(1000) = %v, want within the cap %v", d, limit)
		}
	}
	if d := backoff(0, 0, backoffCap); d != backoffBase/2 {
		t.Errorf("first retry at least %v, got %v", backoffBase/2, d)
	}
}
