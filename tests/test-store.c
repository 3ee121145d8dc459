/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "test-store"

#include "config.h"

#include "rc-store.h"
#include "rc-store-private.h"

#include "rc-error.h"

#include <glib/gstdio.h>
#include <sqlite3.h>

#include <string.h>

/*
 * RcStore against real database files, each test in its own temporary directory: opening and
 * migrating, refusing files it must not touch, calls and events, the list query with its
 * filters and pages, API keys and idempotency entries.
 */

#define N_LIST_CALLS 3000
#define LIST_BASE_TIME G_GINT64_CONSTANT (1767225600000000) /* 2026-01-01T00:00:00Z */
#define MINUTE G_GINT64_CONSTANT (60000000)

typedef struct {
  char *dir;
  char *path;
} Fixture;

static void
fixture_setup (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("test-store-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->path = g_build_filename (fixture->dir, "reachcelld.db", NULL);
}

static void
fixture_teardown (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GDir) dir = g_dir_open (fixture->dir, 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL) {
    g_autofree char *file = g_build_filename (fixture->dir, name, NULL);

    g_assert_cmpint (g_unlink (file), ==, 0);
  }
  g_assert_cmpint (g_rmdir (fixture->dir), ==, 0);
  g_free (fixture->dir);
  g_free (fixture->path);
}

static RcStore *
open_store (const char *path)
{
  g_autoptr (GError) error = NULL;
  RcStore *store = rc_store_new (path, &error);

  g_assert_no_error (error);
  g_assert_true (RC_IS_STORE (store));
  return store;
}

/* A second, independent connection to the same file. */
static sqlite3 *
open_raw (const char *path, int flags)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, flags, NULL), ==, SQLITE_OK);
  return db;
}

static gint64
query_int (sqlite3 *db, const char *sql)
{
  g_autoptr (sqlite3_stmt) statement = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &statement, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (statement), ==, SQLITE_ROW);
  return sqlite3_column_int64 (statement, 0);
}

static char *
query_text (sqlite3 *db, const char *sql)
{
  g_autoptr (sqlite3_stmt) statement = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &statement, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (statement), ==, SQLITE_ROW);
  return g_strdup ((const char *)sqlite3_column_text (statement, 0));
}

static GBytes *
read_file (const char *path)
{
  g_autoptr (GError) error = NULL;
  char *contents = NULL;
  gsize length = 0;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, length);
}

static RcCall *
make_call (const char *call_id, gint64 created_at)
{
  RcCall *call = rc_call_new ();

  call->call_id = g_strdup (call_id);
  call->direction = RC_CALL_DIRECTION_OUTBOUND;
  call->from = g_strdup ("+4915100000001");
  call->to = g_strdup ("+4930123456");
  call->line = g_strdup ("+4915100000001");
  call->status = RC_CALL_STATUS_INITIATING;
  call->created_at = created_at;
  return call;
}

static void
assert_calls_equal (const RcCall *a, const RcCall *b)
{
  g_assert_cmpstr (a->call_id, ==, b->call_id);
  g_assert_cmpint (a->direction, ==, b->direction);
  g_assert_cmpstr (a->from, ==, b->from);
  g_assert_cmpstr (a->to, ==, b->to);
  g_assert_cmpint (a->status, ==, b->status);
  g_assert_cmpint (a->end_reason, ==, b->end_reason);
  g_assert_cmpstr (a->client_reference, ==, b->client_reference);
  g_assert_cmpstr (a->modem, ==, b->modem);
  g_assert_cmpint (a->slot, ==, b->slot);
  g_assert_cmpstr (a->line, ==, b->line);
  g_assert_cmpstr (a->mm_path, ==, b->mm_path);
  g_assert_cmpint (a->timeout_seconds, ==, b->timeout_seconds);
  g_assert_cmpint (a->initiated_at, ==, b->initiated_at);
  g_assert_cmpint (a->ringing_at, ==, b->ringing_at);
  g_assert_cmpint (a->connected_at, ==, b->connected_at);
  g_assert_cmpint (a->ended_at, ==, b->ended_at);
  g_assert_cmpint (a->created_at, ==, b->created_at);
  g_assert_cmpint (a->cost_micro_usd, ==, b->cost_micro_usd);
  g_assert_cmpuint (a->last_sequence, ==, b->last_sequence);
  g_assert_cmpint (!!a->local_hangup, ==, !!b->local_hangup);
}

/* --- opening and migrating ------------------------------------------------------------------ */

static sqlite3 *captured_db;

/* An SQLite auto extension runs for every connection opened in the process: it hands the test
 * the store's own connection, so per-connection settings (synchronous, foreign_keys,
 * busy_timeout) can be read where they live. */
static int
capture_connection (sqlite3 *db, const char **error_message, const void *api)
{
  captured_db = db;
  return SQLITE_OK;
}

