/**
 * The daemon's node-local state in SQLite (better-sqlite3, WAL). Only the main thread touches it, and
 * never on the renewal path: renewals run in the lane workers and never wait for a database write.
 *
 * What is kept, and why:
 * - meta: the persistent host name (the same name after a restart is what allows sanlock's "fast
 *   reacquire" of our own delta lease), the boot id of the last run (monotonic times and process
 *   start times only compare within one boot).
 * - lockspaces: what was started (and is started again at boot) and where it stands.
 * - remembered_host_ids: host_ids picked automatically, reused next time.
 * - leases: what is held and by whom (pid + start time), to adopt or clean up after a restart.
 * - activations (schema 2): the LVs active on this host (mapping, device), next to their persistent
 *   leases, so a restarted daemon checks and keeps them (lvmlockd's adopt file).
 * - history: acquire / release / lease-loss events, bounded. Informational only, so rows are
 *   buffered in memory and written in batches (see flushHistory): an acquire or release then commits
 *   only its lease row. A daemon crash loses at most the unwritten batch.
 *
 * Synchronous = NORMAL: a committed transaction survives the daemon's own crash (it is in the WAL);
 * after a machine crash there is no holder left to protect anyway.
 *
 * locking_mode = EXCLUSIVE: only this daemon opens the file while it runs (the pid file in the same
 * directory keeps a second daemon out), so SQLite keeps its locks instead of taking and dropping six
 * fcntl locks per commit, and keeps the WAL index in its own memory (no -shm file). The price: no
 * other process (e.g. the sqlite3 shell) can read the database while the daemon runs.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export const STATE_FILE_NAME = 'state.db';
/** History rows kept; older ones are pruned. */
export const MAX_HISTORY_ROWS = 10_000;
/** The history is pruned once per this many rows written, not on every insert. */
const HISTORY_PRUNE_EVERY_ROWS = 500;
/** How often the daemon checkpoints the WAL. */
export const CHECKPOINT_INTERVAL_MS = 30_000;
/** History rows buffered in memory before they are written (one transaction for the batch). */
export const HISTORY_BATCH_ROWS = 256;
/** A buffered history row is written at the latest this long after it was added. */
export const HISTORY_FLUSH_DELAY_MS = 1000;
const SCHEMA_VERSION = 2;

export interface StoredLockspace {
  name: string;
  path: string;
  offsetBytes: number;
  /** As asked: 'auto' or a host_id. */
  hostIdRequest: number | 'auto';
  hostId: number | null;
  generation: bigint | null;
  startAtBoot: boolean;
  state: string;
}

export type HolderKind = 'process' | 'persistent';

export interface StoredLease {
  lockspace: string;
  resource: string;
  path: string;
  offsetBytes: number;
  mode: 'EX' | 'SH';
  lver: bigint;
  hostId: number;
  generation: bigint;
  holder: HolderKind;
  pid: number | null;
  pidStartTime: bigint | null;
  /** The lease layer's token (JSON), needed to release the lease after a restart. */
  token: string;
  acquiredAt: string;
}

/** An LV activation: 'activating' is written before its lease is acquired, 'active' once the device exists. */
export interface StoredActivation {
  lockspace: string;
  resource: string;
  path: string;
  offsetBytes: number;
  mode: 'EX' | 'SH';
  state: 'activating' | 'active';
  /** LvMapping as JSON. */
  mapping: string;
  /** ActiveDevice as JSON; null before the device exists. */
  device: string | null;
  vgSeqno: number | null;
  activatedAt: string;
}

export interface HistoryEntry {
  id: number;
  at: string;
  kind: string;
  lockspace: string | null;
  resource: string | null;
  pid: number | null;
  details: Record<string, unknown> | null;
}

export function holderKeyOf(holder: HolderKind, pid: number | null, pidStartTime: bigint | null): string {
  return holder === 'persistent' ? 'persistent' : `pid:${pid}:${pidStartTime}`;
}

interface LockspaceRow {
  name: string;
  path: string;
  offset_bytes: number;
  host_id_request: string;
  host_id: number | null;
  generation: string | null;
  start_at_boot: number;
  state: string;
}

