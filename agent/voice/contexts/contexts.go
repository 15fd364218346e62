// Package contexts holds the voice assistant's context files, one YAML
// file per context and language (car.en.yaml, car.zh.yaml, ...), embedded
// so the agent ships them. The format is documented in README.md and in
// package intent, which parses them; adding a context or a language is
// adding a file here, without code.
package contexts

import "embed"

// FS holds the context files, at its root.
//
//go:embed *.yaml
var FS embed.FS
