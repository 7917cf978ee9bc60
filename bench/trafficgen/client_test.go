package main

import (
	"math/rand"
	"testing"
)

func TestPlan(t *testing.T) {
	tests := []struct {
		name    string
		cfg     config
		wantV6  [numKinds]int
		wantAll [numKinds]int
	}{
		{
			name:    "default shares",
			cfg:     config{addr6: "fd77::2", counts: counts(100, 10, 10, 5, 20), bulk: 5, v6Share: 0.2},
			wantAll: counts(100, 10, 10, 5, 20, 3, 2),
			wantV6:  counts(20, 2, 2, 1, 4, 0, 0),
		},
		{
			name:    "no IPv6 address",
			cfg:     config{counts: counts(10), bulk: 2, v6Share: 0.5},
			wantAll: counts(10, 0, 0, 0, 0, 1, 1),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			small, bulk := plan(tt.cfg, rand.New(rand.NewSource(1)))
			var all, v6 [numKinds]int
			for _, j := range append(small, bulk...) {
				all[j.kind]++
				if j.v6 {
					v6[j.kind]++
				}
			}
			if all != tt.wantAll {
				t.Errorf("got counts %v, want %v", all, tt.wantAll)
			}
			if v6 != tt.wantV6 {
				t.Errorf("got IPv6 counts %v, want %v", v6, tt.wantV6)
			}
			for _, j := range bulk {
				if j.kind != kBulkGet && j.kind != kBulkPut {
					t.Errorf("got %v in the bulk queue", j.kind)
				}
			}
		})
	}
}

// counts fills the first kinds' counts in kind order, the rest zero.
func counts(n ...int) (c [numKinds]int) {
	copy(c[:], n)
	return c
}
