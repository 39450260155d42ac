package storetest

import (
	"database/sql"
	"fmt"
	"testing"
)

// keptBytes keeps the []byte a scan hands it, as the store's
// ownedBodyBytes does.
type keptBytes []byte

func (k *keptBytes) Scan(src any) error {
	b, ok := src.([]byte)
	if !ok {
		return fmt.Errorf("scanned %T, want []byte", src)
	}
	*k = b
	return nil
}

// BytesOwned pins what a dialect's BytesOwned says of its driver, on db (a
// database the test owns): text read as bytes through asBytes (the
// dialect's BodyAsBytes) is handed to each scan in a slice of its own,
// unchanged by the rows read after it, by closing them, and by the rows a
// prepared statement reads one by one (as the store reads an entity by
// ref). param is the dialect's placeholder as a format of its number
// ("?%d", "$%d"). A driver release that
// reused the memory fails here, not as bodies that change under a
// response.
func BytesOwned(t *testing.T, db *sql.DB, asBytes, param string) {
	t.Helper()
	if _, err := db.Exec(`CREATE TABLE kept_bytes (id INTEGER PRIMARY KEY, b TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	want := make([]string, 50)
	insert := fmt.Sprintf(`INSERT INTO kept_bytes (id, b) VALUES (`+param+`, `+param+`)`, 1, 2)
	for i := range want {
		// Lengths rise then fall: a reused buffer shows in either.
		want[i] = fmt.Sprintf(`{"n":%d,"pad":"%0*d"}`, i, 100+(i%25)*37, i)
		if _, err := db.Exec(insert, i, want[i]); err != nil {
			t.Fatal(err)
		}
	}
	check := func(how string, got []keptBytes) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d rows, want %d", how, len(got), len(want))
		}
		for i := range want {
			if string(got[i]) != want[i] {
				t.Errorf("%s: row %d after the rows after it: %q, want %q", how, i, got[i], want[i])
			}
		}
	}
	col := fmt.Sprintf(asBytes, "b")
	rows, err := db.Query(`SELECT ` + col + ` FROM kept_bytes ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []keptBytes
	for rows.Next() {
		var k keptBytes
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		got = append(got, k)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	check("one query", got)

	st, err := db.Prepare(`SELECT ` + col + ` FROM kept_bytes WHERE id = ` + fmt.Sprintf(param, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got = make([]keptBytes, len(want))
	for i := len(want) - 1; i >= 0; i-- {
		if err := st.QueryRow(i).Scan(&got[i]); err != nil {
			t.Fatal(err)
		}
	}
	check("a prepared statement, row by row", got)
}
