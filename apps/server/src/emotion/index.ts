/**
 * The emotion context: face detection, landmarks, eye aspect ratio and blinks, expressions,
 * head pose, gaze and frame quality, per frame and per session. This file is its only door.
 */
import type { AnalyzerOptions } from './frame-analyzer.ts';
import { FrameAnalyzer } from './frame-analyzer.ts';
import { EmotionService } from './emotion.service.ts';
import type { SummaryOptions } from './session/session-aggregator.ts';

export type * from './emotion.types.ts';
export {
  EmotionRepository,
  type AnalysisPermission,
  type EmotionAnalysisRow,
  type NewEmotionAnalysis,
} from './emotion.repository.ts';
export { EXPRESSIONS } from './pipeline/expression-classifier.ts';
export {
  DEFAULT_ANALYZER_OPTIONS,
  FrameAnalyzer,
  type AnalyzerOptions,
  type FaceStream,
  type RgbImage,
} from './frame-analyzer.ts';
export {
  EmotionService,
  type EmotionSession,
  type FramesAnalysisOptions,
  type StillFrame,
  type VideoAnalysis,
  type VideoAnalysisOptions,
} from './emotion.service.ts';
export {
  detectBlinks,
  DEFAULT_BLINK_OPTIONS,
  type Blink,
  type BlinkOptions,
  type BlinkReport,
  type EarSample,
} from './session/blink-detector.ts';
export {
  summarizeSession,
  toFrameRecord,
  type ExpressionSegment,
  type FrameRecord,
  type Interval,
  type SessionSummary,
  type SummaryOptions,
} from './session/session-aggregator.ts';
export { MODEL_SOURCES } from './inference/model-catalog.ts';
export {
  startEmotionConsumer,
  toAnalyzedEvent,
  toEmotionRow,
  DEFAULT_EMOTION_CONSUMER_OPTIONS,
  EMOTION_QUEUE,
  type EmotionConsumer,
  type EmotionConsumerDeps,
  type EmotionConsumerOptions,
  type EmotionRowMetadata,
} from './emotion.consumer.ts';
export { LiveBlinkCounter, type LiveBlinkOptions } from './session/live-blink-counter.ts';

/** Loads the models (≈0.5 s, converted in memory from npm packages) into a per-frame analyzer. */
export function createEmotionAnalyzer(options: Partial<AnalyzerOptions> = {}): Promise<FrameAnalyzer> {
  return FrameAnalyzer.create(options);
}

/** The facade the emotion role and the batch worker use. */
export async function createEmotionService(
  options: { analyzer?: Partial<AnalyzerOptions>; summary?: Partial<SummaryOptions> } = {},
): Promise<EmotionService> {
  return new EmotionService(await createEmotionAnalyzer(options.analyzer), options.summary);
}
