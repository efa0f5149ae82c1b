import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { lastLines, runProcess } from './run-process.ts';
import type { AudioInput } from './transcriber.ts';
import { AppError } from '../../shared/app-error.ts';

/** Sample rate and layout pocketsphinx's en-us acoustic model was trained on. */
export const PCM_SAMPLE_RATE = 16_000;
const BYTES_PER_MS = (PCM_SAMPLE_RATE * 2) / 1000;

/**
 * Demuxers ffmpeg may use on an uploaded file. Without this list ffmpeg would also open playlists
 * (HLS, concat) that name other files or URLs, letting an upload make the server read local files
 * or fetch addresses. Browser recordings are WebM (matroska) or MP4; the rest are common uploads.
 */
const DEMUXERS = 'wav,matroska,webm,mov,mp4,m4a,3gp,3g2,mj2,ogg,mp3,flac,aac,w64,aiff,caf';

/** File extension of each audio content type: ffmpeg and providers pick the demuxer by it. */
const EXTENSIONS: Record<string, string> = {
  'audio/webm': 'webm',
  'video/webm': 'webm',
  'audio/wav': 'wav',
  'audio/wave': 'wav',
  'audio/x-wav': 'wav',
  'audio/vnd.wave': 'wav',
  'audio/mp4': 'm4a',
  'video/mp4': 'mp4',
  'audio/x-m4a': 'm4a',
  'audio/ogg': 'ogg',
  'audio/opus': 'ogg',
  'audio/mpeg': 'mp3',
  'audio/flac': 'flac',
};

export interface DecodeOptions {
  ffmpegPath: string;
  /** Parent of the per-call temporary folder. */
  tmpDir: string;
  /** Longer audio fails with PAYLOAD_TOO_LARGE; decoding stops just past it. */
  maxDurationMs: number;
  timeoutMs: number;
}

export interface DecodedAudio {
  /** Headerless signed 16-bit little-endian mono PCM at 16 kHz. */
  rawPath: string;
  durationMs: number;
  /** The per-call folder holding the decoded audio; `withDecodedAudio` removes it. */
  dir: string;
}

/**
 * Decodes any audio ffmpeg reads to 16 kHz mono PCM in a fresh temporary folder, runs `use` on
 * it and removes the folder whatever happens. Empty, corrupt or silent-by-absence (no audio
 * stream) input fails with UNSUPPORTED_MEDIA_TYPE.
 */
export async function withDecodedAudio<T>(
  audio: AudioInput,
  options: DecodeOptions,
  use: (decoded: DecodedAudio) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(path.join(options.tmpDir, 'parley-stt-'));
  try {
    let input: string;
    if ('bytes' in audio) {
      if (audio.bytes.byteLength === 0) throw unreadable('the audio is empty (0 bytes)', 'empty');
      const ext = extensionFor(audio.contentType) ?? 'bin';
      input = path.join(dir, `input.${ext}`);
      await writeFile(input, audio.bytes);
    } else {
      // Absolute, so a name starting with `-` or `proto:` is never read as an option or protocol.
      input = path.resolve(audio.path);
      const info = await stat(input).catch(() => undefined);
      if (!info?.isFile()) throw new AppError('NOT_FOUND', `audio file not found: ${audio.path}`);
      if (info.size === 0) throw unreadable('the audio file is empty (0 bytes)', 'empty');
    }
    const rawPath = path.join(dir, 'audio.raw');
    const result = await runProcess(
      options.ffmpegPath,
      [
        '-nostdin',
        '-hide_banner',
        '-loglevel',
        'error',
        '-protocol_whitelist',
        'file',
        '-format_whitelist',
        DEMUXERS,
        '-i',
        input,
        '-map',
        '0:a:0',
        '-vn',
        '-ac',
        '1',
        '-ar',
        String(PCM_SAMPLE_RATE),
        '-t',
        String((options.maxDurationMs + 1000) / 1000),
        '-f',
        's16le',
        '-c:a',
        'pcm_s16le',
        '-y',
        rawPath,
      ],
      { timeoutMs: options.timeoutMs },
    );
    if (result.code !== 0) {
      const reason = lastLines(result.stderrTail).replaceAll(input, 'input');
      throw unreadable(`the audio could not be decoded: ${reason || `ffmpeg exited with ${result.code}`}`, 'corrupt');
    }
    const bytes = (await stat(rawPath).catch(() => undefined))?.size ?? 0;
    const durationMs = Math.round(bytes / BYTES_PER_MS);
    if (durationMs < 100) throw unreadable('the audio has no samples', 'no-samples');
    if (durationMs > options.maxDurationMs) {
      throw new AppError('PAYLOAD_TOO_LARGE', `the audio is longer than ${options.maxDurationMs / 1000} s`);
    }
    return await use({ rawPath, durationMs, dir });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `audio/webm;codecs=opus` → `webm`; undefined for a type not in the list. */
export function extensionFor(contentType: string): string | undefined {
  return EXTENSIONS[contentType.split(';')[0]!.trim().toLowerCase()];
}

function unreadable(message: string, reason: string): AppError {
  return new AppError('UNSUPPORTED_MEDIA_TYPE', message, { reason });
}

export const defaultTmpDir = (): string => tmpdir();
