/**
 * `node --import tsx bench/blink-rate.bench.ts [videos…]`: what frame rate blink counting needs.
 *
 * For each clip (default: ../shared/data/videos/neutral__*.mp4, frontal with natural blinks):
 * 1. the full pipeline with tracking at 30 frames/s gives the reference blink count;
 * 2. the pipeline is run again at 10, 5 and 2 frames/s (ffmpeg's fps filter: one sampling phase);
 * 3. the 30 frames/s EAR series is subsampled at every phase (every 3rd, 6th, 15th frame from
 *    each possible first frame) to average out where the samples happen to fall.
 * Recall = reference blinks with a detected blink overlapping them (±1 sample).
 * The last stdout line is one JSON object.
 */
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEmotionService, detectBlinks, type Blink, type EarSample } from '../apps/server/src/emotion/index.ts';

const here = dirname(fileURLToPath(import.meta.url));
const VIDEOS = resolve(here, '../../shared/data/videos');
const RATES = [10, 5, 2];

interface RateFigures {
  pipeline_count: number;
  pipeline_recall: number;
  phases: number;
  mean_count: number;
  mean_recall: number;
  phases_exact: number;
}
interface Row {
  video: string | undefined;
  reference_30fps: number;
  per_minute_30fps: number;
  rates: Record<string, RateFigures>;
}

function recall(reference: Blink[], found: Blink[], slackMs: number): number {
  if (!reference.length) return 1;
  const hit = reference.filter((r) =>
    found.some((f) => f.startMs <= r.endMs + slackMs && f.endMs >= r.startMs - slackMs),
  );
  return hit.length / reference.length;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const videos = args.length
    ? args
    : readdirSync(VIDEOS)
        .filter((f) => f.startsWith('neutral__') && f.endsWith('.mp4'))
        .sort()
        .map((f) => join(VIDEOS, f));
  const service = await createEmotionService();
  const perVideo: Row[] = [];
  for (const video of videos) {
    const ref = await service.analyzeVideo(video, { fps: 30 });
    const refBlinks = ref.summary.blinks.blinks;
    const series: EarSample[] = ref.records.map((r) => ({ t: r.t, ear: r.ear }));
    const rates: Record<string, RateFigures> = {};
    for (const fps of RATES) {
      const run = await service.analyzeVideo(video, { fps });
      const step = Math.round(30 / fps);
      const phases = [];
      for (let p = 0; p < step; p++) {
        const sub = series.filter((_, i) => i % step === p);
        const r = detectBlinks(sub);
        phases.push({ count: r.count, recall: recall(refBlinks, r.blinks, 1000 / fps) });
      }
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      rates[String(fps)] = {
        pipeline_count: run.summary.blinks.count,
        pipeline_recall: Number(recall(refBlinks, run.summary.blinks.blinks, 1000 / fps).toFixed(2)),
        phases: step,
        mean_count: Number(mean(phases.map((p) => p.count)).toFixed(2)),
        mean_recall: Number(mean(phases.map((p) => p.recall)).toFixed(2)),
        phases_exact: phases.filter((p) => p.count === refBlinks.length).length,
      };
    }
    const row = {
      video: video.split('/').pop(),
      reference_30fps: refBlinks.length,
      per_minute_30fps: Number((ref.summary.blinks.perMinute ?? 0).toFixed(1)),
      rates,
    };
    perVideo.push(row);
    console.log(JSON.stringify(row));
  }
  await service.close();
  const total = perVideo.reduce((s, v) => s + v.reference_30fps, 0);
  const summary = Object.fromEntries(
    RATES.map((fps) => {
      const rs = perVideo.map(
        (v) => v.rates[String(fps)] as { mean_count: number; mean_recall: number; pipeline_count: number },
      );
      return [
        `${fps}fps`,
        {
          pipeline_count: rs.reduce((s, r) => s + r.pipeline_count, 0),
          mean_count_over_phases: Number(rs.reduce((s, r) => s + r.mean_count, 0).toFixed(2)),
          mean_recall_over_phases: Number(
            (
              rs.reduce((s, r, i) => s + r.mean_recall * (perVideo[i] as Row).reference_30fps, 0) / (total || 1)
            ).toFixed(2),
          ),
        },
      ];
    }),
  );
  console.log(JSON.stringify({ videos: perVideo.length, reference_blinks_30fps: total, ...summary }));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
