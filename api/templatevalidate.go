package api

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"

	"github.com/gin-gonic/gin"
	"gopkg.in/yaml.v3"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/templates"
)

// templateProblem is one finding of POST /v2/validate-template, placed at
// the line and column (1-based) of the YAML node its path names; 0 when
// the path names no node of the text.
type templateProblem struct {
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Severity string `json:"severity"`
	Path     string `json:"path"`
	Message  string `json:"message"`
}

// validateTemplate serves POST /v2/validate-template {yaml}: the findings
// of `rigger template validate` (parser, validator, this server's actions)
// for a template given as text, each with the line it is about, for the
// template editor. 200 with an empty list when the template is valid;
// the findings never fail the request (they are its answer).
func (s *Server) validateTemplate(c *gin.Context) {
	var req struct {
		YAML *string `json:"yaml"`
	}
	if err := c.ShouldBindJSON(&req); err != nil || req.YAML == nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(c, errs.Invalid("the request body is larger than %d bytes", tooBig.Limit))
			return
		}
		writeError(c, errs.Invalid("body must be {\"yaml\": \"<template text>\"}"))
		return
	}
	data := []byte(*req.YAML)
	problems := []templateProblem{}
	t, err := templates.Parse("template", data)
	// The text is decoded into nodes once, for every problem's line (a
	// template with thousands of problems must not cost thousands of parses).
	var tree *yaml.Node
	var doc yaml.Node
	if yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc) == nil {
		tree = &doc
	}
	if err != nil {
		p := templateProblem{Severity: string(templates.SeverityError), Message: err.Error()}
		var pe *templates.ParseError
		if errors.As(err, &pe) {
			p.Path, p.Message = pe.Path, pe.Msg
		}
		p.Line, p.Column = locateProblem(tree, p.Path, p.Message)
		problems = append(problems, p)
	} else {
		for _, vp := range templates.ValidateWith(t, s.deps.Scaffolder.Actions, templates.ValidateOptions{}) {
			p := templateProblem{Severity: string(vp.Severity), Path: vp.Path, Message: vp.Message}
			p.Line, p.Column = locateProblem(tree, vp.Path, vp.Message)
			problems = append(problems, p)
		}
	}
	c.JSON(http.StatusOK, gin.H{"valid": !hasError(problems), "errors": problems})
}

func hasError(ps []templateProblem) bool {
	for _, p := range ps {
		if p.Severity == string(templates.SeverityError) {
			return true
		}
	}
	return false
}

// yamlLine finds "line N" in a YAML decoder's message.
var yamlLine = regexp.MustCompile(`\bline (\d+)\b`)

// locateProblem is the line and column of the node path names in the
// template text data (the deepest node of the path that exists), or the
// line a YAML syntax message names. Paths are the parser's and
// validator's: spec.steps[2].action, steps[0] (id "x").input.url,
// parameters[1].properties; the validator's are relative to spec.
func locateProblem(doc *yaml.Node, path, message string) (line, column int) {
	if doc == nil || len(doc.Content) == 0 {
		if m := yamlLine.FindStringSubmatch(message); m != nil {
			line, _ = strconv.Atoi(m[1])
			return line, 1
		}
		return 0, 0
	}
	root := doc.Content[0]
	if path == "" {
		return root.Line, root.Column
	}
	steps := pathSteps(path)
	n, depth := walkYAML(root, steps)
	if depth == 0 { // the validator's paths start below spec
		if n2, d2 := walkYAML(root, append([]string{"spec"}, steps...)); d2 > 1 {
			n = n2
		}
	}
	return n.Line, n.Column
}

// pathNotes are a path's parenthesised notes: steps[2] (id "publish").
var pathNotes = regexp.MustCompile(`\s*\([^)]*\)`)

// pathSteps splits a problem path into keys and indexes: a.b[2]["c.d"].e →
// a, b, 2, c.d, e (indexes as decimal strings).
func pathSteps(path string) []string {
	parts := templates.PropertyPath(pathNotes.ReplaceAllString(path, ""))
	out := make([]string, len(parts))
	for i, p := range parts {
		if n, ok := p.(float64); ok {
			out[i] = strconv.Itoa(int(n))
		} else {
			out[i] = fmt.Sprint(p)
		}
	}
	return out
}

// walkYAML follows steps from n as far as they lead; it returns the last
// node reached (a mapping entry's key node, so the line is the key's) and
// how many steps were taken.
func walkYAML(n *yaml.Node, steps []string) (*yaml.Node, int) {
	at, val := n, n
	for i, st := range steps {
		for val.Kind == yaml.AliasNode && val.Alias != nil {
			val = val.Alias
		}
		var next, key *yaml.Node
		switch val.Kind {
		case yaml.MappingNode:
			for j := 0; j+1 < len(val.Content); j += 2 {
				if val.Content[j].Value == st {
					key, next = val.Content[j], val.Content[j+1]
					break
				}
			}
		case yaml.SequenceNode:
			if k, err := strconv.Atoi(st); err == nil && k >= 0 && k < len(val.Content) {
				key, next = val.Content[k], val.Content[k]
			}
		}
		if next == nil {
			return at, i
		}
		at, val = key, next
	}
	return at, len(steps)
}
