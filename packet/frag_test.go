package packet

import (
	"encoding/binary"
	"testing"
)

// tcpRST is a 20-byte TCP header written by hand: 40000 -> 80, seq 1001,
// ack 2001, RST|ACK, window 0.
var tcpRST = []byte{
	0x9c, 0x40, 0x00, 0x50, // ports
	0x00, 0x00, 0x03, 0xe9, // seq 1001
	0x00, 0x00, 0x07, 0xd1, // ack 2001
	0x50, 0x14, 0x00, 0x00, // offset 5, RST|ACK, window 0
	0x00, 0x00, 0x00, 0x00, // checksum, urgent
}

// v4Frag writes an IPv4 fragment by hand: id 0x4242, TCP, 10.0.0.1 ->
// 10.0.0.2, fragment offset off (bytes, a multiple of 8) and MF.
func v4Frag(off int, more bool, payload []byte) []byte {
	h := []byte{0x45, 0, 0, 0, 0x42, 0x42, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2}
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(payload)))
	fo := uint16(off / 8)
	if more {
		fo |= 0x2000
	}
	binary.BigEndian.PutUint16(h[6:], fo)
	return append(h, payload...)
}

// v6Frag writes an IPv6 fragment by hand: 2001:db8::1 -> 2001:db8::2, a
// fragment header (next header TCP, id 0xdeadbeef) right after the header.
func v6Frag(off int, more bool, payload []byte) []byte {
	h := make([]byte, 48)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(8+len(payload)))
	h[6], h[7] = 44, 64
	h[8], h[9], h[10], h[11], h[23] = 0x20, 0x01, 0x0d, 0xb8, 1
	h[24], h[25], h[26], h[27], h[39] = 0x20, 0x01, 0x0d, 0xb8, 2
	h[40] = 6
	fo := uint16(off)
	if more {
		fo |= 1
	}
	binary.BigEndian.PutUint16(h[42:], fo)
	binary.BigEndian.PutUint32(h[44:], 0xdeadbeef)
	return append(h, payload...)
}

// onesSum is the Internet checksum's one's-complement sum (RFC 1071): a
// header with a right checksum sums to 0xffff.
func onesSum(b []byte) uint32 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return s
}

func TestReassembleTinyFirstFragmentV4(t *testing.T) {
	first, second := v4Frag(0, true, tcpRST[:8]), v4Frag(8, false, tcpRST[8:])
	// The first alone hides the flags (RFC 1858's tiny fragment).
	var p Packet
	if err := p.Decode(first, LinkRaw); err != ErrFragment || string(p.FragDatagram) != string(first) {
		t.Fatalf("first fragment: got %v, FragDatagram %d bytes; want ErrFragment and the datagram", err, len(p.FragDatagram))
	}
	for _, order := range [][][]byte{{first, second}, {second, first}, {first, first, second}} {
		r := NewReassembler()
		var whole []byte
		for i, f := range order {
			w, ok := r.Add(f, int64(i))
			if !ok {
				t.Fatalf("Add refused fragment %d", i)
			}
			if w != nil {
				if i != len(order)-1 {
					t.Fatalf("datagram complete at fragment %d of %d", i+1, len(order))
				}
				whole = w
			}
		}
		if whole == nil {
			t.Fatalf("order %d fragments: no datagram", len(order))
		}
		want := v4Frag(0, false, tcpRST)
		if string(whole[12:]) != string(want[12:]) || string(whole[:10]) != string(want[:10]) {
			t.Errorf("reassembled % x, want % x (checksum aside)", whole, want)
		}
		if s := onesSum(whole[:20]); s != 0xffff {
			t.Errorf("header checksum does not verify: sum %#x", s)
		}
		if err := p.Decode(whole, LinkRaw); err != nil || p.Flags != RST|ACK || p.Seq != 1001 || p.Ack != 2001 || p.Fragmented {
			t.Errorf("decoding the datagram: %v, flags %v seq %d ack %d fragmented %v", err, p.Flags, p.Seq, p.Ack, p.Fragmented)
		}
		if r.Stats.Reassembled != 1 || r.Stats.Dropped != 0 || r.bytes != 0 || len(r.pend) != 0 || r.head != nil {
			t.Errorf("after completion: %+v, %d bytes held, %d pending", r.Stats, r.bytes, len(r.pend))
		}
	}
}

