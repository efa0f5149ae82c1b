import { and, asc, eq, sql } from 'drizzle-orm';
import type { Database } from '../../infra/db/database.ts';
import { apiKeys } from '../../infra/db/schema.ts';

export type ApiKeyRow = typeof apiKeys.$inferSelect;

/** The `api_keys` table. Every method takes the organisation id. */
export class ApiKeyRepository {
  constructor(private readonly database: Database) {}

  list(orgId: string, provider?: string): Promise<ApiKeyRow[]> {
    return this.database.primary
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.orgId, orgId), provider ? eq(apiKeys.provider, provider) : undefined))
      .orderBy(asc(apiKeys.priority), asc(apiKeys.createdAt), asc(apiKeys.id));
  }

  async insert(orgId: string, values: Omit<typeof apiKeys.$inferInsert, 'orgId' | 'id'>): Promise<ApiKeyRow | null> {
    const [row] = await this.database.primary
      .insert(apiKeys)
      .values({ ...values, orgId })
      .onConflictDoNothing()
      .returning();
    return row ?? null;
  }

  async setActive(orgId: string, id: string, isActive: boolean): Promise<ApiKeyRow | null> {
    const [row] = await this.database.primary
      .update(apiKeys)
      .set({ isActive, ...(isActive ? { consecutiveFailures: 0, disabledUntil: null } : {}) })
      .where(and(eq(apiKeys.orgId, orgId), eq(apiKeys.id, id)))
      .returning();
    return row ?? null;
  }

  async delete(orgId: string, id: string): Promise<ApiKeyRow | null> {
    const [row] = await this.database.primary
      .delete(apiKeys)
      .where(and(eq(apiKeys.orgId, orgId), eq(apiKeys.id, id)))
      .returning();
    return row ?? null;
  }

  async recordSuccess(orgId: string, id: string, at: Date): Promise<void> {
    await this.database.primary
      .update(apiKeys)
      .set({ usageCount: sql`${apiKeys.usageCount} + 1`, lastUsedAt: at, consecutiveFailures: 0, disabledUntil: null })
      .where(and(eq(apiKeys.orgId, orgId), eq(apiKeys.id, id)));
  }

  /** Counts a failure; returns the consecutive failures so far. */
  async recordFailure(
    orgId: string,
    id: string,
    f: { at: Date; error: string; disabledUntil: Date | null; deactivate: boolean },
  ): Promise<void> {
    await this.database.primary
      .update(apiKeys)
      .set({
        usageCount: sql`${apiKeys.usageCount} + 1`,
        lastUsedAt: f.at,
        failureCount: sql`${apiKeys.failureCount} + 1`,
        consecutiveFailures: sql`${apiKeys.consecutiveFailures} + 1`,
        lastFailureAt: f.at,
        lastError: f.error.slice(0, 500),
        disabledUntil: f.disabledUntil,
        ...(f.deactivate ? { isActive: false } : {}),
      })
      .where(and(eq(apiKeys.orgId, orgId), eq(apiKeys.id, id)));
  }
}
