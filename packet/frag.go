package packet

import (
	"encoding/binary"
	"net/netip"
)

// Reassembler puts fragmented IPv4 and IPv6 datagrams back together, as the
// receiving host's IP layer does, so that a TCP segment split across
// fragments (a reset or a handshake behind a tiny first fragment, RFC 1858;
// a segment of a tunnel whose outer datagram was fragmented) is seen whole.
//
// It follows Linux (net/ipv4/ip_fragment.c, net/ipv6/reassembly.c,
// inet_frag_queue_insert): a fragment that repeats bytes already held whole
// is a duplicate and ignored; one that overlaps them partly drops the whole
// datagram (RFC 5722 for IPv6; Linux does the same for IPv4); a datagram
// not completed within Timeout of its first fragment is dropped, and a
// datagram that never completes is never delivered — the receiver never
// saw that segment either. Memory is bounded like Linux's ipfrag_high_thresh:
// at most MaxBytes of fragment data and MaxDatagrams datagrams are held, and
// the oldest datagram goes first when a new fragment would pass either.
//
// A Reassembler is not safe for concurrent use.
type Reassembler struct {
	// Timeout is how long, in capture time, a datagram may wait for its
	// missing fragments (Linux: net.ipv4.ipfrag_time 30 s; IPv6 60 s).
	Timeout int64
	// MaxBytes and MaxDatagrams bound what is held.
	MaxBytes, MaxDatagrams int

	pend map[fragKey]*fragDatagram
	// head and tail of the datagrams held, by their first fragment's
	// arrival, oldest first (a list threaded through them).
	head, tail *fragDatagram
	bytes      int
	out        []byte
	free       []*fragDatagram // a few finished datagrams whose buffers are reused

	Stats FragStats
}

// FragStats counts what the Reassembler did.
type FragStats struct {
	// Reassembled counts datagrams put back together.
	Reassembled uint64
	// Dropped counts fragments thrown away: their datagram timed out, was
	// evicted to keep within the bounds, overlapped, was too long, or was
	// still incomplete at Flush. DroppedTCP are those of TCP datagrams.
	Dropped, DroppedTCP uint64
	// Overlaps counts datagrams dropped for a partly overlapping fragment.
	Overlaps uint64
}

// Linux's defaults: ipfrag_time 30 s, ipfrag_high_thresh 4 MiB. 4 096
// datagrams of the smallest useful size (a 28-byte tiny fragment) stay far
// below the byte bound; the count bound only caps the map.
const (
	defaultFragTimeout   = 30e9
	defaultFragBytes     = 4 << 20
	defaultFragDatagrams = 4096
	maxDatagram          = 65535 // an IPv4 total length; IPv6 payload length without jumbograms
)

// NewReassembler returns a Reassembler with Linux's bounds.
func NewReassembler() *Reassembler {
	return &Reassembler{Timeout: defaultFragTimeout, MaxBytes: defaultFragBytes, MaxDatagrams: defaultFragDatagrams,
		pend: make(map[fragKey]*fragDatagram)}
}

type fragKey struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8 // IPv4's protocol; 0 for IPv6, whose key is the addresses and the 32-bit id (RFC 8200 §4.5)
}

type fragSpan struct{ start, end int }

type fragDatagram struct {
	key   fragKey
	first int64 // capture time of its first fragment to arrive
	// hdr is the offset-0 fragment's header: the IPv4 header, or the IPv6
	// header with the extension headers before the fragment header; nhOff
	// is the offset in hdr of the next-header byte that named the fragment
	// header (IPv6).
	hdr        []byte
	nhOff      int
	nextHdr    uint8 // IPv6: the fragmentable part's first header
	data       []byte
	spans      []fragSpan // bytes held, sorted, merged
	total      int        // payload length once the last fragment arrived, else -1
	frags      uint64
	tcp        bool
	prev, next *fragDatagram
}

// fragment is one fragment as parsed from its IP header.
type fragment struct {
	key     fragKey
	hdr     []byte // header up to the fragment's payload (IPv6: without the fragment header)
	nhOff   int
	next    uint8
	off     int
	more    bool
	payload []byte
	tcp     bool
}

