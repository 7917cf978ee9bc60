package host

import (
	"strings"
	"testing"
)

func TestParseSockstat(t *testing.T) {
	in := "sockets: used 13\nTCP: inuse 1 orphan 7 tw 0 alloc 1 mem 125\nFRAG: inuse 0 memory 0\n"
	got, err := parseSockstat(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key  string
		want int64
		ok   bool
	}{
		{"TCP.orphan", 7, true},
		{"TCP.mem", 125, true},
		{"sockets.used", 13, true},
		{"UDP.mem", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			v, ok := got[tt.key]
			if v != tt.want || ok != tt.ok {
				t.Errorf("got %d %v, want %d %v", v, ok, tt.want, tt.ok)
			}
		})
	}
}

func FuzzParseSockstat(f *testing.F) {
	f.Add("TCP: inuse 1 orphan 7 tw 0 alloc 1 mem 125\n")
	f.Fuzz(func(t *testing.T, s string) { parseSockstat(strings.NewReader(s)) })
}