interface LeaseRow {
  lockspace: string;
  resource: string;
  path: string;
  offset_bytes: number;
  mode: string;
  lver: string;
  host_id: number;
  generation: string;
  holder: string;
  pid: number | null;
  pid_start_time: string | null;
  token: string;
  acquired_at: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS lockspaces (
  name TEXT PRIMARY KEY,
  path TEXT NOT NULL,
  offset_bytes INTEGER NOT NULL,
  host_id_request TEXT NOT NULL,
  host_id INTEGER,
  generation TEXT,
  start_at_boot INTEGER NOT NULL,
  state TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS remembered_host_ids (
  lockspace TEXT NOT NULL,
  path TEXT NOT NULL,
  offset_bytes INTEGER NOT NULL,
  host_id INTEGER NOT NULL,
  PRIMARY KEY (lockspace, path, offset_bytes)
);
CREATE TABLE IF NOT EXISTS leases (
  lockspace TEXT NOT NULL,
  resource TEXT NOT NULL,
  holder_key TEXT NOT NULL,
  path TEXT NOT NULL,
  offset_bytes INTEGER NOT NULL,
  mode TEXT NOT NULL,
  lver TEXT NOT NULL,
  host_id INTEGER NOT NULL,
  generation TEXT NOT NULL,
  holder TEXT NOT NULL,
  pid INTEGER,
  pid_start_time TEXT,
  token TEXT NOT NULL,
  acquired_at TEXT NOT NULL,
  PRIMARY KEY (lockspace, resource, holder_key)
);
CREATE TABLE IF NOT EXISTS activations (
  lockspace TEXT NOT NULL,
  resource TEXT NOT NULL,
  path TEXT NOT NULL,
  offset_bytes INTEGER NOT NULL,
  mode TEXT NOT NULL,
  state TEXT NOT NULL,
  mapping TEXT NOT NULL,
  device TEXT,
  vg_seqno INTEGER,
  activated_at TEXT NOT NULL,
  PRIMARY KEY (lockspace, resource)
);
CREATE TABLE IF NOT EXISTS history (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  kind TEXT NOT NULL,
  lockspace TEXT,
  resource TEXT,
  pid INTEGER,
  details TEXT
);
`;

/** A history row waiting in memory; its details are serialized when the batch is written. */
interface PendingHistory {
  atMs: number;
  kind: string;
  lockspace: string | null;
  resource: string | null;
  pid: number | null;
  details: Record<string, unknown> | undefined;
}

export class StateDb {
  private readonly db: Database.Database;
  private historyWrites = 0;
  private readonly statements = new Map<string, Database.Statement>();
  private pendingHistory: PendingHistory[] = [];
  private historyTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly onHistoryError: (error: unknown) => void,
  ) {
    this.db = new Database(path);
    // Before the first access, so that the WAL index lives in heap memory (no shared memory at all).
    this.db.pragma('locking_mode = EXCLUSIVE');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 1000');
    // Checkpoints (the only writes that fsync) run from a timer (checkpoint()), not inside whichever
    // acquire's commit happens to cross the WAL size threshold.
    this.db.pragma('wal_autocheckpoint = 0');
    this.db.exec(SCHEMA);
    const version = this.getMeta('schema_version');
    // Older schemas only lack tables, which SCHEMA has just created: the version moves up.
    if (version === undefined || Number(version) < SCHEMA_VERSION)
      this.setMeta('schema_version', String(SCHEMA_VERSION));
    else if (Number(version) > SCHEMA_VERSION) {
      throw new Error(
        `state database ${path} has schema version ${version}, newer than this daemon's ${SCHEMA_VERSION}`,
      );
    }
  }

  /**
   * Opens (creating) `stateDir/state.db`; the directory is created mode 0700. `onHistoryError` hears
   * of a history batch that a timer could not write (there is no caller to throw to).
   */
  static open(stateDir: string, onHistoryError: (error: unknown) => void = () => undefined): StateDb {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    return new StateDb(join(stateDir, STATE_FILE_NAME), onHistoryError);
  }

  close(): void {
    if (this.closed) return;
    this.flushHistory();
    this.closed = true;
    this.db.close();
  }

  /** A prepared statement, compiled once (acquire and release write on every call). */
  private stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  getMeta(key: string): string | undefined {
    const row = this.stmt('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value;
  }

  setMeta(key: string, value: string): void {
    this.stmt('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(
      key,
      value,
    );
  }

  // ------------------------------------------------------------------------------ lockspaces

  upsertLockspace(lockspace: StoredLockspace): void {
    this.stmt(
      `INSERT INTO lockspaces (name, path, offset_bytes, host_id_request, host_id, generation, start_at_boot, state, updated_at)
         VALUES (@name, @path, @offsetBytes, @hostIdRequest, @hostId, @generation, @startAtBoot, @state, @now)
         ON CONFLICT(name) DO UPDATE SET path = excluded.path, offset_bytes = excluded.offset_bytes,
           host_id_request = excluded.host_id_request, host_id = excluded.host_id, generation = excluded.generation,
           start_at_boot = excluded.start_at_boot, state = excluded.state, updated_at = excluded.updated_at`,
    ).run({
      name: lockspace.name,
      path: lockspace.path,
      offsetBytes: lockspace.offsetBytes,
      hostIdRequest: String(lockspace.hostIdRequest),
      hostId: lockspace.hostId,
      generation: lockspace.generation === null ? null : lockspace.generation.toString(),
      startAtBoot: lockspace.startAtBoot ? 1 : 0,
      state: lockspace.state,
      now: new Date().toISOString(),
    });
  }

  deleteLockspace(name: string): void {
    this.stmt('DELETE FROM lockspaces WHERE name = ?').run(name);
  }

  lockspaces(): StoredLockspace[] {
    const rows = this.stmt('SELECT * FROM lockspaces ORDER BY name').all() as LockspaceRow[];
    return rows.map((row) => ({
      name: row.name,
      path: row.path,
      offsetBytes: row.offset_bytes,
      hostIdRequest: row.host_id_request === 'auto' ? 'auto' : Number(row.host_id_request),
      hostId: row.host_id,
      generation: row.generation === null ? null : BigInt(row.generation),
      startAtBoot: row.start_at_boot === 1,
      state: row.state,
    }));
  }

  rememberedHostId(lockspace: string, path: string, offsetBytes: number): number | undefined {
    const row = this.stmt(
      'SELECT host_id FROM remembered_host_ids WHERE lockspace = ? AND path = ? AND offset_bytes = ?',
    ).get(lockspace, path, offsetBytes) as { host_id: number } | undefined;
    return row?.host_id;
  }

  rememberHostId(lockspace: string, path: string, offsetBytes: number, hostId: number): void {
    this.stmt(
      `INSERT INTO remembered_host_ids (lockspace, path, offset_bytes, host_id) VALUES (?, ?, ?, ?)
         ON CONFLICT(lockspace, path, offset_bytes) DO UPDATE SET host_id = excluded.host_id`,
    ).run(lockspace, path, offsetBytes, hostId);
  }

  forgetHostId(lockspace: string, path: string, offsetBytes: number): void {
    this.stmt('DELETE FROM remembered_host_ids WHERE lockspace = ? AND path = ? AND offset_bytes = ?').run(
      lockspace,
      path,
      offsetBytes,
    );
  }

  // ---------------------------------------------------------------------------------- leases

  putLease(lease: StoredLease): void {
    this.stmt(
      `INSERT INTO leases (lockspace, resource, holder_key, path, offset_bytes, mode, lver, host_id, generation, holder, pid, pid_start_time, token, acquired_at)
         VALUES (@lockspace, @resource, @holderKey, @path, @offsetBytes, @mode, @lver, @hostId, @generation, @holder, @pid, @pidStartTime, @token, @acquiredAt)
         ON CONFLICT(lockspace, resource, holder_key) DO UPDATE SET path = excluded.path, offset_bytes = excluded.offset_bytes,
           mode = excluded.mode, lver = excluded.lver, host_id = excluded.host_id, generation = excluded.generation, token = excluded.token`,
    ).run({
      lockspace: lease.lockspace,
      resource: lease.resource,
      holderKey: holderKeyOf(lease.holder, lease.pid, lease.pidStartTime),
      path: lease.path,
      offsetBytes: lease.offsetBytes,
      mode: lease.mode,
      lver: lease.lver.toString(),
      hostId: lease.hostId,
      generation: lease.generation.toString(),
      holder: lease.holder,
      pid: lease.pid,
      pidStartTime: lease.pidStartTime === null ? null : lease.pidStartTime.toString(),
      token: lease.token,
      acquiredAt: lease.acquiredAt,
    });
  }

  deleteLease(lockspace: string, resource: string, holderKey: string): void {
    this.stmt('DELETE FROM leases WHERE lockspace = ? AND resource = ? AND holder_key = ?').run(
      lockspace,
      resource,
      holderKey,
    );
  }

  deleteLeasesOf(lockspace: string): void {
    this.stmt('DELETE FROM leases WHERE lockspace = ?').run(lockspace);
  }

  leases(lockspace?: string): StoredLease[] {
    const rows = (
      lockspace === undefined
        ? this.stmt('SELECT * FROM leases ORDER BY lockspace, resource').all()
        : this.stmt('SELECT * FROM leases WHERE lockspace = ? ORDER BY resource').all(lockspace)
    ) as LeaseRow[];
    return rows.map((row) => ({
      lockspace: row.lockspace,
      resource: row.resource,
      path: row.path,
      offsetBytes: row.offset_bytes,
      mode: row.mode === 'SH' ? 'SH' : 'EX',
      lver: BigInt(row.lver),
      hostId: row.host_id,
      generation: BigInt(row.generation),
      holder: row.holder === 'persistent' ? 'persistent' : 'process',
      pid: row.pid,
      pidStartTime: row.pid_start_time === null ? null : BigInt(row.pid_start_time),
      token: row.token,
      acquiredAt: row.acquired_at,
    }));
  }

  // ----------------------------------------------------------------------------- activations

  putActivation(activation: StoredActivation): void {
    this.stmt(
      `INSERT INTO activations (lockspace, resource, path, offset_bytes, mode, state, mapping, device, vg_seqno, activated_at)
         VALUES (@lockspace, @resource, @path, @offsetBytes, @mode, @state, @mapping, @device, @vgSeqno, @activatedAt)
         ON CONFLICT(lockspace, resource) DO UPDATE SET path = excluded.path, offset_bytes = excluded.offset_bytes,
           mode = excluded.mode, state = excluded.state, mapping = excluded.mapping, device = excluded.device,
           vg_seqno = excluded.vg_seqno, activated_at = excluded.activated_at`,
    ).run({ ...activation });
  }

  deleteActivation(lockspace: string, resource: string): void {
    this.stmt('DELETE FROM activations WHERE lockspace = ? AND resource = ?').run(lockspace, resource);
  }

  deleteActivationsOf(lockspace: string): void {
    this.stmt('DELETE FROM activations WHERE lockspace = ?').run(lockspace);
  }

  activations(lockspace?: string): StoredActivation[] {
    const rows = (
      lockspace === undefined
        ? this.stmt('SELECT * FROM activations ORDER BY lockspace, resource').all()
        : this.stmt('SELECT * FROM activations WHERE lockspace = ? ORDER BY resource').all(lockspace)
    ) as Array<{
      lockspace: string;
      resource: string;
      path: string;
      offset_bytes: number;
      mode: string;
      state: string;
      mapping: string;
      device: string | null;
      vg_seqno: number | null;
      activated_at: string;
    }>;
    return rows.map((row) => ({
      lockspace: row.lockspace,
      resource: row.resource,
      path: row.path,
      offsetBytes: row.offset_bytes,
      mode: row.mode === 'SH' ? 'SH' : 'EX',
      state: row.state === 'active' ? 'active' : 'activating',
      mapping: row.mapping,
      device: row.device,
      vgSeqno: row.vg_seqno,
      activatedAt: row.activated_at,
    }));
  }

  // --------------------------------------------------------------------------------- history

  /**
   * Records an event. It is written with the next batch (HISTORY_BATCH_ROWS rows, or
   * HISTORY_FLUSH_DELAY_MS later, or at checkpoint and close), not in the caller's transaction.
   * `details` must not be changed by the caller afterwards (it is serialized at the flush).
   */
  addHistory(
    kind: string,
    fields: { lockspace?: string; resource?: string; pid?: number; details?: Record<string, unknown> } = {},
  ): void {
    if (this.closed) return;
    this.pendingHistory.push({
      atMs: Date.now(),
      kind,
      lockspace: fields.lockspace ?? null,
      resource: fields.resource ?? null,
      pid: fields.pid ?? null,
      details: fields.details,
    });
    if (this.pendingHistory.length >= HISTORY_BATCH_ROWS) this.flushHistory();
    else if (this.historyTimer === undefined) {
      this.historyTimer = setTimeout(() => {
        this.historyTimer = undefined;
        try {
          this.flushHistory();
        } catch (error) {
          // Informational rows: a failed batch is dropped, the daemon goes on.
          this.onHistoryError(error);
        }
      }, HISTORY_FLUSH_DELAY_MS);
      this.historyTimer.unref();
    }
  }

  /** Writes the buffered history rows in one transaction (nested in the caller's, if any). */
  flushHistory(): void {
    if (this.historyTimer !== undefined) {
      clearTimeout(this.historyTimer);
      this.historyTimer = undefined;
    }
    if (this.closed || this.pendingHistory.length === 0) return;
    const rows = this.pendingHistory;
    this.pendingHistory = [];
    const insert = this.stmt(
      'INSERT INTO history (at, kind, lockspace, resource, pid, details) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.transaction(() => {
      for (const row of rows) {
        insert.run(
          new Date(row.atMs).toISOString(),
          row.kind,
          row.lockspace,
          row.resource,
          row.pid,
          row.details === undefined
            ? null
            : JSON.stringify(row.details, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
        );
      }
      // Prune now and then, not on every batch.
      const before = this.historyWrites;
      this.historyWrites += rows.length;
      if (Math.floor(before / HISTORY_PRUNE_EVERY_ROWS) !== Math.floor(this.historyWrites / HISTORY_PRUNE_EVERY_ROWS)) {
        this.stmt('DELETE FROM history WHERE id <= (SELECT MAX(id) FROM history) - ?').run(MAX_HISTORY_ROWS);
      }
    });
  }

  history(limit = 100): HistoryEntry[] {
    this.flushHistory();
    const rows = this.stmt('SELECT * FROM history ORDER BY id DESC LIMIT ?').all(limit) as Array<{
      id: number;
      at: string;
      kind: string;
      lockspace: string | null;
      resource: string | null;
      pid: number | null;
      details: string | null;
    }>;
    return rows.map((row) => ({
      ...row,
      details: row.details === null ? null : (JSON.parse(row.details) as Record<string, unknown>),
    }));
  }

  /** Writes the buffered history, then copies the WAL into the database file (PASSIVE: never waits for readers). */
  checkpoint(): void {
    this.flushHistory();
    this.db.pragma('wal_checkpoint(PASSIVE)');
  }

  /**
   * Several writes as one transaction. The outermost one is a plain BEGIN/COMMIT through cached
   * statements (better-sqlite3's transaction() builds a wrapper per call, and this runs on every
   * acquire and release); a nested one is a savepoint, as better-sqlite3 does it.
   */
  transaction<T>(work: () => T): T {
    if (this.db.inTransaction) return this.db.transaction(work)();
    this.stmt('BEGIN').run();
    try {
      const result = work();
      this.stmt('COMMIT').run();
      return result;
    } catch (error) {
      if (this.db.inTransaction) this.stmt('ROLLBACK').run();
      throw error;
    }
  }
}
