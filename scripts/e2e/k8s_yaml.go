package main

import (
	"fmt"
	"regexp"
	"strings"
)

// manifest is one YAML document of a manifest file: its identity, read
// from its top-level lines, and its text, which the apiserver decodes
// itself (it accepts application/yaml), so the driver needs no YAML parser.
type manifest struct {
	id   object
	body []byte
}

var (
	docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)
	topKey       = regexp.MustCompile(`^(apiVersion|kind):[ \t]*(.*)$`)
	metaKey      = regexp.MustCompile(`^  (name|namespace):[ \t]*(.*)$`)
)

// manifests splits a multi-document YAML file; documents without a kind
// (comments only) are skipped.
func manifests(text string) ([]manifest, error) {
	var out []manifest
	for _, doc := range docSeparator.Split(text, -1) {
		var id object
		inMeta := false
		for _, line := range strings.Split(doc, "\n") {
			line = strings.TrimRight(line, " \t\r")
			if m := topKey.FindStringSubmatch(line); m != nil {
				if m[1] == "kind" {
					id.Kind = unquote(m[2])
				} else {
					id.APIVersion = unquote(m[2])
				}
			}
			switch {
			case line == "metadata:":
				inMeta = true
			case inMeta && metaKey.MatchString(line):
				m := metaKey.FindStringSubmatch(line)
				if m[1] == "name" {
					id.Metadata.Name = unquote(m[2])
				} else {
					id.Metadata.Namespace = unquote(m[2])
				}
			case line != "" && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "#"):
				inMeta = false
			}
		}
		if id.Kind == "" {
			if strings.TrimSpace(stripComments(doc)) != "" {
				return nil, fmt.Errorf("a document has no top-level kind: %s", oneLine(doc))
			}
			continue
		}
		if id.APIVersion == "" {
			return nil, fmt.Errorf("%s %q has no apiVersion", id.Kind, id.Metadata.Name)
		}
		out = append(out, manifest{id: id, body: []byte(doc)})
	}
	return out, nil
}

func unquote(s string) string {
	if i := strings.Index(s, " #"); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		s = s[1 : len(s)-1]
	}
	return s
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}
