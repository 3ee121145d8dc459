/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "rc-store"

#include "config.h"

#include "rc-store.h"
#include "rc-store-private.h"

#include "rc-error.h"
#include "rc-json.h"

#include <gio/gio.h>
#include <sqlite3.h>

#include <errno.h>
#include <string.h>
#include <sys/random.h>

/*
 * RcStore: the daemon's only SQLite connection.
 *
 * Opening never modifies a file it cannot use: user_version is read before anything is written,
 * so a file that is not a database, or one from a newer build, is refused untouched. Hot paths use
 * statements prepared once (self->statements); everything else prepares per call. SQL text is
 * always fixed: the list query is put together from constant fragments and every value is bound.
 */

#define RC_STORE_BUSY_TIMEOUT_MS 5000
#define RC_STORE_KEY_RANDOM_BYTES 20  /* 160 bits: "ak_" + 40 hex characters */
#define RC_STORE_KEY_PREFIX_LENGTH 8  /* "ak_" + 5 hex characters, shown in listings */
#define RC_STORE_KEY_DIGEST_LENGTH 32 /* SHA-256 */
#define RC_STORE_KEY_TOUCH_INTERVAL                                                                \
  (60 * G_USEC_PER_SEC) /* last_used_at written at most this often */
#define RC_STORE_EVENT_ID_CHARS 26
/* A valid key's row is reused for this long before it is read again: a key revoked by another
 * process (reachcellctl) stops working within this time; revoked here, at once. */
#define RC_STORE_KEY_CACHE_USEC G_USEC_PER_SEC
#define RC_STORE_KEY_CACHE_MAX 64
/* µs in a UTC day: call_days buckets calls by created_at / RC_STORE_DAY_US. A literal (not an
 * expression) because the migration SQL spells it with G_STRINGIFY. */
#define RC_STORE_DAY_US 86400000000
/* A list page whose offset is below this is read with a plain OFFSET; deeper pages are first
 * positioned on their day through call_days, so their cost does not grow with the page. */
#define RC_STORE_DEEP_OFFSET 1000
/* WAL pages (4 KiB) after which a commit asks for a checkpoint in a worker thread. */
#define RC_STORE_CHECKPOINT_PAGES 1000

/*
 * Schema migrations: migrations[N] takes a database from user_version N to N + 1, in one
 * transaction together with the user_version bump. Append only: a step that has shipped is never
 * edited, a change is a new step (and a test migrating from every earlier version).
 *
 * Changelog
 *   1 (0.1.0)  calls, events, api_keys, idempotency and the list indexes.
 *   2 (0.1.0)  webhooks, deliveries (the outbox) and attempts.
 *   3 (0.2.0)  compact events (no JSON copy), narrower call indexes, call_days, counters.
 */
static const char *const migrations[] = {
  /* 0 → 1 (0.1.0): initial schema.
   * calls: one row per call; enums as their rc-call.h strings; times in UTC µs, NULL when not
   *   (yet) set; cost in micro-USD, NULL when unknown. The list is ordered by created_at DESC,
   *   call_id DESC, and each filter has an index ending in (created_at, call_id) so that a page
   *   is read in index order without sorting. "number" matches from or to: one index each, the
   *   list query is a UNION ALL of the two. The trailing columns of calls_by_status, _from and
   *   _to hold the other filter columns, so that every COUNT(*) for a total is index-only.
   * call_counts: calls per status, kept by triggers, so counting for health and metrics does
   *   not scan a million index entries.
   * events: per-call sequence, gap-free, UNIQUE (call_id, sequence) is also the lookup index.
   * api_keys: only the SHA-256 digest and a display prefix, never the key.
   * idempotency: responses of POST /v1/calls/dial by (API key, Idempotency-Key), kept 24 h. */
  "CREATE TABLE calls ("
  "  id INTEGER PRIMARY KEY,"
  "  call_id TEXT UNIQUE NOT NULL,"
  "  direction TEXT NOT NULL,"
  "  from_number TEXT,"
  "  to_number TEXT,"
  "  status TEXT NOT NULL,"
  "  end_reason TEXT,"
  "  client_reference TEXT,"
  "  modem TEXT,"
  "  slot INTEGER NOT NULL DEFAULT 0,"
  "  line TEXT,"
  "  mm_path TEXT,"
  "  timeout_seconds INTEGER NOT NULL DEFAULT 0,"
  "  initiated_at INTEGER,"
  "  ringing_at INTEGER,"
  "  connected_at INTEGER,"
  "  ended_at INTEGER,"
  "  created_at INTEGER NOT NULL,"
  "  cost_micro_usd INTEGER,"
  "  last_sequence INTEGER NOT NULL DEFAULT 0,"
  "  local_hangup INTEGER NOT NULL DEFAULT 0"
  ");"
  "CREATE INDEX calls_by_created ON calls (created_at, call_id);"
  "CREATE INDEX calls_by_status ON calls (status, created_at, call_id, direction);"
  "CREATE INDEX calls_by_direction ON calls (direction, created_at, call_id);"
  "CREATE INDEX calls_by_from ON calls (from_number, created_at, call_id, status, direction);"
  "CREATE INDEX calls_by_to ON calls (to_number, created_at, call_id, from_number, status, "
  "  direction);"
  "CREATE TABLE call_counts ("
  "  status TEXT PRIMARY KEY,"
  "  count INTEGER NOT NULL"
  ") WITHOUT ROWID;"
  "INSERT INTO call_counts (status, count) VALUES ('initiating', 0), ('ringing', 0), "
  "  ('connected', 0), ('ended', 0), ('missed', 0), ('rejected', 0), ('failed', 0);"
  "CREATE TRIGGER calls_count_insert AFTER INSERT ON calls BEGIN"
  "  UPDATE call_counts SET count = count + 1 WHERE status = NEW.status;"
  "END;"
  "CREATE TRIGGER calls_count_update AFTER UPDATE OF status ON calls"
  "  WHEN OLD.status IS NOT NEW.status BEGIN"
  "  UPDATE call_counts SET count = count - 1 WHERE status = OLD.status;"
  "  UPDATE call_counts SET count = count + 1 WHERE status = NEW.status;"
  "END;"
  "CREATE TRIGGER calls_count_delete AFTER DELETE ON calls BEGIN"
  "  UPDATE call_counts SET count = count - 1 WHERE status = OLD.status;"
  "END;"
  "CREATE TABLE events ("
  "  id INTEGER PRIMARY KEY,"
  "  event_id TEXT UNIQUE NOT NULL,"
  "  call_id TEXT NOT NULL REFERENCES calls (call_id),"
  "  sequence INTEGER NOT NULL,"
  "  type TEXT NOT NULL,"
  "  created_at INTEGER NOT NULL,"
  "  data TEXT NOT NULL,"
  "  UNIQUE (call_id, sequence)"
  ");"
  "CREATE TABLE api_keys ("
  "  id INTEGER PRIMARY KEY,"
  "  name TEXT NOT NULL,"
  "  prefix TEXT NOT NULL,"
  "  digest BLOB UNIQUE NOT NULL,"
  "  created_at INTEGER NOT NULL,"
  "  revoked_at INTEGER,"
  "  last_used_at INTEGER"
  ");"
  "CREATE TABLE idempotency ("
  "  key_id INTEGER NOT NULL,"
  "  idempotency_key TEXT NOT NULL,"
  "  request_digest TEXT NOT NULL,"
  "  status INTEGER NOT NULL,"
  "  body TEXT NOT NULL,"
  "  created_at INTEGER NOT NULL,"
  "  PRIMARY KEY (key_id, idempotency_key)"
  ") WITHOUT ROWID;"
  "CREATE INDEX idempotency_by_created ON idempotency (created_at);",

  /* 1 → 2 (0.1.0): webhooks.
   * webhooks: events is a space-separated list of types, or "call.*"; the secret is kept in
   *   the clear because it signs every delivery (it is shown once by the API, never logged).
   * deliveries: the outbox, one row per (webhook, event), written in the transaction that
   *   stores the event. A row stays 'pending' until an attempt ends it, so a crash mid-send
   *   retries it with the same event id. deliveries_next serves the due scan and the order
   *   check (the lowest pending sequence of a call per webhook goes first).
   * attempts: the log of every attempt. */
  "CREATE TABLE webhooks ("
  "  id INTEGER PRIMARY KEY,"
  "  webhook_id TEXT UNIQUE NOT NULL,"
  "  url TEXT NOT NULL,"
  "  events TEXT NOT NULL,"
  "  description TEXT,"
  "  secret TEXT NOT NULL,"
  "  enabled INTEGER NOT NULL DEFAULT 1,"
  "  disabled_reason TEXT,"
  "  created_at INTEGER NOT NULL,"
  "  updated_at INTEGER NOT NULL,"
  "  failing_since INTEGER"
  ");"
  "CREATE TABLE deliveries ("
  "  id INTEGER PRIMARY KEY,"
  "  delivery_id TEXT UNIQUE NOT NULL,"
  "  webhook INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,"
  "  event_id TEXT NOT NULL,"
  "  event_type TEXT NOT NULL,"
  "  call_id TEXT,"
  "  sequence INTEGER NOT NULL DEFAULT 0,"
  "  status TEXT NOT NULL DEFAULT 'pending',"
  "  attempts INTEGER NOT NULL DEFAULT 0,"
  "  next_attempt_at INTEGER NOT NULL,"
  "  created_at INTEGER NOT NULL,"
  "  updated_at INTEGER NOT NULL,"
  "  last_http_status INTEGER,"
  "  last_error TEXT,"
  "  UNIQUE (webhook, event_id)"
  ");"
  "CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE status = 'pending';"
  "CREATE INDEX deliveries_next ON deliveries (webhook, call_id, sequence) "
  "  WHERE status = 'pending';"
  "CREATE INDEX deliveries_by_webhook ON deliveries (webhook, status, id);"
  "CREATE TABLE attempts ("
  "  id INTEGER PRIMARY KEY,"
  "  delivery INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,"
  "  attempted_at INTEGER NOT NULL,"
  "  http_status INTEGER,"
  "  error TEXT,"
  "  duration_us INTEGER NOT NULL"
  ");"
  "CREATE INDEX attempts_by_delivery ON attempts (delivery, id);",

  /* 2 → 3 (0.2.0): about 400 bytes per stored call instead of 2,600 (issue 6).
   * events: keyed by the call's integer id; type is the RcCallStatus number of "call.<status>"
   *   (stable: the enum is append-only); offset_us is the event's time in µs after the call's
   *   created_at. No JSON copy of the call any more: an event's payload is the call row as it
   *   was at that status (rc_call_as_of ()), which only differs from the old copy where a late
   *   caller number filled `from` after the event. event_id is NULL for events stored from now
   *   on (their id is derived from call_id and sequence, see event_id_for ()); the ids of
   *   events stored before, already sent to receivers, are kept.
   * calls: new calls get distinct created_at values (rc_store_claim_created_at ()), so the
   *   indexes no longer carry call_id as a tie-break: the row id in every index entry orders the
   *   ties of older rows, in creation order. Values that are always copies are not stored: line
   *   is NULL when it is the call's own side (from for outbound, to for inbound), initiated_at
   *   is NULL when it equals created_at, which both always are today (and 0 when not set).
   * call_days: calls per (UTC day, status, direction), kept by triggers: the totals of filtered
   *   lists and the position of a deep page come from it instead of counting rows.
   * counters: totals that would need a scan, kept by triggers ('events'). */
  "CREATE TABLE events_v3 ("
  "  call INTEGER NOT NULL REFERENCES calls (id),"
  "  sequence INTEGER NOT NULL,"
  "  type INTEGER NOT NULL,"
  "  offset_us INTEGER NOT NULL,"
  "  event_id TEXT,"
  "  PRIMARY KEY (call, sequence)"
  ") WITHOUT ROWID;"
  "INSERT INTO events_v3 (call, sequence, type, offset_us, event_id) "
  "  SELECT c.id, e.sequence, CASE e.type WHEN 'call.initiating' THEN 0 WHEN 'call.ringing' "
  "  THEN 1 WHEN 'call.connected' THEN 2 WHEN 'call.ended' THEN 3 WHEN 'call.missed' THEN 4 "
  "  WHEN 'call.rejected' THEN 5 WHEN 'call.failed' THEN 6 END, e.created_at - c.created_at, "
  "  e.event_id FROM events e JOIN calls c ON c.call_id = e.call_id;"
  "DROP TABLE events;"
  "ALTER TABLE events_v3 RENAME TO events;"
  "CREATE TABLE counters ("
  "  name TEXT PRIMARY KEY,"
  "  value INTEGER NOT NULL"
  ") WITHOUT ROWID;"
  "INSERT INTO counters (name, value) SELECT 'events', count (*) FROM events;"
  "CREATE TRIGGER events_count_insert AFTER INSERT ON events BEGIN"
  "  UPDATE counters SET value = value + 1 WHERE name = 'events';"
  "END;"
  "DROP INDEX calls_by_created;"
  "DROP INDEX calls_by_status;"
  "DROP INDEX calls_by_direction;"
  "DROP INDEX calls_by_from;"
  "DROP INDEX calls_by_to;"
  "CREATE INDEX calls_by_created ON calls (created_at);"
  "CREATE INDEX calls_by_status ON calls (status, created_at);"
  "CREATE INDEX calls_by_from ON calls (from_number, created_at);"
  "CREATE INDEX calls_by_to ON calls (to_number, created_at);"
  "UPDATE calls SET line = NULL WHERE line IS "
  "  CASE direction WHEN 'outbound' THEN from_number ELSE to_number END;"
  "UPDATE calls SET initiated_at = CASE WHEN initiated_at IS NULL THEN 0 WHEN initiated_at = "
  "  created_at THEN NULL ELSE initiated_at END;"
  "CREATE TABLE call_days ("
  "  day INTEGER NOT NULL,"
  "  status TEXT NOT NULL,"
  "  direction TEXT NOT NULL,"
  "  count INTEGER NOT NULL,"
  "  PRIMARY KEY (day, status, direction)"
  ") WITHOUT ROWID;"
  "INSERT INTO call_days (day, status, direction, count) "
  "  SELECT created_at / " G_STRINGIFY (
      RC_STORE_DAY_US) ", status, direction, count (*) "
                       "  FROM calls GROUP BY 1, 2, 3;"
                       "CREATE TRIGGER call_days_insert AFTER INSERT ON calls BEGIN"
                       "  INSERT INTO call_days (day, status, direction, count) VALUES "
                       "(NEW.created_at / " G_STRINGIFY (
                           RC_STORE_DAY_US) ", NEW.status, NEW.direction, 1) "
                                            "  ON CONFLICT DO UPDATE SET count = count + 1;"
                                            "END;"
                                            "CREATE TRIGGER call_days_update AFTER UPDATE OF "
                                            "status, direction, created_at ON calls"
                                            "  WHEN OLD.status IS NOT NEW.status OR OLD.direction "
                                            "IS NOT NEW.direction"
                                            "  OR OLD.created_at / " G_STRINGIFY (RC_STORE_DAY_US) " IS NOT NEW.created_at / " G_STRINGIFY (
                                                RC_STORE_DAY_US) " BEGIN"
                                                                 "  UPDATE call_days SET count = "
                                                                 "count - 1 WHERE day = "
                                                                 "OLD.created_at / " G_STRINGIFY (
                                                                     RC_STORE_DAY_US) " AND status "
                                                                                      "= "
                                                                                      "OLD.status "
                                                                                      "AND "
                                                                                      "direction = "
                                                                                      "OLD."
                                                                                      "direction;"
                                                                                      "  INSERT "
                                                                                      "INTO "
                                                                                      "call_days "
                                                                                      "(day, "
                                                                                      "status, "
                                                                                      "direction, "
                                                                                      "count) "
                                                                                      "VALUES "
                                                                                      "(NEW."
                                                                                      "created_at "
                                                                                      "/"
                                                                                      " " G_STRINGIFY (
                                                                                          RC_STORE_DAY_US) ", NEW.status, NEW.direction, 1) "
                                                                                                           "  ON CONFLICT DO UPDATE SET count = count + 1;"
                                                                                                           "END;"
                                                                                                           "CREATE TRIGGER call_days_delete AFTER DELETE ON calls BEGIN"
                                                                                                           "  UPDATE call_days SET count = count - 1 WHERE day = OLD.created_at / " G_STRINGIFY (
                                                                                                               RC_STORE_DAY_US) " AND status = OLD.status AND direction = OLD.direction;"
                                                                                                                                "END;",
};
G_STATIC_ASSERT (G_N_ELEMENTS (migrations) == RC_STORE_SCHEMA_VERSION);

