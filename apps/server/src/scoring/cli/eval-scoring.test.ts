import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { SPEECH_DATA_DIR, SPEECH_QUESTIONS } from '../testing/speech-rubrics.ts';

const run = promisify(execFile);
const root = new URL('../../../../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'eval-scoring-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function evalScoring(input: unknown, env: Record<string, string> = {}) {
  const file = join(dir, `input-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(input));
  return run('npm', ['run', '--silent', 'eval:scoring', '--', file], {
    cwd: root,
    env: { ...process.env, LLM_PROVIDERS: 'offline', ...env },
  });
}

describe('npm run eval:scoring', () => {
  it('prints every answer’s overall score as the last line, good above weak', async () => {
    const { question, rubric } = SPEECH_QUESTIONS.q3!;
    const { version: _omitVersion, ...unversioned } = rubric;
    const text = (n: string) => readFileSync(new URL(n, SPEECH_DATA_DIR), 'utf8').trim();
    const { stdout } = await evalScoring({
      question,
      rubric: unversioned,
      answers: [
        { id: 'good', text: text('q3_good.txt') },
        { id: 'weak', text: text('q3_weak.txt') },
        { id: 'empty', text: '' },
      ],
    });
    const last = JSON.parse(stdout.trim().split('\n').at(-1)!) as { scores: Record<string, number> };
    expect(Object.keys(last.scores)).toEqual(['good', 'weak', 'empty']);
    expect(last.scores.good).toBeGreaterThan(last.scores.weak!);
    expect(last.scores.weak).toBeGreaterThan(0);
    expect(last.scores.empty).toBe(0);
    for (const s of Object.values(last.scores)) expect(s).toBeLessThanOrEqual(5);
  });

  it('rejects a file that does not follow the input format', async () => {
    const err = await evalScoring({ question: 'q', rubric: { criteria: [] }, answers: [] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 1 });
    expect((err as { stderr: string }).stderr).toContain('eval:scoring failed');
  });
});
