package dots

// gen/ is generated from openapi.yaml by oapi-codegen, pinned as a tool in go.mod, with the
// options of oapi-codegen.yaml and the overlay it names, which ./codegen writes first from the
// spec (request schemas' scalars become pointers); ./codegen then puts the generated
// deprecation notes in paragraphs of their own. Run `go generate ./...` (make generate), and
// commit gen/ and codegen/overlay.yaml with the spec.

//go:generate go run ./codegen overlay openapi.yaml codegen/overlay.yaml
//go:generate go tool oapi-codegen -config oapi-codegen.yaml openapi.yaml
//go:generate go run ./codegen deprecated gen/dots.gen.go