const char *
rc_store_migration_sql (guint from_version)
{
  g_return_val_if_fail (from_version < G_N_ELEMENTS (migrations), NULL);
  return migrations[from_version];
}

/* Column order shared by every query that reads a call (see call_from_row ()). */
#define CALL_COLUMNS                                                                               \
  "call_id, direction, from_number, to_number, status, end_reason, client_reference, modem, "      \
  "slot, line, mm_path, timeout_seconds, initiated_at, ringing_at, connected_at, ended_at, "       \
  "created_at, cost_micro_usd, last_sequence, local_hangup"
#define CALL_N_COLUMNS 20

/* Statements prepared once and kept for the life of the connection (the hot paths). */
typedef enum {
  STATEMENT_GET_CALL,
  STATEMENT_SAVE_CALL,
  STATEMENT_SET_LAST_SEQUENCE,
  STATEMENT_INSERT_EVENT,
  STATEMENT_FIND_KEY,
  STATEMENT_TOUCH_KEY,
  N_STATEMENTS,
} RcStoreStatement;

static const char *const statement_sql[N_STATEMENTS] = {
  [STATEMENT_GET_CALL] = "SELECT " CALL_COLUMNS " FROM calls WHERE call_id = ?1",
  [STATEMENT_SAVE_CALL]
  = "INSERT INTO calls (" CALL_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
    "?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20) ON CONFLICT (call_id) DO UPDATE SET "
    "direction = excluded.direction, from_number = excluded.from_number, "
    "to_number = excluded.to_number, status = excluded.status, "
    "end_reason = excluded.end_reason, client_reference = excluded.client_reference, "
    "modem = excluded.modem, slot = excluded.slot, line = excluded.line, "
    "mm_path = excluded.mm_path, timeout_seconds = excluded.timeout_seconds, "
    "initiated_at = excluded.initiated_at, ringing_at = excluded.ringing_at, "
    "connected_at = excluded.connected_at, ended_at = excluded.ended_at, "
    "created_at = excluded.created_at, cost_micro_usd = excluded.cost_micro_usd, "
    "last_sequence = excluded.last_sequence, local_hangup = excluded.local_hangup",
  [STATEMENT_SET_LAST_SEQUENCE]
  = "UPDATE calls SET last_sequence = ?2 WHERE call_id = ?1 RETURNING id, created_at",
  [STATEMENT_INSERT_EVENT]
  = "INSERT INTO events (call, sequence, type, offset_us) VALUES (?1, ?2, ?3, ?4)",
  [STATEMENT_FIND_KEY]
  = "SELECT id, digest, revoked_at, last_used_at FROM api_keys WHERE digest = ?1",
  [STATEMENT_TOUCH_KEY] = "UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1",
};

enum {
  PROP_0,
  PROP_PATH,
  PROP_LAST,
};

static GParamSpec *props[PROP_LAST];

struct _RcStore {
  GObject parent_instance;

  char *path;
  sqlite3 *db;
  sqlite3_stmt *statements[N_STATEMENTS];
  GHashTable *cached; /* SQL text → statement prepared on first use (rc_store_prepare_cached) */
  gboolean events_uncommitted; /* an event was appended in the open transaction */
  gint64 last_created_at;      /* the largest calls.created_at stored or claimed */
  gboolean checkpointing;      /* a checkpoint runs in a worker thread */
  gboolean checkpoint_failing; /* the last one failed (and was logged) */
  GHashTable *keys;            /* digest → CachedKey: valid keys, read again after a second */
};

enum { SIGNAL_EVENTS_COMMITTED, SIGNAL_CALL_SAVED, N_SIGNALS };

static guint signals[N_SIGNALS];

/* "events-committed": events (and their outbox rows) are durable now: the relay may send. */
static void
notify_committed (RcStore *self)
{
  if (!self->events_uncommitted)
    return;
  self->events_uncommitted = FALSE;
  g_signal_emit (self, signals[SIGNAL_EVENTS_COMMITTED], 0);
}

static void rc_store_initable_iface_init (GInitableIface *iface);

G_DEFINE_TYPE_WITH_CODE (RcStore,
                         rc_store,
                         G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE, rc_store_initable_iface_init))

/* --- helpers (shared with the other rc-store-*.c files through rc-store-private.h) --------- */

sqlite3 *
rc_store_get_db (RcStore *self)
{
  return self->db;
}

/* Sets RC_ERROR_STORE "store: <what>: <sqlite message>". */
void
rc_store_set_sqlite_error (RcStore *self, GError **error, const char *format, ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, RC_ERROR, RC_ERROR_STORE, "store: %s: %s", what, sqlite3_errmsg (self->db));
}

gboolean
rc_store_exec_sql (RcStore *self, const char *sql, const char *what, GError **error)
{
  int rc = sqlite3_exec (self->db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK) {
    rc_store_set_sqlite_error (self, error, "%s", what);
    return FALSE;
  }
  return TRUE;
}

