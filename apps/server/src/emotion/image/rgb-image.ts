/** A decoded frame: 8-bit RGB, interleaved, row-major. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * A square region of the image, possibly rotated: the crop a model sees. `angle` is the rotation
 * (radians, counter-clockwise in image coordinates) that makes the face upright.
 */
export interface Roi {
  cx: number;
  cy: number;
  size: number;
  angle: number;
}

export type Point2 = readonly [number, number];

/** Maps a point of an output crop (pixel units of an `out`×`out` grid) back to the image. */
export function roiToImage(roi: Roi, out: number, u: number, v: number): [number, number] {
  const s = roi.size / out;
  const dx = (u - out / 2) * s;
  const dy = (v - out / 2) * s;
  const cos = Math.cos(roi.angle);
  const sin = Math.sin(roi.angle);
  return [roi.cx + dx * cos - dy * sin, roi.cy + dx * sin + dy * cos];
}

export interface SampleOptions {
  /** Output side in pixels. */
  out: number;
  /** 'rgb' → 3 planes; 'gray' → 1 plane (ITU-R 601 luma, as Human's emotion model expects). */
  channels: 'rgb' | 'gray';
  /** Each value v in 0..255 becomes v * scale + offset[c]. */
  scale: number;
  offset: readonly number[];
  /** Mirror the crop horizontally (test-time augmentation, iris model's other eye). */
  flip?: boolean;
}

/**
 * Crops a rotated square ROI, resizes it with bilinear sampling and writes it as a planar
 * (NCHW) float tensor into `target` at `targetOffset`. Pixels outside the image read as 0, as
 * tf.image.cropAndResize does, so the models see what they saw in the reference pipeline.
 */
export function sampleRoi(
  img: RgbImage,
  roi: Roi,
  opts: SampleOptions,
  target: Float32Array = new Float32Array(opts.out * opts.out * (opts.channels === 'rgb' ? 3 : 1)),
  targetOffset = 0,
): Float32Array {
  const { out, scale, offset } = opts;
  const { width: w, height: h, data } = img;
  const plane = out * out;
  const s = roi.size / out;
  const cos = Math.cos(roi.angle) * s;
  const sin = Math.sin(roi.angle) * s;
  // Sample at pixel centres: u + 0.5.
  const x0 = roi.cx - (out / 2) * cos + (out / 2) * sin + 0.5 * cos - 0.5 * sin - 0.5;
  const y0 = roi.cy - (out / 2) * sin - (out / 2) * cos + 0.5 * sin + 0.5 * cos - 0.5;
  const gray = opts.channels === 'gray';
  const o0 = offset[0] ?? 0;
  const o1 = offset[1] ?? o0;
  const o2 = offset[2] ?? o0;
  // Every bilinear tap inside the image (the usual case: a face well within the frame)? Then
  // the per-tap bounds checks go. Sample points are affine in (u, v): the grid's corners bound them.
  let inside = true;
  for (const [cu, cv] of [
    [0, 0],
    [out - 1, 0],
    [0, out - 1],
    [out - 1, out - 1],
  ] as const) {
    const x = x0 + cu * cos - cv * sin;
    const y = y0 + cu * sin + cv * cos;
    // The margin absorbs the rounding of the incremental stepping below.
    if (!(x >= 1e-3 && y >= 1e-3 && x < w - 1 - 1e-3 && y < h - 1 - 1e-3)) inside = false;
  }
  const stride = w * 3;
  for (let v = 0; v < out; v++) {
    let x = x0 - v * sin;
    let y = y0 + v * cos;
    const row = targetOffset + v * out;
    // Mirroring writes the row right to left.
    let at = opts.flip ? row + out - 1 : row;
    const step = opts.flip ? -1 : 1;
    for (let uu = 0; uu < out; uu++, x += cos, y += sin, at += step) {
      const xf = Math.floor(x);
      const yf = Math.floor(y);
      const ax = x - xf;
      const ay = y - yf;
      let r = 0;
      let g = 0;
      let b = 0;
      if (inside) {
        const p = yf * stride + xf * 3;
        const q = p + stride;
        const w00 = (1 - ax) * (1 - ay);
        const w01 = ax * (1 - ay);
        const w10 = (1 - ax) * ay;
        const w11 = ax * ay;
        r =
          (data[p] as number) * w00 +
          (data[p + 3] as number) * w01 +
          (data[q] as number) * w10 +
          (data[q + 3] as number) * w11;
        g =
          (data[p + 1] as number) * w00 +
          (data[p + 4] as number) * w01 +
          (data[q + 1] as number) * w10 +
          (data[q + 4] as number) * w11;
        b =
          (data[p + 2] as number) * w00 +
          (data[p + 5] as number) * w01 +
          (data[q + 2] as number) * w10 +
          (data[q + 5] as number) * w11;
      } else {
        for (let k = 0; k < 4; k++) {
          const xi = xf + (k & 1);
          const yi = yf + (k >> 1);
          if (xi < 0 || yi < 0 || xi >= w || yi >= h) continue;
          const wgt = (k & 1 ? ax : 1 - ax) * (k >> 1 ? ay : 1 - ay);
          const p = (yi * w + xi) * 3;
          r += (data[p] as number) * wgt;
          g += (data[p + 1] as number) * wgt;
          b += (data[p + 2] as number) * wgt;
        }
      }
      if (gray) {
        target[at] = (0.2989 * r + 0.587 * g + 0.114 * b) * scale + o0;
      } else {
        target[at] = r * scale + o0;
        target[at + plane] = g * scale + o1;
        target[at + 2 * plane] = b * scale + o2;
      }
    }
  }
  return target;
}

/** Mean luma (0..255) and a sharpness score over a ROI, sampled on a fixed 64×64 grid. */
export function regionQuality(img: RgbImage, roi: Roi): { brightness: number; sharpness: number } {
  const n = 64;
  const g = sampleRoi(img, roi, { out: n, channels: 'gray', scale: 1, offset: [0] });
  let sum = 0;
  for (let i = 0; i < g.length; i++) sum += g[i] as number;
  // Variance of the 4-neighbour Laplacian: a standard focus measure. The grid is fixed so the
  // number does not depend on the face's size in pixels.
  let lsum = 0;
  let lsq = 0;
  let count = 0;
  for (let y = 1; y < n - 1; y++) {
    for (let x = 1; x < n - 1; x++) {
      const i = y * n + x;
      const lap =
        4 * (g[i] as number) -
        (g[i - 1] as number) -
        (g[i + 1] as number) -
        (g[i - n] as number) -
        (g[i + n] as number);
      lsum += lap;
      lsq += lap * lap;
      count++;
    }
  }
  const mean = lsum / count;
  return { brightness: sum / g.length, sharpness: lsq / count - mean * mean };
}
