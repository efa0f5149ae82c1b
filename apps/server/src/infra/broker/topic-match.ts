/**
 * AMQP topic matching, as RabbitMQ does it: keys and patterns are dot-separated words, `*` stands
 * for exactly one word and `#` for zero or more. An empty key has no words (so `#` matches it and
 * `*` does not); `a..b` has an empty middle word.
 */
export function topicMatches(pattern: string, routingKey: string): boolean {
  const p = words(pattern);
  const k = words(routingKey);
  // memo[i][j]: does p[i..] match k[j..]? Keys are short, so the table stays tiny.
  const memo: (boolean | undefined)[][] = p.map(() => []);
  const match = (i: number, j: number): boolean => {
    if (i === p.length) return j === k.length;
    const known = memo[i]![j];
    if (known !== undefined) return known;
    const word = p[i];
    let result: boolean;
    if (word === '#') result = match(i + 1, j) || (j < k.length && match(i, j + 1));
    else result = j < k.length && (word === '*' || word === k[j]) && match(i + 1, j + 1);
    memo[i]![j] = result;
    return result;
  };
  return match(0, 0);
}

const words = (s: string): string[] => (s === '' ? [] : s.split('.'));
