package api

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/riggerdev/rigger/activities/contract"
)

// Dry-run slots: how many dry-run bodies this server reads at once (the
// dry-run runner has as many slots), and of them how many large ones. A
// request beyond them is answered 503 before its body is read: a body is up
// to 48 MiB.
const (
	maxConcurrentDryRuns = 2
	maxLargeDryRuns      = 1
	largeDryRunBody      = 4 << 20 // or of unknown length
)

// Bounds of the parts of a dry-run body other than directoryContents
// (template, values, secrets, any other key), checked while they are read:
// their size, nesting and number of values.
const (
	maxDryRunPart   = 1 << 20
	maxDryRunDepth  = 64
	maxDryRunValues = 100_000
	maxSmallValue   = 64 << 10 // keys, paths
)

// dryRunBody is a decoded POST /v2/dry-run body.
type dryRunBody struct {
	Template json.RawMessage
	Values   map[string]any
	Secrets  map[string]string
	Files    []contract.DryRunFile
}

// decodeDryRunBody reads a dry-run body as a stream. Each base64Content
// is decoded as it is read, straight into its bytes: neither the body nor
// the base64 text is ever held whole, so a request costs about its decoded
// files (encoding/json would buffer the whole body, growing, then a copy of
// each string).
func decodeDryRunBody(r io.Reader) (*dryRunBody, error) {
	br := &bodyReader{r: bufio.NewReaderSize(r, 64<<10)}
	var b dryRunBody
	err := br.object(func(key string) error {
		switch key {
		case "directoryContents":
			return br.files(&b)
		case "template":
			raw, err := br.raw(maxDryRunPart)
			b.Template = raw
			return err
		case "values":
			return br.decode(&b.Values)
		case "secrets":
			return br.decode(&b.Secrets)
		}
		_, err := br.raw(maxDryRunPart)
		return err
	})
	if err != nil {
		return nil, err
	}
	if br.skipSpace(); br.err == nil {
		if _, err := br.r.ReadByte(); err != io.EOF {
			return nil, errors.New("unexpected data after the body's object")
		}
	}
	return &b, nil
}

// bodyReader is a minimal streaming JSON reader for the dry-run body.
type bodyReader struct {
	r   *bufio.Reader
	err error
}

func (br *bodyReader) skipSpace() byte {
	for {
		c, err := br.r.ReadByte()
		if err != nil {
			br.err = err
			return 0
		}
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			_ = br.r.UnreadByte()
			return c
		}
	}
}

func (br *bodyReader) expect(want byte) error {
	if c := br.skipSpace(); c != want {
		if br.err != nil {
			return br.err
		}
		return fmt.Errorf("expected %q, found %q", want, c)
	}
	_, _ = br.r.ReadByte()
	return nil
}

// object reads {"key": value, ...}, calling member for each value.
func (br *bodyReader) object(member func(key string) error) error {
	if err := br.expect('{'); err != nil {
		return err
	}
	if br.skipSpace() == '}' {
		_, _ = br.r.ReadByte()
		return nil
	}
	for {
		var key string
		if err := br.decodeSmall(&key); err != nil {
			return fmt.Errorf("a key: %w", err)
		}
		if err := br.expect(':'); err != nil {
			return err
		}
		if err := member(key); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		switch c := br.skipSpace(); c {
		case ',':
			_, _ = br.r.ReadByte()
		case '}':
			_, _ = br.r.ReadByte()
			return nil
		default:
			if br.err != nil {
				return br.err
			}
			return fmt.Errorf("expected , or } after %s, found %q", key, c)
		}
	}
}

// files reads directoryContents: [{path, base64Content, executable}].
func (br *bodyReader) files(b *dryRunBody) error {
	if err := br.expect('['); err != nil {
		return err
	}
	if br.skipSpace() == ']' {
		_, _ = br.r.ReadByte()
		return nil
	}
	for i := 0; ; i++ {
		var f contract.DryRunFile
		err := br.object(func(key string) error {
			switch key {
			case "path":
				return br.decodeSmall(&f.Path)
			case "executable":
				return br.decodeSmall(&f.Executable)
			case "base64Content":
				data, err := br.base64String()
				f.Data = data
				return err
			}
			_, err := br.raw(maxSmallValue)
			return err
		})
		if err != nil {
			return fmt.Errorf("[%d]: %w", i, err)
		}
		if f.Data == nil {
			f.Data = []byte{}
		}
		b.Files = append(b.Files, f)
		switch c := br.skipSpace(); c {
		case ',':
			_, _ = br.r.ReadByte()
		case ']':
			_, _ = br.r.ReadByte()
			return nil
		default:
			if br.err != nil {
				return br.err
			}
			return fmt.Errorf("expected , or ] after entry %d, found %q", i, c)
		}
	}
}

