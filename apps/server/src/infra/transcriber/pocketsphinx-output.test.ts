import { describe, expect, it } from 'vitest';
import { parseSegments } from './pocketsphinx-output.ts';

// As printed by Debian 12's pocketsphinx_continuous -time yes (trimmed).
const STDOUT = `i usually just do what my manager tells me
<s> 0.000 0.160 1.000200
i 0.170 0.260 0.905551
usually 0.270 0.760 1.000200
<sil> 1.850 1.900 0.681578
lead(2) 4.100 4.270 0.126661
[NOISE] 4.280 4.320 0.5
</s> 5.780 5.860 1.000000
`;

describe('parseSegments', () => {
  it('reads each segment line in milliseconds, with the frame after the last as the end', () => {
    const segments = parseSegments(STDOUT);
    expect(segments.map((s) => s.word)).toEqual(['<s>', 'i', 'usually', '<sil>', 'lead', '[NOISE]', '</s>']);
    expect(segments[1]).toEqual({ word: 'i', startMs: 170, endMs: 270, confidence: 0.905551, filler: false });
    expect(segments[4]).toMatchObject({ word: 'lead', startMs: 4100, endMs: 4280, confidence: 0.126661 });
  });

  it('marks silences, sentence marks and noise as fillers and clamps confidences to 1', () => {
    const segments = parseSegments(STDOUT);
    expect(segments.filter((s) => s.filler).map((s) => s.word)).toEqual(['<s>', '<sil>', '[NOISE]', '</s>']);
    expect(Math.max(...segments.map((s) => s.confidence))).toBe(1);
  });

  it('ignores the hypothesis line and anything that is not a segment line', () => {
    expect(parseSegments('hello world\nINFO: something 1 2\n\n')).toEqual([]);
  });

  it('reads the KWS pass output of multi-word keyphrases in time order', () => {
    const segments = parseSegments('race condition 13.100 13.900 0.3\nthread 2.000 2.300 1e-3\n');
    expect(segments.map((s) => [s.word, s.startMs, s.confidence])).toEqual([
      ['thread', 2000, 0.001],
      ['race condition', 13100, 0.3],
    ]);
  });
});
