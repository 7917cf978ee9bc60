package diagnose

import (
	"context"
	"io"

	"github.com/rstscope/rstscope/capture"
	"github.com/rstscope/rstscope/flow"
	"github.com/rstscope/rstscope/packet"
	"github.com/rstscope/rstscope/report"
)

// readInline hands every frame of r to handle, on this goroutine.
func readInline(r *capture.Reader, opts Options, handle func([]byte, capture.Info)) error {
	for {
		data, info, err := r.Next()
		if err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		handle(data, info)
		if opts.Progress != nil && info.Frame&0xFFFF == 0 {
			read, size := r.Progress()
			opts.Progress(r.Name(), read, size)
		}
	}
}

// pipelined analyses all of r on three goroutines: one reads and decodes
// (readAhead), this one tracks, one explains the resets on Conns and writes
// the findings (findingQueue). Everything that must see the frames in
// order stays on this one, and the writer explains in the order this one
// hands resets over, so the findings are the same, in the same order, as
// from reading inline.
func (a *Analyzer) pipelined(ctx context.Context, r *capture.Reader) (report.FileStats, error) {
	out := newFindingQueue(a.opts.OnFinding, a.file, a.pending.recycleCx)
	if out != nil {
		a.opts.OnFinding = out.add
		if a.opts.captures == nil {
			// With other captures joined, explain looks their sightings up
			// (captures.lookup), which stays on this goroutine.
			a.queue = out
		}
	}
	err := readAhead(ctx, r, a.opts, a.decodedFrame, a.warm, out.handOver)
	st := a.Finish()
	out.close()
	a.queue = nil
	return st, err
}

// frameHandler takes one frame read ahead: its bytes, what the reader said
// of it, the frame decoded (err is what packet.Decode returned) and, when
// it decoded, its flow key. All of it is valid only during the call.
type frameHandler func(data []byte, info capture.Info, p *packet.Packet, k *flow.Key, err error)

// warm starts reading what handling p, of key k, will read first: the
// flow table's index slots, and the host table's for p's source and for
// the originator of the connection a new one would evict (see
// flow.Table.Prefetch). readAhead calls it a frame ahead: a frame of a
// SYN flood takes about a microsecond here, several times a read from
// memory. On bench/flood.sh -k unanswered (10 M SYNs) it took the CPU
// time from 12.9 to 11.7 s (medians of three interleaved runs), the index
// reads it warms from about 4.7 s of a run to under 1.
func (a *Analyzer) warm(p *packet.Packet, k *flow.Key) {
	evictee := a.table.Prefetch(k)
	if a.opts.NoClassify {
		return
	}
	a.hosts.prefetch(p.Src)
	if evictee.IsValid() {
		a.hosts.prefetch(evictee)
	}
}

// decodedFrame is the Analyzer's frameHandler.
func (a *Analyzer) decodedFrame(_ []byte, info capture.Info, p *packet.Packet, k *flow.Key, err error) {
	a.decoded(p, *k, err, info)
}

// frameBatch is a run of frames copied out of the reader's buffer and
// decoded; each packet's Payload aliases data.
type frameBatch struct {
	data  []byte
	ends  []int // end offset of each frame in data
	infos []capture.Info
	pkts  []packet.Packet
	keys  []flow.Key // each decoded packet's flow key
	errs  []error
	err   error // the read error after the last frame, io.EOF at the end
}

// decode decodes every frame of the batch and makes the flow keys. It
// runs once the batch is full, so that data no longer moves as frames are
// appended.
func (b *frameBatch) decode() {
	n := len(b.infos)
	if cap(b.pkts) < n {
		b.pkts, b.keys, b.errs = make([]packet.Packet, n, batchFrames), make([]flow.Key, n, batchFrames), make([]error, n, batchFrames)
	}
	b.pkts, b.keys, b.errs = b.pkts[:n], b.keys[:n], b.errs[:n]
	start := 0
	for i, end := range b.ends {
		p := &b.pkts[i]
		b.errs[i] = p.Decode(b.data[start:end], b.infos[i].Link)
		b.keys[i] = flow.Key{}
		if b.errs[i] == nil {
			b.keys[i], _ = flow.MakeKey(p.SrcAddrPort(), p.DstAddrPort())
		}
		start = end
	}
}

