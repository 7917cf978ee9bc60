// Package render writes a report in each output format: text, JSON, NDJSON,
// Zeek's conn.log and Prometheus metrics. Every format renders the same
// report values.
package render

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/rstscope/rstscope/report"
)

// ConnLog writes connections as Zeek's conn.log (TSV with Zeek's header
// lines), so zeek-cut and Zeek users' scripts read it.
type ConnLog struct {
	w      *bufio.Writer
	opened bool
	now    func() time.Time
}

// NewConnLog returns a conn.log writer; call Close to write the footer.
func NewConnLog(w io.Writer) *ConnLog {
	return &ConnLog{w: bufio.NewWriterSize(w, 64<<10), now: time.Now}
}

const connFields = "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents"
const connTypes = "time\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]"

func (l *ConnLog) header() {
	l.opened = true
	fmt.Fprintf(l.w, "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#open\t%s\n#fields\t%s\n#types\t%s\n",
		l.now().UTC().Format("2006-01-02-15-04-05"), connFields, connTypes)
}

// Write appends one connection.
func (l *ConnLog) Write(c report.ConnSummary) error {
	if !l.opened {
		l.header()
	}
	b := l.w.AvailableBuffer()
	b = appendZeekTime(b, c.Start)
	b = append(b, '\t')
	b = append(b, c.UID...)
	b = append(b, '\t')
	b = append(b, c.OrigH...)
	b = append(b, '\t')
	b = strconv.AppendUint(b, uint64(c.OrigP), 10)
	b = append(b, '\t')
	b = append(b, c.RespH...)
	b = append(b, '\t')
	b = strconv.AppendUint(b, uint64(c.RespP), 10)
	b = append(b, "\ttcp\t-\t"...)
	if c.HasDuration {
		b = strconv.AppendFloat(b, c.Duration.Seconds(), 'f', 6, 64)
		b = append(b, '\t')
		b = strconv.AppendUint(b, c.OrigBytes, 10)
		b = append(b, '\t')
		b = strconv.AppendUint(b, c.RespBytes, 10)
	} else {
		b = append(b, "-\t"...)
		b = strconv.AppendUint(b, c.OrigBytes, 10)
		b = append(b, '\t')
		b = strconv.AppendUint(b, c.RespBytes, 10)
	}
	b = append(b, '\t')
	b = append(b, c.ConnState...)
	b = append(b, "\t-\t-\t0\t"...)
	if c.History == "" {
		b = append(b, '-')
	} else {
		b = append(b, c.History...)
	}
	for _, n := range [...]uint64{c.OrigPkts, c.OrigIP, c.RespPkts, c.RespIP} {
		b = append(b, '\t')
		b = strconv.AppendUint(b, n, 10)
	}
	b = append(b, "\t-\n"...)
	_, err := l.w.Write(b)
	return err
}

// Close writes the footer and flushes.
func (l *ConnLog) Close() error {
	if !l.opened {
		l.header()
	}
	fmt.Fprintf(l.w, "#close\t%s\n", l.now().UTC().Format("2006-01-02-15-04-05"))
	return l.w.Flush()
}

// appendZeekTime writes seconds since the epoch with microseconds, as Zeek does.
func appendZeekTime(b []byte, t time.Time) []byte {
	us := report.ClampTime(t).UnixMicro() // in int64 µs, years 0 to 9999 fit
	if us < 0 {
		b = append(b, '-')
		us = -us
	}
	b = strconv.AppendInt(b, us/1e6, 10)
	b = append(b, '.')
	frac := us % 1e6
	for d := int64(100000); d > 0; d /= 10 {
		b = append(b, byte('0'+frac/d%10))
	}
	return b
}
