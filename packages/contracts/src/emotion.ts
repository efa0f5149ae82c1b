import { z } from 'zod';

/** Routing keys on the `interview.events` exchange that the emotion context reads and writes. */
export const EMOTION_EVENTS = {
  /** realtime → emotion (queue `emotion.analysis`): a frame is stored and waits for analysis. */
  frameCaptured: 'interview.frame.captured',
  /** emotion → realtime: one frame's result, for the candidate's status and the recruiter's live view. */
  emotionAnalyzed: 'interview.emotion.analyzed',
} as const;

/** The seven FER2013 classes, in the models' output order. */
export const EXPRESSION_LABELS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'] as const;
export const ZExpression = z.enum(EXPRESSION_LABELS);
export type TExpression = z.infer<typeof ZExpression>;

/**
 * Payload of `interview.frame.captured`. Ids and a storage key only: the JPEG itself stays in
 * object storage (messages never carry blobs). Unknown fields are ignored, not refused, so a
 * producer deployed ahead of its consumers can add one without dead-lettering every frame.
 */
export const ZFrameCaptured = z.object({
  sessionId: z.uuid().describe('Interview session the frame belongs to'),
  orgId: z.uuid().describe('Organisation owning the session (tenancy check)'),
  answerId: z.uuid().optional().describe('Answer being recorded when the frame was captured, if any'),
  frameId: z.uuid().describe('Row id in `frames`'),
  seq: z.int().min(0).max(2_147_483_647).describe('Client frame sequence number within the session'),
  capturedAt: z.int().min(0).describe('Capture time, ms since the Unix epoch'),
  storageKey: z.string().min(1).max(512).describe('Storage key of the JPEG frame'),
});
export type TFrameCaptured = z.infer<typeof ZFrameCaptured>;

export const ZHeadPose = z.object({
  yaw: z.number().describe('Degrees; > 0 turned to the image right'),
  pitch: z.number().describe('Degrees; > 0 looking up'),
  roll: z.number().describe('Degrees'),
});

/** Payload of `interview.emotion.analyzed`: what one frame showed, small enough to push to a socket. */
export const ZEmotionAnalyzed = z.object({
  analysisId: z.uuid().describe('Row id in `emotion_analysis`'),
  sessionId: z.uuid(),
  orgId: z.uuid(),
  answerId: z.uuid().nullable(),
  frameId: z.uuid(),
  seq: z.int(),
  capturedAt: z.int(),
  /** `error`: the frame could not be decoded or analysed (recorded, never retried). */
  status: z.enum(['ok', 'error']),
  errorCode: z.string().nullable(),
  faceDetected: z.boolean(),
  faceCount: z.int().min(0),
  emotion: ZExpression.nullable().describe('Dominant expression of the main face'),
  confidence: z.number().min(0).max(1).nullable(),
  probabilities: z.record(ZExpression, z.number()).nullable(),
  /** Mean eye aspect ratio of the main face (≈0.4 open, < 0.25 closed). */
  ear: z.number().nullable(),
  blinksInFrame: z.int().min(0).describe('Blinks that ended with this frame'),
  sessionBlinks: z
    .int()
    .min(0)
    .describe('Blinks counted in this session so far (by every consumer: the count’s state is shared in the cache)'),
  headPose: ZHeadPose.nullable(),
  gazeAway: z.boolean().nullable(),
  qualityOk: z.boolean().nullable(),
});
export type TEmotionAnalyzed = z.infer<typeof ZEmotionAnalyzed>;