void
rc_statement_lease_release (RcStatementLease *statement)
{
  sqlite3_reset (statement);
  sqlite3_clear_bindings (statement);
}

sqlite3_stmt *
rc_store_prepare_cached (RcStore *self, const char *sql, const char *what, GError **error)
{
  sqlite3_stmt *statement = g_hash_table_lookup (self->cached, sql);

  if (statement != NULL) {
    /* Two leases of one statement at once would reset each other's rows. */
    g_return_val_if_fail (!sqlite3_stmt_busy (statement), NULL);
    return statement;
  }
  if (sqlite3_prepare_v3 (self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, NULL)
      != SQLITE_OK) {
    rc_store_set_sqlite_error (self, error, "%s", what);
    return NULL;
  }
  g_hash_table_insert (self->cached, g_strdup (sql), statement);
  return statement;
}

sqlite3_stmt *
rc_store_prepare (RcStore *self, const char *sql, const char *what, GError **error)
{
  sqlite3_stmt *statement = NULL;

  if (sqlite3_prepare_v2 (self->db, sql, -1, &statement, NULL) != SQLITE_OK) {
    rc_store_set_sqlite_error (self, error, "%s", what);
    return NULL;
  }
  return statement;
}

/* Steps a statement that returns no rows. */
gboolean
rc_store_step_done (RcStore *self, sqlite3_stmt *statement, const char *what, GError **error)
{
  if (sqlite3_step (statement) != SQLITE_DONE) {
    rc_store_set_sqlite_error (self, error, "%s", what);
    return FALSE;
  }
  return TRUE;
}

void
rc_store_bind_text (sqlite3_stmt *statement, int index, const char *text)
{
  /* A NULL text binds SQL NULL. Bound values always outlive the step. */
  sqlite3_bind_text (statement, index, text, -1, SQLITE_STATIC);
}

/* Times: 0 means "not set" and is stored as NULL. */
void
rc_store_bind_time (sqlite3_stmt *statement, int index, gint64 time)
{
  if (time == 0)
    sqlite3_bind_null (statement, index);
  else
    sqlite3_bind_int64 (statement, index, time);
}

static void
bind_named_text (sqlite3_stmt *statement, const char *name, const char *text)
{
  int index = sqlite3_bind_parameter_index (statement, name);

  if (index > 0)
    rc_store_bind_text (statement, index, text);
}

static void
bind_named_int64 (sqlite3_stmt *statement, const char *name, gint64 value)
{
  int index = sqlite3_bind_parameter_index (statement, name);

  if (index > 0)
    sqlite3_bind_int64 (statement, index, value);
}

char *
rc_store_column_dup_text (sqlite3_stmt *statement, int column)
{
  return g_strdup ((const char *)sqlite3_column_text (statement, column));
}

/* NULL reads back as 0 ("not set"). */
gint64
rc_store_column_time (sqlite3_stmt *statement, int column)
{
  return sqlite3_column_int64 (statement, column);
}

static gboolean
read_user_version (RcStore *self, int *out_version, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = NULL;

  if (sqlite3_prepare_v2 (self->db, "PRAGMA user_version", -1, &statement, NULL) != SQLITE_OK
      || sqlite3_step (statement) != SQLITE_ROW) {
    rc_store_set_sqlite_error (self, error, "reading the schema version of %s", self->path);
    return FALSE;
  }
  *out_version = sqlite3_column_int (statement, 0);
  return TRUE;
}

gboolean
rc_store_fill_random (guint8 *buffer, gsize length, GError **error)
{
  gsize done = 0;

  while (done < length) {
    ssize_t got = getrandom (buffer + done, length - done, 0);

    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      int saved_errno = errno;

      g_set_error (error, RC_ERROR, RC_ERROR_FAILED, "getrandom: %s", g_strerror (saved_errno));
      return FALSE;
    }
    done += (gsize)got;
  }
  return TRUE;
}

/* @prefix + 26 lower-case Crockford base32 characters, 5 bits from each of @bytes. */
static char *
encode_id (const char *prefix, const guint8 bytes[RC_STORE_EVENT_ID_CHARS])
{
  static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";
  GString *id = g_string_sized_new (strlen (prefix) + RC_STORE_EVENT_ID_CHARS);

  g_string_append (id, prefix);
  /* 256 is a multiple of 32: taking 5 bits of each random byte is unbiased. */
  for (guint i = 0; i < RC_STORE_EVENT_ID_CHARS; i++)
    g_string_append_c (id, alphabet[bytes[i] & 0x1f]);
  return g_string_free (id, FALSE);
}

/* @prefix + 26 characters of Crockford base32 (130 random bits), lower case: "evt_…". */
char *
rc_store_new_id (const char *prefix, GError **error)
{
  guint8 random[RC_STORE_EVENT_ID_CHARS];

  if (!rc_store_fill_random (random, sizeof random, error))
    return NULL;
  return encode_id (prefix, random);
}

static void
key_digest (const char *key, guint8 digest[RC_STORE_KEY_DIGEST_LENGTH])
{
  g_autoptr (GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  gsize length = RC_STORE_KEY_DIGEST_LENGTH;

  g_checksum_update (checksum, (const guchar *)key, -1);
  g_checksum_get_digest (checksum, digest, &length);
}

/* Compares in time independent of where the first difference is. */
static gboolean
digest_equal (const guint8 *a, const guint8 *b, gsize length)
{
  guint8 difference = 0;

  for (gsize i = 0; i < length; i++)
    difference |= a[i] ^ b[i];
  return difference == 0;
}

/* Digests are uniformly random: their first bytes are a good hash. */
static guint
digest_hash (gconstpointer digest)
{
  guint hash;

  memcpy (&hash, digest, sizeof hash);
  return hash;
}

static gboolean
digest_key_equal (gconstpointer a, gconstpointer b)
{
  return digest_equal (a, b, RC_STORE_KEY_DIGEST_LENGTH);
}

/* Reads a row of CALL_COLUMNS. */
static RcCall *
call_from_row (sqlite3_stmt *statement, GError **error)
{
  g_autoptr (RcCall) call = rc_call_new ();
  const char *direction = (const char *)sqlite3_column_text (statement, 1);
  const char *status = (const char *)sqlite3_column_text (statement, 4);
  const char *end_reason = (const char *)sqlite3_column_text (statement, 5);

  call->call_id = rc_store_column_dup_text (statement, 0);
  if (!rc_call_direction_from_string (direction, &call->direction)) {
    g_set_error (error, RC_ERROR, RC_ERROR_STORE, "call %s: unknown direction '%s'", call->call_id,
                 direction);
    return NULL;
  }
  call->from = rc_store_column_dup_text (statement, 2);
  call->to = rc_store_column_dup_text (statement, 3);
  if (!rc_call_status_from_string (status, &call->status)) {
    g_set_error (error, RC_ERROR, RC_ERROR_STORE, "call %s: unknown status '%s'", call->call_id,
                 status);
    return NULL;
  }
  if (end_reason == NULL)
    call->end_reason = RC_END_REASON_NONE;
  else if (!rc_end_reason_from_string (end_reason, &call->end_reason))
    call->end_reason = RC_END_REASON_UNKNOWN;
  call->client_reference = rc_store_column_dup_text (statement, 6);
  call->modem = rc_store_column_dup_text (statement, 7);
  call->slot = sqlite3_column_int (statement, 8);
  /* NULL: the call's own side, which is what line always is (schema 3 stores no copy). */
  if (sqlite3_column_type (statement, 9) == SQLITE_NULL)
    call->line = g_strdup (call->direction == RC_CALL_DIRECTION_OUTBOUND ? call->from : call->to);
  else
    call->line = rc_store_column_dup_text (statement, 9);
  call->mm_path = rc_store_column_dup_text (statement, 10);
  call->timeout_seconds = sqlite3_column_int (statement, 11);
  /* NULL: equal to created_at, which it always is today (schema 3 stores no copy); 0: not set. */
  if (sqlite3_column_type (statement, 12) == SQLITE_NULL)
    call->initiated_at = sqlite3_column_int64 (statement, 16);
  else
    call->initiated_at = sqlite3_column_int64 (statement, 12);
  call->ringing_at = rc_store_column_time (statement, 13);
  call->connected_at = rc_store_column_time (statement, 14);
  call->ended_at = rc_store_column_time (statement, 15);
  call->created_at = rc_store_column_time (statement, 16);
  if (sqlite3_column_type (statement, 17) == SQLITE_NULL)
    call->cost_micro_usd = -1;
  else
    call->cost_micro_usd = sqlite3_column_int64 (statement, 17);
  call->last_sequence = (guint)sqlite3_column_int64 (statement, 18);
  call->local_hangup = sqlite3_column_int (statement, 19) != 0;
  return g_steal_pointer (&call);
}

/* Steps @statement to the end, collecting CALL_COLUMNS rows. */
static GPtrArray *
collect_calls (RcStore *self, sqlite3_stmt *statement, const char *what, GError **error)
{
  g_autoptr (GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify)rc_call_free);
  int rc;

  while ((rc = sqlite3_step (statement)) == SQLITE_ROW) {
    RcCall *call = call_from_row (statement, error);

    if (call == NULL) {
      g_prefix_error (error, "store: %s: ", what);
      return NULL;
    }
    g_ptr_array_add (calls, call);
  }
  if (rc != SQLITE_DONE) {
    rc_store_set_sqlite_error (self, error, "%s", what);
    return NULL;
  }
  return g_steal_pointer (&calls);
}

/* --- opening and migrating ------------------------------------------------------------------ */

static gboolean
migrate_step (RcStore *self, gboolean *out_done, GError **error)
{
  g_autofree char *bump = NULL;
  g_autofree char *what = NULL;
  int version = 0;

  /* Re-read the version inside the write transaction: another process may have migrated. */
  what = g_strdup_printf ("migrating %s", self->path);
  if (!rc_store_exec_sql (self, "BEGIN IMMEDIATE", what, error))
    return FALSE;
  if (!read_user_version (self, &version, error)) {
    rc_store_rollback (self);
    return FALSE;
  }
  if (version >= RC_STORE_SCHEMA_VERSION) {
    rc_store_rollback (self);
    *out_done = TRUE;
    return TRUE;
  }
  /* The version is our own integer, not input: PRAGMA cannot take a bound parameter. */
  bump = g_strdup_printf ("PRAGMA user_version = %d", version + 1);
  g_free (what);
  what = g_strdup_printf ("migrating %s from schema version %d", self->path, version);
  if (!rc_store_exec_sql (self, migrations[version], what, error)
      || !rc_store_exec_sql (self, bump, what, error)
      || !rc_store_exec_sql (self, "COMMIT", what, error)) {
    rc_store_rollback (self);
    return FALSE;
  }
  g_info ("%s: migrated schema from version %d to %d", self->path, version, version + 1);
  *out_done = FALSE;
  return TRUE;
}

