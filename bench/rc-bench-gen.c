/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rc-bench-gen: fills a reachcelld database for the benchmarks, through the daemon's own store
 * code (librc.a: rc_store_save_call, rc_store_append_event), so the schema, the indexes, the
 * call_counts and call_days triggers and the outbox rows are exactly what the daemon writes.
 *
 *   rc-bench-gen calls DB N        N terminal calls spread over the 365 days before today, each
 *                                  with the events a real call of its outcome gets (2-4), in
 *                                  transactions of 50,000 calls. Prints "call_id=<id of a call>".
 *   rc-bench-gen outbox DB N       N calls created now with 4 events each (initiating, ringing,
 *                                  connected, ended): with a webhook registered, 4 N pending
 *                                  deliveries, as after a receiver outage.
 */

#include "rc-call.h"
#include "rc-json.h"
#include "rc-store.h"
#include "rc-store-private.h"

#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 50000
#define DAY (24 * G_TIME_SPAN_HOUR)

static const char *lines[] = { "+4915790000001", "+4915790000002" };
static const char *modems[] = { "358240051111110", "358240051111128" };

typedef struct {
  RcCallStatus status;
  gint64 at; /* offset from created_at */
} Stage;

static void
die (const char *what, GError *error)
{
  fprintf (stderr, "rc-bench-gen: %s: %s\n", what, error ? error->message : "failed");
  exit (1);
}

/* Bulk path for "calls": the same rows the daemon writes (final call row, one event per stage
 * with the call as it was then, evt_ ids of the same shape), through statements prepared once.
 * rc_store_append_event () per event costs a savepoint, an outbox query and two upserts: 5x
 * slower, and with no webhook registered it writes nothing more. */
static sqlite3_stmt *insert_call;
static sqlite3_stmt *insert_event;
static char last_call_id[64];

#define CALL_COLUMNS                                                                               \
  "call_id, direction, from_number, to_number, status, end_reason, client_reference, modem, "      \
  "slot, line, mm_path, timeout_seconds, initiated_at, ringing_at, connected_at, ended_at, "       \
  "created_at, cost_micro_usd, last_sequence, local_hangup"

static void
prepare_bulk (sqlite3 *db)
{
  if (sqlite3_prepare_v2 (db,
                          "INSERT INTO calls (" CALL_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                          "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
                          -1, &insert_call, NULL) != SQLITE_OK
      || sqlite3_prepare_v2 (db,
                             "INSERT INTO events (call, sequence, type, offset_us) VALUES (?1, ?2, "
                             "?3, ?4)",
                             -1, &insert_event, NULL) != SQLITE_OK) {
    fprintf (stderr, "rc-bench-gen: prepare: %s\n", sqlite3_errmsg (db));
    exit (1);
  }
}

static void
bind_time (sqlite3_stmt *s, int i, gint64 t)
{
  if (t == 0)
    sqlite3_bind_null (s, i);
  else
    sqlite3_bind_int64 (s, i, t);
}

static void
step (sqlite3_stmt *s)
{
  if (sqlite3_step (s) != SQLITE_DONE) {
    fprintf (stderr, "rc-bench-gen: insert: %s\n", sqlite3_errmsg (sqlite3_db_handle (s)));
    exit (1);
  }
  sqlite3_reset (s);
}

