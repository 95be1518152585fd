import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { API_TYPES_PATH, openApiDocument, renderApiTypes } from '../../../scripts/generate-api-types.ts';

// The web UI's types of every route come from this file: when a route's schema changes and the
// file is not generated again, the UI would be checked against replies the server no longer sends.
test("the web UI's API types match the server's OpenAPI document", async () => {
  const committed = fs.existsSync(API_TYPES_PATH) ? fs.readFileSync(API_TYPES_PATH, 'utf8') : '';
  assert.ok(committed === (await renderApiTypes()), 'packages/web/src/api/openapi.gen.ts is stale: run npm run api:types');
});

/**
 * Operations whose success is not a JSON reply a client reads, each with what it answers instead.
 * Everything else declares its reply's schema, so its clients' types say what it sends.
 */
const NOT_JSON = new Map<string, string>([
  ['GET /api/auth/sso/{providerId}/start', "a redirect to the identity provider's sign-in"],
  ['GET /api/auth/sso/{providerId}/callback', 'a redirect into the web UI, signed in or with the reason'],
  ['POST /api/auth/sso/{providerId}/saml/acs', 'a redirect into the web UI, signed in or with the reason'],
  ['GET /api/auth/sso/{providerId}/saml/metadata', "the service provider's SAML metadata (XML)"],
  ['GET /api/audit/export', 'a JSON Lines or CSV file to download'],
  ['GET /api/teams/{teamId}/audit/export', 'a JSON Lines or CSV file to download'],
  ['GET /api/agent/v1/snapshots/{snapshotId}', "a snapshot's content for the agent, as Node-RED stores it"],
  ['GET /api/fleet/v1/snapshots/{snapshotId}', "a snapshot's content for a device's agent, as Node-RED stores it"],
  ['GET /api/snapshots/{snapshotId}/sbom', 'a CycloneDX 1.6 JSON SBOM to download (application/vnd.cyclonedx+json)'],
  ['GET /api/instances/{instanceId}/sbom', 'a CycloneDX 1.6 JSON SBOM to download (application/vnd.cyclonedx+json)'],
  ['GET /api/devices/{deviceId}/sbom', 'a CycloneDX 1.6 JSON SBOM to download (application/vnd.cyclonedx+json)'],
  ['GET /api/compliance/sucs/{sucId}/diagram.svg', "the SuC's zones-and-conduits diagram (SVG)"],
]);

test('every operation declares the reply a client reads (or answers 204, or is named above with what it answers)', async () => {
  const document = await openApiDocument();
  const undeclared: string[] = [];
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    // SCIM is read by identity providers in SCIM's own format (RFC 7644), not by Flowgate's clients.
    if (path.startsWith('/scim/')) continue;
    for (const [method, operation] of Object.entries(item as Record<string, { responses?: Record<string, { content?: unknown }> }>)) {
      const name = `${method.toUpperCase()} ${path}`;
      const successes = Object.entries(operation.responses ?? {}).filter(([code]) => code.startsWith('2'));
      const declared = successes.some(([code, reply]) => code === '204' || reply.content !== undefined);
      if (!declared && !NOT_JSON.has(name)) undeclared.push(name);
      if (declared && NOT_JSON.has(name)) undeclared.push(`${name} (declares a reply now: take it off the list)`);
    }
  }
  assert.deepEqual(undeclared, []);
});
