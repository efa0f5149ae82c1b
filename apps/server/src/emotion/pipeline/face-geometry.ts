import type { Roi } from '../image/rgb-image.ts';

/** A landmark in image pixels; z is depth in the same pixel scale (MediaPipe convention). */
export type Point3 = [number, number, number];

/**
 * MediaPipe FaceMesh indices. "Right" is the subject's right eye (image left when the camera
 * is not mirrored).
 */
export const MESH = {
  rightEye: {
    outer: 33,
    inner: 133,
    upper: [246, 161, 160, 159, 158, 157, 173],
    lower: [33, 7, 163, 144, 145, 153, 154, 155, 133],
  },
  leftEye: {
    outer: 263,
    inner: 362,
    upper: [466, 388, 387, 386, 385, 384, 398],
    lower: [263, 249, 390, 373, 374, 380, 381, 382, 362],
  },
  forehead: 10,
  chin: 152,
  rightCheek: 234,
  leftCheek: 454,
  noseTip: 1,
  /** Mouth corners on the subject's right (image left) and left. */
  mouthRight: 61,
  mouthLeft: 291,
} as const;

export type EyeSide = 'rightEye' | 'leftEye';

const dist = (a: readonly number[], b: readonly number[]) =>
  Math.hypot((a[0] as number) - (b[0] as number), (a[1] as number) - (b[1] as number));

/**
 * Eye aspect ratio (Soukupová & Čech 2016), over the three central lid pairs of the 16-point eye
 * contour: mean lid distance / corner distance. ≈0.25–0.35 open, < 0.1 closed.
 */
export function eyeAspectRatio(upper: readonly Point3[], lower: readonly Point3[]): number {
  // upper: 7 points outer→inner; lower: 9 points outer corner → inner corner.
  const pairs: [number, number][] = [
    [2, 3],
    [3, 4],
    [4, 5],
  ];
  let v = 0;
  for (const [u, l] of pairs) v += dist(upper[u] as Point3, lower[l] as Point3);
  const h = dist(lower[0] as Point3, lower[8] as Point3);
  return h > 0 ? v / pairs.length / h : 0;
}

/** Rotation (radians) that makes the line from the subject's right eye to the left eye horizontal. */
export function rollFromEyes(rightEye: readonly number[], leftEye: readonly number[]): number {
  return Math.atan2((leftEye[1] as number) - (rightEye[1] as number), (leftEye[0] as number) - (rightEye[0] as number));
}

/**
 * The square ROI around a set of landmarks in the face's own (roll-aligned) frame, enlarged by
 * `scale` — MediaPipe's landmarks-to-ROI step used to track a face without the detector.
 */
export function roiFromLandmarks(points: readonly Point3[], angle: number, scale: number): Roi {
  const cos = Math.cos(-angle);
  const sin = Math.sin(-angle);
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const p of points) {
    const x = p[0] * cos - p[1] * sin;
    const y = p[0] * sin + p[1] * cos;
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  const cxr = (minX + maxX) / 2;
  const cyr = (minY + maxY) / 2;
  // rotate the centre back to image coordinates
  const c2 = Math.cos(angle);
  const s2 = Math.sin(angle);
  return {
    cx: cxr * c2 - cyr * s2,
    cy: cxr * s2 + cyr * c2,
    size: Math.max(maxX - minX, maxY - minY) * scale,
    angle,
  };
}

export interface HeadPose {
  yaw: number;
  pitch: number;
  roll: number;
}

const sub = (a: Point3, b: Point3): Point3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const norm = (a: Point3): Point3 => {
  const l = Math.hypot(a[0], a[1], a[2]) || 1;
  return [a[0] / l, a[1] / l, a[2] / l];
};
const cross = (a: Point3, b: Point3): Point3 => [
  a[1] * b[2] - a[2] * b[1],
  a[2] * b[0] - a[0] * b[2],
  a[0] * b[1] - a[1] * b[0],
];
const deg = (r: number) => (r * 180) / Math.PI;

/**
 * Head pose in degrees from the 3D mesh: an orthonormal face frame built from the cheek line
 * (x) and the forehead→chin line (y). yaw > 0: the face turns towards the image's right;
 * pitch > 0: the chin rises (looking up); roll > 0: the head tilts clockwise in the image.
 */
export function headPose(mesh: readonly Point3[]): HeadPose {
  const x = norm(sub(mesh[MESH.leftCheek] as Point3, mesh[MESH.rightCheek] as Point3));
  const yRaw = norm(sub(mesh[MESH.chin] as Point3, mesh[MESH.forehead] as Point3));
  const z = norm(cross(x, yRaw));
  const y = cross(z, x);
  return {
    // MediaPipe z grows away from the camera: a cheek turning away has the larger z.
    yaw: deg(Math.atan2(x[2], x[0])),
    pitch: deg(Math.atan2(-y[2], y[1])),
    roll: deg(Math.atan2(x[1], x[0])),
  };
}

/**
 * Where the iris sits inside the eye opening, −1..1 on each axis (0 = centred): x along the
 * corner line (positive towards the image's right), y across it (positive downwards).
 */
export function irisOffset(
  irisCenter: Point3,
  outer: Point3,
  inner: Point3,
  upperMid: Point3,
  lowerMid: Point3,
): [number, number] {
  const ex = inner[0] - outer[0];
  const ey = inner[1] - outer[1];
  const len2 = ex * ex + ey * ey || 1;
  const mx = (outer[0] + inner[0]) / 2;
  const my = (outer[1] + inner[1]) / 2;
  // Project onto the corner line; sign so that +x is towards the image's right for both eyes.
  const along = ((irisCenter[0] - mx) * ex + (irisCenter[1] - my) * ey) / len2;
  const sign = ex >= 0 ? 1 : -1;
  const lidMidY = (upperMid[1] + lowerMid[1]) / 2;
  const lidMidX = (upperMid[0] + lowerMid[0]) / 2;
  const open = dist(upperMid, lowerMid) || 1;
  const nx = -ey / Math.sqrt(len2);
  const ny = ex / Math.sqrt(len2);
  const across = ((irisCenter[0] - lidMidX) * nx + (irisCenter[1] - lidMidY) * ny) / open;
  return [2 * along * sign, 2 * across * sign];
}
