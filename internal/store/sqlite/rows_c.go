//go:build cgo && sqlite_fts5

package sqlite

/*
#include <stdint.h>
#include <stdlib.h>

// The few functions of SQLite's API this file calls, declared here rather
// than through sqlite3.h (which lives in github.com/mattn/go-sqlite3's
// module): they are that package's C symbols, linked into the same binary.
typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;
extern int sqlite3_prepare_v2(sqlite3*, const char*, int, sqlite3_stmt**, const char**);
extern int sqlite3_bind_null(sqlite3_stmt*, int);
extern int sqlite3_bind_int64(sqlite3_stmt*, int, long long);
extern int sqlite3_bind_double(sqlite3_stmt*, int, double);
extern int sqlite3_bind_text(sqlite3_stmt*, int, const char*, int, void(*)(void*));
extern int sqlite3_bind_blob(sqlite3_stmt*, int, const void*, int, void(*)(void*));
extern int sqlite3_step(sqlite3_stmt*);
extern int sqlite3_reset(sqlite3_stmt*);
extern int sqlite3_finalize(sqlite3_stmt*);
extern int sqlite3_extended_errcode(sqlite3*);
extern const char *sqlite3_errmsg(sqlite3*);

enum { kindNull, kindInt, kindFloat, kindText, kindBlob };

// rigger_insert_rows prepares sql (an INSERT of ncols parameters) on db
// and runs it for each of nrows rows, binding row r's column c from
// index i = r*ncols+c: kinds[i] says what it is, nums[i] holds an integer
// (or a double's bits), or for text and blobs the value's offset in data,
// and lens[i] its length. Text and blobs are bound without a copy
// (SQLITE_STATIC): data outlives the statement, finalized before this
// returns. It returns SQLite's result code (SQLITE_OK is 0) and, at a
// failure, the row it failed on in *failed; the error message is then the
// connection's (sqlite3_errmsg), as the statement is finalized.
static int rigger_insert_rows(sqlite3 *db, const char *sql, int sqllen, int ncols, int nrows,
		const unsigned char *kinds, const int64_t *nums, const int *lens, const char *data, int *failed) {
	sqlite3_stmt *st = 0;
	int rc = sqlite3_prepare_v2(db, sql, sqllen, &st, 0);
	*failed = -1;
	if (rc != 0) {
		return sqlite3_extended_errcode(db);
	}
	for (int r = 0; r < nrows; r++) {
		for (int c = 0; c < ncols; c++) {
			int i = r*ncols + c;
			switch (kinds[i]) {
			case kindNull: rc = sqlite3_bind_null(st, c+1); break;
			case kindInt: rc = sqlite3_bind_int64(st, c+1, nums[i]); break;
			case kindFloat: { double d; __builtin_memcpy(&d, &nums[i], sizeof d); rc = sqlite3_bind_double(st, c+1, d); break; }
			case kindText: rc = sqlite3_bind_text(st, c+1, data + nums[i], lens[i], (void(*)(void*))0); break;
			default: rc = sqlite3_bind_blob(st, c+1, data + nums[i], lens[i], (void(*)(void*))0); break;
			}
			if (rc != 0) {
				*failed = r;
				sqlite3_finalize(st);
				return rc;
			}
		}
		rc = sqlite3_step(st);
		if (rc != 101) { // SQLITE_DONE
			*failed = r;
			sqlite3_reset(st);
			int ext = sqlite3_extended_errcode(db);
			sqlite3_finalize(st);
			return ext ? ext : rc; // a misuse the connection did not record
		}
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return 0;
}
*/
import "C"

