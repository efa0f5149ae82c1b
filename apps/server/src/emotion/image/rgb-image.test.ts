import { describe, expect, it } from 'vitest';
import { sampleRoi, type RgbImage, type Roi, type SampleOptions } from './rgb-image.ts';

/** The definition sampleRoi implements, one output pixel at a time: bilinear, zero outside. */
function reference(img: RgbImage, roi: Roi, opts: SampleOptions): Float32Array {
  const { out } = opts;
  const channels = opts.channels === 'rgb' ? 3 : 1;
  const result = new Float32Array(out * out * channels);
  const pixel = (xi: number, yi: number, c: number) =>
    xi < 0 || yi < 0 || xi >= img.width || yi >= img.height ? 0 : (img.data[(yi * img.width + xi) * 3 + c] as number);
  for (let v = 0; v < out; v++)
    for (let u = 0; u < out; u++) {
      const dx = (u + 0.5 - out / 2) * (roi.size / out);
      const dy = (v + 0.5 - out / 2) * (roi.size / out);
      const x = roi.cx + dx * Math.cos(roi.angle) - dy * Math.sin(roi.angle) - 0.5;
      const y = roi.cy + dx * Math.sin(roi.angle) + dy * Math.cos(roi.angle) - 0.5;
      const xf = Math.floor(x);
      const yf = Math.floor(y);
      const ax = x - xf;
      const ay = y - yf;
      const rgb = [0, 1, 2].map(
        (c) =>
          pixel(xf, yf, c) * (1 - ax) * (1 - ay) +
          pixel(xf + 1, yf, c) * ax * (1 - ay) +
          pixel(xf, yf + 1, c) * (1 - ax) * ay +
          pixel(xf + 1, yf + 1, c) * ax * ay,
      ) as [number, number, number];
      const col = opts.flip ? out - 1 - u : u;
      if (channels === 1) {
        result[v * out + col] =
          (0.2989 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) * opts.scale + (opts.offset[0] ?? 0);
      } else {
        for (let c = 0; c < 3; c++)
          result[c * out * out + v * out + col] = rgb[c]! * opts.scale + (opts.offset[c] ?? opts.offset[0] ?? 0);
      }
    }
  return result;
}

function noiseImage(width: number, height: number): RgbImage {
  let s = 12345;
  const data = Uint8Array.from({ length: width * height * 3 }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s % 256;
  });
  return { width, height, data };
}

describe('sampleRoi', () => {
  const img = noiseImage(97, 71);
  const rois: [string, Roi][] = [
    ['inside the image, upright', { cx: 48, cy: 35, size: 40, angle: 0 }],
    ['inside the image, rotated', { cx: 50, cy: 36, size: 30, angle: 0.37 }],
    ['across the left and top edges', { cx: 5, cy: 4, size: 30, angle: -0.2 }],
    ['across the right and bottom edges, upscaled', { cx: 92, cy: 68, size: 12, angle: 1.1 }],
    ['larger than the image', { cx: 48, cy: 35, size: 160, angle: 0 }],
  ];
  it.each(rois)(
    'crops a ROI %s exactly as bilinear sampling defines it, rgb and gray, plain and mirrored',
    (_, roi) => {
      for (const opts of [
        { out: 24, channels: 'rgb', scale: 1 / 255, offset: [-0.5, 0, 0.25] },
        { out: 17, channels: 'gray', scale: 1 / 127.5, offset: [-1] },
        { out: 24, channels: 'rgb', scale: 1, offset: [0], flip: true },
      ] satisfies SampleOptions[]) {
        const ours = sampleRoi(img, roi, opts);
        const expected = reference(img, roi, opts);
        let worst = 0;
        for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - expected[i]!));
        expect(worst).toBeLessThan(1e-3 * Math.max(1, opts.scale * 255));
      }
    },
  );
});
