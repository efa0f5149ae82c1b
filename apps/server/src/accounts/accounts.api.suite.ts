import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deployment, Layout } from '../shared/testing/layouts.ts';
import { waitForMail } from '../shared/testing/outbox.ts';

const ADMIN = { orgName: 'Acme', name: 'Ada Admin', email: 'ada@acme.test', password: 'correct horse battery' };
const JOIN_LINK = /\/join\?token=([A-Za-z0-9_-]+)/;

/**
 * The link token of the newest invitation mailed to `to` whose token is not `previous`, waiting
 * for it: staff invitations are mailed by the workers' e-mail job after the request has answered.
 */
async function linkToken(d: Deployment, to: string, previous?: string): Promise<string> {
  const mail = await waitForMail(
    () => d.outbox(),
    (m) => m.includes(`To: ${to}`) && JOIN_LINK.test(m) && JOIN_LINK.exec(m)![1] !== previous,
  );
  return JOIN_LINK.exec(mail)![1]!;
}

export function accountsApiSuite(layouts: [string, Layout][]): void {
  describe.each(layouts)('accounts API (%s)', (_name, layout) => {
    let d: Deployment;
    let admin: { accessToken: string; refreshToken: string };

    beforeAll(async () => {
      d = await layout();
    });
    afterAll(async () => {
      await d.close();
    });

    it('lets the first admin sign up once, then closes sign-up', async () => {
      const first = await d.api.call('POST', '/api/auth/sign-up', { body: ADMIN });
      expect(first.status).toBe(201);
      admin = first.body;
      const again = await d.api.call('POST', '/api/auth/sign-up', { body: { ...ADMIN, email: 'eve@evil.test' } });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('CONFLICT');
    });

    it('answers a wrong password and an unknown e-mail identically', async () => {
      const wrong = await d.api.call('POST', '/api/auth/sign-in', { body: { email: ADMIN.email, password: 'nope' } });
      const unknown = await d.api.call('POST', '/api/auth/sign-in', {
        body: { email: 'nobody@acme.test', password: 'nope' },
      });
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(401);
      expect({ ...wrong.body.error, requestId: 0 }).toEqual({ ...unknown.body.error, requestId: 0 });
    });

    it('never returns the password or its hash', async () => {
      const me = await d.api.call('GET', '/api/me', { token: admin.accessToken });
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ email: ADMIN.email, role: 'admin' });
      expect(JSON.stringify(me.body)).not.toMatch(/password|scrypt/i);
    });

    it('refuses a missing, malformed or forged token with 401 and a code', async () => {
      expect((await d.api.call('GET', '/api/me')).body.error.code).toBe('UNAUTHENTICATED');
      const garbage = await d.api.call('GET', '/api/me', { token: 'not-a-jwt' });
      expect([garbage.status, garbage.body.error.code]).toEqual([401, 'TOKEN_INVALID']);
      const [h, p] = admin.accessToken.split('.');
      const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${p}.`;
      expect((await d.api.call('GET', '/api/me', { token: none })).status).toBe(401);
      const tampered = `${h}.${p}.${'A'.repeat(43)}`;
      expect((await d.api.call('GET', '/api/me', { token: tampered })).status).toBe(401);
      const badHeader = await d.api.call('GET', '/api/me', { headers: { authorization: 'Basic abc' } });
      expect(badHeader.status).toBe(401);
    });

    it('rotates refresh tokens and revokes the whole family when a used one comes back', async () => {
      const signIn = await d.api.call('POST', '/api/auth/sign-in', {
        body: { email: ADMIN.email, password: ADMIN.password },
      });
      const first = signIn.body.refreshToken as string;
      const rotated = await d.api.call('POST', '/api/auth/refresh', { body: { refreshToken: first } });
      expect(rotated.status).toBe(200);
      expect(rotated.body.refreshToken).not.toBe(first);

      const replay = await d.api.call('POST', '/api/auth/refresh', { body: { refreshToken: first } });
      expect([replay.status, replay.body.error.code]).toEqual([401, 'TOKEN_REUSED']);
      // The thief's replay also kills the legitimate child.
      const child = await d.api.call('POST', '/api/auth/refresh', {
        body: { refreshToken: rotated.body.refreshToken },
      });
      expect(child.status).toBe(401);

      const audit = await d.api.call('GET', '/api/audit?action=auth.token_reuse', { token: admin.accessToken });
      expect(audit.status).toBe(200);
      expect(audit.body.entries.length).toBeGreaterThanOrEqual(1);
    });

    it('signs out one device, and everywhere (access tokens already issued stop working)', async () => {
      const a = await d.api.call('POST', '/api/auth/sign-in', {
        body: { email: ADMIN.email, password: ADMIN.password },
      });
      const out = await d.api.call('POST', '/api/auth/sign-out', { body: { refreshToken: a.body.refreshToken } });
      expect(out.status).toBe(204);
      expect(
        (await d.api.call('POST', '/api/auth/refresh', { body: { refreshToken: a.body.refreshToken } })).status,
      ).toBe(401);

      const b = await d.api.call('POST', '/api/auth/sign-in', {
        body: { email: ADMIN.email, password: ADMIN.password },
      });
      const everywhere = await d.api.call('POST', '/api/auth/sign-out-everywhere', { token: b.body.accessToken });
      expect(everywhere.status).toBe(204);
      expect((await d.api.call('GET', '/api/me', { token: b.body.accessToken })).status).toBe(401);
      expect((await d.api.call('GET', '/api/me', { token: admin.accessToken })).status).toBe(401);

      admin = (
        await d.api.call('POST', '/api/auth/sign-in', { body: { email: ADMIN.email, password: ADMIN.password } })
      ).body;
      expect((await d.api.call('GET', '/api/me', { token: admin.accessToken })).status).toBe(200);
    });

    it('invites a recruiter by e-mail with a single-use link; recruiters cannot administer', async () => {
      const invite = await d.api.call('POST', '/api/users/invitations', {
        token: admin.accessToken,
        body: { email: 'rita@acme.test', name: 'Rita Recruiter', role: 'recruiter' },
      });
      expect(invite.status).toBe(201);
      // Queued, not sent: a worker mails the link after the answer and records when.
      expect(invite.body).toMatchObject({
        email: 'rita@acme.test',
        role: 'recruiter',
        status: 'pending',
        sentAt: null,
        deliveryFailedAt: null,
      });
      const token = await linkToken(d, 'rita@acme.test');

      const accepted = await d.api.call('POST', '/api/auth/accept-invitation', {
        body: { token, password: 'another long password' },
      });
      expect(accepted.status).toBe(201);
      const again = await d.api.call('POST', '/api/auth/accept-invitation', {
        body: { token, password: 'another long password' },
      });
      expect([again.status, again.body.error.code]).toEqual([410, 'INVITATION_USED']);

      const rita = accepted.body.accessToken as string;
      expect((await d.api.call('GET', '/api/me', { token: rita })).body.role).toBe('recruiter');
      expect((await d.api.call('GET', '/api/users', { token: rita })).status).toBe(403);
      expect((await d.api.call('GET', '/api/audit', { token: rita })).status).toBe(403);
      const users = await d.api.call('GET', '/api/users', { token: admin.accessToken });
      expect(users.body.users.map((u: { email: string }) => u.email).sort()).toEqual([
        'ada@acme.test',
        'rita@acme.test',
      ]);
    });

    it('lists staff invitations with the state of their e-mail; a resend mails a new link and retires the old', async () => {
      const invite = await d.api.call('POST', '/api/users/invitations', {
        token: admin.accessToken,
        body: { email: 'sue@acme.test', name: 'Sue Staff', role: 'recruiter' },
      });
      expect(invite.status).toBe(201);
      const first = await linkToken(d, 'sue@acme.test');
      const delivered = async () => {
        const list = await d.api.call('GET', '/api/users/invitations', { token: admin.accessToken });
        expect(list.status).toBe(200);
        return list.body.invitations.find((i: { id: string }) => i.id === invite.body.id);
      };
      await waitUntil(async () => (await delivered()).sentAt !== null);
      expect(await delivered()).toMatchObject({ status: 'pending', role: 'recruiter', deliveryFailedAt: null });

      const resent = await d.api.call('POST', `/api/users/invitations/${invite.body.id}/resend`, {
        token: admin.accessToken,
      });
      expect(resent.status).toBe(200);
      expect(resent.body).toMatchObject({ id: invite.body.id, status: 'pending', sentAt: null });
      const second = await linkToken(d, 'sue@acme.test', first);
      const old = await d.api.call('POST', '/api/auth/accept-invitation', {
        body: { token: first, password: 'another long password' },
      });
      expect([old.status, old.body.error.code]).toEqual([404, 'NOT_FOUND']);
      const accepted = await d.api.call('POST', '/api/auth/accept-invitation', {
        body: { token: second, password: 'another long password' },
      });
      expect(accepted.status).toBe(201);
      expect((await delivered()).status).toBe('accepted');
      const again = await d.api.call('POST', `/api/users/invitations/${invite.body.id}/resend`, {
        token: admin.accessToken,
      });
      expect([again.status, again.body.error.code]).toEqual([410, 'INVITATION_USED']);
      const audit = await d.api.call('GET', '/api/audit?action=user.invitation_resent', { token: admin.accessToken });
      expect(audit.body.entries.map((e: { targetId: string }) => e.targetId)).toEqual([invite.body.id]);
    });

    it('withdraws a staff invitation: its link stops working, and it cannot be resent or withdrawn twice', async () => {
      const invite = await d.api.call('POST', '/api/users/invitations', {
        token: admin.accessToken,
        body: { email: 'walt@acme.test', name: 'Walt Withdrawn', role: 'admin' },
      });
      expect(invite.status).toBe(201);
      const link = await linkToken(d, 'walt@acme.test');
      const revoked = await d.api.call('POST', `/api/users/invitations/${invite.body.id}/revoke`, {
        token: admin.accessToken,
      });
      expect(revoked.status).toBe(200);
      expect(revoked.body).toMatchObject({ id: invite.body.id, status: 'revoked' });
      const accept = await d.api.call('POST', '/api/auth/accept-invitation', {
        body: { token: link, password: 'another long password' },
      });
      expect([accept.status, accept.body.error.code]).toEqual([404, 'NOT_FOUND']);
      for (const action of ['resend', 'revoke']) {
        const res = await d.api.call('POST', `/api/users/invitations/${invite.body.id}/${action}`, {
          token: admin.accessToken,
        });
        expect([action, res.status, res.body.error.code]).toEqual([action, 409, 'CONFLICT']);
      }
      const listed = await d.api.call('GET', '/api/users/invitations', { token: admin.accessToken });
      expect(listed.body.invitations.find((i: { id: string }) => i.id === invite.body.id).status).toBe('revoked');
      const audit = await d.api.call('GET', '/api/audit?action=user.invitation_revoked', { token: admin.accessToken });
      expect(audit.body.entries.map((e: { targetId: string }) => e.targetId)).toEqual([invite.body.id]);
    });

    it('documents the staff invitation routes and the state of their e-mail in the OpenAPI document', async () => {
      // The process serving the API documents it (a gateway only forwards `/api`).
      const api = d.processes.find((p) => p.role !== 'gateway')!.server.api;
      const doc = (await api.call('GET', '/openapi.json')).body as {
        paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      };
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining([
          '/api/users/invitations',
          '/api/users/invitations/{id}/resend',
          '/api/users/invitations/{id}/revoke',
        ]),
      );
      const listed = JSON.stringify(doc.paths['/api/users/invitations']!.get!.responses['200']);
      for (const field of ['sentAt', 'deliveryFailedAt', 'deliveryFailure']) expect(listed).toContain(field);
      const candidates = JSON.stringify(doc.paths['/api/interviews/{id}/invitations']!.get!.responses['200']);
      expect(candidates).toContain('deliveryFailure');
    });

    it('keeps at least one admin, and a role change takes effect at once', async () => {
      const users = await d.api.call('GET', '/api/users', { token: admin.accessToken });
      const ada = users.body.users.find((u: { email: string }) => u.email === ADMIN.email);
      const demote = await d.api.call('PATCH', `/api/users/${ada.id}/role`, {
        token: admin.accessToken,
        body: { role: 'recruiter' },
      });
      expect([demote.status, demote.body.error.code]).toEqual([409, 'CONFLICT']);

      const rita = users.body.users.find((u: { email: string }) => u.email === 'rita@acme.test');
      const promote = await d.api.call('PATCH', `/api/users/${rita.id}/role`, {
        token: admin.accessToken,
        body: { role: 'admin' },
      });
      expect(promote.status).toBe(200);
      const audit = await d.api.call('GET', '/api/audit?action=user.role_changed', { token: admin.accessToken });
      expect(audit.body.entries[0]).toMatchObject({ targetId: rita.id, metadata: { from: 'recruiter', to: 'admin' } });
    });

    it('validates every body and id, answering 4xx with a code', async () => {
      const cases: [string, string, unknown][] = [
        ['POST', '/api/auth/sign-in', { email: 'not an email', password: 'x' }],
        ['POST', '/api/auth/sign-in', { email: ADMIN.email, password: 'x', extra: true }],
        ['POST', '/api/auth/refresh', {}],
        ['PATCH', '/api/users/not-a-uuid/role', { role: 'admin' }],
        ['POST', '/api/users/invitations', { email: 'x@y.test', name: 'X', role: 'candidate' }],
      ];
      for (const [method, url, body] of cases) {
        const res = await d.api.call(method, url, { body, token: admin.accessToken });
        expect(res.status, `${method} ${url}`).toBe(400);
        expect(res.body.error.code).toBe('VALIDATION_FAILED');
      }
      const malformed = await d.api.call('POST', '/api/auth/sign-in', { body: '{"email":' });
      expect([malformed.status, malformed.body.error.code]).toEqual([400, 'MALFORMED_JSON']);
    });
  });
}

/** Polls `check` until it holds (bounded): the e-mail job records a delivery after the request. */
async function waitUntil(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function failoverSuite(name: string, layout: Layout): void {
  describe(`split deployment failover (${name})`, () => {
    let d: Deployment;
    beforeAll(async () => {
      d = await layout();
    });
    afterAll(async () => {
      await d.close();
    });

    it('keeps answering through the gateway when one interview instance stops', async () => {
      const signUp = await d.api.call('POST', '/api/auth/sign-up', { body: ADMIN });
      expect(signUp.status).toBe(201);
      const instances = d.processes.filter((p) => p.role === 'interview');
      await instances[0]!.server.stop();
      for (let i = 0; i < 6; i++) {
        const me = await d.api.call('GET', '/api/me', { token: signUp.body.accessToken });
        expect(me.status).toBe(200);
      }
    });
  });
}
