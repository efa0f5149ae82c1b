import type { FaceAnalysis, FaceKeypoints, FrameAnalysis, FrameOk } from './emotion.types.ts';
import { decodeImage, FrameDecodeError } from './image/decode-image.ts';
import { regionQuality, type RgbImage, type Roi } from './image/rgb-image.ts';

export type { RgbImage } from './image/rgb-image.ts';
import { loadModelSet, type ModelSet } from './inference/model-catalog.ts';
import {
  EXPRESSIONS,
  ExpressionClassifier,
  type Expression,
  type ExpressionOptions,
} from './pipeline/expression-classifier.ts';
import { FaceDetector, type Detection, type DetectorOptions } from './pipeline/face-detector.ts';
import {
  eyeAspectRatio,
  headPose,
  irisOffset,
  MESH,
  rollFromEyes,
  roiFromLandmarks,
  type Point3,
} from './pipeline/face-geometry.ts';
import { FaceLandmarker, type EyeLandmarks, type FaceLandmarks } from './pipeline/face-landmarker.ts';

export interface AnalyzerOptions {
  detector: DetectorOptions;
  /** Below this FaceMesh confidence a crop is not a face (MediaPipe's tracking threshold). */
  minLandmarkConfidence: number;
  /** Landmark-model crop = this × the face box (MediaPipe uses 1.5 for detection and tracking). */
  landmarkRoiScale: number;
  expression: ExpressionOptions;
  /** With tracking, look for new faces with the detector at least this often (frame time). */
  redetectIntervalMs: number;
  /** Threads per inference; 1 = one core per analyzer, scale with processes. */
  intraOpThreads: number;
  /** Return the 468-point mesh of every face (large; off for stored results). */
  includeMesh: boolean;
  /** Gaze counts as "away" past these angles (head pose plus eye rotation), degrees. */
  gazeAwayYawDeg: number;
  gazeAwayPitchDeg: number;
}

export const DEFAULT_ANALYZER_OPTIONS: AnalyzerOptions = {
  detector: { minScore: 0.5, iouThreshold: 0.3, maxFaces: 10 },
  minLandmarkConfidence: 0.5,
  landmarkRoiScale: 1.5,
  expression: { xceptionCropScale: 1, faceApiCropScale: 1, faceApiWeight: 0.5, flipAugment: false },
  redetectIntervalMs: 1000,
  intraOpThreads: 1,
  includeMesh: false,
  gazeAwayYawDeg: 25,
  gazeAwayPitchDeg: 20,
};

/** Quality limits within which the models behave (see README "Frame quality"). */
const QUALITY = { minSizePx: 64, minBrightness: 40, maxBrightness: 220, minSharpness: 20 };
/** How far the eyes rotate for a full iris offset of 1, in degrees (≈ human oculomotor range). */
const EYE_ROTATION_DEG = 30;

/** Tracking state of one video stream (one candidate session). */
export interface FaceStream {
  analyze(bytes: Uint8Array, timestampMs: number): Promise<FrameAnalysis>;
  /** An already decoded frame (batch video analysis). */
  analyzeImage(image: RgbImage, timestampMs: number): Promise<FrameAnalysis>;
}

interface Located {
  roi: Roi;
  landmarks: FaceLandmarks;
  score: number;
  tracked: boolean;
}

/**
 * Per-frame analysis: decode → BlazeFace → FaceMesh (+ Iris) → eye aspect ratios, head pose,
 * gaze, quality → expression ensemble. Calls are serialised: the pre-allocated model inputs are
 * shared, and one inference thread per analyzer is the unit of scaling.
 */
export class FrameAnalyzer {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly detector: FaceDetector;
  private readonly landmarker: FaceLandmarker;
  private readonly meshOnly: FaceLandmarker;
  private readonly expressions: ExpressionClassifier;

