package main

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/report"
)

// wildTimes writes, byte by byte, a little-endian pcapng file: a section
// header, one raw-IP interface at µs resolution, and the SYN and its RST as
// enhanced packet blocks whose 64-bit timestamps are 2^64-2 and 2^64-1 µs,
// around year 586,524 (tcpdump -tt prints "[Error converting time]" for
// both; the packets are as their comments say).
func wildTimes(t *testing.T) string {
	t.Helper()
	le := binary.LittleEndian
	block := func(typ uint32, body []byte) []byte {
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
		b := le.AppendUint32(nil, typ)
		b = le.AppendUint32(b, uint32(12+len(body)))
		b = append(b, body...)
		return le.AppendUint32(b, uint32(12+len(body)))
	}
	shb := le.AppendUint32(nil, 0x1A2B3C4D)
	shb = le.AppendUint32(shb, 1) // version 1.0
	shb = le.AppendUint64(shb, 1<<64-1)
	idb := le.AppendUint32(nil, 101) // LINKTYPE_RAW, reserved 0
	idb = le.AppendUint32(idb, 0)    // no snaplen
	b := append(block(0x0A0D0D0A, shb), block(1, idb)...)
	for i, data := range [][]byte{testutil.RawSYN, testutil.RawRSTACK} {
		ts := uint64(1<<64-2) + uint64(i)
		epb := le.AppendUint32(nil, 0)
		epb = le.AppendUint32(epb, uint32(ts>>32))
		epb = le.AppendUint32(epb, uint32(ts))
		epb = le.AppendUint32(epb, uint32(len(data)))
		epb = le.AppendUint32(epb, uint32(len(data)))
		b = append(b, block(6, append(epb, data...))...)
	}
	name := filepath.Join(t.TempDir(), "wild-times.pcapng")
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestAnalyzeImpossibleTimes: no format may lose the report to a time it
// cannot write. encoding/json refused year 586,524 and --format json wrote
// nothing; now every format writes the reset and says, naming the file,
// that two frames had impossible timestamps.
func TestAnalyzeImpossibleTimes(t *testing.T) {
	name := wildTimes(t)
	note := "2 frames with an impossible timestamp (first: frame 1)"
	for _, format := range []string{"text", "json", "ndjson", "html", "conn"} {
		t.Run(format, func(t *testing.T) {
			out, _, err := analyzeCmd(t, "--format", format, name)
			if err != nil {
				t.Fatalf("analyze: %v", err)
			}
			switch format {
			case "json":
				var rep report.Report
				if err := json.Unmarshal([]byte(out), &rep); err != nil {
					t.Fatalf("output is not JSON: %v", err)
				}
				if len(rep.Findings) != 1 || rep.Findings[0].Frame != 2 || rep.Findings[0].Cause != "closed-port" {
					t.Errorf("got findings %+v, want frame 2's closed-port", rep.Findings)
				}
				if f := rep.Summary.Files[0]; f.File != name || f.BadTimes != 2 || f.BadTimeFrame != 1 {
					t.Errorf("got file stats %+v, want 2 bad timestamps from frame 1 in %s", f, name)
				}
			case "ndjson":
				fs := ndjsonFindings(t, out)
				if len(fs) != 1 || fs[0].Frame != 2 {
					t.Errorf("got %d findings, want frame 2's", len(fs))
				}
			case "conn":
				if !strings.Contains(out, "\t10.0.0.1\t40000\t10.0.0.2\t80\ttcp\t") {
					t.Errorf("conn.log lacks the connection:\n%s", out)
				}
			default:
				if !strings.Contains(out, name+": "+note) || !strings.Contains(out, "closed-port") {
					t.Errorf("output lacks %q or the finding:\n%s", name+": "+note, out)
				}
			}
		})
	}
}
