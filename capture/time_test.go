package capture

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"
)

// ngTicks hand-crafts a little-endian pcapng section: one raw-IP interface
// at the default µs resolution, then one enhanced packet block per entry of
// ticks (its raw 64-bit timestamp) and, last, one simple packet block, which
// carries no timestamp at all.
func ngTicks(data []byte, ticks ...uint64) []byte {
	le := binary.LittleEndian
	shb := le.AppendUint32(nil, 0x1A2B3C4D)
	shb = le.AppendUint16(shb, 1)
	shb = le.AppendUint16(shb, 0)
	shb = le.AppendUint64(shb, 0xFFFFFFFFFFFFFFFF)
	idb := le.AppendUint16(nil, 101) // LINKTYPE_RAW
	idb = le.AppendUint16(idb, 0)
	idb = le.AppendUint32(idb, 0)
	b := append(ngBlock(le, 0x0A0D0D0A, shb), ngBlock(le, 1, idb)...)
	for _, t := range ticks {
		epb := le.AppendUint32(nil, 0)
		epb = le.AppendUint32(epb, uint32(t>>32))
		epb = le.AppendUint32(epb, uint32(t))
		epb = le.AppendUint32(epb, uint32(len(data)))
		epb = le.AppendUint32(epb, uint32(len(data)))
		epb = append(epb, data...)
		b = append(b, ngBlock(le, 6, epb)...)
	}
	spb := le.AppendUint32(nil, uint32(len(data)))
	return append(b, ngBlock(le, 3, append(spb, data...))...)
}

// TestReaderImpossibleTimes: a timestamp no output format can write (year
// 586,524 from a µs tick count of 2^64-1) or none at all (a simple packet
// block) is replaced by the last good one and the frame marked, so it can
// be counted and reported; good frames pass untouched.
func TestReaderImpossibleTimes(t *testing.T) {
	good := uint64(t0.UnixMicro())
	in := ngTicks(frameRaw, 1<<64-1, good, 1<<64-1, good+1)
	r, err := NewReader("wild.pcapng", bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	_, infos, err := readAll(t, r)
	if err != nil {
		t.Fatal(err)
	}
	us := t0.Truncate(time.Microsecond)
	want := []struct {
		ts  time.Time
		bad bool
	}{
		{time.Unix(0, 0), true}, // nothing good before it: the epoch
		{us, false},
		{us, true},
		{us.Add(time.Microsecond), false},
		{us.Add(time.Microsecond), true}, // the simple packet block
	}
	if len(infos) != len(want) {
		t.Fatalf("got %d frames, want %d", len(infos), len(want))
	}
	for i, w := range want {
		if got := infos[i]; !got.Time.Equal(w.ts) || got.BadTime != w.bad {
			t.Errorf("frame %d: got time %v bad %v, want %v bad %v", i+1, got.Time, got.BadTime, w.ts, w.bad)
		}
	}
}
