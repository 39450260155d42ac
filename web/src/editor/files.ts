// Files between the browser and a dry run: base64 both ways, a local
// folder read into directoryContents, and a flat path list as a tree.
export interface DirFile { path: string; base64Content: string; executable?: boolean }

export function bytesToBase64(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

export function base64ToBytes(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** A file's text, or undefined when it is not UTF-8 text (a NUL, or invalid bytes). */
export function decodeText(b64: string): string | undefined {
  const bytes = base64ToBytes(b64);
  if (bytes.includes(0)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** A file's bytes (FileReader where Blob.arrayBuffer is missing: older browsers, jsdom). */
export function readBytes(f: Blob): Promise<Uint8Array> {
  if (typeof f.arrayBuffer === 'function') return f.arrayBuffer().then((b) => new Uint8Array(b));
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(new Uint8Array(r.result as ArrayBuffer));
    r.onerror = () => reject(r.error);
    r.readAsArrayBuffer(f);
  });
}

export async function readText(f: Blob): Promise<string> {
  return new TextDecoder().decode(await readBytes(f));
}

export const MAX_FOLDER_BYTES = 40 << 20;

export interface Folder { template?: { name: string; text: string }; files: DirFile[]; skipped: string[] }

/** Reads a folder picked with <input webkitdirectory>: its template.yaml (the shallowest) and the files beside and below it. */
export async function readFolder(list: ArrayLike<File>): Promise<Folder> {
  const all = Array.from(list).map((f) => ({ f, path: (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name }));
  const tpl = all
    .filter((x) => /(^|\/)template\.ya?ml$/.test(x.path))
    .sort((a, b) => a.path.split('/').length - b.path.split('/').length)[0];
  const root = tpl ? tpl.path.slice(0, tpl.path.lastIndexOf('/') + 1) : '';
  const out: Folder = { files: [], skipped: [] };
  if (tpl) out.template = { name: tpl.path, text: await readText(tpl.f) };
  let total = 0;
  for (const { f, path } of all) {
    if (tpl && f === tpl.f) continue;
    if (!path.startsWith(root)) { out.skipped.push(path); continue; }
    const rel = path.slice(root.length);
    if (rel.split('/').some((p) => p === '.git' || p === 'node_modules')) { out.skipped.push(path); continue; }
    if (total + f.size > MAX_FOLDER_BYTES) { out.skipped.push(path); continue; }
    total += f.size;
    out.files.push({ path: rel, base64Content: bytesToBase64(await readBytes(f)) });
  }
  return out;
}

export interface TreeRow { path: string; name: string; depth: number; dir: boolean }

/** Paths as the rows of a tree: each folder once, before its contents. */
export function treeRows(paths: string[]): TreeRow[] {
  const rows: TreeRow[] = [];
  const seen = new Set<string>();
  for (const p of [...paths].sort()) {
    const parts = p.split('/');
    for (let i = 0; i < parts.length - 1; i++) {
      const dir = parts.slice(0, i + 1).join('/');
      if (!seen.has(dir)) { seen.add(dir); rows.push({ path: dir, name: parts[i], depth: i, dir: true }); }
    }
    rows.push({ path: p, name: parts[parts.length - 1], depth: parts.length - 1, dir: false });
  }
  return rows;
}