// batchFrames and batchBytes bound a batch (variables so a test can make
// small files span many batches); batchesLive bounds the memory read ahead
// (about 3.6 MB with the decoded packets: 2048 of 168 bytes a batch). Each batch handed over costs a goroutine wake-up: 2048
// frames instead of 512 cut the CPU time of reading bench/out/traffic.pcap
// through the read-ahead from 0.50 to 0.36 s (BenchmarkReadAheadBenchCapture,
// 2.3 M frames of at most 128 bytes, which fill 256 KiB at about 2300;
// medians of five interleaved runs, CPU time on a machine shared at load 18).
var batchFrames, batchBytes = 2048, 256 << 10

const batchesLive = 4

// readAhead reads and decodes r on its own goroutine into a few recycled
// batches while the caller's goroutine handles the frames in order, then
// calls handedOver (when not nil) after each batch. warm (when not nil)
// sees each decoded frame just before the frame ahead of it is handled, to
// start reading what handling it will read (Analyzer.warm). Reading, parsing and
// decoding were a third of the work on bench/out/traffic.pcap; this moves
// them to the second core, leaving the caller the work that must see the
// frames in order (flow tracking, classification).
//
// Once ctx is done it hands on no further batch: the reader stops at its
// next buffer fill, but frames it read ahead need not be analysed.
func readAhead(ctx context.Context, r *capture.Reader, opts Options, handle frameHandler, warm func(*packet.Packet, *flow.Key), handedOver func()) error {
	full := make(chan *frameBatch, batchesLive)
	free := make(chan *frameBatch, batchesLive)
	for range batchesLive {
		free <- &frameBatch{data: make([]byte, 0, batchBytes+64<<10), ends: make([]int, 0, batchFrames), infos: make([]capture.Info, 0, batchFrames)}
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		var b *frameBatch
		next := func() bool { // takes a free batch; false once the caller has gone
			select {
			case b = <-free:
				b.data, b.ends, b.infos, b.err = b.data[:0], b.ends[:0], b.infos[:0], nil
				return true
			case <-stop:
				return false
			}
		}
		send := func() {
			b.decode()
			full <- b
		}
		// Before the reader may wait for input, the frames at hand go out:
		// from a pipe (tcpdump -w - | rstscope analyze -) a batch fills only
		// when traffic does, and a finding waited for 512 more frames or the
		// end of input. A file, whose reads do not wait, is read in full
		// batches: a short one per 256 KiB buffer fill doubled the hand-overs.
		gone := false
		if _, size := r.Progress(); size == 0 { // a pipe, not a file
			r.BeforeRead(func() {
				if gone || len(b.infos) == 0 {
					return
				}
				send()
				gone = !next()
			})
		}
		if !next() {
			return
		}
		for {
			data, info, err := r.Next()
			if gone {
				return
			}
			if err != nil {
				b.err = err
				send()
				return
			}
			b.data = append(b.data, data...)
			b.ends = append(b.ends, len(b.data))
			b.infos = append(b.infos, info)
			if opts.Progress != nil && info.Frame&0xFFFF == 0 {
				read, size := r.Progress()
				opts.Progress(r.Name(), read, size)
			}
			if len(b.infos) >= batchFrames || len(b.data) >= batchBytes {
				send()
				if !next() {
					return
				}
			}
		}
	}()
	for {
		var b *frameBatch
		select {
		case b = <-full:
		case <-ctx.Done():
			return ctx.Err()
		}
		start := 0
		for i, end := range b.ends {
			if warm != nil && i+1 < len(b.ends) && b.errs[i+1] == nil {
				warm(&b.pkts[i+1], &b.keys[i+1])
			}
			handle(b.data[start:end], b.infos[i], &b.pkts[i], &b.keys[i], b.errs[i])
			start = end
		}
		if handedOver != nil {
			handedOver()
		}
		if b.err != nil {
			if b.err == io.EOF {
				return nil
			}
			return b.err
		}
		free <- b
	}
}

