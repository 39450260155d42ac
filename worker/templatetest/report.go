package templatetest

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/riggerdev/rigger/templates"
)

// Report is the outcome of a whole test run: the cases' results and the
// test files that could not be read.
type Report struct {
	Results []Result
	// LoadErrors are test files that could not be read, by path.
	LoadErrors map[string]error
	Duration   time.Duration
}

// Failed counts failed cases and unreadable files.
func (r *Report) Failed() int {
	n := len(r.LoadErrors)
	for _, res := range r.Results {
		if !res.Passed() {
			n++
		}
	}
	return n
}

// redactor hides every case's fake secret values in what a report writes,
// as a task's log hides a run's secrets: the values, the lines of one of
// several lines, and their JSON, URL, base64 and YAML-quoted forms.
func (r *Report) redactor() *templates.Taint {
	secrets := map[string]string{}
	for _, res := range r.Results {
		for _, s := range res.secrets {
			if s != "" {
				secrets[s] = s
			}
		}
	}
	return templates.NewTaint(secrets, nil)
}

// WriteText writes the readable report: one line per case, and under a
// failed case each failed expectation and the run's log.
func (r *Report) WriteText(w io.Writer) error {
	red := r.redactor()
	var b strings.Builder
	for _, path := range sortedKeys(r.LoadErrors) {
		fmt.Fprintf(&b, "FAIL  %v\n", r.LoadErrors[path]) // the error names the file
	}
	last := ""
	for _, res := range r.Results {
		if res.File != last {
			fmt.Fprintf(&b, "%s (template %s)\n", res.File, res.Template)
			last = res.File
		}
		status := "ok  "
		if !res.Passed() {
			status = "FAIL"
		}
		fmt.Fprintf(&b, "  %s  %s (%.2fs)", status, res.Case, res.Duration.Seconds())
		if len(res.Faked) > 0 {
			fmt.Fprintf(&b, "  faked: %s", strings.Join(res.Faked, ", "))
		}
		b.WriteString("\n")
		for _, n := range res.Notes {
			fmt.Fprintf(&b, "        %s\n", n)
		}
		for _, f := range res.Failures {
			fmt.Fprintf(&b, "        - %s\n", indent(f, "          "))
		}
		if !res.Passed() && len(res.Log) > 0 {
			b.WriteString("        the run's log:\n")
			for _, l := range res.Log {
				fmt.Fprintf(&b, "          %s\n", l)
			}
		}
	}
	fmt.Fprintf(&b, "%d cases, %d failed", len(r.Results), r.Failed()-len(r.LoadErrors))
	if len(r.LoadErrors) > 0 {
		fmt.Fprintf(&b, ", %d test files unreadable", len(r.LoadErrors))
	}
	fmt.Fprintf(&b, " (%.2fs)\n", r.Duration.Seconds())
	_, err := io.WriteString(w, red.Redact(b.String()))
	return err
}

func indent(s, prefix string) string {
	return strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// JUnit XML, as CI systems read it: one testsuite per test file, one
// testcase per case.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	File     string      `xml:"file,attr,omitempty"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Error     *junitFailure `xml:"error,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// WriteJUnit writes the report as JUnit XML.
func (r *Report) WriteJUnit(w io.Writer) error {
	red := r.redactor()
	out := junitSuites{Name: "rigger template test", Time: seconds(r.Duration)}
	for _, path := range sortedKeys(r.LoadErrors) {
		msg := red.Redact(r.LoadErrors[path].Error())
		out.Suites = append(out.Suites, junitSuite{Name: path, File: path, Tests: 1, Errors: 1, Time: "0.000", Cases: []junitCase{{
			Name: "read the test file", Classname: path, File: path, Time: "0.000",
			Error: &junitFailure{Message: firstLine(msg), Type: "TestFileError", Text: msg},
		}}})
		out.Tests++
		out.Errors++
	}
	index := map[string]int{}
	suiteTime := map[int]time.Duration{}
	for _, res := range r.Results {
		i, ok := index[res.File]
		if !ok {
			i = len(out.Suites)
			index[res.File] = i
			out.Suites = append(out.Suites, junitSuite{Name: red.Redact(res.Template), File: res.File})
		}
		s := &out.Suites[i]
		jc := junitCase{Name: red.Redact(res.Case), Classname: red.Redact(res.Template), File: res.File, Line: res.Line, Time: seconds(res.Duration)}
		var sysout []string
		if len(res.Faked) > 0 {
			sysout = append(sysout, "faked: "+strings.Join(res.Faked, ", "))
		}
		sysout = append(sysout, res.Notes...)
		if !res.Passed() {
			text := strings.Join(res.Failures, "\n")
			if len(res.Log) > 0 {
				text += "\n\nthe run's log:\n" + strings.Join(res.Log, "\n")
			}
			text = red.Redact(text)
			jc.Failure = &junitFailure{Message: firstLine(red.Redact(res.Failures[0])), Type: "ExpectationFailed", Text: text}
			s.Failures++
			out.Failures++
		}
		jc.SystemOut = red.Redact(strings.Join(sysout, "\n"))
		s.Cases = append(s.Cases, jc)
		s.Tests++
		out.Tests++
		suiteTime[i] += res.Duration
		s.Time = seconds(suiteTime[i])
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
