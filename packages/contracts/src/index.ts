export * from './errors.ts';
export * from './health.ts';
export * from './auth.ts';
export * from './scoring.ts';
export * from './interviews.ts';
export * from './emotion.ts';
export * from './realtime.ts';
export * from './media.ts';
