import { createRequire } from 'node:module';
import type * as Ort from 'onnxruntime-node';

/**
 * A loaded network: one float32 NCHW input, named float32 outputs. The only file that touches
 * onnxruntime-node; nothing else sees its types.
 */
export interface InferenceModel {
  readonly name: string;
  run(input: Float32Array, dims: readonly number[]): Promise<Record<string, Float32Array>>;
  dispose(): Promise<void>;
}

export interface RuntimeOptions {
  /** Threads one inference may use. 1 keeps a process on one core; scale with processes. */
  intraOpThreads: number;
}

const require = createRequire(import.meta.url);
let ort: typeof Ort | undefined;
function runtime(): typeof Ort {
  // Loaded lazily so importing the context costs nothing when emotion analysis is off.
  ort ??= require('onnxruntime-node') as typeof Ort;
  return ort;
}

export async function loadOnnxModel(name: string, bytes: Uint8Array, opts: RuntimeOptions): Promise<InferenceModel> {
  const o = runtime();
  const session = await o.InferenceSession.create(bytes, {
    intraOpNumThreads: opts.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Frames arrive one by one; the arena only grows RSS without helping throughput.
    enableCpuMemArena: false,
  });
  const inputName = session.inputNames[0] as string;
  return {
    name,
    async run(input, dims) {
      const result = await session.run({ [inputName]: new o.Tensor('float32', input, dims) });
      const out: Record<string, Float32Array> = {};
      for (const key of session.outputNames) out[key] = result[key]?.data as Float32Array;
      return out;
    },
    async dispose() {
      await session.release();
    },
  };
}
