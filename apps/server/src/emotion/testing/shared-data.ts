/**
 * The project's shared test data (`../shared/data` next to the repository root): real face
 * photos, FER2013 crops and face videos. Tests read it in place; nothing is copied into the repo.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** apps/server/src/emotion/testing → repository root → ../shared/data */
export const SHARED_DATA = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../..', '../shared/data');

export function sharedDataPath(relative: string): string {
  return resolve(SHARED_DATA, relative);
}

/** Bytes of a shared data file; the error names the expected location when it is missing. */
export async function readSharedData(relative: string): Promise<Uint8Array> {
  const path = sharedDataPath(relative);
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    throw new Error(`Shared test data ${relative} is missing (looked in ${SHARED_DATA})`, { cause: err });
  }
}
