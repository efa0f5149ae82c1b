import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../apps/server/src/shared/testing/test-server.ts';
import { launchChromium } from './support/browser.ts';

describe('the web app in a real browser', () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('is served by the gateway and renders', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const res = await page.goto(server.url);
    expect(res?.status()).toBe(200);
    await page.waitForSelector('#root *');
    expect(await page.title()).toMatch(/Parley/);
    expect(errors).toEqual([]);
  });

  it('gets the real face video from the fake camera (frames differ and are not blank)', async () => {
    const page = await browser.newPage();
    await page.goto(server.url);
    const stats = await page.evaluate(async () => {
      const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: true });
      const video = document.createElement('video');
      video.muted = true;
      video.srcObject = stream;
      await video.play();
      const canvas = document.createElement('canvas');
      canvas.width = 160;
      canvas.height = 120;
      const ctx = canvas.getContext('2d')!;
      const grab = () => {
        ctx.drawImage(video, 0, 0, 160, 120);
        return Array.from(ctx.getImageData(0, 0, 160, 120).data.filter((_, i) => i % 4 !== 3));
      };
      await new Promise((r) => setTimeout(r, 500));
      const a = grab();
      await new Promise((r) => setTimeout(r, 1500));
      const b = grab();
      const mean = a.reduce((s, v) => s + v, 0) / a.length;
      const variance = a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length;
      const changed = a.filter((v, i) => Math.abs(v - (b[i] ?? v)) > 8).length / a.length;
      const tracks = stream
        .getTracks()
        .map((t) => t.kind)
        .sort();
      stream.getTracks().forEach((t) => t.stop());
      return { variance, changed, tracks };
    });
    expect(stats.tracks).toEqual(['audio', 'video']);
    expect(stats.variance).toBeGreaterThan(100); // a picture, not a flat test colour
    expect(stats.changed).toBeGreaterThan(0.01); // a moving video
  });
});
