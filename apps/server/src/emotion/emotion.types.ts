import type { Expression } from './pipeline/expression-classifier.ts';

export type { Expression } from './pipeline/expression-classifier.ts';

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface EyeState {
  /** Eye aspect ratio: ≈0.4–0.5 open, < 0.25 closed with this contour (see README). */
  ear: number;
  /** Iris position in the eye opening, −1..1 (0 = centred; +x image right, +y down). */
  iris: [number, number] | null;
}

export interface FaceQuality {
  /** Side of the face's landmark box, in pixels. */
  sizePx: number;
  /** Face box area / frame area. */
  areaRatio: number;
  /** Mean luma over the face, 0..255. */
  brightness: number;
  /** Variance of the Laplacian over the face on a fixed 64×64 grid (higher = sharper). */
  sharpness: number;
  /** Every quality figure within the range the models handle well (thresholds in README). */
  ok: boolean;
}

/** Landmarks summary: the mesh points a reviewer or a UI overlay needs, [x, y] in pixels. */
export interface FaceKeypoints {
  rightEyeOuter: [number, number];
  leftEyeOuter: [number, number];
  noseTip: [number, number];
  mouthRight: [number, number];
  mouthLeft: [number, number];
  chin: [number, number];
}

export interface FaceAnalysis {
  box: Box;
  /** Detector score when the detector found this face, else the landmark model's confidence. */
  score: number;
  /** Landmark model's probability that the crop holds a face. */
  landmarkConfidence: number;
  /** Whether this face came from the tracker (previous frame) rather than the detector. */
  tracked: boolean;
  eyes: { left: EyeState; right: EyeState; meanEar: number };
  expression: {
    label: Expression;
    confidence: number;
    probabilities: Record<Expression, number>;
  };
  /** Degrees; 0 = facing the camera. yaw > 0 turns to the image's right, pitch > 0 looks up. */
  headPose: { yaw: number; pitch: number; roll: number };
  gaze: { horizontal: number; vertical: number; away: boolean };
  quality: FaceQuality;
  /** A few mesh points in pixels (absent when the whole image was classified as a face). */
  keypoints?: FaceKeypoints;
  /** 468 × [x, y, z] in pixels, only when asked for (`includeMesh`). */
  mesh?: [number, number, number][];
}

export type FrameErrorCode = 'DECODE_FAILED' | 'ANALYSIS_FAILED';

export interface FrameOk {
  ok: true;
  timestampMs: number;
  width: number;
  height: number;
  faceCount: number;
  facePresent: boolean;
  /** Largest face first: the candidate, when there is one. */
  faces: FaceAnalysis[];
  /** The detector ran on this frame (otherwise faces were tracked from the previous one). */
  detectorRan: boolean;
  /** The whole image was classified as a face (face-crop mode). */
  wholeImageAsFace: boolean;
  elapsedMs: number;
}

export interface FrameError {
  ok: false;
  timestampMs: number;
  error: { code: FrameErrorCode; message: string };
}

/** The result for one frame: a corrupt frame is a value, never a thrown error. */
export type FrameAnalysis = FrameOk | FrameError;
