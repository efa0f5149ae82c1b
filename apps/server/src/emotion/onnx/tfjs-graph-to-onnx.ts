import { DataType, floatTensor, int64Tensor, type OnnxGraph, type OnnxNode, type OnnxTensor } from './onnx-proto.ts';
import type { TfjsAttr, TfjsGraphArtifacts, TfjsNode, TfjsWeight } from './tfjs-artifacts.ts';

/**
 * Converts a TensorFlow.js graph model (NHWC) to an ONNX graph (NCHW) for the small set of ops
 * the MediaPipe face models and the mini-Xception emotion model use. The input is NCHW; every
 * graph output keeps TensorFlow's layout so callers read the same numbers tfjs would return.
 * Unknown ops throw: a silent mistranslation would be worse than no model.
 */

type Layout = 'nchw' | 'plain';
interface Value {
  name: string;
  layout: Layout;
  rank: number;
}

/** NHWC axis → NCHW axis, and the reverse. */
const NHWC_TO_NCHW_AXIS = [0, 2, 3, 1];
const NCHW_TO_NHWC_AXIS = [0, 3, 1, 2];

function attrString(a: TfjsAttr | undefined): string {
  return a?.s ? Buffer.from(a.s, 'base64').toString('utf8') : '';
}
function attrInts(a: TfjsAttr | undefined): number[] {
  return (a?.list?.i ?? []).map(Number);
}
function attrStrings(a: TfjsAttr | undefined): string[] {
  return (a?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString('utf8'));
}

function ref(input: string): string {
  const [name, port] = input.replace(/^\^/, '').split(':');
  if (port && port !== '0') throw new Error(`multi-output tensor ${input} not supported`);
  return name as string;
}

/** [kh, kw, in, out] → [out, in, kh, kw] */
function convFilter(w: TfjsWeight): { dims: number[]; data: Float32Array } {
  const [kh, kw, ci, co] = w.shape as [number, number, number, number];
  const out = new Float32Array(w.data.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < ci; i++)
        for (let o = 0; o < co; o++)
          out[((o * ci + i) * kh + y) * kw + x] = w.data[((y * kw + x) * ci + i) * co + o] as number;
  return { dims: [co, ci, kh, kw], data: out };
}

/** [kh, kw, in, multiplier] → [in * multiplier, 1, kh, kw]; output channel = in * m + j. */
function depthwiseFilter(w: TfjsWeight): { dims: number[]; data: Float32Array } {
  const [kh, kw, ci, m] = w.shape as [number, number, number, number];
  const out = new Float32Array(w.data.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < ci; i++)
        for (let j = 0; j < m; j++)
          out[((i * m + j) * kh + y) * kw + x] = w.data[((y * kw + x) * ci + i) * m + j] as number;
  return { dims: [ci * m, 1, kh, kw], data: out };
}

