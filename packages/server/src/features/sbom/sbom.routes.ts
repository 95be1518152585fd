import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import type { AppContext, TypedApp } from '../../app-context.ts';
import { Id } from '../../http/schemas.ts';
import { InstanceParams } from '../applications/applications.routes.ts';
import { DeviceParams } from '../fleet/fleet.routes.ts';
import { SBOM_CONTENT_TYPE } from './sbom.ts';
import type { SbomFile } from './sbom.service.ts';

const SnapshotParams = Type.Object({ snapshotId: Id });

/**
 * A file to download, in CycloneDX's own media type. No reply schema: the document is the
 * CycloneDX library's, validated against CycloneDX's schema in the tests, and Fastify's
 * serializer would drop what a schema of ours did not name (test/api-types.test.ts lists these).
 */
function download(reply: FastifyReply, file: SbomFile) {
  return reply.type(SBOM_CONTENT_TYPE).header('content-disposition', `attachment; filename="${file.filename}"`).send(file.json);
}

/** CycloneDX 1.6 SBOMs: read as the snapshot, instance or device is (the same permission), nothing audited (no secret leaves). */
export function sbomRoutes(app: TypedApp, c: Pick<AppContext, 'sbom'>): void {
  const { sbom } = c;
  const description = "A CycloneDX 1.6 JSON SBOM (application/vnd.cyclonedx+json): Node-RED, the node modules with package URLs, the flows by the snapshot's SHA-256.";

  app.get(
    '/api/snapshots/:snapshotId/sbom',
    {
      config: { access: { kind: 'user', permission: 'applications:read', team: 'snapshotId' } },
      schema: { tags: ['snapshots'], description: `What the snapshot holds. ${description}`, params: SnapshotParams },
    },
    async (request, reply) => download(reply, await sbom.forSnapshot(request.params.snapshotId)),
  );

  app.get(
    '/api/instances/:instanceId/sbom',
    {
      config: { access: { kind: 'user', permission: 'applications:read', team: 'instanceId' } },
      schema: { tags: ['instances'], description: `What the instance runs (409 before anything ran). ${description}`, params: InstanceParams },
    },
    async (request, reply) => download(reply, await sbom.forInstance(request.params.instanceId)),
  );

  app.get(
    '/api/devices/:deviceId/sbom',
    {
      config: { access: { kind: 'user', permission: 'fleet:read', team: 'deviceId' } },
      schema: { tags: ['fleet'], description: `What the device reports running (409 before it ran anything). ${description}`, params: DeviceParams },
    },
    async (request, reply) => download(reply, await sbom.forDevice(request.params.deviceId)),
  );
}
