package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/rstscope/rstscope/internal/testutil"
	"github.com/rstscope/rstscope/packet"
)

// Frames the test files carry.
var (
	// 00:11:22:33:44:55 > 00:66:77:88:99:aa, ethertype IPv4 (0x0800), length 60: 10.0.0.1.40000 > 10.0.0.2.80: Flags [R.], seq 1001, ack 2001, win 0, length 0
	frameEth = []byte{
		0x00, 0x66, 0x77, 0x88, 0x99, 0xaa, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x08, 0x00, 0x45, 0x00,
		0x00, 0x28, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0x14, 0x9a, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00,
		0x00, 0x02, 0x9c, 0x40, 0x00, 0x50, 0x00, 0x00, 0x03, 0xe9, 0x00, 0x00, 0x07, 0xd1, 0x50, 0x14,
		0x00, 0x00, 0xf3, 0x83, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	}
	// ip: 10.0.0.1.40000 > 10.0.0.2.80: Flags [R.], seq 1001, ack 2001, win 0, length 0
	frameRaw = frameEth[14:54]
	// In 00:11:22:33:44:55 ethertype IPv4 (0x0800), length 56: 10.0.0.1.40000 > 10.0.0.2.80: Flags [R.], seq 1001, ack 2001, win 0, length 0
	frameSLL = append([]byte{0, 0, 0, 1, 0, 6, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0, 0x08, 0x00}, frameRaw...)
	// AF IPv4 (2), length 44: 10.0.0.1.40000 > 10.0.0.2.80: Flags [R.], seq 1001, ack 2001, win 0, length 0
	frameNull = append([]byte{2, 0, 0, 0}, frameRaw...)
)

// byteOrder is binary.LittleEndian or binary.BigEndian.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 123456789, time.UTC)

type rec struct {
	ts   time.Time
	data []byte
	wire int // 0: len(data)
}

