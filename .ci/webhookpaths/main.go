// Command webhookpaths prepares specs for oasdiff, which knows nothing of OpenAPI 3.0's
// x-webhooks extension. For each pair IN OUT it reads the spec IN (YAML or JSON, any layout) and
// writes OUT, the same spec as JSON with every x-webhooks event turned into a made-up operation
// POST /x-webhooks/EVENT whose 200 response is the event's body: Dots writes the body and the
// SDK's users read it, as with a response. It prints the info.version of each IN, one a line.
//
// An event is read in either form a spec of this project has used: a Path Item whose post
// operation takes the body as its application/json request body (the form linters expect), or,
// in specs released before that, the body's schema itself.
//
// Usage, from the repository root: go run ./.ci/webhookpaths IN OUT [IN OUT]...
//
// With -formats BASE REVISION [REPORT] it instead prints, in oasdiff's text form, every string
// format a request parameter or request body property gains between the two specs (format: uuid
// on an id, say), which oasdiff does not check: a value the old contract accepted may now be
// refused, so each is an error for the spec gate. REPORT, an oasdiff JSON report, gets them too.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

func main() {
	args := os.Args[1:]
	if len(args) >= 3 && len(args) <= 4 && args[0] == "-formats" {
		if err := reportFormats(args[1], args[2], args[3:]); err != nil {
			fmt.Fprintf(os.Stderr, "webhookpaths: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if len(args) == 0 || len(args)%2 != 0 {
		fmt.Fprintln(os.Stderr, "usage: webhookpaths IN OUT [IN OUT]...")
		os.Exit(2)
	}
	for i := 0; i < len(args); i += 2 {
		version, err := convert(args[i], args[i+1])
		if err != nil {
			fmt.Fprintf(os.Stderr, "webhookpaths: %s: %v\n", args[i], err)
			os.Exit(1)
		}
		fmt.Println(version)
	}
}

// convert writes the spec at in to out with its webhooks as paths, and returns its info.version.
func convert(in, out string) (string, error) {
	doc, err := openapi3.NewLoader().LoadFromFile(in)
	if err != nil {
		return "", err
	}
	if doc.Info == nil {
		return "", errors.New("no info section")
	}
	hooks, err := webhooks(doc)
	if err != nil {
		return "", err
	}
	if doc.Paths == nil {
		doc.Paths = openapi3.NewPaths()
	}
	for _, event := range sortedKeys(hooks) {
		path := "/x-webhooks/" + event
		if doc.Paths.Value(path) != nil {
			return "", fmt.Errorf("the spec has a path %s of its own", path)
		}
		body := openapi3.NewResponse().
			WithDescription("The body of the " + event + " webhook.").
			WithContent(openapi3.NewContentWithJSONSchemaRef(hooks[event]))
		doc.Paths.Set(path, &openapi3.PathItem{Post: &openapi3.Operation{
			Responses: openapi3.NewResponses(openapi3.WithStatus(200, &openapi3.ResponseRef{Value: body})),
		}})
	}
	delete(doc.Extensions, "x-webhooks")
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return "", err
	}
	return doc.Info.Version, os.WriteFile(out, b, 0o644)
}

// webhooks returns the body schema of each x-webhooks event.
func webhooks(doc *openapi3.T) (map[string]*openapi3.SchemaRef, error) {
	raw, ok := doc.Extensions["x-webhooks"]
	if !ok {
		return nil, nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	var entries map[string]map[string]json.RawMessage
	if err := json.Unmarshal(b, &entries); err != nil {
		return nil, fmt.Errorf("x-webhooks must map each event to a Path Item: %w", err)
	}
	out := map[string]*openapi3.SchemaRef{}
	for event, entry := range entries {
		schema, err := bodySchema(doc, entry)
		if err != nil {
			return nil, fmt.Errorf("x-webhooks %s: %w", event, err)
		}
		out[event] = schema
	}
	return out, nil
}

// bodySchema reads the body schema of one x-webhooks entry, in either form.
func bodySchema(doc *openapi3.T, entry map[string]json.RawMessage) (*openapi3.SchemaRef, error) {
	if _, ok := entry["post"]; !ok {
		// A bare schema: the form of specs released before the entries became Path Items.
		if len(entry) == 0 {
			return nil, errors.New("empty entry")
		}
		return unmarshalTo[openapi3.SchemaRef](entry)
	}
	if len(entry) != 1 {
		return nil, fmt.Errorf("a Path Item with operations other than post (%s)", strings.Join(sortedKeys(entry), ", "))
	}
	var op openapi3.Operation
	if err := json.Unmarshal(entry["post"], &op); err != nil {
		return nil, err
	}
	rb := op.RequestBody
	if rb != nil && rb.Ref != "" && doc.Components != nil {
		rb = doc.Components.RequestBodies[strings.TrimPrefix(rb.Ref, "#/components/requestBodies/")]
	}
	if rb == nil || rb.Value == nil {
		return nil, errors.New("post has no request body")
	}
	mt := rb.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return nil, errors.New("post's request body has no application/json schema")
	}
	return mt.Schema, nil
}

func unmarshalTo[T any](v any) (*T, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	out := new(T)
	return out, json.Unmarshal(b, out)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// reportFormats prints the formats added (formatsAdded) and adds them to the JSON report, if any.
func reportFormats(base, revision string, report []string) error {
	found, err := formatsAdded(base, revision)
	if err != nil {
		return err
	}
	for _, c := range found {
		fmt.Printf("error\t[%s]\n\tin API %s %s\n\t\t%s: a value the previous contract accepted may be refused\n\n", c.ID, c.Operation, c.Path, c.Text)
	}
	if len(report) == 0 || report[0] == "" {
		return nil
	}
	var all []json.RawMessage
	if b, err := os.ReadFile(report[0]); err == nil && len(b) > 0 {
		if err := json.Unmarshal(b, &all); err != nil {
			return fmt.Errorf("%s: %w", report[0], err)
		}
	}
	for _, c := range found {
		b, _ := json.Marshal(c)
		all = append(all, b)
	}
	b, err := json.Marshal(all)
	if err != nil {
		return err
	}
	return os.WriteFile(report[0], b, 0o644)
}

// change is one finding, in the shape of oasdiff's JSON report.
type change struct {
	ID        string `json:"id"`
	Text      string `json:"text"`
	Level     int    `json:"level"` // 3: error
	Operation string `json:"operation"`
	Path      string `json:"path"`
}

// formatsAdded lists the formats that request parameters and request body properties of the
// operations of both specs gain in revision.
func formatsAdded(base, revision string) ([]change, error) {
	var docs [2]*openapi3.T
	for i, f := range []string{base, revision} {
		doc, err := openapi3.NewLoader().LoadFromFile(f)
		if err != nil {
			return nil, err
		}
		docs[i] = doc
	}
	found := []change{}
	for _, path := range docs[1].Paths.InMatchingOrder() {
		before, after := docs[0].Paths.Value(path), docs[1].Paths.Value(path)
		if before == nil {
			continue
		}
		for method, op := range after.Operations() {
			old := before.GetOperation(method)
			if old == nil {
				continue
			}
			add := func(id, what, format string) {
				found = append(found, change{id, fmt.Sprintf("%s gained the format %q", what, format), 3, method, path})
			}
			params := func(item *openapi3.PathItem, op *openapi3.Operation) map[string]*openapi3.Schema {
				out := map[string]*openapi3.Schema{}
				for _, p := range slices.Concat(item.Parameters, op.Parameters) {
					if p.Value != nil && p.Value.Schema != nil {
						out[p.Value.In+" "+p.Value.Name] = p.Value.Schema.Value
					}
				}
				return out
			}
			oldParams := params(before, old)
			for name, s := range params(after, op) {
				if was := oldParams[name]; was != nil && s != nil && s.Format != "" && s.Format != was.Format {
					add("request-parameter-format-added", "the "+name+" parameter", s.Format)
				}
			}
			if body(op) != nil && body(old) != nil {
				compareFormats(body(old), body(op), "", func(at, format string) {
					add("request-property-format-added", "the request property "+at, format)
				})
			}
		}
	}
	slices.SortFunc(found, func(a, b change) int { return strings.Compare(a.Path+" "+a.Operation, b.Path+" "+b.Operation) })
	return found, nil
}

// body is the schema of an operation's JSON request body, or nil.
func body(op *openapi3.Operation) *openapi3.Schema {
	if op.RequestBody == nil || op.RequestBody.Value == nil {
		return nil
	}
	if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
		return mt.Schema.Value
	}
	return nil
}

// compareFormats calls found for every property of after, at any depth, whose format is set and
// differs from the same property's in before.
func compareFormats(before, after *openapi3.Schema, at string, found func(at, format string)) {
	if before == nil || after == nil {
		return
	}
	if after.Format != "" && after.Format != before.Format {
		found(strings.TrimPrefix(at, "."), after.Format)
	}
	for name, p := range after.Properties {
		if was := before.Properties[name]; was != nil && p.Value != nil {
			compareFormats(was.Value, p.Value, at+"."+name, found)
		}
	}
	if after.Items != nil && before.Items != nil {
		compareFormats(before.Items.Value, after.Items.Value, at+"[]", found)
	}
}
