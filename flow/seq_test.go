package flow

import "testing"

func TestSeqArithmetic(t *testing.T) {
	for _, tc := range []struct {
		name   string
		a, b   Seq
		less   bool
		lessEq bool
		sub    int32
		max    Seq
	}{
		{name: "plain", a: 100, b: 200, less: true, lessEq: true, sub: -100, max: 200},
		{name: "equal", a: 7, b: 7, less: false, lessEq: true, sub: 0, max: 7},
		{name: "after", a: 300, b: 200, less: false, lessEq: false, sub: 100, max: 300},
		{name: "wraps: just before zero precedes just after", a: 0xFFFFFFF0, b: 0x10, less: true, lessEq: true, sub: -0x20, max: 0x10},
		{name: "wraps: just after zero follows", a: 0x10, b: 0xFFFFFFF0, less: false, lessEq: false, sub: 0x20, max: 0x10},
		{name: "half the space apart counts as before (int32 sign)", a: 0, b: 0x80000000, less: true, lessEq: true, sub: -0x80000000, max: 0x80000000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.a.LessThan(tc.b); got != tc.less {
				t.Errorf("%d.LessThan(%d) = %v, want %v", tc.a, tc.b, got, tc.less)
			}
			if got := tc.a.LessThanEq(tc.b); got != tc.lessEq {
				t.Errorf("%d.LessThanEq(%d) = %v, want %v", tc.a, tc.b, got, tc.lessEq)
			}
			if got := tc.a.Sub(tc.b); got != tc.sub {
				t.Errorf("%d.Sub(%d) = %d, want %d", tc.a, tc.b, got, tc.sub)
			}
			if got := tc.a.Max(tc.b); got != tc.max {
				t.Errorf("%d.Max(%d) = %d, want %d", tc.a, tc.b, got, tc.max)
			}
		})
	}
}

func TestSeqAddAndWindow(t *testing.T) {
	if got, want := Seq(0xFFFFFFFF).Add(2), Seq(1); got != want {
		t.Errorf("0xFFFFFFFF + 2 = %d, want %d", got, want)
	}
	for _, tc := range []struct {
		name  string
		s, lo Seq
		size  uint32
		want  bool
	}{
		{"inside", 150, 100, 100, true},
		{"at start", 100, 100, 100, true},
		{"at end is outside", 200, 100, 100, false},
		{"before", 99, 100, 100, false},
		{"across the wrap", 5, 0xFFFFFFF0, 0x20, true},
		{"past the wrapped window", 0x20, 0xFFFFFFF0, 0x20, false},
		{"empty window", 100, 100, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.InWindow(tc.lo, tc.size); got != tc.want {
				t.Errorf("%d.InWindow(%d, %d) = %v, want %v", tc.s, tc.lo, tc.size, got, tc.want)
			}
		})
	}
}
