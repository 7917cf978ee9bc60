package lab

import (
	"strings"

	"github.com/rstscope/rstscope/cause"
)

// Gap is a lab scenario whose resets analyze does not yet classify as the
// scenario knows is right: the cause analyze gives today (the sender is
// right) and why. The tests that run analyze over the lab's captures
// (diagnose's TestLabCaptures and TestJoinLabCaptures, TestScenarios here)
// accept exactly that wrong cause for these runs and fail once analyze
// gets them right, so the list only shrinks: a rule in cause/ that closes
// a gap removes its entry in the same commit.
type Gap struct {
	Got cause.ID
	Why string
}

// gaps is keyed by Scenario.ID.
var gaps = map[string]Gap{}

// AnalyzeGap returns the gap of a run, named by its directory
// ("injected-both-ways-ipv4") or its scenario ID.
func AnalyzeGap(run string) (Gap, bool) {
	id := strings.TrimSuffix(strings.TrimSuffix(run, "-ipv4"), "-ipv6")
	g, ok := gaps[id]
	return g, ok
}
