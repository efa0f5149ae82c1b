/**
 * A minimal writer for the ONNX ModelProto wire format (onnx/onnx.proto, proto3). Only the
 * fields our converters emit are encoded; no protobuf library ships in node_modules, and the
 * format is small enough that a hand-written encoder is easier to audit than a dependency.
 */

export const DataType = { FLOAT: 1, INT32: 6, INT64: 7 } as const;
export type TDataType = (typeof DataType)[keyof typeof DataType];

export interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: TDataType;
  /** Raw little-endian bytes of the values. */
  raw: Uint8Array;
}

export type OnnxAttribute =
  | { name: string; kind: 'int'; value: number }
  | { name: string; kind: 'ints'; value: number[] }
  | { name: string; kind: 'float'; value: number }
  | { name: string; kind: 'string'; value: string }
  | { name: string; kind: 'tensor'; value: OnnxTensor };

export interface OnnxNode {
  opType: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes?: OnnxAttribute[];
}

export interface OnnxValueInfo {
  name: string;
  elemType: TDataType;
  /** A string is a symbolic dimension (e.g. the batch). */
  shape: (number | string)[];
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

const enum Wire {
  Varint = 0,
  Fixed32 = 5,
  Len = 2,
}

class Writer {
  private chunks: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  private varint(value: number | bigint): void {
    // int64 fields are two's complement: negative numbers take ten bytes.
    let v = BigInt.asUintN(64, BigInt(value));
    const out: number[] = [];
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    this.push(Uint8Array.from(out));
  }

  private tag(field: number, wire: Wire): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, value: number): this {
    this.tag(field, Wire.Varint);
    this.varint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, Wire.Fixed32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, Wire.Len);
    this.varint(value.length);
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (w: Writer) => void): this {
    const inner = new Writer();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  packedInts(field: number, values: number[]): this {
    const inner = new Writer();
    for (const v of values) inner.varint(v);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const c of this.chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  }
}

function writeTensor(w: Writer, t: OnnxTensor): void {
  // TensorProto: dims=1, data_type=2, name=8, raw_data=9
  w.packedInts(1, t.dims).int(2, t.dataType).string(8, t.name).bytes(9, t.raw);
}

function writeAttribute(w: Writer, a: OnnxAttribute): void {
  // AttributeProto: name=1, f=2, i=3, s=4, t=5, ints=8, type=20
  w.string(1, a.name);
  switch (a.kind) {
    case 'float':
      w.float(2, a.value).int(20, 1);
      break;
    case 'int':
      w.int(3, a.value).int(20, 2);
      break;
    case 'string':
      w.string(4, a.value).int(20, 3);
      break;
    case 'tensor':
      w.message(5, (m) => writeTensor(m, a.value)).int(20, 4);
      break;
    case 'ints':
      w.packedInts(8, a.value).int(20, 7);
      break;
  }
}

function writeValueInfo(w: Writer, v: OnnxValueInfo): void {
  // ValueInfoProto: name=1, type=2 → TypeProto.tensor_type=1 → elem_type=1, shape=2 → dim=1
  w.string(1, v.name).message(2, (type) =>
    type.message(1, (tensor) =>
      tensor.int(1, v.elemType).message(2, (shape) => {
        for (const d of v.shape) {
          shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
        }
      }),
    ),
  );
}

/** Serialises a graph as an ONNX model (IR 8, default-domain opset 17). */
export function encodeModel(graph: OnnxGraph, producer = 'parley-emotion'): Uint8Array {
  const w = new Writer();
  // ModelProto: ir_version=1, producer_name=2, graph=7, opset_import=8
  w.int(1, 8).string(2, producer);
  w.message(7, (g) => {
    // GraphProto: node=1, name=2, initializer=5, input=11, output=12
    for (const n of graph.nodes) {
      g.message(1, (m) => {
        // NodeProto: input=1, output=2, name=3, op_type=4, attribute=5
        for (const i of n.inputs) m.string(1, i);
        for (const o of n.outputs) m.string(2, o);
        m.string(3, n.name).string(4, n.opType);
        for (const a of n.attributes ?? []) m.message(5, (am) => writeAttribute(am, a));
      });
    }
    g.string(2, graph.name);
    for (const t of graph.initializers) g.message(5, (m) => writeTensor(m, t));
    for (const v of graph.inputs) g.message(11, (m) => writeValueInfo(m, v));
    for (const v of graph.outputs) g.message(12, (m) => writeValueInfo(m, v));
  });
  w.message(8, (o) => o.string(1, '').int(2, 17));
  return w.finish();
}

export function floatTensor(name: string, dims: number[], values: Float32Array): OnnxTensor {
  const copy = new Float32Array(values);
  return { name, dims, dataType: DataType.FLOAT, raw: new Uint8Array(copy.buffer) };
}

export function int64Tensor(name: string, values: number[]): OnnxTensor {
  const big = BigInt64Array.from(values.map((v) => BigInt(v)));
  return { name, dims: [values.length], dataType: DataType.INT64, raw: new Uint8Array(big.buffer) };
}
