package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"
)

// Options configure Check. The function fields are the live kernel sources;
// nil means the real one. Under a Root other than "/" the real ones are
// skipped (they would describe this host, not the fixture) and say so in
// Unreadable; tests set fakes to exercise them.
type Options struct {
	Root     Root
	Interval time.Duration // 0: judge since-boot counters; >0: rates over it
	ARPWait  time.Duration // how long to wait for ARP answers; 0 means 300 ms

	Listeners    func() ([]Listener, error)
	NFTRejects   func() ([]RejectRule, error)
	IPTablesSave func(ctx context.Context, cmd string) ([]byte, error)
	HaveCommand  func(cmd string) bool
	Duplicates   func(wait time.Duration) ([]Duplicate, error)
}

// errSkippedUnderRoot is listed for live sources when Root is a fixture.
var errSkippedUnderRoot = errors.New("live kernel source, skipped because --root is not /")

// Check audits the host for what will reset its connections. It returns an
// error only when ctx ends; every source it cannot read is listed in the
// report's Unreadable instead.
func Check(ctx context.Context, o Options) (*Report, error) {
	live := o.Root.Live()
	if o.ARPWait == 0 {
		o.ARPWait = 300 * time.Millisecond
	}
	rep := &Report{Findings: []Finding{}, Unreadable: []Unreadable{}}

	// The slow sources (ARP waits, iptables-save forks) run beside the
	// file reads; each writes only its own part.
	var wg sync.WaitGroup
	var fw firewallResult
	var dups dupResult
	wg.Go(func() { fw = collectFirewall(ctx, o, live) })
	wg.Go(func() { dups = collectDuplicates(o, live) })

	sys := readSysctls(o.Root, sysctlNames, rep)
	sockstat := map[string]int64{}
	if b, err := o.Root.ReadFile("/proc/net/sockstat"); err != nil {
		rep.unreadable("socket usage", "/proc/net/sockstat", shortErr(err))
	} else if sockstat, err = parseSockstat(bytes.NewReader(b)); err != nil {
		rep.unreadable("socket usage", "/proc/net/sockstat", fmt.Errorf("parsing: %w", err))
	}
	rep.add(auditSysctls(sys, sockstat)...)
	rep.add(auditConntrack(readConntrack(o.Root, rep), sys)...)
	rep.add(auditDADFailed(readIfInet6(o.Root, rep))...)
	checkListeners(o, live, sys, rep)

	before := readCounters(o.Root, rep)
	var after Counters
	if o.Interval > 0 {
		t := time.NewTimer(o.Interval)
		select {
		case <-ctx.Done():
			t.Stop()
			wg.Wait()
			return nil, fmt.Errorf("waiting %s for counter rates: %w", o.Interval, ctx.Err())
		case <-t.C:
		}
		after = readCounters(o.Root, &Report{}) // the first read already listed failures
	}
	rep.add(auditCounters(before, after, o.Interval)...)

	wg.Wait()
	rep.add(auditRejectRules(fw.rules)...)
	rep.Unreadable = append(rep.Unreadable, fw.unreadable...)
	rep.add(auditDuplicates(dups.found)...)
	rep.Unreadable = append(rep.Unreadable, dups.unreadable...)
	rep.sort()
	return rep, nil
}

func readIfInet6(root Root, rep *Report) []Addr6 {
	const p = "/proc/net/if_inet6"
	b, err := root.ReadFile(p)
	if absent(err) {
		return nil // IPv6 disabled: no addresses, no DAD
	}
	if err != nil {
		rep.unreadable("IPv6 addresses", p, shortErr(err))
		return nil
	}
	as, err := parseIfInet6(bytes.NewReader(b))
	if err != nil {
		rep.unreadable("IPv6 addresses", p, fmt.Errorf("parsing: %w", err))
	}
	return as
}

func checkListeners(o Options, live bool, sys Sysctls, rep *Report) {
	list := o.Listeners
	if list == nil {
		if !live {
			rep.unreadable("listen queues", "sock_diag", errSkippedUnderRoot)
			return
		}
		list = listListeners
	}
	ls, err := list()
	if err != nil {
		rep.unreadable("listen queues", "sock_diag", err)
		return
	}
	// Owners are looked up only for the listeners worth reporting: the
	// /proc/*/fd walk reads one link per open descriptor on the host.
	wanted := map[uint64]bool{}
	for _, l := range ls {
		if nearFull(l) {
			wanted[l.Inode] = true
		}
	}
	if len(wanted) == 0 {
		return
	}
	abort, haveAbort := sys.Get("net.ipv4.tcp_abort_on_overflow")
	owners, denied, err := socketOwners(o.Root, wanted)
	if err != nil {
		rep.unreadable("socket owners", "/proc/*/fd", shortErr(err))
	} else if denied > 0 {
		rep.unreadable("socket owners", "/proc/*/fd", fmt.Errorf("%d processes' descriptors: %w", denied, fs.ErrPermission))
	}
	for i := range ls {
		if ow, ok := owners[ls[i].Inode]; ok {
			ls[i].PID, ls[i].Command = ow.pid, ow.comm
		}
	}
	rep.add(auditListeners(ls, abort, haveAbort)...)
}
