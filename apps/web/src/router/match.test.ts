import { describe, expect, it } from 'vitest';
import { matchPath, queryOf, toSearch } from './match.ts';

describe('route matching', () => {
  it('matches literal segments and captures parameters', () => {
    expect(matchPath('/sessions/:id', '/sessions/abc')).toEqual({ id: 'abc' });
    expect(matchPath('/sessions', '/sessions/')).toEqual({});
    expect(matchPath('/sessions/:id', '/sessions')).toBeNull();
    expect(matchPath('/questions/new', '/questions/abc')).toBeNull();
    expect(matchPath('/a/:x', '/a/%E2%9C%93')).toEqual({ x: '✓' });
    expect(matchPath('/a/:x', '/a/%E0%A4%A')).toBeNull();
  });

  it('reads and writes query strings without empty values', () => {
    expect(queryOf('?status=completed&interviewId=')).toEqual({ status: 'completed', interviewId: '' });
    expect(toSearch({ status: 'completed', interviewId: '' })).toBe('?status=completed');
    expect(toSearch({})).toBe('');
  });
});