export function convertTfjsGraph(model: TfjsGraphArtifacts, graphName: string): OnnxGraph {
  const nodes: OnnxNode[] = [];
  const initializers: OnnxTensor[] = [];
  const values = new Map<string, Value>();
  const consts = new Map<string, TfjsWeight>();
  const graph: OnnxGraph = { name: graphName, nodes, initializers, inputs: [], outputs: [] };
  let counter = 0;
  const fresh = (base: string) => `${base}__${counter++}`;

  const constant = (name: string): TfjsWeight => {
    const c = consts.get(name);
    if (!c) throw new Error(`expected a constant: ${name}`);
    return c;
  };
  const value = (input: string): Value => {
    const v = values.get(ref(input));
    if (!v) throw new Error(`unknown tensor ${input}`);
    return v;
  };
  const addFloat = (base: string, dims: number[], data: Float32Array): string => {
    const name = fresh(base);
    initializers.push(floatTensor(name, dims, data));
    return name;
  };
  const addInts = (base: string, data: number[]): string => {
    const name = fresh(base);
    initializers.push(int64Tensor(name, data));
    return name;
  };
  const emit = (opType: string, inputs: string[], attributes: OnnxNode['attributes'] = [], base = opType): string => {
    const out = fresh(base);
    nodes.push({ opType, name: out, inputs, outputs: [out], attributes });
    return out;
  };
  /**
   * PReLU with per-channel slopes a, written as relu(x) + (−a)·relu(−x), the two products as
   * 1×1 depthwise convolutions. Same numbers, but every node is one onnxruntime's NCHWc layout
   * handles: a `PRelu` node does not, and forces two layout reorders around each of the mesh's
   * 28 and the iris model's 53 — they then cost 3–4× their convolutions (README "Speed").
   */
  const prelu = (x: string, base: string, w: TfjsWeight): string => {
    const c = w.data.length;
    const depthwise = (input: string, weights: Float32Array, tag: string) =>
      emit(
        'Conv',
        [input, addFloat(`${base}/${tag}`, [c, 1, 1, 1], weights)],
        [
          { name: 'kernel_shape', kind: 'ints', value: [1, 1] },
          { name: 'group', kind: 'int', value: c },
        ],
      );
    const negativePart = emit('Relu', [depthwise(x, new Float32Array(c).fill(-1), 'negate')]);
    return emit('Add', [
      emit('Relu', [x]),
      depthwise(
        negativePart,
        Float32Array.from(w.data, (a) => -a),
        'alpha',
      ),
    ]);
  };
  const windowAttrs = (node: TfjsNode, kernel: number[]) => {
    const strides = attrInts(node.attr?.strides);
    const padding = attrString(node.attr?.padding);
    const attrs: NonNullable<OnnxNode['attributes']> = [
      { name: 'kernel_shape', kind: 'ints', value: kernel },
      { name: 'strides', kind: 'ints', value: [strides[1] ?? 1, strides[2] ?? 1] },
    ];
    // TF 'SAME' puts the odd padding pixel at the end, which is ONNX SAME_UPPER.
    if (padding === 'SAME') attrs.push({ name: 'auto_pad', kind: 'string', value: 'SAME_UPPER' });
    else if (padding === 'VALID') attrs.push({ name: 'pads', kind: 'ints', value: [0, 0, 0, 0] });
    else if (padding === 'EXPLICIT') {
      const e = attrInts(node.attr?.explicit_paddings); // NHWC pairs
      attrs.push({ name: 'pads', kind: 'ints', value: [e[2] ?? 0, e[4] ?? 0, e[3] ?? 0, e[5] ?? 0] });
    } else throw new Error(`padding ${padding} not supported`);
    return attrs;
  };
  const dilations = (node: TfjsNode) => {
    const d = attrInts(node.attr?.dilations);
    return { name: 'dilations', kind: 'ints' as const, value: [d[1] ?? 1, d[2] ?? 1] };
  };
  const toTfLayout = (v: Value): string =>
    v.layout === 'nchw' && v.rank === 4
      ? emit('Transpose', [v.name], [{ name: 'perm', kind: 'ints', value: [0, 2, 3, 1] }])
      : v.name;

  const consumed = new Set<string>();
  for (const node of model.nodes) for (const i of node.input ?? []) consumed.add(ref(i));

  for (const node of model.nodes) {
    const inputs = (node.input ?? []).filter((i) => !i.startsWith('^'));
    const set = (name: string, layout: Layout, rank: number) => values.set(node.name, { name, layout, rank });
    switch (node.op) {
      case 'Const': {
        const w = model.weights.get(node.name);
        if (!w) throw new Error(`constant ${node.name} has no weight`);
        consts.set(node.name, w);
        break;
      }
      case 'Placeholder': {
        const dims = (node.attr?.shape?.shape?.dim ?? []).map((d) => Number(d.size));
        if (dims.length !== 4) throw new Error('only NHWC image inputs are supported');
        const [n, h, w, c] = dims as [number, number, number, number];
        graph.inputs.push({
          name: 'input',
          elemType: DataType.FLOAT,
          shape: [n > 0 ? n : 'N', c, h, w],
        });
        set('input', 'nchw', 4);
        break;
      }
      case '_FusedConv2D':
      case 'Conv2D':
      case 'DepthwiseConv2dNative': {
        const x = value(inputs[0] as string);
        const filterW = constant(ref(inputs[1] as string));
        const depthwise = node.op === 'DepthwiseConv2dNative';
        const f = depthwise ? depthwiseFilter(filterW) : convFilter(filterW);
        const wName = addFloat(`${node.name}/W`, f.dims, f.data);
        const convInputs = [x.name, wName];
        const fused = node.op === '_FusedConv2D' ? attrStrings(node.attr?.fused_ops) : [];
        if (fused[0] === 'BiasAdd') {
          const b = constant(ref(inputs[2] as string));
          convInputs.push(addFloat(`${node.name}/B`, [b.data.length], Float32Array.from(b.data)));
        } else if (fused.length > 0) throw new Error(`fused ops ${fused.join(',')} not supported`);
        const attrs = [...windowAttrs(node, f.dims.slice(2)), dilations(node)];
        if (depthwise) attrs.push({ name: 'group', kind: 'int', value: f.dims[0] as number });
        let out = emit('Conv', convInputs, attrs, node.name);
        const act = fused[1];
        if (act === 'Relu') out = emit('Relu', [out]);
        else if (act === 'Relu6')
          out = emit('Clip', [
            out,
            addFloat('zero', [], new Float32Array([0])),
            addFloat('six', [], new Float32Array([6])),
          ]);
        else if (act === 'Prelu') out = prelu(out, node.name, constant(ref(inputs[3] as string)));
        else if (act !== undefined) throw new Error(`fused activation ${act} not supported`);
        set(out, 'nchw', 4);
        break;
      }
      case 'Prelu': {
        const x = value(inputs[0] as string);
        const alpha = constant(ref(inputs[1] as string));
        if (x.layout !== 'nchw' || x.rank !== 4) throw new Error(`Prelu ${node.name} on a non-image tensor`);
        set(prelu(x.name, node.name, alpha), x.layout, x.rank);
        break;
      }
      case 'Relu':
      case 'Sigmoid': {
        const x = value(inputs[0] as string);
        set(emit(node.op, [x.name]), x.layout, x.rank);
        break;
      }
      case 'AddV2':
      case 'Add': {
        const a = value(inputs[0] as string);
        const b = value(inputs[1] as string);
        if (a.layout !== b.layout) throw new Error(`layout mismatch in ${node.name}`);
        set(emit('Add', [a.name, b.name]), a.layout, a.rank);
        break;
      }
      case 'MaxPool': {
        const x = value(inputs[0] as string);
        const k = attrInts(node.attr?.ksize);
        set(emit('MaxPool', [x.name], windowAttrs(node, [k[1] ?? 1, k[2] ?? 1])), 'nchw', 4);
        break;
      }
      case 'Pad': {
        const x = value(inputs[0] as string);
        const p = Array.from(constant(ref(inputs[1] as string)).data); // NHWC [[b,e] x4]
        const begin = NCHW_TO_NHWC_AXIS.map((axis) => p[2 * axis] ?? 0);
        const end = NCHW_TO_NHWC_AXIS.map((axis) => p[2 * axis + 1] ?? 0);
        set(
          emit(
            'Pad',
            [x.name, addInts('pads', [...begin, ...end])],
            [{ name: 'mode', kind: 'string', value: 'constant' }],
          ),
          'nchw',
          4,
        );
        break;
      }
      case 'Reshape': {
        const x = value(inputs[0] as string);
        const shape = Array.from(constant(ref(inputs[1] as string)).data);
        set(emit('Reshape', [toTfLayout(x), addInts('shape', shape)]), 'plain', shape.length);
        break;
      }
      case 'ConcatV2': {
        const parts = inputs.slice(0, -1).map(value);
        const axisRaw = constant(ref(inputs[inputs.length - 1] as string)).data[0] as number;
        const first = parts[0] as Value;
        const axis = axisRaw < 0 ? axisRaw + first.rank : axisRaw;
        const nchw = parts.every((p) => p.layout === 'nchw' && p.rank === 4);
        const names = nchw ? parts.map((p) => p.name) : parts.map(toTfLayout);
        const onnxAxis = nchw ? (NHWC_TO_NCHW_AXIS[axis] as number) : axis;
        set(
          emit('Concat', names, [{ name: 'axis', kind: 'int', value: onnxAxis }]),
          nchw ? 'nchw' : 'plain',
          first.rank,
        );
        break;
      }
      case 'Mean': {
        const x = value(inputs[0] as string);
        const axes = Array.from(constant(ref(inputs[1] as string)).data).sort();
        const keep = node.attr?.keep_dims?.b === true;
        if (x.layout !== 'nchw' || axes.join() !== '1,2' || keep) throw new Error(`Mean ${node.name} not supported`);
        const pooled = emit('GlobalAveragePool', [x.name]);
        set(emit('Flatten', [pooled], [{ name: 'axis', kind: 'int', value: 1 }]), 'plain', 2);
        break;
      }
      case 'Softmax': {
        const x = value(inputs[0] as string);
        if (x.layout !== 'plain') throw new Error('Softmax over an image tensor is not supported');
        set(emit('Softmax', [x.name], [{ name: 'axis', kind: 'int', value: -1 }]), 'plain', x.rank);
        break;
      }
      case 'Identity': {
        const x = value(inputs[0] as string);
        values.set(node.name, x);
        break;
      }
      default:
        throw new Error(`op ${node.op} (${node.name}) not supported by the converter`);
    }
  }

  const outputs = model.nodes
    .filter((n) => n.op !== 'Const' && !consumed.has(n.name))
    .map((n) => n.name)
    .sort();
  for (const name of outputs) {
    const v = values.get(name) as Value;
    const src = toTfLayout(v);
    nodes.push({ opType: 'Identity', name: `out/${name}`, inputs: [src], outputs: [name] });
    graph.outputs.push({ name, elemType: DataType.FLOAT, shape: Array.from({ length: v.rank }, (_, i) => `d${i}`) });
  }
  return graph;
}
