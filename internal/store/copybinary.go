package store

import (
	"encoding/binary"
	"fmt"
	"math"
)

// PostgreSQL's binary COPY format (Dialect.CopyData): a header, then per
// row a 16-bit field count and each field as a 32-bit length (-1: NULL)
// and its bytes, then a 16-bit -1. The store encodes each row as it is
// added (appendCopyRow), so a batch is one byte slice, not the boxed
// values of its rows held until it is sent: those, and the driver's
// per-value encoding of them (a plan lookup and a conversion each), were
// a sixth of a worker's CPU time in a 100k-entity first load.
//
// CopyHeader (the signature, then no flags and no header extension) and
// CopyTrailer frame the rows CopyData is given.
const (
	CopyHeader  = "PGCOPY\n\xff\r\n\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00"
	CopyTrailer = "\xff\xff"
)

// appendCopyRow appends one row of vals in the binary COPY format. The
// catalog tables' columns are bigint, text and tsvector, so a value is one
// of: int64 (bigint), string or []byte (text: its UTF-8 bytes as they
// are), nil (NULL) or searchFields (tsvector). Anything else is an error,
// not a guess at the column's type.
func appendCopyRow(buf []byte, vals []any) ([]byte, error) {
	if len(vals) > math.MaxInt16 {
		return buf, fmt.Errorf("%d columns in a row", len(vals))
	}
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(vals)))
	var err error
	for _, v := range vals {
		switch t := v.(type) {
		case nil:
			buf = binary.BigEndian.AppendUint32(buf, math.MaxUint32) // -1
		case int64:
			buf = appendCopyInt8(buf, t)
		case string:
			buf, err = appendCopyText(buf, t)
		case []byte:
			buf, err = appendCopyText(buf, t)
		case searchFields:
			at := len(buf)
			buf = append(buf, 0, 0, 0, 0)
			buf = t.AppendTSVectorBinary(buf)
			n := len(buf) - at - 4
			if n > math.MaxInt32 {
				return buf, fmt.Errorf("a search vector of %d bytes", n)
			}
			binary.BigEndian.PutUint32(buf[at:], uint32(n))
		default:
			return buf, fmt.Errorf("no binary COPY form for a value of type %T", v)
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// appendCopyIDTexts appends a row of id then texts, the last one NULL if
// lastNull: appendCopyRow without the values boxed (search and relation
// rows, millions in a large load).
func appendCopyIDTexts(buf []byte, id int64, lastNull bool, texts []string) ([]byte, error) {
	buf = binary.BigEndian.AppendUint16(buf, uint16(1+len(texts)))
	buf = appendCopyInt8(buf, id)
	var err error
	for i, t := range texts {
		if lastNull && i == len(texts)-1 {
			buf = binary.BigEndian.AppendUint32(buf, math.MaxUint32)
			break
		}
		if buf, err = appendCopyText(buf, t); err != nil {
			return buf, err
		}
	}
	return buf, nil
}

func appendCopyInt8(buf []byte, v int64) []byte {
	buf = binary.BigEndian.AppendUint32(buf, 8)
	return binary.BigEndian.AppendUint64(buf, uint64(v))
}

func appendCopyText[T string | []byte](buf []byte, t T) ([]byte, error) {
	if len(t) > math.MaxInt32 {
		return buf, fmt.Errorf("a value of %d bytes", len(t))
	}
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(t)))
	return append(buf, t...), nil
}
