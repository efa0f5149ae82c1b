import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** One weight of a TensorFlow.js model, dequantised to float32 (or kept as int32). */
export interface TfjsWeight {
  shape: number[];
  dtype: 'float32' | 'int32';
  data: Float32Array | Int32Array;
}

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number };
}

export interface TfjsNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfjsAttr>;
}

export interface TfjsAttr {
  s?: string;
  i?: string;
  f?: number;
  b?: boolean;
  list?: { s?: string[]; i?: string[]; f?: number[] };
  shape?: { dim?: { size: string }[] };
  tensor?: unknown;
  type?: string;
}

export interface TfjsGraphArtifacts {
  nodes: TfjsNode[];
  weights: Map<string, TfjsWeight>;
}

interface ModelJson {
  modelTopology?: { node?: TfjsNode[] };
  weightsManifest: { paths: string[]; weights: ManifestEntry[] }[];
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/**
 * Decodes the weight shards of a TensorFlow.js model (graph or weights-only manifest) as the
 * tfjs loader would: shards concatenated in manifest order, quantised weights expanded.
 */
export function decodeWeights(manifest: ManifestEntry[], buffer: Uint8Array): Map<string, TfjsWeight> {
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const out = new Map<string, TfjsWeight>();
  let offset = 0;
  for (const w of manifest) {
    const count = w.shape.reduce((a, b) => a * b, 1);
    const q = w.quantization;
    if (q) {
      const data = new Float32Array(count);
      if (q.dtype === 'float16') {
        for (let i = 0; i < count; i++) data[i] = halfToFloat(view.getUint16(offset + 2 * i, true));
        offset += 2 * count;
      } else if (q.dtype === 'uint8' || q.dtype === 'uint16') {
        const bytes = q.dtype === 'uint8' ? 1 : 2;
        const scale = q.scale ?? 1;
        const min = q.min ?? 0;
        for (let i = 0; i < count; i++) {
          const v = bytes === 1 ? view.getUint8(offset + i) : view.getUint16(offset + 2 * i, true);
          data[i] = v * scale + min;
        }
        offset += bytes * count;
      } else {
        throw new Error(`unsupported quantisation ${q.dtype} for ${w.name}`);
      }
      out.set(w.name, { shape: w.shape, dtype: 'float32', data });
    } else if (w.dtype === 'float32') {
      const data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat32(offset + 4 * i, true);
      offset += 4 * count;
      out.set(w.name, { shape: w.shape, dtype: 'float32', data });
    } else if (w.dtype === 'int32') {
      const data = new Int32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getInt32(offset + 4 * i, true);
      offset += 4 * count;
      out.set(w.name, { shape: w.shape, dtype: 'int32', data });
    } else {
      throw new Error(`unsupported dtype ${w.dtype} for ${w.name}`);
    }
  }
  if (offset !== buffer.byteLength) {
    throw new Error(`weight shards hold ${buffer.byteLength} bytes, manifest describes ${offset}`);
  }
  return out;
}

/** Reads a tfjs model.json and its shards from disk (Node's fetch refuses file:// URLs). */
export async function readTfjsModel(jsonPath: string): Promise<TfjsGraphArtifacts> {
  const json = JSON.parse(await readFile(jsonPath, 'utf8')) as ModelJson | ModelJson['weightsManifest'];
  const model: ModelJson = Array.isArray(json) ? { weightsManifest: json } : json;
  const dir = dirname(jsonPath);
  const shards: Buffer[] = [];
  const entries: ManifestEntry[] = [];
  for (const group of model.weightsManifest) {
    for (const p of group.paths) shards.push(await readFile(join(dir, p)));
    entries.push(...group.weights);
  }
  const weights = decodeWeights(entries, new Uint8Array(Buffer.concat(shards)));
  return { nodes: model.modelTopology?.node ?? [], weights };
}
