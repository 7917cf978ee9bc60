package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/report"
)

// inGTPU wraps a raw IPv4 packet in IPv4/UDP/GTP-U as a mobile core carries
// it: 192.0.2.1:2152 > 192.0.2.2:2152, a G-PDU with TEID 0x1234 (3GPP TS
// 29.281 §5.1). Checksums are left 0 (UDP's means "none"; the decoder
// does not check the IP one).
func inGTPU(inner []byte) []byte {
	be := binary.BigEndian
	b := []byte{0x45, 0, 0, 0, 0xab, 0xcd, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2}
	be.PutUint16(b[2:], uint16(20+8+8+len(inner)))
	b = be.AppendUint16(b, 2152)
	b = be.AppendUint16(b, 2152)
	b = be.AppendUint16(b, uint16(8+8+len(inner)))
	b = be.AppendUint16(b, 0)
	b = append(b, 0x30, 0xff) // GTPv1, PT=1, no optional fields; G-PDU
	b = be.AppendUint16(b, uint16(len(inner)))
	b = be.AppendUint32(b, 0x1234)
	return append(b, inner...)
}

// TestAnalyzeBlindSpots: a reset carried in GTP-U is explained, and what
// was not looked into is said in the report, per file: packets inside an
// encapsulation not decoded (IPsec ESP here) and a TCP header cut by
// fragmentation (RFC 1858's tiny fragment). A GTP-U capture used to report
// 0 TCP packets and nothing else.
func TestAnalyzeBlindSpots(t *testing.T) {
	esp := bytes.Clone(testutil.RawSYN)
	esp[9] = 50 // IP protocol ESP
	tiny := bytes.Clone(testutil.RawSYN[:28])
	tiny[3], tiny[6] = 28, 0x20 // total length 28: 8 bytes of TCP, more fragments follow
	name, rep := analyzeFrames(t, "mobile-core.pcap", inGTPU(testutil.RawSYN), inGTPU(testutil.RawRSTACK), esp, tiny)
	if len(rep.Findings) != 1 || rep.Findings[0].Frame != 2 || rep.Findings[0].Cause != "closed-port" || rep.Findings[0].From != "10.0.0.2:80" {
		t.Errorf("got findings %+v, want frame 2's closed-port from 10.0.0.2:80", rep.Findings)
	}
	if f := rep.Summary.Files[0]; f.TCP != 2 || f.Tunnelled != 1 || f.Fragments != 1 || f.TCPFragments != 1 {
		t.Errorf("got %+v, want 2 TCP packets, 1 tunnelled not decoded, 1 TCP fragment", f)
	}

	out, _, err := analyzeCmd(t, name)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"1 IP fragments skipped (cut by the snaplen, or their datagram never completed), 1 of them TCP: a reset whose header was in one is not seen",
		"1 packets inside tunnels not decoded",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
}

// ipv4Fragment cuts a raw IPv4 datagram written whole into the fragment
// holding payload bytes [off, end), by hand: total length, offset and MF
// patched, the header checksum left as it was (nothing checks it).
func ipv4Fragment(whole []byte, off, end int) []byte {
	ihl := int(whole[0]&0x0f) * 4
	f := append(bytes.Clone(whole[:ihl]), whole[ihl+off:ihl+end]...)
	binary.BigEndian.PutUint16(f[2:], uint16(len(f)))
	fo := uint16(off / 8)
	if ihl+end < len(whole) {
		fo |= 0x2000 // more fragments
	}
	binary.BigEndian.PutUint16(f[6:], fo)
	return f
}

// TestAnalyzeFragmentedReset: a SYN answered by a RST+ACK whose TCP header
// is split over two fragments (RFC 1858's tiny fragment, 8 bytes of TCP in
// the first), the second arriving first. Reassembled as the receiver's IP
// layer would, the reset is explained at the frame that completed it; a
// third datagram whose second fragment never comes is said skipped.
func TestAnalyzeFragmentedReset(t *testing.T) {
	rst := testutil.RawRSTACK
	lost := ipv4Fragment(rst, 0, 8)
	lost[5]++ // another datagram (IP ID), never completed
	_, rep := analyzeFrames(t, "tiny-fragments.pcap", testutil.RawSYN, ipv4Fragment(rst, 8, 20), ipv4Fragment(rst, 0, 8), lost)
	if len(rep.Findings) != 1 || rep.Findings[0].Frame != 3 || rep.Findings[0].Cause != "closed-port" || rep.Findings[0].From != "10.0.0.2:80" {
		t.Errorf("got findings %+v, want frame 3's closed-port from 10.0.0.2:80", rep.Findings)
	}
	if f := rep.Summary.Files[0]; f.TCP != 2 || f.Reassembled != 1 || f.Fragments != 1 || f.TCPFragments != 1 {
		t.Errorf("got %+v, want 2 TCP packets (the SYN, the reassembled reset), 1 datagram reassembled, 1 TCP fragment skipped", f)
	}
}

// analyzeFrames writes raw IP frames, written by hand, 1 ms apart into a
// capture named name and returns its path and analyze's JSON report of it.
func analyzeFrames(t *testing.T, name string, frames ...[]byte) (string, report.Report) {
	t.Helper()
	ts := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
	b := testutil.PcapHeader()
	for i, f := range frames {
		b = append(b, testutil.PcapRecord(ts.Add(time.Duration(i)*time.Millisecond), f)...)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := analyzeCmd(t, "--format", "json", path)
	if err != nil {
		t.Fatal(err)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	return path, rep
}
