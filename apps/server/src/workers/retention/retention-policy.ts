import { z } from 'zod';
import type { OrgSettings } from '../../infra/db/schema.ts';

/** How long an organisation keeps each kind of data, in days. */
export interface RetentionPolicy {
  /** Raw frames (live stream JPEGs and frames extracted from recordings). */
  framesDays: number;
  /** Answer recordings and everything derived from them (MP4, poster, audio). */
  recordingsDays: number;
  /** Whole sessions: answers, scores, analysis, reports and all their media. */
  sessionsDays: number;
}

const days = z.number().int().min(1).max(36_500);

/**
 * Read from `organizations.settings`: `retentionDays` (whole sessions, default 365),
 * `frameRetentionDays` (default 30) and `recordingRetentionDays` (default: `retentionDays`).
 * A shorter tier never outlives a longer one. An invalid value falls back to its default.
 */
export function retentionPolicyOf(settings: OrgSettings): RetentionPolicy {
  const read = (key: string) => {
    const parsed = days.safeParse(settings[key]);
    return parsed.success ? parsed.data : undefined;
  };
  const sessionsDays = read('retentionDays') ?? 365;
  const recordingsDays = Math.min(read('recordingRetentionDays') ?? sessionsDays, sessionsDays);
  const framesDays = Math.min(read('frameRetentionDays') ?? 30, recordingsDays);
  return { framesDays, recordingsDays, sessionsDays };
}

export const daysBefore = (now: Date, d: number): Date => new Date(now.getTime() - d * 24 * 3600 * 1000);
