// Package sighting finds the same connections and the same resets in
// several captures of one traffic taken at different points (client side,
// server side, a tap between), through NAT and load balancers that rewrite
// addresses and ports, and says for each reset where it was seen and where
// it should have been seen but was not.
//
// It works in two steps. Index reads one capture, decode only, and keeps per
// connection a fingerprint (both initial sequence numbers, the first data
// segments' sequence numbers and payload hashes, the TTLs of each side) and
// per reset its place in the connection's sequence space. Join matches the
// fingerprints across indexes, estimates each pair of captures' clock
// offset from the packets they share, and matches the resets.
package sighting

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net/netip"
	"time"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flow"
	"github.com/rstscope/rstscope/packet"
)

// prints is how many data segments per side a connection keeps as its
// fingerprint. One would do without loss; with 5 % of one capture's packets
// lost the chance that both of a side's first two data segments are gone is
// 0.25 %, and matching needs only one of them on either side.
const prints = 2

// hashBytes is how much of a segment's captured payload is hashed: enough
// to tell segments apart when their sequence numbers agree by chance, and
// within the 128-byte snaplen of bench/mkcapture.sh (about 60 payload bytes
// behind the headers).
const hashBytes = 32

// MaxConns bounds an index; past it, further connections are not indexed
// (their resets are then analysed without the other captures). At the
// per-connection cost measured in TestConnCost it is the index's memory
// ceiling.
var MaxConns = 1 << 20

// IdleTimeout starts a new connection on a 4-tuple silent this long, as
// the analyzer's flow table does (Zeek's tcp_inactivity_timeout).
var IdleTimeout = flow.DefaultConfig.IdleTimeout

// side numbers a connection's two ends in one index: side 0 sent the
// connection's first packet in the capture.
type side = uint8

// fingerprint is one data segment: its sequence number, a hash of its
// payload and when it was captured.
type fingerprint struct {
	seq, hash uint32
	ns        int64
}

// conn is one connection's fingerprint in one capture. Its size is the
// index's per-connection cost (see TestConnCost).
type conn struct {
	ends [2]netip.AddrPort
	isn  [2]uint32
	// hasISN says isn[s] is known: from side s's SYN, or from the ACK of
	// the peer's SYN-ACK.
	hasISN [2]bool
	// client is the side that sent the SYN (or received the SYN-ACK);
	// known only when hasClient.
	client, hasClient bool
	// est says a segment without SYN (other than a reset) was seen: a
	// SYN after it opens a new connection even when this one's ISNs are
	// unknown (its handshake was before the capture, or lost).
	est bool
	// synNS and synAckNS are the capture times of the SYN and SYN-ACK, 0
	// when not seen.
	synNS, synAckNS int64
	firstNS, lastNS int64
	// prev is the connection this one replaced on its 4-tuple, -1 for none.
	prev int32
	// ttl is the highest TTL of each side's packets other than resets.
	ttl   [2]uint8
	nData [2]uint8
	data  [2][prints]fingerprint
}

func (c *conn) clientSide() side {
	if c.client {
		return 1
	}
	return 0
}

// reset is one reset packet in one capture.
type reset struct {
	conn     int32
	side     side
	ttl      uint8
	flags    packet.Flags
	seq, ack uint32
	ns       int64
	frame    uint64
}

// Index is what one capture holds for the join.
type Index struct {
	File string
	// Packets counts frames read; FirstNS and LastNS bound their capture
	// times (Unix ns), so a join knows when the capture was running.
	Packets         uint64
	FirstNS, LastNS int64
	// Truncated says MaxConns was reached: later connections are missing.
	Truncated bool

	conns  connStore
	resets []reset
}

// Conns is how many connections the index holds.
func (x *Index) Conns() int { return x.conns.n }

// connStore holds connections in fixed blocks: appending never copies
// what is there (a doubling slice of 184-byte records spent a sixth of the
// index pass copying on bench/out/traffic.pcap, and briefly held two
// copies), and a pointer to a connection stays valid.
type connStore struct {
	blocks [][]conn
	n      int
}

const connBlock = 4096

func (s *connStore) at(i int32) *conn { return &s.blocks[i/connBlock][i%connBlock] }

func (s *connStore) add(c conn) int32 {
	if s.n%connBlock == 0 {
		s.blocks = append(s.blocks, make([]conn, 0, connBlock))
	}
	b := &s.blocks[len(s.blocks)-1]
	*b = append(*b, c)
	s.n++
	return int32(s.n - 1)
}

// Resets is how many reset packets it holds.
func (x *Index) Resets() int { return len(x.resets) }

// indexer builds an Index one frame at a time.
type indexer struct {
	x     *Index
	open  map[flow.Key]int32
	pkt   packet.Packet
	seed  maphash.Seed
	lastK flow.Key
	lastC int32
	last  lastConn
}

var seed = maphash.MakeSeed()

func newIndexer(file string) *indexer {
	return &indexer{x: &Index{File: file}, open: make(map[flow.Key]int32), seed: seed, lastC: -1}
}

// IndexFile reads a whole capture into an index. For damaged input it
// returns what came before the damage together with the error; when ctx
// ends it stops within 64 k frames and returns ctx's error.
func IndexFile(ctx context.Context, name string) (*Index, error) {
	r, err := capture.Open(name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	ix := newIndexer(name)
	if _, size := r.Progress(); size > 0 {
		// Sized for the file: growing the map of open connections was a
		// third of its cost in the index pass of bench/out/traffic.pcap
		// (2 kB of capture per connection there). The cap keeps a file of
		// bulk transfers from reserving what it will not use.
		ix.open = make(map[flow.Key]int32, min(size/2048, 1<<16))
	}
	for {
		data, info, err := r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return ix.x, nil
			}
			return ix.x, fmt.Errorf("indexing %s: %w", name, err)
		}
		ix.frame(data, info)
		if info.Frame&0xFFFF == 0 && ctx.Err() != nil {
			return ix.x, ctx.Err()
		}
	}
}

