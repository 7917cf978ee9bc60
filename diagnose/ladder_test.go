package diagnose

import (
	"github.com/rstscope/rstscope/internal/testutil"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/rstscope/rstscope/packet"
	"github.com/rstscope/rstscope/report"
)

const sample = "../testdata/sample/resets.pcap"

// sampleResets are the sample's reset frames as tshark lists them:
// tshark -r testdata/sample/resets.pcap -Y tcp.flags.reset==1 -T fields -e frame.number
var sampleResets = []uint64{17, 27, 31, 54, 65, 74, 84, 92, 94, 104, 122, 130, 142}

func sampleReport(t *testing.T) *report.Report {
	t.Helper()
	var rep report.Report
	opts := DefaultOptions
	opts.OnFinding = func(f report.Finding) { rep.Findings = append(rep.Findings, f) }
	st, err := ReadFile(sample, opts)
	if err != nil {
		t.Fatal(err)
	}
	rep.Summary.Files = []report.FileStats{st}
	rep.SortFindings()
	rep.Tally()
	return &rep
}

func allResets(rep *report.Report) []report.ResetRef {
	var out []report.ResetRef
	for _, f := range rep.Findings {
		out = append(out, report.ResetRef{File: f.File, Frame: f.Frame})
	}
	return out
}

