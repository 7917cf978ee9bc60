package cause

// rule decides one cause. Rules run in order and the first that matches
// decides; each adds the evidence that made it match. A rule whose cause is
// "" names the cause itself in f.cause (it picks among several), and any
// rule may leave alternatives in f.alts.
type rule struct {
	cause ID
	match func(f *facts) (sender Sender, confidence float64, ok bool)
}

// rules is the ordered list. Forgery comes first (a forged reset says
// nothing about the endpoint's state), then the causes whose wire signature
// is most specific, then the broad ones.
var rules = []rule{
	{"", matchRepeat},
	{"", matchOtherCapture},
	{DuplicateIP, matchDuplicateIP},
	{"", matchPathDevice},
	{"", matchConnectAbandoned},
	{ClosedPort, matchClosedPort},
	{SYNConflict, matchSYNConflict},
	{AcceptQueueOverflow, matchAcceptQueueOverflow},
	{IdleTimeout, matchKeepaliveTimeout},
	{RetransmissionTimeout, matchRetransmissionTimeout},
	{DataAfterClose, matchDataAfterClose},
	{"", matchAfterClose},
	{HalfOpen, matchHalfOpen},
	{"", matchLiveAbort},
	{InvalidSegment, matchInvalidSegment},
	{ApplicationAbort, matchApplicationAbort},
}

// Classify names the cause and the sender of one reset. It is a pure
// function of its context.
func Classify(ctx *Context) Verdict {
	f := gatherFacts(ctx)
	v := Verdict{Cause: Unknown, Sender: f.role, Confidence: 0.2, ClientDir: f.clientDir}
	if r := ctx.KernelReason(); r != "" {
		f.add("kernel reason %s", r)
	}
	if k, ok := fromKernel(f); ok {
		v.Cause, v.Sender, v.Confidence, v.Alternatives = k.cause, k.sender, k.conf, k.alts
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
	}
	v.Benign = Lookup(v.Cause).Benign
	v.Evidence = f.evidence
	return v
}

// kernelConfirms reports whether reason is among the cause's kernel reasons.
func kernelConfirms(id ID, reason string) bool {
	for _, r := range Lookup(id).KernelReasons {
		if r == trimReason(reason) {
			return true
		}
	}
	return false
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
