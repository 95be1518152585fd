import { Ajv, type Options, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import fastJsonStringify from 'fast-json-stringify';

/**
 * Request validation and response serialisation.
 *
 * Query strings and path parameters arrive as text, so they are coerced to the schema's
 * types; JSON bodies are not: `{"name": 42}` is a wrong type, not a team called "42".
 *
 * Both compile lazily, on a route's first use: compiling every schema of every route at
 * start cost most of a second and tens of megabytes, for routes a given server may never
 * serve (start to /api/health is a measured target).
 */
function makeAjv(coerce: boolean): Ajv {
  const options: Options = { removeAdditional: false, useDefaults: true, allErrors: false, coerceTypes: coerce ? 'array' : false };
  const ajv = new Ajv(options);
  (addFormats as unknown as (a: Ajv) => Ajv)(ajv);
  return ajv;
}

type LazyValidator = ((data: unknown) => boolean) & { errors?: ValidateFunction['errors'] };

export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  let strict: Ajv | null = null;
  let coercing: Ajv | null = null;
  return ({ schema, httpPart }) => {
    let compiled: ValidateFunction | null = null;
    const validate: LazyValidator = (data) => {
      if (!compiled) {
        const ajv = httpPart === 'body' ? (strict ??= makeAjv(false)) : (coercing ??= makeAjv(true));
        compiled = ajv.compile(schema as object);
      }
      const ok = compiled(data);
      validate.errors = compiled.errors;
      return ok;
    };
    return validate;
  };
}

export function createSerializerCompiler() {
  return ({ schema }: { schema: unknown }) => {
    let serialize: ((data: unknown) => string) | null = null;
    return (data: unknown) => (serialize ??= fastJsonStringify(schema as Parameters<typeof fastJsonStringify>[0]))(data);
  };
}
