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
	ts := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
	b := testutil.PcapHeader()
	for i, f := range [][]byte{inGTPU(testutil.RawSYN), inGTPU(testutil.RawRSTACK), esp, tiny} {
		b = append(b, testutil.PcapRecord(ts.Add(time.Duration(i)*time.Millisecond), f)...)
	}
	name := filepath.Join(t.TempDir(), "mobile-core.pcap")
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}

	out, _, err := analyzeCmd(t, "--format", "json", name)
	if err != nil {
		t.Fatal(err)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Frame != 2 || rep.Findings[0].Cause != "closed-port" || rep.Findings[0].From != "10.0.0.2:80" {
		t.Errorf("got findings %+v, want frame 2's closed-port from 10.0.0.2:80", rep.Findings)
	}
	if f := rep.Summary.Files[0]; f.TCP != 2 || f.Tunnelled != 1 || f.Fragments != 1 || f.TCPFragments != 1 {
		t.Errorf("got %+v, want 2 TCP packets, 1 tunnelled not decoded, 1 TCP fragment", f)
	}

	out, _, err = analyzeCmd(t, name)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"1 IP fragments skipped, 1 of them TCP: fragments are not reassembled",
		"1 packets inside tunnels not decoded",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
}
