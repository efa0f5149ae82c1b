import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneProcess, type Deployment } from '../shared/testing/layouts.ts';
import { waitForMail } from '../shared/testing/outbox.ts';

const PASSWORD = 'correct horse battery';

describe('organisation policies API', () => {
  let d: Deployment;
  let admin: string;
  let recruiter: string;

  beforeAll(async () => {
    d = await oneProcess();
    admin = (
      await d.api.call('POST', '/api/auth/sign-up', {
        body: { orgName: 'Acme', name: 'Ada', email: 'ada@acme.test', password: PASSWORD },
      })
    ).body.accessToken;
    await d.api.call('POST', '/api/users/invitations', {
      token: admin,
      body: { email: 'rita@acme.test', name: 'Rita', role: 'recruiter' },
    });
    // Mailed by the workers' e-mail job shortly after the request.
    const mail = await waitForMail(
      () => d.outbox(),
      (m) => m.includes('rita@acme.test'),
    );
    const token = /token=([A-Za-z0-9_-]+)/.exec(mail)?.[1];
    recruiter = (await d.api.call('POST', '/api/auth/accept-invitation', { body: { token, password: PASSWORD } })).body
      .accessToken;
  });
  afterAll(async () => {
    await d.close();
  });

  it('shows a new organisation its defaults', async () => {
    const res = await d.api.call('GET', '/api/admin/organization', { token: admin });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      name: 'Acme',
      emotionPolicy: 'insights',
      retentionDays: 365,
      recordingRetentionDays: null,
      frameRetentionDays: null,
    });
  });

  it('changes only the policies sent and audits the change with from and to', async () => {
    const res = await d.api.call('PATCH', '/api/admin/organization', {
      token: admin,
      body: { emotionPolicy: 'off', frameRetentionDays: 7 },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ emotionPolicy: 'off', retentionDays: 365, frameRetentionDays: 7 });
    expect((await d.api.call('GET', '/api/admin/organization', { token: admin })).body).toMatchObject({
      emotionPolicy: 'off',
      frameRetentionDays: 7,
    });

    const audit = await d.api.call('GET', '/api/audit?action=organization.settings_changed', { token: admin });
    expect(audit.body.entries).toHaveLength(1);
    expect(audit.body.entries[0].metadata).toEqual({
      from: { emotionPolicy: 'insights', frameRetentionDays: null },
      to: { emotionPolicy: 'off', frameRetentionDays: 7 },
    });
  });

  it('writes no audit entry when nothing changes', async () => {
    await d.api.call('PATCH', '/api/admin/organization', { token: admin, body: { emotionPolicy: 'off' } });
    const audit = await d.api.call('GET', '/api/audit?action=organization.settings_changed', { token: admin });
    expect(audit.body.entries).toHaveLength(1);
  });

  it('clears a retention tier with null', async () => {
    const res = await d.api.call('PATCH', '/api/admin/organization', {
      token: admin,
      body: { frameRetentionDays: null },
    });
    expect(res.body.frameRetentionDays).toBeNull();
  });

  it('refuses a shorter tier that would outlive a longer one', async () => {
    const res = await d.api.call('PATCH', '/api/admin/organization', {
      token: admin,
      body: { retentionDays: 30, recordingRetentionDays: 90 },
    });
    expect([res.status, res.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    const frames = await d.api.call('PATCH', '/api/admin/organization', {
      token: admin,
      body: { recordingRetentionDays: 10, frameRetentionDays: 20 },
    });
    expect(frames.status).toBe(400);
    expect((await d.api.call('GET', '/api/admin/organization', { token: admin })).body.retentionDays).toBe(365);
  });

  it('refuses unknown policies, out-of-range days and an empty body', async () => {
    for (const body of [{ emotionPolicy: 'always' }, { retentionDays: 0 }, { retentionDays: 1.5 }, {}, { color: 1 }]) {
      const res = await d.api.call('PATCH', '/api/admin/organization', { token: admin, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
  });

  it('is for admins only', async () => {
    expect((await d.api.call('GET', '/api/admin/organization', { token: recruiter })).status).toBe(403);
    const patch = await d.api.call('PATCH', '/api/admin/organization', {
      token: recruiter,
      body: { emotionPolicy: 'scored' },
    });
    expect(patch.status).toBe(403);
    expect((await d.api.call('GET', '/api/admin/organization')).status).toBe(401);
    expect((await d.api.call('GET', '/api/admin/organization', { token: admin })).body.emotionPolicy).toBe('off');
  });
});
