import type { Config } from '../../config.ts';
import { parseMasterKey } from './envelope.ts';
import { createLocalStorage } from './local-storage.ts';
import { createS3Storage } from './s3-storage.ts';
import type { Storage } from './storage.ts';

export type { ByteSpan, RangePicker, Storage, StoredObject, StoredRange } from './storage.ts';
export { assertValidKey, assertValidPrefix, MAX_KEY_LENGTH } from './keys.ts';
export { Envelope, parseMasterKey } from './envelope.ts';
export { loadOrCreateKeyFile, loadOrCreateMasterKey } from './master-key.ts';
export { LocalStorage, createLocalStorage } from './local-storage.ts';
export { S3Storage, createS3Storage } from './s3-storage.ts';

export interface StorageDeps {
  /**
   * The master key: 32 bytes, or 64 hex characters. Defaults to `config.storage.masterKey`. Local storage needs one:
   * the composition root passes `loadOrCreateMasterKey(dataDir)` when none is configured. For
   * S3 it turns on client-side encryption.
   */
  masterKey?: Uint8Array | string;
}

/** The configured object storage: local disk (default) or S3, ready to use (bucket ensured). */
export async function createStorage(config: Pick<Config, 'storage'>, deps: StorageDeps = {}): Promise<Storage> {
  const s = config.storage;
  const given = deps.masterKey ?? s.masterKey;
  const masterKey = typeof given === 'string' ? parseMasterKey(given) : given;
  switch (s.kind) {
    case 'local':
      if (!masterKey) {
        throw new Error(
          'Local storage needs a master key: set STORAGE_MASTER_KEY or pass loadOrCreateMasterKey(dataDir)',
        );
      }
      return createLocalStorage({ root: s.root, masterKey });
    case 's3':
      return createS3Storage({
        endpoint: s.endpoint,
        region: s.region,
        bucket: s.bucket,
        accessKeyId: s.accessKeyId,
        secretAccessKey: s.secretAccessKey,
        forcePathStyle: s.forcePathStyle,
        masterKey,
      });
  }
}
