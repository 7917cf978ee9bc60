package report

import (
	"encoding/json"
	"time"
)

// ConnSummary is one connection, with the fields of Zeek's conn.log.
type ConnSummary struct {
	UID       string        `json:"uid"`
	File      string        `json:"file,omitempty"`
	Start     time.Time     `json:"ts"`
	OrigH     string        `json:"id.orig_h"`
	OrigP     uint16        `json:"id.orig_p"`
	RespH     string        `json:"id.resp_h"`
	RespP     uint16        `json:"id.resp_p"`
	Duration  time.Duration `json:"-"`
	OrigBytes uint64        `json:"orig_bytes"`
	RespBytes uint64        `json:"resp_bytes"`
	ConnState string        `json:"conn_state"`
	History   string        `json:"history"`
	OrigPkts  uint64        `json:"orig_pkts"`
	OrigIP    uint64        `json:"orig_ip_bytes"`
	RespPkts  uint64        `json:"resp_pkts"`
	RespIP    uint64        `json:"resp_ip_bytes"`
	// Resets counts the reset packets seen on the connection.
	Resets uint32 `json:"resets"`
	// HasDuration is false for single-packet connections (Zeek leaves it unset).
	HasDuration bool `json:"-"`
	// DurationSeconds mirrors Duration for JSON.
	DurationSeconds float64 `json:"duration"`
}

// MarshalJSON writes the start time clamped (see ClampTime): encoding/json
// fails the whole document on a time past year 9999.
func (c ConnSummary) MarshalJSON() ([]byte, error) {
	type plain ConnSummary // without this method
	p := plain(c)
	p.Start = ClampTime(p.Start)
	return json.Marshal(p)
}
