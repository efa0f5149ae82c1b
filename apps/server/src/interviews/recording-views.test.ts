import { MemoryCache, MemoryCacheHub } from '../infra/cache/memory-cache.ts';
import { recordingViewsSuite } from './recording-views.suite.ts';

const hub = new MemoryCacheHub();
recordingViewsSuite('in-memory cache', () => new MemoryCache({ hub }));
