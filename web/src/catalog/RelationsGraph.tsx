// The relations graph: an SVG drawn here (no graph library), loaded on
// demand by the entity page. Nodes are links (Tab reaches each one, Enter
// opens it); depth and relation-type controls refetch only what is new.
import { useEffect, useMemo, useRef, useState } from 'react';
import { Link } from 'react-router-dom';
import { entityPath, entityRef, type Entity } from '../api';
import { ErrorBox, Loading, useAsync } from '../ui';
import {
  layout, LABEL_W, loadNeighbourhood, MAX_NODES, NODE_H, NODE_W, PADX, pairLabel, pairOf, RELATION_PAIRS, truncate,
  type NodeCache, type PlacedEdge, type PlacedNode,
} from './graph';

function edgePath(a: PlacedNode, b: PlacedNode): string {
  const ay = a.y + NODE_H / 2;
  const by = b.y + NODE_H / 2;
  if (b.x >= a.x + NODE_W) {
    const x1 = a.x + NODE_W;
    const dx = (b.x - x1) / 2;
    return `M${x1},${ay} C${x1 + dx},${ay} ${b.x - dx},${by} ${b.x},${by}`;
  }
  if (b.x + NODE_W <= a.x) {
    const dx = (a.x - b.x - NODE_W) / 2;
    return `M${a.x},${ay} C${a.x - dx},${ay} ${b.x + NODE_W + dx},${by} ${b.x + NODE_W},${by}`;
  }
  // Same column: bow outwards (away from the center), within the padding.
  const out = a.side < 0 ? -1 : 1;
  const x = out > 0 ? a.x + NODE_W : a.x;
  const bow = out * Math.min(PADX - 6, 16 + Math.abs(by - ay) / 8);
  return `M${x},${ay} C${x + bow},${ay} ${x + bow},${by} ${x},${by}`;
}

function Node({ n }: { n: PlacedNode }) {
  const label = n.title || n.name;
  const full = `${n.ref}${n.title ? ` (${n.title})` : ''}${n.missing ? ' (not in the catalog, or not visible to you)' : ''}`;
  const body = (
    <>
      <title>{full}</title>
      <rect width={NODE_W} height={NODE_H} rx={6} className="node-box" />
      <text x={8} y={13} className="node-kind">{n.kind.toLowerCase()}{n.type ? ` · ${truncate(String(n.type), 14)}` : ''}</text>
      <text x={8} y={27} className="node-name">{truncate(label, 26)}</text>
    </>
  );
  const cls = `gnode kind-${n.kind.toLowerCase()}${n.center ? ' center' : ''}${n.missing ? ' missing' : ''}`;
  if (n.center || n.missing) {
    return <g className={cls} transform={`translate(${n.x},${n.y})`} data-ref={n.ref} aria-label={full} role="img">{body}</g>;
  }
  return (
    <Link to={entityPath(n.ref)} className={cls} data-ref={n.ref} aria-label={full}>
      <g transform={`translate(${n.x},${n.y})`}>{body}</g>
    </Link>
  );
}

function Edge({ e, a, b }: { e: PlacedEdge; a: PlacedNode; b: PlacedNode }) {
  const label = e.types.join(', ');
  return (
    <g className={`gedge rel-${pairOf(e.types[0])}${e.labelled ? '' : ' cross'}`} data-edge={`${e.from} ${e.to}`}>
      <title>{`${a.ref} ${label} ${b.ref}`}</title>
      <path d={edgePath(a, b)} markerEnd="url(#arrow)" />
    </g>
  );
}

function EdgeLabel({ e, b }: { e: PlacedEdge; b: PlacedNode }) {
  // In the gap on the node's center side, just above where its edge arrives.
  const left = b.side < 0;
  return (
    <text x={left ? b.x + NODE_W + 12 : b.x - 12} y={b.y + NODE_H / 2 - 5} textAnchor={left ? 'start' : 'end'} className="edge-label">
      {truncate(e.types.join(', '), Math.floor(LABEL_W / 6.5))}
    </text>
  );
}

