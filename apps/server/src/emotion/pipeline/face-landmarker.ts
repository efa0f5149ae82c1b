import type { InferenceModel } from '../inference/onnx-model.ts';
import { roiToImage, sampleRoi, type RgbImage, type Roi } from '../image/rgb-image.ts';
import { MESH, type EyeSide, type Point3 } from './face-geometry.ts';

const MESH_SIZE = 192;
const IRIS_SIZE = 64;
/** Iris model output: 71 eye-region points then 5 iris points, x/y/z each. */
const IRIS_POINTS = 76;
/** Iris-model indices of the lower (9) and upper (7) eyelid contour, matching MESH order. */
const IRIS_LOWER = [0, 1, 2, 3, 4, 5, 6, 7, 8];
const IRIS_UPPER = [9, 10, 11, 12, 13, 14, 15];
/** Eye crop side = this × corner-to-corner distance (MediaPipe / Human use 2.3). */
const EYE_CROP_SCALE = 2.3;

export interface EyeLandmarks {
  /** 7 points, outer → inner corner. */
  upper: Point3[];
  /** 9 points, outer corner → inner corner. */
  lower: Point3[];
  /** Iris centre and four points on its rim. */
  iris: Point3[];
}

export interface FaceLandmarks {
  /** 468 points in image pixels (MediaPipe topology). */
  mesh: Point3[];
  /** Mesh model's face-presence probability for this crop. */
  faceConfidence: number;
  rightEye: EyeLandmarks;
  leftEye: EyeLandmarks;
}

function toImage(roi: Roi, out: number, x: number, y: number, z: number): Point3 {
  const [ix, iy] = roiToImage(roi, out, x, y);
  return [ix, iy, (z * roi.size) / out];
}

/** FaceMesh on a face ROI, then the Iris model on both eyes for a precise lid contour. */
export class FaceLandmarker {
  private readonly meshInput = new Float32Array(3 * MESH_SIZE * MESH_SIZE);
  private readonly irisInput = new Float32Array(2 * 3 * IRIS_SIZE * IRIS_SIZE);

  constructor(
    private readonly meshModel: InferenceModel,
    private readonly irisModel: InferenceModel | undefined,
  ) {}

  async landmarks(img: RgbImage, roi: Roi): Promise<FaceLandmarks> {
    sampleRoi(img, roi, { out: MESH_SIZE, channels: 'rgb', scale: 1 / 255, offset: [0] }, this.meshInput);
    const out = await this.meshModel.run(this.meshInput, [1, 3, MESH_SIZE, MESH_SIZE]);
    const flat = Object.values(out).find((t) => t.length === 468 * 3) as Float32Array;
    const flag = Object.values(out).find((t) => t.length === 1) as Float32Array;
    const mesh: Point3[] = [];
    for (let i = 0; i < 468; i++)
      mesh.push(toImage(roi, MESH_SIZE, flat[3 * i] as number, flat[3 * i + 1] as number, flat[3 * i + 2] as number));
    const faceConfidence = flag[0] as number;
    const fromMesh = (side: EyeSide): EyeLandmarks => ({
      upper: MESH[side].upper.map((i) => mesh[i] as Point3),
      lower: MESH[side].lower.map((i) => mesh[i] as Point3),
      iris: [],
    });
    if (!this.irisModel) return { mesh, faceConfidence, rightEye: fromMesh('rightEye'), leftEye: fromMesh('leftEye') };

    const eyeRoi = (side: EyeSide): Roi => {
      const a = mesh[MESH[side].outer] as Point3;
      const b = mesh[MESH[side].inner] as Point3;
      return {
        cx: (a[0] + b[0]) / 2,
        cy: (a[1] + b[1]) / 2,
        size: EYE_CROP_SCALE * Math.max(Math.abs(a[0] - b[0]), Math.abs(a[1] - b[1]), 1),
        angle: roi.angle,
      };
    };
    const rois: Record<EyeSide, Roi> = { rightEye: eyeRoi('rightEye'), leftEye: eyeRoi('leftEye') };
    const plane = 3 * IRIS_SIZE * IRIS_SIZE;
    // The model was trained on the subject's right eye; the left one is mirrored in and out.
    sampleRoi(img, rois.rightEye, { out: IRIS_SIZE, channels: 'rgb', scale: 1 / 255, offset: [0] }, this.irisInput, 0);
    sampleRoi(
      img,
      rois.leftEye,
      { out: IRIS_SIZE, channels: 'rgb', scale: 1 / 255, offset: [0], flip: true },
      this.irisInput,
      plane,
    );
    const res = Object.values(
      await this.irisModel.run(this.irisInput, [2, 3, IRIS_SIZE, IRIS_SIZE]),
    )[0] as Float32Array;
    const eye = (side: EyeSide, batch: number, flip: boolean): EyeLandmarks => {
      const base = batch * IRIS_POINTS * 3;
      const pt = (i: number): Point3 => {
        const x = res[base + 3 * i] as number;
        return toImage(
          rois[side],
          IRIS_SIZE,
          flip ? IRIS_SIZE - x : x,
          res[base + 3 * i + 1] as number,
          res[base + 3 * i + 2] as number,
        );
      };
      return {
        upper: IRIS_UPPER.map(pt),
        lower: IRIS_LOWER.map(pt),
        iris: [71, 72, 73, 74, 75].map(pt),
      };
    };
    return { mesh, faceConfidence, rightEye: eye('rightEye', 0, false), leftEye: eye('leftEye', 1, true) };
  }
}