static void
bulk_call (RcCall *call, const Stage *stages, guint n_stages)
{
  gint64 row;

  /* events.call_id references calls: the call row first, in its final state. */
  g_strlcpy (last_call_id, call->call_id, sizeof last_call_id);
  call->last_sequence = n_stages;

  sqlite3_bind_text (insert_call, 1, call->call_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (insert_call, 2, rc_call_direction_to_string (call->direction), -1, SQLITE_STATIC);
  sqlite3_bind_text (insert_call, 3, call->from, -1, SQLITE_STATIC);
  sqlite3_bind_text (insert_call, 4, call->to, -1, SQLITE_STATIC);
  sqlite3_bind_text (insert_call, 5, rc_call_status_to_string (call->status), -1, SQLITE_STATIC);
  sqlite3_bind_text (insert_call, 6, rc_end_reason_to_string (call->end_reason), -1, SQLITE_STATIC);
  sqlite3_bind_text (insert_call, 7, call->client_reference, -1, SQLITE_STATIC);
  sqlite3_bind_text (insert_call, 8, call->modem, -1, SQLITE_STATIC);
  sqlite3_bind_int (insert_call, 9, call->slot);
  /* As rc_store_save_call (): line is stored only when it is not the call's own side. */
  if (g_strcmp0 (call->line, call->direction == RC_CALL_DIRECTION_OUTBOUND ? call->from : call->to) != 0)
    sqlite3_bind_text (insert_call, 10, call->line, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null (insert_call, 10);
  sqlite3_bind_null (insert_call, 11);
  sqlite3_bind_int (insert_call, 12, call->timeout_seconds);
  /* As rc_store_save_call (): initiated_at is stored only when it is not created_at. */
  if (call->initiated_at != call->created_at)
    sqlite3_bind_int64 (insert_call, 13, call->initiated_at);
  else
    sqlite3_bind_null (insert_call, 13);
  bind_time (insert_call, 14, call->ringing_at);
  bind_time (insert_call, 15, call->connected_at);
  bind_time (insert_call, 16, call->ended_at);
  sqlite3_bind_int64 (insert_call, 17, call->created_at);
  sqlite3_bind_null (insert_call, 18);
  sqlite3_bind_int64 (insert_call, 19, call->last_sequence);
  sqlite3_bind_int (insert_call, 20, call->local_hangup ? 1 : 0);
  step (insert_call);
  row = sqlite3_last_insert_rowid (sqlite3_db_handle (insert_call));
  /* As rc_store_append_event (): no payload copy, the time as an offset from created_at. */
  for (guint i = 0; i < n_stages; i++) {
    sqlite3_bind_int64 (insert_event, 1, row);
    sqlite3_bind_int64 (insert_event, 2, i + 1);
    sqlite3_bind_int (insert_event, 3, (int)stages[i].status);
    sqlite3_bind_int64 (insert_event, 4, stages[i].at);
    step (insert_event);
  }
}

/* Stores @call in its final state with one event per stage, each carrying the call as it was. */
static void
store_call (RcStore *store, RcCall *call, const Stage *stages, guint n_stages, RcEndReason reason)
{
  g_autoptr (GError) error = NULL;
  RcCall *snapshot = rc_call_copy (call);

  snapshot->status = stages[0].status;
  snapshot->end_reason = RC_END_REASON_NONE;
  snapshot->ringing_at = snapshot->connected_at = snapshot->ended_at = 0;
  if (!rc_store_save_call (store, snapshot, &error))
    die ("saving a call", error);
  for (guint i = 0; i < n_stages; i++) {
    gint64 at = call->created_at + stages[i].at;
    g_autofree char *type = NULL;

    snapshot->status = stages[i].status;
    if (stages[i].status == RC_CALL_STATUS_RINGING)
      snapshot->ringing_at = at;
    else if (stages[i].status == RC_CALL_STATUS_CONNECTED)
      snapshot->connected_at = at;
    if (i == n_stages - 1 && stages[i].status >= RC_CALL_STATUS_ENDED) {
      snapshot->ended_at = at;
      snapshot->end_reason = reason;
    }
    type = g_strconcat ("call.", rc_call_status_to_string (stages[i].status), NULL);
    if (!rc_store_append_event (store, snapshot, type, at, NULL, &error))
      die ("appending an event", error);
  }
  call->last_sequence = snapshot->last_sequence;
  if (!rc_store_save_call (store, call, &error))
    die ("saving a call", error);
  rc_call_free (snapshot);
}

static RcCall *
new_call (GRand *rand, gint64 created_at, gboolean outbound)
{
  RcCall *call = rc_call_new ();
  guint line = g_rand_int_range (rand, 0, 2);
  g_autofree char *remote = g_strdup_printf ("+49151%08u", g_rand_int_range (rand, 0, 50000) * 1987u);

  call->call_id = g_uuid_string_random ();
  call->direction = outbound ? RC_CALL_DIRECTION_OUTBOUND : RC_CALL_DIRECTION_INBOUND;
  call->from = g_strdup (outbound ? lines[line] : remote);
  call->to = g_strdup (outbound ? remote : lines[line]);
  call->line = g_strdup (lines[line]);
  call->modem = g_strdup (modems[line]);
  call->slot = 1;
  call->created_at = created_at;
  call->initiated_at = created_at;
  call->cost_micro_usd = -1;
  if (outbound && g_rand_int_range (rand, 0, 10) < 3)
    call->client_reference = g_strdup_printf ("order-%06u", g_rand_int_range (rand, 0, 1000000));
  return call;
}

/* One call with a realistic outcome mix (55 % inbound). */
static void
generate_one (RcStore *store, GRand *rand, gint64 created_at)
{
  gboolean outbound = g_rand_int_range (rand, 0, 100) < 45;
  g_autoptr (RcCall) call = new_call (rand, created_at, outbound);
  guint roll = g_rand_int_range (rand, 0, 100);
  gint64 ring = g_rand_int_range (rand, 1, 8) * G_USEC_PER_SEC;
  gint64 talk = g_rand_int_range (rand, 5, 600) * G_USEC_PER_SEC;
  Stage stages[4];
  guint n = 0;
  RcEndReason reason;

  if (outbound)
    stages[n++] = (Stage){ RC_CALL_STATUS_INITIATING, 0 };
  if (outbound && roll < 5) { /* failed: the dial refused */
    stages[n++] = (Stage){ RC_CALL_STATUS_FAILED, 500000 };
    call->status = RC_CALL_STATUS_FAILED;
    reason = RC_END_REASON_ERROR;
    call->ended_at = created_at + 500000;
  } else {
    gboolean answered = roll < (outbound ? 60u : 40u);
    gboolean rejected = !answered && roll >= 88;

    stages[n++] = (Stage){ RC_CALL_STATUS_RINGING, outbound ? 2000000 : 0 };
    call->ringing_at = created_at + stages[n - 1].at;
    if (answered) {
      stages[n++] = (Stage){ RC_CALL_STATUS_CONNECTED, call->ringing_at - created_at + ring };
      call->connected_at = created_at + stages[n - 1].at;
      stages[n++] = (Stage){ RC_CALL_STATUS_ENDED, stages[n - 1].at + talk };
      call->status = RC_CALL_STATUS_ENDED;
      reason = g_rand_boolean (rand) ? RC_END_REASON_REMOTE_HANGUP : RC_END_REASON_LOCAL_HANGUP;
    } else if (rejected) {
      stages[n++] = (Stage){ RC_CALL_STATUS_REJECTED, stages[n - 1].at + ring };
      call->status = RC_CALL_STATUS_REJECTED;
      reason = outbound ? RC_END_REASON_REMOTE_HANGUP : RC_END_REASON_LOCAL_HANGUP;
    } else {
      stages[n++] = (Stage){ RC_CALL_STATUS_MISSED, stages[n - 1].at + ring };
      call->status = RC_CALL_STATUS_MISSED;
      reason = RC_END_REASON_REMOTE_HANGUP;
    }
    call->ended_at = created_at + stages[n - 1].at;
  }
  call->end_reason = reason;
  if (call->connected_at != 0 && outbound && call->slot == 1)
    call->cost_micro_usd = -1;
  bulk_call (call, stages, n);
}

static void
generate_calls (RcStore *store, guint total)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (20261204);
  g_autoptr (GError) error = NULL;
  g_autoptr (GDateTime) today = g_date_time_new_now_utc ();
  g_autoptr (GDateTime) midnight = g_date_time_new_utc (g_date_time_get_year (today),
                                                         g_date_time_get_month (today),
                                                         g_date_time_get_day_of_month (today), 0, 0, 0);
  gint64 end = g_date_time_to_unix (midnight) * G_USEC_PER_SEC; /* all calls before today */
  gint64 start = end - 365 * DAY;
  gint64 step = (end - start) / total;
  guint probe = total / 2;

  prepare_bulk (rc_store_get_db (store));

  for (guint done = 0; done < total;) {
    if (!rc_store_begin (store, &error))
      die ("begin", error);
    for (guint i = 0; i < BATCH && done < total; i++, done++) {
      gint64 created_at = start + (gint64)done * step + g_rand_int_range (rand, 0, (gint32)MIN (step, G_MAXINT32));

      generate_one (store, rand, created_at);
      if (done == probe)
        printf ("call_id=%s\n", last_call_id);
    }
    if (!rc_store_commit (store, &error))
      die ("commit", error);
    if (done % 200000 == 0)
      fprintf (stderr, "rc-bench-gen: %u calls\n", done);
  }
}

static void
generate_outbox (RcStore *store, guint total)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (4242);
  g_autoptr (GError) error = NULL;
  gint64 now = g_get_real_time ();

  for (guint done = 0; done < total;) {
    if (!rc_store_begin (store, &error))
      die ("begin", error);
    for (guint i = 0; i < BATCH && done < total; i++, done++) {
      g_autoptr (RcCall) call = new_call (rand, now + done, TRUE);
      Stage stages[] = { { RC_CALL_STATUS_INITIATING, 0 },
                         { RC_CALL_STATUS_RINGING, 1000 },
                         { RC_CALL_STATUS_CONNECTED, 2000 },
                         { RC_CALL_STATUS_ENDED, 3000 } };

      call->status = RC_CALL_STATUS_ENDED;
      call->ringing_at = now + done + 1000;
      call->connected_at = now + done + 2000;
      call->ended_at = now + done + 3000;
      call->end_reason = RC_END_REASON_REMOTE_HANGUP;
      store_call (store, call, stages, 4, RC_END_REASON_REMOTE_HANGUP);
    }
    if (!rc_store_commit (store, &error))
      die ("commit", error);
  }
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RcStore) store = NULL;
  guint n;

  if (argc != 4 || (strcmp (argv[1], "calls") != 0 && strcmp (argv[1], "outbox") != 0)) {
    fprintf (stderr, "usage: rc-bench-gen calls|outbox DB N\n");
    return 2;
  }
  n = (guint)strtoul (argv[3], NULL, 10);
  store = rc_store_new (argv[2], &error);
  if (store == NULL)
    die ("opening", error);
  /* Bulk loading only: a large page cache so index pages are not spilled mid-transaction, and no
   * fsync while generating (the daemon reopens the file with synchronous=FULL). */
  sqlite3_exec (rc_store_get_db (store),
                "PRAGMA cache_size = -524288; PRAGMA synchronous = OFF; PRAGMA journal_mode = OFF", NULL, NULL, NULL);
  if (strcmp (argv[1], "calls") == 0) {
    generate_calls (store, n);
    sqlite3_finalize (insert_call);
    sqlite3_finalize (insert_event);
  }
  else
    generate_outbox (store, n);
  sqlite3_exec (rc_store_get_db (store), "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
  return 0;
}