  private constructor(
    private readonly models: ModelSet,
    readonly options: AnalyzerOptions,
  ) {
    this.detector = new FaceDetector(models.detector, options.detector);
    this.landmarker = new FaceLandmarker(models.mesh, models.iris);
    this.meshOnly = new FaceLandmarker(models.mesh, undefined);
    this.expressions = new ExpressionClassifier(models.emotionXception, models.emotionFaceApi, options.expression);
  }

  static async create(options: Partial<AnalyzerOptions> = {}): Promise<FrameAnalyzer> {
    const opts = { ...DEFAULT_ANALYZER_OPTIONS, ...options };
    return new FrameAnalyzer(await loadModelSet({ intraOpThreads: opts.intraOpThreads }), opts);
  }

  /** One frame on its own: the detector always runs. */
  analyzeFrame(bytes: Uint8Array, timestampMs = 0): Promise<FrameAnalysis> {
    return this.serial(() => this.run(bytes, timestampMs, undefined));
  }

  /**
   * An image that is already a tight face crop (e.g. a 48×48 FER2013 face): no detector, the
   * whole image is classified as the face. Landmark features are not computed.
   */
  analyzeFaceCrop(bytes: Uint8Array, timestampMs = 0): Promise<FrameAnalysis> {
    return this.serial(async () => {
      const start = performance.now();
      let img: RgbImage;
      try {
        img = await decodeImage(bytes);
      } catch (e) {
        return decodeFailure(e, timestampMs);
      }
      const roi: Roi = { cx: img.width / 2, cy: img.height / 2, size: Math.max(img.width, img.height), angle: 0 };
      const expr = await this.expressions.classify(img, roi);
      const face: FaceAnalysis = {
        box: { x: 0, y: 0, width: img.width, height: img.height },
        score: 0,
        landmarkConfidence: 0,
        tracked: false,
        eyes: { left: { ear: 0, iris: null }, right: { ear: 0, iris: null }, meanEar: 0 },
        expression: summarise(expr.probabilities),
        headPose: { yaw: 0, pitch: 0, roll: 0 },
        gaze: { horizontal: 0, vertical: 0, away: false },
        quality: { sizePx: roi.size, areaRatio: 1, ...regionQuality(img, roi), ok: true },
      };
      return {
        ok: true,
        timestampMs,
        width: img.width,
        height: img.height,
        faceCount: 1,
        facePresent: true,
        faces: [face],
        detectorRan: false,
        wholeImageAsFace: true,
        elapsedMs: performance.now() - start,
      };
    });
  }

