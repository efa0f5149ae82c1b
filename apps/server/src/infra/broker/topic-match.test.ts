import { describe, expect, it } from 'vitest';
import { topicMatches } from './topic-match.ts';

// The same rules are checked against RabbitMQ itself on generated keys in amqp-broker.real.test.ts.
describe('topicMatches', () => {
  it.each([
    ['a.b.c', 'a.b.c', true],
    ['a.b.c', 'a.b', false],
    ['a.*.c', 'a.b.c', true],
    ['a.*.c', 'a.c', false],
    ['a.*.c', 'a.b.b.c', false],
    ['a.#.c', 'a.c', true],
    ['a.#.c', 'a.b.b.c', true],
    ['a.#', 'a', true],
    ['#', '', true],
    ['*', '', false],
    ['*', 'a', true],
    ['', '', true],
    ['', 'a', false],
    ['#.#', 'a.b', true],
    ['*.#', '', false],
    ['a.*', 'a.', true],
    ['a..b', 'a..b', true],
    ['a.*.b', 'a..b', true],
    ['#.b.#', 'x.y.b.z', true],
    ['#.b.#', 'x.y.z', false],
  ])('pattern %j against key %j is %s', (pattern, key, expected) => {
    expect(topicMatches(pattern, key)).toBe(expected);
  });
});
