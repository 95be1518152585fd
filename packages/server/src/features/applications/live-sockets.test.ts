import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { createLiveSockets, endsAccess } from './live-sockets.ts';

test('a sweep asked for during another runs after it: a permission that ends meanwhile is not missed', async () => {
  const sockets = createLiveSockets(60_000);
  let release!: () => void;
  const slow = new Promise<void>((resolve) => (release = resolve));
  let allowed = true;
  const changing = new PassThrough();
  const waiting = new PassThrough();
  sockets.track(changing, async () => allowed);
  sockets.track(waiting, async () => {
    await slow;
    return true;
  });
  // The first sweep has found `changing` allowed and waits on the other check...
  const running = sockets.sweepNow();
  await new Promise((resolve) => setImmediate(resolve));
  // ...when its permission ends, and the change asks for a sweep.
  allowed = false;
  const requested = sockets.sweepNow();
  release();
  await Promise.all([running, requested]);
  assert.equal(changing.destroyed, true, 'closed by the sweep asked for after its permission ended');
  assert.equal(waiting.destroyed, false);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(sockets.size, 1, 'a closed socket is no longer tracked');
  sockets.close();
});

test('a failing check closes the socket', async () => {
  const sockets = createLiveSockets(60_000);
  const socket = new PassThrough();
  sockets.track(socket, async () => {
    throw new Error('database away');
  });
  await sockets.sweepNow();
  assert.equal(socket.destroyed, true);
  sockets.close();
});

test('the events that may end access are those that take a session, a token, a role or a target away', () => {
  for (const event of [
    'auth.logout',
    'auth.sessions.revoked',
    'token.revoked',
    'user.updated',
    'user.deprovisioned',
    'member.removed',
    'member.left',
    'member.role.changed',
    'member.unmapped',
    'team.deleted',
    'application.deleted',
    'instance.updated',
    'instance.deleted',
    'device.revoked',
  ]) {
    assert.equal(endsAccess(event), true, event);
  }
  // Those that only give access, or say nothing of it, ask no sweep: a SCIM sync of new people does not keep the sweeper busy.
  for (const event of [
    'auth.login.succeeded',
    'snapshot.created',
    'editor.flows.deployed',
    'instance.status.changed',
    'team.updated',
    'token.created',
    'user.created',
    'member.invited',
    'member.joined',
    'member.mapped',
    'user.mfa.enrolled',
  ]) {
    assert.equal(endsAccess(event), false, event);
  }
});
