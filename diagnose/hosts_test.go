package diagnose

import (
	"testing"
	"unsafe"
)

// TestHostStatSize keeps the per-address model as small as hosts.go says:
// the table's ceiling is maxHosts of these.
func TestHostStatSize(t *testing.T) {
	if got := unsafe.Sizeof(hostStat{}); got > 96 {
		t.Errorf("hostStat is %d bytes, want at most 96 (maxHosts of them, about 9 MB with the map, is the table's ceiling)", got)
	}
}
