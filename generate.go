package dots

// gen/ is generated from openapi.yaml by oapi-codegen, pinned as a tool in go.mod, with the
// options of oapi-codegen.yaml (and the overlay it names). Run `go generate ./...` (make
// generate), and commit gen/ with the spec.

//go:generate go tool oapi-codegen -config oapi-codegen.yaml openapi.yaml