// Add takes one fragment: ip is its IP datagram as captured, header first,
// whole (the caller checks the capture did not cut it); ts is its capture
// time in nanoseconds. When this fragment completes a datagram, Add returns
// that datagram with a header saying it is not fragmented; the slice is
// valid until the next call. ok is false when ip is not a fragment or not
// one whole; the caller counts it.
func (r *Reassembler) Add(ip []byte, ts int64) (whole []byte, ok bool) {
	r.expire(ts)
	var f fragment
	if !parseFragment(ip, &f) {
		return nil, false
	}
	if f.off == 0 && !f.more {
		return nil, false // not a fragment: the IP layer passes it on as it is
	}
	d := r.pend[f.key]
	if d == nil {
		d = r.newDatagram(f.key, ts)
	}
	d.frags++
	d.tcp = d.tcp || f.tcp
	end := f.off + len(f.payload)
	if end > maxDatagram || f.more && len(f.payload)%8 != 0 || d.total >= 0 && (end > d.total || !f.more && end != d.total) ||
		!f.more && len(d.spans) > 0 && d.spans[len(d.spans)-1].end > end {
		r.drop(d) // past the end, two ends, or a fragment not in 8-byte units
		return nil, true
	}
	switch d.insert(f.off, end) {
	case insertDup:
		return nil, true
	case insertOverlap:
		r.Stats.Overlaps++
		r.drop(d)
		return nil, true
	}
	if !f.more {
		d.total = end
	}
	if len(d.data) < end {
		d.data = append(d.data, make([]byte, end-len(d.data))...)
	}
	copy(d.data[f.off:end], f.payload)
	r.bytes += len(f.payload)
	if f.off == 0 {
		d.hdr = append(d.hdr[:0], f.hdr...)
		d.nhOff, d.nextHdr = f.nhOff, f.next
	}
	if d.total < 0 || d.hdr == nil || len(d.spans) != 1 || d.spans[0] != (fragSpan{0, d.total}) {
		for r.bytes > r.MaxBytes && r.head != nil {
			r.drop(r.head)
		}
		return nil, true
	}
	r.out = d.assemble(r.out[:0])
	r.Stats.Reassembled++
	r.release(d)
	return r.out, true
}

// Flush drops every datagram still waiting (the end of the input): their
// fragments are counted in Stats.Dropped.
func (r *Reassembler) Flush() {
	for r.head != nil {
		r.drop(r.head)
	}
}

func (r *Reassembler) newDatagram(k fragKey, ts int64) *fragDatagram {
	for len(r.pend) >= r.MaxDatagrams && r.head != nil {
		r.drop(r.head)
	}
	var d *fragDatagram
	if n := len(r.free); n > 0 {
		d, r.free = r.free[n-1], r.free[:n-1]
	} else {
		d = new(fragDatagram)
	}
	*d = fragDatagram{key: k, first: ts, total: -1, hdr: d.hdr[:0], data: d.data[:0], spans: d.spans[:0], prev: r.tail}
	if r.tail != nil {
		r.tail.next = d
	} else {
		r.head = d
	}
	r.tail = d
	r.pend[k] = d
	return d
}

// expire drops the datagrams whose first fragment is older than Timeout.
func (r *Reassembler) expire(ts int64) {
	for r.head != nil && ts-r.head.first > r.Timeout {
		r.drop(r.head)
	}
}

func (r *Reassembler) drop(d *fragDatagram) {
	r.Stats.Dropped += d.frags
	if d.tcp {
		r.Stats.DroppedTCP += d.frags
	}
	r.release(d)
}

// maxFree bounds the finished datagrams kept for their buffers (up to 64
// KiB each).
const maxFree = 16

// release forgets d: out of the map and the list, its buffers kept for
// reuse while few are.
func (r *Reassembler) release(d *fragDatagram) {
	delete(r.pend, d.key)
	for _, s := range d.spans {
		r.bytes -= s.end - s.start
	}
	if d.prev != nil {
		d.prev.next = d.next
	} else {
		r.head = d.next
	}
	if d.next != nil {
		d.next.prev = d.prev
	} else {
		r.tail = d.prev
	}
	d.prev, d.next = nil, nil
	if len(r.free) < maxFree {
		r.free = append(r.free, d)
	}
}

const (
	insertNew = iota
	insertDup
	insertOverlap
)

