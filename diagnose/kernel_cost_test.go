package diagnose

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/rstscope/rstscope/kernel"
)

// eventRecord builds one ring buffer record as rstscope.bpf.c writes it
// (struct event in rstscope.h; the offsets are kernel/event.go's, checked
// against bpf2go's twin by TestEventLayout).
func eventRecord(kind kernel.Kind, from, to netip.AddrPort, netns uint32, reason uint32, state, substate, ctx, inFlags uint8, pid uint32, comm string) []byte {
	b := make([]byte, kernel.EventSize)
	le := binary.LittleEndian
	le.PutUint64(b[0:], 1_000_000_000) // boot ns
	le.PutUint64(b[16:], 0)            // cgroup id
	t := b[24:]
	family := uint16(2)
	if from.Addr().Is6() {
		family = 10
		f, d := from.Addr().As16(), to.Addr().As16()
		copy(t[0:], f[:])
		copy(t[16:], d[:])
	} else {
		f, d := from.Addr().As4(), to.Addr().As4()
		copy(t[0:], f[:])
		copy(t[16:], d[:])
	}
	sport, dport := from.Port(), to.Port()
	if kind == kernel.Received { // tcp_receive_reset: the socket's own ends
		copy(t[0:16], make([]byte, 16))
		copy(t[16:32], make([]byte, 16))
		if family == 10 {
			f, d := to.Addr().As16(), from.Addr().As16()
			copy(t[0:], f[:])
			copy(t[16:], d[:])
		} else {
			f, d := to.Addr().As4(), from.Addr().As4()
			copy(t[0:], f[:])
			copy(t[16:], d[:])
		}
		sport, dport = dport, sport
	}
	le.PutUint32(t[32:], netns)
	le.PutUint16(t[36:], sport)
	le.PutUint16(t[38:], dport)
	le.PutUint16(t[40:], family)
	le.PutUint32(b[68:], pid)
	le.PutUint32(b[72:], pid)
	le.PutUint32(b[76:], reason)
	b[80], b[81], b[82], b[83] = byte(kind), state, ctx, inFlags
	copy(b[84:100], comm)
	b[100] = substate
	return b
}

// floodRecord is what kernel/flood makes: a SYN to a closed port on
// loopback answered by the kernel with a NO_SOCKET reset, in softirq.
func floodRecord(sport uint16) []byte {
	return eventRecord(kernel.Sent, netip.MustParseAddrPort("127.0.0.1:9"), netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), sport),
		4026532100, 1, 0, 0, uint8(kernel.ContextKernel), 0x02, 0, "")
}

// variedResets is a spread of what watch reports: every kind, both
// families, states with time-wait substates, process and kernel context,
// answered flags, reasons known and not, received halves joined in the
// same and another namespace.
func variedResets(t testing.TB) []kernel.Reset {
	t.Helper()
	v4s, v4c := netip.MustParseAddrPort("10.77.2.2:7777"), netip.MustParseAddrPort("10.77.1.2:40000")
	v6s, v6c := netip.MustParseAddrPort("[2001:db8::2]:443"), netip.MustParseAddrPort("[2001:db8::1]:51000")
	type st struct{ state, sub uint8 }
	var rs []kernel.Reset
	for _, kind := range []kernel.Kind{kernel.Sent, kernel.Wire, kernel.Netfilter, kernel.Received} {
		for _, ends := range [][2]netip.AddrPort{{v4s, v4c}, {v4c, v4s}, {v6s, v6c}} {
			for _, s := range []st{{0, 0}, {1, 0}, {2, 0}, {7, 0}, {6, 5}, {6, 6}, {6, 0}, {4, 0}} {
				for _, reason := range []uint32{1, 11, 14, 15, 10, 9, 99} {
					for _, flags := range []uint8{0, 0x02, 0x10, 0x18, 0x11, 0x12} {
						for i, ctx := range []uint8{uint8(kernel.ContextKernel), uint8(kernel.ContextProcess), uint8(kernel.ContextUnknown)} {
							netns := []uint32{4026532001, 4026532002, 4026532003}[(int(reason)+i)%3]
							pid, comm := uint32(0), ""
							if ctx == uint8(kernel.ContextProcess) {
								pid, comm = 100+uint32(s.state), []string{"nginx", "curl", "haproxy"}[int(flags)%3]
							}
							var r kernel.Reset
							if err := kernel.Decode(eventRecord(kind, ends[0], ends[1], netns, reason, s.state, s.sub, ctx, flags, pid, comm), &r.Event); err != nil {
								t.Fatal(err)
							}
							if kind == kernel.Sent && flags == 0x10 {
								recvNS := []uint32{netns, 4026532003}[int(reason)%2]
								if err := kernel.Decode(eventRecord(kernel.Received, ends[0], ends[1], recvNS, 0, 1, 0, uint8(kernel.ContextKernel), 0, 0, ""), &r.Recv); err != nil {
									t.Fatal(err)
								}
							}
							rs = append(rs, r)
						}
					}
				}
			}
		}
	}
	return rs
}

