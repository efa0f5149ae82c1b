// Real tier: batch video analysis runs Debian's ffmpeg, which scripts/test-all.sh installs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmotionService } from './emotion.service.ts';
import { FrameAnalyzer } from './frame-analyzer.ts';
import { LiveBlinkCounter } from './session/live-blink-counter.ts';
import { sharedDataPath } from './testing/shared-data.ts';

describe('EmotionService batch video analysis (ffmpeg)', () => {
  let service: EmotionService;
  beforeAll(async () => {
    service = new EmotionService(await FrameAnalyzer.create());
  });
  afterAll(async () => {
    await service.close();
  });

  it('counts a plausible number of blinks in a real 17 s frontal video', async () => {
    // Spontaneous blinking at rest is ≈ 8–21 per minute (Doughty 2001): 2–6 blinks in 17 s.
    // Checked by hand, this clip has 3 clear blinks.
    const { frames, summary } = await service.analyzeVideo(sharedDataPath('videos/neutral__neutral-1.mp4'), {
      fps: 15,
    });
    expect(frames).toBeGreaterThan(240);
    expect(summary.noFace.totalMs).toBe(0);
    expect(summary.blinks.count).toBeGreaterThanOrEqual(2);
    expect(summary.blinks.count).toBeLessThanOrEqual(6);
    expect(summary.blinks.baselineEar).toBeGreaterThan(0.25);
  });

  it('counts the same blinks frame by frame (as the broker consumer does) as over the whole video', async () => {
    const live = new LiveBlinkCounter();
    const { summary } = await service.analyzeVideo(sharedDataPath('videos/neutral__neutral-1.mp4'), {
      fps: 10,
      onFrame: (f) => {
        const face = f.ok ? f.faces[0] : undefined;
        live.add({ t: f.timestampMs, ear: face ? face.eyes.meanEar : null });
      },
    });
    expect(summary.blinks.count).toBeGreaterThanOrEqual(2);
    expect(live.total).toBe(summary.blinks.count);
  });

  it('reports a file that is no video (a transcript) as unsupported media', async () => {
    await expect(service.analyzeVideo(sharedDataPath('speech/q1_good.txt'), { fps: 5 })).rejects.toMatchObject({
      code: 'UNSUPPORTED_MEDIA_TYPE',
    });
  });
});
