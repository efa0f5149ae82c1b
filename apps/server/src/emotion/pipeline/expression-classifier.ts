import type { InferenceModel } from '../inference/onnx-model.ts';
import { sampleRoi, type RgbImage, type Roi } from '../image/rgb-image.ts';

/** The seven FER classes, in the order every probability vector of this context uses. */
export const EXPRESSIONS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'] as const;
export type Expression = (typeof EXPRESSIONS)[number];

/** face-api's output order (neutral happy sad angry fearful disgusted surprised) → ours. */
const FACE_API_TO_FER = [6, 3, 4, 0, 2, 1, 5];

export interface ExpressionOptions {
  /** Crop side for each model as a multiple of the face's landmark box (see README). */
  xceptionCropScale: number;
  faceApiCropScale: number;
  /** Weight of face-api's net in the log-linear ensemble; the mini-Xception gets 1 − w. */
  faceApiWeight: number;
  /** Average each model over the crop and its mirror image. */
  flipAugment: boolean;
}

export interface ExpressionResult {
  probabilities: Record<Expression, number>;
  /** Per-model probabilities, for the record and for evaluation. */
  models: { xception: number[]; faceApi: number[] };
}

const XC = 64;
const FA = 112;
const FACE_API_MEAN = [122.782, 117.001, 104.298];

/**
 * The expression ensemble: Human's mini-Xception (trained on FER2013, grayscale 64 px) and
 * face-api's FaceExpressionNet (RGB 112 px), each run on its own crop of the same face and
 * combined as a weighted geometric mean — the models fail on different faces, and a geometric
 * mean lets a confident model outvote an unsure one without letting it override a confident
 * disagreement.
 */
export class ExpressionClassifier {
  private readonly xcInput = new Float32Array(2 * XC * XC);
  private readonly faInput = new Float32Array(2 * 3 * FA * FA);

  constructor(
    private readonly xception: InferenceModel,
    private readonly faceApi: InferenceModel,
    private readonly opts: ExpressionOptions,
  ) {}

  /** `face` is the square, roll-aligned box around the face's landmarks (scale 1). */
  async classify(img: RgbImage, face: Roi): Promise<ExpressionResult> {
    const batch = this.opts.flipAugment ? 2 : 1;
    const xcRoi = { ...face, size: face.size * this.opts.xceptionCropScale };
    const faRoi = { ...face, size: face.size * this.opts.faceApiCropScale };
    for (let b = 0; b < batch; b++) {
      const flip = b === 1;
      sampleRoi(
        img,
        xcRoi,
        { out: XC, channels: 'gray', scale: 1 / 127.5, offset: [-1], flip },
        this.xcInput,
        b * XC * XC,
      );
      sampleRoi(
        img,
        faRoi,
        { out: FA, channels: 'rgb', scale: 1 / 255, offset: FACE_API_MEAN.map((m) => -m / 255), flip },
        this.faInput,
        b * 3 * FA * FA,
      );
    }
    const [xcOut, faOut] = await Promise.all([
      this.xception.run(this.xcInput.subarray(0, batch * XC * XC), [batch, 1, XC, XC]),
      this.faceApi.run(this.faInput.subarray(0, batch * 3 * FA * FA), [batch, 3, FA, FA]),
    ]);
    const xc = meanRows(Object.values(xcOut)[0] as Float32Array, batch);
    const faRaw = meanRows(Object.values(faOut)[0] as Float32Array, batch);
    const fa = FACE_API_TO_FER.map((_, i) => faRaw[FACE_API_TO_FER.indexOf(i)] as number);
    return { probabilities: combine(xc, fa, this.opts.faceApiWeight), models: { xception: xc, faceApi: fa } };
  }
}

function meanRows(data: Float32Array, rows: number): number[] {
  const cols = data.length / rows;
  const out = new Array<number>(cols).fill(0);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) out[c] = (out[c] as number) + (data[r * cols + c] as number) / rows;
  return out;
}

/** Weighted geometric mean of two distributions, renormalised. */
export function combine(xception: number[], faceApi: number[], faceApiWeight: number): Record<Expression, number> {
  const eps = 1e-6;
  const logits = EXPRESSIONS.map(
    (_, i) =>
      (1 - faceApiWeight) * Math.log((xception[i] as number) + eps) +
      faceApiWeight * Math.log((faceApi[i] as number) + eps),
  );
  const max = Math.max(...logits);
  const exp = logits.map((l) => Math.exp(l - max));
  const sum = exp.reduce((a, b) => a + b, 0);
  return Object.fromEntries(EXPRESSIONS.map((e, i) => [e, (exp[i] as number) / sum])) as Record<Expression, number>;
}
