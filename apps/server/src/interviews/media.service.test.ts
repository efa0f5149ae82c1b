import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEGMENT_BYTES } from '../infra/storage/envelope.ts';
import { createLocalStorage, type LocalStorage } from '../infra/storage/local-storage.ts';
import { sealVersion1 } from '../infra/storage/testing.ts';
import type { StaffActor } from '../shared/actor.ts';
import { MediaRepository } from './media.repository.ts';
import { MediaService, type MediaContent } from './media.service.ts';
import { createHarness, invitedSession, type Harness } from './testing.ts';

const S = SEGMENT_BYTES;
const consentAll = { aiNotice: true as const, recording: true, videoAnalysis: false, textVersion: 'v1' };

async function bytesOf(content: MediaContent): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of content.body) parts.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts);
}

describe('recording playback reads only the bytes a range asks for', () => {
  let h: Harness;
  let dir: string;
  let storage: LocalStorage;
  const masterKey = randomBytes(32);
  let media: MediaService;
  let recruiter: StaffActor;
  let sessionId: string;
  let answerId: string;
  let mediaKey: string;
  /** A long recording as the upload would have stored it: 200 segments, about 12.5 MiB. */
  const recording = randomBytes(200 * S + 999);

  beforeAll(async () => {
    h = await createHarness();
    ({ recruiter } = await h.org());
    const s = await invitedSession(h, recruiter, { questions: 1 });
    sessionId = s.sessionId;
    await h.module.sessions.consent(s.candidate, s.sessionId, consentAll);
    await h.module.sessions.start(s.candidate, s.sessionId);
    const answer = await h.module.sessions.uploadRecording(
      s.candidate,
      s.sessionId,
      0,
      Readable.from([randomBytes(1000)]),
      'video/webm',
    );
    answerId = answer.id;
    mediaKey = answer.mediaKey!;
    // The service under test reads its own storage, holding a long recording at the row's key
    // (the harness caps uploads at 64 KiB).
    dir = await mkdtemp(path.join(tmpdir(), 'parley-media-'));
    storage = await createLocalStorage({ root: dir, masterKey });
    await storage.put(mediaKey, recording, 'video/webm');
    media = new MediaService(new MediaRepository(h.database), storage, h.accounts, h.clock.now, {
      mediaUrlTtlSeconds: 1800,
    });
  });
  afterAll(async () => {
    await h?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('serves one range of a media URL with the file size, decrypted from the segments that hold it', async () => {
    const { recordings } = await media.listRecordings(recruiter, sessionId);
    const token = new URL(recordings[0]!.url, 'https://parley.test').searchParams.get('token')!;
    const content = await media.read(
      { kind: 'anonymous', ip: '203.0.113.9' },
      answerId,
      'recording',
      'bytes=100000-1148575',
      token,
    );
    expect(content).toMatchObject({
      contentType: 'video/webm',
      size: recording.length,
      range: { kind: 'partial', start: 100_000, end: 1_148_575 },
    });
    expect((await bytesOf(content)).equals(recording.subarray(100_000, 1_148_576))).toBe(true);
  });

  it('resolves open-ended and suffix ranges and no Range at all, and sends nothing for a range past the end', async () => {
    const size = recording.length;
    const cases: [string | undefined, MediaContent['range'], Buffer][] = [
      [`bytes=${size - 10}-`, { kind: 'partial', start: size - 10, end: size - 1 }, recording.subarray(size - 10)],
      ['bytes=-65537', { kind: 'partial', start: size - 65537, end: size - 1 }, recording.subarray(size - 65537)],
      [undefined, { kind: 'whole' }, recording],
      [`bytes=${size}-`, { kind: 'unsatisfiable' }, Buffer.alloc(0)],
    ];
    for (const [header, range, bytes] of cases) {
      const content = await media.read(recruiter, answerId, 'recording', header);
      expect(content.range, header).toEqual(range);
      expect(content.size).toBe(size);
      expect((await bytesOf(content)).equals(bytes), header).toBe(true);
    }
  });

  it('keeps playing the intact parts of a damaged recording and refuses the damaged part, yielding none of it', async () => {
    const file = storage.fileOf(mediaKey);
    const raw = await readFile(file);
    raw[87 + 'video/webm'.length + 150 * (S + 16) + 7]! ^= 1; // inside segment 150
    await writeFile(file, raw);
    try {
      const early = await media.read(recruiter, answerId, 'recording', `bytes=0-${S * 10}`);
      expect((await bytesOf(early)).equals(recording.subarray(0, S * 10 + 1))).toBe(true);
      const bad = await media.read(recruiter, answerId, 'recording', `bytes=${149 * S}-${151 * S}`);
      const seen: Buffer[] = [];
      await expect(
        (async () => {
          for await (const chunk of bad.body) seen.push(Buffer.from(chunk as Uint8Array));
        })(),
      ).rejects.toMatchObject({ code: 'INTEGRITY_CHECK_FAILED' });
      expect(Buffer.concat(seen).equals(recording.subarray(149 * S, 150 * S))).toBe(true);
    } finally {
      await storage.put(mediaKey, recording, 'video/webm');
    }
  });

  it('still plays a recording stored before envelope version 2', async () => {
    await writeFile(storage.fileOf(mediaKey), sealVersion1(masterKey, recording, 'video/webm'));
    try {
      const content = await media.read(recruiter, answerId, 'recording', 'bytes=5000000-5999999');
      expect(content).toMatchObject({ size: recording.length, range: { kind: 'partial', start: 5_000_000 } });
      expect((await bytesOf(content)).equals(recording.subarray(5_000_000, 6_000_000))).toBe(true);
    } finally {
      await storage.put(mediaKey, recording, 'video/webm');
    }
  });

  it('checks the caller before reading anything: a candidate is refused, another organisation finds nothing', async () => {
    const other = await h.org('Other');
    await expect(media.read(other.recruiter, answerId, 'recording', 'bytes=0-9')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(
      media.read(
        { kind: 'candidate', userId: 'u', orgId: recruiter.orgId, sessionId: 's' },
        answerId,
        'recording',
        'bytes=0-9',
      ),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});