// pcapFile hand-crafts a pcap file (either byte order, µs or ns) so that the
// big-endian variants, which pcapgo.Writer cannot write, are covered.
func pcapFile(order byteOrder, nano bool, link, snaplen uint32, recs []rec) []byte {
	magic := uint32(0xA1B2C3D4)
	if nano {
		magic = 0xA1B23C4D
	}
	b := order.AppendUint32(nil, magic)
	b = order.AppendUint16(b, 2)
	b = order.AppendUint16(b, 4)
	b = append(b, make([]byte, 8)...)
	b = order.AppendUint32(b, snaplen)
	b = order.AppendUint32(b, link)
	for _, r := range recs {
		frac := uint32(r.ts.Nanosecond() / 1000)
		if nano {
			frac = uint32(r.ts.Nanosecond())
		}
		wire := r.wire
		if wire == 0 {
			wire = len(r.data)
		}
		b = order.AppendUint32(b, uint32(r.ts.Unix()))
		b = order.AppendUint32(b, frac)
		b = order.AppendUint32(b, uint32(len(r.data)))
		b = order.AppendUint32(b, uint32(wire))
		b = append(b, r.data...)
	}
	return b
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ngSection writes one little-endian pcapng section with pcapgo.NgWriter:
// one interface per link type, and one packet per interface in turn.
func ngSection(t testing.TB, links []layers.LinkType, recs []rec) []byte {
	t.Helper()
	var buf bytes.Buffer
	intf := pcapgo.DefaultNgInterface
	intf.LinkType = links[0]
	w, err := pcapgo.NewNgWriterInterface(&buf, intf, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	for _, lt := range links[1:] {
		intf.LinkType = lt
		if _, err := w.AddInterface(intf); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range recs {
		ci := gopacket.CaptureInfo{Timestamp: r.ts, CaptureLength: len(r.data), Length: len(r.data), InterfaceIndex: i % len(links)}
		if r.wire != 0 {
			ci.Length = r.wire
		}
		if err := w.WritePacket(ci, r.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ngBlock frames a pcapng block body in the given byte order.
func ngBlock(order byteOrder, typ uint32, body []byte) []byte {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := uint32(12 + len(body))
	b := order.AppendUint32(nil, typ)
	b = order.AppendUint32(b, n)
	b = append(b, body...)
	return order.AppendUint32(b, n)
}

// ngSectionBE hand-crafts a big-endian pcapng section (NgWriter writes
// little-endian only): a section header, one interface of link type link
// with the default µs resolution, and one enhanced packet block per record.
func ngSectionBE(link uint16, recs []rec) []byte {
	be := binary.BigEndian
	shb := be.AppendUint32(nil, 0x1A2B3C4D)
	shb = be.AppendUint16(shb, 1)
	shb = be.AppendUint16(shb, 0)
	shb = be.AppendUint64(shb, 0xFFFFFFFFFFFFFFFF) // section length unknown
	idb := be.AppendUint16(nil, link)
	idb = be.AppendUint16(idb, 0)
	idb = be.AppendUint32(idb, 0)
	b := append(ngBlock(be, 0x0A0D0D0A, shb), ngBlock(be, 1, idb)...)
	for _, r := range recs {
		us := uint64(r.ts.UnixMicro())
		epb := be.AppendUint32(nil, 0)
		epb = be.AppendUint32(epb, uint32(us>>32))
		epb = be.AppendUint32(epb, uint32(us))
		epb = be.AppendUint32(epb, uint32(len(r.data)))
		epb = be.AppendUint32(epb, uint32(len(r.data)))
		epb = append(epb, r.data...)
		b = append(b, ngBlock(be, 6, epb)...)
	}
	return b
}

type wantFrame struct {
	link packet.LinkType
	data []byte
	ts   time.Time
	wire int // 0: len(data)
}

// readAll reads frames until an error, which it returns (nil at io.EOF).
func readAll(t *testing.T, r *Reader) ([][]byte, []Info, error) {
	t.Helper()
	var frames [][]byte
	var infos []Info
	for {
		data, info, err := r.Next()
		if err == io.EOF {
			return frames, infos, nil
		}
		if err != nil {
			return frames, infos, err
		}
		frames = append(frames, bytes.Clone(data))
		infos = append(infos, info)
	}
}

func checkFrames(t *testing.T, frames [][]byte, infos []Info, want []wantFrame) {
	t.Helper()
	if len(frames) != len(want) {
		t.Fatalf("got %d frames, want %d", len(frames), len(want))
	}
	for i, w := range want {
		info := infos[i]
		wire := w.wire
		if wire == 0 {
			wire = len(w.data)
		}
		if info.Frame != uint64(i+1) {
			t.Errorf("frame %d: Frame = %d", i+1, info.Frame)
		}
		if info.Link != w.link {
			t.Errorf("frame %d: Link = %d, want %d", i+1, info.Link, w.link)
		}
		if !info.Time.Equal(w.ts) {
			t.Errorf("frame %d: Time = %v, want %v", i+1, info.Time, w.ts)
		}
		if info.CaptureLen != len(w.data) || info.WireLen != wire {
			t.Errorf("frame %d: CaptureLen, WireLen = %d, %d, want %d, %d", i+1, info.CaptureLen, info.WireLen, len(w.data), wire)
		}
		if !bytes.Equal(frames[i], w.data) {
			t.Errorf("frame %d: data differs:\n got %x\nwant %x", i+1, frames[i], w.data)
		}
	}
}

func TestReader(t *testing.T) {
	us := t0.Truncate(time.Microsecond)
	recs := []rec{{t0, frameEth, 0}, {t0.Add(time.Second), frameEth[:40], 60}}
	want := func(lt packet.LinkType, ts time.Time, data []byte) []wantFrame {
		return []wantFrame{{lt, data, ts, 0}, {lt, data[:40], ts.Add(time.Second), 60}}
	}
	var pcapgoUS, pcapgoNS bytes.Buffer
	for _, x := range []struct {
		w   *pcapgo.Writer
		buf *bytes.Buffer
	}{{pcapgo.NewWriter(&pcapgoUS), &pcapgoUS}, {pcapgo.NewWriterNanos(&pcapgoNS), &pcapgoNS}} {
		if err := x.w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			wire := r.wire
			if wire == 0 {
				wire = len(r.data)
			}
			if err := x.w.WritePacket(gopacket.CaptureInfo{Timestamp: r.ts, CaptureLength: len(r.data), Length: wire}, r.data); err != nil {
				t.Fatal(err)
			}
		}
	}
	le, be := binary.LittleEndian, binary.BigEndian

	// pcapng: a section of three interfaces (Ethernet, raw IP, SLL), a
	// big-endian section with one raw-IP interface, then a section with a
	// BSD-null interface.
	ng := append(ngSection(t, []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeRaw, layers.LinkTypeLinuxSLL},
		[]rec{{t0, frameEth, 0}, {t0.Add(1), frameRaw, 0}, {t0.Add(2), frameSLL, 0}, {t0.Add(3), frameEth[:20], 60}}),
		ngSectionBE(uint16(packet.LinkRaw), []rec{{t0.Add(time.Second), frameRaw, 0}})...)
	ng = append(ng, ngSection(t, []layers.LinkType{layers.LinkTypeNull}, []rec{{t0.Add(time.Minute), frameNull, 0}})...)
	ngWant := []wantFrame{
		{packet.LinkEthernet, frameEth, t0, 0},
		{packet.LinkRaw, frameRaw, t0.Add(1), 0},
		{packet.LinkSLL, frameSLL, t0.Add(2), 0},
		{packet.LinkEthernet, frameEth[:20], t0.Add(3), 60},
		{packet.LinkRaw, frameRaw, us.Add(time.Second), 0},
		{packet.LinkNull, frameNull, t0.Add(time.Minute), 0},
	}

	for _, tt := range []struct {
		name string
		file []byte
		want []wantFrame
	}{
		{"pcap µs little-endian (pcapgo.Writer)", pcapgoUS.Bytes(), want(packet.LinkEthernet, us, frameEth)},
		{"pcap ns little-endian (pcapgo.Writer)", pcapgoNS.Bytes(), want(packet.LinkEthernet, t0, frameEth)},
		{"pcap µs little-endian", pcapFile(le, false, 1, 65535, recs), want(packet.LinkEthernet, us, frameEth)},
		{"pcap µs big-endian", pcapFile(be, false, 1, 65535, recs), want(packet.LinkEthernet, us, frameEth)},
		{"pcap ns little-endian", pcapFile(le, true, 1, 65535, recs), want(packet.LinkEthernet, t0, frameEth)},
		{"pcap ns big-endian", pcapFile(be, true, 1, 65535, recs), want(packet.LinkEthernet, t0, frameEth)},
		{"pcap raw IP", pcapFile(le, false, 101, 65535, []rec{{t0, frameRaw, 0}}), []wantFrame{{packet.LinkRaw, frameRaw, us, 0}}},
		{"pcap with no frames", pcapFile(le, false, 1, 65535, nil), nil},
		{"pcap unknown link type: frames still read", pcapFile(le, false, 147, 65535, []rec{{t0, frameEth, 0}}), []wantFrame{{147, frameEth, us, 0}}},
		{"pcap gzip", gz(t, pcapFile(be, true, 1, 65535, recs)), want(packet.LinkEthernet, t0, frameEth)},
		{"pcapng sections and interfaces of several link types", ng, ngWant},
		{"pcapng gzip", gz(t, ng), ngWant},
	} {
		t.Run(tt.name+"/one byte a read", func(t *testing.T) {
			// Every header and trailer split between reads.
			r, err := NewReader("test.cap", iotest.OneByteReader(bytes.NewReader(tt.file)))
			if err != nil {
				t.Fatalf("NewReader: %v", err)
			}
			frames, infos, err := readAll(t, r)
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			checkFrames(t, frames, infos, tt.want)
		})
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader("test.cap", bytes.NewReader(tt.file))
			if err != nil {
				t.Fatalf("NewReader: %v", err)
			}
			frames, infos, err := readAll(t, r)
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			checkFrames(t, frames, infos, tt.want)
			if _, _, err := r.Next(); err != io.EOF {
				t.Errorf("Next after the end = %v, want io.EOF", err)
			}
			if read, _ := r.Progress(); read != int64(len(tt.file)) {
				t.Errorf("Progress read = %d, want %d", read, len(tt.file))
			}
		})
	}
}

func TestReaderFiles(t *testing.T) {
	dir := filepath.Join(testutil.ModuleRoot(t), "testdata", "capture")
	for _, name := range []string{"lo-resets.pcap", "lo-resets.pcapng", "lo-resets.pcap.gz", "lo-resets.pcap.bz2"} {
		t.Run(name, func(t *testing.T) {
			r, err := Open(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var p packet.Packet
			var frames, resets int
			for {
				data, info, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				frames++
				if err := p.Decode(data, info.Link); err != nil {
					t.Fatalf("frame %d: %v", info.Frame, err)
				}
				if p.Flags.Has(packet.RST) {
					resets++
				}
			}
			if frames != 10 || resets != 3 {
				t.Errorf("got %d frames, %d resets; want 10, 3", frames, resets)
			}
			if read, size := r.Progress(); size == 0 || read != size {
				t.Errorf("Progress() = %d, %d; want the file size twice", read, size)
			}
		})
	}
}

// TestReaderStdin reads "-" from a pipe standing in for standard input.
func TestReaderStdin(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdin
	os.Stdin = pr
	t.Cleanup(func() { os.Stdin = old; pr.Close() })
	go func() {
		pw.Write(gz(t, pcapFile(binary.LittleEndian, false, 1, 65535, []rec{{t0, frameEth, 0}})))
		pw.Close()
	}()
	r, err := Open("-")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Name() != "-" {
		t.Errorf("Name() = %q, want -", r.Name())
	}
	frames, infos, err := readAll(t, r)
	if err != nil {
		t.Fatal(err)
	}
	checkFrames(t, frames, infos, []wantFrame{{packet.LinkEthernet, frameEth, t0.Truncate(time.Microsecond), 0}})
	if _, size := r.Progress(); size != 0 {
		t.Errorf("Progress size = %d for standard input, want 0", size)
	}
}

// TestReaderNextAllocs: reading a frame allocates nothing once the buffers
// are sized (pcapgo's zero-copy reads into a buffer the Reader owns).
func TestReaderNextAllocs(t *testing.T) {
	var recs []rec
	for i := range 3000 {
		recs = append(recs, rec{t0, frameEth[:20+i%40], 0})
	}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"pcap", pcapFile(binary.LittleEndian, true, 1, 65535, recs)},
		{"pcapng", ngSection(t, []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeRaw}, recs)},
	} {
		r, err := NewReader(f.name, bytes.NewReader(f.data))
		if err != nil {
			t.Fatal(err)
		}
		r.Next() // the first frame sizes the buffer
		n := testing.AllocsPerRun(2000, func() {
			if _, _, err := r.Next(); err != nil {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Errorf("%s: Next allocates %v times per frame, want 0", f.name, n)
		}
	}
}
