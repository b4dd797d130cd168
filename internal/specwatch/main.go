// Command specwatch compares openapi.yaml with a copy of Dots' published OpenAPI document and
// reports what Dots publishes that openapi.yaml lacks or types differently: new operations,
// parameters, response statuses, request and response fields and enum values, and type changes
// (a JSON type or format Dots allows that openapi.yaml does not, such as a number where
// openapi.yaml has an integer). Where openapi.yaml is stricter or says more, nothing is reported.
//
// Operations are matched by method and path, since the two documents name them differently. Dots'
// document is OpenAPI 3.1 (type lists such as [string, 'null']) and openapi.yaml is 3.0 (nullable):
// kin-openapi loads both, and types are compared as sets of JSON types, null included, with the
// alternatives of oneOf, anyOf and allOf merged.
//
// Findings that are known and accepted are acknowledged in an allow-list: one pattern a line,
// where * stands for any text, # starts a comment. specwatch prints every finding, notes
// allow-list lines that match none, and exits 1 when a finding is not acknowledged (0 when all
// are, 2 when it cannot run).
//
// Usage, from the repository root (make spec-watch):
//
//	go run ./internal/specwatch [-spec openapi.yaml] [-published testdata/dots-published/payout-links.yaml] [-allow testdata/specwatch/allow.txt]
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("specwatch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ourPath := fs.String("spec", "openapi.yaml", "the project's spec")
	pubPath := fs.String("published", "testdata/dots-published/payout-links.yaml", "the copy of Dots' published spec")
	allowPath := fs.String("allow", "testdata/specwatch/allow.txt", "the allow-list of accepted findings (\"\" for none)")
	if fs.Parse(args) != nil || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: specwatch [-spec FILE] [-published FILE] [-allow FILE]")
		return 2
	}
	ours, err := load(*ourPath)
	var published *openapi3.T
	if err == nil {
		published, err = load(*pubPath)
	}
	var allow []pattern
	if err == nil && *allowPath != "" {
		allow, err = readAllow(*allowPath)
	}
	if err != nil {
		fmt.Fprintln(stderr, "specwatch:", err)
		return 2
	}

	findings := compare(ours, published)
	fmt.Fprintf(stdout, "specwatch: what %s has that %s lacks or types differently\n", *pubPath, *ourPath)
	open := 0
	for _, f := range findings {
		mark := "acknowledged"
		if !acknowledged(allow, f) {
			mark, open = "NEW", open+1
		}
		fmt.Fprintf(stdout, "  %-12s  %s\n", mark, f)
	}
	for _, p := range allow {
		if !p.used {
			fmt.Fprintf(stdout, "specwatch: note: %s:%d matches no finding (Dots' spec changed?): %s\n", *allowPath, p.line, p.text)
		}
	}
	if open > 0 {
		fmt.Fprintf(stdout, "specwatch: FAILED: %d of %d findings are not acknowledged: bring %s up to date with Dots' spec,\n"+
			"or, where the difference is known and accepted, acknowledge it in the allow-list (-allow %s).\n", open, len(findings), *ourPath, *allowPath)
		return 1
	}
	fmt.Fprintf(stdout, "specwatch: OK: %d findings, all acknowledged\n", len(findings))
	return 0
}

// load reads an OpenAPI document, 3.0 or 3.1, with paths.
func load(path string) (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromFile(path)
	if err == nil && doc.Paths == nil {
		err = errors.New("no paths")
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return doc, nil
}

// pattern is one line of the allow-list.
type pattern struct {
	text string
	line int
	re   *regexp.Regexp
	used bool
}

func readAllow(path string) ([]pattern, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []pattern
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		re := "^" + strings.ReplaceAll(regexp.QuoteMeta(text), `\*`, ".*") + "$"
		out = append(out, pattern{text: text, line: n, re: regexp.MustCompile(re)})
	}
	return out, sc.Err()
}

func acknowledged(allow []pattern, finding string) bool {
	found := false
	for i := range allow {
		if allow[i].re.MatchString(finding) {
			allow[i].used, found = true, true
		}
	}
	return found
}
