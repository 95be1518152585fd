import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

/**
 * Request validation. Query strings and path parameters arrive as text, so they are
 * coerced to the schema's types; JSON bodies are not: `{"name": 42}` is a wrong type,
 * not a team called "42".
 */
function makeAjv(coerce: boolean): Ajv {
  const options: Options = { removeAdditional: false, useDefaults: true, allErrors: false, coerceTypes: coerce ? 'array' : false };
  const ajv = new Ajv(options);
  (addFormats as unknown as (a: Ajv) => Ajv)(ajv);
  return ajv;
}

export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const strict = makeAjv(false);
  const coercing = makeAjv(true);
  return ({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema as object);
}
