//go:build linux

// Command realdriver drives real server software for the truth harness's
// test set (bench/realtruth/mkrealtruth.sh): nginx, haproxy and redis in the
// server's namespace, spoken to with their own protocols by Go clients
// (HTTP/1.1 written and read with net/http's own reader, RESP), by curl and
// by redis-cli. Every connection is logged with its kind in the scenario TSV
// that bench/truth reads (client server kind family start), so the same
// scorer judges analyze on it.
//
//	realdriver -addr4 IP -addr6 IP -srv-ns NS -srv-dir DIR -log FILE [-scale N] [-kinds a,b] [-seed S]
//
// It runs in the client's namespace; the restart kinds signal the servers by
// the pid files in DIR and start them again in NS.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// kind is one real-software behaviour.
type kind struct {
	name string
	// count is the number of connections at scale 100 (≈ 3 000 in all).
	count int
	// conc is how many run at once: kinds that wait on a server's timer
	// run many side by side, those that fork a process few.
	conc int
	// run makes connection i of n. It logs the connections it makes.
	run func(d *driver, i int) error
	// batch, when set, replaces run: the kind makes its n connections
	// itself (the restart rounds, which stop and kill a server).
	batch func(d *driver, n int) error
	what  string
	// optIn kinds run only when named (-kinds; "clients" names them all):
	// the client-software kinds, minutes of chromium on both cores, would
	// change the timing every other kind races.
	optIn bool
}

type driver struct {
	addr4, addr6 netip.Addr
	srvNS        string
	srvDir       string
	seed         uint64
	log          *scenarioLog
	ports        *portPool // explicit source ports for Go connects that may fail
	curlPorts    *portPool // for curl --local-port

	mu     sync.Mutex
	counts map[string]*kindCount
}

type kindCount struct{ conns, errs atomic.Int64 }

func (d *driver) count(k string) *kindCount {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.counts[k]
	if c == nil {
		c = &kindCount{}
		d.counts[k] = c
	}
	return c
}

// rng gives connection i of a kind its own generator, so a run is the same
// for a seed whatever the goroutines' order.
func (d *driver) rng(k string, i int) *rand.Rand {
	var h uint64 = 14695981039346656037
	for _, c := range []byte(k) {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return rand.New(rand.NewPCG(d.seed, h+uint64(i)))
}

// v6 says whether connection i of kind k goes over IPv6: one in five.
func (d *driver) v6(k string, i int) bool { return d.rng(k, i).IntN(5) == 0 }

func (d *driver) server(k string, i, port int) netip.AddrPort {
	if d.v6(k, i) {
		return netip.AddrPortFrom(d.addr6, uint16(port))
	}
	return netip.AddrPortFrom(d.addr4, uint16(port))
}

func main() {
	var (
		a4, a6  = flag.String("addr4", "", "server IPv4 address"), flag.String("addr6", "", "server IPv6 address")
		srvNS   = flag.String("srv-ns", "", "the servers' network namespace (restarts)")
		srvDir  = flag.String("srv-dir", "", "the servers' directory (configs, pid files)")
		logName = flag.String("log", "", "scenario TSV to write")
		scale   = flag.Int("scale", 100, "connections per kind = its count × scale / 100 (at least 1)")
		kinds   = flag.String("kinds", "", "comma-separated kinds to run (default all)")
		seed    = flag.Uint64("seed", 1, "seed")
		list    = flag.Bool("list", false, "list the kinds and exit")
	)
	flag.Parse()
	if *list {
		for _, k := range allKinds {
			opt := ""
			if k.optIn {
				opt = " (only when named)"
			}
			fmt.Printf("%-32s %5d  %s%s\n", k.name, k.count, k.what, opt)
		}
		return
	}
	if err := run(*a4, *a6, *srvNS, *srvDir, *logName, *scale, *kinds, *seed); err != nil {
		fmt.Fprintf(os.Stderr, "realdriver: %v\n", err)
		os.Exit(1)
	}
}

func run(a4, a6, srvNS, srvDir, logName string, scale int, kinds string, seed uint64) error {
	addr4, err := netip.ParseAddr(a4)
	if err != nil {
		return fmt.Errorf("-addr4: %w", err)
	}
	addr6, err := netip.ParseAddr(a6)
	if err != nil {
		return fmt.Errorf("-addr6: %w", err)
	}
	if logName == "" || srvNS == "" || srvDir == "" {
		return fmt.Errorf("-log, -srv-ns and -srv-dir are required")
	}
	plan, err := selectKinds(kinds)
	if err != nil {
		return err
	}
	lg, err := openScenarioLog(logName)
	if err != nil {
		return err
	}
	// curl and the Go connects that may fail bind ports below the kernel's
	// ephemeral range (mkrealtruth.sh sets it to 10000-65535).
	d := &driver{addr4: addr4, addr6: addr6, srvNS: srvNS, srvDir: srvDir, seed: seed, log: lg,
		ports: newPortPool(6000, 4000), curlPorts: newPortPool(1024, 4976), counts: map[string]*kindCount{}}
	t0 := time.Now()
	var wg sync.WaitGroup
	for _, k := range plan {
		n := max(1, k.count*scale/100)
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.runKind(k, n)
		}()
	}
	wg.Wait()
	if publisher.stop != nil {
		close(publisher.stop)
		time.Sleep(200 * time.Millisecond)
	}
	if err := lg.close(); err != nil {
		return err
	}
	fmt.Printf("driver: %d kinds in %.1fs\n", len(plan), time.Since(t0).Seconds())
	names := make([]string, 0, len(d.counts))
	for k := range d.counts {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		c := d.counts[k]
		fmt.Printf("  %-32s %5d connections, %4d client-side errors (expected for most)\n", k, c.conns.Load(), c.errs.Load())
	}
	return nil
}

func selectKinds(list string) ([]kind, error) {
	if list == "" {
		var out []kind
		for _, k := range allKinds {
			if !k.optIn {
				out = append(out, k)
			}
		}
		return out, nil
	}
	by := map[string]kind{}
	for _, k := range allKinds {
		by[k.name] = k
	}
	var out []kind
	for _, n := range strings.Split(list, ",") {
		if strings.TrimSpace(n) == "clients" {
			for _, k := range allKinds {
				if k.optIn {
					out = append(out, k)
				}
			}
			continue
		}
		k, ok := by[strings.TrimSpace(n)]
		if !ok {
			return nil, fmt.Errorf("unknown kind %q (realdriver -list names them)", n)
		}
		out = append(out, k)
	}
	return out, nil
}

func (d *driver) runKind(k kind, n int) {
	if k.batch != nil {
		if err := k.batch(d, n); err != nil {
			fmt.Fprintf(os.Stderr, "realdriver: %s: %v\n", k.name, err)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(k.conc, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				// Kinds run many at once arrive spread over half a
				// second, as independent clients do, rather than in
				// lockstep (their timeouts would fire in one burst).
				if k.conc >= 30 {
					time.Sleep(time.Duration(d.rng(k.name+"/arrival", i).IntN(500)) * time.Millisecond)
				}
				if err := k.run(d, i); err != nil {
					d.count(k.name).errs.Add(1)
				}
			}
		}()
	}
	wg.Wait()
}
