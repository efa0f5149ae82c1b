import type { TAddLlmKeyBody, TLlmKey } from '@parley/contracts';
import { requireAdmin, type Actor } from '../../shared/actor.ts';
import { AppError } from '../../shared/app-error.ts';
import type { ApiKeyRepository, ApiKeyRow } from './api-key.repository.ts';
import type { SecretBox } from './secret-box.ts';
import type { AuditEntry } from '../../accounts/index.ts';

/** An audit row, as the accounts context writes it (`AccountsService.audit` fits). */
export type { AuditEntry };
export type Audit = (entry: AuditEntry) => Promise<void>;

/** Admins manage their organisation's LLM provider keys; every change is audited. */
export class ApiKeysService {
  constructor(
    private readonly repo: ApiKeyRepository,
    private readonly box: SecretBox | null,
    private readonly audit: Audit,
  ) {}

  async list(actor: Actor): Promise<TLlmKey[]> {
    requireAdmin(actor);
    return (await this.repo.list(actor.orgId)).map(toView);
  }

  async add(actor: Actor, body: TAddLlmKeyBody): Promise<TLlmKey> {
    requireAdmin(actor);
    if (!this.box) throw new AppError('SERVICE_UNAVAILABLE', 'Set SECRETS_KEY (64 hex characters) to store API keys');
    const fingerprint = this.box.fingerprint(body.key);
    const row = await this.repo.insert(actor.orgId, {
      provider: body.provider,
      label: body.label,
      baseUrl: body.baseUrl ?? null,
      model: body.model ?? null,
      encryptedKey: this.box.encrypt(body.key),
      fingerprint,
      last4: body.key.slice(-4),
      priority: body.priority,
      rateLimitPerMin: body.rateLimitPerMin,
      createdBy: actor.userId,
    });
    if (!row) throw new AppError('ALREADY_EXISTS', 'This key is already stored for this provider', { fingerprint });
    await this.#audit(actor, 'llm_key.added', row);
    return toView(row);
  }

  async setActive(actor: Actor, id: string, active: boolean): Promise<TLlmKey> {
    requireAdmin(actor);
    const row = await this.repo.setActive(actor.orgId, id, active);
    if (!row) throw new AppError('NOT_FOUND', 'Key not found');
    await this.#audit(actor, active ? 'llm_key.enabled' : 'llm_key.disabled', row);
    return toView(row);
  }

  async remove(actor: Actor, id: string): Promise<void> {
    requireAdmin(actor);
    const row = await this.repo.delete(actor.orgId, id);
    if (!row) throw new AppError('NOT_FOUND', 'Key not found');
    await this.#audit(actor, 'llm_key.deleted', row);
  }

  #audit(actor: Extract<Actor, { kind: 'staff' }>, action: string, row: ApiKeyRow): Promise<void> {
    return this.audit({
      orgId: actor.orgId,
      actorId: actor.userId,
      action,
      targetType: 'api_key',
      targetId: row.id,
      ip: actor.ip,
      metadata: { provider: row.provider, fingerprint: row.fingerprint, label: row.label },
    });
  }
}

const iso = (d: Date | null) => d?.toISOString() ?? null;

function toView(k: ApiKeyRow): TLlmKey {
  return {
    id: k.id,
    provider: k.provider,
    label: k.label,
    baseUrl: k.baseUrl,
    model: k.model,
    masked: `••••${k.last4}`,
    fingerprint: k.fingerprint,
    isActive: k.isActive,
    priority: k.priority,
    rateLimitPerMin: k.rateLimitPerMin,
    usageCount: k.usageCount,
    failureCount: k.failureCount,
    consecutiveFailures: k.consecutiveFailures,
    lastUsedAt: iso(k.lastUsedAt),
    lastFailureAt: iso(k.lastFailureAt),
    lastError: k.lastError,
    disabledUntil: iso(k.disabledUntil),
    createdAt: k.createdAt.toISOString(),
  };
}
