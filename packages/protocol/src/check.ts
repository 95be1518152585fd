import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { DesiredState, RecordedDeploy } from './schemas.ts';

/**
 * The agent's check of what the platform answers, against the schemas the platform's
 * routes declare: a field of the wrong type would otherwise surface as a broken settings
 * file or a Node-RED that never starts, far from its cause. Fields an older platform does
 * not send get their schema's `default` first. Compiled on first use.
 */
export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

export function checker<T extends TSchema>(schema: T): (value: unknown) => Checked<Static<T>> {
  let compiled: TypeCheck<T> | null = null;
  return (value) => {
    compiled ??= TypeCompiler.Compile(schema);
    const withDefaults = Value.Default(schema, structuredClone(value));
    if (compiled.Check(withDefaults)) return { ok: true, value: withDefaults };
    const first = compiled.Errors(withDefaults).First();
    return { ok: false, error: first ? `${first.path || '/'}: ${first.message}` : 'does not match its schema' };
  };
}

export const checkDesiredState = checker(DesiredState);
export const checkRecordedDeploy = checker(RecordedDeploy);
