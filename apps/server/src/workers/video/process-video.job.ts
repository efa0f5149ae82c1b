import { ZVideoUploadedEvent, type TVideoUploadedEvent } from '@parley/contracts';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Broker } from '../../infra/broker/broker.ts';
import type { Database } from '../../infra/db/database.ts';
import type { Storage } from '../../infra/storage/storage.ts';
import { isAppError } from '../../shared/app-error.ts';
import { defineJob, PermanentJobError, type JobContext } from '../job.ts';
import { markProcessed } from '../job-runner.ts';
import { publishVideoProcessed } from '../emotion-batch/analyze-recording.job.ts';
import { dlqOf, retryPolicyOf } from '../worker-topology.ts';
import { AnswerMediaRepository, type ProcessedMedia } from './answer-media.repository.ts';
import { isInputDamage, probe, runTool, TRUNCATED_INPUT } from './ffmpeg.ts';

export const VIDEO_QUEUE = 'video.processing';

export interface VideoProcessingOptions {
  /** Frames per second extracted for batch emotion analysis. */
  framesPerSecond: number;
  /** Height of extracted frames (width follows the aspect ratio). */
  frameHeight: number;
  /** Where ffmpeg works; a fresh folder per job, removed afterwards. */
  tmpDir: string;
}

/**
 * 10 frames/s: blink counting needs it (at 2 frames/s most blinks fall between frames; see the
 * emotion README, "Blinks: what frame rate is needed").
 */
export const DEFAULT_VIDEO_OPTIONS: VideoProcessingOptions = {
  framesPerSecond: 10,
  frameHeight: 360,
  tmpDir: tmpdir(),
};

/** Where the derived files of a recording live: beside it, under its name without the extension. */
export function derivedPrefix(sourceKey: string): string {
  return `${sourceKey.replace(/\.[A-Za-z0-9]+$/, '')}/derived/`;
}

/**
 * `video.processing` ← `interview.video.uploaded`: the browser's WebM becomes an MP4 (H.264/AAC,
 * fast start), a poster JPEG, 16 kHz mono audio for transcription and, with consent, JPEG frames
 * for batch emotion analysis. A damaged or truncated upload is recorded as failed and not retried.
 * Once committed it publishes `interview.video.processed` (again on a redelivery, in case the
 * first attempt died between commit and publish; the consumers are idempotent).
 */
export function processVideoJob(deps: {
  database: Database;
  storage: Storage;
  broker: Broker;
  options?: Partial<VideoProcessingOptions>;
}) {
  const options = { ...DEFAULT_VIDEO_OPTIONS, ...deps.options };
  const repo = new AnswerMediaRepository(deps.database);
  return defineJob<TVideoUploadedEvent>({
    name: 'video.process',
    queue: VIDEO_QUEUE,
    routingKeys: ['interview.video.uploaded'],
    payload: ZVideoUploadedEvent,
    timeoutMs: 10 * 60_000,
    retry: retryPolicyOf(VIDEO_QUEUE),
    deadLetterQueue: dlqOf(VIDEO_QUEUE),
    idempotency:
      'natural key: one answer_media row per answer; a ready/failed row for the same source is left alone; ' +
      'results commit with a processed_messages mark',
    handle: (event, ctx) => processVideo(event, ctx, { repo, storage: deps.storage, broker: deps.broker, options }),
  });
}

