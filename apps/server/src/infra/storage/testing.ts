/**
 * For tests and the storage bench: objects as releases before envelope version 2 wrote them, built
 * from the layout documented in `envelope.ts` (storage no longer writes them). `envelope.test.ts`
 * checks the reader against bytes the old code wrote, and this helper against the reader.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';

export function sealVersion1(masterKey: Uint8Array, plaintext: Uint8Array, contentType: string): Buffer {
  const type = Buffer.from(contentType, 'utf8');
  const keyId = createHash('sha256').update('parley-storage-master-key-id\0').update(masterKey).digest().subarray(0, 8);
  const dataKey = randomBytes(32);
  const wrapIv = randomBytes(12);
  const dataIv = randomBytes(12);
  const lengthField = Buffer.alloc(2);
  lengthField.writeUInt16BE(type.length);
  const before = Buffer.concat([Buffer.from('PENV'), Buffer.from([1]), keyId, wrapIv]);
  const after = Buffer.concat([dataIv, lengthField, type]);
  const wrap = createCipheriv('aes-256-gcm', masterKey, wrapIv);
  wrap.setAAD(Buffer.concat([before, after]));
  const wrapped = Buffer.concat([wrap.update(dataKey), wrap.final(), wrap.getAuthTag()]);
  const header = Buffer.concat([before, wrapped, after]);
  const body = createCipheriv('aes-256-gcm', dataKey, dataIv);
  body.setAAD(header);
  return Buffer.concat([header, body.update(plaintext), body.final(), body.getAuthTag()]);
}
