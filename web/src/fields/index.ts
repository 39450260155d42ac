// The field extensions, registered with rjsf under Backstage's names, and
// the checks some of them add to a page's validation.
import type { RegistryFieldsType } from '@rjsf/utils';
import { EntityPicker, MyGroupsPicker, OwnedEntityPicker, OwnerPicker } from './EntityPicker';
import { MultiEntityPicker } from './MultiEntityPicker';
import { EntityTagsPicker, tagProblem } from './EntityTagsPicker';
import { RepoUrlPicker, repoUrlProblem } from './RepoUrlPicker';
import { EntityNamePicker, RepoBranchPicker, Secret, UnknownField, UnsupportedField, entityNameProblem } from './TextFields';

export const fieldExtensions = {
  RepoUrlPicker,
  OwnerPicker,
  EntityPicker,
  MultiEntityPicker,
  OwnedEntityPicker,
  MyGroupsPicker,
  EntityNamePicker,
  EntityTagsPicker,
  RepoBranchPicker,
  Secret,
  UnknownField,
  UnsupportedField,
} as unknown as RegistryFieldsType;

/** Per-extension checks run when a page is submitted: a message, or undefined when fine. */
export const fieldValidators: Record<string, (v: unknown) => string | undefined> = {
  EntityNamePicker: (v) => { const p = entityNameProblem(v); return p ? `The name ${p}` : undefined; },
  RepoUrlPicker: (v) => { const p = repoUrlProblem(v); return p ? `Repository: ${p}` : undefined; },
  EntityTagsPicker: (v) => (Array.isArray(v) ? v.map((t) => tagProblem(String(t))).find(Boolean) : undefined),
};
