// The About card: what an entity is, who owns it, where its source is.
// Every URL from the entity goes through safeUrl: only http(s) becomes a link.
import type { ReactNode } from 'react';
import type { Entity } from '../api';
import { EntityLink, safeUrl, sourceUrl, specRef } from './refs';

function Row({ label, children }: { label: string; children: ReactNode }) {
  if (children === null || children === undefined || children === '' || (Array.isArray(children) && children.length === 0)) return null;
  return (
    <div className="about-row">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

const relTargets = (e: Entity, type: string) => (e.relations ?? []).filter((r) => r.type === type).map((r) => r.targetRef);

function refList(refs: string[], hideKind: string) {
  if (refs.length === 0) return null;
  return refs.map((r, i) => (
    <span key={r}>{i > 0 ? ', ' : ''}<EntityLink entityRef={r} hideKind={hideKind} /></span>
  ));
}

/** An entity URL as a link when it is http(s), else as plain text that says why. */
function UrlOrText({ raw, children, className }: { raw: string; children: ReactNode; className?: string }) {
  const url = safeUrl(raw);
  if (url) return <a className={className} href={url} target="_blank" rel="noreferrer noopener">{children}</a>;
  return <span className="unsafe-url" title="Not an http(s) URL: not shown as a link">{children} <code>{raw}</code></span>;
}

export function About({ entity: e }: { entity: Entity }) {
  const ann = e.metadata.annotations ?? {};
  const kind = e.kind.toLowerCase();
  const owners = relTargets(e, 'ownedBy');
  const owner = owners.length > 0 ? owners : [specRef(e.spec?.owner, 'group', e)].filter((x): x is string => !!x);
  const systems = relTargets(e, 'partOf').filter((r) => r.startsWith('system:'));
  const system = systems.length > 0 ? systems : [specRef(e.spec?.system, 'system', e)].filter((x): x is string => !!x);
  const domains = relTargets(e, 'partOf').filter((r) => r.startsWith('domain:'));
  const domain = domains.length > 0 ? domains : [specRef(e.spec?.domain, 'domain', e)].filter((x): x is string => !!x);
  const parentComponent = relTargets(e, 'partOf').filter((r) => r.startsWith('component:'));
  const source = ann['backstage.io/source-location'];
  const sourceLink = sourceUrl(source);
  const viewUrl = ann['backstage.io/view-url'];
  const editUrl = ann['backstage.io/edit-url'];
  const links = e.metadata.links ?? [];
  const profile = e.spec?.profile ?? {};

  return (
    <section className="card about" aria-labelledby="about-h">
      <h2 id="about-h">About</h2>
      <p className={e.metadata.description ? 'about-desc' : 'about-desc muted'}>{e.metadata.description || 'No description.'}</p>
      <dl className="about-grid">
        <Row label="Owner">{refList(owner, 'group')}</Row>
        <Row label="System">{refList(system, 'system')}</Row>
        <Row label="Domain">{refList(domain, 'domain')}</Row>
        <Row label="Part of">{refList(parentComponent, 'component')}</Row>
        <Row label="Type">{typeof e.spec?.type === 'string' ? e.spec.type : null}</Row>
        <Row label="Lifecycle">{typeof e.spec?.lifecycle === 'string' ? e.spec.lifecycle : null}</Row>
        {kind === 'user' || kind === 'group' ? (
          <>
            <Row label="Display name">{typeof profile.displayName === 'string' ? profile.displayName : null}</Row>
            <Row label="Email">{typeof profile.email === 'string' ? <a href={`mailto:${profile.email}`}>{profile.email}</a> : null}</Row>
            <Row label="Member of">{refList(relTargets(e, 'memberOf'), 'group')}</Row>
            <Row label="Parent">{refList(relTargets(e, 'childOf'), 'group')}</Row>
            <Row label="Members">{relTargets(e, 'hasMember').length || null}</Row>
          </>
        ) : null}
        <Row label="Namespace">{e.metadata.namespace && e.metadata.namespace !== 'default' ? e.metadata.namespace : null}</Row>
        <Row label="Tags">{(e.metadata.tags ?? []).map((t) => <span className="chip" key={t}>{t}</span>)}</Row>
        <Row label="Source">
          {source ? (sourceLink ? <a href={sourceLink} target="_blank" rel="noreferrer noopener">{sourceLink}</a> : <code>{source}</code>) : null}
        </Row>
      </dl>
      <div className="about-actions">
        {sourceLink ? <a className="button" href={sourceLink} target="_blank" rel="noreferrer noopener">View source</a> : null}
        {viewUrl ? <UrlOrText className="button" raw={viewUrl}>View</UrlOrText> : null}
        {editUrl ? <UrlOrText className="button" raw={editUrl}>Edit</UrlOrText> : null}
      </div>
      {links.length > 0 ? (
        <>
          <h3>Links</h3>
          <ul className="about-links">
            {links.map((l, i) => (
              <li key={`${l.url}-${i}`}>
                <UrlOrText raw={l.url}>{l.title || l.url}</UrlOrText>
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </section>
  );
}
