import { EMAIL_REQUESTED, emailRequestKey, ZEmailRequest, type TEmailRequest } from '@parley/contracts';
import { createHash, randomBytes } from 'node:crypto';
import type { Broker } from '../infra/broker/broker.ts';

/**
 * Asks the workers' `notification.email` job to send an e-mail (ids only; the job reads the rest
 * and mints any link); the message id makes a repeated request one e-mail.
 */
export async function requestEmail(broker: Pick<Broker, 'publish'>, request: TEmailRequest): Promise<void> {
  await broker.publish(EMAIL_REQUESTED, ZEmailRequest.parse(request), {
    messageId: `email:${emailRequestKey(request)}`,
  });
}

/** Recorded on an invitation whose e-mail request the broker did not take. */
export const EMAIL_NOT_QUEUED = 'not queued: the message broker did not take the request; resend it';

/**
 * The hash of a token nobody holds: an invitation row needs one (unique, not null), and it matches
 * no link until the e-mail job mints the real token and replaces it.
 */
export const unheldTokenHash = (): string =>
  createHash('sha256').update(randomBytes(32).toString('base64url')).digest('hex');
