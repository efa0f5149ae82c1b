import type { InferenceModel } from '../inference/onnx-model.ts';
import { sampleRoi, type RgbImage, type Roi } from '../image/rgb-image.ts';

/** A face found by the detector, in image pixels. */
export interface Detection {
  /** Axis-aligned box: x, y, width, height. */
  box: [number, number, number, number];
  score: number;
  /** BlazeFace keypoints: right eye, left eye, nose tip, mouth, right ear, left ear. */
  keypoints: [number, number][];
}

export interface DetectorOptions {
  minScore: number;
  iouThreshold: number;
  maxFaces: number;
}

const SIZE = 256;
const ANCHOR_SPEC = [
  { stride: 16, perCell: 2 },
  { stride: 32, perCell: 6 },
];

function makeAnchors(): Float32Array {
  const out: number[] = [];
  for (const { stride, perCell } of ANCHOR_SPEC) {
    const cells = Math.ceil(SIZE / stride);
    for (let y = 0; y < cells; y++)
      for (let x = 0; x < cells; x++)
        for (let n = 0; n < perCell; n++) out.push(stride * (x + 0.5), stride * (y + 0.5));
  }
  return Float32Array.from(out);
}

const ANCHORS = makeAnchors();
const ANCHOR_COUNT = ANCHORS.length / 2;

function iou(a: Detection['box'], b: Detection['box']): number {
  const x1 = Math.max(a[0], b[0]);
  const y1 = Math.max(a[1], b[1]);
  const x2 = Math.min(a[0] + a[2], b[0] + b[2]);
  const y2 = Math.min(a[1] + a[3], b[1] + b[3]);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  const union = a[2] * a[3] + b[2] * b[3] - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Weighted non-maximum suppression (MediaPipe's choice for BlazeFace): overlapping candidates
 * are averaged by score instead of discarded, which steadies the box from frame to frame.
 */
export function weightedNms(candidates: Detection[], iouThreshold: number, maxFaces: number): Detection[] {
  const rest = [...candidates].sort((a, b) => b.score - a.score);
  const kept: Detection[] = [];
  while (rest.length > 0 && kept.length < maxFaces) {
    const top = rest[0] as Detection;
    const group = rest.filter((c) => iou(top.box, c.box) >= iouThreshold);
    const others = rest.filter((c) => iou(top.box, c.box) < iouThreshold);
    const total = group.reduce((s, c) => s + c.score, 0);
    const box = [0, 0, 0, 0].map((_, i) => group.reduce((s, c) => s + (c.box[i] as number) * c.score, 0) / total);
    const keypoints = top.keypoints.map((_, k) =>
      [0, 1].map((j) => group.reduce((s, c) => s + ((c.keypoints[k] as number[])[j] as number) * c.score, 0) / total),
    );
    kept.push({ box: box as Detection['box'], score: top.score, keypoints: keypoints as [number, number][] });
    rest.splice(0, rest.length, ...others);
  }
  return kept;
}

/** BlazeFace on the whole frame, letterboxed to 256×256 so faces keep their proportions. */
export class FaceDetector {
  private readonly input = new Float32Array(3 * SIZE * SIZE);

  constructor(
    private readonly model: InferenceModel,
    private readonly opts: DetectorOptions,
  ) {}

  async detect(img: RgbImage): Promise<Detection[]> {
    const roi: Roi = { cx: img.width / 2, cy: img.height / 2, size: Math.max(img.width, img.height), angle: 0 };
    sampleRoi(img, roi, { out: SIZE, channels: 'rgb', scale: 1 / 127.5, offset: [-1] }, this.input);
    const out = await this.model.run(this.input, [1, 3, SIZE, SIZE]);
    // Two heads (16×16×2 and 8×8×6 anchors); tell them apart by length, not by output name.
    const tensors = Object.values(out).sort((a, b) => a.length - b.length);
    const [logitsSmall, logitsLarge, regsSmall, regsLarge] = tensors as [
      Float32Array,
      Float32Array,
      Float32Array,
      Float32Array,
    ];
    const logits = new Float32Array(ANCHOR_COUNT);
    logits.set(logitsLarge, 0);
    logits.set(logitsSmall, logitsLarge.length);
    const regs = new Float32Array(ANCHOR_COUNT * 16);
    regs.set(regsLarge, 0);
    regs.set(regsSmall, regsLarge.length);

    const k = roi.size / SIZE;
    const ox = roi.cx - roi.size / 2;
    const oy = roi.cy - roi.size / 2;
    const minLogit = Math.log(this.opts.minScore / (1 - this.opts.minScore));
    const candidates: Detection[] = [];
    for (let i = 0; i < ANCHOR_COUNT; i++) {
      const logit = logits[i] as number;
      if (logit < minLogit) continue;
      const r = i * 16;
      const ax = ANCHORS[2 * i] as number;
      const ay = ANCHORS[2 * i + 1] as number;
      const cx = (regs[r] as number) + ax;
      const cy = (regs[r + 1] as number) + ay;
      const w = regs[r + 2] as number;
      const h = regs[r + 3] as number;
      const keypoints: [number, number][] = [];
      for (let p = 0; p < 6; p++)
        keypoints.push([
          ox + ((regs[r + 4 + 2 * p] as number) + ax) * k,
          oy + ((regs[r + 5 + 2 * p] as number) + ay) * k,
        ]);
      candidates.push({
        box: [ox + (cx - w / 2) * k, oy + (cy - h / 2) * k, w * k, h * k],
        score: 1 / (1 + Math.exp(-Math.max(-80, Math.min(80, logit)))),
        keypoints,
      });
    }
    return weightedNms(candidates, this.opts.iouThreshold, this.opts.maxFaces);
  }
}