// TestLadderFrame92 checks one ladder packet by packet against tshark's
// reading of the same frames (relative sequence numbers, as Wireshark
// shows them), written down by hand:
// tshark -r testdata/sample/resets.pcap -Y 'tcp.stream eq 7' -T fields -e frame.number
// -e tcp.flags -e tcp.seq -e tcp.ack -e tcp.len -e tcp.window_size_value -e ip.ttl -e ip.id
func TestLadderFrame92(t *testing.T) {
	rep := sampleReport(t)
	f, l, err := LadderFor(rep, "", 92, DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	if f.Frame != 92 || l == nil {
		t.Fatalf("got finding %d, ladder %v", f.Frame, l)
	}
	S, A, P, R := packet.SYN, packet.ACK, packet.PSH, packet.RST
	want := []report.LadderPacket{
		{Frame: 87, FromClient: true, Flags: S, Seq: 0, Ack: 0, Len: 0, Window: 64240, TTL: 64, IPID: 0xec47},
		{Frame: 88, Flags: S | A, Seq: 0, Ack: 1, Window: 65160, TTL: 63, IPID: 0},
		{Frame: 89, FromClient: true, Flags: A, Seq: 1, Ack: 1, Window: 63, TTL: 64, IPID: 0xec48},
		{Frame: 90, Flags: P | A, Seq: 1, Ack: 1, Len: 7, Window: 64, TTL: 63, IPID: 0xc87a},
		{Frame: 91, FromClient: true, Flags: A, Seq: 1, Ack: 8, Window: 63, TTL: 64, IPID: 0xec49, Cited: "the peer's last segment before the reset"},
		{Frame: 92, Flags: R, Seq: 8, Window: 0, TTL: 64, IPID: 0x5253, Reset: true},
		{Frame: 93, Flags: P | A, Seq: 8, Ack: 1, Len: 7, Window: 64, TTL: 63, IPID: 0xc87b, After: true, Cited: "the reset's sender kept talking after it"},
		{Frame: 94, FromClient: true, Flags: R, Seq: 1, Window: 0, TTL: 64, IPID: 0, After: true},
	}
	if len(l.Packets) != len(want) {
		t.Fatalf("got %d packets, want %d: %+v", len(l.Packets), len(want), l.Packets)
	}
	for i, w := range want {
		g := l.Packets[i]
		g.Time = w.Time
		if g != w {
			t.Errorf("packet %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	if l.Earlier != 0 || l.Client != "10.99.1.2:50104" || l.Server != "10.99.2.2:59263" {
		t.Errorf("got earlier %d, %s -> %s", l.Earlier, l.Client, l.Server)
	}
}

// TestLaddersMatchTshark draws every reset of the sample and compares each
// packet with tshark's fields for the same frame.
func TestLaddersMatchTshark(t *testing.T) {
	rep := sampleReport(t)
	ls := LaddersOf(rep, allResets(rep), DefaultOptions)
	if len(ls.Notes) > 0 {
		t.Fatalf("notes: %v", ls.Notes)
	}
	for _, fr := range sampleResets {
		l := ls.ByReset[report.ResetRef{File: sample, Frame: fr}]
		if l == nil {
			t.Errorf("reset %d has no ladder", fr)
			continue
		}
		var resets int
		for _, p := range l.Packets {
			if p.Reset {
				resets++
				if p.Frame != fr || !p.Flags.Has(packet.RST) {
					t.Errorf("ladder %d marks frame %d (%s) as its reset", fr, p.Frame, p.Flags)
				}
			}
		}
		if resets != 1 {
			t.Errorf("ladder %d has %d resets marked, want 1", fr, resets)
		}
	}
	if sp := ls.Spans[sample]; sp.First.IsZero() || !sp.Last.After(sp.First) {
		t.Errorf("span %v", sp)
	}

	testutil.LookTool(t, "tshark", "scripts/setup.sh installs it; without it packet fields are not compared")
	out, err := exec.Command("tshark", "-r", sample, "-Y", "tcp", "-T", "fields", "-E", "separator=,",
		"-e", "frame.number", "-e", "tcp.flags", "-e", "tcp.seq", "-e", "tcp.ack", "-e", "tcp.len",
		"-e", "tcp.window_size_value", "-e", "ip.ttl", "-e", "ipv6.hlim").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	fields := map[uint64][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		c := strings.Split(line, ",")
		n, _ := strconv.ParseUint(c[0], 10, 64)
		fields[n] = c
	}
	for _, l := range ls.ByReset {
		for _, p := range l.Packets {
			c := fields[p.Frame]
			if c == nil {
				t.Errorf("ladder %d: frame %d is not a TCP packet for tshark", l.Frame, p.Frame)
				continue
			}
			flags, _ := strconv.ParseUint(strings.TrimPrefix(c[1], "0x"), 16, 16)
			ttl := c[6]
			if ttl == "" {
				ttl = c[7]
			}
			// rstscope shows a sequence number before the ISN as negative;
			// Wireshark shows it modulo 2^32.
			got := []string{strconv.FormatUint(uint64(p.Flags), 10), strconv.FormatUint(uint64(uint32(p.Seq)), 10), strconv.Itoa(p.Len),
				strconv.Itoa(int(p.Window)), strconv.Itoa(int(p.TTL))}
			want := []string{strconv.FormatUint(flags, 10), c[2], c[4], c[5], ttl}
			if p.Flags.Has(packet.ACK) {
				got = append(got, strconv.FormatUint(uint64(uint32(p.Ack)), 10))
				want = append(want, c[3])
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("ladder %d, frame %d: got flags seq len win ttl [ack] %v, tshark %v", l.Frame, p.Frame, got, want)
			}
		}
	}
}

func TestLadderForNotAReset(t *testing.T) {
	rep := sampleReport(t)
	_, _, err := LadderFor(rep, "", 90, DefaultOptions)
	if err == nil || !strings.Contains(err.Error(), "frame 90 is not a TCP reset (resets are at frames 17, 27,") {
		t.Errorf("got %v", err)
	}
}

func TestLaddersStdin(t *testing.T) {
	rep := &report.Report{Findings: []report.Finding{{File: "-", Frame: 3, Client: "10.0.0.1:1", Server: "10.0.0.2:2"}}}
	rep.Summary.Files = []report.FileStats{{File: "-"}}
	ls := LaddersOf(rep, allResets(rep), DefaultOptions)
	if len(ls.ByReset) != 0 || len(ls.Notes) != 1 || !strings.Contains(ls.Notes[0], "standard input") {
		t.Errorf("got %d ladders, notes %q", len(ls.ByReset), ls.Notes)
	}
}

func TestFramesNamed(t *testing.T) {
	got := framesNamed([]string{"repeats the reset at frame 12 (half-open): x", "frame 7 and frame 9", "no frames", "frame x"})
	for _, n := range []uint64{12, 7, 9} {
		if !got[n] {
			t.Errorf("frame %d not found in %v", n, got)
		}
	}
	if len(got) != 3 {
		t.Errorf("got %v, want 3 frames", got)
	}
}
