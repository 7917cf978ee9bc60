package cause

import (
	"sort"
	"sync"
	"sync/atomic"
)

// rule decides one cause. Rules run in order and the first that matches
// decides; each adds the evidence that made it match. A rule whose cause is
// "" names the cause itself in f.cause (it picks among several), and any
// rule may leave alternatives in f.alts.
type rule struct {
	cause ID
	match func(f *facts) (sender Sender, confidence float64, ok bool)
}

// rules is the ordered list, one file per family: path.go (repeats, other
// captures, devices in the path), handshake.go, close.go. Forgery comes
// first (a forged reset says nothing about the endpoint's state), then the
// causes whose wire signature is most specific, then the broad ones. The
// kernel's own account (kernel.go) is consulted before any of them.
// matchOtherCapture never matches: it states what other captures saw, for
// the rules after it to weigh.
var rules = []rule{
	{"", matchRepeat},
	{"", matchOtherCapture},
	{DuplicateIP, matchDuplicateIP},
	{"", matchPathDevice},
	{"", matchConnectAbandoned},
	{ClosedPort, matchClosedPort},
	{SYNConflict, matchSYNConflict},
	{AcceptQueueOverflow, matchAcceptQueueOverflow},
	{"", matchKeepaliveTimeout},
	{RetransmissionTimeout, matchRetransmissionTimeout},
	{DataAfterClose, matchDataAfterClose},
	{"", matchAfterClose},
	{"", matchHalfOpen},
	{"", matchLiveAbort},
	{InvalidSegment, matchInvalidSegment},
	{"", matchApplicationAbort},
}

// Classify names the cause and the sender of one reset. It is a pure
// function of its context.
func Classify(ctx *Context) Verdict {
	f := gatherFacts(ctx)
	v := Verdict{Cause: Unknown, Sender: f.role, Confidence: 0.2, ClientDir: f.clientDir}
	if r := ctx.KernelReason(); r != "" {
		f.evidence = append(f.evidence, kernelReasonLine(r))
	}
	if k, ok := fromKernel(f); ok {
		v.Cause, v.Sender, v.Confidence = k.cause, k.sender, k.conf
		v.Alternatives = openAlternatives(v.Cause, v.Confidence, k.alts)
		v.Benign = Lookup(v.Cause).Benign
		v.Evidence = f.evidence
		return v
	}
	for _, r := range rules {
		if s, conf, ok := r.match(f); ok {
			v.Cause, v.Sender, v.Confidence = r.cause, s, conf
			if r.cause == "" {
				v.Cause = f.cause
			}
			v.Alternatives = f.alts
			break
		}
	}
	if v.Cause == Unknown {
		f.add("no rule matched: %s", describe(f))
		if f.onlyResets() {
			// zeek/llc.pcap in the corpus: 1 333 resets and nothing else,
			// a trace kept to resets only.
			f.add("the capture holds nothing of this connection but resets (filtered to resets, or started after the rest): capture without a filter, or run watch on %s, to see why", f.s.Addr.Addr())
		}
	}
	v.Alternatives = openAlternatives(v.Cause, v.Confidence, v.Alternatives)
	v.Benign = Lookup(v.Cause).Benign
	v.Evidence = f.evidence
	return v
}

// openAlternatives keeps the alternatives a finding can state: none naming
// the verdict's own cause, the most likely first, and together with the
// verdict's confidence at most 1 (scaled down when rules that each left one
// open add up to more).
func openAlternatives(id ID, conf float64, alts []Alternative) []Alternative {
	out := alts[:0]
	sum := 0.0
	for _, a := range alts {
		if a.Cause != id && a.Probability > 0 {
			out = append(out, a)
			sum += a.Probability
		}
	}
	if room := 1 - conf; sum > room && sum > 0 {
		for i := range out {
			out[i].Probability = round2(out[i].Probability * room / sum)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Probability > out[j].Probability })
	if len(out) == 0 {
		return nil
	}
	return out
}

// onlyResets: every packet of the connection in the capture is a reset.
func (f *facts) onlyResets() bool {
	for _, e := range f.c.Ep {
		if e.Packets != uint64(e.Resets) {
			return false
		}
	}
	return true
}

func describe(f *facts) string {
	s := "reset from " + string(f.role)
	if f.s.HasSeq {
		s += ", sequence " + f.place.String()
	} else {
		s += ", first packet from that side"
	}
	return s
}

// kernelReasonLines holds the evidence line of each kernel reason seen:
// the reasons are the kernel's sk_rst_reason names, a few dozen, and
// watch states one for every reset (its Sprintf was one of the six
// allocations left per watch finding).
var kernelReasonLines sync.Map

// kernelReasonLine returns "kernel reason R", made once per reason (at
// most maxReasonLines of them are kept; a kernel naming more, or numbers,
// gets the line made each time).
func kernelReasonLine(r string) string {
	if v, ok := kernelReasonLines.Load(r); ok {
		return v.(string)
	}
	line := "kernel reason " + r
	if reasonLinesKept.Add(1) <= maxReasonLines {
		kernelReasonLines.Store(r, line)
	}
	return line
}

const maxReasonLines = 256

var reasonLinesKept atomic.Int32
