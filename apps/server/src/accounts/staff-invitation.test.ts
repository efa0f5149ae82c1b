import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneProcess, type Deployment } from '../shared/testing/layouts.ts';
import { EMAIL_NOT_QUEUED } from '../shared/email-requests.ts';

describe('staff invitations while the message broker is down', () => {
  let d: Deployment;
  let admin: string;

  beforeAll(async () => {
    d = await oneProcess();
    admin = (
      await d.api.call('POST', '/api/auth/sign-up', {
        body: { orgName: 'Acme', name: 'Ada', email: 'ada@acme.test', password: 'correct horse battery' },
      })
    ).body.accessToken;
    // The process's broker connection closes as it would on losing RabbitMQ: publishing fails
    // with SERVICE_UNAVAILABLE.
    await d.processes[0]!.server.container.broker.close();
  });
  afterAll(async () => {
    await d.close();
  });

  it('keeps the invitation, says its e-mail was not queued, and audits it', async () => {
    const invite = await d.api.call('POST', '/api/users/invitations', {
      token: admin,
      body: { email: 'rita@acme.test', name: 'Rita', role: 'recruiter' },
    });
    expect(invite.status).toBe(201);
    expect(invite.body).toMatchObject({ status: 'pending', sentAt: null, deliveryFailure: EMAIL_NOT_QUEUED });
    expect(invite.body.deliveryFailedAt).not.toBeNull();

    const list = await d.api.call('GET', '/api/users/invitations', { token: admin });
    expect(list.body.invitations).toEqual([invite.body]);
    const audit = await d.api.call('GET', '/api/audit?action=user.invited', { token: admin });
    expect(audit.body.entries.map((e: { targetId: string }) => e.targetId)).toEqual([invite.body.id]);
  });

  it('answers a resend with 503 and keeps saying the e-mail was not queued', async () => {
    const list = await d.api.call('GET', '/api/users/invitations', { token: admin });
    const [invitation] = list.body.invitations;
    const resend = await d.api.call('POST', `/api/users/invitations/${invitation.id}/resend`, { token: admin });
    expect([resend.status, resend.body.error.code]).toEqual([503, 'SERVICE_UNAVAILABLE']);
    const after = await d.api.call('GET', '/api/users/invitations', { token: admin });
    expect(after.body.invitations[0]).toMatchObject({
      id: invitation.id,
      sentAt: null,
      deliveryFailure: EMAIL_NOT_QUEUED,
    });
  });
});