func TestReassembleV6(t *testing.T) {
	r := NewReassembler()
	if w, _ := r.Add(v6Frag(8, false, tcpRST[8:]), 0); w != nil {
		t.Fatal("complete after the last fragment alone")
	}
	w, ok := r.Add(v6Frag(0, true, tcpRST[:8]), 1)
	if !ok || w == nil {
		t.Fatal("no datagram after both fragments")
	}
	if len(w) != 40+20 || w[6] != 6 || binary.BigEndian.Uint16(w[4:]) != 20 {
		t.Fatalf("got % x, want a 60-byte datagram, next header 6, payload length 20", w)
	}
	var p Packet
	if err := p.Decode(w, LinkRaw); err != nil || p.Flags != RST|ACK || p.SrcPort != 40000 || p.Dst.String() != "2001:db8::2" {
		t.Errorf("decoding: %v, %v %s", err, p.Flags, p.DstAddrPort())
	}
}

func TestReassembleDrops(t *testing.T) {
	t.Run("partial overlap drops the datagram", func(t *testing.T) {
		r := NewReassembler()
		r.Add(v4Frag(0, true, tcpRST[:16]), 0)
		if w, _ := r.Add(v4Frag(8, false, tcpRST[8:]), 1); w != nil {
			t.Fatal("an overlapping fragment completed the datagram")
		}
		if r.Stats.Overlaps != 1 || r.Stats.Dropped != 2 || r.Stats.DroppedTCP != 2 || len(r.pend) != 0 || r.bytes != 0 {
			t.Errorf("got %+v, %d pending, %d bytes", r.Stats, len(r.pend), r.bytes)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		r := NewReassembler()
		r.Add(v4Frag(0, true, tcpRST[:8]), 0)
		if w, _ := r.Add(v4Frag(8, false, tcpRST[8:]), 31e9); w != nil {
			t.Fatal("completed with a fragment 31 s after the first (Linux waits 30 s)")
		}
		r.Flush()
		if r.Stats.Dropped != 2 || r.Stats.Reassembled != 0 || r.bytes != 0 || r.head != nil {
			t.Errorf("got %+v, %d bytes held", r.Stats, r.bytes)
		}
	})
	t.Run("datagram bound evicts the oldest", func(t *testing.T) {
		r := NewReassembler()
		r.MaxDatagrams = 2
		for id := byte(1); id <= 3; id++ {
			f := v4Frag(0, true, tcpRST[:8])
			f[5] = id
			r.Add(f, int64(id))
		}
		if len(r.pend) != 2 || r.Stats.Dropped != 1 {
			t.Fatalf("got %d pending, %+v; want 2 and 1 dropped", len(r.pend), r.Stats)
		}
		f := v4Frag(8, false, tcpRST[8:])
		f[5] = 1 // the evicted one's rest
		if w, _ := r.Add(f, 4); w != nil {
			t.Error("the evicted datagram completed")
		}
		f[5] = 3
		if w, _ := r.Add(f, 5); w == nil {
			t.Error("the newest datagram did not complete")
		}
	})
	t.Run("byte bound", func(t *testing.T) {
		r := NewReassembler()
		r.MaxBytes = 20
		big := make([]byte, 16)
		for id := byte(1); id <= 2; id++ {
			f := v4Frag(0, true, big)
			f[5] = id
			r.Add(f, int64(id))
		}
		if r.bytes > 20 || len(r.pend) != 1 || r.Stats.Dropped != 1 {
			t.Errorf("got %d bytes in %d datagrams, %+v", r.bytes, len(r.pend), r.Stats)
		}
	})
	t.Run("not a fragment", func(t *testing.T) {
		r := NewReassembler()
		if w, ok := r.Add(v4Frag(0, false, tcpRST), 0); ok || w != nil {
			t.Error("a whole datagram was taken as a fragment")
		}
		if w, ok := r.Add(v4Frag(0, true, tcpRST)[:30], 0); ok || w != nil || len(r.pend) != 0 {
			t.Error("a fragment cut short was taken")
		}
	})
}

func FuzzReassemble(f *testing.F) {
	f.Add(v4Frag(0, true, tcpRST[:8]), v4Frag(8, false, tcpRST[8:]))
	f.Add(v6Frag(0, true, tcpRST[:8]), v6Frag(8, false, tcpRST[8:]))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		r := NewReassembler()
		r.MaxBytes = 1 << 12
		for i, x := range [][]byte{a, b, a, b} {
			if w, _ := r.Add(x, int64(i)); w != nil {
				var p Packet
				p.Decode(w, LinkRaw)
			}
			if r.bytes < 0 || r.bytes > r.MaxBytes+maxDatagram {
				t.Fatalf("%d bytes held", r.bytes)
			}
		}
		r.Flush()
		if r.bytes != 0 || len(r.pend) != 0 || r.head != nil {
			t.Fatalf("after Flush: %d bytes, %d pending", r.bytes, len(r.pend))
		}
	})
}
