import { z } from 'zod';

// ---------------------------------------------------------------------------------------------
// E-mail requests: any context asks the workers' `notification.email` job to send an e-mail

/** Routing key an e-mail request is published under; the `notification.email` queue is bound to it. */
export const EMAIL_REQUESTED = 'notification.email.requested';

/**
 * Tells one staff request (invite, resend, remind) from another for the same invitation, so each is
 * mailed; requests without it (the scheduled reminder) are mailed once per invitation.
 */
const ZRequestId = z.uuid().optional();

/**
 * An e-mail to send, by ids only: the worker reads names and addresses from the database and mints
 * the invitation link itself (nothing secret travels through the broker). `invitation` and
 * `reminder` are a candidate's (interviews context), `staff-invitation` a recruiter's or admin's
 * (accounts context). "Report ready" is not requested: it follows `report.rendered`.
 */
export const ZEmailRequest = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('invitation'), orgId: z.uuid(), invitationId: z.uuid(), requestId: ZRequestId }),
  z.object({ kind: z.literal('reminder'), orgId: z.uuid(), invitationId: z.uuid(), requestId: ZRequestId }),
  z.object({ kind: z.literal('staff-invitation'), orgId: z.uuid(), invitationId: z.uuid(), requestId: z.uuid() }),
  z.object({ kind: z.literal('completion-receipt'), orgId: z.uuid(), sessionId: z.uuid() }),
]);
export type TEmailRequest = z.infer<typeof ZEmailRequest>;

/**
 * The e-mail a request stands for: `<kind>:<invitation or session>[:<request id>]`. It is the
 * broker message id (`email:<key>`) and the worker's once-only mark, so a repeated request is one e-mail.
 */
export function emailRequestKey(request: TEmailRequest): string {
  if ('invitationId' in request) {
    return [request.kind, request.invitationId, ...(request.requestId ? [request.requestId] : [])].join(':');
  }
  return `${request.kind}:${request.sessionId}`;
}
