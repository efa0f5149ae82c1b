import { stat } from 'node:fs/promises';
import path from 'node:path';
import { createEmotionService, type EmotionService } from '../../emotion/index.ts';
import { AppError } from '../../shared/app-error.ts';
import { formatRecordingSummary, summarizeRecording, type RecordingSummary } from './recording-summary.ts';

export interface AnalyzeVideoCommandOptions {
  /** Where the summary table goes (stdout for the CLI). */
  out: NodeJS.WritableStream;
  /** Where progress goes: a redrawn bar when it is a terminal, plain lines otherwise. Default stderr. */
  progress?: NodeJS.WritableStream;
  /** Frames per second analysed; 10 is what blink counting needs (emotion README). */
  fps?: number;
  /** Scale frames to this width first (faster on large videos); default: as recorded. */
  width?: number;
  /** An already loaded service (tests, a long-lived process); otherwise one is loaded and closed. */
  service?: EmotionService;
  signal?: AbortSignal;
}

const BAR_WIDTH = 30;

/**
 * `parley analyze <video>`: batch emotion analysis of a local video file through the emotion
 * service's batch mode, with progress, then a summary table (faces, blinks per minute,
 * expression shares). Returns the summary.
 */
export async function analyzeVideoCommand(
  file: string,
  options: AnalyzeVideoCommandOptions,
): Promise<RecordingSummary> {
  const info = await stat(file).catch(() => null);
  if (!info?.isFile()) throw new AppError('NOT_FOUND', `No video file at ${file}`);
  const fps = options.fps ?? 10;
  const progress = options.progress ?? process.stderr;
  const report = progressReporter(progress, path.basename(file));
  const service = options.service ?? (await createEmotionService());
  try {
    const analysis = await service.analyzeVideo(file, {
      fps,
      width: options.width,
      signal: options.signal,
      onProgress: (p) => report(p.frames, p.durationMs > 0 ? Math.min(1, p.timestampMs / p.durationMs) : 0),
    });
    report(analysis.frames, 1, true);
    const summary = summarizeRecording(analysis.summary, analysis.records);
    options.out.write(`${formatRecordingSummary(summary, `${path.basename(file)} (${fps} frames/s)`)}\n`);
    return summary;
  } finally {
    if (!options.service) await service.close();
  }
}

/** A bar redrawn in place on a terminal; on a pipe or file, one line per tenth of the way. */
function progressReporter(stream: NodeJS.WritableStream, name: string) {
  const tty = (stream as NodeJS.WritableStream & { isTTY?: boolean }).isTTY === true;
  let lastTenth = -1;
  let lastDrawn = -1;
  return (frames: number, fraction: number, done = false) => {
    const percent = Math.round(fraction * 100);
    if (tty) {
      if (percent === lastDrawn && !done) return;
      lastDrawn = percent;
      const filled = Math.round(fraction * BAR_WIDTH);
      stream.write(
        `\r${name} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${String(percent).padStart(3)} % ${frames} frames`,
      );
      if (done) stream.write('\n');
      return;
    }
    const tenth = Math.floor(fraction * 10);
    if (tenth === lastTenth && !done) return;
    if (done && lastTenth === 10) return;
    lastTenth = tenth;
    stream.write(`${name}: ${percent} % (${frames} frames)\n`);
  };
}