  /** A stream keeps faces from frame to frame and runs the detector only when needed. */
  openStream(): FaceStream {
    const state: TrackState = { rois: [], lastDetectMs: -Infinity, lastMs: -Infinity };
    return {
      analyze: (bytes, ts) => this.serial(() => this.run(bytes, ts, state)),
      analyzeImage: (image, ts) => this.serial(() => this.run(image, ts, state)),
    };
  }

  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
    await Promise.all(Object.values(this.models).map((m) => m.dispose()));
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const next = this.queue.then(task, task);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async run(
    input: Uint8Array | RgbImage,
    timestampMs: number,
    track: TrackState | undefined,
  ): Promise<FrameAnalysis> {
    const start = performance.now();
    let img: RgbImage;
    try {
      img = input instanceof Uint8Array ? await decodeImage(input) : input;
    } catch (e) {
      return decodeFailure(e, timestampMs);
    }
    try {
      const { located, detectorRan } = await this.locate(img, timestampMs, track);
      const faces: FaceAnalysis[] = [];
      for (const l of located) faces.push(await this.describe(img, l));
      faces.sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height);
      const result: FrameOk = {
        ok: true,
        timestampMs,
        width: img.width,
        height: img.height,
        faceCount: faces.length,
        facePresent: faces.length > 0,
        faces,
        detectorRan,
        wholeImageAsFace: false,
        elapsedMs: performance.now() - start,
      };
      return result;
    } catch (e) {
      return {
        ok: false,
        timestampMs,
        error: { code: 'ANALYSIS_FAILED', message: e instanceof Error ? e.message : String(e) },
      };
    }
  }

  private async locate(
    img: RgbImage,
    ts: number,
    track: TrackState | undefined,
  ): Promise<{ located: Located[]; detectorRan: boolean }> {
    const o = this.options;
    const located: Located[] = [];
    let detectorRan = false;
    const runDetector = async (): Promise<Located[]> => {
      detectorRan = true;
      const found: Located[] = [];
      for (const d of await this.detector.detect(img)) {
        // Skip detections a tracked face already covers.
        if (located.some((l) => contains(l.roi, d))) continue;
        // First pass on the detector's box, second on the box the landmarks give (as tracking would).
        const first = await this.meshOnly.landmarks(img, roiFromDetection(d, o.landmarkRoiScale));
        if (first.faceConfidence < o.minLandmarkConfidence) continue;
        const roi = trackingRoi(first.mesh, o.landmarkRoiScale);
        const landmarks = await this.landmarker.landmarks(img, roi);
        if (landmarks.faceConfidence < o.minLandmarkConfidence) continue;
        found.push({ roi, landmarks, score: d.score, tracked: false });
      }
      return found;
    };

    const outOfOrder = track !== undefined && ts < track.lastMs;
    const due = !track || outOfOrder || track.rois.length === 0 || ts - track.lastDetectMs >= o.redetectIntervalMs;
    if (track && !outOfOrder) {
      let lost = false;
      for (const roi of track.rois) {
        const landmarks = await this.landmarker.landmarks(img, roi);
        if (landmarks.faceConfidence >= o.minLandmarkConfidence) {
          located.push({ roi, landmarks, score: landmarks.faceConfidence, tracked: true });
        } else lost = true;
      }
      if (due || lost) located.push(...(await runDetector()));
    } else if (due) {
      located.push(...(await runDetector()));
    }
    const unique = dedupe(located);
    if (track) {
      track.rois = unique.map((l) => trackingRoi(l.landmarks.mesh, o.landmarkRoiScale));
      if (detectorRan) track.lastDetectMs = ts;
      track.lastMs = ts;
    }
    return { located: unique, detectorRan };
  }

  private async describe(img: RgbImage, l: Located): Promise<FaceAnalysis> {
    const { mesh } = l.landmarks;
    const angle = rollFromEyes(mesh[MESH.rightEye.outer] as Point3, mesh[MESH.leftEye.outer] as Point3);
    const faceRoi = roiFromLandmarks(mesh, angle, 1);
    const expr = await this.expressions.classify(img, faceRoi);
    const box = boundingBox(mesh, img);
    const right = eyeState(l.landmarks.rightEye);
    const left = eyeState(l.landmarks.leftEye);
    const pose = headPose(mesh);
    const irises = [right.iris, left.iris].filter((i): i is [number, number] => i !== null);
    const gx = irises.length ? irises.reduce((s, i) => s + i[0], 0) / irises.length : 0;
    const gy = irises.length ? irises.reduce((s, i) => s + i[1], 0) / irises.length : 0;
    // Where the eyes point ≈ head rotation + eye rotation in the head (small-angle sum).
    const lookYaw = pose.yaw + gx * EYE_ROTATION_DEG;
    const lookPitch = pose.pitch - gy * EYE_ROTATION_DEG;
    const q = regionQuality(img, faceRoi);
    const quality = {
      sizePx: faceRoi.size,
      areaRatio: (box.width * box.height) / (img.width * img.height),
      brightness: q.brightness,
      sharpness: q.sharpness,
      ok:
        faceRoi.size >= QUALITY.minSizePx &&
        q.brightness >= QUALITY.minBrightness &&
        q.brightness <= QUALITY.maxBrightness &&
        q.sharpness >= QUALITY.minSharpness,
    };
    return {
      box,
      score: l.score,
      landmarkConfidence: l.landmarks.faceConfidence,
      tracked: l.tracked,
      eyes: { left, right, meanEar: (left.ear + right.ear) / 2 },
      expression: summarise(expr.probabilities),
      headPose: pose,
      gaze: {
        horizontal: gx,
        vertical: gy,
        away: Math.abs(lookYaw) > this.options.gazeAwayYawDeg || Math.abs(lookPitch) > this.options.gazeAwayPitchDeg,
      },
      quality,
      keypoints: keypoints(mesh),
      ...(this.options.includeMesh ? { mesh: mesh.map((p) => [p[0], p[1], p[2]] as [number, number, number]) } : {}),
    };
  }
}

