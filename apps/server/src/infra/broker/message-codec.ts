/**
 * Rules both broker adapters apply to an outgoing message, so they refuse the same things with the
 * same errors, and the retry schedule they share.
 */
import type { QueueSpec, Topology } from './broker.ts';

/** Messages carry ids and storage keys, never blobs; this bound catches a blob sent by mistake. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024;

/** Header names the adapters use for their own bookkeeping; callers may not set them. */
export const RESERVED_HEADER_PREFIX = 'x-parley-';

/** Serialises a payload to JSON, refusing what JSON cannot carry and what is too large. */
export function encodePayload(routingKey: string, payload: unknown, maxBytes = DEFAULT_MAX_PAYLOAD_BYTES): Buffer {
  let json: string | undefined;
  try {
    json = JSON.stringify(payload);
  } catch (err) {
    throw new TypeError(
      `Message payload for "${routingKey}" is not JSON-serialisable: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (json === undefined) {
    throw new TypeError(
      `Message payload for "${routingKey}" is not JSON-serialisable: ${typeof payload} has no JSON form`,
    );
  }
  const bytes = Buffer.from(json, 'utf8');
  if (bytes.length > maxBytes) {
    throw new RangeError(
      `Message payload for "${routingKey}" is ${bytes.length} bytes, over the ${maxBytes}-byte limit; store the data and send its key`,
    );
  }
  return bytes;
}

/** Checks caller headers: a string map without the adapters' reserved names. */
export function checkHeaders(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (typeof value !== 'string') throw new TypeError(`Message header "${name}" must be a string`);
    if (name.toLowerCase().startsWith(RESERVED_HEADER_PREFIX)) {
      throw new TypeError(`Message header "${name}" uses the reserved prefix ${RESERVED_HEADER_PREFIX}`);
    }
    out[name] = value;
  }
  return out;
}

/** Delay before retry `attempt` (1-based): `min(backoffMs * 2^(attempt-1), maxBackoffMs)`. */
export function retryDelayMs(spec: QueueSpec, attempt: number): number {
  const delay = spec.backoffMs * 2 ** (attempt - 1);
  return Math.round(Math.min(delay, spec.maxBackoffMs ?? Number.POSITIVE_INFINITY));
}

/** Refuses a topology the adapters could not honour, before anything is declared. */
export function checkTopology(topology: Topology): void {
  if (!topology.exchange) throw new TypeError('Topology needs an exchange name');
  const names = new Set<string>();
  for (const q of topology.queues) {
    if (!q.name) throw new TypeError('Every queue needs a name');
    if (names.has(q.name)) throw new TypeError(`Queue "${q.name}" is declared twice`);
    names.add(q.name);
    if (!Number.isInteger(q.maxAttempts) || q.maxAttempts < 1) {
      throw new TypeError(`Queue "${q.name}": maxAttempts must be an integer ≥ 1`);
    }
    if (!(q.backoffMs >= 0) || (q.maxBackoffMs !== undefined && !(q.maxBackoffMs >= 0))) {
      throw new TypeError(`Queue "${q.name}": backoffMs and maxBackoffMs must be ≥ 0`);
    }
  }
}
