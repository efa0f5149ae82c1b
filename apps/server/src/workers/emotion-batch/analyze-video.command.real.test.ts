// Real tier: `parley analyze` decodes a real face video with Debian's ffmpeg.
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmotionService, type EmotionService } from '../../emotion/index.ts';
import { DATA_DIR } from '../testing/worker-fixtures.ts';
import { analyzeVideoCommand } from './analyze-video.command.ts';

let service: EmotionService;
beforeAll(async () => {
  service = await createEmotionService();
});
afterAll(async () => {
  await service.close();
});

function capture(isTTY = false) {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean };
  stream.isTTY = isTTY;
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
}

describe('parley analyze <video>', () => {
  it('prints progress lines and a summary of faces, blinks per minute and expression shares for a real 17 s video', async () => {
    const out = capture();
    const progress = capture();
    const summary = await analyzeVideoCommand(`${DATA_DIR}/videos/neutral__neutral-1.mp4`, {
      out: out.stream,
      progress: progress.stream,
      service,
    });

    const table = out.text();
    expect(table).toContain('neutral__neutral-1.mp4 (10 frames/s)');
    expect(table).toMatch(/faces: frames with a face\s+\d+ \(100\.0 %\)/);
    expect(table).toMatch(/blinks per minute\s+\d+\.\d/);
    expect(table).toMatch(/expression: neutral\s+\d+\.\d %/);
    // 17 s at 10 frames/s; resting blink rate ≈ 8–21 per minute (the clip has 3 clear blinks).
    expect(summary.frames).toBeGreaterThan(160);
    expect(summary.faces.share).toBe(1);
    expect(summary.blinks.count).toBeGreaterThanOrEqual(2);
    expect(summary.blinks.count).toBeLessThanOrEqual(6);
    expect(summary.blinks.perMinute).toBeGreaterThan(5);
    expect(summary.blinks.perMinute).toBeLessThan(25);

    // Not a terminal: plain lines, one per tenth of the way, ending at 100 %.
    const lines = progress.text().trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(10);
    expect(lines.length).toBeLessThanOrEqual(12);
    expect(lines.every((l) => /^neutral__neutral-1\.mp4: \d+ % \(\d+ frames\)$/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/: 100 % /);
    expect(progress.text()).not.toContain('\r');
  });

  it('draws a bar redrawn in place when progress goes to a terminal', async () => {
    const out = capture();
    const progress = capture(true);
    await analyzeVideoCommand(`${DATA_DIR}/videos/happy__happy-1.mp4`, {
      out: out.stream,
      progress: progress.stream,
      service,
      fps: 5,
    });
    const text = progress.text();
    expect(text.startsWith('\rhappy__happy-1.mp4 [')).toBe(true);
    expect(text).toMatch(/\[#{30}\] 100 % \d+ frames\n$/);
    expect(text.split('\n')).toHaveLength(2);
    expect(out.text()).toContain('dominant expression');
  });

  it('reports a missing file and a file that is no video as errors', async () => {
    const out = capture();
    await expect(
      analyzeVideoCommand(`${DATA_DIR}/videos/missing.mp4`, { out: out.stream, service }),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(
      analyzeVideoCommand(`${DATA_DIR}/speech/q1_good.txt`, { out: out.stream, progress: capture().stream, service }),
    ).rejects.toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    expect(out.text()).toBe('');
  });
});
