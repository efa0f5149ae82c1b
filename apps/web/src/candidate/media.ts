import type { RealtimeClient } from '../realtime/realtime-client.ts';
import { pickRecordingType } from './take-flow.ts';

/** Asks for the camera and microphone; the error says which one failed and why, for people. */
export async function openDevices(opts: { audio: boolean; video: boolean }): Promise<MediaStream> {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new Error('This browser cannot use a camera or microphone here. Use a current browser over https.');
  }
  try {
    return await navigator.mediaDevices.getUserMedia({
      video: opts.video ? { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: 'user' } : false,
      audio: opts.audio ? { echoCancellation: true, noiseSuppression: true } : false,
    });
  } catch (err) {
    const name = err instanceof DOMException ? err.name : '';
    if (name === 'NotAllowedError' || name === 'SecurityError') {
      throw new Error(
        'Access to the camera or microphone was refused. Allow it in the browser’s address bar and try again.',
      );
    }
    if (name === 'NotFoundError' || name === 'OverconstrainedError') {
      throw new Error('No camera or microphone was found. Connect one and try again.');
    }
    if (name === 'NotReadableError') {
      throw new Error('The camera or microphone is in use by another application. Close it and try again.');
    }
    throw new Error('The camera or microphone could not be started.');
  }
}

export function stopStream(stream: MediaStream | null): void {
  stream?.getTracks().forEach((t) => t.stop());
}

/** Watches the microphone level (0–1) while `onLevel` is wanted; returns a stop function. */
export function watchAudioLevel(stream: MediaStream, onLevel: (level: number) => void): () => void {
  if (stream.getAudioTracks().length === 0 || typeof AudioContext === 'undefined') return () => undefined;
  const context = new AudioContext();
  const source = context.createMediaStreamSource(stream);
  const analyser = context.createAnalyser();
  analyser.fftSize = 512;
  source.connect(analyser);
  const data = new Uint8Array(analyser.fftSize);
  let frame = 0;
  const loop = () => {
    analyser.getByteTimeDomainData(data);
    let sum = 0;
    for (const v of data) sum += ((v - 128) / 128) ** 2;
    onLevel(Math.min(1, Math.sqrt(sum / data.length) * 4));
    frame = requestAnimationFrame(loop);
  };
  loop();
  return () => {
    cancelAnimationFrame(frame);
    source.disconnect();
    void context.close();
  };
}

/** Mean brightness (0–255) of the current video picture, or null before the first frame. */
export function pictureBrightness(video: HTMLVideoElement, canvas: HTMLCanvasElement): number | null {
  if (video.readyState < 2 || video.videoWidth === 0) return null;
  canvas.width = 64;
  canvas.height = 48;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) return null;
  ctx.drawImage(video, 0, 0, 64, 48);
  const { data } = ctx.getImageData(0, 0, 64, 48);
  let sum = 0;
  for (let i = 0; i < data.length; i += 4) sum += 0.299 * data[i]! + 0.587 * data[i + 1]! + 0.114 * data[i + 2]!;
  return sum / (data.length / 4);
}

/**
 * Captures the camera into JPEGs at the server's frame rate and hands them to the realtime
 * client, which numbers, paces and (after a reconnect) re-sends them.
 */
export class FrameStreamer {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly video: HTMLVideoElement;
  private readonly canvas: HTMLCanvasElement;
  private busy = false;

  constructor(
    stream: MediaStream,
    private readonly realtime: RealtimeClient,
    private readonly opts: { width?: number; quality?: number; maxFramesPerSec?: number } = {},
  ) {
    this.video = document.createElement('video');
    this.video.muted = true;
    this.video.playsInline = true;
    this.video.srcObject = stream;
    this.canvas = document.createElement('canvas');
  }

  start(): void {
    void this.video.play().catch(() => undefined);
    this.schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.video.srcObject = null;
  }

  private schedule(): void {
    const fps = Math.max(1, Math.min(this.realtime.maxFramesPerSec, this.opts.maxFramesPerSec ?? Infinity));
    this.timer = setTimeout(() => {
      void this.capture().finally(() => {
        if (this.timer !== null) this.schedule();
      });
    }, 1000 / fps);
  }

  private async capture(): Promise<void> {
    const { video, canvas } = this;
    if (this.busy || video.readyState < 2 || video.videoWidth === 0) return;
    this.busy = true;
    try {
      const capturedAt = Date.now();
      const width = this.opts.width ?? 320;
      canvas.width = width;
      canvas.height = Math.round((width * video.videoHeight) / video.videoWidth);
      canvas.getContext('2d')?.drawImage(video, 0, 0, canvas.width, canvas.height);
      const blob = await new Promise<Blob | null>((resolve) =>
        canvas.toBlob(resolve, 'image/jpeg', this.opts.quality ?? 0.7),
      );
      if (!blob || this.timer === null) return;
      this.realtime.sendFrame(new Uint8Array(await blob.arrayBuffer()), capturedAt);
    } finally {
      this.busy = false;
    }
  }
}

/** One answer's recording with MediaRecorder; `stop()` resolves to the whole recording. */
export class AnswerRecorder {
  private readonly recorder: MediaRecorder;
  private readonly chunks: Blob[] = [];
  private readonly done: Promise<Blob>;

  static supported(stream: MediaStream): boolean {
    return (
      typeof MediaRecorder !== 'undefined' &&
      stream.getAudioTracks().length + stream.getVideoTracks().length > 0 &&
      pickRecordingType((t) => MediaRecorder.isTypeSupported(t), stream.getVideoTracks().length > 0) !== undefined
    );
  }

  constructor(stream: MediaStream) {
    const hasVideo = stream.getVideoTracks().length > 0;
    const mimeType = pickRecordingType((t) => MediaRecorder.isTypeSupported(t), hasVideo);
    this.recorder = new MediaRecorder(stream, {
      ...(mimeType ? { mimeType } : {}),
      videoBitsPerSecond: 600_000,
      audioBitsPerSecond: 64_000,
    });
    this.done = new Promise((resolve, reject) => {
      this.recorder.ondataavailable = (e) => {
        if (e.data.size > 0) this.chunks.push(e.data);
      };
      this.recorder.onstop = () => resolve(new Blob(this.chunks, { type: this.recorder.mimeType || mimeType }));
      this.recorder.onerror = () => reject(new Error('The recording stopped because of an error.'));
    });
    this.recorder.start(1000);
  }

  get recording(): boolean {
    return this.recorder.state === 'recording';
  }

  stop(): Promise<Blob> {
    if (this.recorder.state !== 'inactive') this.recorder.stop();
    return this.done;
  }
}

/**
 * MediaRecorder writes WebM without a duration, so Chromium reports `Infinity` (and its controls
 * cannot seek) until it has read to the end: seek far past the end once, and back to the start as
 * soon as the real duration is known.
 */
export function revealDuration(media: HTMLMediaElement): void {
  if (Number.isFinite(media.duration)) return;
  const back = () => {
    if (!Number.isFinite(media.duration)) return;
    media.removeEventListener('durationchange', back);
    media.currentTime = 0;
  };
  media.addEventListener('durationchange', back);
  media.currentTime = Number.MAX_SAFE_INTEGER;
}
