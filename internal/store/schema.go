package store

// Schema returns the migrations shared by SQLite and PostgreSQL: portable
// types only (TEXT timestamps in RFC 3339, INTEGER booleans), so one SQL core
// serves both. Each string is one migration; append, never edit.
func Schema() []string {
	return []string{`
CREATE TABLE locations (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  target TEXT NOT NULL,
  static INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  last_error TEXT,
  last_refresh TEXT,
  UNIQUE (type, target)
);
CREATE TABLE entities (
  uid TEXT PRIMARY KEY,
  ref TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  location_id TEXT,
  body TEXT NOT NULL,
  hash TEXT NOT NULL,
  orphan INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX entities_location ON entities (location_id);
CREATE INDEX entities_kind ON entities (kind, ref);
CREATE INDEX entities_name ON entities (name);
CREATE TABLE search (
  entity_uid TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT,
  original TEXT
);
CREATE INDEX search_key_value ON search (key, value, entity_uid);
CREATE INDEX search_entity ON search (entity_uid, key);
CREATE TABLE relations (
  origin_uid TEXT NOT NULL,
  source_ref TEXT NOT NULL,
  type TEXT NOT NULL,
  type_lower TEXT NOT NULL,
  target_ref TEXT NOT NULL,
  target_lower TEXT NOT NULL
);
CREATE INDEX relations_source ON relations (source_ref, type_lower, target_lower);
CREATE INDEX relations_target ON relations (target_lower);
CREATE INDEX relations_origin ON relations (origin_uid);
`, `
CREATE INDEX relations_type_target ON relations (type_lower, target_lower, source_ref);
`, `
CREATE TABLE task_secrets (
  task_id TEXT PRIMARY KEY,
  sealed TEXT NOT NULL,
  expires_at TEXT NOT NULL
);
CREATE INDEX task_secrets_expires ON task_secrets (expires_at);
`, `
-- No query looks relations up by target alone (relations_type_target
-- serves every relations.<type> filter); keeping it cost every write.
DROP INDEX relations_target;
`}
}
