package config

import (
	"fmt"
	"strings"
)

// substitute resolves environment references in one scalar:
//
//	${VAR}           the value of VAR (surrounding white space trimmed, as
//	                 Backstage does); an error if VAR is not set
//	${VAR:-default}  the value of VAR, or default if VAR is unset or empty
//	$${              a literal ${
//
// Any other $ is literal. Values are not scanned again, so a value holding
// ${X} stays as it is. It returns the result, whether s held any reference or
// escape, and one message per problem.
func substitute(s string, lookup func(string) (string, bool)) (string, bool, []string) {
	if !strings.Contains(s, "${") {
		return s, false, nil
	}
	var b strings.Builder
	var problems []string
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				problems = append(problems, "unterminated ${ (write $${ for a literal ${)")
				b.WriteString(s[i:])
				i = len(s)
				continue
			}
			ref := s[i+2 : i+2+end]
			i += 2 + end + 1
			name, def, hasDef := strings.Cut(ref, ":-")
			if !validEnvName(name) {
				problems = append(problems, fmt.Sprintf("%s is not a valid environment variable reference (write $${ for a literal ${)", quote("${"+ref+"}")))
				continue
			}
			v, ok := lookup(name)
			v = strings.TrimSpace(v)
			switch {
			case hasDef && v == "":
				v = def
			case !ok:
				problems = append(problems, fmt.Sprintf("environment variable %q is not set", name))
				continue
			}
			b.WriteString(v)
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), true, problems
}

// validEnvName reports whether name is a portable environment variable name.
func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i, c := range name {
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