// insert records [start, end) as held, merging touching spans.
func (d *fragDatagram) insert(start, end int) int {
	i := 0
	for i < len(d.spans) && d.spans[i].end <= start {
		i++
	}
	if i < len(d.spans) && d.spans[i].start < end {
		if d.spans[i].start <= start && end <= d.spans[i].end {
			return insertDup
		}
		return insertOverlap
	}
	d.spans = append(d.spans, fragSpan{})
	copy(d.spans[i+1:], d.spans[i:])
	d.spans[i] = fragSpan{start, end}
	// Merge with the neighbours it touches.
	if i+1 < len(d.spans) && d.spans[i+1].start == end {
		d.spans[i].end = d.spans[i+1].end
		d.spans = append(d.spans[:i+1], d.spans[i+2:]...)
	}
	if i > 0 && d.spans[i-1].end == start {
		d.spans[i-1].end = d.spans[i].end
		d.spans = append(d.spans[:i], d.spans[i+1:]...)
	}
	return insertNew
}

// assemble writes the whole datagram: the first fragment's header, no
// longer marked as a fragment, and the payload.
func (d *fragDatagram) assemble(b []byte) []byte {
	b = append(b, d.hdr...)
	h := b[:len(d.hdr)]
	if d.key.src.Is4() && h[0]>>4 == 4 {
		binary.BigEndian.PutUint16(h[2:], uint16(len(d.hdr)+d.total))
		binary.BigEndian.PutUint16(h[6:], binary.BigEndian.Uint16(h[6:])&ipv4FlagDF) // offset 0, MF clear
		h[10], h[11] = 0, 0
		binary.BigEndian.PutUint16(h[10:], ipv4Checksum(h))
	} else {
		binary.BigEndian.PutUint16(h[4:], uint16(len(d.hdr)-ipv6HdrLen+d.total))
		h[d.nhOff] = d.nextHdr
	}
	return append(b, d.data[:d.total]...)
}

func ipv4Checksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// parseFragment reads a fragment's IP header; false when ip is not a whole
// fragment this package can reassemble.
func parseFragment(ip []byte, f *fragment) bool {
	if len(ip) < ipv4MinHdr {
		return false
	}
	switch ip[0] >> 4 {
	case 4:
		ihl := int(ip[0]&0x0F) * 4
		total := int(binary.BigEndian.Uint16(ip[2:]))
		if ihl < ipv4MinHdr || total < ihl || len(ip) < total {
			return false
		}
		frag := binary.BigEndian.Uint16(ip[6:])
		f.key = fragKey{src: netip.AddrFrom4([4]byte(ip[12:16])), dst: netip.AddrFrom4([4]byte(ip[16:20])),
			id: uint32(binary.BigEndian.Uint16(ip[4:])), proto: ip[9]}
		f.hdr, f.off, f.more = ip[:ihl], int(frag&ipv4FragOff)*8, frag&ipv4FlagMF != 0
		f.payload, f.tcp = ip[ihl:total], ip[9] == protoTCP
		return true
	case 6:
		if len(ip) < ipv6HdrLen {
			return false
		}
		end := ipv6HdrLen + int(binary.BigEndian.Uint16(ip[4:]))
		if len(ip) < end {
			return false
		}
		nhOff, off := 6, ipv6HdrLen
		for {
			next := ip[nhOff]
			switch next {
			case 0, 43, 60: // hop-by-hop, routing, destination options before the fragment header
				if end < off+8 {
					return false
				}
				n := (int(ip[off+1]) + 1) * 8
				if end < off+n {
					return false
				}
				nhOff, off = off, off+n
				continue
			case 44:
				if end < off+8 {
					return false
				}
				fo := binary.BigEndian.Uint16(ip[off+2:])
				f.key = fragKey{src: netip.AddrFrom16([16]byte(ip[8:24])), dst: netip.AddrFrom16([16]byte(ip[24:40])),
					id: binary.BigEndian.Uint32(ip[off+4:])}
				f.hdr, f.nhOff, f.next = ip[:off], nhOff, ip[off]
				f.off, f.more = int(fo&0xFFF8), fo&1 != 0
				f.payload, f.tcp = ip[off+8:end], ip[off] == protoTCP
				return true
			}
			return false
		}
	}
	return false
}