export default function RelationsGraph({ entity }: { entity: Entity }) {
  const centerRef = entityRef(entity);
  const present = useMemo(() => {
    const fromEntity = new Set((entity.relations ?? []).map((r) => pairOf(r.type)));
    const known = RELATION_PAIRS.map(([a]) => a);
    return [...known, ...[...fromEntity].filter((p) => !known.includes(p)).sort()];
  }, [entity]);
  const [depth, setDepth] = useState(1);
  const [enabled, setEnabled] = useState<Set<string>>(() => new Set(present));
  const cache = useRef<NodeCache>(new Map());
  const key = [...enabled].sort().join(',');
  const hood = useAsync(() => loadNeighbourhood(entity, depth, enabled, cache.current), [centerRef, depth, key]);
  const lay = useMemo(() => (hood.data ? layout(centerRef, hood.data.nodes, enabled) : undefined), [hood.data, centerRef, key]); // eslint-disable-line react-hooks/exhaustive-deps
  const [zoom, setZoom] = useState(1);
  const box = useRef<HTMLDivElement>(null);
  const fit = () => {
    const w = box.current?.clientWidth ?? 0;
    if (lay && w > 0) setZoom(Math.min(1, Math.max(0.6, (w - 4) / lay.width)));
  };
  useEffect(() => { fit(); }, [lay?.width]); // eslint-disable-line react-hooks/exhaustive-deps
  // Keep the center in view when the layout or zoom changes.
  useEffect(() => {
    const c = lay?.nodes.find((n) => n.center);
    const el = box.current;
    if (!c || !el) return;
    el.scrollTop = Math.max(0, (c.y + NODE_H / 2) * zoom - el.clientHeight / 2);
    el.scrollLeft = Math.max(0, (c.x + NODE_W / 2) * zoom - el.clientWidth / 2);
  }, [lay, zoom]);

  const toggle = (p: string) => setEnabled((s) => {
    const n = new Set(s);
    if (n.has(p)) n.delete(p); else n.add(p);
    return n;
  });
  const byRef = new Map((lay?.nodes ?? []).map((n) => [n.ref, n]));

  return (
    <div className="graph">
      <div className="graph-controls">
        <div className="field inline">
          <label htmlFor="graph-depth">Depth</label>
          <select id="graph-depth" value={depth} onChange={(e) => setDepth(Number(e.target.value))}>
            {[1, 2, 3].map((d) => <option key={d} value={d}>{d}</option>)}
          </select>
        </div>
        <fieldset className="graph-types">
          <legend>Relations</legend>
          {present.map((p) => (
            <label key={p} className={`check rel-${p}`}>
              <input type="checkbox" checked={enabled.has(p)} onChange={() => toggle(p)} />
              <span className="swatch" aria-hidden="true" /> {pairLabel(p)}
            </label>
          ))}
        </fieldset>
        <div className="zoom" role="group" aria-label="Zoom">
          <button type="button" onClick={() => setZoom((z) => Math.max(0.3, z / 1.25))} aria-label="Zoom out">−</button>
          <span aria-live="polite" className="muted small">{Math.round(zoom * 100)}%</span>
          <button type="button" onClick={() => setZoom((z) => Math.min(2.5, z * 1.25))} aria-label="Zoom in">+</button>
          <button type="button" onClick={fit}>Fit</button>
        </div>
      </div>
      {hood.error ? <ErrorBox error={hood.error} title="Could not load the neighbours" /> : null}
      {!lay && hood.loading ? <Loading what="the relations graph" /> : null}
      {hood.data?.truncated ? <p className="muted small">Showing the first {MAX_NODES} entities: choose a smaller depth or fewer relation types to see the rest.</p> : null}
      {lay ? (
        <div className="graph-canvas" ref={box} tabIndex={0} role="region" aria-label="Relations graph (scroll to pan)">
          <svg
            role="group"
            aria-label={`Relations of ${centerRef}: ${lay.nodes.length - 1} related entities`}
            viewBox={`0 0 ${lay.width} ${lay.height}`}
            width={Math.round(lay.width * zoom)}
            height={Math.round(lay.height * zoom)}
          >
            <defs>
              <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                <path d="M0,0 L10,5 L0,10 z" className="arrowhead" />
              </marker>
            </defs>
            <g className="edges">
              {lay.edges.map((e) => {
                const a = byRef.get(e.from); const b = byRef.get(e.to);
                return a && b ? <Edge key={`${e.from} ${e.to}`} e={e} a={a} b={b} /> : null;
              })}
            </g>
            <g className="labels">
              {lay.edges.filter((e) => e.labelled).map((e) => {
                const b = byRef.get(e.to);
                return b ? <EdgeLabel key={`${e.from} ${e.to}`} e={e} b={b} /> : null;
              })}
            </g>
            <g className="nodes">
              {lay.nodes.map((n) => <Node key={n.ref} n={n} />)}
            </g>
          </svg>
          {hood.loading ? <span className="graph-busy muted small" role="status">Updating…</span> : null}
        </div>
      ) : null}
      {lay && lay.nodes.length === 1 && !hood.loading ? <p className="muted">No relations of the chosen types.</p> : null}
    </div>
  );
}

