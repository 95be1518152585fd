import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { Client, setupAdmin, startTestApp, type TestApp } from '../test/harness.ts';

/** Invitations through a real SMTP conversation: nodemailer talking to an SMTP server on loopback. */
describe('invitation mail over SMTP', () => {
  const received: Array<{ to: string[]; body: string }> = [];
  let smtp: SMTPServer;
  let t: TestApp;

  before(async () => {
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          received.push({ to: session.envelope.rcptTo.map((r) => r.address), body: Buffer.concat(chunks).toString('utf8') });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const port = (smtp.server.address() as AddressInfo).port;
    t = await startTestApp('sqlite', { FLOWGATE_SMTP_URL: `smtp://127.0.0.1:${port}`, FLOWGATE_PUBLIC_URL: 'https://flowgate.plant.example' });
  });
  after(async () => {
    await t.close();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  });

  test('the invitee receives the link; the inviter is not shown it', async () => {
    const admin = await setupAdmin(t);
    const teamId = (await admin.post('/api/teams', { name: 'Press shop' })).json().id;
    const r = await admin.post(`/api/teams/${teamId}/invitations`, { email: 'Ines@Plant.example', role: 'operator' });
    assert.equal(r.statusCode, 201);
    assert.equal(r.json().mailed, true);
    assert.equal(r.json().link, null);
    assert.equal(received.length, 1);
    assert.deepEqual(received[0]!.to, ['ines@plant.example']);
    const body = received[0]!.body.replace(/=\r\n/g, '');
    assert.match(body, /Subject: You are invited to Press shop on Flowgate/);
    const link = /https:\/\/flowgate\.plant\.example\/invite\/([A-Za-z0-9_-]+)/.exec(body);
    assert.ok(link, 'the mail holds the link');
    const info = await new Client(t).get(`/api/invitations/${link[1]}`);
    assert.deepEqual([info.json().teamName, info.json().role], ['Press shop', 'operator']);
  });
});