static void
test_create (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (RcStore) store = NULL;
  g_autofree char *journal_mode = NULL;
  sqlite3 *db;

  captured_db = NULL;
  sqlite3_auto_extension ((void (*) (void))capture_connection);
  store = open_store (fixture->path);
  sqlite3_cancel_auto_extension ((void (*) (void))capture_connection);

  g_assert_cmpstr (rc_store_get_path (store), ==, fixture->path);
  g_assert_cmpint (rc_store_get_schema_version (store), ==, RC_STORE_SCHEMA_VERSION);

  /* Persistent settings, seen from a second connection. */
  db = open_raw (fixture->path, SQLITE_OPEN_READONLY);
  g_assert_cmpint (query_int (db, "PRAGMA user_version"), ==, RC_STORE_SCHEMA_VERSION);
  journal_mode = query_text (db, "PRAGMA journal_mode");
  g_assert_cmpstr (journal_mode, ==, "wal");
  g_assert_cmpint (query_int (db,
                              "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                              "('calls', 'events', 'api_keys', 'idempotency')"),
                   ==, 4);
  g_assert_cmpint (query_int (db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND "
                                  "name LIKE 'calls_by_%'"),
                   ==, 4);
  sqlite3_close (db);

  /* Per-connection settings, on the store's own connection. */
  g_assert_nonnull (captured_db);
  g_assert_cmpint (query_int (captured_db, "PRAGMA synchronous"), ==, 2); /* FULL */
  g_assert_cmpint (query_int (captured_db, "PRAGMA foreign_keys"), ==, 1);
  g_assert_cmpint (query_int (captured_db, "PRAGMA busy_timeout"), ==, 5000);
  captured_db = NULL;
}

static void
test_reopen (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (RcStore) store = open_store (fixture->path);
  g_autoptr (RcCall) call = make_call ("11111111-1111-4111-8111-111111111111", LIST_BASE_TIME);
  g_autoptr (RcCall) loaded = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *key = NULL;
  gint64 key_id = 0;
  gint64 checked_id = 0;

  g_assert_true (rc_store_save_call (store, call, &error));
  g_assert_no_error (error);
  g_assert_true (
      rc_store_append_event (store, call, "call.initiating", LIST_BASE_TIME, NULL, &error));
  g_assert_no_error (error);
  key = rc_store_create_key (store, "reopen", &key_id, &error);
  g_assert_no_error (error);
  g_clear_object (&store);

  store = open_store (fixture->path);
  g_assert_cmpint (rc_store_get_schema_version (store), ==, RC_STORE_SCHEMA_VERSION);
  loaded = rc_store_get_call (store, call->call_id, &error);
  g_assert_no_error (error);
  assert_calls_equal (loaded, call);
  g_assert_true (rc_store_check_key (store, key, &checked_id, &error));
  g_assert_no_error (error);
  g_assert_cmpint (checked_id, ==, key_id);
}

static void
test_newer_version (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (RcStore) store = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) before = NULL;
  g_autoptr (GBytes) after = NULL;
  g_autofree char *expected = NULL;
  sqlite3 *db;

  db = open_raw (fixture->path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  g_assert_cmpint (sqlite3_exec (db,
                                 "CREATE TABLE future (x); INSERT INTO future VALUES (1); "
                                 "PRAGMA user_version = 99",
                                 NULL, NULL, NULL),
                   ==, SQLITE_OK);
  sqlite3_close (db);
  before = read_file (fixture->path);

  store = rc_store_new (fixture->path, &error);
  g_assert_null (store);
  g_assert_error (error, RC_ERROR, RC_ERROR_STORE);
  expected = g_strdup_printf ("database schema version 99 is newer than this build supports (%d)",
                              RC_STORE_SCHEMA_VERSION);
  g_assert_true (g_str_has_suffix (error->message, expected));

  after = read_file (fixture->path);
  g_assert_true (g_bytes_equal (before, after));
}

static void
test_not_a_database (Fixture *fixture, gconstpointer user_data)
{
  const char *contents[] = {
    "hello", NULL, /* filled below: a few kilobytes of text */
  };
  g_autoptr (GString) long_text = g_string_new (NULL);

  for (guint i = 0; i < 200; i++)
    g_string_append_printf (long_text, "line %u: this is not an SQLite database\n", i);
  contents[1] = long_text->str;

  for (guint i = 0; i < G_N_ELEMENTS (contents); i++) {
    g_autoptr (RcStore) store = NULL;
    g_autoptr (GError) error = NULL;
    g_autoptr (GBytes) after = NULL;
    g_autoptr (GBytes) before = g_bytes_new_static (contents[i], strlen (contents[i]));

    g_assert_true (g_file_set_contents (fixture->path, contents[i], -1, NULL));
    store = rc_store_new (fixture->path, &error);
    g_assert_null (store);
    g_assert_error (error, RC_ERROR, RC_ERROR_STORE);
    g_assert_nonnull (strstr (error->message, "not a database"));
    g_assert_nonnull (strstr (error->message, fixture->path));

    after = read_file (fixture->path);
    g_assert_true (g_bytes_equal (before, after));
  }
}

static void
test_unopenable (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "missing", "reachcelld.db", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (RcStore) store = rc_store_new (path, &error);

  g_assert_null (store);
  g_assert_error (error, RC_ERROR, RC_ERROR_STORE);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

/* --- calls and events ----------------------------------------------------------------------- */

static void
test_call_round_trip (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (RcStore) store = open_store (fixture->path);
  g_autoptr (RcCall) full = rc_call_new ();
  g_autoptr (RcCall) sparse = rc_call_new ();
  g_autoptr (GError) error = NULL;
  sqlite3 *db;

  full->call_id = g_strdup ("7c9e6679-7425-40de-944b-e07fc1f90ae7");
  full->direction = RC_CALL_DIRECTION_INBOUND;
  full->from = g_strdup ("+4930123456");
  full->to = g_strdup ("+4915100000002");
  full->status = RC_CALL_STATUS_ENDED;
  full->end_reason = RC_END_REASON_REMOTE_HANGUP;
  full->client_reference = g_strdup ("order-4711 ü");
  full->modem = g_strdup ("356938035643809");
  full->slot = 2;
  full->line = g_strdup ("+4915100000002");
  full->mm_path = g_strdup ("/org/freedesktop/ModemManager1/Call/3");
  full->timeout_seconds = 45;
  full->initiated_at = LIST_BASE_TIME + 1;
  full->ringing_at = LIST_BASE_TIME + 2;
  full->connected_at = LIST_BASE_TIME + 3;
  full->ended_at = LIST_BASE_TIME + 4;
  full->created_at = LIST_BASE_TIME;
  full->cost_micro_usd = 0; /* free, which is not "unknown" */
  full->last_sequence = 7;
  full->local_hangup = TRUE;

  /* Everything optional left unset. */
  sparse->call_id = g_strdup ("00000000-0000-4000-8000-000000000001");
  sparse->direction = RC_CALL_DIRECTION_INBOUND;
  sparse->to = g_strdup ("+4915100000002");
  sparse->line = g_strdup ("+4915100000002"); /* always the own side: stored as NULL, read back */
  sparse->status = RC_CALL_STATUS_RINGING;
  sparse->created_at = LIST_BASE_TIME + 5;

  g_assert_true (rc_store_save_call (store, full, &error));
  g_assert_no_error (error);
  g_assert_true (rc_store_save_call (store, sparse, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < 2; i++) {
    const RcCall *expected = i == 0 ? full : sparse;
    g_autoptr (RcCall) loaded = rc_store_get_call (store, expected->call_id, &error);

    g_assert_no_error (error);
    assert_calls_equal (loaded, expected);
  }

  /* Unset values are NULL in the table, enums are their strings, the cost of 0 is 0. */
  db = open_raw (fixture->path, SQLITE_OPEN_READONLY);
  g_assert_cmpint (query_int (db,
                              "SELECT COUNT(*) FROM calls WHERE call_id = "
                              "'00000000-0000-4000-8000-000000000001' AND from_number IS NULL AND "
                              "end_reason IS NULL AND client_reference IS NULL AND modem IS NULL "
                              "AND mm_path IS NULL AND initiated_at = 0 AND ringing_at IS NULL "
                              "AND connected_at IS NULL AND ended_at IS NULL AND cost_micro_usd IS "
                              "NULL AND status = 'ringing' AND direction = 'inbound'"),
                   ==, 1);
  g_assert_cmpint (query_int (db, "SELECT COUNT(*) FROM calls WHERE end_reason = 'remote_hangup' "
                                  "AND cost_micro_usd = 0 AND local_hangup = 1"),
                   ==, 1);
  sqlite3_close (db);
}

static void
test_upsert (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (RcStore) store = open_store (fixture->path);
  g_autoptr (RcCall) call = make_call ("22222222-2222-4222-8222-222222222222", LIST_BASE_TIME);
  g_autoptr (RcCall) loaded = NULL;
  g_autoptr (GError) error = NULL;
  sqlite3 *db;

  call->client_reference = g_strdup ("first");
  g_assert_true (rc_store_save_call (store, call, &error));
  g_assert_no_error (error);

  call->status = RC_CALL_STATUS_MISSED;
  call->end_reason = RC_END_REASON_TIMEOUT;
  call->ended_at = LIST_BASE_TIME + 30 * G_USEC_PER_SEC;
  g_clear_pointer (&call->client_reference, g_free);
  call->cost_micro_usd = 1500;
  g_assert_true (rc_store_save_call (store, call, &error));
  g_assert_no_error (error);

  loaded = rc_store_get_call (store, call->call_id, &error);
  g_assert_no_error (error);
  assert_calls_equal (loaded, call);

  db = open_raw (fixture->path, SQLITE_OPEN_READONLY);
  g_assert_cmpint (query_int (db, "SELECT COUNT(*) FROM calls"), ==, 1);
  sqlite3_close (db);
}

static void
test_not_found (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (RcStore) store = open_store (fixture->path);
  g_autoptr (RcCall) ghost = make_call ("33333333-3333-4333-8333-333333333333", LIST_BASE_TIME);
  g_autoptr (RcCall) loaded = NULL;
  g_autoptr (GPtrArray) events = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *event_id = NULL;

  loaded = rc_store_get_call (store, "no-such-call", &error);
  g_assert_null (loaded);
  g_assert_error (error, RC_ERROR, RC_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* An event for a call that was never saved. */
  g_assert_false (
      rc_store_append_event (store, ghost, "call.ringing", LIST_BASE_TIME, &event_id, &error));
  g_assert_error (error, RC_ERROR, RC_ERROR_NOT_FOUND);
  g_assert_null (event_id);
  g_assert_cmpuint (ghost->last_sequence, ==, 0);
  g_clear_error (&error);

  events = rc_store_list_events (store, ghost->call_id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (events->len, ==, 0);
}

static gboolean
is_event_id (const char *id)
{
  const char *alphabet = "0123456789abcdefghjkmnpqrstvwxyz";

  if (!g_str_has_prefix (id, "evt_") || strlen (id) != 4 + 26)
    return FALSE;
  for (const char *c = id + 4; *c != '\0'; c++) {
    if (strchr (alphabet, *c) == NULL)
      return FALSE;
  }
  return TRUE;
}

static void
test_events (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (RcStore) store = open_store (fixture->path);
  g_autoptr (RcCall) call = make_call ("44444444-4444-4444-8444-444444444444", LIST_BASE_TIME);
  g_autoptr (RcCall) other = make_call ("55555555-5555-4555-8555-555555555555", LIST_BASE_TIME);
  g_autoptr (RcCall) loaded = NULL;
  g_autoptr (GHashTable) ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) events = NULL;
  g_autoptr (GError) error = NULL;
  const guint n = 25;

  g_assert_true (rc_store_save_call (store, call, &error));
  g_assert_no_error (error);
  g_assert_true (rc_store_save_call (store, other, &error));
  g_assert_no_error (error);

  for (guint i = 1; i <= n; i++) {
    char *event_id = NULL;

    g_assert_true (rc_store_begin (store, &error));
    g_assert_no_error (error);
    g_assert_true (rc_store_save_call (store, call, &error));
    g_assert_no_error (error);
    g_assert_true (
        rc_store_append_event (store, call, "call.ringing", LIST_BASE_TIME + i, &event_id, &error));
    g_assert_no_error (error);
    g_assert_true (rc_store_commit (store, &error));
    g_assert_no_error (error);

    g_assert_cmpuint (call->last_sequence, ==, i);
    g_assert_true (is_event_id (event_id));
    g_assert_false (g_hash_table_contains (ids, event_id));
    g_hash_table_add (ids, event_id);

    /* Interleave another call's events: sequences are per call. */
    g_assert_true (
        rc_store_append_event (store, other, "call.ringing", LIST_BASE_TIME, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (other->last_sequence, ==, i);
  }

  loaded = rc_store_get_call (store, call->call_id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (loaded->last_sequence, ==, n);

  events = rc_store_list_events (store, call->call_id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (events->len, ==, n);
  for (guint i = 0; i < n; i++) {
    RcEvent *event = g_ptr_array_index (events, i);

    g_assert_cmpuint (event->sequence, ==, i + 1);
    g_assert_cmpstr (event->call_id, ==, call->call_id);
    g_assert_cmpstr (event->type, ==, "call.ringing");
    g_assert_cmpint (event->created_at, ==, LIST_BASE_TIME + i + 1);
    /* The payload is the call as of the event's status, rendered from the row. */
    g_assert_nonnull (strstr (event->data, "\"status\":\"ringing\""));
    g_assert_nonnull (strstr (event->data, call->call_id));
    g_assert_true (g_hash_table_contains (ids, event->event_id));
  }

  /* A stale in-memory sequence is refused by the key (call, sequence), atomically. */
  call->last_sequence = 3;
  g_assert_false (rc_store_append_event (store, call, "call.ended", LIST_BASE_TIME, NULL, &error));
  g_assert_error (error, RC_ERROR, RC_ERROR_STORE);
  g_clear_error (&error);
  g_assert_cmpuint (call->last_sequence, ==, 3);
  g_clear_pointer (&loaded, rc_call_free);
  loaded = rc_store_get_call (store, call->call_id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (loaded->last_sequence, ==, n);
}

static void
test_rollback (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (RcStore) store = open_store (fixture->path);
  g_autoptr (RcCall) call = make_call ("66666666-6666-4666-8666-666666666666", LIST_BASE_TIME);
  g_autoptr (RcCall) kept = make_call ("77777777-7777-4777-8777-777777777777", LIST_BASE_TIME);
  g_autoptr (RcCall) loaded = NULL;
  g_autoptr (GPtrArray) events = NULL;
  g_autoptr (GError) error = NULL;
  sqlite3 *db;

  /* A new call and its first event, rolled back: nothing is left. */
  g_assert_true (rc_store_begin (store, &error));
  g_assert_no_error (error);
  g_assert_true (rc_store_save_call (store, call, &error));
  g_assert_no_error (error);
  g_assert_true (
      rc_store_append_event (store, call, "call.initiating", LIST_BASE_TIME, NULL, &error));
  g_assert_no_error (error);
  rc_store_rollback (store);

  loaded = rc_store_get_call (store, call->call_id, &error);
  g_assert_null (loaded);
  g_assert_error (error, RC_ERROR, RC_ERROR_NOT_FOUND);
  g_clear_error (&error);
  events = rc_store_list_events (store, call->call_id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (events->len, ==, 0);
  g_clear_pointer (&events, g_ptr_array_unref);

  /* An event for a committed call, rolled back: the call keeps last_sequence 0. */
  g_assert_true (rc_store_save_call (store, kept, &error));
  g_assert_no_error (error);
  g_assert_true (rc_store_begin (store, &error));
  g_assert_no_error (error);
  g_assert_true (rc_store_append_event (store, kept, "call.ringing", LIST_BASE_TIME, NULL, &error));
  g_assert_no_error (error);
  rc_store_rollback (store);
  rc_store_rollback (store); /* no transaction open: harmless */

  loaded = rc_store_get_call (store, kept->call_id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (loaded->last_sequence, ==, 0);
  events = rc_store_list_events (store, kept->call_id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (events->len, ==, 0);

  /* Transactions do not nest; a failed begin leaves the open one alone. */
  g_assert_true (rc_store_begin (store, &error));
  g_assert_no_error (error);
  g_assert_false (rc_store_begin (store, &error));
  g_assert_error (error, RC_ERROR, RC_ERROR_STORE);
  g_clear_error (&error);
  rc_store_rollback (store);
  g_assert_false (rc_store_commit (store, &error));
  g_assert_error (error, RC_ERROR, RC_ERROR_STORE);
  g_clear_error (&error);

  db = open_raw (fixture->path, SQLITE_OPEN_READONLY);
  g_assert_cmpint (query_int (db, "SELECT COUNT(*) FROM events"), ==, 0);
  g_assert_cmpint (query_int (db, "SELECT COUNT(*) FROM calls"), ==, 1);
  sqlite3_close (db);
}

/* --- listing -------------------------------------------------------------------------------- */

static const char *const list_lines[] = { "+4915100000001", "+4915100000002", "+4915100000003" };
static const char *const list_remotes[]
    = { "+4930111111", "+4930222222", "+4930333333", "+4930444444", "+4930555555" };

/* N_LIST_CALLS calls from a fixed seed, @step apart in threes: three calls share each
 * created_at, as only rows stored before schema 3 can, and their row ids (save order) break the
 * ties; call ids are not in creation order; some inbound callers are withheld (NULL); some calls
 * are a line calling itself (from == to), which must be listed once for that number. */
static GPtrArray *
make_list_calls (guint n, gint64 step)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (4711);
  GPtrArray *calls = g_ptr_array_new_with_free_func ((GDestroyNotify)rc_call_free);

  for (guint i = 0; i < n; i++) {
    RcCall *call = rc_call_new ();
    const char *line = list_lines[g_rand_int_range (rand, 0, G_N_ELEMENTS (list_lines))];
    const char *remote = list_remotes[g_rand_int_range (rand, 0, G_N_ELEMENTS (list_remotes))];

    call->call_id = g_strdup_printf ("%08x-0000-4000-8000-%012u", g_rand_int (rand), i);
    call->direction
        = g_rand_boolean (rand) ? RC_CALL_DIRECTION_INBOUND : RC_CALL_DIRECTION_OUTBOUND;
    call->status = (RcCallStatus)g_rand_int_range (rand, 0, RC_CALL_STATUS_FAILED + 1);
    call->created_at = LIST_BASE_TIME + (gint64)(i / 3) * step;
    call->line = g_strdup (line);
    if (i % 97 == 0) {
      call->from = g_strdup (line);
      call->to = g_strdup (line);
    } else if (call->direction == RC_CALL_DIRECTION_OUTBOUND) {
      call->from = g_strdup (line);
      call->to = g_strdup (remote);
    } else {
      call->from = i % 11 == 0 ? NULL : g_strdup (remote);
      call->to = g_strdup (line);
    }
    g_ptr_array_add (calls, call);
  }
  return calls;
}

static void
save_all (RcStore *store, GPtrArray *calls)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (rc_store_begin (store, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < calls->len; i++) {
    g_assert_true (rc_store_save_call (store, g_ptr_array_index (calls, i), &error));
    g_assert_no_error (error);
  }
  g_assert_true (rc_store_commit (store, &error));
  g_assert_no_error (error);
}

static gboolean
filter_matches (const RcCallFilter *filter, const RcCall *call)
{
  if (filter->number != NULL && g_strcmp0 (call->from, filter->number) != 0
      && g_strcmp0 (call->to, filter->number) != 0)
    return FALSE;
  if (filter->has_direction && call->direction != filter->direction)
    return FALSE;
  if (filter->has_status && call->status != filter->status)
    return FALSE;
  if (filter->from_time != 0 && call->created_at < filter->from_time)
    return FALSE;
  if (filter->to_time != 0 && call->created_at >= filter->to_time)
    return FALSE;
  return TRUE;
}

static int
compare_newest_first (gconstpointer a, gconstpointer b)
{
  const RcCall *x = *(const RcCall *const *)a;
  const RcCall *y = *(const RcCall *const *)b;

  if (x->created_at != y->created_at)
    return x->created_at > y->created_at ? -1 : 1;
  /* Ties: the later saved first. The call id ends in its index in the save order. */
  return -strcmp (x->call_id + 24, y->call_id + 24);
}

/* The reference answer: @calls filtered and sorted, borrowed pointers. */
static GPtrArray *
expected_list (GPtrArray *calls, const RcCallFilter *filter)
{
  GPtrArray *expected = g_ptr_array_new ();

  for (guint i = 0; i < calls->len; i++) {
    if (filter_matches (filter, g_ptr_array_index (calls, i)))
      g_ptr_array_add (expected, g_ptr_array_index (calls, i));
  }
  g_ptr_array_sort (expected, compare_newest_first);
  return expected;
}

/* Walks every page of @filter and compares with the model, including the page past the end. */
static void
check_list (RcStore *store, GPtrArray *calls, const RcCallFilter *filter, guint per_page)
{
  g_autoptr (GPtrArray) expected = expected_list (calls, filter);
  guint n_pages = (expected->len + per_page - 1) / per_page;
  guint seen = 0;

  for (guint page = 1; page <= n_pages + 1; page++) {
    g_autoptr (GError) error = NULL;
    g_autoptr (GPtrArray) listed = NULL;
    guint total = G_MAXUINT;

    listed = rc_store_list_calls (store, filter, page, per_page, &total, &error);
    g_assert_no_error (error);
    g_assert_nonnull (listed);
    g_assert_cmpuint (total, ==, expected->len);
    if (page <= n_pages)
      g_assert_cmpuint (listed->len, ==, MIN (per_page, expected->len - seen));
    else
      g_assert_cmpuint (listed->len, ==, 0);
    for (guint i = 0; i < listed->len; i++)
      assert_calls_equal (g_ptr_array_index (listed, i), g_ptr_array_index (expected, seen + i));
    seen += listed->len;
  }
  g_assert_cmpuint (seen, ==, expected->len);
}

static void
test_list_filters (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (RcStore) store = open_store (fixture->path);
  g_autoptr (GPtrArray) calls = make_list_calls (N_LIST_CALLS, MINUTE);
  const gint64 middle = LIST_BASE_TIME + 300 * MINUTE;
  const gint64 late = LIST_BASE_TIME + 700 * MINUTE;
  RcCallFilter filters[] = {
    { 0 },
    { .number = "+4915100000001" },
    { .number = "+4930333333" },
    { .number = "+4999999999" }, /* never used */
    { .has_direction = TRUE, .direction = RC_CALL_DIRECTION_INBOUND },
    { .has_direction = TRUE, .direction = RC_CALL_DIRECTION_OUTBOUND },
    { .from_time = middle },
    { .to_time = middle },
    { .from_time = middle, .to_time = late },
    { .from_time = middle, .to_time = middle }, /* empty range */
    { .has_status = TRUE,
      .status = RC_CALL_STATUS_MISSED,
      .has_direction = TRUE,
      .direction = RC_CALL_DIRECTION_OUTBOUND },
    { .number = "+4915100000002", .has_status = TRUE, .status = RC_CALL_STATUS_ENDED },
    { .number = "+4915100000003",
      .has_direction = TRUE,
      .direction = RC_CALL_DIRECTION_INBOUND,
      .from_time = middle,
      .to_time = late },
    { .number = "+4930111111",
      .has_direction = TRUE,
      .direction = RC_CALL_DIRECTION_INBOUND,
      .has_status = TRUE,
      .status = RC_CALL_STATUS_CONNECTED,
      .from_time = middle,
      .to_time = late },
    { .has_status = TRUE, .status = RC_CALL_STATUS_RINGING, .to_time = late },
  };

  save_all (store, calls);

  for (guint i = 0; i < G_N_ELEMENTS (filters); i++) {
    g_test_message ("filter %u", i);
    check_list (store, calls, &filters[i], 100);
  }
  for (RcCallStatus status = RC_CALL_STATUS_INITIATING; status <= RC_CALL_STATUS_FAILED; status++) {
    RcCallFilter filter = { .has_status = TRUE, .status = status };

    g_test_message ("status %s", rc_call_status_to_string (status));
    check_list (store, calls, &filter, 100);
  }

  /* Exact time boundaries: from is inclusive, to is exclusive (three calls per minute). */
  {
    RcCallFilter filter = { .from_time = middle, .to_time = middle + MINUTE };
    g_autoptr (GError) error = NULL;
    g_autoptr (GPtrArray) listed = NULL;
    guint total = 0;

    listed = rc_store_list_calls (store, &filter, 1, 10, &total, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (total, ==, 3);
    for (guint i = 0; i < listed->len; i++)
      g_assert_cmpint (((RcCall *)g_ptr_array_index (listed, i))->created_at, ==, middle);
  }

  /* A line calling itself is listed once for its number. */
  {
    RcCallFilter filter = { .number = ((RcCall *)g_ptr_array_index (calls, 0))->from };
    g_autoptr (GPtrArray) expected = expected_list (calls, &filter);
    g_autoptr (GError) error = NULL;
    g_autoptr (GPtrArray) listed = NULL;
    guint total = 0;
    guint self_calls = 0;

    listed = rc_store_list_calls (store, &filter, 1, 100000, &total, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (total, ==, expected->len);
    g_assert_cmpuint (listed->len, ==, expected->len);
    for (guint i = 0; i < listed->len; i++) {
      RcCall *call = g_ptr_array_index (listed, i);

      if (g_strcmp0 (call->from, call->to) == 0)
        self_calls++;
    }
    g_assert_cmpuint (self_calls, >, 0);
  }
}

static void
test_list_pages (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (RcStore) store = open_store (fixture->path);
  g_autoptr (GPtrArray) calls = make_list_calls (45, MINUTE);
  const RcCallFilter all = { 0 };
  const guint per_pages[] = { 1, 7, 10, 15, 44, 45, 46, 100 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) listed = NULL;
  guint total = G_MAXUINT;

  /* Empty database. */
  listed = rc_store_list_calls (store, NULL, 1, 20, &total, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (listed->len, ==, 0);
  g_assert_cmpuint (total, ==, 0);
  g_clear_pointer (&listed, g_ptr_array_unref);

  save_all (store, calls);
  for (guint i = 0; i < G_N_ELEMENTS (per_pages); i++)
    check_list (store, calls, &all, per_pages[i]);

  /* Far past the end: no overflow, empty, total still right. */
  listed = rc_store_list_calls (store, NULL, G_MAXUINT, 100, &total, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (listed->len, ==, 0);
  g_assert_cmpuint (total, ==, 45);
  g_clear_pointer (&listed, g_ptr_array_unref);

  /* The last single-item page is the oldest call. */
  listed = rc_store_list_calls (store, NULL, 45, 1, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (listed->len, ==, 1);
  g_assert_cmpint (((RcCall *)g_ptr_array_index (listed, 0))->created_at, ==, LIST_BASE_TIME);
}

/* Deep pages are positioned on their day through call_days: every page of every day-aligned
 * filter, over calls spread across 208 days, matches the model, across day boundaries. */
static void
test_list_deep_pages (Fixture *fixture, gconstpointer user_data)
{
  const gint64 day = 24 * 60 * MINUTE;
  g_autoptr (RcStore) store = open_store (fixture->path);
  g_autoptr (GPtrArray) calls = make_list_calls (N_LIST_CALLS, 5 * 60 * MINUTE);
  RcCallFilter filters[] = {
    { 0 },
    { .has_status = TRUE, .status = RC_CALL_STATUS_MISSED },
    { .has_direction = TRUE, .direction = RC_CALL_DIRECTION_INBOUND },
    { .has_status = TRUE,
      .status = RC_CALL_STATUS_ENDED,
      .has_direction = TRUE,
      .direction = RC_CALL_DIRECTION_OUTBOUND },
    { .from_time = LIST_BASE_TIME + 20 * day, .to_time = LIST_BASE_TIME + 150 * day },
    { .has_direction = TRUE,
      .direction = RC_CALL_DIRECTION_OUTBOUND,
      .from_time = LIST_BASE_TIME + 3 * day },
    { .has_status = TRUE, .status = RC_CALL_STATUS_FAILED, .to_time = LIST_BASE_TIME + 100 * day },
  };

  save_all (store, calls);
  for (guint i = 0; i < G_N_ELEMENTS (filters); i++) {
    g_test_message ("filter %u", i);
    check_list (store, calls, &filters[i], 7);
    check_list (store, calls, &filters[i], 100);
  }

  /* Status changes move calls between the kept day counts. */
  for (guint i = 0; i < calls->len; i += 5) {
    RcCall *call = g_ptr_array_index (calls, i);
    g_autoptr (GError) error = NULL;

    call->status = RC_CALL_STATUS_MISSED;
    g_assert_true (rc_store_save_call (store, call, &error));
    g_assert_no_error (error);
  }
  check_list (store, calls, &filters[1], 9);
  check_list (store, calls, &filters[3], 9);
}

/* A WAL past RC_STORE_CHECKPOINT_PAGES is checkpointed by a worker thread: the pages reach the
 * database file while the store's own commits never run a checkpoint themselves. */
static void
test_checkpoint (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (RcStore) store = open_store (fixture->path);
  g_autofree char *wal = g_strconcat (fixture->path, "-wal", NULL);
  gint64 deadline;
  GStatBuf before;
  GStatBuf after = { 0 };

  g_assert_cmpint (g_stat (fixture->path, &before), ==, 0);
  /* One commit per call: several WAL pages each, well over 1,000 pages in all. */
  for (guint i = 0; i < 600; i++) {
    g_autofree char *call_id = g_strdup_printf ("00000000-0000-4000-8000-%012u", i);
    g_autoptr (RcCall) call = make_call (call_id, LIST_BASE_TIME + i);
    g_autoptr (GError) error = NULL;

    g_assert_true (rc_store_save_call (store, call, &error));
    g_assert_no_error (error);
  }
  deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline) {
    g_main_context_iteration (NULL, FALSE);
    g_assert_cmpint (g_stat (fixture->path, &after), ==, 0);
    if (after.st_size > before.st_size)
      break;
    g_usleep (10000); /* polling a file size: nothing to wait on */
  }
  g_test_message ("database %ld → %ld bytes", (long)before.st_size, (long)after.st_size);
  g_assert_cmpint (after.st_size, >, before.st_size);
  g_assert_true (g_file_test (wal, G_FILE_TEST_EXISTS));
}

static void
test_open_calls (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (RcStore) store = open_store (fixture->path);
  g_autoptr (GPtrArray) open = NULL;
  g_autoptr (GError) error = NULL;

  for (RcCallStatus status = RC_CALL_STATUS_INITIATING; status <= RC_CALL_STATUS_FAILED; status++) {
    g_autofree char *call_id = g_strdup_printf ("%08x-0000-4000-8000-000000000000", 7 - status);
    g_autoptr (RcCall) call = make_call (call_id, LIST_BASE_TIME + status * MINUTE);

    call->status = status;
    g_assert_true (rc_store_save_call (store, call, &error));
    g_assert_no_error (error);
  }

  open = rc_store_list_open_calls (store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (open->len, ==, 3);
  g_assert_cmpint (((RcCall *)g_ptr_array_index (open, 0))->status, ==, RC_CALL_STATUS_INITIATING);
  g_assert_cmpint (((RcCall *)g_ptr_array_index (open, 1))->status, ==, RC_CALL_STATUS_RINGING);
  g_assert_cmpint (((RcCall *)g_ptr_array_index (open, 2))->status, ==, RC_CALL_STATUS_CONNECTED);
}

static void
test_counts (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (RcStore) store = open_store (fixture->path);
  g_autoptr (GPtrArray) calls = make_list_calls (500, MINUTE);
  g_autoptr (GError) error = NULL;
  guint expected[7] = { 0 };
  guint counts[7];

  /* Empty: all zero (the array is fully written). */
  memset (counts, 0xff, sizeof counts);
  g_assert_true (rc_store_count_calls (store, counts, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (counts); i++)
    g_assert_cmpuint (counts[i], ==, 0);

  save_all (store, calls);
  for (guint i = 0; i < calls->len; i++)
    expected[((RcCall *)g_ptr_array_index (calls, i))->status]++;
  g_assert_true (rc_store_count_calls (store, counts, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (counts); i++)
    g_assert_cmpuint (counts[i], ==, expected[i]);

  /* Status changes through the upsert move calls between counts; other updates do not. */
  for (guint i = 0; i < calls->len; i += 3) {
    RcCall *call = g_ptr_array_index (calls, i);

    expected[call->status]--;
    call->status = (call->status + 1) % (RC_CALL_STATUS_FAILED + 1);
    expected[call->status]++;
    g_assert_true (rc_store_save_call (store, call, &error));
    g_assert_no_error (error);
    call->slot = 2;
    g_assert_true (rc_store_save_call (store, call, &error));
    g_assert_no_error (error);
  }
  g_assert_true (rc_store_count_calls (store, counts, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (counts); i++)
    g_assert_cmpuint (counts[i], ==, expected[i]);

  /* A rolled back change leaves the counts alone. */
  {
    RcCall *call = g_ptr_array_index (calls, 1);
    RcCallStatus saved_status = call->status;

    g_assert_true (rc_store_begin (store, &error));
    g_assert_no_error (error);
    call->status = (call->status + 1) % (RC_CALL_STATUS_FAILED + 1);
    g_assert_true (rc_store_save_call (store, call, &error));
    g_assert_no_error (error);
    rc_store_rollback (store);
    call->status = saved_status;
  }
  g_assert_true (rc_store_count_calls (store, counts, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (counts); i++)
    g_assert_cmpuint (counts[i], ==, expected[i]);
}

/* --- API keys ------------------------------------------------------------------------------- */

static void
assert_key_format (const char *key)
{
  g_assert_nonnull (key);
  g_assert_true (g_str_has_prefix (key, "ak_"));
  g_assert_cmpuint (strlen (key), ==, 3 + 40);
  for (const char *c = key + 3; *c != '\0'; c++)
    g_assert_true (g_ascii_isdigit (*c) || (*c >= 'a' && *c <= 'f'));
}

static RcApiKey *
find_listed_key (GPtrArray *keys, gint64 id)
{
  for (guint i = 0; i < keys->len; i++) {
    RcApiKey *key = g_ptr_array_index (keys, i);

    if (key->id == id)
      return key;
  }
  g_assert_not_reached ();
}

static void
test_keys (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (RcStore) store = open_store (fixture->path);
  g_autoptr (GPtrArray) keys = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *key = NULL;
  g_autofree char *other = NULL;
  g_autofree char *wrong = NULL;
  gint64 key_id = 0;
  gint64 other_id = 0;
  gint64 checked_id = 0;
  gint64 first_use;
  RcApiKey *listed;

  key = rc_store_create_key (store, "ci", &key_id, &error);
  g_assert_no_error (error);
  assert_key_format (key);
  other = rc_store_create_key (store, "ops", &other_id, &error);
  g_assert_no_error (error);
  assert_key_format (other);
  g_assert_cmpstr (key, !=, other);
  g_assert_cmpint (key_id, !=, other_id);

  g_assert_true (rc_store_check_key (store, key, &checked_id, &error));
  g_assert_no_error (error);
  g_assert_cmpint (checked_id, ==, key_id);
  g_assert_true (rc_store_check_key (store, other, &checked_id, &error));
  g_assert_no_error (error);
  g_assert_cmpint (checked_id, ==, other_id);

  /* Unknown keys: one character off, truncated, empty. No error. */
  wrong = g_strdup (key);
  wrong[strlen (wrong) - 1] = wrong[strlen (wrong) - 1] == '0' ? '1' : '0';
  g_assert_false (rc_store_check_key (store, wrong, NULL, &error));
  g_assert_no_error (error);
  wrong[20] = '\0';
  g_assert_false (rc_store_check_key (store, wrong, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (rc_store_check_key (store, "", NULL, &error));
  g_assert_no_error (error);

  /* The listing shows the prefix and the use, never the key. */
  keys = rc_store_list_keys (store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (keys->len, ==, 2);
  listed = find_listed_key (keys, key_id);
  g_assert_cmpstr (listed->name, ==, "ci");
  g_assert_cmpuint (strlen (listed->prefix), ==, 8);
  g_assert_true (g_str_has_prefix (key, listed->prefix));
  g_assert_cmpint (listed->created_at, >, 0);
  g_assert_cmpint (listed->revoked_at, ==, 0);
  g_assert_cmpint (listed->last_used_at, >, 0);
  first_use = listed->last_used_at;
  g_clear_pointer (&keys, g_ptr_array_unref);

  /* A second use within the minute does not write. */
  g_assert_true (rc_store_check_key (store, key, NULL, &error));
  g_assert_no_error (error);
  keys = rc_store_list_keys (store, &error);
  g_assert_no_error (error);
  g_assert_cmpint (find_listed_key (keys, key_id)->last_used_at, ==, first_use);
  g_clear_pointer (&keys, g_ptr_array_unref);

  /* Revoking takes effect at once and only for that key; twice is fine. */
  g_assert_true (rc_store_revoke_key (store, key_id, &error));
  g_assert_no_error (error);
  g_assert_false (rc_store_check_key (store, key, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (rc_store_check_key (store, other, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (rc_store_revoke_key (store, key_id, &error));
  g_assert_no_error (error);

  g_assert_false (rc_store_revoke_key (store, 9999, &error));
  g_assert_error (error, RC_ERROR, RC_ERROR_NOT_FOUND);
  g_clear_error (&error);

  keys = rc_store_list_keys (store, &error);
  g_assert_no_error (error);
  g_assert_cmpint (find_listed_key (keys, key_id)->revoked_at, >, 0);
  g_assert_cmpint (find_listed_key (keys, other_id)->revoked_at, ==, 0);
}

static gboolean
file_contains (const char *path, const char *text)
{
  g_autoptr (GBytes) bytes = NULL;
  gsize size = 0;
  gsize length;
  gconstpointer data;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return FALSE;
  bytes = read_file (path);
  data = g_bytes_get_data (bytes, &size);
  length = strlen (text);
  /* memmem () would need _GNU_SOURCE; a plain scan is enough here. */
  for (gsize i = 0; data != NULL && i + length <= size; i++) {
    if (memcmp ((const char *)data + i, text, length) == 0)
      return TRUE;
  }
  return FALSE;
}

static void
test_key_not_stored (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (RcStore) store = open_store (fixture->path);
  g_autoptr (GError) error = NULL;
  g_autofree char *key = NULL;
  g_autofree char *prefix = NULL;
  g_autofree char *wal = g_strconcat (fixture->path, "-wal", NULL);

  key = rc_store_create_key (store, "secret-holder", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (rc_store_check_key (store, key, NULL, &error));
  g_assert_no_error (error);
  prefix = g_strndup (key, 8);

  /* While open (the row may still be in the WAL) and after closing (checkpointed). */
  g_assert_false (file_contains (fixture->path, key));
  g_assert_false (file_contains (fixture->path, key + 3));
  g_assert_false (file_contains (wal, key));
  g_assert_false (file_contains (wal, key + 3));
  g_clear_object (&store);
  g_assert_false (file_contains (fixture->path, key));
  g_assert_false (file_contains (fixture->path, key + 3));
  /* The reading works: the display prefix is there. */
  g_assert_true (file_contains (fixture->path, prefix));
}

/* --- idempotency ---------------------------------------------------------------------------- */

static void
test_idempotency (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (RcStore) store = open_store (fixture->path);
  g_autoptr (GError) error = NULL;
  g_autofree char *digest = NULL;
  g_autofree char *body = NULL;
  guint status = 0;
  gint64 before_put = g_get_real_time ();

  g_assert_false (rc_store_get_idempotent (store, 1, "k1", &digest, &status, &body, &error));
  g_assert_no_error (error);
  g_assert_null (digest);

  g_assert_true (rc_store_put_idempotent (store, 1, "k1", "sha256:aaaa", 202, "{\"a\":1}", &error));
  g_assert_no_error (error);
  g_assert_true (rc_store_get_idempotent (store, 1, "k1", &digest, &status, &body, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (digest, ==, "sha256:aaaa");
  g_assert_cmpuint (status, ==, 202);
  g_assert_cmpstr (body, ==, "{\"a\":1}");
  g_clear_pointer (&digest, g_free);
  g_clear_pointer (&body, g_free);

  /* Scoped to the API key and to the idempotency key. */
  g_assert_false (rc_store_get_idempotent (store, 2, "k1", NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (rc_store_get_idempotent (store, 1, "k2", NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (rc_store_put_idempotent (store, 2, "k1", "sha256:bbbb", 400, "{}", &error));
  g_assert_no_error (error);

  /* Expiry: an older cut-off keeps both, a later one removes both. */
  g_assert_true (rc_store_expire_idempotent (store, before_put - 1, &error));
  g_assert_no_error (error);
  g_assert_true (rc_store_get_idempotent (store, 1, "k1", NULL, &status, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (rc_store_get_idempotent (store, 2, "k1", NULL, &status, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (status, ==, 400);

  g_assert_true (rc_store_expire_idempotent (store, g_get_real_time () + 1, &error));
  g_assert_no_error (error);
  g_assert_false (rc_store_get_idempotent (store, 1, "k1", NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (rc_store_get_idempotent (store, 2, "k1", NULL, NULL, NULL, &error));
  g_assert_no_error (error);
}

/* --- webhooks and the outbox (schema 2) ------------------------------------------------------ */

/* A database at @version, built with the migrations that shipped, holding one finished call
 * with two events (as schema 1 and 2 stored them: a random id and a JSON copy each). */
static void
make_old_database (const char *path, guint version)
{
  sqlite3 *db = open_raw (path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  g_autofree char *bump = g_strdup_printf ("PRAGMA user_version = %u", version);

  for (guint i = 0; i < version; i++)
    g_assert_cmpint (sqlite3_exec (db, rc_store_migration_sql (i), NULL, NULL, NULL), ==,
                     SQLITE_OK);
  g_assert_cmpint (
      sqlite3_exec (
          db,
          "INSERT INTO calls (call_id, direction, from_number, to_number, status, end_reason, "
          "  line, initiated_at, ringing_at, ended_at, created_at, last_sequence) VALUES "
          "  ('c-migrate', 'outbound', '+4915100000001', '+4930123456', 'missed', "
          "   'remote_hangup', '+4915100000001', 1000, 2000, 3000, 1000, 2), "
          "  ('c-tie', 'inbound', '+4930123456', '+4915100000001', 'ended', 'remote_hangup', "
          "   '+4915100000001', 1000, 1000, 4000, 1000, 0);"
          "INSERT INTO events (event_id, call_id, sequence, type, created_at, data) VALUES "
          "  ('evt_0000000000000000000000old1', 'c-migrate', 1, 'call.initiating', 1000, '{}'), "
          "  ('evt_0000000000000000000000old2', 'c-migrate', 2, 'call.missed', 3000, '{}');",
          NULL, NULL, NULL),
      ==, SQLITE_OK);
  if (version >= 2)
    g_assert_cmpint (
        sqlite3_exec (db,
                      "INSERT INTO webhooks (webhook_id, url, events, secret, created_at, "
                      "  updated_at) VALUES ('wh_old', 'http://127.0.0.1:9/', 'call.*', "
                      "  'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 1, 1);"
                      "INSERT INTO deliveries (delivery_id, webhook, event_id, event_type, "
                      "  call_id, sequence, next_attempt_at, created_at, updated_at) VALUES "
                      "  ('dlv_old', 1, 'evt_0000000000000000000000old2', 'call.missed', "
                      "   'c-migrate', 2, 3000, 3000, 3000);",
                      NULL, NULL, NULL),
        ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, bump, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
}

/* Every shipped schema migrates to the current one and keeps calls, events (with their ids;
 * the payload is rebuilt from the row), the outbox and the kept counts. */
static void
test_migrate (Fixture *fixture, gconstpointer user_data)
{
  guint version = GPOINTER_TO_UINT (user_data);
  g_autoptr (GError) error = NULL;
  g_autoptr (RcStore) store = NULL;
  g_autoptr (RcCall) back = NULL;
  g_autoptr (GPtrArray) events = NULL;
  g_autoptr (GPtrArray) listed = NULL;
  const RcCallFilter missed = { .has_status = TRUE,
                                .status = RC_CALL_STATUS_MISSED,
                                .has_direction = TRUE,
                                .direction = RC_CALL_DIRECTION_OUTBOUND };
  guint total = 0;
  sqlite3 *db;

  make_old_database (fixture->path, version);
  store = open_store (fixture->path);
  g_assert_cmpint (rc_store_get_schema_version (store), ==, RC_STORE_SCHEMA_VERSION);
  back = rc_store_get_call (store, "c-migrate", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back->line, ==, "+4915100000001");
  g_assert_cmpuint (back->last_sequence, ==, 2);

  events = rc_store_list_events (store, "c-migrate", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (events->len, ==, 2);
  g_assert_cmpstr (((RcEvent *)events->pdata[0])->event_id, ==, "evt_0000000000000000000000old1");
  g_assert_cmpstr (((RcEvent *)events->pdata[1])->type, ==, "call.missed");
  g_assert_cmpint (((RcEvent *)events->pdata[1])->created_at, ==, 3000);
  g_assert_nonnull (strstr (((RcEvent *)events->pdata[0])->data, "\"status\":\"initiating\""));
  g_assert_nonnull (strstr (((RcEvent *)events->pdata[0])->data, "\"ended_at\":null"));
  g_assert_nonnull (strstr (((RcEvent *)events->pdata[1])->data, "\"status\":\"missed\""));
  g_assert_cmpuint (rc_store_count_events (store, &error), ==, 2);

  listed = rc_store_list_calls (store, &missed, 1, 20, &total, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (total, ==, 1);
  g_clear_pointer (&listed, g_ptr_array_unref);
  /* Equal created_at from before schema 3: the later row first. */
  listed = rc_store_list_calls (store, NULL, 1, 20, &total, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (total, ==, 2);
  g_assert_cmpstr (((RcCall *)listed->pdata[0])->call_id, ==, "c-tie");
  g_assert_nonnull (rc_store_list_webhooks (store, &error));

  if (version >= 2) {
    g_autoptr (GPtrArray) due = rc_store_list_due_deliveries (store, G_MAXINT64, 10, &error);
    g_autoptr (RcEvent) event = NULL;

    g_assert_no_error (error);
    g_assert_cmpuint (due->len, ==, 1);
    event = rc_store_get_delivery_event (store, due->pdata[0], &error);
    g_assert_no_error (error);
    g_assert_cmpstr (event->event_id, ==, "evt_0000000000000000000000old2");
    g_assert_nonnull (strstr (event->data, "\"end_reason\":\"remote_hangup\""));
  }

  /* New calls never tie with the newest stored one. */
  g_assert_cmpint (rc_store_claim_created_at (store, 5), ==, 1001);
  db = open_raw (fixture->path, SQLITE_OPEN_READONLY);
  g_assert_cmpint (query_int (db, "SELECT count (*) FROM calls WHERE line IS NOT NULL"), ==, 0);
  g_assert_cmpint (query_int (db, "SELECT sum (count) FROM call_days"), ==, 2);
  sqlite3_close (db);
}

static RcWebhook *
add_webhook (RcStore *store, const char *url, const char *const *events)
{
  g_autoptr (GError) error = NULL;
  RcWebhook *webhook = rc_store_create_webhook (store, url, events, "test", &error);

  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (webhook->webhook_id, "wh_"));
  g_assert_true (g_str_has_prefix (webhook->secret, "whsec_"));
  g_assert_true (webhook->enabled);
  return webhook;
}

static void
append (RcStore *store, RcCall *call, const char *type)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (rc_store_append_event (store, call, type, 2000, NULL, &error));
  g_assert_no_error (error);
}

static guint
count_due (RcStore *store, const char *webhook_id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) due = rc_store_list_due_deliveries (store, G_MAXINT64, 1000, &error);
  guint count = 0;

  g_assert_no_error (error);
  for (guint i = 0; i < due->len; i++)
    count += g_str_equal (((RcDelivery *)g_ptr_array_index (due, i))->webhook_id, webhook_id);
  return count;
}

static void
test_outbox (Fixture *fixture, gconstpointer user_data)
{
  const char *const all[] = { "call.*", NULL };
  const char *const missed_only[] = { "call.missed", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (RcStore) store = open_store (fixture->path);
  g_autoptr (RcWebhook) every = add_webhook (store, "http://127.0.0.1:1/a", all);
  g_autoptr (RcWebhook) missed = add_webhook (store, "http://127.0.0.1:1/b", missed_only);
  g_autoptr (RcWebhook) off = add_webhook (store, "http://127.0.0.1:1/c", all);
  g_autoptr (RcCall) call = make_call ("c-outbox", 1000);
  g_autoptr (GPtrArray) due = NULL;
  guint64 counts[3];

  off->enabled = FALSE;
  g_assert_true (rc_store_update_webhook (store, off, &error));
  g_assert_true (rc_store_save_call (store, call, &error));
  append (store, call, "call.initiating");
  append (store, call, "call.ringing");
  append (store, call, "call.missed");

  g_assert_true (rc_store_count_deliveries (store, counts, &error));
  g_assert_cmpuint (counts[RC_DELIVERY_PENDING], ==, 4); /* 3 for "every", 1 for "missed" */
  /* In order per (webhook, call): only the lowest pending sequence is due. */
  due = rc_store_list_due_deliveries (store, G_MAXINT64, 100, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (due->len, ==, 2);
  for (guint i = 0; i < due->len; i++) {
    RcDelivery *delivery = g_ptr_array_index (due, i);

    if (g_str_equal (delivery->webhook_id, every->webhook_id))
      g_assert_cmpuint (delivery->sequence, ==, 1);
    else
      g_assert_cmpstr (delivery->event_type, ==, "call.missed");
  }
  g_assert_cmpuint (count_due (store, off->webhook_id), ==, 0);

  /* Delivering sequence 1 makes sequence 2 due. */
  for (guint i = 0; i < due->len; i++) {
    RcDelivery *delivery = g_ptr_array_index (due, i);
    RcAttempt attempt = { 3000, 200, NULL, 1500 };
    g_autoptr (RcEvent) event = rc_store_get_delivery_event (store, delivery, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (event->event_id, ==, delivery->event_id);
    delivery->status = RC_DELIVERY_DELIVERED;
    delivery->attempts = 1;
    delivery->updated_at = 3000;
    g_assert_true (rc_store_record_attempt (store, delivery, &attempt, &error));
  }
  g_clear_pointer (&due, g_ptr_array_unref);
  due = rc_store_list_due_deliveries (store, G_MAXINT64, 100, &error);
  g_assert_cmpuint (due->len, ==, 1);
  g_assert_cmpuint (((RcDelivery *)g_ptr_array_index (due, 0))->sequence, ==, 2);
  {
    RcDelivery *first = NULL;
    g_autoptr (GPtrArray) listed = NULL;
    g_autoptr (GPtrArray) attempts = NULL;
    g_autoptr (RcDelivery) again = NULL;
    guint total = 0;

    listed = rc_store_list_deliveries (store, every->webhook_id, TRUE, RC_DELIVERY_DELIVERED, 1, 20,
                                       &total, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (total, ==, 1);
    first = g_ptr_array_index (listed, 0);
    attempts = rc_store_list_attempts (store, first->id, &error);
    g_assert_cmpuint (attempts->len, ==, 1);
    g_assert_cmpuint (((RcAttempt *)g_ptr_array_index (attempts, 0))->http_status, ==, 200);

    /* Redelivery: pending again, due now, same event id; the log is kept. */
    again = rc_store_redeliver (store, every->webhook_id, first->delivery_id, 5000, &error);
    g_assert_no_error (error);
    g_assert_cmpint (again->status, ==, RC_DELIVERY_PENDING);
    g_assert_cmpuint (again->attempts, ==, 0);
    g_assert_cmpstr (again->event_id, ==, first->event_id);
  }

  /* A rolled-back event leaves no delivery behind. */
  g_assert_true (rc_store_begin (store, &error));
  append (store, call, "call.failed");
  rc_store_rollback (store);
  g_assert_true (rc_store_count_deliveries (store, counts, &error));
  g_assert_cmpuint (counts[RC_DELIVERY_PENDING] + counts[RC_DELIVERY_DELIVERED], ==, 4);

  /* Deleting a webhook takes its deliveries with it. */
  g_assert_true (rc_store_delete_webhook (store, every->webhook_id, &error));
  g_assert_false (rc_store_delete_webhook (store, every->webhook_id, &error));
  g_assert_error (error, RC_ERROR, RC_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_true (rc_store_count_deliveries (store, counts, &error));
  g_assert_cmpuint (counts[RC_DELIVERY_PENDING] + counts[RC_DELIVERY_DELIVERED], ==, 1);
}

static void
test_test_delivery (Fixture *fixture, gconstpointer user_data)
{
  const char *const all[] = { "call.*", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (RcStore) store = open_store (fixture->path);
  g_autoptr (RcWebhook) webhook = add_webhook (store, "https://example.com/hook", all);
  g_autoptr (RcDelivery) delivery
      = rc_store_add_test_delivery (store, webhook->webhook_id, 7000, &error);
  g_autoptr (RcEvent) event = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (delivery->event_type, ==, "webhook.test");
  g_assert_null (delivery->call_id);
  event = rc_store_get_delivery_event (store, delivery, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (event->type, ==, "webhook.test");
  g_assert_nonnull (strstr (event->data, webhook->webhook_id));
  g_assert_cmpuint (count_due (store, webhook->webhook_id), ==, 1);
  g_assert_null (rc_store_add_test_delivery (store, "wh_nope", 7000, &error));
  g_assert_error (error, RC_ERROR, RC_ERROR_NOT_FOUND);
}

int
main (int argc, char *argv[])
{
  /* No G_TEST_OPTION_ISOLATE_DIRS: these tests use only their own g_dir_make_tmp () directories,
   * and GLib 2.74 leaks the per-test XDG paths it sets, which fails the ASan (LeakSanitizer) run.
   */
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func)                                                                            \
  g_test_add ("/rc/store/" name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("create", test_create);
  ADD ("reopen", test_reopen);
  ADD ("newer-version", test_newer_version);
  ADD ("not-a-database", test_not_a_database);
  ADD ("unopenable", test_unopenable);
  ADD ("call-round-trip", test_call_round_trip);
  ADD ("upsert", test_upsert);
  ADD ("not-found", test_not_found);
  ADD ("events", test_events);
  ADD ("rollback", test_rollback);
  ADD ("list-filters", test_list_filters);
  ADD ("list-pages", test_list_pages);
  ADD ("list-deep-pages", test_list_deep_pages);
  ADD ("checkpoint", test_checkpoint);
  ADD ("open-calls", test_open_calls);
  ADD ("counts", test_counts);
  ADD ("keys", test_keys);
  ADD ("key-not-stored", test_key_not_stored);
  ADD ("idempotency", test_idempotency);
  g_test_add ("/rc/store/migrate-from-1", Fixture, GUINT_TO_POINTER (1), fixture_setup,
              test_migrate, fixture_teardown);
  g_test_add ("/rc/store/migrate-from-2", Fixture, GUINT_TO_POINTER (2), fixture_setup,
              test_migrate, fixture_teardown);
  ADD ("outbox", test_outbox);
  ADD ("test-delivery", test_test_delivery);
#undef ADD

  return g_test_run ();
}