async function processVideo(
  event: TVideoUploadedEvent,
  ctx: JobContext,
  deps: { repo: AnswerMediaRepository; storage: Storage; broker: Broker; options: VideoProcessingOptions },
): Promise<void> {
  const { repo, storage, options } = deps;
  const answer = await repo.findAnswer(event.orgId, event.answerId);
  if (!answer || answer.mediaKey !== event.storageKey) {
    // Erased, or the recording was replaced or removed by retention since the upload.
    ctx.logger.info({ answerId: event.answerId }, 'recording no longer belongs to the answer; nothing to do');
    return;
  }
  const announce = (m: { framesPrefix: string | null; frameCount: number }) =>
    publishVideoProcessed(deps.broker, {
      orgId: event.orgId,
      sessionId: answer.sessionId,
      answerId: event.answerId,
      sourceKey: event.storageKey,
      framesPrefix: m.framesPrefix,
      frameCount: m.frameCount,
      framesPerSecond: options.framesPerSecond,
    });
  const existing = await repo.find(event.orgId, event.answerId);
  if (existing && existing.sourceKey === event.storageKey && existing.status !== 'processing') {
    ctx.logger.info({ status: existing.status }, 'recording already processed');
    if (existing.status === 'ready') await announce(existing);
    return;
  }
  await repo.begin({
    orgId: event.orgId,
    sessionId: answer.sessionId,
    answerId: event.answerId,
    sourceKey: event.storageKey,
  });

  const work = await mkdtemp(path.join(options.tmpDir, 'parley-video-'));
  try {
    let media: ProcessedMedia;
    try {
      media = await transcode(event, work, ctx.signal, storage, options);
    } catch (err) {
      const reason = permanentReason(err);
      if (!reason) throw err;
      await repo.fail(event.orgId, event.answerId, reason);
      throw new PermanentJobError(reason);
    }
    const committed = await repo.complete(event.orgId, event.answerId, media, (tx) =>
      markProcessed(tx, VIDEO_QUEUE, ctx.messageId),
    );
    ctx.logger.info({ frameCount: media.frameCount, durationMs: media.durationMs, committed }, 'recording processed');
    await announce(media);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

class DamagedRecording extends Error {}

function permanentReason(err: unknown): string | null {
  if (err instanceof DamagedRecording) return err.message;
  if (isInputDamage(err)) return `The recording cannot be decoded: ${(err as Error).message}`;
  if (isAppError(err) && (err.code === 'NOT_FOUND' || err.code === 'INTEGRITY_CHECK_FAILED')) {
    return `The recording cannot be read from storage: ${err.message}`;
  }
  return null;
}

/** An audio answer (the candidate recorded without a camera): only the 16 kHz WAV for transcription. */
async function audioOnly(
  event: TVideoUploadedEvent,
  input: string,
  work: string,
  signal: AbortSignal,
  storage: Storage,
  durationMs: number | null,
): Promise<ProcessedMedia> {
  const audio = path.join(work, 'audio.wav');
  const { stderr } = await runTool(
    'ffmpeg',
    ['-i', input, '-vn', '-ac', '1', '-ar', '16000', '-c:a', 'pcm_s16le', audio],
    { signal },
  );
  if (TRUNCATED_INPUT.test(stderr)) {
    throw new DamagedRecording(`The recording is truncated (${stderr.trim().split('\n')[0]})`);
  }
  const audioKey = `${derivedPrefix(event.storageKey)}audio.wav`;
  await storage.put(audioKey, await readFile(audio), 'audio/wav');
  return {
    videoKey: null,
    posterKey: null,
    audioKey,
    framesPrefix: null,
    frameCount: 0,
    durationMs,
    width: null,
    height: null,
  };
}

async function transcode(
  event: TVideoUploadedEvent,
  work: string,
  signal: AbortSignal,
  storage: Storage,
  options: VideoProcessingOptions,
): Promise<ProcessedMedia> {
  const input = path.join(work, 'input');
  const { bytes } = await storage.get(event.storageKey);
  await writeFile(input, bytes);

  const source = await probe(input, signal);
  if (!source.video && !source.audio) throw new DamagedRecording('The recording has neither video nor audio');
  if (!source.video) return audioOnly(event, input, work, signal, storage, source.durationMs ?? null);

  const mp4 = path.join(work, 'video.mp4');
  // Even dimensions for yuv420p; the audio track is optional (a muted microphone).
  const { stderr } = await runTool(
    'ffmpeg',
    [
      '-i',
      input,
      '-map',
      '0:v:0',
      '-map',
      '0:a:0?',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-crf',
      '23',
      '-pix_fmt',
      'yuv420p',
      '-vf',
      'scale=trunc(iw/2)*2:trunc(ih/2)*2',
      '-c:a',
      'aac',
      '-b:a',
      '128k',
      '-movflags',
      '+faststart',
      mp4,
    ],
    { signal },
  );
  if (TRUNCATED_INPUT.test(stderr)) {
    throw new DamagedRecording(`The recording is truncated (${stderr.trim().split('\n')[0]})`);
  }
  const out = await probe(mp4, signal);
  if (!out.video) throw new DamagedRecording('The recording has no decodable video');

  const poster = path.join(work, 'poster.jpg');
  const posterAt = out.durationMs ? Math.min(1, out.durationMs / 2000) : 0;
  await runTool('ffmpeg', ['-ss', posterAt.toFixed(2), '-i', mp4, '-frames:v', '1', '-q:v', '3', poster], { signal });

  let audio: string | null = null;
  if (source.audio) {
    audio = path.join(work, 'audio.wav');
    await runTool('ffmpeg', ['-i', input, '-vn', '-ac', '1', '-ar', '16000', '-c:a', 'pcm_s16le', audio], { signal });
  }

  const frameNames: string[] = [];
  if (event.videoAnalysis) {
    await runTool(
      'ffmpeg',
      [
        '-i',
        mp4,
        '-an',
        '-vf',
        `fps=${options.framesPerSecond},scale=-2:${options.frameHeight}`,
        '-q:v',
        '4',
        path.join(work, 'frame-%05d.jpg'),
      ],
      { signal },
    );
    for (const name of (await readdir(work)).filter((n) => n.startsWith('frame-')).sort()) frameNames.push(name);
  }

  const prefix = derivedPrefix(event.storageKey);
  const videoKey = `${prefix}video.mp4`;
  const posterKey = `${prefix}poster.jpg`;
  await storage.put(videoKey, await readFile(mp4), 'video/mp4');
  await storage.put(posterKey, await readFile(poster), 'image/jpeg');
  const audioKey = audio ? `${prefix}audio.wav` : null;
  if (audio && audioKey) await storage.put(audioKey, await readFile(audio), 'audio/wav');
  const framesPrefix = event.videoAnalysis ? `${prefix}frames/` : null;
  for (const name of frameNames) {
    signal.throwIfAborted();
    await storage.put(
      `${framesPrefix}${name.slice('frame-'.length)}`,
      await readFile(path.join(work, name)),
      'image/jpeg',
    );
  }
  return {
    videoKey,
    posterKey,
    audioKey,
    framesPrefix,
    frameCount: frameNames.length,
    durationMs: out.durationMs,
    width: out.video.width,
    height: out.video.height,
  };
}
