package render_test

// Tests of the HTML page and the terminal ladder drawn from real captures:
// the committed sample and a hostile capture written here byte by byte.

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/net/html"

	"github.com/rstscope/rstscope/diagnose"
	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/render"
	"github.com/rstscope/rstscope/report"
)

const sample = "../testdata/sample/resets.pcap"

// sampleResets are the sample's reset frames as tshark lists them:
// tshark -r testdata/sample/resets.pcap -Y tcp.flags.reset==1 -T fields -e frame.number
var sampleResets = []uint64{17, 27, 31, 54, 65, 74, 84, 92, 94, 104, 122, 130, 142}

func analyze(t *testing.T, file string) *report.Report {
	t.Helper()
	var rep report.Report
	opts := diagnose.DefaultOptions
	opts.OnFinding = func(f report.Finding) { rep.Findings = append(rep.Findings, f) }
	st, err := diagnose.ReadFile(file, opts)
	if err != nil {
		t.Fatal(err)
	}
	rep.Summary.Files = []report.FileStats{st}
	rep.SortFindings()
	rep.Tally()
	return &rep
}

func page(t *testing.T, rep *report.Report) (string, *html.Node) {
	t.Helper()
	var b bytes.Buffer
	if err := render.HTMLPage(&b, rep, diagnose.Ladders(rep, diagnose.DefaultOptions)); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return b.String(), doc
}

func attr(n *html.Node, k string) string {
	for _, a := range n.Attr {
		if a.Key == k {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, c string) bool {
	return n.Type == html.ElementNode && strings.Contains(" "+attr(n, "class")+" ", " "+c+" ")
}

// find returns the nodes under n that match.
func find(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if match(c) {
			out = append(out, c)
		}
		out = append(out, find(c, match)...)
	}
	return out
}

func text(n *html.Node) string {
	var b strings.Builder
	for _, t := range find(n, func(x *html.Node) bool { return x.Type == html.TextNode }) {
		b.WriteString(t.Data)
	}
	return b.String()
}

func element(tag string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == tag }
}

func TestPageSample(t *testing.T) {
	rep := analyze(t, sample)
	raw, doc := page(t, rep)

	// Every reset of the sample is listed in exactly one group, and the
	// groups' counts add up to the resets.
	groups := find(doc, func(n *html.Node) bool { return hasClass(n, "group") })
	listed := map[uint64]int{}
	total := 0
	for _, g := range groups {
		n, _ := strconv.Atoi(attr(g, "data-count"))
		total += n
		for _, p := range find(g, func(n *html.Node) bool { return hasClass(n, "frames") }) {
			for _, f := range strings.Split(strings.TrimPrefix(text(p), "Frames: "), ", ") {
				fr, err := strconv.ParseUint(strings.TrimPrefix(f, "#"), 10, 64)
				if err != nil {
					t.Errorf("group frame list %q: %v", text(p), err)
				}
				listed[fr]++
			}
		}
	}
	if total != len(sampleResets) {
		t.Errorf("groups count %d resets, want %d", total, len(sampleResets))
	}
	for _, fr := range sampleResets {
		if listed[fr] != 1 {
			t.Errorf("reset %d listed in %d groups, want 1", fr, listed[fr])
		}
	}

	// Each example's ladder holds its reset, marked as the reset.
	examples := find(doc, func(n *html.Node) bool { return hasClass(n, "example") })
	if len(examples) != len(sampleResets) { // 13 resets in 11 groups: all of them are examples
		t.Errorf("got %d examples, want %d", len(examples), len(sampleResets))
	}
	for _, ex := range examples {
		fr := attr(ex, "data-frame")
		rst := find(ex, func(n *html.Node) bool { return hasClass(n, "pk") && hasClass(n, "rst") })
		if len(rst) != 1 || attr(rst[0], "data-frame") != fr {
			t.Errorf("example %s: ladder marks %d resets (%v)", fr, len(rst), rst)
			continue
		}
		if !strings.Contains(text(rst[0]), "RST") {
			t.Errorf("example %s: the reset's arrow says %q", fr, text(rst[0]))
		}
	}

	// One timeline bar per slice with resets; their segments add up.
	segs := 0
	for _, r := range find(doc, func(n *html.Node) bool { return n.Data == "rect" && attr(n, "data-cause") != "" }) {
		_ = r
		segs++
	}
	if segs == 0 {
		t.Error("the timeline has no bars")
	}
	if strings.Contains(raw, "http://") || strings.Contains(raw, "https://") || strings.Contains(raw, " src=") {
		t.Error("the page loads something from elsewhere")
	}
	if n := len(find(doc, element("script"))); n != 1 {
		t.Errorf("page has %d script elements, want 1 (the filters')", n)
	}
}

