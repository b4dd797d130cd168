package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
)

// allPageSize is the page size of list --all when --limit is not given: the API's largest.
const allPageSize = 100

// listPage is a page of links as list prints it: "data" is [] when empty, never left out.
type listPage struct {
	Data    []gen.PayoutLink `json:"data"`
	HasMore bool             `json:"has_more"`
}

func listFlags(fs *flag.FlagSet, _ *clientChoice) prepare {
	limit := fs.Int("limit", 0, "`N` links per page, 1 to 100 (default: the API's; 100 with --all)")
	all := fs.Bool("all", false, "walk every page and print every link, as the pages arrive")
	after := fs.String("starting-after", "", "start after this payout-link `ID`")
	output := fs.String("output", "json", "`json|ndjson|table`: one JSON document, one JSON link per line, or a table for people")
	return func(args []string) (action, error) {
		if len(args) > 0 {
			return nil, usagef("list takes flags only, not %s", strings.Join(args, " "))
		}
		switch *output {
		case "json", "ndjson", "table":
		default:
			return nil, usagef("--output %q: want json, ndjson or table", *output)
		}
		p := gen.ListPayoutLinksParams{StartingAfter: opt(*after)}
		if *limit != 0 {
			p.Limit = limit
		}
		if *all {
			if p.Limit == nil {
				p.Limit = api.Ptr(allPageSize)
			}
			return func(ctx context.Context, c *api.Client, stdout, _ io.Writer) error {
				return listAll(ctx, c, &p, newLinkWriter(*output, stdout), *p.Limit)
			}, nil
		}
		return func(ctx context.Context, c *api.Client, stdout, stderr io.Writer) error {
			page, err := c.ListPayoutLinks(ctx, &p)
			if err != nil {
				return err
			}
			if *output == "json" {
				return writeJSON(stdout, listPage{Data: append([]gen.PayoutLink{}, page.Data...), HasMore: page.HasMore})
			}
			w := newLinkWriter(*output, stdout)
			for _, l := range page.Data {
				if err := w.link(l); err != nil {
					return err
				}
			}
			if page.HasMore && len(page.Data) > 0 {
				fmt.Fprintf(stderr, "note: more links follow: add --starting-after %s for the next page, or --all for every link\n",
					page.Data[len(page.Data)-1].ID)
			}
			return w.end(page.HasMore)
		}, nil
	}
}

// listAll prints every link from p on as the pages arrive, flushing after each page.
func listAll(ctx context.Context, c *api.Client, p *gen.ListPayoutLinksParams, w linkWriter, pageSize int) error {
	n := 0
	for l, err := range c.PayoutLinks(ctx, p) {
		if err == nil {
			err = w.link(l)
		}
		if err == nil && (n+1)%pageSize == 0 {
			err = w.flush()
		}
		if err != nil {
			_ = w.flush()
			return fmt.Errorf("the list stopped after %d links: %w", n, err)
		}
		n++
	}
	return w.end(false)
}

// linkWriter prints links one at a time.
type linkWriter interface {
	link(l gen.PayoutLink) error
	flush() error
	end(hasMore bool) error
}

func newLinkWriter(format string, w io.Writer) linkWriter {
	switch format {
	case "ndjson":
		return ndjsonWriter{json.NewEncoder(w)}
	case "table":
		t := tableWriter{tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
		_, _ = io.WriteString(t.tw, "ID\tSTATUS\tAMOUNT\tMETHOD\tCREATED (UTC)\tPAYEE\n") // buffered until the first flush
		return t
	}
	return &jsonWriter{w: w}
}

// jsonWriter streams what writeJSON prints for a listPage, byte for byte: each link is encoded
// by encoding/json as it arrives, inside the page's object.
type jsonWriter struct {
	w io.Writer
	n int
}

func (j *jsonWriter) link(l gen.PayoutLink) error {
	b, err := json.MarshalIndent(l, "    ", "  ")
	if err != nil {
		return err
	}
	sep := ",\n    "
	if j.n == 0 {
		sep = "{\n  \"data\": [\n    "
	}
	j.n++
	if _, err := io.WriteString(j.w, sep); err != nil {
		return err
	}
	_, err = j.w.Write(b)
	return err
}

func (j *jsonWriter) flush() error { return nil }

func (j *jsonWriter) end(hasMore bool) error {
	head := "\n  ]"
	if j.n == 0 {
		head = "{\n  \"data\": []"
	}
	_, err := fmt.Fprintf(j.w, "%s,\n  \"has_more\": %t\n}\n", head, hasMore)
	return err
}

type ndjsonWriter struct{ enc *json.Encoder }

func (n ndjsonWriter) link(l gen.PayoutLink) error { return n.enc.Encode(l) }
func (n ndjsonWriter) flush() error                { return nil }
func (n ndjsonWriter) end(bool) error              { return nil }

// tableWriter prints links as aligned columns, flushed page by page.
type tableWriter struct{ tw *tabwriter.Writer }

func (t tableWriter) link(l gen.PayoutLink) error {
	created := "-"
	if !l.Created.IsZero() {
		created = l.Created.UTC().Format("2006-01-02 15:04:05")
	}
	_, err := fmt.Fprintf(t.tw, "%s\t%s\t%s\t%s\t%s\t%s\n", cell(l.ID), cell(string(l.Status)), dollars(int64(l.Amount)),
		cell(string(l.Delivery.Method)), created, cell(payee(l)))
	return err
}

func (t tableWriter) flush() error   { return t.tw.Flush() }
func (t tableWriter) end(bool) error { return t.tw.Flush() }

// dollars writes cents as $12.50.
func dollars(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s$%d.%02d", sign, cents/100, cents%100)
}

// payee is who a link is for: the email, else the phone number, else the name.
func payee(l gen.PayoutLink) string {
	p := l.Payee
	switch {
	case p.Email != "":
		return p.Email
	case p.PhoneNumber != "" && p.CountryCode != "":
		return "+" + p.CountryCode + " " + p.PhoneNumber
	case p.PhoneNumber != "":
		return p.PhoneNumber
	}
	if name := strings.TrimSpace(p.FirstName + " " + p.LastName); name != "" {
		return name
	}
	return "-"
}

// cell makes text from Dots safe for a terminal table: no control characters (a tab would break
// the columns, an escape sequence would reach the terminal), and "-" for nothing.
func cell(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if s == "" {
		return "-"
	}
	return s
}
