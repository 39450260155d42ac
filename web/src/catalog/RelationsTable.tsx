// The entity's relations as a plain table: the graph's accessible twin.
import { useState } from 'react';
import type { Entity } from '../api';
import { Empty } from '../ui';
import { EntityLink } from './refs';

/** Rows shown before "Show all": a team may own thousands of entities. */
export const FIRST_ROWS = 100;

export function RelationsTable({ entity }: { entity: Entity }) {
  const [all, setAll] = useState(false);
  const sorted = [...(entity.relations ?? [])].sort((a, b) => a.type.localeCompare(b.type) || a.targetRef.localeCompare(b.targetRef));
  if (sorted.length === 0) return <Empty>This entity has no relations.</Empty>;
  const rels = all ? sorted : sorted.slice(0, FIRST_ROWS);
  return (
    <div className="table-wrap">
      <table className="relations-table">
        <caption className="sr-only">Relations of {entity.metadata.name}</caption>
        <thead>
          <tr><th scope="col">Relation</th><th scope="col">Entity</th><th scope="col">Kind</th></tr>
        </thead>
        <tbody>
          {rels.map((r) => (
            <tr key={`${r.type} ${r.targetRef}`}>
              <td>{r.type}</td>
              <td><EntityLink entityRef={r.targetRef} hideKind={r.targetRef.split(':')[0]} /></td>
              <td>{r.targetRef.split(':')[0]}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rels.length < sorted.length ? (
        <p><button type="button" onClick={() => setAll(true)}>Show all {sorted.length} relations</button></p>
      ) : null}
    </div>
  );
}
