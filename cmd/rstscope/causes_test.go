package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/rstscope/rstscope/cause"
	"github.com/rstscope/rstscope/internal/testutil"
)

// TestCausesDocCurrent keeps docs/causes.md generated from the one table.
func TestCausesDocCurrent(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"causes", "--format", "markdown"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, filepath.Join(testutil.ModuleRoot(t), "docs", "causes.md"), out.Bytes())
}

func TestCausesJSON(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"causes", "--format", "json"}, &out, os.Stderr); err != nil {
		t.Fatal(err)
	}
	var got []cause.Info
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("causes --format json is not JSON: %v", err)
	}
	if len(got) != len(cause.Vocabulary) {
		t.Fatalf("got %d causes, want %d", len(got), len(cause.Vocabulary))
	}
	for _, c := range got {
		if c.Title == "" || c.Description == "" || c.Wire == "" || len(c.Advice) == 0 {
			t.Errorf("cause %s lacks a title, description, wire signature or advice", c.ID)
		}
	}
}

func TestCausesUnknownFormat(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"causes", "--format", "yaml"}, &out, &out); err == nil {
		t.Fatal("got no error for an unknown format")
	}
}
