import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cache } from '../infra/cache/cache.ts';
import type { StaffActor } from '../shared/actor.ts';
import { MediaRepository } from './media.repository.ts';
import { RecordingViews, type AuditLog } from './recording-views.ts';
import { createHarness, invitedSession, type Harness } from './testing.ts';

/**
 * The audit of recording views, with each "interview instance" on its own client of one shared
 * cache: in-memory clients on one hub in the unit tier, Redis connections in the real tier.
 */
export function recordingViewsSuite(name: string, cacheClient: () => Cache): void {
  describe(`recording views audited once per media URL (${name})`, () => {
    let h: Harness;
    let recruiter: StaffActor;
    let answerId: string;
    let sessionId: string;
    const caches: Cache[] = [];

    beforeAll(async () => {
      h = await createHarness();
      ({ recruiter } = await h.org());
      const s = await invitedSession(h, recruiter, { questions: 1 });
      await h.module.sessions.consent(s.candidate, s.sessionId, {
        aiNotice: true,
        recording: true,
        videoAnalysis: false,
        textVersion: 'v1',
      });
      await h.module.sessions.start(s.candidate, s.sessionId);
      const answer = await h.module.sessions.uploadRecording(
        s.candidate,
        s.sessionId,
        0,
        Readable.from([Buffer.alloc(512, 7)]),
        'video/webm',
      );
      answerId = answer.id;
      sessionId = s.sessionId;
    });
    afterAll(async () => {
      for (const cache of caches) await cache.close();
      await h.close();
    });

    /** One interview instance's audit of views, on its own client of the shared cache. */
    function instance(log: AuditLog = h.accounts): RecordingViews {
      const cache = cacheClient();
      caches.push(cache);
      return new RecordingViews(cache, h.accounts, log, new MediaRepository(h.database), 60);
    }

    const anonymous = { kind: 'anonymous' as const, ip: '203.0.113.9' };
    const rowsFor = (answer: string) => h.accounts.audited.filter((e) => e.targetId === answer);

    it('writes one row for a media URL whose ranges are spread over several interview instances', async () => {
      const { token } = await h.accounts.issueMediaToken(recruiter, `answer:${answerId}`, 60);
      const [a, b] = [instance(), instance()];
      await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).record(anonymous, answerId, token)));
      expect(rowsFor(answerId)).toEqual([
        {
          orgId: recruiter.orgId,
          actorId: recruiter.userId,
          action: 'recording.viewed',
          targetType: 'answer',
          targetId: answerId,
          ip: anonymous.ip,
          metadata: { sessionId, position: 0, attempt: 1, via: 'media_url' },
        },
      ]);
    });

    it('fails the request when the row cannot be written, and writes it on the next request', async () => {
      const { token } = await h.accounts.issueMediaToken(recruiter, `answer:${answerId}`, 60);
      const before = rowsFor(answerId).length;
      const failing = instance({
        audit: () => Promise.reject(new Error('audit log unavailable')),
      });
      await expect(failing.record(anonymous, answerId, token)).rejects.toThrow('audit log unavailable');
      expect(rowsFor(answerId)).toHaveLength(before);
      await instance().record(anonymous, answerId, token);
      await instance().record(anonymous, answerId, token);
      expect(rowsFor(answerId)).toHaveLength(before + 1);
    });
  });
}