/*
 * Checkpoints off the main loop. SQLite's automatic checkpoint runs inside whichever commit
 * crosses the threshold, copying pages and syncing the database file in the middle of a request.
 * Instead, the WAL hook (which replaces it) starts a PASSIVE checkpoint on a connection of its
 * own in a worker thread: WAL lets it run while this connection keeps reading and writing, and
 * durability is unchanged (every commit is still synced to the WAL, synchronous=FULL).
 */
static void
checkpoint_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  const char *path = task_data;
  sqlite3 *db = NULL;
  int rc;

  rc = sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout (db, RC_STORE_BUSY_TIMEOUT_MS);
    /* A new connection learns that the file is in WAL mode from its first read. */
    rc = sqlite3_exec (db, "PRAGMA schema_version", NULL, NULL, NULL);
  }
  if (rc == SQLITE_OK)
    rc = sqlite3_wal_checkpoint_v2 (db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
  if (rc != SQLITE_OK)
    g_task_return_new_error (task, RC_ERROR, RC_ERROR_STORE, "checkpoint of %s: %s", path,
                             db != NULL ? sqlite3_errmsg (db) : sqlite3_errstr (rc));
  else
    g_task_return_boolean (task, TRUE);
  sqlite3_close (db);
}

static void
on_checkpoint_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  RcStore *self = RC_STORE (source);
  g_autoptr (GError) error = NULL;

  self->checkpointing = FALSE;
  /* The next commit past the threshold tries again: say it once per failure streak. */
  if (g_task_propagate_boolean (G_TASK (result), &error))
    self->checkpoint_failing = FALSE;
  else if (!self->checkpoint_failing)
    g_warning ("store: %s (retried after the next commit)", error->message);
  if (error != NULL)
    self->checkpoint_failing = TRUE;
}

static int
on_wal_commit (void *user_data, sqlite3 *db, const char *name, int pages)
{
  RcStore *self = user_data;
  g_autoptr (GTask) task = NULL;

  if (pages < RC_STORE_CHECKPOINT_PAGES || self->checkpointing)
    return SQLITE_OK;
  self->checkpointing = TRUE;
  task = g_task_new (self, NULL, on_checkpoint_done, NULL);
  g_task_set_source_tag (task, on_wal_commit);
  g_task_set_task_data (task, g_strdup (self->path), g_free);
  g_task_run_in_thread (task, checkpoint_thread);
  return SQLITE_OK;
}

/* The newest created_at (an index seek), so that claimed values stay distinct across restarts. */
static gboolean
read_last_created_at (RcStore *self, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = NULL;

  statement = rc_store_prepare (self, "SELECT coalesce (max (created_at), 0) FROM calls",
                                "reading the newest call", error);
  if (statement == NULL)
    return FALSE;
  if (sqlite3_step (statement) != SQLITE_ROW) {
    rc_store_set_sqlite_error (self, error, "reading the newest call");
    return FALSE;
  }
  self->last_created_at = sqlite3_column_int64 (statement, 0);
  return TRUE;
}

static gboolean
open_database (RcStore *self, GError **error)
{
  g_autoptr (sqlite3_stmt) journal = NULL;
  const char *journal_mode;
  const char *filename;
  gboolean done = FALSE;
  int version = 0;
  int rc;

  rc = sqlite3_open_v2 (self->path, &self->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  if (rc != SQLITE_OK) {
    g_set_error (error, RC_ERROR, RC_ERROR_STORE, "store: opening %s: %s", self->path,
                 self->db != NULL ? sqlite3_errmsg (self->db) : sqlite3_errstr (rc));
    return FALSE;
  }
  sqlite3_extended_result_codes (self->db, 1);
  sqlite3_busy_timeout (self->db, RC_STORE_BUSY_TIMEOUT_MS);

  /* Read-only checks first: nothing is written to a file we refuse. */
  if (!read_user_version (self, &version, error))
    return FALSE;
  if (version > RC_STORE_SCHEMA_VERSION) {
    g_set_error (error, RC_ERROR, RC_ERROR_STORE,
                 "store: %s: database schema version %d is newer than this build supports (%d)",
                 self->path, version, RC_STORE_SCHEMA_VERSION);
    return FALSE;
  }

  if (sqlite3_prepare_v2 (self->db, "PRAGMA journal_mode = WAL", -1, &journal, NULL) != SQLITE_OK
      || sqlite3_step (journal) != SQLITE_ROW) {
    rc_store_set_sqlite_error (self, error, "setting WAL mode on %s", self->path);
    return FALSE;
  }
  journal_mode = (const char *)sqlite3_column_text (journal, 0);
  filename = sqlite3_db_filename (self->db, "main");
  /* In-memory and temporary databases have no file name and cannot use WAL. */
  if (g_ascii_strcasecmp (journal_mode ? journal_mode : "", "wal") != 0 && filename != NULL
      && filename[0] != '\0') {
    g_set_error (error, RC_ERROR, RC_ERROR_STORE, "store: %s: cannot use WAL (journal mode is %s)",
                 self->path, journal_mode ? journal_mode : "unknown");
    return FALSE;
  }
  g_clear_pointer (&journal, sqlite3_finalize);

  if (!rc_store_exec_sql (self, "PRAGMA synchronous = FULL", "setting synchronous", error)
      || !rc_store_exec_sql (self, "PRAGMA foreign_keys = ON", "enabling foreign keys", error))
    return FALSE;

  while (!done) {
    if (!migrate_step (self, &done, error))
      return FALSE;
  }

  for (guint i = 0; i < N_STATEMENTS; i++) {
    if (sqlite3_prepare_v3 (self->db, statement_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                            &self->statements[i], NULL)
        != SQLITE_OK) {
      rc_store_set_sqlite_error (self, error, "preparing statement %u", i);
      return FALSE;
    }
  }
  sqlite3_wal_hook (self->db, on_wal_commit, self);
  return read_last_created_at (self, error);
}

static gboolean
rc_store_initable_init (GInitable *initable, GCancellable *cancellable, GError **error)
{
  RcStore *self = RC_STORE (initable);

  if (self->path == NULL || self->path[0] == '\0') {
    g_set_error_literal (error, RC_ERROR, RC_ERROR_STORE, "store: no database path");
    return FALSE;
  }
  if (!open_database (self, error))
    return FALSE;
  g_debug ("%s: open, schema version %d", self->path, RC_STORE_SCHEMA_VERSION);
  return TRUE;
}

static void
rc_store_initable_iface_init (GInitableIface *iface)
{
  iface->init = rc_store_initable_init;
}

/* --- GObject -------------------------------------------------------------------------------- */

static void
rc_store_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  RcStore *self = RC_STORE (object);

  switch (prop_id) {
  case PROP_PATH:
    g_free (self->path);
    self->path = g_value_dup_string (value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    break;
  }
}

static void
rc_store_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  RcStore *self = RC_STORE (object);

  switch (prop_id) {
  case PROP_PATH:
    g_value_set_string (value, self->path);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    break;
  }
}

static void
rc_store_finalize (GObject *object)
{
  RcStore *self = RC_STORE (object);

  for (guint i = 0; i < N_STATEMENTS; i++)
    sqlite3_finalize (self->statements[i]);
  g_clear_pointer (&self->cached, g_hash_table_unref);
  g_clear_pointer (&self->keys, g_hash_table_unref);
  if (self->db != NULL && sqlite3_close (self->db) != SQLITE_OK)
    g_warning ("%s: closing the database: %s", self->path, sqlite3_errmsg (self->db));
  g_free (self->path);

  G_OBJECT_CLASS (rc_store_parent_class)->finalize (object);
}

