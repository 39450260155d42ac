// The catalog table's columns for each kind.
import type { ReactNode } from 'react';
import { entityPath, entityRef, type Entity } from '../api';
import { Link } from 'react-router-dom';
import { EntityLink, specRef } from './refs';

/** What some cells need beyond the entity: member counts of groups (from a facet). */
export interface CellContext { memberCounts?: Map<string, number> }
export interface Column { header: string; cell: (e: Entity, ctx: CellContext) => ReactNode; className?: string }


function NameCell({ e }: { e: Entity }) {
  const ref = entityRef(e);
  const ns = e.metadata.namespace && e.metadata.namespace !== 'default' ? `${e.metadata.namespace}/` : '';
  return (
    <Link to={entityPath(ref)} className="entity-name">
      {e.metadata.title || `${ns}${e.metadata.name}`}
      {e.metadata.title ? <span className="muted small"> {ns}{e.metadata.name}</span> : null}
    </Link>
  );
}

const ref = (kind: string, field: string, hide: string) => (e: Entity) => {
  const r = specRef(e.spec?.[field], kind, e);
  return r ? <EntityLink entityRef={r} hideKind={hide} /> : null;
};

const text = (get: (e: Entity) => unknown) => (e: Entity) => {
  const v = get(e);
  return typeof v === 'string' ? v : null;
};

const tags = (e: Entity) => (e.metadata.tags ?? []).map((t) => <span className="chip" key={t}>{t}</span>);

const name: Column = { header: 'Name', cell: (e) => <NameCell e={e} /> };
const owner: Column = { header: 'Owner', cell: ref('group', 'owner', 'group') };
const system: Column = { header: 'System', cell: ref('system', 'system', 'system') };
const type: Column = { header: 'Type', cell: text((e) => e.spec?.type) };
const lifecycle: Column = { header: 'Lifecycle', cell: text((e) => e.spec?.lifecycle) };
const description: Column = { header: 'Description', cell: text((e) => e.metadata.description), className: 'desc' };
const tagsCol: Column = { header: 'Tags', cell: tags, className: 'tags' };

export const COLUMNS: Record<string, Column[]> = {
  component: [name, system, owner, type, lifecycle, description, tagsCol],
  api: [name, system, owner, type, lifecycle, description],
  group: [
    name,
    type,
    { header: 'Parent', cell: ref('group', 'parent', 'group') },
    {
      header: 'Members',
      // Counted by the server (users per relations.memberOf facet): a group's
      // relations may run to thousands, too many to fetch for a count.
      cell: (e, ctx) => (ctx.memberCounts ? String(ctx.memberCounts.get(entityRef(e)) ?? 0) : '…'),
      className: 'num',
    },
  ],
  user: [
    name,
    { header: 'Display name', cell: text((e) => e.spec?.profile?.displayName) },
    { header: 'Email', cell: (e) => (typeof e.spec?.profile?.email === 'string' ? <a href={`mailto:${e.spec.profile.email}`}>{e.spec.profile.email}</a> : null) },
  ],
  template: [name, type, owner, description, tagsCol],
  system: [name, { header: 'Domain', cell: ref('domain', 'domain', 'domain') }, owner, description, tagsCol],
  domain: [name, owner, description, tagsCol],
  resource: [name, system, owner, type, description],
};

export function columnsFor(kind: string): Column[] {
  return COLUMNS[kind] ?? [name, type, owner, description, tagsCol];
}