import (
	"context"
	"database/sql/driver"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unsafe"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// insertRows is the C library's store.Dialect.CopyRows: the rows go
// through one prepared single-row INSERT OR FAIL that C code binds, steps
// and resets row after row, in one call from Go for the whole batch. The
// driver's own statements cost a call into C for each parameter (and a
// step for each row or few): 1.1-1.2 µs a search row against 0.6-0.7
// this way, on a 10k-entity first load's 220k search rows.
//
// It runs on the driver connection dc, in the transaction open there,
// and reaches the connection's sqlite3 handle, which the driver keeps
// unexported (handle); TestInsertRowsReachesTheHandle fails if a new
// version of the driver moves it.
func insertRows(ctx context.Context, dc any, table string, columns []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if len(columns) == 0 {
		return fmt.Errorf("rows for %s name no column", table)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(rows) > math.MaxInt32/len(columns) {
		return fmt.Errorf("%d rows of %d values in one batch: more than C's int counts", len(rows), len(columns))
	}
	db, err := handle(dc)
	if err != nil {
		return err
	}
	p := packs.Get().(*packedRows)
	defer p.release()
	p.grow(len(rows) * len(columns))
	for _, row := range rows {
		if len(row) != len(columns) {
			return fmt.Errorf("a row of %d values for %d columns", len(row), len(columns))
		}
		for i, v := range row {
			if err := p.add(v); err != nil {
				return fmt.Errorf("column %s: %w", columns[i], err)
			}
		}
	}
	q := "INSERT OR FAIL INTO " + table + " (" + strings.Join(columns, ", ") + ") VALUES (" +
		strings.Repeat("?, ", len(columns)-1) + "?)"
	cq := C.CString(q)
	defer C.free(unsafe.Pointer(cq))
	if len(p.data) == 0 {
		p.data = append(p.data, 0) // a pointer to pass, never read
	}
	var failed C.int
	rc := C.rigger_insert_rows(db, cq, C.int(len(q)), C.int(len(columns)), C.int(len(rows)),
		(*C.uchar)(unsafe.Pointer(&p.kinds[0])), (*C.int64_t)(unsafe.Pointer(&p.nums[0])),
		(*C.int)(unsafe.Pointer(&p.lens[0])), (*C.char)(unsafe.Pointer(&p.data[0])), &failed)
	if rc == 0 {
		return nil
	}
	e := sqlite3.Error{Code: sqlite3.ErrNo(rc & 0xff), ExtendedCode: sqlite3.ErrNoExtended(rc)}
	msg := C.GoString(C.sqlite3_errmsg(db))
	if failed < 0 {
		return fmt.Errorf("prepare %q: %s: %w", q, msg, e)
	}
	return fmt.Errorf("row %d of %d: %s: %w", int(failed)+1, len(rows), msg, e)
}

// handle is the sqlite3 handle of the driver connection dc.
func handle(dc any) (*C.sqlite3, error) {
	c, ok := dc.(*sqlite3.SQLiteConn)
	if !ok || c == nil {
		return nil, fmt.Errorf("not a SQLite C connection: %T", dc)
	}
	f := reflect.ValueOf(c).Elem().FieldByName("db")
	if !f.IsValid() || f.Kind() != reflect.Pointer || f.IsNil() {
		return nil, fmt.Errorf("the SQLite driver's connection no longer holds its handle in the field db (github.com/mattn/go-sqlite3 changed): rows cannot be written")
	}
	return (*C.sqlite3)(f.UnsafePointer()), nil
}

// packedRows holds a batch's values in four flat arrays C reads with no
// Go pointer in them: each value's kind, its integer (or a float's bits,
// or the offset of its bytes in data) and its length.
type packedRows struct {
	kinds []byte
	nums  []int64
	lens  []C.int
	data  []byte
}

// packs keeps packedRows between batches, so their arrays grow once.
var packs = sync.Pool{New: func() any { return new(packedRows) }}

// maxKeptBytes bounds the data a packedRows keeps for the next batch.
const maxKeptBytes = 16 << 20

// grow makes room for n more values.
func (p *packedRows) grow(n int) {
	p.kinds = slices.Grow(p.kinds, n)
	p.nums = slices.Grow(p.nums, n)
	p.lens = slices.Grow(p.lens, n)
}

// release empties p and hands it back to packs.
func (p *packedRows) release() {
	if cap(p.data) > maxKeptBytes {
		p.data = nil
	}
	p.kinds, p.nums, p.lens, p.data = p.kinds[:0], p.nums[:0], p.lens[:0], p.data[:0]
	packs.Put(p)
}

// put appends one value of kind (the C code's enum), its integer and its
// length.
func (p *packedRows) put(kind byte, num int64, n int) {
	p.kinds = append(p.kinds, kind)
	p.nums = append(p.nums, num)
	p.lens = append(p.lens, C.int(n))
}

// add appends one value, as the driver would bind it.
func (p *packedRows) add(v any) error {
	if !driver.IsValue(v) {
		// What database/sql converts by default (an int, a Valuer).
		c, err := driver.DefaultParameterConverter.ConvertValue(v)
		if err != nil {
			return err
		}
		v = c
	}
	switch x := v.(type) {
	case nil:
		p.put(C.kindNull, 0, 0)
	case int64:
		p.put(C.kindInt, x, 0)
	case bool:
		n := int64(0)
		if x {
			n = 1
		}
		p.put(C.kindInt, n, 0)
	case float64:
		p.put(C.kindFloat, int64(math.Float64bits(x)), 0)
	case string:
		if len(x) > math.MaxInt32 {
			return fmt.Errorf("a value of %d bytes", len(x))
		}
		p.put(C.kindText, int64(len(p.data)), len(x))
		p.data = append(p.data, x...)
	case []byte:
		if x == nil {
			p.put(C.kindNull, 0, 0)
			break
		}
		if len(x) > math.MaxInt32 {
			return fmt.Errorf("a value of %d bytes", len(x))
		}
		p.put(C.kindBlob, int64(len(p.data)), len(x))
		p.data = append(p.data, x...)
	default:
		// time.Time: the store binds times as text it formats.
		return fmt.Errorf("a value of type %T the store does not write", v)
	}
	return nil
}
