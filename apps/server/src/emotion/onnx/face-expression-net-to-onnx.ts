import { DataType, floatTensor, type OnnxGraph, type OnnxNode, type OnnxTensor } from './onnx-proto.ts';
import type { TfjsWeight } from './tfjs-artifacts.ts';

/**
 * Builds face-api's FaceExpressionNet as an ONNX graph from its weights-only manifest. face-api
 * defines the network in code (faceFeatureExtractor/FaceFeatureExtractor.ts + denseBlock.ts):
 * four dense blocks of depthwise-separable convolutions (112 → 7 px), a 7×7 average pool, a
 * 256→7 fully connected layer and a softmax. Input: NCHW [N, 3, 112, 112], RGB already
 * normalised as face-api does ((x - mean_rgb) / 255). Output `probs` [N, 7] in face-api's order
 * (neutral happy sad angry fearful disgusted surprised).
 */
export function buildFaceExpressionNet(weights: Map<string, TfjsWeight>): OnnxGraph {
  const nodes: OnnxNode[] = [];
  const initializers: OnnxTensor[] = [];
  let counter = 0;
  const get = (name: string): TfjsWeight => {
    const w = weights.get(name);
    if (!w) throw new Error(`face expression weight ${name} missing`);
    return w;
  };
  const emit = (opType: string, inputs: string[], attributes: OnnxNode['attributes'] = []): string => {
    const out = `${opType}_${counter++}`;
    nodes.push({ opType, name: out, inputs, outputs: [out], attributes });
    return out;
  };
  const init = (name: string, dims: number[], data: Float32Array): string => {
    initializers.push(floatTensor(name, dims, data));
    return name;
  };
  const conv = (x: string, w: string, b: string | undefined, kernel: number, stride: number, group = 1) =>
    emit('Conv', b ? [x, w, b] : [x, w], [
      { name: 'kernel_shape', kind: 'ints', value: [kernel, kernel] },
      { name: 'strides', kind: 'ints', value: [stride, stride] },
      { name: 'auto_pad', kind: 'string', value: 'SAME_UPPER' },
      ...(group > 1 ? [{ name: 'group', kind: 'int' as const, value: group }] : []),
    ]);

  /** [kh, kw, in, out] → [out, in, kh, kw] */
  const filter = (name: string): string => {
    const w = get(name);
    const [kh, kw, ci, co] = w.shape as [number, number, number, number];
    const out = new Float32Array(w.data.length);
    for (let y = 0; y < kh; y++)
      for (let x = 0; x < kw; x++)
        for (let i = 0; i < ci; i++)
          for (let o = 0; o < co; o++)
            out[((o * ci + i) * kh + y) * kw + x] = w.data[((y * kw + x) * ci + i) * co + o] as number;
    return init(name, [co, ci, kh, kw], out);
  };
  /** depthwise [kh, kw, in, 1] → [in, 1, kh, kw] */
  const depthwise = (name: string): { name: string; channels: number } => {
    const w = get(name);
    const [kh, kw, ci] = w.shape as [number, number, number, number];
    const out = new Float32Array(w.data.length);
    for (let y = 0; y < kh; y++)
      for (let x = 0; x < kw; x++)
        for (let i = 0; i < ci; i++) out[(i * kh + y) * kw + x] = w.data[(y * kw + x) * ci + i] as number;
    return { name: init(name, [ci, 1, kh, kw], out), channels: ci };
  };
  const bias = (name: string) => init(name, [get(name).data.length], Float32Array.from(get(name).data));
  const separable = (x: string, prefix: string, stride: number) => {
    const dw = depthwise(`${prefix}/depthwise_filter`);
    const d = conv(x, dw.name, undefined, 3, stride, dw.channels);
    return conv(d, filter(`${prefix}/pointwise_filter`), bias(`${prefix}/bias`), 1, 1);
  };
  const denseBlock = (x: string, block: string, first: boolean) => {
    const c0 = first
      ? conv(x, filter(`${block}/conv0/filters`), bias(`${block}/conv0/bias`), 3, 2)
      : separable(x, `${block}/conv0`, 2);
    const out1 = emit('Relu', [c0]);
    const out2 = separable(out1, `${block}/conv1`, 1);
    const in3 = emit('Relu', [emit('Add', [out1, out2])]);
    const out3 = separable(in3, `${block}/conv2`, 1);
    const sum123 = emit('Add', [out1, emit('Add', [out2, out3])]);
    const in4 = emit('Relu', [sum123]);
    const out4 = separable(in4, `${block}/conv3`, 1);
    return emit('Relu', [emit('Add', [out1, emit('Add', [out2, emit('Add', [out3, out4])])])]);
  };

  let x = denseBlock('input', 'dense0', true);
  x = denseBlock(x, 'dense1', false);
  x = denseBlock(x, 'dense2', false);
  x = denseBlock(x, 'dense3', false);
  x = emit(
    'AveragePool',
    [x],
    [
      { name: 'kernel_shape', kind: 'ints', value: [7, 7] },
      { name: 'strides', kind: 'ints', value: [2, 2] },
    ],
  );
  x = emit('Flatten', [x], [{ name: 'axis', kind: 'int', value: 1 }]);
  const fcW = get('fc/weights');
  x = emit('Gemm', [x, init('fc/weights', fcW.shape, Float32Array.from(fcW.data)), bias('fc/bias')]);
  nodes.push({
    opType: 'Softmax',
    name: 'probs',
    inputs: [x],
    outputs: ['probs'],
    attributes: [{ name: 'axis', kind: 'int', value: -1 }],
  });
  return {
    name: 'face_expression',
    nodes,
    initializers,
    inputs: [{ name: 'input', elemType: DataType.FLOAT, shape: ['N', 3, 112, 112] }],
    outputs: [{ name: 'probs', elemType: DataType.FLOAT, shape: ['N', 7] }],
  };
}
