package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipcm/sipcm/internal/corpus"
	"github.com/sipcm/sipcm/internal/sipgoref"
	"github.com/sipcm/sipcm/sipparse"
)

// rfc4475Dir holds the RFC 4475 torture messages, relative to this package.
const rfc4475Dir = "../sipparse/testdata/rfc4475"

// diffCase is one message of the differential test.
type diffCase struct {
	name   string
	buf    []byte
	corpus bool // a benchmark corpus message: both parsers must accept it
}

func diffCases(t *testing.T) []diffCase {
	t.Helper()
	var cases []diffCase
	for _, m := range corpus.Messages() {
		cases = append(cases, diffCase{name: "corpus/" + m.Name, buf: m.Bytes, corpus: true})
	}
	var files []string
	for _, pat := range []string{"*.sip", "variants/*.sip"} {
		fs, err := filepath.Glob(filepath.Join(rfc4475Dir, pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, fs...)
	}
	if len(files) < 49 {
		t.Fatalf("found %d RFC 4475 files in %s, want at least 49", len(files), rfc4475Dir)
	}
	for _, f := range files {
		buf, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(rfc4475Dir, f)
		name := "rfc4475/" + strings.TrimSuffix(filepath.ToSlash(rel), ".sip")
		cases = append(cases, diffCase{name: name, buf: buf})
	}
	return cases
}

// TestDifferential parses every corpus and RFC 4475 message with sipcm and
// sipgo. Where both accept a message, the fields that both expose must agree
// (see sipgoref.Diff for the normalisation). Where only one accepts, the test
// logs it: sipcm is stricter than sipgo by design, and RFC 4475 conformance is
// checked in sipparse. Corpus messages must be accepted by both.
func TestDifferential(t *testing.T) {
	ref := sipgoref.NewParser()
	var m sipparse.Message
	var both, onlySipcm, onlySipgo, neither []string
	for _, tc := range diffCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			buf := tc.buf
			gf, gerr := ref.Parse(buf)
			cerr := m.Parse(buf)
			if cerr == nil {
				cerr = m.ParseAll() // the fields compared include every Via
			}
			switch {
			case gerr == nil && cerr == nil:
				both = append(both, tc.name)
			case cerr == nil:
				onlySipcm = append(onlySipcm, tc.name)
				t.Logf("only sipcm accepts; sipgo: %v", gerr)
			case gerr == nil:
				onlySipgo = append(onlySipgo, tc.name)
				t.Logf("only sipgo accepts; sipcm: %v", cerr)
			default:
				neither = append(neither, tc.name)
				t.Logf("both reject; sipcm: %v; sipgo: %v", cerr, gerr)
			}
			if tc.corpus && (gerr != nil || cerr != nil) {
				t.Fatalf("corpus message rejected: sipcm: %v; sipgo: %v", cerr, gerr)
			}
			if gerr != nil || cerr != nil {
				return
			}
			for _, d := range sipgoref.Diff(gf, sipcmFields(&m, buf)) {
				t.Errorf("disagree on %s", d)
			}
		})
	}
	t.Logf("both accept (%d): %s", len(both), strings.Join(both, " "))
	t.Logf("only sipcm accepts (%d): %s", len(onlySipcm), strings.Join(onlySipcm, " "))
	t.Logf("only sipgo accepts (%d): %s", len(onlySipgo), strings.Join(onlySipgo, " "))
	t.Logf("both reject (%d): %s", len(neither), strings.Join(neither, " "))
}
