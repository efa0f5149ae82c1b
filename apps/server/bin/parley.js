#!/usr/bin/env node
// The `parley` command: runs the TypeScript sources through tsx, so there is no separate build.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
