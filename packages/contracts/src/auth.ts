import { z } from 'zod';

export const ZEmail = z.email().max(254).describe('E-mail address');
export const ZPassword = z.string().min(1).max(1024).describe('Password (at least 12 characters when set)');

export const ZSignInBody = z.strictObject({ email: ZEmail, password: ZPassword });
export type TSignInBody = z.infer<typeof ZSignInBody>;

export const ZSignUpBody = z.strictObject({
  orgName: z.string().trim().min(1).max(200),
  name: z.string().trim().min(1).max(200),
  email: ZEmail,
  password: ZPassword,
});

export const ZRefreshBody = z.strictObject({ refreshToken: z.string().min(1).max(512) });

export const ZTokenPair = z.object({
  accessToken: z.string(),
  accessTokenExpiresAt: z.iso.datetime(),
  refreshToken: z.string(),
  refreshTokenExpiresAt: z.iso.datetime(),
});
export type TTokenPair = z.infer<typeof ZTokenPair>;

export const ZRole = z.enum(['admin', 'recruiter', 'candidate']);
export const ZStaffRole = z.enum(['admin', 'recruiter']);

export const ZUser = z.object({
  id: z.uuid(),
  orgId: z.uuid(),
  email: z.string(),
  name: z.string(),
  role: ZRole,
  createdAt: z.iso.datetime(),
});
export type TUser = z.infer<typeof ZUser>;

export const ZInviteStaffBody = z.strictObject({
  email: ZEmail,
  name: z.string().trim().min(1).max(200),
  role: ZStaffRole.default('recruiter'),
});

/**
 * A recruiter's or admin's invitation as admins see it. Inviting and resending only queue the
 * e-mail (a worker sends it with retries), so `sentAt` is null until it is delivered.
 */
export const ZStaffInvitation = z.object({
  id: z.uuid(),
  email: z.string(),
  name: z.string(),
  role: ZStaffRole,
  status: z.enum(['pending', 'accepted', 'expired', 'revoked']),
  expiresAt: z.iso.datetime(),
  /** When the e-mail with the current link was delivered; null while it is queued. */
  sentAt: z.iso.datetime().nullable(),
  /**
   * When its e-mail last failed for good (address refused, retries used up, or not queued); null
   * once a resent link is delivered.
   */
  deliveryFailedAt: z.iso.datetime().nullable(),
  /** Why, in a few words; null when `deliveryFailedAt` is. */
  deliveryFailure: z.string().nullable(),
  createdAt: z.iso.datetime(),
});
export type TStaffInvitation = z.infer<typeof ZStaffInvitation>;

export const ZAcceptInvitationBody = z.strictObject({
  token: z.string().min(1).max(512),
  password: ZPassword,
  name: z.string().trim().min(1).max(200).optional(),
});

export const ZChangeRoleBody = z.strictObject({ role: ZStaffRole });

export const ZAuditEntry = z.object({
  id: z.uuid(),
  orgId: z.uuid(),
  actorId: z.uuid().nullable(),
  action: z.string(),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  ip: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  createdAt: z.iso.datetime(),
});

export const ZAuditQuery = z.strictObject({
  action: z.string().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
  before: z.iso.datetime().optional(),
});

export const ZIdParams = z.strictObject({ id: z.uuid() });

// ---------------------------------------------------------------------------------------------
// Organisation policies (admin)

/**
 * Video (emotion) analysis for the whole organisation. `off`: none; `insights`: shown to
 * recruiters, never scored; `scored`: weighted into the score. An interview may only narrow it.
 * Same values as `ZEmotionPolicy` in interviews.ts, which imports this module and so cannot be
 * imported here.
 */
export const ZOrgEmotionPolicy = z.enum(['off', 'insights', 'scored']);

const ZRetentionDays = z.number().int().min(1).max(36_500);

export const ZOrganization = z.object({
  id: z.uuid(),
  name: z.string(),
  emotionPolicy: ZOrgEmotionPolicy,
  retentionDays: ZRetentionDays.describe('Whole sessions, their answers, scores and media are deleted after this'),
  recordingRetentionDays: ZRetentionDays.nullable().describe(
    'Answer recordings and derived media; null keeps them as long as the session',
  ),
  frameRetentionDays: ZRetentionDays.nullable().describe('Raw video frames; null means the default of 30 days'),
});
export type TOrganization = z.infer<typeof ZOrganization>;

/** Only the fields sent change; `null` clears a shorter retention tier back to its default. */
export const ZUpdateOrganizationBody = z
  .strictObject({
    emotionPolicy: ZOrgEmotionPolicy.optional(),
    retentionDays: ZRetentionDays.optional(),
    recordingRetentionDays: ZRetentionDays.nullable().optional(),
    frameRetentionDays: ZRetentionDays.nullable().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, { message: 'Send at least one setting to change' });
export type TUpdateOrganizationBody = z.infer<typeof ZUpdateOrganizationBody>;
