import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const SHARED_DATA = path.resolve(ROOT, '..', 'shared', 'data');
const CACHE = path.join(ROOT, '.cache', 'e2e');

/**
 * A face video from ../shared/data converted once to the raw Y4M that Chromium's fake camera
 * plays in a loop (and a WAV for the fake microphone). Kept under .cache/, never committed.
 */
export function fakeMedia(video = 'happy__happy-1.mp4', speech = 'q1_good.wav'): { y4m: string; wav: string } {
  mkdirSync(CACHE, { recursive: true });
  const y4m = path.join(CACHE, `${path.parse(video).name}.y4m`);
  if (!existsSync(y4m)) {
    const tmp = `${y4m}.${process.pid}.tmp.y4m`;
    execFileSync('ffmpeg', [
      '-nostdin',
      '-loglevel',
      'error',
      '-y',
      '-i',
      path.join(SHARED_DATA, 'videos', video),
      '-vf',
      'scale=640:480,fps=15',
      '-pix_fmt',
      'yuv420p',
      '-t',
      '8',
      tmp,
    ]);
    renameSync(tmp, y4m);
  }
  return { y4m, wav: path.join(SHARED_DATA, 'speech', speech) };
}

/** Debian's Chromium, headless, with a fake camera and microphone fed by real media. */
export async function launchChromium(media = fakeMedia()): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-video-capture=${media.y4m}`,
      `--use-file-for-fake-audio-capture=${media.wav}`,
    ],
  });
}
