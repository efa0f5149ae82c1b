/**
 * `npm run eval:emotion -- <dir> [--face-crops]`
 *
 * Every image under <dir> (recursively). Labelled images (`<label>__name.ext`, label one of the
 * seven classes) give detection recall and expression accuracy: the largest detected face is
 * classified; when no face is detected the whole image is classified as the face (FER2013
 * crops). `--face-crops` classifies every image as a face crop without detection. Unlabelled
 * images are checked against expected face counts when a README.md above <dir> lists them
 * ("Expected face counts in `<dir>/`: name N, …"). The last line is one JSON object.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { EXPRESSIONS, createEmotionAnalyzer, type Expression } from '../index.ts';

const IMAGE = /\.(jpe?g|png|webp)$/i;

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (IMAGE.test(e.name)) out.push(p);
  }
  return out.sort();
}

async function expectedCounts(dir: string): Promise<Map<string, number>> {
  const name = basename(resolve(dir));
  let d = resolve(dir);
  for (let i = 0; i < 4; i++) {
    d = dirname(d);
    const text = await readFile(join(d, 'README.md'), 'utf8').catch(() => '');
    const m = text.match(new RegExp(`Expected face counts in \`${name}/\`:([\\s\\S]*?)(?:\\n\\s*\\n|$)`));
    if (m?.[1]) {
      const counts = new Map<string, number>();
      for (const [, k, v] of m[1].matchAll(/([\w-]+) (\d+)/g)) counts.set(k as string, Number(v));
      return counts;
    }
  }
  return new Map();
}

const labelOf = (file: string): Expression | undefined => {
  const l = basename(file).split('__')[0] as Expression;
  return basename(file).includes('__') && EXPRESSIONS.includes(l) ? l : undefined;
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const dir = args.find((a) => !a.startsWith('--'));
  if (!dir) throw new Error('usage: eval-emotion <dir> [--face-crops]');
  const faceCrops = args.includes('--face-crops');
  const files = await walk(dir);
  const counts = await expectedCounts(dir);
  const analyzer = await createEmotionAnalyzer();
  const confusion = EXPRESSIONS.map(() => EXPRESSIONS.map(() => 0));
  let labelled = 0;
  let detected = 0;
  let correct = 0;
  let fallbacks = 0;
  let errors = 0;
  const groups: { image: string; expected: number; found: number; ok: boolean }[] = [];
  const started = performance.now();
  for (const file of files) {
    const bytes = new Uint8Array(await readFile(file));
    const label = labelOf(file);
    if (label) {
      labelled++;
      let r = faceCrops ? await analyzer.analyzeFaceCrop(bytes) : await analyzer.analyzeFrame(bytes);
      if (r.ok && r.faceCount > 0 && !faceCrops) detected++;
      if (r.ok && r.faceCount === 0) {
        fallbacks++;
        r = await analyzer.analyzeFaceCrop(bytes);
      }
      if (!r.ok || !r.faces[0]) {
        errors++;
        continue;
      }
      const predicted = r.faces[0].expression.label;
      (confusion[EXPRESSIONS.indexOf(label)] as number[])[EXPRESSIONS.indexOf(predicted)]! += 1;
      if (predicted === label) correct++;
      console.log(
        `${basename(file)}\t${label}\t${predicted}\t${r.faces[0].expression.confidence.toFixed(2)}${r.wholeImageAsFace ? '\twhole-image' : ''}`,
      );
    } else {
      const key = basename(file, extname(file));
      const expected = counts.get(key);
      const r = await analyzer.analyzeFrame(bytes);
      const found = r.ok ? r.faceCount : -1;
      if (!r.ok) errors++;
      if (expected !== undefined) groups.push({ image: key, expected, found, ok: Math.abs(found - expected) <= 1 });
      console.log(`${basename(file)}\tfaces=${found}${expected !== undefined ? `\texpected=${expected}` : ''}`);
    }
  }
  await analyzer.close();
  const perClass = Object.fromEntries(
    EXPRESSIONS.map((e, i) => {
      const row = confusion[i] as number[];
      const n = row.reduce((a, b) => a + b, 0);
      return [e, n ? Number(((row[i] as number) / n).toFixed(3)) : null];
    }),
  );
  const summary = {
    dir,
    images: files.length,
    labelled,
    face_recall: labelled && !faceCrops ? Number((detected / labelled).toFixed(3)) : null,
    top1: labelled ? Number((correct / labelled).toFixed(3)) : null,
    whole_image_fallbacks: fallbacks,
    per_class: perClass,
    confusion: { rows_true_cols_pred: EXPRESSIONS, matrix: confusion },
    groups: groups.length
      ? {
          images: groups.length,
          within_1: groups.filter((g) => g.ok).length,
          exact: groups.filter((g) => g.found === g.expected).length,
          detail: groups,
        }
      : undefined,
    errors,
    seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
  };
  console.log(JSON.stringify(summary));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