// writeHostile writes a capture whose request, reset payload and file name
// carry markup: a handshake, a request, and the server's reset with text.
func writeHostile(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	name := filepath.Join(dir, `evil"><img src=x onerror=alert(4)>.pcap`)
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	cli, srv := net.IP{10, 0, 0, 1}, net.IP{10, 0, 0, 2}
	ts := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	type seg struct {
		fromClient       bool
		syn, ack, psh, r bool
		seq, acknum      uint32
		payload          string
	}
	segs := []seg{
		{fromClient: true, syn: true, seq: 1000},
		{syn: true, ack: true, seq: 5000, acknum: 1001},
		{fromClient: true, ack: true, seq: 1001, acknum: 5001},
		{fromClient: true, ack: true, psh: true, seq: 1001, acknum: 5001, payload: "GET /<script>alert(1)</script>"},
		{r: true, ack: true, seq: 5001, acknum: 1031, payload: `"><img src=x onerror=alert(2)><script>alert(3)</script>`},
	}
	for i, s := range segs {
		src, dst, sp, dp := cli, srv, layers.TCPPort(40000), layers.TCPPort(80)
		if !s.fromClient {
			src, dst, sp, dp = srv, cli, 80, 40000
		}
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, src[3]}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, dst[3]}, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src, DstIP: dst, Id: uint16(i + 1)}
		tcp := &layers.TCP{SrcPort: sp, DstPort: dp, Seq: s.seq, Ack: s.acknum, SYN: s.syn, ACK: s.ack, PSH: s.psh, RST: s.r, Window: 502}
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(s.payload)); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		ts = ts.Add(time.Millisecond)
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(b), Length: len(b)}, b); err != nil {
			t.Fatal(err)
		}
	}
	return name
}

func TestPageHostile(t *testing.T) {
	name := writeHostile(t)
	rep := analyze(t, name)
	if len(rep.Findings) != 1 || rep.Findings[0].Frame != 5 {
		t.Fatalf("got findings %+v, want the reset at frame 5", rep.Findings)
	}
	raw, doc := page(t, rep)
	if n := len(find(doc, element("img"))); n != 0 {
		t.Errorf("the page grew %d img elements from captured bytes", n)
	}
	if n := len(find(doc, element("script"))); n != 1 {
		t.Errorf("page has %d script elements, want 1 (the filters')", n)
	}
	body := text(doc)
	for _, want := range []string{`<img src=x onerror=alert(2)><script>alert(3)</script>`, `evil"><img src=x onerror=alert(4)>.pcap`} {
		if !strings.Contains(body, want) {
			t.Errorf("page text lacks %q", want)
		}
	}
	if strings.Contains(raw, "<img") {
		t.Error("raw page carries <img")
	}
	// The ladder of the hostile reset is drawn, from a file whose name is markup.
	if rst := find(doc, func(n *html.Node) bool { return hasClass(n, "rst") && attr(n, "data-frame") == "5" }); len(rst) != 1 {
		t.Errorf("no ladder for the hostile reset")
	}
}

// TestLadderText checks the terminal ladder of two resets of the sample:
// its rows against the frames tshark shows for their connections, then the
// whole text against a golden file (a format check: regenerate with -update
// and read the diff).
func TestLadderText(t *testing.T) {
	rep := analyze(t, sample)
	cases := []struct {
		frame  uint64
		frames []uint64 // tshark -r … -Y 'tcp.stream eq N' -T fields -e frame.number
		client []bool   // sent by the client (tshark: ip.src == the SYN's source)
	}{
		{92, []uint64{87, 88, 89, 90, 91, 92, 93, 94}, []bool{true, false, true, false, true, false, false, true}},
		{31, []uint64{30, 31}, []bool{true, false}},
	}
	for _, c := range cases {
		f, l, err := diagnose.LadderFor(rep, "", c.frame, diagnose.DefaultOptions)
		if err != nil {
			t.Fatal(err)
		}
		// The verdict's words are cause/'s and change with its rules; the
		// ladder is the capture's. Fix the words so the golden file checks
		// this renderer's format only.
		g := *f
		g.Cause, g.Sender, g.Confidence, g.Benign = "closed-port", "server", 0.5, false
		g.Evidence = []string{"evidence line", "another evidence line"}
		g.Alternatives = []report.Alternative{{Cause: "firewall-reject", Probability: 0.25}}
		g.Advice = []string{"advice line"}
		f = &g
		var b bytes.Buffer
		if err := (render.LadderText{}).Render(&b, f, l); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		var rows []string
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "|-") || strings.Contains(line, "|<") || strings.Contains(line, "|=") {
				rows = append(rows, line)
			}
		}
		if len(rows) != len(c.frames) {
			t.Fatalf("frame %d: %d arrows, want %d:\n%s", c.frame, len(rows), len(c.frames), out)
		}
		for i, row := range rows {
			fields := strings.Fields(strings.TrimLeft(row, "▶* "))
			if fields[0] != strconv.FormatUint(c.frames[i], 10) {
				t.Errorf("frame %d, row %d: frame %s, want %d", c.frame, i, fields[0], c.frames[i])
			}
			if toServer := strings.HasSuffix(row, ">|"); toServer != c.client[i] {
				t.Errorf("frame %d, row %d points the wrong way: %s", c.frame, i, row)
			}
			if (c.frames[i] == c.frame) != strings.HasPrefix(row, "▶") {
				t.Errorf("frame %d, row %d: reset mark wrong: %s", c.frame, i, row)
			}
		}
		if strings.Contains(out, "\x1b[") {
			t.Errorf("colour without a terminal:\n%s", out)
		}
		testutil.Golden(t, filepath.Join("testdata", "ladder-"+strconv.FormatUint(c.frame, 10)+".golden"), b.Bytes())
		b.Reset()
		if err := (render.LadderText{Color: true}).Render(&b, f, l); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "\x1b[31m\x1b[1m▶") {
			t.Errorf("frame %d: the reset is not red on a terminal", c.frame)
		}
	}
}