func variedAddrs() fakeAddrs {
	return fakeAddrs{
		4026532001: {netip.MustParseAddr("10.77.1.1"), netip.MustParseAddr("10.77.2.1")},
		4026532002: {netip.MustParseAddr("10.77.2.2"), netip.MustParseAddr("2001:db8::2")},
	}
}

var costAt = time.Date(2026, 11, 30, 10, 0, 0, 123456789, time.UTC)

// TestKernelFindingDump writes the NDJSON of variedResets to
// $RSTSCOPE_FINDING_DUMP, to compare two builds' findings byte for byte.
func TestKernelFindingDump(t *testing.T) {
	path := os.Getenv("RSTSCOPE_FINDING_DUMP")
	if path == "" {
		t.Skip("RSTSCOPE_FINDING_DUMP not set")
	}
	names, err := kernel.NamesFromFormat(sixEighteen)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cg := &kernel.Cgroups{Root: t.TempDir()}
	for _, r := range variedResets(t) {
		a := NewKernelAttributor(names, [2]uint16{32768, 60999}, cg, variedAddrs())
		f := a.Finding(&r, costAt)
		out.Write(f.AppendJSON(nil))
		out.WriteByte('\n')
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkKernelFinding is watch's per-reset path without the kernel:
// decode a recorded event, make its finding, encode it as an NDJSON line.
func BenchmarkKernelFinding(b *testing.B) {
	names, err := kernel.NamesFromFormat(sixEighteen)
	if err != nil {
		b.Fatal(err)
	}
	var recs [][]byte
	for p := range 64 {
		recs = append(recs, floodRecord(40000+uint16(p)))
	}
	b.Run("flood", func(b *testing.B) {
		a := NewKernelAttributor(names, [2]uint16{32768, 60999}, &kernel.Cgroups{Root: b.TempDir()}, variedAddrs())
		var r kernel.Reset
		buf := make([]byte, 0, 2048)
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			if err := kernel.Decode(recs[i%len(recs)], &r.Event); err != nil {
				b.Fatal(err)
			}
			f := a.Finding(&r, costAt)
			buf = append(f.AppendJSON(buf[:0]), '\n')
			i++
		}
	})
	b.Run("varied", func(b *testing.B) {
		rs := variedResets(b)
		a := NewKernelAttributor(names, [2]uint16{32768, 60999}, &kernel.Cgroups{Root: b.TempDir()}, variedAddrs())
		buf := make([]byte, 0, 2048)
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			f := a.Finding(&rs[i%len(rs)], costAt)
			buf = append(f.AppendJSON(buf[:0]), '\n')
			i++
		}
	})
}

// TestKernelFindingCached: the strings the attributor keeps from one reset
// to the next (kernelText) must not leak into another's finding. One
// attributor over every reset, forwards and backwards, must write what a
// fresh attributor writes for each reset alone.
func TestKernelFindingCached(t *testing.T) {
	names, err := kernel.NamesFromFormat(sixEighteen)
	if err != nil {
		t.Fatal(err)
	}
	cg := &kernel.Cgroups{Root: t.TempDir()}
	rs := variedResets(t)
	want := make([]string, len(rs))
	for i := range rs {
		f := NewKernelAttributor(names, [2]uint16{32768, 60999}, cg, variedAddrs()).Finding(&rs[i], costAt)
		want[i] = string(f.AppendJSON(nil))
	}
	warm := NewKernelAttributor(names, [2]uint16{32768, 60999}, cg, variedAddrs())
	for pass, order := range [2]func(int) int{func(i int) int { return i }, func(i int) int { return len(rs) - 1 - i }} {
		for j := range rs {
			i := order(j)
			f := warm.Finding(&rs[i], costAt)
			if got := string(f.AppendJSON(nil)); got != want[i] {
				t.Fatalf("pass %d, reset %d: got  %s\nwant %s", pass, i, got, want[i])
			}
		}
	}
}

// TestKernelFindingAllocs: a flood's finding allocates its two ends' text
// (once for both), its evidence slice, and what cause.Classify allocates
// (its facts and evidence; since 30 November 2026 the kernel reason's
// line is made once per reason, not by a Sprintf per reset: 6 -> 4 in
// all); the attributor's own strings come from kernelText.
func TestKernelFindingAllocs(t *testing.T) {
	names, err := kernel.NamesFromFormat(sixEighteen)
	if err != nil {
		t.Fatal(err)
	}
	a := NewKernelAttributor(names, [2]uint16{32768, 60999}, &kernel.Cgroups{Root: t.TempDir()}, variedAddrs())
	var r kernel.Reset
	if err := kernel.Decode(floodRecord(40000), &r.Event); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { a.Finding(&r, costAt) }); n > 4 {
		t.Errorf("got %v allocations per finding, want at most 4", n)
	}
}
