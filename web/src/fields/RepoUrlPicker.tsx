// RepoUrlPicker: host, owner and repository; the value is Backstage's
// `github.com?owner=o&repo=r`. allowedHosts (default github.com),
// allowedOwners and allowedRepos turn the inputs into selects.
import { useEffect, useState } from 'react';
import type { FieldProps } from '@rjsf/utils';
import { fieldDescription, fieldLabel, uiOptions } from './EntityPicker';

export interface RepoUrlOptions { allowedHosts?: string[]; allowedOwners?: string[]; allowedRepos?: string[] }
export interface RepoUrl { host: string; owner: string; repo: string }

export function parseRepoUrl(v: string | undefined): RepoUrl {
  if (!v) return { host: '', owner: '', repo: '' };
  const q = v.indexOf('?');
  const host = q < 0 ? v : v.slice(0, q);
  const p = new URLSearchParams(q < 0 ? '' : v.slice(q + 1));
  return { host, owner: p.get('owner') ?? '', repo: p.get('repo') ?? '' };
}

export function formatRepoUrl(r: RepoUrl): string {
  const p = new URLSearchParams();
  if (r.owner) p.set('owner', r.owner);
  if (r.repo) p.set('repo', r.repo);
  const qs = p.toString();
  return qs ? `${r.host}?${qs}` : r.host;
}

/** What is missing or wrong in a RepoUrlPicker value, for the page's validation. */
export function repoUrlProblem(v: unknown): string | undefined {
  if (v === undefined || v === '') return undefined;
  const r = parseRepoUrl(String(v));
  if (!r.host) return 'choose a host';
  if (!r.owner) return 'enter the owner';
  if (!r.repo) return 'enter the repository name';
  return undefined;
}

export function RepoUrlPicker(props: FieldProps<string | undefined>) {
  const { idSchema, formData, onChange, required, disabled, readonly } = props;
  const opts = uiOptions<RepoUrlOptions>(props);
  const hosts = opts.allowedHosts?.length ? opts.allowedHosts : ['github.com'];
  const [r, setR] = useState<RepoUrl>(() => {
    const p = parseRepoUrl(formData);
    return { ...p, host: p.host || hosts[0] };
  });
  // A value set from outside (a restored draft, Start over) wins.
  useEffect(() => {
    if (formData !== undefined && formData !== formatRepoUrl(r)) {
      const p = parseRepoUrl(formData);
      setR({ ...p, host: p.host || hosts[0] });
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [formData]);
  const set = (patch: Partial<RepoUrl>) => {
    const next = { ...r, ...patch };
    setR(next);
    onChange(next.owner || next.repo ? formatRepoUrl(next) : undefined);
  };
  const id = idSchema.$id;
  const dis = disabled || readonly;
  const desc = fieldDescription(props);
  const textOrSelect = (key: 'owner' | 'repo', allowed?: string[]) =>
    allowed?.length ? (
      <select id={`${id}-${key}`} value={r[key]} disabled={dis} onChange={(e) => set({ [key]: e.target.value })} aria-required={required || undefined}>
        <option value="">Choose…</option>
        {allowed.map((o) => <option key={o} value={o}>{o}</option>)}
      </select>
    ) : (
      <input id={`${id}-${key}`} type="text" value={r[key]} disabled={dis} autoComplete="off" spellCheck={false} aria-required={required || undefined} onChange={(e) => set({ [key]: e.target.value.trim() })} />
    );
  return (
    <fieldset className="repo-url" id={id} aria-describedby={desc ? `${id}-description` : undefined}>
      <legend>
        {fieldLabel(props)}
        {required ? <span className="required" aria-hidden="true">*</span> : null}
      </legend>
      {desc ? <div id={`${id}-description`} className="field-description">{desc}</div> : null}
      <div className="repo-url-row">
        <div>
          <label htmlFor={`${id}-host`}>Host</label>
          <select id={`${id}-host`} autoFocus={!!props.uiSchema?.['ui:autofocus']} value={r.host} disabled={dis} onChange={(e) => set({ host: e.target.value })}>
            {hosts.map((h) => <option key={h} value={h}>{h}</option>)}
          </select>
        </div>
        <div>
          <label htmlFor={`${id}-owner`}>Owner</label>
          {textOrSelect('owner', opts.allowedOwners)}
        </div>
        <div>
          <label htmlFor={`${id}-repo`}>Repository</label>
          {textOrSelect('repo', opts.allowedRepos)}
        </div>
      </div>
      {r.owner && r.repo ? <div className="muted field-description">{r.host}/{r.owner}/{r.repo}</div> : null}
    </fieldset>
  );
}
