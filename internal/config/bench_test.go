package config

import (
	"fmt"
	"strings"
	"testing"
)

// hostileInputs are files near the size cap built to make Parse work hard.
func hostileInputs() map[string]string {
	var keys strings.Builder
	for i := 0; keys.Len() < MaxFileBytes-100; i++ {
		fmt.Fprintf(&keys, "k%d: 1\n", i)
	}
	return map[string]string{
		"unknown keys":   keys.String(),
		"one huge key":   strings.Repeat("x", MaxFileBytes-10) + ": 1\n",
		"missing refs":   "server:\n  dataDir: " + strings.Repeat("${B}", (MaxFileBytes-30)/4) + "\n",
		"deep flow":      "a: " + strings.Repeat("[", 100000) + "\n",
		"long list":      "temporal:\n  taskQueues:\n" + strings.Repeat("    - q\n", (MaxFileBytes-40)/8),
		"many aliases":   "a: &a x\nb: [" + strings.Repeat("*a, ", (MaxFileBytes-30)/4) + "]\n",
		"service tokens": "auth:\n  serviceTokens:\n" + strings.Repeat("    - {name: a, token: b}\n", (MaxFileBytes-40)/26),
		"allowed hosts":  "scaffolder:\n  allowedHosts:\n" + strings.Repeat("    - 'https://x/y'\n", (MaxFileBytes-40)/20),
	}
}

// BenchmarkParseHostile: each input should parse (and validate) in well
// under a second; the error never holds more than maxProblems lines.
func BenchmarkParseHostile(b *testing.B) {
	for name, in := range hostileInputs() {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				cfg, err := Parse("hostile.yaml", []byte(in), nil)
				if err == nil {
					_ = cfg.Validate()
				} else if n := len(Problems(err)); n > maxProblems {
					b.Fatalf("%d problems", n)
				}
			}
		})
	}
}

func BenchmarkParseFull(b *testing.B) {
	lookup := fullEnv()
	for b.Loop() {
		cfg, err := Load("testdata/full.yaml", lookup)
		if err != nil {
			b.Fatal(err)
		}
		if err := cfg.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}
