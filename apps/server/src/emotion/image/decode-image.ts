import { createRequire } from 'node:module';
import type Sharp from 'sharp';
import type { RgbImage } from './rgb-image.ts';

const require = createRequire(import.meta.url);
let sharpModule: typeof Sharp | undefined;
function sharp(): typeof Sharp {
  if (!sharpModule) {
    sharpModule = require('sharp') as typeof Sharp;
    // One libvips thread per process: frames are small, and processes (not threads) scale us.
    sharpModule.concurrency(1);
  }
  return sharpModule;
}

/** Why a frame could not be decoded; the caller records it for that frame and moves on. */
export class FrameDecodeError extends Error {
  override readonly name = 'FrameDecodeError';
}

/** A frame larger than this is refused before decoding (a decompression bomb guard). */
const MAX_PIXELS = 40_000_000;

/** JPEG / PNG / WebP bytes → 8-bit RGB, EXIF orientation applied, alpha dropped, gray expanded. */
export async function decodeImage(bytes: Uint8Array): Promise<RgbImage> {
  if (bytes.length === 0) throw new FrameDecodeError('empty frame');
  try {
    const { data, info } = await sharp()(bytes, { limitInputPixels: MAX_PIXELS, failOn: 'error' })
      .rotate()
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new FrameDecodeError(`unexpected channel count ${info.channels}`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (e) {
    if (e instanceof FrameDecodeError) throw e;
    throw new FrameDecodeError(e instanceof Error ? e.message : String(e));
  }
}