static void
rc_store_class_init (RcStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->set_property = rc_store_set_property;
  object_class->get_property = rc_store_get_property;
  object_class->finalize = rc_store_finalize;

  props[PROP_PATH] = g_param_spec_string ("path", NULL, NULL, NULL,
                                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY
                                              | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, PROP_LAST, props);

  signals[SIGNAL_EVENTS_COMMITTED]
      = g_signal_new ("events-committed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                      NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_CALL_SAVED]
      = g_signal_new ("call-saved", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
finalize_statement (gpointer statement)
{
  sqlite3_finalize (statement);
}

static void
rc_store_init (RcStore *self)
{
  self->cached = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, finalize_statement);
  self->keys = g_hash_table_new_full (digest_hash, digest_key_equal, NULL, g_free);
}

RcStore *
rc_store_new (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_initable_new (RC_TYPE_STORE, NULL, error, "path", path, NULL);
}

const char *
rc_store_get_path (RcStore *self)
{
  g_return_val_if_fail (RC_IS_STORE (self), NULL);

  return self->path;
}

/* Reads PRAGMA user_version; -1 if that fails. */
int
rc_store_get_schema_version (RcStore *self)
{
  g_autoptr (GError) error = NULL;
  int version = -1;

  g_return_val_if_fail (RC_IS_STORE (self), -1);

  if (!read_user_version (self, &version, &error)) {
    g_warning ("%s", error->message);
    return -1;
  }
  return version;
}

/* --- transactions --------------------------------------------------------------------------- */

gboolean
rc_store_begin (RcStore *self, GError **error)
{
  g_return_val_if_fail (RC_IS_STORE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return rc_store_exec_sql (self, "BEGIN IMMEDIATE", "beginning a transaction", error);
}

/* On failure the transaction is rolled back, so the connection is never left inside one. */
gboolean
rc_store_commit (RcStore *self, GError **error)
{
  g_return_val_if_fail (RC_IS_STORE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!rc_store_exec_sql (self, "COMMIT", "committing a transaction", error)) {
    rc_store_rollback (self);
    return FALSE;
  }
  notify_committed (self);
  return TRUE;
}

void
rc_store_rollback (RcStore *self)
{
  g_return_if_fail (RC_IS_STORE (self));

  self->events_uncommitted = FALSE;
  if (sqlite3_get_autocommit (self->db))
    return; /* no transaction open (or SQLite already rolled it back) */
  if (sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
    g_warning ("%s: rolling back: %s", self->path, sqlite3_errmsg (self->db));
}

/* --- calls and events ----------------------------------------------------------------------- */

gboolean
rc_store_save_call (RcStore *self, const RcCall *call, GError **error)
{
  g_autoptr (RcStatementLease) statement = NULL;

  g_return_val_if_fail (RC_IS_STORE (self), FALSE);
  g_return_val_if_fail (call != NULL && call->call_id != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  statement = self->statements[STATEMENT_SAVE_CALL];
  rc_store_bind_text (statement, 1, call->call_id);
  rc_store_bind_text (statement, 2, rc_call_direction_to_string (call->direction));
  rc_store_bind_text (statement, 3, call->from);
  rc_store_bind_text (statement, 4, call->to);
  rc_store_bind_text (statement, 5, rc_call_status_to_string (call->status));
  rc_store_bind_text (statement, 6, rc_end_reason_to_string (call->end_reason));
  rc_store_bind_text (statement, 7, call->client_reference);
  rc_store_bind_text (statement, 8, call->modem);
  sqlite3_bind_int (statement, 9, call->slot);
  if (g_strcmp0 (call->line, call->direction == RC_CALL_DIRECTION_OUTBOUND ? call->from : call->to)
      != 0)
    rc_store_bind_text (statement, 10, call->line);
  rc_store_bind_text (statement, 11, call->mm_path);
  sqlite3_bind_int (statement, 12, call->timeout_seconds);
  if (call->initiated_at != call->created_at)
    sqlite3_bind_int64 (statement, 13, call->initiated_at);
  rc_store_bind_time (statement, 14, call->ringing_at);
  rc_store_bind_time (statement, 15, call->connected_at);
  rc_store_bind_time (statement, 16, call->ended_at);
  sqlite3_bind_int64 (statement, 17, call->created_at);
  if (call->cost_micro_usd < 0)
    sqlite3_bind_null (statement, 18);
  else
    sqlite3_bind_int64 (statement, 18, call->cost_micro_usd);
  sqlite3_bind_int64 (statement, 19, call->last_sequence);
  sqlite3_bind_int (statement, 20, call->local_hangup ? 1 : 0);
  if (sqlite3_step (statement) != SQLITE_DONE) {
    rc_store_set_sqlite_error (self, error, "saving call %s", call->call_id);
    return FALSE;
  }
  self->last_created_at = MAX (self->last_created_at, call->created_at);
  g_signal_emit (self, signals[SIGNAL_CALL_SAVED], 0, call->call_id);
  return TRUE;
}

gint64
rc_store_claim_created_at (RcStore *self, gint64 now)
{
  g_return_val_if_fail (RC_IS_STORE (self), now);

  self->last_created_at = MAX (now, self->last_created_at + 1);
  return self->last_created_at;
}

/* "call.<status>" → status; FALSE for anything else (webhook.test is never stored). */
static gboolean
event_type_to_status (const char *type, RcCallStatus *out)
{
  return g_str_has_prefix (type, "call.") && rc_call_status_from_string (type + 5, out);
}

/*
 * The id of an event stored from schema 3 on: "evt_" + 26 Crockford base32 characters of
 * SHA-256 ("reachcelld-event:" call_id ":" sequence), so that nothing needs storing and the id
 * is the same on every retry, redelivery and restart. call_id is a random UUID, so ids do not
 * collide across calls or databases. Events stored before keep their random id (events.event_id).
 */
static char *
event_id_for (const char *call_id, guint sequence)
{
  g_autoptr (GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree char *input = g_strdup_printf ("reachcelld-event:%s:%u", call_id, sequence);
  guint8 digest[32];
  gsize length = sizeof digest;

  g_checksum_update (checksum, (const guchar *)input, -1);
  g_checksum_get_digest (checksum, digest, &length);
  return encode_id ("evt_", digest);
}

/* Fills @event's id, type and payload from its row values and the call (@call is the row as it
 * is now; the payload is the call as it was at the event). */
static RcEvent *
event_new (const RcCall *call,
           guint sequence,
           RcCallStatus status,
           gint64 offset_us,
           const char *stored_event_id)
{
  RcEvent *event = g_new0 (RcEvent, 1);
  g_autoptr (RcCall) then = rc_call_as_of (call, status);

  event->event_id = stored_event_id != NULL ? g_strdup (stored_event_id)
                                            : event_id_for (call->call_id, sequence);
  event->call_id = g_strdup (call->call_id);
  event->sequence = sequence;
  event->type = g_strconcat ("call.", rc_call_status_to_string (status), NULL);
  event->created_at = call->created_at + offset_us;
  event->data = rc_json_call_to_string (then, event->created_at);
  return event;
}

/* An event from the columns (type, offset_us, event_id) of @statement starting at @column;
 * RC_ERROR_STORE for a type that is no RcCallStatus. */
static RcEvent *
event_from_row (
    const RcCall *call, guint sequence, sqlite3_stmt *statement, int column, GError **error)
{
  int status = sqlite3_column_int (statement, column);

  if (status < RC_CALL_STATUS_INITIATING || status > RC_CALL_STATUS_FAILED) {
    g_set_error (error, RC_ERROR, RC_ERROR_STORE, "store: call %s: event %u of unknown type %d",
                 call->call_id, sequence, status);
    return NULL;
  }
  return event_new (call, sequence, (RcCallStatus)status,
                    sqlite3_column_int64 (statement, column + 1),
                    (const char *)sqlite3_column_text (statement, column + 2));
}

/* The outbox rows of an event: one per enabled webhook subscribed to @type ("call.*" takes
 * every call event; otherwise the type is one of the listed ones), inside the caller's
 * transaction. */
static gboolean
enqueue_deliveries (RcStore *self,
                    const char *event_id,
                    const char *type,
                    const char *call_id,
                    guint sequence,
                    gint64 now,
                    GError **error)
{
  g_autoptr (RcStatementLease) statement = NULL;

  statement = rc_store_prepare_cached (
      self,
      "INSERT INTO deliveries (delivery_id, webhook, event_id, event_type, call_id, sequence, "
      "  next_attempt_at, created_at, updated_at) "
      "SELECT " DELIVERY_ID_SQL ", w.id, ?1, ?3, ?4, ?5, ?2, ?2, ?2 FROM webhooks w "
      "WHERE w.enabled = 1 AND ((w.events = '" RC_WEBHOOK_ALL_CALLS "' AND ?3 LIKE 'call.%') "
      "OR instr (' ' || w.events || ' ', ' ' || ?3 || ' ') > 0)",
      "queueing deliveries", error);
  if (statement == NULL)
    return FALSE;
  rc_store_bind_text (statement, 1, event_id);
  sqlite3_bind_int64 (statement, 2, now);
  rc_store_bind_text (statement, 3, type);
  rc_store_bind_text (statement, 4, call_id);
  sqlite3_bind_int64 (statement, 5, sequence);
  if (!rc_store_step_done (self, statement, "queueing deliveries", error)) {
    g_prefix_error (error, "event %s (%s): ", event_id, type);
    return FALSE;
  }
  return TRUE;
}

/* The writes of rc_store_append_event (), run inside its savepoint. */
static gboolean
append_event_rows (RcStore *self,
                   const RcCall *call,
                   guint sequence,
                   RcCallStatus status,
                   const char *event_id,
                   const char *type,
                   gint64 created_at,
                   GError **error)
{
  g_autoptr (RcStatementLease) update = self->statements[STATEMENT_SET_LAST_SEQUENCE];
  g_autoptr (RcStatementLease) insert = self->statements[STATEMENT_INSERT_EVENT];
  gint64 row;
  gint64 call_created_at;
  int rc;

  rc_store_bind_text (update, 1, call->call_id);
  sqlite3_bind_int64 (update, 2, sequence);
  rc = sqlite3_step (update);
  if (rc == SQLITE_DONE) {
    g_set_error (error, RC_ERROR, RC_ERROR_NOT_FOUND, "call %s not found", call->call_id);
    return FALSE;
  }
  if (rc != SQLITE_ROW) {
    rc_store_set_sqlite_error (self, error, "call %s: appending %s: updating the sequence",
                               call->call_id, type);
    return FALSE;
  }
  row = sqlite3_column_int64 (update, 0);
  call_created_at = sqlite3_column_int64 (update, 1);
  if (sqlite3_step (update) != SQLITE_DONE) {
    rc_store_set_sqlite_error (self, error, "call %s: appending %s: updating the sequence",
                               call->call_id, type);
    return FALSE;
  }

  sqlite3_bind_int64 (insert, 1, row);
  sqlite3_bind_int64 (insert, 2, sequence);
  sqlite3_bind_int (insert, 3, (int)status);
  sqlite3_bind_int64 (insert, 4, created_at - call_created_at);
  if (sqlite3_step (insert) != SQLITE_DONE) {
    rc_store_set_sqlite_error (self, error, "call %s: appending %s: inserting the event",
                               call->call_id, type);
    return FALSE;
  }
  return enqueue_deliveries (self, event_id, type, call->call_id, sequence, created_at, error);
}

gboolean
rc_store_append_event (RcStore *self,
                       RcCall *call,
                       const char *type,
                       gint64 created_at,
                       char **out_event_id,
                       GError **error)
{
  g_autofree char *event_id = NULL;
  gboolean own_transaction;
  RcCallStatus status;
  guint sequence;

  g_return_val_if_fail (RC_IS_STORE (self), FALSE);
  g_return_val_if_fail (call != NULL && call->call_id != NULL, FALSE);
  g_return_val_if_fail (type != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!event_type_to_status (type, &status)) {
    g_set_error (error, RC_ERROR, RC_ERROR_FAILED, "store: call %s: not a call event: %s",
                 call->call_id, type);
    return FALSE;
  }
  sequence = call->last_sequence + 1;
  event_id = event_id_for (call->call_id, sequence);

  /* A savepoint keeps the writes atomic whether or not the caller opened a transaction.
   * Without one, its RELEASE is the commit; if that fails, end the transaction it opened. */
  own_transaction = sqlite3_get_autocommit (self->db) != 0;
  if (!rc_store_exec_sql (self, "SAVEPOINT rc_append_event", "appending an event", error))
    return FALSE;
  if (!append_event_rows (self, call, sequence, status, event_id, type, created_at, error)) {
    sqlite3_exec (self->db, "ROLLBACK TO rc_append_event; RELEASE rc_append_event", NULL, NULL,
                  NULL);
    return FALSE;
  }
  if (!rc_store_exec_sql (self, "RELEASE rc_append_event", "appending an event", error)) {
    if (own_transaction)
      rc_store_rollback (self);
    return FALSE;
  }

  call->last_sequence = sequence;
  if (out_event_id != NULL)
    *out_event_id = g_steal_pointer (&event_id);
  self->events_uncommitted = TRUE;
  if (own_transaction)
    notify_committed (self);
  return TRUE;
}

RcEvent *
rc_store_get_delivery_event (RcStore *self, const RcDelivery *delivery, GError **error)
{
  g_autoptr (RcStatementLease) statement = NULL;
  g_autoptr (RcCall) call = NULL;
  int rc;

  g_return_val_if_fail (RC_IS_STORE (self), NULL);

  if (delivery->call_id == NULL) {
    /* webhook.test: nothing to store beyond the delivery itself. */
    RcEvent *event = g_new0 (RcEvent, 1);

    event->event_id = g_strdup (delivery->event_id);
    event->type = g_strdup (delivery->event_type);
    event->created_at = delivery->created_at;
    event->data = g_strdup_printf ("{\"webhook_id\":\"%s\",\"message\":\"This is a test event "
                                   "from reachcelld.\"}",
                                   delivery->webhook_id);
    return event;
  }
  statement = rc_store_prepare_cached (self,
                                       "SELECT " CALL_COLUMNS ", e.type, e.offset_us, e.event_id "
                                       "FROM calls c JOIN events e ON e.call = c.id "
                                       "WHERE c.call_id = ?1 AND e.sequence = ?2",
                                       "reading an event", error);
  if (statement == NULL)
    return NULL;
  rc_store_bind_text (statement, 1, delivery->call_id);
  sqlite3_bind_int64 (statement, 2, delivery->sequence);
  rc = sqlite3_step (statement);
  if (rc != SQLITE_ROW) {
    if (rc == SQLITE_DONE)
      g_set_error (error, RC_ERROR, RC_ERROR_NOT_FOUND, "no such event %s", delivery->event_id);
    else
      rc_store_set_sqlite_error (self, error, "reading event %s", delivery->event_id);
    return NULL;
  }
  call = call_from_row (statement, error);
  if (call == NULL)
    return NULL;
  return event_from_row (call, delivery->sequence, statement, CALL_N_COLUMNS, error);
}

RcCall *
rc_store_get_call (RcStore *self, const char *call_id, GError **error)
{
  g_autoptr (RcStatementLease) statement = NULL;
  RcCall *call;
  int rc;

  g_return_val_if_fail (RC_IS_STORE (self), NULL);
  g_return_val_if_fail (call_id != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  statement = self->statements[STATEMENT_GET_CALL];
  rc_store_bind_text (statement, 1, call_id);
  rc = sqlite3_step (statement);
  if (rc == SQLITE_DONE) {
    g_set_error (error, RC_ERROR, RC_ERROR_NOT_FOUND, "call %s not found", call_id);
    return NULL;
  }
  if (rc != SQLITE_ROW) {
    rc_store_set_sqlite_error (self, error, "reading call %s", call_id);
    return NULL;
  }
  call = call_from_row (statement, error);
  if (call == NULL)
    g_prefix_error (error, "store: ");
  return call;
}

RcCall *
rc_store_find_recent_call (
    RcStore *self, const char *mm_path, const char *modem, gint64 since, GError **error)
{
  g_autoptr (RcStatementLease) statement = NULL;
  g_autoptr (GPtrArray) calls = NULL;

  g_return_val_if_fail (RC_IS_STORE (self), NULL);

  /* calls_by_created narrows to the recent ones; few rows have to be checked for the path. */
  statement
      = rc_store_prepare_cached (self,
                                 "SELECT " CALL_COLUMNS " FROM calls WHERE created_at >= ?3 AND "
                                 "mm_path = ?1 AND modem IS ?2 ORDER BY created_at DESC LIMIT 1",
                                 "finding a call by its path", error);
  if (statement == NULL)
    return NULL;
  rc_store_bind_text (statement, 1, mm_path);
  rc_store_bind_text (statement, 2, modem);
  sqlite3_bind_int64 (statement, 3, since);
  calls = collect_calls (self, statement, "finding a call by its path", error);
  if (calls == NULL || calls->len == 0)
    return NULL;
  return g_ptr_array_steal_index (calls, 0);
}

gboolean
rc_store_clear_mm_path (RcStore *self, const char *mm_path, gint64 since, GError **error)
{
  g_autoptr (RcStatementLease) statement = NULL;

  g_return_val_if_fail (RC_IS_STORE (self), FALSE);
  g_return_val_if_fail (mm_path != NULL, FALSE);

  /* calls_by_created bounds the search to the recent calls. */
  statement = rc_store_prepare_cached (self,
                                       "UPDATE calls SET mm_path = NULL WHERE created_at >= ?2 AND "
                                       "mm_path = ?1 AND status IN ('ended', 'missed', "
                                       "'rejected', 'failed')",
                                       "forgetting a ModemManager path", error);
  if (statement == NULL)
    return FALSE;
  rc_store_bind_text (statement, 1, mm_path);
  sqlite3_bind_int64 (statement, 2, since);
  return rc_store_step_done (self, statement, "forgetting a ModemManager path", error);
}

GPtrArray *
rc_store_list_open_calls (RcStore *self, GError **error)
{
  g_autoptr (RcStatementLease) statement = NULL;

  g_return_val_if_fail (RC_IS_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  statement
      = rc_store_prepare_cached (self,
                                 "SELECT " CALL_COLUMNS " FROM calls WHERE status IN (?1, ?2, ?3) "
                                 "ORDER BY created_at, call_id",
                                 "listing open calls", error);
  if (statement == NULL)
    return NULL;
  rc_store_bind_text (statement, 1, rc_call_status_to_string (RC_CALL_STATUS_INITIATING));
  rc_store_bind_text (statement, 2, rc_call_status_to_string (RC_CALL_STATUS_RINGING));
  rc_store_bind_text (statement, 3, rc_call_status_to_string (RC_CALL_STATUS_CONNECTED));
  return collect_calls (self, statement, "listing open calls", error);
}

/*
 * The WHERE clause for one arm of the list query, from constant fragments. @number_fragment
 * selects the arm (from or to) when filtering by number.
 */
static char *
filter_where (const RcCallFilter *filter, const char *number_fragment)
{
  g_autoptr (GPtrArray) clauses = g_ptr_array_new ();
  g_autofree char *joined = NULL;

  if (number_fragment != NULL)
    g_ptr_array_add (clauses, (gpointer)number_fragment);
  /* Several equality filters: steer SQLite (which has no statistics) to the most selective
   * index, number > status > direction. A unary "+" keeps a term from being used for an index. */
  if (filter->has_status && number_fragment != NULL)
    g_ptr_array_add (clauses, (gpointer) "+status = :status");
  else if (filter->has_status)
    g_ptr_array_add (clauses, (gpointer) "status = :status");
  if (filter->has_direction && (number_fragment != NULL || filter->has_status))
    g_ptr_array_add (clauses, (gpointer) "+direction = :direction");
  else if (filter->has_direction)
    g_ptr_array_add (clauses, (gpointer) "direction = :direction");
  if (filter->from_time != 0)
    g_ptr_array_add (clauses, (gpointer) "created_at >= :from_time");
  if (filter->to_time != 0)
    g_ptr_array_add (clauses, (gpointer) "created_at < :to_time");
  if (clauses->len == 0)
    return g_strdup ("");
  g_ptr_array_add (clauses, NULL);
  joined = g_strjoinv (" AND ", (char **)clauses->pdata);
  return g_strconcat (" WHERE ", joined, NULL);
}

/* Binds whichever of the named parameters the assembled statement uses. */
static void
bind_filter (sqlite3_stmt *statement, const RcCallFilter *filter)
{
  bind_named_text (statement, ":number", filter->number);
  if (filter->has_status)
    bind_named_text (statement, ":status", rc_call_status_to_string (filter->status));
  if (filter->has_direction)
    bind_named_text (statement, ":direction", rc_call_direction_to_string (filter->direction));
  bind_named_int64 (statement, ":from_time", filter->from_time);
  bind_named_int64 (statement, ":to_time", filter->to_time);
}

/*
 * Without a number: one SELECT over the index that matches the filters (calls_by_status or
 * calls_by_created), in index order. With a number: a UNION ALL of the from_number arm and the
 * to_number arm (minus rows already in the first), each read in (number, created_at) index
 * order, which SQLite merges for ORDER BY ... LIMIT. Every index entry ends in the row id, which
 * breaks created_at ties in creation order. @upper adds "created_at < :upper" (a deep page
 * positioned on its day).
 */
static char *
list_calls_sql (const RcCallFilter *filter, gboolean count, gboolean upper)
{
  gboolean by_number = filter->number != NULL && filter->number[0] != '\0';
  const char *order = upper ? " AND created_at < :upper ORDER BY created_at DESC, id DESC LIMIT "
                              ":limit OFFSET :offset"
                            : " ORDER BY created_at DESC, id DESC LIMIT :limit OFFSET :offset";
  g_autofree char *where = NULL;
  g_autofree char *where_from = NULL;
  g_autofree char *where_to = NULL;

  if (!by_number) {
    where = filter_where (filter, NULL);
    if (count)
      return g_strconcat ("SELECT COUNT(*) FROM calls", where, NULL);
    /* " WHERE 1": the optional upper bound always follows an AND. */
    return g_strconcat ("SELECT " CALL_COLUMNS " FROM calls", where[0] ? where : " WHERE 1", order,
                        NULL);
  }

  g_assert (!upper);
  where_from = filter_where (filter, "from_number = :number");
  where_to = filter_where (filter, "to_number = :number AND from_number IS NOT :number");
  if (count)
    return g_strconcat ("SELECT (SELECT COUNT(*) FROM calls", where_from,
                        ") + (SELECT COUNT(*) FROM calls", where_to, ")", NULL);
  return g_strconcat ("SELECT " CALL_COLUMNS ", id FROM calls", where_from,
                      " UNION ALL SELECT " CALL_COLUMNS ", id FROM calls", where_to,
                      " ORDER BY created_at DESC, id DESC LIMIT :limit OFFSET :offset", NULL);
}

/* call_days answers for filters without a number whose dates are whole UTC days (the API's
 * from_date/to_date always are). */
static gboolean
day_counts_serve (const RcCallFilter *filter)
{
  return (filter->number == NULL || filter->number[0] == '\0')
         && filter->from_time % RC_STORE_DAY_US == 0 && filter->to_time % RC_STORE_DAY_US == 0;
}

typedef struct {
  gint64 day;
  gint64 count;
} DayCount;

/* The matching calls per UTC day, newest day first, from call_days (at most one row per day:
 * a scan of about 14 rows per day of history, not of the calls). */
static GArray *
list_day_counts (RcStore *self, const RcCallFilter *filter, GError **error)
{
  g_autoptr (GString) sql = g_string_new ("SELECT day, sum (count) FROM call_days WHERE 1");
  g_autoptr (RcStatementLease) statement = NULL;
  g_autoptr (GArray) days = g_array_new (FALSE, FALSE, sizeof (DayCount));
  int rc;

  if (filter->has_status)
    g_string_append (sql, " AND status = :status");
  if (filter->has_direction)
    g_string_append (sql, " AND direction = :direction");
  if (filter->from_time != 0)
    g_string_append (sql, " AND day >= :from_day");
  if (filter->to_time != 0)
    g_string_append (sql, " AND day < :to_day");
  g_string_append (sql, " GROUP BY day HAVING sum (count) > 0 ORDER BY day DESC");

  statement = rc_store_prepare_cached (self, sql->str, "counting calls by day", error);
  if (statement == NULL)
    return NULL;
  bind_filter (statement, filter);
  bind_named_int64 (statement, ":from_day", filter->from_time / RC_STORE_DAY_US);
  bind_named_int64 (statement, ":to_day", filter->to_time / RC_STORE_DAY_US);
  while ((rc = sqlite3_step (statement)) == SQLITE_ROW) {
    DayCount day = { sqlite3_column_int64 (statement, 0), sqlite3_column_int64 (statement, 1) };

    g_array_append_val (days, day);
  }
  if (rc != SQLITE_DONE) {
    rc_store_set_sqlite_error (self, error, "counting calls by day");
    return NULL;
  }
  return g_steal_pointer (&days);
}

/* The number of matching calls: kept counts where they answer, a COUNT(*) over the number's
 * index otherwise. */
static gboolean
count_calls (RcStore *self, const RcCallFilter *filter, GArray *days, gint64 *out, GError **error)
{
  g_autoptr (RcStatementLease) count = NULL;
  g_autofree char *count_sql = NULL;

  if (days != NULL) {
    *out = 0;
    for (guint i = 0; i < days->len; i++)
      *out += g_array_index (days, DayCount, i).count;
    return TRUE;
  }
  if (!filter->has_direction && filter->from_time == 0 && filter->to_time == 0
      && (filter->number == NULL || filter->number[0] == '\0'))
    count_sql = g_strdup (filter->has_status ? "SELECT coalesce (sum (count), 0) FROM "
                                               "call_counts WHERE status = :status"
                                             : "SELECT coalesce (sum (count), 0) FROM call_counts");
  else
    count_sql = list_calls_sql (filter, TRUE, FALSE);
  count = rc_store_prepare_cached (self, count_sql, "counting calls", error);
  if (count == NULL)
    return FALSE;
  bind_filter (count, filter);
  if (sqlite3_step (count) != SQLITE_ROW) {
    rc_store_set_sqlite_error (self, error, "counting calls");
    return FALSE;
  }
  *out = sqlite3_column_int64 (count, 0);
  return TRUE;
}

/*
 * Page 1 and shallow pages: LIMIT/OFFSET over the index. A deep page (offset ≥
 * RC_STORE_DEEP_OFFSET) would step over every skipped index entry, so it is first positioned on
 * its day through call_days: walking the day counts newest first finds the day D that holds
 * the offset and the offset r within it, and the page is read with created_at < end of D and
 * OFFSET r. Its cost is bounded by the days of history and the calls of one day, not by the
 * page number. Filters by number (small lists by nature) keep the plain OFFSET.
 */
GPtrArray *
rc_store_list_calls (RcStore *self,
                     const RcCallFilter *filter,
                     guint page,
                     guint per_page,
                     guint *out_total,
                     GError **error)
{
  static const RcCallFilter no_filter = { 0 };
  g_autoptr (RcStatementLease) select = NULL;
  g_autoptr (GArray) days = NULL;
  g_autofree char *select_sql = NULL;
  gboolean deep;
  gint64 offset;
  gint64 total;
  gint64 upper = 0;

  g_return_val_if_fail (RC_IS_STORE (self), NULL);
  g_return_val_if_fail (page >= 1, NULL);
  g_return_val_if_fail (per_page >= 1, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (filter == NULL)
    filter = &no_filter;
  offset = ((gint64)page - 1) * per_page;
  deep = offset >= RC_STORE_DEEP_OFFSET && day_counts_serve (filter);

  /* call_days also gives the totals of direction and date filters, which no kept count has. */
  if (deep
      || (day_counts_serve (filter)
          && (filter->has_direction || filter->from_time != 0 || filter->to_time != 0))) {
    days = list_day_counts (self, filter, error);
    if (days == NULL)
      return NULL;
  }
  if (!count_calls (self, filter, days, &total, error))
    return NULL;
  if (out_total != NULL)
    *out_total = (guint)MIN (total, G_MAXUINT);

  /* A page past the end is empty, not an error. */
  if (offset >= total)
    return g_ptr_array_new_with_free_func ((GDestroyNotify)rc_call_free);

  if (deep) {
    gint64 before = 0;

    for (guint i = 0; i < days->len; i++) {
      const DayCount *day = &g_array_index (days, DayCount, i);

      if (offset < before + day->count) {
        upper = (day->day + 1) * RC_STORE_DAY_US;
        offset -= before;
        break;
      }
      before += day->count;
    }
  }

  select_sql = list_calls_sql (filter, FALSE, upper != 0);
  select = rc_store_prepare_cached (self, select_sql, "listing calls", error);
  if (select == NULL)
    return NULL;
  bind_filter (select, filter);
  bind_named_int64 (select, ":limit", per_page);
  bind_named_int64 (select, ":offset", offset);
  bind_named_int64 (select, ":upper", upper);
  return collect_calls (self, select, "listing calls", error);
}

void
rc_event_free (RcEvent *event)
{
  if (event == NULL)
    return;
  g_free (event->event_id);
  g_free (event->call_id);
  g_free (event->type);
  g_free (event->data);
  g_free (event);
}

GPtrArray *
rc_store_list_events (RcStore *self, const char *call_id, GError **error)
{
  g_autoptr (RcStatementLease) statement = NULL;
  g_autoptr (GPtrArray) events = NULL;
  g_autoptr (RcCall) call = NULL;
  int rc;

  g_return_val_if_fail (RC_IS_STORE (self), NULL);
  g_return_val_if_fail (call_id != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  events = g_ptr_array_new_with_free_func ((GDestroyNotify)rc_event_free);
  call = rc_store_get_call (self, call_id, NULL);
  if (call == NULL)
    return g_steal_pointer (&events); /* no call, no events */

  statement = rc_store_prepare_cached (self,
                                       "SELECT e.type, e.offset_us, e.event_id, e.sequence FROM "
                                       "events e JOIN calls c ON e.call = c.id "
                                       "WHERE c.call_id = ?1 ORDER BY e.sequence",
                                       "listing events", error);
  if (statement == NULL)
    return NULL;
  rc_store_bind_text (statement, 1, call_id);
  while ((rc = sqlite3_step (statement)) == SQLITE_ROW) {
    RcEvent *event
        = event_from_row (call, (guint)sqlite3_column_int64 (statement, 3), statement, 0, error);

    if (event == NULL)
      return NULL;
    g_ptr_array_add (events, event);
  }
  if (rc != SQLITE_DONE) {
    rc_store_set_sqlite_error (self, error, "listing events of call %s", call_id);
    return NULL;
  }
  return g_steal_pointer (&events);
}

guint64
rc_store_count_events (RcStore *self, GError **error)
{
  g_autoptr (RcStatementLease) statement = NULL;

  g_return_val_if_fail (RC_IS_STORE (self), 0);

  /* Kept by a trigger on events: one row, not a scan. */
  statement = rc_store_prepare_cached (self, "SELECT value FROM counters WHERE name = 'events'",
                                       "counting events", error);
  if (statement == NULL || sqlite3_step (statement) != SQLITE_ROW) {
    if (statement != NULL)
      rc_store_set_sqlite_error (self, error, "counting events");
    return 0;
  }
  return (guint64)sqlite3_column_int64 (statement, 0);
}

gboolean
rc_store_line_dials (RcStore *self,
                     const char *line,
                     gint64 since,
                     guint *out_count,
                     gint64 *out_last,
                     GError **error)
{
  g_autoptr (RcStatementLease) statement = NULL;

  g_return_val_if_fail (RC_IS_STORE (self), FALSE);

  /* Two short walks of calls_by_from (from_number, created_at), newest first: the calls since
   * @since, and the newest one. Only outbound calls have our line as from_number. */
  statement = rc_store_prepare_cached (
      self,
      "SELECT (SELECT count (*) FROM calls WHERE from_number = ?1 AND created_at >= ?2 "
      "AND direction = 'outbound'), coalesce ((SELECT created_at FROM calls WHERE from_number = "
      "?1 AND direction = 'outbound' ORDER BY created_at DESC LIMIT 1), 0)",
      "counting a number's dials", error);
  if (statement == NULL)
    return FALSE;
  rc_store_bind_text (statement, 1, line);
  sqlite3_bind_int64 (statement, 2, since);
  if (sqlite3_step (statement) != SQLITE_ROW) {
    rc_store_set_sqlite_error (self, error, "counting a number's dials");
    return FALSE;
  }
  *out_count = (guint)sqlite3_column_int64 (statement, 0);
  *out_last = sqlite3_column_int64 (statement, 1);
  return TRUE;
}

gboolean
rc_store_count_calls (RcStore *self, guint out_counts[7], GError **error)
{
  g_autoptr (RcStatementLease) statement = NULL;
  int rc;

  g_return_val_if_fail (RC_IS_STORE (self), FALSE);
  g_return_val_if_fail (out_counts != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* Kept by triggers on calls: seven rows, not a scan. */
  statement = rc_store_prepare_cached (self, "SELECT status, count FROM call_counts",
                                       "counting calls by status", error);
  if (statement == NULL)
    return FALSE;
  memset (out_counts, 0, sizeof (guint) * (RC_CALL_STATUS_FAILED + 1));
  while ((rc = sqlite3_step (statement)) == SQLITE_ROW) {
    const char *text = (const char *)sqlite3_column_text (statement, 0);
    RcCallStatus status;

    if (rc_call_status_from_string (text, &status))
      out_counts[status] = (guint)sqlite3_column_int64 (statement, 1);
    else
      g_warning ("%s: %s calls with unknown status '%s'", self->path,
                 (const char *)sqlite3_column_text (statement, 1), text);
  }
  if (rc != SQLITE_DONE) {
    rc_store_set_sqlite_error (self, error, "counting calls by status");
    return FALSE;
  }
  return TRUE;
}

/* --- API keys ------------------------------------------------------------------------------- */

void
rc_api_key_free (RcApiKey *key)
{
  if (key == NULL)
    return;
  g_free (key->name);
  g_free (key->prefix);
  g_free (key);
}

char *
rc_store_create_key (RcStore *self, const char *name, gint64 *out_id, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (GString) key = NULL;
  g_autofree char *prefix = NULL;
  guint8 random[RC_STORE_KEY_RANDOM_BYTES];
  guint8 digest[RC_STORE_KEY_DIGEST_LENGTH];

  g_return_val_if_fail (RC_IS_STORE (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!rc_store_fill_random (random, sizeof random, error)) {
    g_prefix_error (error, "store: creating key %s: ", name);
    return NULL;
  }
  key = g_string_sized_new (3 + 2 * RC_STORE_KEY_RANDOM_BYTES + 1);
  g_string_append (key, "ak_");
  for (guint i = 0; i < RC_STORE_KEY_RANDOM_BYTES; i++)
    g_string_append_printf (key, "%02x", random[i]);
  explicit_bzero (random, sizeof random);
  key_digest (key->str, digest);
  prefix = g_strndup (key->str, RC_STORE_KEY_PREFIX_LENGTH);

  statement = rc_store_prepare (self,
                                "INSERT INTO api_keys (name, prefix, digest, created_at) "
                                "VALUES (?1, ?2, ?3, ?4)",
                                "creating a key", error);
  if (statement == NULL)
    return NULL;
  rc_store_bind_text (statement, 1, name);
  rc_store_bind_text (statement, 2, prefix);
  sqlite3_bind_blob (statement, 3, digest, sizeof digest, SQLITE_STATIC);
  sqlite3_bind_int64 (statement, 4, g_get_real_time ());
  if (!rc_store_step_done (self, statement, "creating a key", error))
    return NULL;

  if (out_id != NULL)
    *out_id = sqlite3_last_insert_rowid (self->db);
  return g_string_free (g_steal_pointer (&key), FALSE);
}

typedef struct {
  gint64 id;
  gint64 revoked_at;
  gint64 last_used_at;
} KeyRow;

typedef struct {
  guint8 digest[RC_STORE_KEY_DIGEST_LENGTH];
  KeyRow row;
  gint64 read_at; /* monotonic */
} CachedKey;

/* Finds the key row whose digest equals @digest. Returns FALSE with @error on store failure;
 * *out_found tells whether a row matched. */
static gboolean
find_key (RcStore *self, const guint8 *digest, gboolean *out_found, KeyRow *out_row, GError **error)
{
  g_autoptr (RcStatementLease) statement = self->statements[STATEMENT_FIND_KEY];
  const guint8 *stored;
  int rc;

  sqlite3_bind_blob (statement, 1, digest, RC_STORE_KEY_DIGEST_LENGTH, SQLITE_STATIC);
  rc = sqlite3_step (statement);
  if (rc == SQLITE_DONE) {
    *out_found = FALSE;
    return TRUE;
  }
  if (rc != SQLITE_ROW) {
    rc_store_set_sqlite_error (self, error, "checking a key");
    return FALSE;
  }

  /* The index lookup found it; still compare the whole digest without an early exit. */
  stored = sqlite3_column_blob (statement, 1);
  *out_found = stored != NULL && sqlite3_column_bytes (statement, 1) == RC_STORE_KEY_DIGEST_LENGTH
               && digest_equal (stored, digest, RC_STORE_KEY_DIGEST_LENGTH);
  out_row->id = sqlite3_column_int64 (statement, 0);
  out_row->revoked_at = sqlite3_column_int64 (statement, 2);
  out_row->last_used_at = sqlite3_column_int64 (statement, 3);
  return TRUE;
}

/* Records use at most once per RC_STORE_KEY_TOUCH_INTERVAL per key; a failure only warns. */
static void
touch_key (RcStore *self, KeyRow *row)
{
  g_autoptr (RcStatementLease) statement = self->statements[STATEMENT_TOUCH_KEY];
  gint64 now = g_get_real_time ();

  if (row->last_used_at != 0 && now - row->last_used_at < RC_STORE_KEY_TOUCH_INTERVAL
      && now >= row->last_used_at)
    return;
  sqlite3_bind_int64 (statement, 1, row->id);
  sqlite3_bind_int64 (statement, 2, now);
  if (sqlite3_step (statement) != SQLITE_DONE)
    g_warning ("%s: recording use of key %" G_GINT64_FORMAT ": %s", self->path, row->id,
               sqlite3_errmsg (self->db));
  else
    row->last_used_at = now;
}

gboolean
rc_store_check_key (RcStore *self, const char *presented, gint64 *out_id, GError **error)
{
  guint8 digest[RC_STORE_KEY_DIGEST_LENGTH];
  gint64 now = g_get_monotonic_time ();
  CachedKey *cached;
  KeyRow row = { 0 };
  gboolean found = FALSE;

  g_return_val_if_fail (RC_IS_STORE (self), FALSE);
  g_return_val_if_fail (presented != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  key_digest (presented, digest);
  /* Every request checks its key: a valid one is read from the database once a second. */
  cached = g_hash_table_lookup (self->keys, digest);
  if (cached == NULL || now - cached->read_at >= RC_STORE_KEY_CACHE_USEC) {
    g_hash_table_remove (self->keys, digest);
    cached = NULL;
    if (!find_key (self, digest, &found, &row, error))
      return FALSE;
    if (!found || row.revoked_at != 0)
      return FALSE;
    if (g_hash_table_size (self->keys) >= RC_STORE_KEY_CACHE_MAX)
      g_hash_table_remove_all (self->keys);
    cached = g_new0 (CachedKey, 1);
    memcpy (cached->digest, digest, sizeof digest);
    cached->row = row;
    cached->read_at = now;
    g_hash_table_insert (self->keys, cached->digest, cached);
  }
  touch_key (self, &cached->row);
  if (out_id != NULL)
    *out_id = cached->row.id;
  return TRUE;
}

gboolean
rc_store_revoke_key (RcStore *self, gint64 id, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (sqlite3_stmt) exists = NULL;
  int rc;

  g_return_val_if_fail (RC_IS_STORE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  statement = rc_store_prepare (
      self, "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
      "revoking a key", error);
  if (statement == NULL)
    return FALSE;
  sqlite3_bind_int64 (statement, 1, id);
  sqlite3_bind_int64 (statement, 2, g_get_real_time ());
  if (!rc_store_step_done (self, statement, "revoking a key", error))
    return FALSE;
  g_hash_table_remove_all (self->keys); /* effective at once in this process */
  if (sqlite3_changes (self->db) > 0)
    return TRUE;

  /* Nothing changed: unknown, or already revoked (which is fine and keeps the first time). */
  exists = rc_store_prepare (self, "SELECT 1 FROM api_keys WHERE id = ?1", "revoking a key", error);
  if (exists == NULL)
    return FALSE;
  sqlite3_bind_int64 (exists, 1, id);
  rc = sqlite3_step (exists);
  if (rc == SQLITE_ROW)
    return TRUE;
  if (rc != SQLITE_DONE) {
    rc_store_set_sqlite_error (self, error, "revoking a key");
    return FALSE;
  }
  g_set_error (error, RC_ERROR, RC_ERROR_NOT_FOUND, "key %" G_GINT64_FORMAT " not found", id);
  return FALSE;
}

GPtrArray *
rc_store_list_keys (RcStore *self, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autoptr (GPtrArray) keys = NULL;
  int rc;

  g_return_val_if_fail (RC_IS_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  statement = rc_store_prepare (self,
                                "SELECT id, name, prefix, created_at, revoked_at, last_used_at "
                                "FROM api_keys ORDER BY id",
                                "listing keys", error);
  if (statement == NULL)
    return NULL;
  keys = g_ptr_array_new_with_free_func ((GDestroyNotify)rc_api_key_free);
  while ((rc = sqlite3_step (statement)) == SQLITE_ROW) {
    RcApiKey *key = g_new0 (RcApiKey, 1);

    key->id = sqlite3_column_int64 (statement, 0);
    key->name = rc_store_column_dup_text (statement, 1);
    key->prefix = rc_store_column_dup_text (statement, 2);
    key->created_at = rc_store_column_time (statement, 3);
    key->revoked_at = rc_store_column_time (statement, 4);
    key->last_used_at = rc_store_column_time (statement, 5);
    g_ptr_array_add (keys, key);
  }
  if (rc != SQLITE_DONE) {
    rc_store_set_sqlite_error (self, error, "listing keys");
    return NULL;
  }
  return g_steal_pointer (&keys);
}

/* --- idempotency ---------------------------------------------------------------------------- */

gboolean
rc_store_get_idempotent (RcStore *self,
                         gint64 key_id,
                         const char *idempotency_key,
                         char **out_request_digest,
                         guint *out_status,
                         char **out_body,
                         GError **error)
{
  g_autoptr (RcStatementLease) statement = NULL;
  int rc;

  g_return_val_if_fail (RC_IS_STORE (self), FALSE);
  g_return_val_if_fail (idempotency_key != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  statement = rc_store_prepare_cached (self,
                                       "SELECT request_digest, status, body FROM idempotency "
                                       "WHERE key_id = ?1 AND idempotency_key = ?2",
                                       "reading an idempotent response", error);
  if (statement == NULL)
    return FALSE;
  sqlite3_bind_int64 (statement, 1, key_id);
  rc_store_bind_text (statement, 2, idempotency_key);
  rc = sqlite3_step (statement);
  if (rc == SQLITE_DONE)
    return FALSE;
  if (rc != SQLITE_ROW) {
    rc_store_set_sqlite_error (self, error, "reading an idempotent response");
    return FALSE;
  }
  if (out_request_digest != NULL)
    *out_request_digest = rc_store_column_dup_text (statement, 0);
  if (out_status != NULL)
    *out_status = (guint)sqlite3_column_int (statement, 1);
  if (out_body != NULL)
    *out_body = rc_store_column_dup_text (statement, 2);
  return TRUE;
}

/* An entry already stored under the same keys is replaced (it can only be one that has outlived
 * its 24 h but not been expired yet: callers look up before they put). */
gboolean
rc_store_put_idempotent (RcStore *self,
                         gint64 key_id,
                         const char *idempotency_key,
                         const char *request_digest,
                         guint status,
                         const char *body,
                         GError **error)
{
  g_autoptr (RcStatementLease) statement = NULL;

  g_return_val_if_fail (RC_IS_STORE (self), FALSE);
  g_return_val_if_fail (idempotency_key != NULL, FALSE);
  g_return_val_if_fail (request_digest != NULL, FALSE);
  g_return_val_if_fail (body != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  statement = rc_store_prepare_cached (
      self,
      "INSERT INTO idempotency (key_id, idempotency_key, request_digest, status, "
      "body, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
      "ON CONFLICT (key_id, idempotency_key) DO UPDATE SET "
      "request_digest = excluded.request_digest, status = excluded.status, "
      "body = excluded.body, created_at = excluded.created_at",
      "storing an idempotent response", error);
  if (statement == NULL)
    return FALSE;
  sqlite3_bind_int64 (statement, 1, key_id);
  rc_store_bind_text (statement, 2, idempotency_key);
  rc_store_bind_text (statement, 3, request_digest);
  sqlite3_bind_int (statement, 4, (int)status);
  rc_store_bind_text (statement, 5, body);
  sqlite3_bind_int64 (statement, 6, g_get_real_time ());
  return rc_store_step_done (self, statement, "storing an idempotent response", error);
}

gboolean
rc_store_expire_idempotent (RcStore *self, gint64 before, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = NULL;

  g_return_val_if_fail (RC_IS_STORE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  statement = rc_store_prepare (self, "DELETE FROM idempotency WHERE created_at < ?1",
                                "expiring idempotent responses", error);
  if (statement == NULL)
    return FALSE;
  sqlite3_bind_int64 (statement, 1, before);
  return rc_store_step_done (self, statement, "expiring idempotent responses", error);
}
