import { AppError } from '../shared/app-error.ts';
import type { FrameAnalysis } from './emotion.types.ts';
import type { FaceStream, FrameAnalyzer } from './frame-analyzer.ts';
import {
  summarizeSession,
  toFrameRecord,
  type FrameRecord,
  type SessionSummary,
  type SummaryOptions,
} from './session/session-aggregator.ts';
import { probeVideo, readVideoFrames, VideoReadError } from './video/video-frames.ts';

/** One candidate's stream: frames in (with their capture time), a running summary out. */
export interface EmotionSession {
  /** Analyses one frame with face tracking; a corrupt frame yields an error result, never a throw. */
  analyzeFrame(bytes: Uint8Array, timestampMs: number): Promise<FrameAnalysis>;
  /** Adds a frame analysed elsewhere (e.g. by another process) to this session's record. */
  record(frame: FrameAnalysis): void;
  /** Blinks, expression timeline, no-face / several-faces / looking-away intervals so far. */
  summary(): SessionSummary;
  readonly records: readonly FrameRecord[];
}

export interface VideoAnalysisOptions {
  /** Frames per second to analyse (blink counting needs ≥ 10, see README). */
  fps: number;
  /** Scale frames to this width (height keeps the aspect ratio, even); default: as recorded. */
  width?: number;
  onProgress?: (p: { frames: number; timestampMs: number; durationMs: number }) => void;
  onFrame?: (frame: FrameAnalysis) => void;
  signal?: AbortSignal;
}

/** An encoded image (JPEG, PNG, WebP) and when it was captured. */
export interface StillFrame {
  bytes: Uint8Array;
  timestampMs: number;
}

export interface FramesAnalysisOptions {
  onProgress?: (p: { frames: number; timestampMs: number }) => void;
  onFrame?: (frame: FrameAnalysis) => void;
  signal?: AbortSignal;
}

export interface VideoAnalysis {
  frames: number;
  summary: SessionSummary;
  records: FrameRecord[];
}

/**
 * The emotion context's facade: per-frame analysis, per-session aggregation and batch video
 * analysis. Consent and organisation policy are the caller's to check before frames reach it.
 */
export class EmotionService {
  constructor(
    private readonly analyzer: FrameAnalyzer,
    private readonly summaryOptions: Partial<SummaryOptions> = {},
  ) {}

  /** A frame on its own (detector every time). */
  analyzeFrame(bytes: Uint8Array, timestampMs: number): Promise<FrameAnalysis> {
    return this.analyzer.analyzeFrame(bytes, timestampMs);
  }

  openSession(): EmotionSession {
    return this.sessionOn(this.analyzer.openStream());
  }

  /**
   * Face tracking for one stream without keeping its frames (the broker consumer holds many
   * sessions at once and aggregates elsewhere). A corrupt frame yields an error result.
   */
  trackFaces(): Pick<FaceStream, 'analyze'> {
    const stream = this.analyzer.openStream();
    return { analyze: (bytes, timestampMs) => stream.analyze(bytes, timestampMs) };
  }

  /** Batch mode: decode a stored video with ffmpeg at `fps` and analyse every frame. */
  async analyzeVideo(path: string, opts: VideoAnalysisOptions): Promise<VideoAnalysis> {
    if (!(opts.fps > 0 && opts.fps <= 60)) throw new AppError('VALIDATION_FAILED', 'fps must be in (0, 60]');
    const stream = this.analyzer.openStream();
    const session = this.sessionOn(stream);
    let frames = 0;
    try {
      const probe = await probeVideo(path);
      const size = opts.width
        ? { width: opts.width, height: 2 * Math.round((opts.width * probe.height) / probe.width / 2) }
        : {};
      for await (const f of readVideoFrames(path, { fps: opts.fps, ...size, signal: opts.signal })) {
        const result = await stream.analyzeImage(f.image, f.timestampMs);
        session.record(result);
        frames++;
        opts.onFrame?.(result);
        opts.onProgress?.({ frames, timestampMs: f.timestampMs, durationMs: probe.durationMs });
      }
    } catch (e) {
      if (e instanceof VideoReadError) {
        throw new AppError(e.reason === 'FFMPEG_MISSING' ? 'SERVICE_UNAVAILABLE' : 'UNSUPPORTED_MEDIA_TYPE', e.message);
      }
      throw e;
    }
    return { frames, summary: session.summary(), records: [...session.records] };
  }

  /**
   * Batch mode over frames already cut (e.g. the JPEGs video processing stored), in time order,
   * with face tracking from one frame to the next. A corrupt frame yields an error result.
   */
  async analyzeFrames(frames: AsyncIterable<StillFrame>, opts: FramesAnalysisOptions = {}): Promise<VideoAnalysis> {
    const stream = this.analyzer.openStream();
    const session = this.sessionOn(stream);
    let count = 0;
    for await (const f of frames) {
      opts.signal?.throwIfAborted();
      const result = await stream.analyze(f.bytes, f.timestampMs);
      session.record(result);
      count++;
      opts.onFrame?.(result);
      opts.onProgress?.({ frames: count, timestampMs: f.timestampMs });
    }
    return { frames: count, summary: session.summary(), records: [...session.records] };
  }

  close(): Promise<void> {
    return this.analyzer.close();
  }

  private sessionOn(stream: FaceStream): EmotionSession & { record(frame: FrameAnalysis): void } {
    const records: FrameRecord[] = [];
    const summaryOptions = this.summaryOptions;
    return {
      records,
      async analyzeFrame(bytes, timestampMs) {
        const result = await stream.analyze(bytes, timestampMs);
        records.push(toFrameRecord(result));
        return result;
      },
      record(frame) {
        records.push(toFrameRecord(frame));
      },
      summary: () => summarizeSession(records, summaryOptions),
    };
  }
}
