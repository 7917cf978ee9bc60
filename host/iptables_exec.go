package host

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// saveTool is one iptables-save flavour. Both back ends are read because a
// host can hold legacy and nft rules at once and each sees only its own;
// the plain iptables-save is asked only when neither flavoured tool exists,
// since it is one of them under another name.
type saveTool struct {
	cmd, source, fallback string
}

var saveTools = []saveTool{
	{"iptables-legacy-save", "iptables-legacy", "iptables-save"},
	{"iptables-nft-save", "iptables-nft", "iptables-save"},
	{"ip6tables-legacy-save", "ip6tables-legacy", "ip6tables-save"},
	{"ip6tables-nft-save", "ip6tables-nft", "ip6tables-save"},
}

// runSave runs one save tool with a deadline and returns its stdout.
func runSave(ctx context.Context, cmd string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	c := exec.CommandContext(ctx, cmd)
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil {
		msg, _, _ := strings.Cut(strings.TrimSpace(stderr.String()), "\n")
		if msg != "" {
			return nil, fmt.Errorf("%w: %s", err, msg)
		}
		return nil, err
	}
	return stdout.Bytes(), nil
}

// savePlan lists the commands to run: the flavoured tools that exist, and
// a family's plain tool when neither of its flavours does.
func savePlan(have func(string) bool) []saveTool {
	var plan []saveTool
	fellBack := map[string]bool{}
	for _, t := range saveTools {
		if have(t.cmd) {
			plan = append(plan, t)
		}
	}
	for _, t := range saveTools {
		anyFlavour := false
		for _, u := range saveTools {
			if u.fallback == t.fallback && have(u.cmd) {
				anyFlavour = true
			}
		}
		if !anyFlavour && !fellBack[t.fallback] && have(t.fallback) {
			fellBack[t.fallback] = true
			plan = append(plan, saveTool{cmd: t.fallback, source: strings.TrimSuffix(t.fallback, "-save")})
		}
	}
	return plan
}

func haveCommand(c string) bool { _, err := exec.LookPath(c); return err == nil }
