//go:build !unix

package capture

import (
	"io"
	"os"
)

// pollableStdin returns standard input; outside Unix a read blocked on it
// is not woken by an interrupt (the analysis stops once the read returns).
func pollableStdin() io.ReadCloser { return io.NopCloser(os.Stdin) }
