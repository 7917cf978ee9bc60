package logpush

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Loki sends batches to Loki's push API (POST /loki/api/v1/push, JSON body)
// as streams labelled job="rstscope", node, cause and sender: every label a
// closed list or one value per node, so Loki's stream count stays bounded
// (causes x senders per node). The line is the finding's JSON, so LogQL's
// `| json` reaches every field.
type Loki struct {
	// URL is the push endpoint; see LokiURL.
	URL    string
	Node   string
	Client *http.Client
}

// LokiURL turns what a user gives (http://loki:3100) into the push
// endpoint: a URL whose path already ends in /api/v1/push is kept (another
// store's Loki-compatible endpoint), anything else gets /loki/api/v1/push.
func LokiURL(base string) string {
	if strings.HasSuffix(base, "/api/v1/push") {
		return base
	}
	return strings.TrimSuffix(base, "/") + "/loki/api/v1/push"
}

// lokiPush is the push API's JSON body.
type lokiPush struct {
	Streams []lokiStream `json:"streams"`
}

type lokiStream struct {
	Stream map[string]string `json:"stream"`
	Values [][2]string       `json:"values"` // [unix ns as a decimal string, line]
}

// Send posts batch as one request; Loki answers 204.
func (l *Loki) Send(ctx context.Context, batch []Entry) error {
	var req lokiPush
	idx := map[[2]string]int{}
	for i := range batch {
		e := &batch[i]
		k := [2]string{e.Cause, e.Sender}
		j, ok := idx[k]
		if !ok {
			j = len(req.Streams)
			idx[k] = j
			req.Streams = append(req.Streams, lokiStream{Stream: map[string]string{
				"job": "rstscope", "node": l.Node, "cause": e.Cause, "sender": e.Sender,
			}})
		}
		s := &req.Streams[j]
		s.Values = append(s.Values, [2]string{strconv.FormatInt(e.Time.UnixNano(), 10), string(e.Line)})
	}
	body, err := json.Marshal(&req)
	if err != nil {
		return Permanent(fmt.Errorf("encoding loki push: %w", err))
	}
	return post(ctx, l.Client, l.URL, "application/json", body)
}

// post sends one request; a 4xx other than 429 (too many requests) is
// permanent: the same body would be refused again.
func post(ctx context.Context, c *http.Client, url, ctype string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("pushing to %s: %w", url, err))
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("User-Agent", "rstscope")
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return err // *url.Error: the method, the URL and what went wrong
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	err = fmt.Errorf("pushing to %s: %s: %s", url, resp.Status, bytes.TrimSpace(msg))
	if resp.StatusCode/100 == 4 && resp.StatusCode != http.StatusTooManyRequests {
		return Permanent(err)
	}
	return err
}
