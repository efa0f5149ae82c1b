import type { RoleName } from '../config.ts';
import { emotionRole } from './emotion.role.ts';
import { gatewayRole } from './gateway.role.ts';
import { interviewRole } from './interview.role.ts';
import { realtimeRole } from './realtime.role.ts';
import type { Role } from './role.ts';
import { scoringRole } from './scoring.role.ts';
import { workerRole } from './worker.role.ts';

export const ROLES: Record<RoleName, Role> = {
  gateway: gatewayRole,
  interview: interviewRole,
  realtime: realtimeRole,
  emotion: emotionRole,
  scoring: scoringRole,
  worker: workerRole,
};