// base64String decodes a JSON string of standard base64 as it reads it,
// 64 KiB of text at a time, into 1 MiB pieces joined at the end.
func (br *bodyReader) base64String() ([]byte, error) {
	if err := br.expect('"'); err != nil {
		return nil, errors.New("must be a string of base64")
	}
	const textChunk = 64 << 10 // a multiple of 4
	text := make([]byte, 0, textChunk)
	var pieces [][]byte
	cur := make([]byte, 0, 1<<20)
	flush := func(final bool) error {
		n := len(text)
		if !final {
			n -= n % 4
		}
		out := make([]byte, base64.StdEncoding.DecodedLen(n))
		m, err := base64.StdEncoding.Decode(out, text[:n])
		if err != nil {
			return errors.New("is not base64")
		}
		for out = out[:m]; len(out) > 0; {
			if len(cur) == cap(cur) {
				pieces = append(pieces, cur)
				cur = make([]byte, 0, 1<<20)
			}
			k := copy(cur[len(cur):cap(cur)], out)
			cur, out = cur[:len(cur)+k], out[k:]
		}
		text = append(text[:0], text[n:]...)
		return nil
	}
	for {
		c, err := br.r.ReadByte()
		if err != nil {
			return nil, err
		}
		switch c {
		case '"':
			if err := flush(true); err != nil {
				return nil, err
			}
			total := len(cur)
			for _, p := range pieces {
				total += len(p)
			}
			data := make([]byte, 0, total)
			for _, p := range pieces {
				data = append(data, p...)
			}
			return append(data, cur...), nil
		case '\\':
			if c, err = br.r.ReadByte(); err != nil || c != '/' {
				return nil, errors.New("is not base64")
			}
		}
		text = append(text, c)
		if len(text) == cap(text) {
			if err := flush(false); err != nil {
				return nil, err
			}
		}
	}
}

// decode reads one value of at most maxDryRunPart bytes into v.
func (br *bodyReader) decode(v any) error {
	raw, err := br.raw(maxDryRunPart)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// decodeSmall is decode for values that must be short (keys, paths).
func (br *bodyReader) decodeSmall(v any) error {
	raw, err := br.raw(maxSmallValue)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// raw reads one JSON value's text (checked by whoever unmarshals it) of
// at most max bytes, maxDryRunDepth levels and maxDryRunValues values; it
// stops reading as soon as the value is over a bound.
func (br *bodyReader) raw(max int) (json.RawMessage, error) {
	if br.skipSpace(); br.err != nil {
		return nil, br.err
	}
	var buf bytes.Buffer
	depth, inString, escaped, values := 0, false, false, 1
	for {
		c, err := br.r.ReadByte()
		if err != nil {
			return nil, err
		}
		if buf.Len() >= max {
			return nil, fmt.Errorf("is larger than the limit of %d bytes", max)
		}
		if !inString && depth == 0 && buf.Len() > 0 && (c == ',' || c == '}' || c == ']' || c == ' ' || c == '\n' || c == '\r' || c == '\t') {
			_ = br.r.UnreadByte()
			break
		}
		buf.WriteByte(c)
		switch {
		case inString && escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			if depth++; depth > maxDryRunDepth {
				return nil, fmt.Errorf("nests deeper than the limit of %d", maxDryRunDepth)
			}
		case c == ',':
			if values++; values > maxDryRunValues {
				return nil, fmt.Errorf("holds more than the limit of %d values", maxDryRunValues)
			}
		case c == '}' || c == ']':
			depth--
		}
		if depth == 0 && !inString && buf.Len() > 0 && !isScalarByte(buf.Bytes()[0]) {
			break
		}
	}
	if !json.Valid(buf.Bytes()) {
		return nil, errors.New("is not valid JSON")
	}
	return buf.Bytes(), nil
}

// isScalarByte says whether a value starting with c is a bare scalar
// (number, true, false, null), which ends at the next delimiter.
func isScalarByte(c byte) bool { return c != '{' && c != '[' && c != '"' }