interface TrackState {
  rois: Roi[];
  lastDetectMs: number;
  lastMs: number;
}

function decodeFailure(e: unknown, timestampMs: number): FrameAnalysis {
  const message = e instanceof FrameDecodeError ? e.message : e instanceof Error ? e.message : String(e);
  return { ok: false, timestampMs, error: { code: 'DECODE_FAILED', message } };
}

function summarise(p: Record<Expression, number>): FaceAnalysis['expression'] {
  let label: Expression = 'neutral';
  for (const e of EXPRESSIONS) if (p[e] > p[label]) label = e;
  return { label, confidence: p[label], probabilities: p };
}

function eyeState(eye: EyeLandmarks): FaceAnalysis['eyes']['left'] {
  const ear = eyeAspectRatio(eye.upper, eye.lower);
  const centre = eye.iris[0];
  const iris = centre
    ? irisOffset(centre, eye.lower[0] as Point3, eye.lower[8] as Point3, eye.upper[3] as Point3, eye.lower[4] as Point3)
    : null;
  return { ear, iris };
}

function keypoints(mesh: Point3[]): FaceKeypoints {
  const at = (i: number): [number, number] => {
    const p = mesh[i] as Point3;
    return [Math.round(p[0] * 10) / 10, Math.round(p[1] * 10) / 10];
  };
  return {
    rightEyeOuter: at(MESH.rightEye.outer),
    leftEyeOuter: at(MESH.leftEye.outer),
    noseTip: at(MESH.noseTip),
    mouthRight: at(MESH.mouthRight),
    mouthLeft: at(MESH.mouthLeft),
    chin: at(MESH.chin),
  };
}

function roiFromDetection(d: Detection, scale: number): Roi {
  const [x, y, w, h] = d.box;
  const [re, le] = d.keypoints as [[number, number], [number, number]];
  return { cx: x + w / 2, cy: y + h / 2, size: Math.max(w, h) * scale, angle: rollFromEyes(re, le) };
}

function trackingRoi(mesh: Point3[], scale: number): Roi {
  const angle = rollFromEyes(mesh[MESH.rightEye.outer] as Point3, mesh[MESH.leftEye.outer] as Point3);
  return roiFromLandmarks(mesh, angle, scale);
}

function contains(roi: Roi, d: Detection): boolean {
  const [x, y, w, h] = d.box;
  return Math.hypot(x + w / 2 - roi.cx, y + h / 2 - roi.cy) < roi.size / 3;
}

function dedupe(faces: Located[]): Located[] {
  const sorted = [...faces].sort((a, b) => b.landmarks.faceConfidence - a.landmarks.faceConfidence);
  const kept: Located[] = [];
  for (const f of sorted)
    if (!kept.some((k) => Math.hypot(k.roi.cx - f.roi.cx, k.roi.cy - f.roi.cy) < Math.min(k.roi.size, f.roi.size) / 3))
      kept.push(f);
  return kept;
}

function boundingBox(mesh: Point3[], img: RgbImage): FaceAnalysis['box'] {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const p of mesh) {
    minX = Math.min(minX, p[0]);
    minY = Math.min(minY, p[1]);
    maxX = Math.max(maxX, p[0]);
    maxY = Math.max(maxY, p[1]);
  }
  const x = Math.max(0, minX);
  const y = Math.max(0, minY);
  return { x, y, width: Math.min(img.width, maxX) - x, height: Math.min(img.height, maxY) - y };
}