// frame indexes one captured frame; data is only read during the call.
func (ix *indexer) frame(data []byte, info capture.Info) {
	x := ix.x
	ns := info.Time.UnixNano()
	x.Packets++
	if x.FirstNS == 0 || ns < x.FirstNS {
		x.FirstNS = ns
	}
	x.LastNS = max(x.LastNS, ns)
	pk, peeked := peek(data, info.Link)
	if peeked && pk.flags&byte(packet.SYN|packet.RST|packet.FIN) == 0 {
		if s, same := ix.last.sideOf(&pk); same && ix.lastC >= 0 {
			// The previous frame's connection again, and nothing it adds but
			// time and TTL: what the long way below does for it.
			c := x.conns.at(ix.lastC)
			if (pk.payload == 0 || c.nData[s] >= prints) && time.Duration(ns-c.lastNS) <= IdleTimeout {
				c.lastNS = max(c.lastNS, ns)
				c.ttl[s] = max(c.ttl[s], pk.ttl)
				c.est = true
				return
			}
		} else if pk.payload == 0 {
			return // a bare ACK of another connection, as below
		}
	}
	p := &ix.pkt
	if p.Decode(data, info.Link) != nil {
		return
	}
	src, dst := p.SrcAddrPort(), p.DstAddrPort()
	k, _ := flow.MakeKey(src, dst)
	f := p.Flags
	ci := int32(-1)
	if ix.lastC >= 0 && k == ix.lastK {
		ci = ix.lastC
	} else if p.PayloadLen == 0 && f&(packet.SYN|packet.RST|packet.FIN) == 0 {
		// A bare ACK adds nothing the join uses that its connection's
		// other packets do not give (TTL, time), so it costs no lookup:
		// a third of the index pass on bench/out/traffic.pcap.
		return
	} else if i, ok := ix.open[k]; ok {
		ci = i
	}
	synOnly := f.Has(packet.SYN) && !f.Has(packet.ACK)
	if ci >= 0 {
		c := x.conns.at(ci)
		s := sideOf(c, src)
		// A SYN with another ISN, or a packet after a long silence, starts
		// a new connection on the 4-tuple (flow.Table does the same).
		if synOnly && (c.hasISN[s] && c.isn[s] != p.Seq || !c.hasISN[s] && c.est) || time.Duration(ns-c.lastNS) > IdleTimeout {
			ci = -1
		}
	}
	if ci < 0 {
		if x.conns.n >= MaxConns {
			x.Truncated = true
			return
		}
		prev := int32(-1)
		if i, ok := ix.open[k]; ok {
			prev = i
		}
		ci = x.conns.add(conn{ends: [2]netip.AddrPort{src, dst}, firstNS: ns, prev: prev})
		ix.open[k] = ci
	}
	ix.lastK, ix.lastC = k, ci
	c := x.conns.at(ci)
	s := sideOf(c, src)
	if peeked {
		ix.last.set(&pk, s)
	} else {
		ix.last.n = 0
	}
	if ns > c.lastNS {
		c.lastNS = ns
	}
	if f.Has(packet.RST) {
		// A reset for the connection a new SYN replaced (the SYN-conflict
		// sequence: new SYN, challenge ACK, RST with the old sequence)
		// belongs to the old one, whichever capture lost the new SYN.
		if c.prev >= 0 && !fits(c, s, p) {
			if old := x.conns.at(c.prev); fits(old, sideOf(old, src), p) {
				ci, c = c.prev, old
				s = sideOf(c, src)
			}
		}
		x.resets = append(x.resets, reset{conn: ci, side: s, ttl: p.TTL, flags: f, seq: p.Seq, ack: p.Ack, ns: ns, frame: info.Frame})
		return
	}
	c.ttl[s] = max(c.ttl[s], p.TTL)
	c.est = c.est || !f.Has(packet.SYN)
	switch {
	case synOnly:
		c.isn[s], c.hasISN[s] = p.Seq, true
		c.client, c.hasClient = s == 1, true
		if c.synNS == 0 {
			c.synNS = ns
		}
	case f.Has(packet.SYN): // SYN-ACK: both ISNs
		c.isn[s], c.hasISN[s] = p.Seq, true
		c.isn[s^1], c.hasISN[s^1] = p.Ack-1, true
		c.client, c.hasClient = s == 0, true
		if c.synAckNS == 0 {
			c.synAckNS = ns
		}
	}
	if n := c.nData[s]; p.PayloadLen > 0 && len(p.Payload) > 0 && n < prints && (n == 0 || c.data[s][n-1].seq != p.Seq) {
		b := p.Payload[:min(len(p.Payload), hashBytes)]
		h := uint32(maphash.Bytes(ix.seed, b)) ^ uint32(p.PayloadLen)*0x9e3779b1
		c.data[s][n] = fingerprint{seq: p.Seq, hash: h, ns: ns}
		c.nData[s]++
	}
}

// fits says reset p from side s lies in c's sequence space: at or after
// its own ISN, or acknowledging the peer's. Without ISNs anything fits.
func fits(c *conn, s side, p *packet.Packet) bool {
	switch {
	case p.Flags.Has(packet.ACK) && c.hasISN[s^1]:
		return int32(p.Ack-c.isn[s^1]) > 0
	case c.hasISN[s]:
		return int32(p.Seq-c.isn[s]) >= 0
	}
	return true
}

func sideOf(c *conn, src netip.AddrPort) side {
	if c.ends[0] == src {
		return 0
	}
	return 1
}
