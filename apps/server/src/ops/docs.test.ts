import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ENV_VARIABLES } from '../config.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

describe('operator guide', () => {
  it('documents every configuration variable, and only real ones', async () => {
    const guide = await readFile(path.join(ROOT, 'docs/operations/guide.md'), 'utf8');
    const section = guide.slice(guide.indexOf('## Configuration reference'), guide.indexOf('## Observability'));
    const documented = [...section.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
    expect([...documented].sort()).toEqual([...ENV_VARIABLES].sort());
  });

  it('lists in .env.example every variable it documents', async () => {
    const example = await readFile(path.join(ROOT, '.env.example'), 'utf8');
    const named = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));
    expect(ENV_VARIABLES.filter((v) => !named.has(v))).toEqual([]);
  });

  it('the runbook states measured figures and the command that reproduces them', async () => {
    const runbook = await readFile(path.join(ROOT, 'docs/operations/backup-restore.md'), 'utf8');
    expect(runbook).toContain('npx vitest run --project real apps/server/src/ops/backup-restore.real.test.ts');
    expect(runbook).toMatch(/\*\*restore total\*\*/);
    expect(runbook).toMatch(/RTO 15 min/);
  });
});
