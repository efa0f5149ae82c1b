/**
 * `npm run eval:blinks -- <video> [--fps N]` (default 30)
 *
 * Analyses the video with face tracking at N frames/s and prints the blinks found, then one JSON
 * object (last line): blink count, blinks per minute and a summary of the EAR series.
 */
import { createEmotionService } from '../index.ts';

function quantile(sorted: number[], q: number): number | null {
  if (!sorted.length) return null;
  return Number((sorted[Math.min(sorted.length - 1, Math.round(q * (sorted.length - 1)))] as number).toFixed(3));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const video = args.find((a) => !a.startsWith('--'));
  if (!video) throw new Error('usage: eval-blinks <video> [--fps N]');
  const fpsArg = args.indexOf('--fps');
  const fps = fpsArg >= 0 ? Number(args[fpsArg + 1]) : 30;
  const service = await createEmotionService();
  const started = performance.now();
  const { frames, summary, records } = await service.analyzeVideo(video, { fps });
  await service.close();
  const ears = records.map((r) => r.ear).filter((e): e is number => e !== null);
  const sorted = [...ears].sort((a, b) => a - b);
  for (const b of summary.blinks.blinks) {
    console.log(`blink ${(b.startMs / 1000).toFixed(2)}s–${(b.endMs / 1000).toFixed(2)}s depth ${b.depth.toFixed(2)}`);
  }
  console.log(
    JSON.stringify({
      video,
      fps,
      frames,
      frames_with_face: ears.length,
      blink_count: summary.blinks.count,
      blinks_per_minute: summary.blinks.perMinute === null ? null : Number(summary.blinks.perMinute.toFixed(2)),
      long_closures: summary.blinks.longClosures,
      observed_s: Number((summary.blinks.observedMs / 1000).toFixed(2)),
      ear: {
        baseline: summary.blinks.baselineEar === null ? null : Number(summary.blinks.baselineEar.toFixed(3)),
        min: quantile(sorted, 0),
        p10: quantile(sorted, 0.1),
        median: quantile(sorted, 0.5),
        p90: quantile(sorted, 0.9),
        max: quantile(sorted, 1),
        mean: ears.length ? Number((ears.reduce((a, b) => a + b, 0) / ears.length).toFixed(3)) : null,
      },
      no_face_s: Number((summary.noFace.totalMs / 1000).toFixed(2)),
      dominant_expression: summary.expressions.dominant,
      seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
    }),
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
