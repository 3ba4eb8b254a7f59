import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/setup/databases.ts';
import { PrincipalChangeEntrySchema } from './access-event.ts';
import { AccessError } from './errors.ts';
import { createPrincipal, disablePrincipal, sha256Hex } from './principal.ts';
import { authorize } from './role.ts';
import { parseScope } from './scope.ts';
import { openTestStore } from './test-support.ts';
import type { TestStore } from './test-support.ts';
import {
  authenticateToken,
  DEFAULT_TOKEN_LIFETIME_DAYS,
  issueToken,
  MAX_TOKEN_LIFETIME_DAYS,
  revokeToken,
  revokeTokensOf,
} from './token.ts';

const DAY = 86_400_000;

async function accessError(promise: Promise<unknown>): Promise<AccessError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AccessError) return error;
    throw error;
  }
  throw new Error('expected an AccessError');
}

for (const dialect of DIALECTS) {
  describe(dialect, () => {
    let t: TestStore;

    beforeEach(async () => {
      t = await openTestStore(dialect);
      await createPrincipal(t.store, {
        name: 'pollbook',
        role: 'api-client',
        scope: parseScope(['01', '02']),
        by: t.console,
      });
    });

    afterEach(async () => {
      await t.remove();
    });

    it('issues a random token shown once, stores only its SHA-256, and logs its id', async () => {
      const issued = await issueToken(t.store, {
        name: 'pollbook',
        actions: ['view', 'search'],
        scope: parseScope(['02']),
        by: t.console,
      });
      expect(issued.token).toMatch(/^vv_[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(issued.token.slice(3), 'base64url')).toHaveLength(32);
      expect(issued.tokenId).toMatch(/^[0-9a-f]{16}$/);
      expect(issued.actions).toEqual(['search', 'view']);
      expect(issued.expiresAt).toBe(
        new Date(t.clock.now.getTime() + DEFAULT_TOKEN_LIFETIME_DAYS * DAY).toISOString(),
      );
      const rows = await t.handle.db
        .selectFrom('access_token')
        .select(['token_hash', 'token_id', 'scope', 'actions'])
        .execute();
      expect(rows).toEqual([
        {
          token_hash: sha256Hex(issued.token),
          token_id: issued.tokenId,
          scope: '["02"]',
          actions: '["search","view"]',
        },
      ]);
      const entries = await t.log.entries();
      expect(PrincipalChangeEntrySchema.parse(entries.at(-1))).toMatchObject({
        change: 'token-issued',
        token: issued.tokenId,
        scope: ['02'],
        role: 'api-client',
      });
      expect(JSON.stringify(entries)).not.toContain(issued.token.slice(3));
      const second = await issueToken(t.store, {
        name: 'pollbook',
        actions: ['search'],
        by: t.console,
      });
      expect(second.token).not.toBe(issued.token);
      expect(second.scope).toEqual(parseScope(['01', '02']));
    });

    it("authenticates as the client with the token's scope and actions, which authorize honours", async () => {
      const { token } = await issueToken(t.store, {
        name: 'pollbook',
        actions: ['search'],
        scope: parseScope(['02']),
        by: t.console,
      });
      const principal = await authenticateToken(t.store, token);
      expect(principal).toMatchObject({
        name: 'pollbook',
        role: 'api-client',
        scope: { kind: 'counties', counties: ['02'] },
        actions: ['search'],
      });
      expect(authorize(principal, { action: 'search', jurisdiction: '02' }).allowed).toBe(true);
      expect(authorize(principal, { action: 'search', jurisdiction: '01' })).toEqual({
        allowed: false,
        reason: 'out-of-scope',
      });
      expect(
        authorize(principal, { action: 'view', jurisdiction: '02', purpose: 'audit' }),
      ).toEqual({ allowed: false, reason: 'action-not-allowed' });
    });

    it('stops working at its expiry, exactly', async () => {
      const { token } = await issueToken(t.store, {
        name: 'pollbook',
        actions: ['search'],
        expiresAt: new Date(t.clock.now.getTime() + DAY),
        by: t.console,
      });
      t.clock.advance(DAY - 1);
      await authenticateToken(t.store, token);
      t.clock.advance(1);
      const error = await accessError(authenticateToken(t.store, token));
      expect(error.code).toBe('TOKEN_INVALID');
      expect(error.message).toBe('Cannot authenticate: the token is unknown, revoked or expired');
    });

    it('refuses unknown, malformed and revoked tokens alike, and revokes once', async () => {
      const { token, tokenId } = await issueToken(t.store, {
        name: 'pollbook',
        actions: ['search'],
        by: t.console,
      });
      const unknown = `vv_${Buffer.alloc(32, 7).toString('base64url')}`;
      for (const bad of [
        unknown,
        '',
        'vv_',
        token.slice(0, -1),
        `${token}x`,
        token.slice(3),
        `Bearer ${token}`,
      ]) {
        expect((await accessError(authenticateToken(t.store, bad))).code).toBe('TOKEN_INVALID');
      }
      await revokeToken(t.store, { tokenId, by: t.console });
      expect((await accessError(authenticateToken(t.store, token))).code).toBe('TOKEN_INVALID');
      const logged = (await t.log.entries()).length;
      await revokeToken(t.store, { tokenId, by: t.console });
      expect(await t.log.entries()).toHaveLength(logged);
      expect(PrincipalChangeEntrySchema.parse((await t.log.entries()).at(-1))).toMatchObject({
        change: 'token-revoked',
        token: tokenId,
      });
      expect(
        (await accessError(revokeToken(t.store, { tokenId: '0000000000000000', by: t.console })))
          .code,
      ).toBe('TOKEN_INVALID');
    });

    it('revokes every live token of a client', async () => {
      const a = await issueToken(t.store, { name: 'pollbook', actions: ['search'], by: t.console });
      const b = await issueToken(t.store, { name: 'pollbook', actions: ['view'], by: t.console });
      await revokeToken(t.store, { tokenId: a.tokenId, by: t.console });
      expect(await revokeTokensOf(t.store, { name: 'pollbook', by: t.console })).toBe(1);
      expect((await accessError(authenticateToken(t.store, b.token))).code).toBe('TOKEN_INVALID');
      expect(await revokeTokensOf(t.store, { name: 'pollbook', by: t.console })).toBe(0);
    });

    it('refuses a token for an official, a disabled client, a wider scope, bad actions or expiry', async () => {
      await createPrincipal(t.store, {
        name: 'clerk',
        role: 'county-clerk',
        scope: parseScope(['01']),
        by: t.console,
      });
      const official = await accessError(
        issueToken(t.store, { name: 'clerk', actions: ['search'], by: t.console }),
      );
      expect(official.code).toBe('ROLE_INVALID');
      const wider = await accessError(
        issueToken(t.store, {
          name: 'pollbook',
          actions: ['search'],
          scope: parseScope(['01', '03']),
          by: t.console,
        }),
      );
      expect(wider.code).toBe('SCOPE_INVALID');
      const statewide = await accessError(
        issueToken(t.store, {
          name: 'pollbook',
          actions: ['search'],
          scope: parseScope(['state']),
          by: t.console,
        }),
      );
      expect(statewide.code).toBe('SCOPE_INVALID');
      for (const actions of [[], ['manage-users'], ['search', 'update']] as const) {
        expect(
          (await accessError(issueToken(t.store, { name: 'pollbook', actions, by: t.console })))
            .code,
        ).toBe('TOKEN_REQUEST_INVALID');
      }
      for (const expiresAt of [
        t.clock.now,
        new Date(t.clock.now.getTime() - 1),
        new Date(t.clock.now.getTime() + MAX_TOKEN_LIFETIME_DAYS * DAY + 1),
        new Date(Number.NaN),
      ]) {
        expect(
          (
            await accessError(
              issueToken(t.store, {
                name: 'pollbook',
                actions: ['search'],
                expiresAt,
                by: t.console,
              }),
            )
          ).code,
        ).toBe('TOKEN_REQUEST_INVALID');
      }
      await issueToken(t.store, {
        name: 'pollbook',
        actions: ['search'],
        expiresAt: new Date(t.clock.now.getTime() + MAX_TOKEN_LIFETIME_DAYS * DAY),
        by: t.console,
      });
      await disablePrincipal(t.store, { name: 'pollbook', by: t.console });
      expect(
        (
          await accessError(
            issueToken(t.store, { name: 'pollbook', actions: ['search'], by: t.console }),
          )
        ).code,
      ).toBe('PRINCIPAL_DISABLED');
      expect(
        (
          await accessError(
            issueToken(t.store, { name: 'nobody', actions: ['search'], by: t.console }),
          )
        ).code,
      ).toBe('PRINCIPAL_NOT_FOUND');
      expect(
        await t.handle.db.selectFrom('access_token').select('token_id').execute(),
      ).toHaveLength(1);
    });

    it('issues nothing when the log does not take it', async () => {
      const error = await accessError(
        issueToken(t.store, {
          name: 'pollbook',
          actions: ['search'],
          by: { ...t.console, appendLog: () => Promise.reject(new Error('no log')) },
        }),
      );
      expect(error.code).toBe('ACCESS_LOG_FAILED');
      expect(await t.handle.db.selectFrom('access_token').select('token_id').execute()).toEqual([]);
    });

    it('refuses a token whose stored actions were altered', async () => {
      const { token } = await issueToken(t.store, {
        name: 'pollbook',
        actions: ['search'],
        by: t.console,
      });
      for (const actions of ['["search","sudo"]', '[]', 'not json']) {
        await t.handle.db.updateTable('access_token').set({ actions }).execute();
        expect((await accessError(authenticateToken(t.store, token))).code).toBe(
          'CREDENTIAL_CORRUPT',
        );
      }
    });
  });
}
