import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type * as Tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildOnnx, modelPath, type ModelKey } from '../inference/model-catalog.ts';
import { loadOnnxModel } from '../inference/onnx-model.ts';
import { readTfjsModel } from './tfjs-artifacts.ts';

const require = createRequire(import.meta.url);
let tf: typeof Tf;

beforeAll(async () => {
  tf = require('@tensorflow/tfjs') as typeof Tf;
  await tf.setBackend('cpu');
});

function random(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return (s / 2 ** 31) * 2 - 1;
  });
}

function nhwcToNchw(x: Float32Array, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let y = 0; y < h; y++)
    for (let i = 0; i < w; i++) for (let k = 0; k < c; k++) out[(k * h + y) * w + i] = x[(y * w + i) * c + k] as number;
  return out;
}

async function tfjsGraph(key: ModelKey): Promise<Tf.GraphModel> {
  const json = JSON.parse(await readFile(modelPath(key), 'utf8')) as {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: Tf.io.WeightsManifestEntry[] }[];
  };
  const bin = await readFile(modelPath(key).replace(/\.json$/, '.bin'));
  return tf.loadGraphModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
    }),
  );
}

describe('tfjs → ONNX conversion', () => {
  it.each([
    ['detector', 256, 3],
    ['mesh', 192, 3],
    ['iris', 64, 3],
    ['emotionXception', 64, 1],
  ] as const)('%s gives the same outputs as TensorFlow.js on the same input', async (key, size, channels) => {
    const onnx = await loadOnnxModel(key, await buildOnnx(key), { intraOpThreads: 1 });
    const graph = await tfjsGraph(key);
    const x = random(size * size * channels, 7);
    const ours = await onnx.run(nhwcToNchw(x, size, size, channels), [1, channels, size, size]);
    const refOut = graph.execute(tf.tensor4d(x, [1, size, size, channels]));
    const refs = (Array.isArray(refOut) ? refOut : [refOut]).map((t) => t.dataSync<'float32'>());
    const outs = Object.values(ours);
    expect(outs).toHaveLength(refs.length);
    for (const ref of refs) {
      const mine = outs.find((o) => o.length === ref.length) as Float32Array;
      const scale = Math.max(1, ...Array.from(ref, Math.abs));
      let worst = 0;
      for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs((mine[i] as number) - (ref[i] as number)));
      expect(worst / scale).toBeLessThan(1e-4);
    }
    await onnx.dispose();
  });

  it("rebuilds face-api's expression net with its weights and matches face-api's own layers", async () => {
    const onnx = await loadOnnxModel('fa', await buildOnnx('emotionFaceApi'), { intraOpThreads: 1 });
    const { weights } = await readTfjsModel(modelPath('emotionFaceApi'));
    const w = (n: string) => {
      const v = weights.get(n);
      if (!v) throw new Error(n);
      return tf.tensor(v.data, v.shape);
    };
    // face-api's FaceFeatureExtractor + FaceExpressionNet, written with tfjs ops as in its source.
    const sep = (x: Tf.Tensor4D, p: string, stride: number) =>
      tf.add<Tf.Tensor4D>(
        tf.separableConv2d(
          x,
          w(`${p}/depthwise_filter`) as Tf.Tensor4D,
          w(`${p}/pointwise_filter`) as Tf.Tensor4D,
          stride,
          'same',
        ),
        w(`${p}/bias`),
      );
    const block = (x: Tf.Tensor4D, b: string, first: boolean) => {
      const out1 = tf.relu(
        first
          ? tf.add(tf.conv2d(x, w(`${b}/conv0/filters`) as Tf.Tensor4D, 2, 'same'), w(`${b}/conv0/bias`))
          : sep(x, `${b}/conv0`, 2),
      ) as Tf.Tensor4D;
      const out2 = sep(out1, `${b}/conv1`, 1);
      const out3 = sep(tf.relu(tf.add(out1, out2)) as Tf.Tensor4D, `${b}/conv2`, 1);
      const out4 = sep(tf.relu(tf.add(out1, tf.add(out2, out3))) as Tf.Tensor4D, `${b}/conv3`, 1);
      return tf.relu(tf.add(out1, tf.add(out2, tf.add(out3, out4)))) as Tf.Tensor4D;
    };
    const x = random(112 * 112 * 3, 11);
    let h = block(tf.tensor4d(x, [1, 112, 112, 3]), 'dense0', true);
    for (const b of ['dense1', 'dense2', 'dense3']) h = block(h, b, false);
    const pooled = tf.avgPool(h, [7, 7], [2, 2], 'valid').reshape([1, 256]);
    const ref = tf.softmax(tf.add(tf.matMul(pooled, w('fc/weights') as Tf.Tensor2D), w('fc/bias'))).dataSync();
    const mine = Object.values(await onnx.run(nhwcToNchw(x, 112, 112, 3), [1, 3, 112, 112]))[0] as Float32Array;
    for (let i = 0; i < 7; i++) expect(mine[i]).toBeCloseTo(ref[i] as number, 4);
    await onnx.dispose();
  });
});
