// Command loggen writes a large synthetic application log for timing
// `rstscope analyze --logs` against the bench capture (docs/logs.md):
// nginx access and error lines, haproxy session lines and Go "read tcp"
// errors, interleaved as one busy host would write them, naming the bench's
// client and server (10.77.0.1, 10.77.0.2) so that lines join resets.
//
//	go run ./bench/loggen -start 2026-11-30T06:40:00Z -dur 1h -size 1G -o bench/out/big.log
//
// -start goes about half an hour before the capture's first packet
// (`capinfos -a`), so that the capture lies inside the hour and most of the
// log far from its resets, as on a server whose logs span more than a
// capture does (docs/logs.md measures with the capture 27 minutes in).
//
// Lines are nearly in time order, as a real server's are: one in twenty is
// written late by up to 5 s (-late) (a slow request logged at its end with its start
// time), and haproxy's lines carry the session's start plus its timers. The
// output is the same for the same flags (a fixed seed).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	var (
		start = flag.String("start", "2026-11-30T05:00:00Z", "time of the first line (RFC 3339)")
		dur   = flag.Duration("dur", time.Hour, "span of time the lines cover")
		size  = flag.String("size", "1G", "bytes to write (K, M, G suffixes)")
		out   = flag.String("o", "", "output file")
		late  = flag.Int("late", 20, "one line in `N` is written up to 5 s late (0: none)")
	)
	flag.Parse()
	t0, err := time.Parse(time.RFC3339, *start)
	n, err2 := parseSize(*size)
	if err != nil || err2 != nil || *out == "" || *dur <= 0 {
		fmt.Fprintln(os.Stderr, "loggen: want -start RFC3339, -dur >0, -size N[KMG], -o FILE")
		os.Exit(2)
	}
	if err := write(*out, t0.UTC(), *dur, n, *late); err != nil {
		fmt.Fprintln(os.Stderr, "loggen:", err)
		os.Exit(1)
	}
}

func parseSize(s string) (int64, error) {
	mul := int64(1)
	switch {
	case strings.HasSuffix(s, "G"):
		mul, s = 1<<30, s[:len(s)-1]
	case strings.HasSuffix(s, "M"):
		mul, s = 1<<20, s[:len(s)-1]
	case strings.HasSuffix(s, "K"):
		mul, s = 1<<10, s[:len(s)-1]
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v * mul, err
}

// avgLine is the mean length of the lines below, measured on a first run
// (127 bytes); it sets the line rate that spreads size bytes over dur.
const avgLine = 127

func write(path string, t0 time.Time, dur time.Duration, size int64, late int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	r := rand.New(rand.NewPCG(12, 34))
	lines := size / avgLine
	step := dur / time.Duration(lines)
	var written int64
	for i := int64(0); written < size; i++ {
		ts := t0.Add(time.Duration(i) * step)
		if late > 0 && r.IntN(late) == 0 {
			ts = ts.Add(-time.Duration(r.IntN(5000)) * time.Millisecond)
		}
		port := 32768 + r.IntN(28232)
		var s string
		switch r.IntN(4) {
		case 0:
			s = fmt.Sprintf("10.77.0.1 - - [%s] \"GET /api/v1/items/%d HTTP/1.1\" 200 512 \"-\" \"curl/8.5.0\"\n", ts.Format("02/Jan/2006:15:04:05 -0700"), i)
		case 1:
			s = fmt.Sprintf("%s [error] 9#9: *%d recv() failed (104: Connection reset by peer) while reading response header from upstream, client: 10.77.0.1, upstream: \"http://10.77.0.2:%d/\"\n", ts.Format("2006/01/02 15:04:05"), i, 8000+r.IntN(4))
		case 2:
			tr := r.IntN(900)
			st := "----"
			if r.IntN(50) == 0 {
				st = "sH--"
			}
			s = fmt.Sprintf("10.77.0.1:%d [%s] fe be/s1 0/0/1/%d/%d 200 100 - - %s 1/1/0/0/0 0/0 \"GET / HTTP/1.1\"\n", port, ts.Add(-time.Duration(tr+1)*time.Millisecond).Format("02/Jan/2006:15:04:05.000"), tr, tr+1, st)
		case 3:
			s = fmt.Sprintf("%s http: read tcp 10.77.0.2:%d->10.77.0.1:%d: read: connection reset by peer\n", ts.Format("2006/01/02 15:04:05.000000"), 8000+r.IntN(4), port)
		}
		n, err := w.WriteString(s)
		written += int64(n)
		if err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
