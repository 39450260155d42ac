package store

import (
	"context"
	"database/sql"
)

// TEMPORARY until the search branch merges.
type DocsSearchDoc struct{ Location, Title, Text string }

func (s *SQL) indexDocsTx(ctx context.Context, tx *sql.Tx, entityRef string, docs []DocsSearchDoc) error {
	return nil
}
