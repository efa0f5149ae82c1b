import {
  ZAcceptInvitationBody,
  ZAuditEntry,
  ZAuditQuery,
  ZChangeRoleBody,
  ZIdParams,
  ZInviteStaffBody,
  ZOrganization,
  ZRefreshBody,
  ZSignInBody,
  ZSignUpBody,
  ZStaffInvitation,
  ZTokenPair,
  ZUpdateOrganizationBody,
  ZUser,
} from '@parley/contracts';
import type { FastifyRequest } from 'fastify';
import type { HttpServer } from '../infra/http/http-server.ts';
import { BEARER, ERROR_RESPONSES } from '../infra/http/route-schemas.ts';
import { z } from 'zod';
import type { Actor } from '../shared/actor.ts';
import type { AccountsService } from './accounts.service.ts';

const errors = ERROR_RESPONSES;
const bearer = BEARER;

export const actorOf = (request: FastifyRequest): Actor => request.actor;

export function registerAccountsRoutes(http: HttpServer, accounts: AccountsService): void {
  const tags = ['accounts'];

  http.post(
    '/api/auth/sign-up',
    {
      schema: {
        tags,
        summary: 'Create the first organisation and its admin (only while none exists)',
        body: ZSignUpBody,
        response: { 201: ZTokenPair, ...errors },
      },
    },
    async (req, reply) => reply.status(201).send(await accounts.signUp({ ...req.body, ip: req.ip })),
  );
  http.post(
    '/api/auth/sign-in',
    {
      schema: {
        tags,
        summary: 'Sign in with e-mail and password',
        body: ZSignInBody,
        response: { 200: ZTokenPair, ...errors },
      },
    },
    async (req) => accounts.signIn({ ...req.body, ip: req.ip }),
  );
  http.post(
    '/api/auth/refresh',
    {
      schema: {
        tags,
        summary: 'Rotate a refresh token; a reused token revokes its family',
        body: ZRefreshBody,
        response: { 200: ZTokenPair, ...errors },
      },
    },
    async (req) => accounts.refresh({ refreshToken: req.body.refreshToken, ip: req.ip }),
  );
  http.post(
    '/api/auth/sign-out',
    {
      schema: {
        tags,
        summary: 'Sign out this device (revoke the token family)',
        body: ZRefreshBody,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await accounts.signOut({ refreshToken: req.body.refreshToken });
      return reply.status(204).send(null);
    },
  );
  http.post(
    '/api/auth/sign-out-everywhere',
    {
      schema: {
        tags,
        summary: 'Sign out every device of the caller',
        security: bearer,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await accounts.signOutEverywhere(actorOf(req));
      return reply.status(204).send(null);
    },
  );
  http.post(
    '/api/auth/accept-invitation',
    {
      schema: {
        tags,
        summary: 'Accept a staff invitation and set a password',
        body: ZAcceptInvitationBody,
        response: { 201: ZTokenPair, ...errors },
      },
    },
    async (req, reply) => reply.status(201).send(await accounts.acceptStaffInvitation({ ...req.body, ip: req.ip })),
  );
  http.get(
    '/api/me',
    { schema: { tags, summary: 'The signed-in user', security: bearer, response: { 200: ZUser, ...errors } } },
    async (req) => accounts.me(actorOf(req)),
  );
  http.get(
    '/api/users',
    {
      schema: {
        tags,
        summary: 'Users of the organisation (admin)',
        security: bearer,
        response: { 200: z.object({ users: z.array(ZUser) }), ...errors },
      },
    },
    async (req) => ({ users: await accounts.listUsers(actorOf(req)) }),
  );
  http.post(
    '/api/users/invitations',
    {
      schema: {
        tags,
        summary:
          'Invite a recruiter or admin by e-mail (admin). The e-mail is queued for a worker: `sentAt` is null until ' +
          'it is delivered; `deliveryFailedAt` is set when it could not be queued or was refused',
        security: bearer,
        body: ZInviteStaffBody,
        response: { 201: ZStaffInvitation, ...errors },
      },
    },
    async (req, reply) => reply.status(201).send(await accounts.inviteStaff(actorOf(req), req.body)),
  );
  http.get(
    '/api/users/invitations',
    {
      schema: {
        tags,
        summary: "The organisation's staff invitations, newest first, with the state of their e-mail (admin)",
        security: bearer,
        response: { 200: z.object({ invitations: z.array(ZStaffInvitation) }), ...errors },
      },
    },
    async (req) => ({ invitations: await accounts.listStaffInvitations(actorOf(req)) }),
  );
  http.post(
    '/api/users/invitations/:id/resend',
    {
      schema: {
        tags,
        summary:
          'Send a staff invitation again with a new link and validity; the old link stops working. Queued like ' +
          'an invitation (admin)',
        security: bearer,
        params: ZIdParams,
        response: { 200: ZStaffInvitation, ...errors },
      },
    },
    async (req) => accounts.resendStaffInvitation(actorOf(req), req.params.id),
  );
  http.post(
    '/api/users/invitations/:id/revoke',
    {
      schema: {
        tags,
        summary: 'Withdraw a staff invitation: its link stops working and a queued e-mail is not sent (admin)',
        security: bearer,
        params: ZIdParams,
        response: { 200: ZStaffInvitation, ...errors },
      },
    },
    async (req) => accounts.revokeStaffInvitation(actorOf(req), req.params.id),
  );
  http.patch(
    '/api/users/:id/role',
    {
      schema: {
        tags,
        summary: "Change a user's role (admin)",
        security: bearer,
        params: ZIdParams,
        body: ZChangeRoleBody,
        response: { 200: ZUser, ...errors },
      },
    },
    async (req) => accounts.changeRole(actorOf(req), req.params.id, req.body.role),
  );
  http.get(
    '/api/audit',
    {
      schema: {
        tags,
        summary: 'Audit log of the organisation (admin)',
        security: bearer,
        querystring: ZAuditQuery,
        response: { 200: z.object({ entries: z.array(ZAuditEntry) }), ...errors },
      },
    },
    async (req) => {
      const entries = await accounts.listAudit(actorOf(req), {
        action: req.query.action,
        limit: req.query.limit,
        before: req.query.before ? new Date(req.query.before) : undefined,
      });
      return { entries: entries.map((e) => ({ ...e, createdAt: e.createdAt.toISOString() })) };
    },
  );
  http.get(
    '/api/admin/organization',
    {
      schema: {
        tags,
        summary: "The organisation's video analysis and retention policies (admin)",
        security: bearer,
        response: { 200: ZOrganization, ...errors },
      },
    },
    async (req) => accounts.organization(actorOf(req)),
  );
  http.patch(
    '/api/admin/organization',
    {
      schema: {
        tags,
        summary: "Change the organisation's policies; only the fields sent change (admin; audited)",
        security: bearer,
        body: ZUpdateOrganizationBody,
        response: { 200: ZOrganization, ...errors },
      },
    },
    async (req) => accounts.updateOrganization(actorOf(req), req.body),
  );
}
