import { createRequire } from 'node:module';
import type Sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FrameAnalysis, FrameOk } from './emotion.types.ts';
import { FrameAnalyzer } from './frame-analyzer.ts';
import { readSharedData as read } from './testing/shared-data.ts';

const sharp = createRequire(import.meta.url)('sharp') as typeof Sharp;

function ok(r: FrameAnalysis): FrameOk {
  if (!r.ok) throw new Error(`frame failed: ${r.error.code} ${r.error.message}`);
  return r;
}

describe('FrameAnalyzer on real images', () => {
  let analyzer: FrameAnalyzer;
  beforeAll(async () => {
    analyzer = await FrameAnalyzer.create();
  });
  afterAll(async () => {
    await analyzer.close();
  });

  it('finds exactly one face on a portrait, with a box around it, open eyes and a facing head', async () => {
    const r = ok(await analyzer.analyzeFrame(await read('faces/photos/happy__web3_jpeg.jpeg')));
    expect(r.faceCount).toBe(1);
    const face = r.faces[0]!;
    expect(face.box.width).toBeGreaterThan(r.width * 0.15);
    expect(face.box.x + face.box.width).toBeLessThanOrEqual(r.width);
    expect(face.eyes.meanEar).toBeGreaterThan(0.2);
    expect(Math.abs(face.headPose.yaw)).toBeLessThan(30);
    expect(face.expression.label).toBe('happy');
    const sum = Object.values(face.expression.probabilities).reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(1, 5);
  });

  it('finds no face on a blank image', async () => {
    const blank = await sharp({
      create: { width: 640, height: 480, channels: 3, background: { r: 128, g: 128, b: 128 } },
    })
      .jpeg()
      .toBuffer();
    const r = ok(await analyzer.analyzeFrame(new Uint8Array(blank)));
    expect(r.facePresent).toBe(false);
    expect(r.faces).toEqual([]);
  });

  it('returns a typed error for a truncated JPEG and for bytes that are no image, without throwing', async () => {
    const jpeg = await read('faces/photos/happy__web3_jpeg.jpeg');
    const truncated = await analyzer.analyzeFrame(jpeg.subarray(0, 600), 42);
    expect(truncated).toMatchObject({ ok: false, timestampMs: 42, error: { code: 'DECODE_FAILED' } });
    const text = await analyzer.analyzeFrame(new TextEncoder().encode('definitely not a picture'));
    expect(text).toMatchObject({ ok: false, error: { code: 'DECODE_FAILED' } });
    expect((await analyzer.analyzeFrame(new Uint8Array(0))).ok).toBe(false);
    // and the analyzer still works afterwards
    expect(ok(await analyzer.analyzeFrame(jpeg)).faceCount).toBe(1);
  });

  it('counts the faces of a group photo within one', async () => {
    const r = ok(await analyzer.analyzeFrame(await read('faces/groups/bbt4.jpg')));
    expect(Math.abs(r.faceCount - 6)).toBeLessThanOrEqual(1);
  });

  it('measures head yaw with the sign flipping when the image is mirrored', async () => {
    const bytes = await read('faces/photos/neutral__web3_jpeg.jpeg');
    const mirrored = new Uint8Array(await sharp(bytes).flop().png().toBuffer());
    const a = ok(await analyzer.analyzeFrame(bytes)).faces[0]!;
    const b = ok(await analyzer.analyzeFrame(mirrored)).faces[0]!;
    expect(Math.sign(a.headPose.yaw) === -Math.sign(b.headPose.yaw) || Math.abs(a.headPose.yaw) < 3).toBe(true);
    expect(Math.abs(a.headPose.yaw + b.headPose.yaw)).toBeLessThan(6);
    expect(Math.abs(a.headPose.roll + b.headPose.roll)).toBeLessThan(6);
  });

  it('classifies a 48×48 FER2013 crop as a whole-image face', async () => {
    const r = ok(await analyzer.analyzeFaceCrop(await read('faces/fer2013/happy__PrivateTest_10077120.jpg')));
    expect(r.wholeImageAsFace).toBe(true);
    expect(r.faces[0]?.expression.probabilities).toBeDefined();
  });

  it('tracks a face from frame to frame without re-running the detector each time', async () => {
    const frame = await read('faces/photos/happy__web3_jpeg.jpeg');
    const stream = analyzer.openStream();
    const results: FrameOk[] = [];
    for (let i = 0; i < 5; i++) results.push(ok(await stream.analyze(frame, i * 100)));
    expect(results.map((r) => r.detectorRan)).toEqual([true, false, false, false, false]);
    expect(results.every((r) => r.faceCount === 1 && r.faces[0]!.tracked === (r !== results[0]))).toBe(true);
  });
});
