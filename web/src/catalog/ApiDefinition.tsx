// An API entity's definition made readable: OpenAPI as operations grouped
// by tag, AsyncAPI as channels and their messages, anything else (GraphQL,
// gRPC, ...) as text. Loaded on demand: it brings the YAML parser.
import { useMemo, useState } from 'react';
import { parse } from 'yaml';
import type { Entity } from '../api';
import { Empty } from '../ui';

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

type Obj = Record<string, any>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const refName = (v: Obj) => (typeof v.$ref === 'string' ? v.$ref.split('/').pop() : undefined);

export interface Param { name: string; in: string; required: boolean; description?: string; type?: string }
export interface Operation { method: string; path: string; summary?: string; description?: string; operationId?: string; deprecated: boolean; params: Param[]; responses: { code: string; description: string }[] }

function params(list: unknown): Param[] {
  if (!Array.isArray(list)) return [];
  return list.filter(isObj).map((p) => {
    const ref = refName(p);
    if (ref) return { name: ref, in: 'ref', required: false, description: `See ${p.$ref}` };
    const schema = isObj(p.schema) ? p.schema : p;
    return { name: String(p.name ?? ''), in: String(p.in ?? ''), required: !!p.required, description: p.description, type: typeof schema.type === 'string' ? schema.type : refName(schema) };
  });
}

/** The operations of an OpenAPI 3 or Swagger 2 document, grouped by their first tag (untagged: "default"). */
export function openApiOperations(doc: Obj): Map<string, Operation[]> {
  const groups = new Map<string, Operation[]>();
  const paths = isObj(doc.paths) ? doc.paths : {};
  for (const [path, item] of Object.entries(paths)) {
    if (!isObj(item)) continue;
    const shared = params(item.parameters);
    for (const m of METHODS) {
      const op = item[m];
      if (!isObj(op)) continue;
      const own = params(op.parameters);
      const body = isObj(op.requestBody) ? [{ name: 'body', in: 'body', required: !!op.requestBody.required, description: op.requestBody.description }] : [];
      const responses = isObj(op.responses)
        ? Object.entries(op.responses).map(([code, r]) => ({ code, description: isObj(r) ? String(r.description ?? refName(r) ?? '') : '' }))
        : [];
      const tag = Array.isArray(op.tags) && op.tags.length > 0 ? String(op.tags[0]) : 'default';
      const list = groups.get(tag) ?? [];
      list.push({
        method: m, path, summary: op.summary, description: op.description, operationId: op.operationId, deprecated: !!op.deprecated,
        params: [...shared.filter((s) => !own.some((o) => o.name === s.name && o.in === s.in)), ...own, ...body], responses,
      });
      groups.set(tag, list);
    }
  }
  return groups;
}

export interface Channel { name: string; ops: { action: string; summary?: string; messages: string[] }[] }

function messageNames(m: unknown): string[] {
  if (!isObj(m)) return [];
  if (Array.isArray(m.oneOf)) return m.oneOf.flatMap(messageNames);
  const r = refName(m);
  if (r) return [r];
  return [String(m.name ?? m.title ?? m.messageId ?? 'message')];
}

/** The channels of an AsyncAPI 2 or 3 document with their operations and message names. */
export function asyncApiChannels(doc: Obj): Channel[] {
  const channels = isObj(doc.channels) ? doc.channels : {};
  const out = new Map<string, Channel>();
  for (const [key, ch] of Object.entries(channels)) {
    if (!isObj(ch)) continue;
    const name = typeof ch.address === 'string' ? ch.address : key;
    const c: Channel = { name, ops: [] };
    for (const action of ['publish', 'subscribe']) {
      const op = ch[action];
      if (isObj(op)) c.ops.push({ action, summary: op.summary, messages: messageNames(op.message) });
    }
    if (isObj(ch.messages) && !ch.publish && !ch.subscribe) {
      // AsyncAPI 3: messages live on the channel, operations elsewhere.
      c.ops.push({ action: 'messages', messages: Object.entries(ch.messages).map(([k, m]) => (isObj(m) ? messageNames(m)[0] ?? k : k)) });
    }
    out.set(key, c);
  }
  if (isObj(doc.operations)) {
    for (const op of Object.values(doc.operations)) {
      if (!isObj(op) || !isObj(op.channel)) continue;
      const key = refName(op.channel);
      const c = key ? out.get(key) : undefined;
      if (c) c.ops.push({ action: String(op.action ?? 'operation'), summary: op.summary, messages: Array.isArray(op.messages) ? op.messages.filter(isObj).flatMap(messageNames) : [] });
    }
  }
  return [...out.values()];
}