// findingQueue hands findings to a goroutine of their own, in order, a
// batch of frames' worth at a time: rendering and writing a finding (NDJSON
// encoding, the write) was a tenth of the work on the goroutine that must
// see every frame in order. It also explains the resets on Conns
// (Analyzer.deferred, explainQueued): classifying and building a finding
// was a fifth of that goroutine's CPU time on the harness capture
// (1.94 M packets, 39.6 k resets). A nil queue (no finding callback) does
// nothing.
type findingQueue struct {
	emit    func(report.Finding)
	file    string
	recycle func(*resetContext) // takes back a deferred reset's context, on the caller's goroutine
	buf     *findingBatch
	full    chan *findingBatch
	free    chan *findingBatch
	done    chan struct{}
}

// queued is a reset on a Conn to explain on the writer's goroutine (see
// Analyzer.deferred), or, with cx nil, the batch's next finding made
// already. The findings made already sit in a slice of their own: with
// one in each item (392 bytes), handing a deferred reset over was a
// copy of 424 bytes, a fifth of what emit cost the tracker.
type queued struct {
	cx            *resetContext
	frame         uint64
	prev, verdict *verdictBox
}

type findingBatch struct {
	items []queued
	fs    []report.Finding
	used  []*resetContext // the contexts of items explained, to reuse
}

func newFindingQueue(emit func(report.Finding), file string, recycle func(*resetContext)) *findingQueue {
	if emit == nil {
		return nil
	}
	q := &findingQueue{emit: emit, file: file, recycle: recycle, buf: new(findingBatch),
		full: make(chan *findingBatch, batchesLive), free: make(chan *findingBatch, batchesLive), done: make(chan struct{})}
	go func() {
		defer close(q.done)
		for b := range q.full {
			j := 0
			for i := range b.items {
				it := &b.items[i]
				if it.cx == nil {
					q.emit(b.fs[j])
					j++
					continue
				}
				q.emit(explainQueued(q.file, it))
				b.used = append(b.used, it.cx)
			}
			clear(b.items)
			clear(b.fs) // the strings and slices they hold become garbage
			b.items, b.fs = b.items[:0], b.fs[:0]
			select {
			case q.free <- b:
			default:
			}
		}
	}()
	return q
}

// add queues a finding; it goes out at the next handOver, or now when
// maxQueuedFindings are waiting: at the end of a capture of a flood every
// pending reset is explained at once, and holding them all for one handOver
// took a flood where every SYN was answered by a reset from 501 to 956 MiB
// (~400 k findings of ~2 KB; bench/flood.sh -k rst).
func (q *findingQueue) add(f report.Finding) {
	q.buf.fs = append(q.buf.fs, f)
	q.push(queued{})
}

func (q *findingQueue) push(it queued) {
	q.buf.items = append(q.buf.items, it)
	if len(q.buf.items) >= maxQueuedFindings {
		q.handOver()
	}
}

// maxQueuedFindings bounds a batch of findings (~2 KB each: 2 MB).
const maxQueuedFindings = 1024

// handOver sends the findings queued so far to be emitted.
func (q *findingQueue) handOver() {
	if q == nil || len(q.buf.items) == 0 {
		return
	}
	q.full <- q.buf
	select {
	case q.buf = <-q.free:
		for _, cx := range q.buf.used {
			q.recycle(cx)
		}
		clear(q.buf.used)
		q.buf.used = q.buf.used[:0]
	default:
		q.buf = new(findingBatch)
	}
}

// close emits what is still queued and waits until every finding is out.
func (q *findingQueue) close() {
	if q == nil {
		return
	}
	q.handOver()
	close(q.full)
	<-q.done
}
