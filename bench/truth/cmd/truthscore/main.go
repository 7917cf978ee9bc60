// Command truthscore scores rstscope's verdicts on a truth run made by
// bench/mktruth.sh against the kernel's own reasons:
//
//	go run ./bench/truth/cmd/truthscore [-tsv FILE] DIR
//
// It prints the figures (share right per connection and per reset, per-cause
// precision and recall, the confusion of kernel reason × cause, calibration
// and sender accuracy) and writes the per-reset TSV to DIR/resets.tsv (or
// -tsv FILE) for study.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rstscope/rstscope/bench/truth"
)

func main() {
	tsv := flag.String("tsv", "", "per-reset TSV (default DIR/resets.tsv)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: truthscore [-tsv FILE] DIR   (DIR made by bench/mktruth.sh)")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *tsv); err != nil {
		fmt.Fprintf(os.Stderr, "truthscore: %v\n", err)
		os.Exit(1)
	}
}

func run(dir, tsv string) error {
	res, err := truth.Score(dir)
	if err != nil {
		return err
	}
	if tsv == "" {
		tsv = filepath.Join(dir, truth.ResetsTSVFile)
	}
	f, err := os.Create(tsv)
	if err != nil {
		return err
	}
	if err := res.WriteTSV(f); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", tsv, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := res.WriteReport(os.Stdout); err != nil {
		return err
	}
	fmt.Printf("\nper-reset TSV: %s\n", tsv)
	return nil
}