function OpenApiView({ doc }: { doc: Obj }) {
  const groups = openApiOperations(doc);
  const info = isObj(doc.info) ? doc.info : {};
  const servers = Array.isArray(doc.servers) ? doc.servers.filter(isObj).map((s) => String(s.url)) : [];
  return (
    <div className="openapi">
      <p>
        <strong>{info.title ?? 'Untitled API'}</strong> {info.version ? <span className="chip">v{info.version}</span> : null}
        {' '}<span className="muted small">{doc.openapi ? `OpenAPI ${doc.openapi}` : doc.swagger ? `Swagger ${doc.swagger}` : ''}</span>
      </p>
      {servers.length > 0 ? <p className="small">Servers: {servers.map((s) => <code key={s}>{s} </code>)}</p> : null}
      <h2>Operations</h2>
      {groups.size === 0 ? <Empty>The definition has no paths.</Empty> : null}
      {[...groups].map(([tag, ops]) => (
        <section key={tag} className="op-group" aria-labelledby={`tag-${tag}`}>
          <h3 id={`tag-${tag}`}>{tag}</h3>
          {ops.map((op) => (
            <details key={`${op.method} ${op.path}`} className={`op op-${op.method}`}>
              <summary>
                <span className={`method method-${op.method}`}>{op.method.toUpperCase()}</span>{' '}
                <code className={op.deprecated ? 'deprecated' : undefined}>{op.path}</code>{' '}
                <span className="op-summary">{op.summary ?? op.operationId ?? ''}</span>
                {op.deprecated ? <span className="chip">deprecated</span> : null}
              </summary>
              <div className="op-body">
                {op.description ? <p>{op.description}</p> : null}
                {op.params.length > 0 ? (
                  <div className="table-wrap"><table>
                    <caption className="sr-only">Parameters of {op.method.toUpperCase()} {op.path}</caption>
                    <thead><tr><th scope="col">Parameter</th><th scope="col">In</th><th scope="col">Type</th><th scope="col">Description</th></tr></thead>
                    <tbody>
                      {op.params.map((p) => (
                        <tr key={`${p.in} ${p.name}`}>
                          <td><code>{p.name}</code>{p.required ? <span className="req" title="required"> *</span> : null}</td>
                          <td>{p.in}</td><td>{p.type ?? ''}</td><td>{p.description ?? ''}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table></div>
                ) : <p className="muted small">No parameters.</p>}
                {op.responses.length > 0 ? (
                  <ul className="responses">
                    {op.responses.map((r) => <li key={r.code}><code className={`code-${r.code[0]}`}>{r.code}</code> {r.description}</li>)}
                  </ul>
                ) : null}
              </div>
            </details>
          ))}
        </section>
      ))}
    </div>
  );
}

function AsyncApiView({ doc }: { doc: Obj }) {
  const chans = asyncApiChannels(doc);
  const info = isObj(doc.info) ? doc.info : {};
  return (
    <div className="asyncapi">
      <p><strong>{info.title ?? 'Untitled API'}</strong> {info.version ? <span className="chip">v{info.version}</span> : null} <span className="muted small">AsyncAPI {String(doc.asyncapi ?? '')}</span></p>
      <h2>Channels</h2>
      {chans.length === 0 ? <Empty>The definition has no channels.</Empty> : null}
      <div className="table-wrap">
      <table>
        <caption className="sr-only">Channels</caption>
        <thead><tr><th scope="col">Channel</th><th scope="col">Operation</th><th scope="col">Messages</th><th scope="col">Summary</th></tr></thead>
        <tbody>
          {chans.flatMap((c) => (c.ops.length > 0 ? c.ops : [{ action: '', messages: [] as string[], summary: undefined }]).map((o, i) => (
            <tr key={`${c.name} ${i}`}>
              <td><code>{c.name}</code></td>
              <td>{o.action ? <span className={`method method-${o.action}`}>{o.action}</span> : null}</td>
              <td>{o.messages.join(', ')}</td>
              <td>{o.summary ?? ''}</td>
            </tr>
          )))}
        </tbody>
      </table>
      </div>
    </div>
  );
}

export default function ApiDefinition({ entity }: { entity: Entity }) {
  const raw = entity.spec?.definition;
  const type = String(entity.spec?.type ?? '').toLowerCase();
  const text = typeof raw === 'string' ? raw : raw === undefined ? '' : JSON.stringify(raw, null, 2);
  // AsyncAPI's payloads matter as much as its channels: its text shows by default.
  const [showRaw, setShowRaw] = useState(type === 'asyncapi');
  const parsed = useMemo(() => {
    if (type !== 'openapi' && type !== 'asyncapi') return undefined;
    try {
      const v = typeof raw === 'string' ? parse(raw) : raw;
      return isObj(v) ? { doc: v } : { error: 'the definition is not an object' };
    } catch (e) {
      return { error: (e as Error).message };
    }
  }, [raw, type]);
  if (!text) return <Empty>This API has no definition.</Empty>;
  return (
    <div className="api-def">
      {parsed?.error ? <p className="state error" role="alert">The {type} definition could not be read: {parsed.error}</p> : null}
      {parsed?.doc && type === 'openapi' ? <OpenApiView doc={parsed.doc} /> : null}
      {parsed?.doc && type === 'asyncapi' ? <AsyncApiView doc={parsed.doc} /> : null}
      {parsed?.doc ? (
        <p><button type="button" aria-expanded={showRaw} onClick={() => setShowRaw((s) => !s)}>{showRaw ? 'Hide' : 'Show'} the raw definition</button></p>
      ) : <p className="muted small">{type ? `${type} definition` : 'Definition'}:</p>}
      {!parsed?.doc || showRaw ? <pre className="definition" tabIndex={0} aria-label="API definition">{text}</pre> : null}
    </div>
  );
}
