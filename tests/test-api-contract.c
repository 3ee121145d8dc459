/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "test-api-contract"

#include "config.h"

#include "rc-api-client.h"
#include "rc-harness.h"
#include "rc-json.h"
#include "rc-store.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>

/*
 * The API contract of the built reachcelld, end to end, without modems: a private system bus
 * with no ModemManager on it (so the daemon sees "ModemManager is not running"), a database
 * filled through librc before the daemon starts (and a few open calls after it settled), and a
 * real libsoup client plus raw sockets for what libsoup will not send. Every response of a
 * documented route is validated against data/openapi.json (queued, checked at the end of each
 * case in one python3 run). The lifecycle case starts its own daemons.
 */

#define LINE1 "+4915100000001" /* configured by ICCID */
#define LINE2 "+4915100000002" /* configured by modem equipment id and slot 2 */
#define LINE3 "+4915100000003" /* in the call history only: not provisioned */
#define LINE4 "+4915100000004" /* added by the reload case */
#define REMOTE_DE "+4930123456"
#define REMOTE_MOBILE "+4915199999999"
#define REMOTE_US "+14155552671"
#define REMOTE_UK "+447700900123"
#define NOBODY "+4915122222222" /* in no call */
#define LINE1_ICCID "89490200001234567894"
#define MODEM_ID "356938035643809"
#define LINE1_Q "%2B4915100000001"
#define LINE2_Q "%2B4915100000002"
#define LINE3_Q "%2B4915100000003"
#define REMOTE_DE_Q "%2B4930123456"
#define REMOTE_US_Q "%2B14155552671"
#define NOBODY_Q "%2B4915122222222"

#define N_GENERATED 3000
#define N_OPEN_AFTER_START 150 /* the last 150 generated calls are open: saved once settled */
#define SEED 20260110
#define DAY G_GINT64_CONSTANT (86400000000)
#define SECOND G_GINT64_CONSTANT (1000000)
#define BASE_TIME G_GINT64_CONSTANT (1768003200000000) /* 2026-01-10T00:00:00Z */
#define N_DAYS 40

static struct {
  RcHarness *harness;
  GSubprocess *daemon;
  char *log_path;
  RcApiClient *client;
  char *database;
  char *config;
  char *key; /* key A */
  char *key_b;
  char *key_revoke;
  gint64 key_id;
  gint64 key_b_id;
  gint64 key_revoke_id;
  GPtrArray *reference;   /* RcCall: every call in the database, as the daemon should serve it */
  GHashTable *reconciled; /* call ids stored open before the start: the daemon ends them */
  char *call_ended;       /* the case-2 calls */
  char *call_withheld;
  char *call_no_sim;
  char *call_reconciled;
  char *call_connected;
  char *call_initiating;
  char *call_late_evening;
  char *replay_body; /* the stored idempotent answer (case 7) */
  guint daemon_runs;
} fx;

/* --- helpers ------------------------------------------------------------------------------- */

static gboolean
documented_path (const char *path)
{
  g_autofree char *bare = g_strndup (path, strcspn (path, "?"));
  g_auto (GStrv) parts = g_strsplit (bare, "/", -1);
  guint n = g_strv_length (parts);

  /* parts[0] is "" (the leading slash). */
  if (n < 3 || !g_str_equal (parts[0], "") || !g_str_equal (parts[1], "v1"))
    return FALSE;
  for (guint i = 1; i < n; i++)
    if (*parts[i] == '\0')
      return FALSE;
  if (n == 3)
    return g_str_equal (parts[2], "calls") || g_str_equal (parts[2], "numbers")
           || g_str_equal (parts[2], "health") || g_str_equal (parts[2], "openapi.json");
  if (n == 4)
    return g_str_equal (parts[2], "calls") || g_str_equal (parts[2], "numbers");
  if (n == 5)
    return (g_str_equal (parts[2], "calls")
            && (g_str_equal (parts[4], "hangup") || g_str_equal (parts[4], "answer")))
           || (g_str_equal (parts[2], "numbers") && g_str_equal (parts[4], "activate"));
  return FALSE;
}

/* A request; the answer of a documented route is queued for the OpenAPI check. */
static RcReply *
req_full (const char *method,
          const char *path,
          const char *key,
          const char *content_type,
          const char *body,
          gssize body_length,
          const char *const *headers)
{
  RcReply *reply = rc_api_client_request (fx.client, method, path, key, content_type, body,
                                          body_length, headers);

  if (documented_path (path))
    rc_api_client_queue_documented (fx.client, method, path, reply);
  return reply;
}

static RcReply *
get (const char *path)
{
  return req_full ("GET", path, fx.key, NULL, NULL, 0, NULL);
}

static RcReply *
post_json (const char *path, const char *body)
{
  return req_full ("POST", path, fx.key, "application/json", body, -1, NULL);
}

static void
flush_documented (void)
{
  rc_api_client_flush_documented (fx.client);
}

static char *
file_text (const char *path)
{
  char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return g_strdup ("");
  return contents;
}

typedef struct {
  const char *path;
  const char *needle;
} FileWait;

static gboolean
file_contains (gpointer user_data)
{
  FileWait *wait = user_data;
  g_autofree char *text = file_text (wait->path);

  return strstr (text, wait->needle) != NULL;
}

static void
write_file (const char *path, const char *text)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_set_contents (path, text, -1, &error));
  g_assert_no_error (error);
}

static void
assert_daemon_alive (GSubprocess *daemon)
{
  g_assert_nonnull (g_subprocess_get_identifier (daemon));
}

/* --- the daemon ---------------------------------------------------------------------------- */

typedef struct {
  GSubprocess *process;
  char *url;
  char *log_path;
} Daemon;

static void
daemon_free (Daemon *daemon)
{
  g_clear_object (&daemon->process);
  g_free (daemon->url);
  g_free (daemon->log_path);
  g_free (daemon);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Daemon, daemon_free)

static Daemon *
start_daemon (const char *config, const char *database)
{
  Daemon *daemon = g_new0 (Daemon, 1);
  g_autofree char *log_name = g_strdup_printf ("daemon-%u.log", ++fx.daemon_runs);

  daemon->log_path = g_build_filename (rc_harness_get_dir (fx.harness), log_name, NULL);
  daemon->process = rc_harness_start_daemon (fx.harness, config, database, log_name, &daemon->url);
  return daemon;
}

typedef struct {
  gboolean done;
  char *out;
  char *err;
} Communicate;

static void
on_communicated (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Communicate *comm = user_data;
  g_autoptr (GError) error = NULL;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &comm->out, &comm->err,
                                        &error);
  g_assert_no_error (error);
  comm->done = TRUE;
}

static gboolean
communicate_done (gpointer user_data)
{
  return ((Communicate *)user_data)->done;
}

/* Runs reachcelld with @args until it exits (at most RC_HARNESS_TIMEOUT s); returns the exit
 * status and its output. */
static int
run_to_exit (const char *const *args, char **out, char **err)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocess) process = NULL;
  Communicate comm = { 0 };

  g_ptr_array_add (argv, (gpointer)rc_harness_find_program ("reachcelld"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer)args[i]);
  g_ptr_array_add (argv, NULL);
  process = rc_harness_spawn (fx.harness, NULL,
                              G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                              (const char *const *)argv->pdata);
  g_subprocess_communicate_utf8_async (process, NULL, NULL, on_communicated, &comm);
  if (!rc_harness_wait_for (communicate_done, &comm, RC_HARNESS_TIMEOUT)) {
    g_subprocess_force_exit (process);
    while (!comm.done)
      g_main_context_iteration (NULL, TRUE);
    g_error ("reachcelld %s did not exit within %d s", args[0], RC_HARNESS_TIMEOUT);
  }
  g_assert_true (rc_harness_wait_process (process, RC_HARNESS_TIMEOUT));
  g_assert_true (g_subprocess_get_if_exited (process));
  *out = comm.out;
  *err = comm.err;
  return g_subprocess_get_exit_status (process);
}

/* --- raw sockets --------------------------------------------------------------------------- */

static GSocketConnection *
raw_connect (void)
{
  g_autoptr (GUri) uri
      = g_uri_parse (rc_api_client_get_base_url (fx.client), G_URI_FLAGS_NONE, NULL);
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GError) error = NULL;
  GSocketConnection *connection;

  g_assert_nonnull (uri);
  g_socket_client_set_timeout (client, RC_HARNESS_TIMEOUT);
  connection
      = g_socket_client_connect_to_host (client, "127.0.0.1", g_uri_get_port (uri), NULL, &error);
  g_assert_no_error (error);
  return connection;
}

/* Writes everything; FALSE if the peer stopped reading (closed) first. */
static gboolean
raw_write (GSocketConnection *connection, const void *data, gsize length)
{
  GOutputStream *output = g_io_stream_get_output_stream (G_IO_STREAM (connection));

  return g_output_stream_write_all (output, data, length, NULL, NULL, NULL);
}

/* Reads until the peer closes (or the socket timeout); returns what came. */
static GString *
raw_read_all (GSocketConnection *connection)
{
  GInputStream *input = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  GString *text = g_string_new (NULL);
  char buffer[8192];

  for (;;) {
    gssize n = g_input_stream_read (input, buffer, sizeof buffer, NULL, NULL);

    if (n <= 0)
      break;
    g_string_append_len (text, buffer, n);
  }
  return text;
}

/* Parses a whole HTTP/1.1 answer read from a raw socket. */
static RcReply *
raw_parse (GString *text)
{
  RcReply *reply = g_new0 (RcReply, 1);
  const char *end = strstr (text->str, "\r\n\r\n");
  g_auto (GStrv) lines = NULL;
  g_autofree char *head = NULL;
  gsize body_at;
  goffset length;

  if (end == NULL || !g_str_has_prefix (text->str, "HTTP/1.1 "))
    g_error ("not an HTTP answer: %.300s", text->str);
  reply->status = (guint)g_ascii_strtoull (text->str + 9, NULL, 10);
  reply->headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  head = g_strndup (text->str, end - text->str);
  lines = g_strsplit (head, "\r\n", -1);
  for (guint i = 1; lines[i] != NULL; i++) {
    char *colon = strchr (lines[i], ':');

    g_assert_nonnull (colon);
    *colon = '\0';
    soup_message_headers_append (reply->headers, lines[i], g_strstrip (colon + 1));
  }
  body_at = end + 4 - text->str;
  length = soup_message_headers_get_content_length (reply->headers);
  g_assert_cmpuint (soup_message_headers_get_encoding (reply->headers), ==,
                    SOUP_ENCODING_CONTENT_LENGTH);
  g_assert_cmpuint (text->len - body_at, >=, (gsize)length);
  reply->body_length = length;
  reply->body = g_strndup (text->str + body_at, length);
  reply->root = json_from_string (reply->body, NULL);
  return reply;
}

/* --- reference data ------------------------------------------------------------------------ */

static char *
rand_uuid (GRand *rand)
{
  guint32 a = g_rand_int (rand);
  guint32 b = g_rand_int (rand);
  guint32 c = g_rand_int (rand);
  guint32 d = g_rand_int (rand);

  return g_strdup_printf ("%08x-%04x-%04x-%04x-%04x%08x", a, b >> 16, (b & 0x0fff) | 0x4000,
                          ((c >> 16) & 0x3fff) | 0x8000, c & 0xffff, d);
}

static const char *const remotes[] = { REMOTE_DE, REMOTE_MOBILE, REMOTE_US, REMOTE_UK };
static const char *const our_lines[] = { LINE1, LINE2, LINE3 };

static RcCall *
generate_call (GRand *rand, guint index, GArray *times)
{
  RcCall *call = rc_call_new ();
  const char *line = our_lines[g_rand_int_range (rand, 0, G_N_ELEMENTS (our_lines))];
  const char *remote = remotes[g_rand_int_range (rand, 0, G_N_ELEMENTS (remotes))];
  gboolean self_call = g_rand_int_range (rand, 0, 100) < 3;
  gint64 created;
  gint64 t;

  call->call_id = rand_uuid (rand);
  call->direction = g_rand_boolean (rand) ? RC_CALL_DIRECTION_INBOUND : RC_CALL_DIRECTION_OUTBOUND;
  if (self_call)
    remote = line;
  if (call->direction == RC_CALL_DIRECTION_INBOUND) {
    call->from = g_rand_int_range (rand, 0, 100) < 10 && !self_call ? NULL : g_strdup (remote);
    call->to = g_strdup (line);
  } else {
    call->from = g_strdup (line);
    call->to = g_strdup (remote);
  }
  call->line = g_strdup (line);

  /* Exactly on midnight, one microsecond before it, a copy of an earlier time, or anywhere. */
  if (index < 2 * N_DAYS)
    created = BASE_TIME + (index % N_DAYS) * DAY;
  else if (index < 3 * N_DAYS)
    created = BASE_TIME + (index % N_DAYS + 1) * DAY - 1;
  else if (times->len > 0 && g_rand_int_range (rand, 0, 100) < 5)
    created = g_array_index (times, gint64, g_rand_int_range (rand, 0, times->len));
  else
    created = BASE_TIME + (gint64)(g_rand_double (rand) * N_DAYS * DAY);
  g_array_append_val (times, created);
  call->created_at = created;
  call->initiated_at = created;

  if (index >= N_GENERATED - N_OPEN_AFTER_START)
    call->status = RC_CALL_STATUS_INITIATING + index % 3;
  else
    call->status = RC_CALL_STATUS_ENDED + g_rand_int_range (rand, 0, 4);
  if (g_rand_int_range (rand, 0, 100) < 90) {
    call->modem = g_strdup (MODEM_ID);
    call->slot = g_rand_int_range (rand, 1, 3);
  }
  if (call->direction == RC_CALL_DIRECTION_OUTBOUND && g_rand_int_range (rand, 0, 100) < 30)
    call->client_reference = g_strdup_printf ("ref-%u", index);
  call->cost_micro_usd = -1;

  t = created + g_rand_int_range (rand, 1, 5000) * 1000;
  switch (call->status) {
  case RC_CALL_STATUS_INITIATING:
    break;
  case RC_CALL_STATUS_RINGING:
    call->ringing_at = t;
    break;
  case RC_CALL_STATUS_CONNECTED:
    call->ringing_at = t;
    call->connected_at = t + g_rand_int_range (rand, 1, 10000) * 1000;
    break;
  case RC_CALL_STATUS_ENDED:
    call->ringing_at = t;
    call->connected_at = t + g_rand_int_range (rand, 1, 10000) * 1000;
    call->ended_at = call->connected_at + (gint64)g_rand_int_range (rand, 0, 600000) * 1000;
    call->end_reason
        = g_rand_boolean (rand) ? RC_END_REASON_LOCAL_HANGUP : RC_END_REASON_REMOTE_HANGUP;
    if (call->direction == RC_CALL_DIRECTION_OUTBOUND && g_rand_boolean (rand))
      call->cost_micro_usd = ((call->ended_at - call->connected_at) / SECOND + 59) / 60 * 20000;
    break;
  case RC_CALL_STATUS_MISSED:
    call->ringing_at = t;
    call->ended_at = t + g_rand_int_range (rand, 1, 60000) * 1000;
    call->end_reason = g_rand_boolean (rand) ? RC_END_REASON_TIMEOUT : RC_END_REASON_REMOTE_HANGUP;
    break;
  case RC_CALL_STATUS_REJECTED:
    call->ringing_at = t;
    call->ended_at = t + g_rand_int_range (rand, 1, 60000) * 1000;
    call->end_reason = g_rand_boolean (rand) ? RC_END_REASON_BUSY : RC_END_REASON_LINE_BUSY;
    break;
  case RC_CALL_STATUS_FAILED:
    if (g_rand_boolean (rand))
      call->ringing_at = t;
    call->ended_at = t + 2 * SECOND;
    call->end_reason = g_rand_boolean (rand) ? RC_END_REASON_ERROR : RC_END_REASON_UNKNOWN;
    break;
  default:
    g_assert_not_reached ();
  }
  return call;
}

static RcCall *
special_call (const char *call_id,
              RcCallDirection direction,
              const char *from,
              const char *to,
              RcCallStatus status,
              gint64 created)
{
  RcCall *call = rc_call_new ();

  call->call_id = g_strdup (call_id);
  call->direction = direction;
  call->from = g_strdup (from);
  call->to = g_strdup (to);
  call->line = g_strdup (direction == RC_CALL_DIRECTION_INBOUND ? to : from);
  call->status = status;
  call->created_at = created;
  call->initiated_at = created;
  call->cost_micro_usd = -1;
  return call;
}

static void
save (RcStore *store, RcCall *call)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (rc_store_save_call (store, call, &error));
  g_assert_no_error (error);
  g_ptr_array_add (fx.reference, call);
}

/* The case-2 calls with known values; some are open and saved after the start (@late). */
static void
save_special_calls (RcStore *store, gboolean late)
{
  /* 2026-02-20T10:00:00.250Z */
  const gint64 t0 = G_GINT64_CONSTANT (1771581600250000);
  RcCall *call;

  if (!late) {
    call = special_call ("0b6c5a3e-1f2d-4c4b-9a8e-7d6f5e4d3c2b", RC_CALL_DIRECTION_OUTBOUND, LINE1,
                         REMOTE_MOBILE, RC_CALL_STATUS_ENDED, t0);
    call->ringing_at = t0 + 2 * SECOND;
    call->connected_at = t0 + 5 * SECOND;
    call->ended_at = call->connected_at + 63 * SECOND + 900000; /* 63.9 s */
    call->end_reason = RC_END_REASON_LOCAL_HANGUP;
    call->client_reference = g_strdup ("order-1234 ✓ «quoted \"text\"»");
    call->modem = g_strdup (MODEM_ID);
    call->slot = 1;
    call->cost_micro_usd = 40000;
    fx.call_ended = g_strdup (call->call_id);
    save (store, call);

    call = special_call ("1c7d6b4f-2031-4d5c-8b9f-8e7a6f5e4d3c", RC_CALL_DIRECTION_INBOUND, NULL,
                         LINE2, RC_CALL_STATUS_MISSED, t0 + 3600 * SECOND);
    call->ringing_at = call->created_at;
    call->ended_at = call->created_at + 25 * SECOND;
    call->end_reason = RC_END_REASON_REMOTE_HANGUP;
    call->modem = g_strdup (MODEM_ID);
    call->slot = 2;
    fx.call_withheld = g_strdup (call->call_id);
    save (store, call);

    call = special_call ("2d8e7c50-3142-4e6d-9ca0-9f8b7a6f5e4d", RC_CALL_DIRECTION_OUTBOUND, LINE3,
                         REMOTE_DE, RC_CALL_STATUS_FAILED, t0 + 7200 * SECOND);
    call->ended_at = call->created_at + 1;
    call->end_reason = RC_END_REASON_ERROR;
    fx.call_no_sim = g_strdup (call->call_id);
    save (store, call);

    /* One microsecond before midnight: served as 23:59:59, never rounded into the next day. */
    call = special_call ("3e9f8d61-4253-4f7e-adb1-a09c8b7a6f5e", RC_CALL_DIRECTION_INBOUND,
                         REMOTE_US, LINE1, RC_CALL_STATUS_REJECTED,
                         G_GINT64_CONSTANT (1771718400000000) - 1); /* 2026-02-22T00:00Z - 1 µs */
    call->ringing_at = call->created_at;
    call->ended_at = call->created_at;
    call->end_reason = RC_END_REASON_BUSY;
    call->modem = g_strdup (MODEM_ID);
    call->slot = 1;
    fx.call_late_evening = g_strdup (call->call_id);
    save (store, call);

    /* Open while the daemon was down: it must end it (SPEC §4 reconciliation). */
    call = special_call ("4fa09e72-5364-4a8f-bec2-b1ad9c8b7a6f", RC_CALL_DIRECTION_INBOUND,
                         REMOTE_DE, LINE1, RC_CALL_STATUS_RINGING, t0 + 3 * 3600 * SECOND);
    call->ringing_at = call->created_at;
    call->modem = g_strdup (MODEM_ID);
    call->slot = 1;
    fx.call_reconciled = g_strdup (call->call_id);
    g_hash_table_add (fx.reconciled, g_strdup (call->call_id));
    save (store, call);
    return;
  }

  call = special_call ("5ab1af83-6475-4b90-8fd3-c2beadac9b8a", RC_CALL_DIRECTION_OUTBOUND, LINE2,
                       REMOTE_MOBILE, RC_CALL_STATUS_CONNECTED, t0 + 4 * 3600 * SECOND);
  call->ringing_at = call->created_at + SECOND;
  call->connected_at = call->created_at + 3 * SECOND;
  call->client_reference = g_strdup ("");
  call->modem = g_strdup (MODEM_ID);
  call->slot = 2;
  fx.call_connected = g_strdup (call->call_id);
  save (store, call);

  call = special_call ("6bc2b094-7586-4ca1-90e4-d3cfbebdac9b", RC_CALL_DIRECTION_OUTBOUND, LINE1,
                       REMOTE_DE, RC_CALL_STATUS_INITIATING, t0 + 5 * 3600 * SECOND);
  call->modem = g_strdup (MODEM_ID);
  call->slot = 1;
  fx.call_initiating = g_strdup (call->call_id);
  save (store, call);
}

/* The list order: created_at DESC, then (ties only exist between rows written straight to the
 * store, as here) the later saved first. @save_position maps a call to its place in save order. */
static int
compare_newest_first (gconstpointer a, gconstpointer b, gpointer save_position)
{
  const RcCall *x = *(RcCall *const *)a;
  const RcCall *y = *(RcCall *const *)b;
  guint px = GPOINTER_TO_UINT (g_hash_table_lookup (save_position, x));
  guint py = GPOINTER_TO_UINT (g_hash_table_lookup (save_position, y));

  if (x->created_at != y->created_at)
    return x->created_at > y->created_at ? -1 : 1;
  return px > py ? -1 : px < py ? 1 : 0;
}

static RcCall *
reference_call (const char *call_id)
{
  for (guint i = 0; i < fx.reference->len; i++) {
    RcCall *call = g_ptr_array_index (fx.reference, i);

    if (g_str_equal (call->call_id, call_id))
      return call;
  }
  g_error ("no reference call %s", call_id);
}

/* --- the call object ----------------------------------------------------------------------- */

static const char *const call_members[]
    = { "call_id",      "from",       "to",           "direction",        "status",
        "initiated_at", "ringing_at", "connected_at", "ended_at",         "duration_seconds",
        "cost_usd",     "created_at", "end_reason",   "client_reference", "sim" };

static const char *const statuses[]
    = { "initiating", "ringing", "connected", "ended", "missed", "rejected", "failed" };

static const char *const end_reasons[]
    = { "local_hangup", "remote_hangup", "timeout",       "busy",
        "line_busy",    "error",         "modem_removed", "unknown" };

static gboolean
in_list (const char *value, const char *const *list, gsize n)
{
  for (gsize i = 0; i < n; i++)
    if (g_strcmp0 (value, list[i]) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
matches (const char *pattern, const char *text)
{
  return text != NULL && g_regex_match_simple (pattern, text, 0, 0);
}

/* A timestamp member: NULL, or RFC 3339 UTC "…Z" in whole seconds; @out_seconds gets its value
 * (-1 for null). */
static const char *
time_member (JsonObject *call, const char *member, gboolean nullable, gint64 *out_seconds)
{
  const char *text = rc_json_string_or_null (call, member);
  g_autoptr (GDateTime) time = NULL;

  *out_seconds = -1;
  if (text == NULL) {
    if (!nullable)
      g_error ("%s is null", member);
    return NULL;
  }
  if (!matches ("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$", text))
    g_error ("%s is not RFC 3339 UTC in whole seconds: %s", member, text);
  time = g_date_time_new_from_iso8601 (text, NULL);
  g_assert_nonnull (time);
  *out_seconds = g_date_time_to_unix (time);
  return text;
}

static JsonNode *
member_node (JsonObject *object, const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL)
    g_error ("member %s is missing", member);
  return node;
}

static gboolean
is_integer (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64;
}

static gboolean
is_number (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node)
         && (json_node_get_value_type (node) == G_TYPE_INT64
             || json_node_get_value_type (node) == G_TYPE_DOUBLE);
}

/* The rules every call object follows (SPEC §4, the seed page), whatever its values. */
static void
assert_call_shape (JsonObject *call, gboolean answering_allowed)
{
  g_autoptr (GList) members = json_object_get_members (call);
  const char *status;
  const char *direction;
  gboolean terminal;
  gint64 initiated, ringing, connected, ended, created;
  JsonNode *node;

  for (GList *l = members; l != NULL; l = l->next)
    if (!in_list (l->data, call_members, G_N_ELEMENTS (call_members)))
      g_error ("unexpected call member %s", (const char *)l->data);
  for (guint i = 0; i < G_N_ELEMENTS (call_members); i++)
    member_node (call, call_members[i]);
  g_assert_cmpuint (json_object_get_size (call), ==, G_N_ELEMENTS (call_members));

  g_assert_true (matches ("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
                          rc_json_string_or_null (call, "call_id")));
  if (rc_json_string_or_null (call, "from") != NULL)
    g_assert_true (matches ("^\\+[1-9][0-9]{6,14}$", rc_json_string_or_null (call, "from")));
  g_assert_nonnull (rc_json_string_or_null (call, "to"));
  direction = rc_json_string_or_null (call, "direction");
  g_assert_true (g_strcmp0 (direction, "inbound") == 0 || g_strcmp0 (direction, "outbound") == 0);
  if (g_strcmp0 (direction, "outbound") == 0)
    g_assert_nonnull (rc_json_string_or_null (call, "from"));
  status = rc_json_string_or_null (call, "status");
  g_assert_nonnull (status);
  if (!in_list (status, statuses, G_N_ELEMENTS (statuses))
      && !(answering_allowed && g_str_equal (status, "answering")))
    g_error ("unknown status %s", status);
  terminal = in_list (status, statuses + 3, 4);

  time_member (call, "initiated_at", FALSE, &initiated);
  time_member (call, "ringing_at", TRUE, &ringing);
  time_member (call, "connected_at", TRUE, &connected);
  time_member (call, "ended_at", TRUE, &ended);
  time_member (call, "created_at", FALSE, &created);
  if (ringing >= 0)
    g_assert_cmpint (ringing, >=, initiated);
  if (connected >= 0)
    g_assert_cmpint (connected, >=, initiated);
  if (ended >= 0)
    g_assert_cmpint (ended, >=, MAX (initiated, connected));
  /* ended_at and end_reason are set exactly when the status is terminal. */
  g_assert_cmpint (ended >= 0, ==, terminal);
  if (terminal)
    g_assert_true (in_list (rc_json_string_or_null (call, "end_reason"), end_reasons,
                            G_N_ELEMENTS (end_reasons)));
  else
    g_assert_null (rc_json_string_or_null (call, "end_reason"));
  if (g_str_equal (status, "connected") || g_str_equal (status, "ended"))
    g_assert_cmpint (connected, >=, 0);
  if (g_str_equal (status, "initiating"))
    g_assert_cmpint (connected, <, 0);

  node = member_node (call, "duration_seconds");
  if (connected < 0) {
    g_assert_true (JSON_NODE_HOLDS_NULL (node));
  } else {
    g_assert_true (is_integer (node));
    g_assert_cmpint (json_node_get_int (node), >=, 0);
    /* Whole seconds between whole-second stamps: off by at most one from their difference. */
    if (ended >= 0)
      g_assert_cmpint (ABS (json_node_get_int (node) - (ended - connected)), <=, 1);
  }
  node = member_node (call, "cost_usd");
  if (!JSON_NODE_HOLDS_NULL (node)) {
    g_assert_true (is_number (node));
    g_assert_cmpfloat (json_node_get_double (node), >=, 0);
    g_assert_cmpstr (direction, ==, "outbound");
    g_assert_cmpint (connected, >=, 0);
    g_assert_true (terminal);
  }
  if (rc_json_string_or_null (call, "client_reference") != NULL)
    g_assert_cmpint (g_utf8_strlen (rc_json_string_or_null (call, "client_reference"), -1), <=,
                     128);
  node = member_node (call, "sim");
  if (!JSON_NODE_HOLDS_NULL (node)) {
    JsonObject *sim;

    g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
    sim = json_node_get_object (node);
    g_assert_cmpuint (json_object_get_size (sim), ==, 2);
    g_assert_nonnull (rc_json_string_or_null (sim, "modem"));
    g_assert_true (is_integer (member_node (sim, "slot")));
    g_assert_cmpint (json_object_get_int_member (sim, "slot"), >=, 1);
  }
}

static char *
expected_time (gint64 usec)
{
  g_autoptr (GDateTime) time = NULL;

  if (usec == 0)
    return NULL;
  time = g_date_time_new_from_unix_utc (usec / SECOND);
  return g_date_time_format (time, "%Y-%m-%dT%H:%M:%SZ");
}

static void
assert_time_equals (JsonObject *object, const char *member, gint64 usec)
{
  g_autofree char *expected = expected_time (usec);

  g_assert_cmpstr (rc_json_string_or_null (object, member), ==, expected);
}

/* Every field against the record as stored (or as reconciled by the daemon). */
static void
assert_call_equals (JsonObject *object, const RcCall *call)
{
  gboolean reconciled = g_hash_table_contains (fx.reconciled, call->call_id);
  JsonNode *node;

  assert_call_shape (object, FALSE);
  g_assert_cmpstr (rc_json_string_or_null (object, "call_id"), ==, call->call_id);
  g_assert_cmpstr (rc_json_string_or_null (object, "from"), ==, call->from);
  g_assert_cmpstr (rc_json_string_or_null (object, "to"), ==, call->to);
  g_assert_cmpstr (rc_json_string_or_null (object, "direction"), ==,
                   rc_call_direction_to_string (call->direction));
  assert_time_equals (object, "initiated_at", call->initiated_at);
  assert_time_equals (object, "ringing_at", call->ringing_at);
  assert_time_equals (object, "connected_at", call->connected_at);
  assert_time_equals (object, "created_at", call->created_at);
  g_assert_cmpstr (rc_json_string_or_null (object, "client_reference"), ==, call->client_reference);
  if (reconciled) {
    g_assert_cmpstr (rc_json_string_or_null (object, "status"), ==, "failed");
    g_assert_cmpstr (rc_json_string_or_null (object, "end_reason"), ==, "modem_removed");
    g_assert_nonnull (rc_json_string_or_null (object, "ended_at"));
  } else {
    g_assert_cmpstr (rc_json_string_or_null (object, "status"), ==,
                     rc_call_status_to_string (call->status));
    g_assert_cmpstr (rc_json_string_or_null (object, "end_reason"), ==,
                     rc_end_reason_to_string (call->end_reason));
    assert_time_equals (object, "ended_at", call->ended_at);
  }
  node = member_node (object, "duration_seconds");
  if (call->connected_at == 0) {
    g_assert_true (JSON_NODE_HOLDS_NULL (node));
  } else if (call->ended_at != 0) {
    g_assert_cmpint (json_node_get_int (node), ==, (call->ended_at - call->connected_at) / SECOND);
  } else {
    /* Still connected: up to the moment of the response. */
    gint64 upper = (g_get_real_time () - call->connected_at) / SECOND;

    g_assert_cmpint (json_node_get_int (node), <=, upper);
    g_assert_cmpint (json_node_get_int (node), >=, upper - 60);
  }
  node = member_node (object, "cost_usd");
  if (call->cost_micro_usd < 0)
    g_assert_true (JSON_NODE_HOLDS_NULL (node));
  else
    g_assert_cmpfloat_with_epsilon (json_node_get_double (node), (double)call->cost_micro_usd / 1e6,
                                    1e-9);
  node = member_node (object, "sim");
  if (call->modem == NULL) {
    g_assert_true (JSON_NODE_HOLDS_NULL (node));
  } else {
    JsonObject *sim = json_node_get_object (node);

    g_assert_cmpstr (rc_json_string_or_null (sim, "modem"), ==, call->modem);
    g_assert_cmpint (json_object_get_int_member (sim, "slot"), ==, call->slot);
  }
}

/* --- 1. filters and pagination ------------------------------------------------------------- */

typedef struct {
  const char *number;   /* E.164 or NULL */
  const char *number_q; /* the same as sent in a query */
  int direction;        /* RcCallDirection or -1 */
  int status;           /* RcCallStatus or -1 */
  const char *from_date;
  const char *to_date;
} Filter;

static gint64
date_usec (const char *date)
{
  int year, month, day;
  g_autoptr (GDateTime) time = NULL;

  g_assert_cmpint (sscanf (date, "%d-%d-%d", &year, &month, &day), ==, 3);
  time = g_date_time_new_utc (year, month, day, 0, 0, 0);
  g_assert_nonnull (time);
  return g_date_time_to_unix (time) * SECOND;
}

static gboolean
filter_matches (const Filter *filter, const RcCall *call)
{
  RcCallStatus status
      = g_hash_table_contains (fx.reconciled, call->call_id) ? RC_CALL_STATUS_FAILED : call->status;

  if (filter->number != NULL && g_strcmp0 (call->from, filter->number) != 0
      && g_strcmp0 (call->to, filter->number) != 0)
    return FALSE;
  if (filter->direction >= 0 && (int)call->direction != filter->direction)
    return FALSE;
  if (filter->status >= 0 && (int)status != filter->status)
    return FALSE;
  if (filter->from_date != NULL && call->created_at < date_usec (filter->from_date))
    return FALSE;
  if (filter->to_date != NULL && call->created_at >= date_usec (filter->to_date) + DAY)
    return FALSE;
  return TRUE;
}

static char *
filter_query (const Filter *filter)
{
  GString *query = g_string_new (NULL);

  if (filter->number_q != NULL)
    g_string_append_printf (query, "&number=%s", filter->number_q);
  if (filter->direction >= 0)
    g_string_append_printf (query, "&direction=%s",
                            rc_call_direction_to_string (filter->direction));
  if (filter->status >= 0)
    g_string_append_printf (query, "&status=%s", rc_call_status_to_string (filter->status));
  if (filter->from_date != NULL)
    g_string_append_printf (query, "&from_date=%s", filter->from_date);
  if (filter->to_date != NULL)
    g_string_append_printf (query, "&to_date=%s", filter->to_date);
  return g_string_free (query, FALSE);
}

/* Fetches @page of @filter and compares it with the reference; returns the number of calls. */
static guint
check_page (const Filter *filter, GPtrArray *expected, guint per_page, guint page)
{
  g_autofree char *query = filter_query (filter);
  g_autofree char *path = NULL;
  g_autoptr (RcReply) reply = NULL;
  guint effective = per_page != 0 ? per_page : 20;
  guint total_pages = (expected->len + effective - 1) / effective;
  guint first = (MAX (page, 1) - 1) * effective;
  guint count = first >= expected->len ? 0 : MIN (effective, expected->len - first);
  JsonObject *meta;
  JsonArray *data;

  {
    GString *built = g_string_new ("/v1/calls");

    /* page omitted (0): the default, 1 */
    if (page != 0)
      g_string_append_printf (built, "&page=%u", page);
    if (per_page != 0)
      g_string_append_printf (built, "&per_page=%u", per_page);
    g_string_append (built, query);
    if (built->len > strlen ("/v1/calls"))
      built->str[strlen ("/v1/calls")] = '?';
    path = g_string_free (built, FALSE);
  }
  if (page == 0)
    page = 1;
  reply = get (path);
  if (reply->status != 200)
    g_error ("GET %s: %u %s", path, reply->status, reply->body);
  meta = rc_reply_meta (reply);
  g_assert_cmpuint (json_object_get_size (meta), ==, 4);
  g_assert_true (is_integer (member_node (meta, "total")));
  g_assert_true (is_integer (member_node (meta, "page")));
  g_assert_true (is_integer (member_node (meta, "per_page")));
  g_assert_true (is_integer (member_node (meta, "total_pages")));
  if (json_object_get_int_member (meta, "total") != expected->len)
    g_error ("GET %s: total %" G_GINT64_FORMAT ", expected %u", path,
             json_object_get_int_member (meta, "total"), expected->len);
  g_assert_cmpint (json_object_get_int_member (meta, "page"), ==, page);
  g_assert_cmpint (json_object_get_int_member (meta, "per_page"), ==, effective);
  g_assert_cmpint (json_object_get_int_member (meta, "total_pages"), ==, total_pages);
  data = rc_reply_data_array (reply);
  if (json_array_get_length (data) != count)
    g_error ("GET %s: %u calls, expected %u", path, json_array_get_length (data), count);
  for (guint i = 0; i < count; i++) {
    JsonObject *call = json_array_get_object_element (data, i);
    const RcCall *want = g_ptr_array_index (expected, first + i);

    if (g_strcmp0 (json_object_get_string_member (call, "call_id"), want->call_id) != 0)
      g_error ("GET %s: item %u is %s, expected %s (created %" G_GINT64_FORMAT ")", path, i,
               json_object_get_string_member (call, "call_id"), want->call_id, want->created_at);
    assert_call_equals (call, want);
  }
  return count;
}

/* Every page (and one past the end) when @all_pages, else the first, second, last and one past. */
static void
check_listing (const Filter *filter, guint per_page, gboolean all_pages)
{
  g_autoptr (GPtrArray) expected = g_ptr_array_new ();
  guint effective = per_page != 0 ? per_page : 20;
  guint total_pages;
  guint seen = 0;

  for (guint i = 0; i < fx.reference->len; i++)
    if (filter_matches (filter, g_ptr_array_index (fx.reference, i)))
      g_ptr_array_add (expected, g_ptr_array_index (fx.reference, i));
  total_pages = (expected->len + effective - 1) / effective;
  if (all_pages) {
    for (guint page = 1; page <= total_pages + 1; page++)
      seen += check_page (filter, expected, per_page, page);
    g_assert_cmpuint (seen, ==, expected->len);
  } else {
    guint pages[] = { 0, 1, 2, total_pages, total_pages + 1, total_pages + 100 };

    for (guint i = 0; i < G_N_ELEMENTS (pages); i++)
      if (pages[i] != 0 || i == 0)
        check_page (filter, expected, per_page, pages[i]);
  }
}

static void
assert_bad_parameter (const char *query, const char *field)
{
  g_autofree char *path = g_strconcat ("/v1/calls?", query, NULL);
  g_autoptr (RcReply) reply = get (path);
  JsonObject *error;

  if (reply->status != 400)
    g_error ("GET %s: expected 400 invalid_parameter (%s), got %u: %.300s", path, field,
             reply->status, reply->body);
  error = rc_reply_assert_error (reply, 400, "invalid_parameter");
  g_assert_cmpstr (json_object_get_string_member_with_default (error, "field", NULL), ==, field);
}

static void
test_filters_and_pages (void)
{
  const int in = RC_CALL_DIRECTION_INBOUND;
  const int out = RC_CALL_DIRECTION_OUTBOUND;
  const Filter none = { NULL, NULL, -1, -1, NULL, NULL };
  const Filter filters[] = {
    { LINE1, LINE1_Q, -1, -1, NULL, NULL },
    { LINE2, LINE2_Q, -1, -1, NULL, NULL },
    { LINE3, LINE3_Q, -1, -1, NULL, NULL },
    { REMOTE_DE, REMOTE_DE_Q, -1, -1, NULL, NULL },
    { REMOTE_US, REMOTE_US_Q, -1, -1, NULL, NULL },
    { NOBODY, NOBODY_Q, -1, -1, NULL, NULL },
    { NULL, NULL, in, -1, NULL, NULL },
    { NULL, NULL, out, -1, NULL, NULL },
    { NULL, NULL, -1, RC_CALL_STATUS_INITIATING, NULL, NULL },
    { NULL, NULL, -1, RC_CALL_STATUS_RINGING, NULL, NULL },
    { NULL, NULL, -1, RC_CALL_STATUS_CONNECTED, NULL, NULL },
    { NULL, NULL, -1, RC_CALL_STATUS_ENDED, NULL, NULL },
    { NULL, NULL, -1, RC_CALL_STATUS_MISSED, NULL, NULL },
    { NULL, NULL, -1, RC_CALL_STATUS_REJECTED, NULL, NULL },
    { NULL, NULL, -1, RC_CALL_STATUS_FAILED, NULL, NULL },
    { NULL, NULL, -1, -1, "2026-01-25", NULL },
    { NULL, NULL, -1, -1, NULL, "2026-01-25" },
    { NULL, NULL, -1, -1, "2026-01-20", "2026-01-20" },
    { NULL, NULL, -1, -1, "2026-01-10", "2026-01-10" },
    { NULL, NULL, -1, -1, "2026-01-31", "2026-02-01" },
    { NULL, NULL, -1, -1, "2026-02-19", "2026-02-22" },
    { NULL, NULL, -1, -1, "2026-02-21", "2026-02-21" },
    { NULL, NULL, -1, -1, "2027-01-01", NULL },
    { NULL, NULL, -1, -1, NULL, "2026-01-09" },
    { LINE1, LINE1_Q, in, -1, NULL, NULL },
    { REMOTE_DE, REMOTE_DE_Q, out, -1, NULL, NULL },
    { NULL, NULL, in, RC_CALL_STATUS_MISSED, "2026-01-15", "2026-01-30" },
    { NULL, NULL, out, RC_CALL_STATUS_CONNECTED, "2026-01-11", "2026-02-28" },
    { NULL, NULL, out, RC_CALL_STATUS_ENDED, "2026-02-01", "2026-02-01" },
    { LINE2, LINE2_Q, -1, RC_CALL_STATUS_REJECTED, NULL, NULL },
    { LINE3, LINE3_Q, -1, RC_CALL_STATUS_FAILED, NULL, NULL },
    { LINE1, LINE1_Q, in, RC_CALL_STATUS_MISSED, "2026-01-12", "2026-02-10" },
    { LINE1, LINE1_Q, out, RC_CALL_STATUS_INITIATING, "2026-01-10", "2026-02-20" },
  };
  const Filter small = { LINE3, LINE3_Q, in, RC_CALL_STATUS_REJECTED, "2026-01-20", "2026-01-27" };

  /* Everything, every page of 100, field by field. */
  check_listing (&none, 100, TRUE);
  flush_documented ();
  /* The default page size, and pages of one. */
  check_listing (&none, 0, FALSE);
  check_listing (&none, 1, FALSE);
  check_listing (&none, 100, FALSE);
  check_listing (&none, 7, FALSE);
  check_listing (&small, 1, TRUE);
  flush_documented ();

  for (guint i = 0; i < G_N_ELEMENTS (filters); i++) {
    check_listing (&filters[i], 100, TRUE);
    check_listing (&filters[i], 0, FALSE);
  }
  flush_documented ();

  /* Bad values name their field. */
  assert_bad_parameter ("page=0", "page");
  assert_bad_parameter ("page=-1", "page");
  assert_bad_parameter ("page=x", "page");
  assert_bad_parameter ("page=1.5", "page");
  assert_bad_parameter ("per_page=0", "per_page");
  assert_bad_parameter ("per_page=101", "per_page");
  assert_bad_parameter ("per_page=", "per_page");
  assert_bad_parameter ("status=answering", "status");
  assert_bad_parameter ("status=Missed", "status");
  assert_bad_parameter ("direction=both", "direction");
  assert_bad_parameter ("number=" LINE1, "number"); /* an unencoded + is a space */
  assert_bad_parameter ("number=4915100000001", "number");
  assert_bad_parameter ("from_date=2026-02-29", "from_date");
  assert_bad_parameter ("from_date=2026-13-01", "from_date");
  assert_bad_parameter ("from_date=2026-1-1", "from_date");
  assert_bad_parameter ("to_date=20260101", "to_date");
  assert_bad_parameter ("to_date=2026-01-01T00:00:00Z", "to_date");
  assert_bad_parameter ("from_date=2026-01-21&to_date=2026-01-20", "to_date");
  assert_bad_parameter ("colour=blue", "colour");
  flush_documented ();
}

/* Dates must be YYYY-MM-DD exactly (SPEC §3.5): digits only. Kept apart from the case above so
 * that a daemon which accepts signs or spaces in dates fails here and nowhere else. */
static void
test_dates_digits_only (void)
{
  assert_bad_parameter ("from_date=2026-%2B1-05", "from_date");
  assert_bad_parameter ("from_date=2026-01-%2B5", "from_date");
  assert_bad_parameter ("to_date=2026-%201-05", "to_date");
  assert_bad_parameter ("to_date=%2B026-01-05", "to_date");
  flush_documented ();
}

/* --- 2. the call object -------------------------------------------------------------------- */

static RcReply *
get_call (const char *call_id)
{
  g_autofree char *path = g_strconcat ("/v1/calls/", call_id, NULL);
  RcReply *reply = get (path);

  if (reply->status != 200)
    g_error ("GET %s: %u %s", path, reply->status, reply->body);
  return reply;
}

static void
test_call_object (void)
{
  g_autoptr (RcReply) ended = get_call (fx.call_ended);
  g_autoptr (RcReply) withheld = get_call (fx.call_withheld);
  g_autoptr (RcReply) no_sim = get_call (fx.call_no_sim);
  g_autoptr (RcReply) evening = get_call (fx.call_late_evening);
  g_autoptr (RcReply) reconciled = get_call (fx.call_reconciled);
  g_autoptr (RcReply) connected = get_call (fx.call_connected);
  g_autoptr (RcReply) initiating = get_call (fx.call_initiating);
  g_autoptr (RcReply) unknown = get ("/v1/calls/00000000-0000-4000-8000-000000000000");
  g_autoptr (RcReply) not_uuid = get ("/v1/calls/not-a-call");
  JsonObject *call;
  JsonObject *sim;

  /* Outbound, answered, hung up by us, with a tariff and a client reference. */
  call = rc_reply_data_object (ended);
  assert_call_equals (call, reference_call (fx.call_ended));
  g_assert_cmpstr (rc_json_string_or_null (call, "call_id"), ==, fx.call_ended);
  g_assert_cmpstr (rc_json_string_or_null (call, "from"), ==, LINE1);
  g_assert_cmpstr (rc_json_string_or_null (call, "to"), ==, REMOTE_MOBILE);
  g_assert_cmpstr (rc_json_string_or_null (call, "direction"), ==, "outbound");
  g_assert_cmpstr (rc_json_string_or_null (call, "status"), ==, "ended");
  g_assert_cmpstr (rc_json_string_or_null (call, "initiated_at"), ==, "2026-02-20T10:00:00Z");
  g_assert_cmpstr (rc_json_string_or_null (call, "ringing_at"), ==, "2026-02-20T10:00:02Z");
  g_assert_cmpstr (rc_json_string_or_null (call, "connected_at"), ==, "2026-02-20T10:00:05Z");
  g_assert_cmpstr (rc_json_string_or_null (call, "ended_at"), ==, "2026-02-20T10:01:09Z");
  g_assert_cmpint (json_object_get_int_member (call, "duration_seconds"), ==, 63);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (call, "cost_usd"), 0.04, 1e-9);
  g_assert_cmpstr (rc_json_string_or_null (call, "created_at"), ==, "2026-02-20T10:00:00Z");
  g_assert_cmpstr (rc_json_string_or_null (call, "end_reason"), ==, "local_hangup");
  g_assert_cmpstr (rc_json_string_or_null (call, "client_reference"), ==,
                   "order-1234 ✓ «quoted \"text\"»");
  sim = json_object_get_object_member (call, "sim");
  g_assert_cmpstr (json_object_get_string_member (sim, "modem"), ==, MODEM_ID);
  g_assert_cmpint (json_object_get_int_member (sim, "slot"), ==, 1);

  /* Inbound from a withheld number, missed. */
  call = rc_reply_data_object (withheld);
  assert_call_equals (call, reference_call (fx.call_withheld));
  g_assert_true (json_object_get_null_member (call, "from"));
  g_assert_cmpstr (rc_json_string_or_null (call, "to"), ==, LINE2);
  g_assert_cmpstr (rc_json_string_or_null (call, "direction"), ==, "inbound");
  g_assert_true (json_object_get_null_member (call, "connected_at"));
  g_assert_true (json_object_get_null_member (call, "duration_seconds"));
  g_assert_true (json_object_get_null_member (call, "cost_usd"));
  g_assert_true (json_object_get_null_member (call, "client_reference"));
  g_assert_cmpstr (rc_json_string_or_null (call, "end_reason"), ==, "remote_hangup");
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (call, "sim"), "slot"),
                   ==, 2);

  /* Failed before any modem took it: no SIM, no ringing. */
  call = rc_reply_data_object (no_sim);
  assert_call_equals (call, reference_call (fx.call_no_sim));
  g_assert_true (json_object_get_null_member (call, "sim"));
  g_assert_true (json_object_get_null_member (call, "ringing_at"));
  g_assert_cmpstr (rc_json_string_or_null (call, "end_reason"), ==, "error");

  /* Times are truncated to the second, never rounded. */
  call = rc_reply_data_object (evening);
  assert_call_equals (call, reference_call (fx.call_late_evening));
  g_assert_cmpstr (rc_json_string_or_null (call, "created_at"), ==, "2026-02-21T23:59:59Z");

  /* Stored open while the daemon was down: ended as lost, with a time. */
  call = rc_reply_data_object (reconciled);
  assert_call_equals (call, reference_call (fx.call_reconciled));

  /* Connected now: a running duration, no end. */
  call = rc_reply_data_object (connected);
  assert_call_equals (call, reference_call (fx.call_connected));
  g_assert_true (json_object_get_null_member (call, "ended_at"));
  g_assert_true (json_object_get_null_member (call, "end_reason"));
  g_assert_true (json_object_get_null_member (call, "cost_usd"));
  g_assert_cmpint (json_object_get_int_member (call, "duration_seconds"), >, 0);
  g_assert_cmpstr (rc_json_string_or_null (call, "client_reference"), ==, "");

  /* Just initiated: every later time null. */
  call = rc_reply_data_object (initiating);
  assert_call_equals (call, reference_call (fx.call_initiating));
  g_assert_true (json_object_get_null_member (call, "ringing_at"));
  g_assert_true (json_object_get_null_member (call, "connected_at"));
  g_assert_true (json_object_get_null_member (call, "ended_at"));
  g_assert_true (json_object_get_null_member (call, "duration_seconds"));
  g_assert_cmpstr (rc_json_string_or_null (call, "initiated_at"), ==,
                   rc_json_string_or_null (call, "created_at"));

  rc_reply_assert_error (unknown, 404, "not_found");
  rc_reply_assert_error (not_uuid, 404, "not_found");
  flush_documented ();
}

/* --- 3. auth ------------------------------------------------------------------------------- */

typedef struct {
  const char *method;
  char *path;
  const char *body;
} Route;

/* Every authenticated route, with a method it accepts. */
static GPtrArray *
authenticated_routes (void)
{
  GPtrArray *routes = g_ptr_array_new ();
  static Route list[8];

  list[0] = (Route){ "GET", g_strdup ("/v1/calls"), NULL };
  list[1] = (Route){ "POST", g_strdup ("/v1/calls/dial"),
                     "{\"from\":\"" LINE1 "\",\"to\":\"" REMOTE_MOBILE "\"}" };
  list[2] = (Route){ "GET", g_strconcat ("/v1/calls/", fx.call_ended, NULL), NULL };
  list[3] = (Route){ "POST", g_strconcat ("/v1/calls/", fx.call_ended, "/hangup", NULL), NULL };
  list[4] = (Route){ "POST", g_strconcat ("/v1/calls/", fx.call_ended, "/answer", NULL), NULL };
  list[5] = (Route){ "GET", g_strdup ("/v1/numbers"), NULL };
  list[6] = (Route){ "GET", g_strdup ("/v1/numbers/" LINE1), NULL };
  list[7] = (Route){ "POST", g_strdup ("/v1/numbers/" LINE1 "/activate"), NULL };
  for (guint i = 0; i < G_N_ELEMENTS (list); i++)
    g_ptr_array_add (routes, &list[i]);
  return routes;
}

static void
routes_free (GPtrArray *routes)
{
  for (guint i = 0; i < routes->len; i++)
    g_clear_pointer (&((Route *)g_ptr_array_index (routes, i))->path, g_free);
  g_ptr_array_unref (routes);
}

static RcReply *
route_request (const Route *route, const char *authorization)
{
  const char *const headers[] = { "Authorization", authorization, NULL };

  return req_full (route->method, route->path, NULL, route->body ? "application/json" : NULL,
                   route->body, -1, authorization ? headers : NULL);
}

static void
assert_all_unauthorized (GPtrArray *routes, const char *authorization)
{
  for (guint i = 0; i < routes->len; i++) {
    const Route *route = g_ptr_array_index (routes, i);
    g_autoptr (RcReply) reply = route_request (route, authorization);

    if (reply->status != 401)
      g_error ("%s %s with Authorization %s: expected 401, got %u: %s", route->method, route->path,
               authorization ? authorization : "(none)", reply->status, reply->body);
    rc_reply_assert_error (reply, 401, "unauthorized");
  }
}

static void
assert_all_authorized (GPtrArray *routes, const char *authorization)
{
  for (guint i = 0; i < routes->len; i++) {
    const Route *route = g_ptr_array_index (routes, i);
    g_autoptr (RcReply) reply = route_request (route, authorization);

    if (reply->status == 401 || (reply->status >= 500 && reply->status != 503))
      g_error ("%s %s with Authorization %s: got %u: %s", route->method, route->path, authorization,
               reply->status, reply->body);
  }
}

/* Whether GET /v1/calls with the Authorization header @user_data is answered 401. */
static gboolean
key_refused (gpointer user_data)
{
  const char *const headers[] = { "Authorization", user_data, NULL };
  g_autoptr (RcReply) reply
      = rc_api_client_request (fx.client, "GET", "/v1/calls", NULL, NULL, NULL, 0, headers);

  return reply->status == 401;
}

static void
test_auth (void)
{
  g_autoptr (GPtrArray) routes = authenticated_routes ();
  g_autofree char *good = g_strconcat ("Bearer ", fx.key, NULL);
  g_autofree char *lower = g_strconcat ("bearer ", fx.key, NULL);
  g_autofree char *revocable = g_strconcat ("Bearer ", fx.key_revoke, NULL);
  g_autofree char *longer = g_strconcat ("Bearer ", fx.key, "0", NULL);
  g_autofree char *shorter = g_strndup (good, strlen (good) - 1);
  g_autofree char *basic_key = g_strconcat ("Basic ", fx.key, NULL);
  g_autofree char *token_key = g_strconcat ("Token ", fx.key, NULL);
  g_autofree char *no_space = g_strconcat ("Bearer", fx.key, NULL);
  g_autofree char *upper = g_ascii_strup (good, -1);
  const char *const bad[] = {
    NULL,
    "Bearer ",
    "Bearer",
    "Basic dXNlcjpwYXNzd29yZA==",
    "Bearer ak_0000000000000000000000000000000000000000",
    "Bearer not-a-key",
    longer,
    shorter,
    basic_key,
    token_key,
    no_space,
    upper,
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    assert_all_unauthorized (routes, bad[i]);
  flush_documented ();

  /* The scheme is case-insensitive (RFC 9110 §11.1); the key is not. */
  assert_all_authorized (routes, good);
  assert_all_authorized (routes, lower);

  /* Revocation by another process (reachcellctl) takes effect while the daemon runs, within
   * the second for which it keeps a valid key. */
  assert_all_authorized (routes, revocable);
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (RcStore) store = rc_store_new (fx.database, &error);

    g_assert_no_error (error);
    g_assert_true (rc_store_revoke_key (store, fx.key_revoke_id, &error));
    g_assert_no_error (error);
  }
  g_assert_true (rc_harness_wait_for (key_refused, revocable, RC_HARNESS_TIMEOUT));
  assert_all_unauthorized (routes, revocable);
  assert_all_authorized (routes, good);

  /* Health and the OpenAPI document need no key, and a bad one does not hurt. */
  {
    const char *const bogus[] = { "Authorization", "Bearer nonsense", NULL };
    g_autoptr (RcReply) health = req_full ("GET", "/v1/health", NULL, NULL, NULL, 0, NULL);
    g_autoptr (RcReply) health_bogus = req_full ("GET", "/v1/health", NULL, NULL, NULL, 0, bogus);
    g_autoptr (RcReply) openapi = req_full ("GET", "/v1/openapi.json", NULL, NULL, NULL, 0, NULL);
    g_autoptr (RcReply) openapi_bogus
        = req_full ("GET", "/v1/openapi.json", NULL, NULL, NULL, 0, bogus);

    g_assert_cmpuint (health->status, ==, 200);
    g_assert_cmpuint (health_bogus->status, ==, 200);
    g_assert_cmpuint (openapi->status, ==, 200);
    g_assert_cmpuint (openapi_bogus->status, ==, 200);
    g_assert_cmpstr (openapi->body, ==, openapi_bogus->body);
    g_assert_nonnull (json_object_get_member (json_node_get_object (openapi->root), "openapi"));
  }
  /* A key is checked before the rest of the path: unknown sub-routes answer 401 without one. */
  {
    g_autoptr (RcReply) deep = req_full ("GET", "/v1/calls/x/y/z", NULL, NULL, NULL, 0, NULL);
    /* (DELETE is no documented operation, so this answer is not validated.) */
    g_autoptr (RcReply) numbers
        = rc_api_client_request (fx.client, "DELETE", "/v1/numbers", NULL, NULL, NULL, 0, NULL);

    rc_reply_assert_error (deep, 401, "unauthorized");
    rc_reply_assert_error (numbers, 401, "unauthorized");
  }
  flush_documented ();
  routes_free (g_steal_pointer (&routes));
}

/* --- 4. no ModemManager -------------------------------------------------------------------- */

static void
assert_offline_number (JsonObject *line, const char *number, gboolean has_slot, gint64 slot)
{
  JsonObject *sim;
  JsonNode *node;

  g_assert_cmpstr (rc_json_string_or_null (line, "number"), ==, number);
  g_assert_cmpstr (rc_json_string_or_null (line, "state"), ==, "offline");
  g_assert_cmpstr (rc_json_string_or_null (line, "provisioned_by"), ==, "configuration");
  g_assert_true (json_object_get_null_member (line, "modem"));
  sim = json_object_get_object_member (line, "sim");
  g_assert_nonnull (sim);
  node = member_node (sim, "slot");
  if (has_slot)
    g_assert_cmpint (json_node_get_int (node), ==, slot);
  else
    g_assert_true (JSON_NODE_HOLDS_NULL (node));
  g_assert_true (json_object_get_null_member (sim, "iccid"));
  g_assert_true (json_object_get_null_member (sim, "imsi"));
  g_assert_false (json_object_get_boolean_member (sim, "active"));
}

static void
test_no_modemmanager (void)
{
  g_autoptr (RcReply) dial1
      = post_json ("/v1/calls/dial", "{\"from\":\"" LINE1 "\",\"to\":\"" REMOTE_MOBILE "\"}");
  g_autoptr (RcReply) dial2 = post_json (
      "/v1/calls/dial", "{\"from\":\"" LINE2 "\",\"to\":\"" REMOTE_DE "\",\"timeout_seconds\":30,"
                        "\"client_reference\":\"x\"}");
  g_autoptr (RcReply) dial3
      = post_json ("/v1/calls/dial", "{\"from\":\"" LINE3 "\",\"to\":\"" REMOTE_MOBILE "\"}");
  g_autoptr (RcReply) mismatch
      = post_json ("/v1/calls/dial", "{\"from\":\"" LINE1 "\",\"to\":\"" REMOTE_US "\"}");
  g_autoptr (RcReply) invalid
      = post_json ("/v1/calls/dial", "{\"from\":\"" LINE1 "\",\"to\":\"0301234567\"}");
  g_autoptr (RcReply) numbers = get ("/v1/numbers");
  g_autoptr (RcReply) one = get ("/v1/numbers/" LINE2);
  g_autoptr (RcReply) missing = get ("/v1/numbers/" LINE3);
  g_autoptr (RcReply) activate
      = req_full ("POST", "/v1/numbers/" LINE1 "/activate", fx.key, NULL, NULL, 0, NULL);
  g_autoptr (RcReply) activate_missing
      = req_full ("POST", "/v1/numbers/" LINE3 "/activate", fx.key, NULL, NULL, 0, NULL);
  g_autoptr (RcReply) health = req_full ("GET", "/v1/health", NULL, NULL, NULL, 0, NULL);
  g_autoptr (RcReply) list_after = get ("/v1/calls?per_page=1");
  JsonArray *lines;
  JsonObject *error;
  JsonObject *data;
  gboolean seen1 = FALSE;
  gboolean seen2 = FALSE;

  rc_reply_assert_error (dial1, 503, "modemmanager_unavailable");
  rc_reply_assert_error (dial2, 503, "modemmanager_unavailable");
  /* Without ModemManager the numbers SIMs report are unknown, so even a number that is not
   * configured gets 503 rather than 422 number_not_provisioned (commit f6bea6d). */
  rc_reply_assert_error (dial3, 503, "modemmanager_unavailable");
  error = rc_reply_assert_error (mismatch, 422, "country_mismatch");
  g_assert_cmpstr (json_object_get_string_member_with_default (error, "field", NULL), ==, "to");
  error = rc_reply_assert_error (invalid, 422, "invalid_number");
  g_assert_cmpstr (json_object_get_string_member_with_default (error, "field", NULL), ==, "to");

  /* A failed dial stores nothing. */
  g_assert_cmpint (json_object_get_int_member (rc_reply_meta (list_after), "total"), ==,
                   fx.reference->len);

  g_assert_cmpuint (numbers->status, ==, 200);
  lines = rc_reply_data_array (numbers);
  g_assert_cmpuint (json_array_get_length (lines), ==, 2);
  for (guint i = 0; i < json_array_get_length (lines); i++) {
    JsonObject *line = json_array_get_object_element (lines, i);
    const char *number = rc_json_string_or_null (line, "number");

    if (g_strcmp0 (number, LINE1) == 0) {
      assert_offline_number (line, LINE1, FALSE, 0);
      seen1 = TRUE;
    } else if (g_strcmp0 (number, LINE2) == 0) {
      assert_offline_number (line, LINE2, TRUE, 2);
      seen2 = TRUE;
    } else {
      g_error ("unexpected number %s", number);
    }
  }
  g_assert_true (seen1 && seen2);
  assert_offline_number (rc_reply_data_object (one), LINE2, TRUE, 2);
  rc_reply_assert_error (missing, 404, "not_found");
  rc_reply_assert_error (activate, 503, "number_unavailable");
  rc_reply_assert_error (activate_missing, 404, "not_found");

  g_assert_cmpuint (health->status, ==, 200);
  data = rc_reply_data_object (health);
  g_assert_cmpstr (rc_json_string_or_null (data, "status"), ==, "ok");
  g_assert_cmpstr (rc_json_string_or_null (data, "version"), ==, PACKAGE_VERSION);
  g_assert_cmpstr (rc_json_string_or_null (data, "modemmanager"), ==, "absent");
  g_assert_cmpint (json_object_get_int_member (data, "modems"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (data, "numbers_available"), ==, 0);
  g_assert_cmpstr (rc_json_string_or_null (data, "database"), ==, "ok");
  flush_documented ();
}

/* --- 5. bodies ----------------------------------------------------------------------------- */

static void
assert_still_serving (void)
{
  g_autoptr (RcReply) health = req_full ("GET", "/v1/health", NULL, NULL, NULL, 0, NULL);
  g_autoptr (RcReply) list = get ("/v1/calls?per_page=1");

  assert_daemon_alive (fx.daemon);
  g_assert_cmpuint (health->status, ==, 200);
  g_assert_cmpuint (list->status, ==, 200);
}

/* One raw HTTP/1.1 POST /v1/calls/dial with a chunked body of @n_chunks chunks of @chunk. */
static RcReply *
raw_chunked_dial (const char *chunk, guint n_chunks)
{
  g_autoptr (GSocketConnection) connection = raw_connect ();
  g_autofree char *head = g_strdup_printf ("POST /v1/calls/dial HTTP/1.1\r\n"
                                           "Host: 127.0.0.1\r\n"
                                           "Authorization: Bearer %s\r\n"
                                           "Content-Type: application/json\r\n"
                                           "Transfer-Encoding: chunked\r\n"
                                           "Connection: close\r\n\r\n",
                                           fx.key);
  g_autofree char *size = g_strdup_printf ("%zx\r\n", strlen (chunk));
  g_autoptr (GString) answer = NULL;
  RcReply *reply;

  g_assert_true (raw_write (connection, head, strlen (head)));
  for (guint i = 0; i < n_chunks; i++) {
    /* A daemon may answer 413 and stop reading before the last chunk. */
    if (!raw_write (connection, size, strlen (size))
        || !raw_write (connection, chunk, strlen (chunk)) || !raw_write (connection, "\r\n", 2))
      break;
  }
  raw_write (connection, "0\r\n\r\n", 5);
  answer = raw_read_all (connection);
  reply = raw_parse (answer);
  g_assert_nonnull (soup_message_headers_get_one (reply->headers, "X-Request-Id"));
  rc_api_client_queue_documented (fx.client, "POST", "/v1/calls/dial", reply);
  return reply;
}

static void
assert_dial_body (
    const char *content_type, const char *body, gssize length, guint status, const char *code)
{
  g_autoptr (RcReply) reply
      = req_full ("POST", "/v1/calls/dial", fx.key, content_type, body, length, NULL);

  if (reply->status != status || reply->root == NULL
      || g_strcmp0 (json_object_get_string_member_with_default (
                        json_object_get_object_member (json_node_get_object (reply->root), "error"),
                        "code", NULL),
                    code)
             != 0)
    g_error ("dial with %s body %.60s: expected %u %s, got %u: %s", content_type,
             body ? body : "(none)", status, code, reply->status, reply->body);
  rc_reply_assert_error (reply, status, code);
}

static void
test_bodies (void)
{
  const gsize limit = 16 * 1024;
  const char *dial_body = "{\"from\":\"" LINE1 "\",\"to\":\"" REMOTE_MOBILE "\"}";
  g_autofree char *mebibyte = g_strnfill (1024 * 1024, ' ');
  g_autofree char *at_limit = NULL;
  g_autofree char *over_limit = NULL;
  g_autoptr (GString) deep = g_string_new (NULL);
  g_autoptr (GString) brackets_in_string = g_string_new ("{\"from\":\"");

  /* 1 MiB with Content-Length: 413 on every POST route, before the key is even looked at. */
  {
    g_autofree char *hangup = g_strconcat ("/v1/calls/", fx.call_ended, "/hangup", NULL);
    const char *paths[] = { "/v1/calls/dial", hangup, "/v1/numbers/" LINE1 "/activate" };

    for (guint i = 0; i < G_N_ELEMENTS (paths); i++) {
      g_autoptr (RcReply) reply
          = req_full ("POST", paths[i], fx.key, "application/json", mebibyte, -1, NULL);
      g_autoptr (RcReply) anonymous
          = req_full ("POST", paths[i], NULL, "application/json", mebibyte, -1, NULL);

      rc_reply_assert_error (reply, 413, "payload_too_large");
      rc_reply_assert_error (anonymous, 413, "payload_too_large");
      assert_still_serving ();
    }
  }

  /* The limit itself: 16 KiB is accepted, one byte more is not. */
  at_limit = g_strdup_printf ("%s%*s", dial_body, (int)(limit - strlen (dial_body)), "");
  g_assert_cmpuint (strlen (at_limit), ==, limit);
  over_limit = g_strconcat (at_limit, " ", NULL);
  assert_dial_body ("application/json", at_limit, -1, 503, "modemmanager_unavailable");
  assert_dial_body ("application/json", over_limit, -1, 413, "payload_too_large");
  assert_still_serving ();

  /* Chunked: over the limit is 413 too; under it, the body is read like any other. */
  {
    g_autofree char *kib = g_strnfill (1024, ' ');
    g_autoptr (RcReply) large = raw_chunked_dial (kib, 64);
    g_autoptr (RcReply) small = raw_chunked_dial (dial_body, 1);

    rc_reply_assert_error (large, 413, "payload_too_large");
    rc_reply_assert_error (small, 503, "modemmanager_unavailable");
    assert_still_serving ();
  }
  {
    g_autofree char *kib = g_strnfill (1024, ' ');
    g_autoptr (RcReply) huge = raw_chunked_dial (kib, 2048); /* 2 MiB */

    rc_reply_assert_error (huge, 413, "payload_too_large");
    assert_still_serving ();
  }

  /* Depth: checked before parsing, and brackets inside strings do not count. */
  for (guint i = 0; i < 10000; i++)
    g_string_append_c (deep, '[');
  assert_dial_body ("application/json", deep->str, -1, 400, "json_too_deep");
  g_string_truncate (deep, 0);
  for (guint i = 0; i < 5000; i++)
    g_string_append (deep, "{\"a\":");
  g_string_truncate (deep, limit - 1);
  assert_dial_body ("application/json", deep->str, -1, 400, "json_too_deep");
  for (guint i = 0; i < 100; i++)
    g_string_append (brackets_in_string, "[{");
  g_string_append (brackets_in_string, "\\\"[\",\"to\":\"" REMOTE_MOBILE "\"}");
  assert_dial_body ("application/json", brackets_in_string->str, -1, 422, "invalid_number");

  /* Not JSON, not UTF-8, not an object, nothing at all. */
  assert_dial_body ("application/json", "{\"from\":\"\xc3\x28\",\"to\":\"" REMOTE_MOBILE "\"}", -1,
                    400, "invalid_json");
  assert_dial_body ("application/json", "{\"from\":\"\xc0\xaf\",\"to\":\"" REMOTE_MOBILE "\"}", -1,
                    400, "invalid_json");
  assert_dial_body ("application/json", "{\"from\":\"\xed\xa0\x80\",\"to\":\"1\"}", -1, 400,
                    "invalid_json");
  assert_dial_body ("application/json", "\xef\xbb\xbf\xff", -1, 400, "invalid_json");
  {
    static const char with_nul[] = "{\"from\":\"+49\0\",\"to\":\"" REMOTE_MOBILE "\"}";

    assert_dial_body ("application/json", with_nul, sizeof with_nul - 1, 400, "invalid_json");
  }
  assert_dial_body ("application/json", "", 0, 400, "invalid_json");
  assert_dial_body ("application/json", "   \r\n", -1, 400, "invalid_json");
  assert_dial_body ("application/json", "null", -1, 400, "invalid_json");
  assert_dial_body ("application/json", "[]", -1, 400, "invalid_json");
  assert_dial_body ("application/json", "\"text\"", -1, 400, "invalid_json");
  assert_dial_body ("application/json", "{\"from\":", -1, 400, "invalid_json");
  assert_dial_body ("application/json", NULL, 0, 400, "invalid_json");

  /* Content types. */
  assert_dial_body ("text/plain", dial_body, -1, 415, "unsupported_media_type");
  assert_dial_body ("application/x-www-form-urlencoded", dial_body, -1, 415,
                    "unsupported_media_type");
  assert_dial_body ("application/jsonp", dial_body, -1, 415, "unsupported_media_type");
  assert_dial_body (NULL, dial_body, -1, 415, "unsupported_media_type");
  assert_dial_body ("application/json; charset=utf-8", dial_body, -1, 503,
                    "modemmanager_unavailable");
  assert_dial_body ("Application/JSON", dial_body, -1, 503, "modemmanager_unavailable");
  assert_still_serving ();
  flush_documented ();
}

/* The depth limit itself (default 32): an object holding 31 nested arrays is 32 deep and gets
 * parsed, 32 arrays are too deep; siblings do not add up. */
static void
test_json_depth (void)
{
  g_autoptr (GString) depth_ok = g_string_new ("{\"a\":");
  g_autoptr (GString) depth_over = g_string_new ("{\"a\":");
  g_autoptr (GString) siblings = g_string_new ("{");

  for (guint i = 0; i < 31; i++)
    g_string_append_c (depth_ok, '[');
  for (guint i = 0; i < 31; i++)
    g_string_append_c (depth_ok, ']');
  g_string_append_c (depth_ok, '}');
  for (guint i = 0; i < 32; i++)
    g_string_append_c (depth_over, '[');
  for (guint i = 0; i < 32; i++)
    g_string_append_c (depth_over, ']');
  g_string_append_c (depth_over, '}');
  assert_dial_body ("application/json", depth_ok->str, -1, 400, "invalid_parameter");
  assert_dial_body ("application/json", depth_over->str, -1, 400, "json_too_deep");
  for (guint i = 0; i < 40; i++)
    g_string_append_printf (siblings, "%s\"k%u\":[{}]", i ? "," : "", i);
  g_string_append_c (siblings, '}');
  assert_dial_body ("application/json", siblings->str, -1, 400, "invalid_parameter");
  assert_dial_body ("application/json", "[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]", -1, 400,
                    "invalid_json");
  flush_documented ();
}

/* --- 6. garbage on the socket -------------------------------------------------------------- */

/* Sends @data on a fresh connection; with @read_answer reads until the daemon closes and
 * returns what it said (the daemon must close a connection it cannot parse). */
static GString *
raw_send (const void *data, gsize length, gboolean read_answer)
{
  g_autoptr (GSocketConnection) connection = raw_connect ();
  GString *answer = NULL;

  raw_write (connection, data, length);
  answer = read_answer ? raw_read_all (connection) : g_string_new (NULL);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  return answer;
}

static void
assert_bad_request_answer (GString *answer, const char *what)
{
  /* libsoup answers what it cannot parse itself (HTTP/1.0 400, no body) before any handler. */
  if (answer->len > 0 && !g_regex_match_simple ("^HTTP/1\\.[01] 4[0-9][0-9] ", answer->str, 0, 0))
    g_error ("%s: expected a 4xx answer or a closed connection, got %.200s", what, answer->str);
}

static void
test_garbage (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (SEED);
  g_autoptr (GString) headers
      = g_string_new ("GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
  guint8 noise[4096];

  /* Random bytes, then close. */
  for (guint round = 0; round < 8; round++) {
    for (guint i = 0; i < sizeof noise; i++)
      noise[i] = (guint8)g_rand_int_range (rand, 0, 256);
    g_string_free (raw_send (noise, sizeof noise, FALSE), TRUE);
    assert_still_serving ();
  }
  /* Random bytes that end like a request head: the daemon must answer or close, not hang. */
  for (guint i = 0; i < sizeof noise - 4; i++)
    noise[i] = (guint8)g_rand_int_range (rand, 1, 256);
  memcpy (noise + sizeof noise - 4, "\r\n\r\n", 4);
  {
    g_autoptr (GString) answer = raw_send (noise, sizeof noise, TRUE);

    assert_bad_request_answer (answer, "random head");
  }
  assert_still_serving ();

  /* Half a request line, then close. */
  g_string_free (raw_send ("GET /v1/hea", 11, FALSE), TRUE);
  assert_still_serving ();
  /* A whole request line and no more, then close. */
  g_string_free (raw_send ("GET /v1/health HTTP/1.1\r\n", 25, FALSE), TRUE);
  assert_still_serving ();

  /* A header without a colon. */
  {
    const char *request = "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                          "NoColonHere\r\n\r\n";
    g_autoptr (GString) answer = raw_send (request, strlen (request), TRUE);

    /* libsoup skips such a line; an answer of any kind, or none, will do. */
    if (answer->len > 0 && !g_str_has_prefix (answer->str, "HTTP/1."))
      g_error ("header without a colon: %.200s", answer->str);
  }
  assert_still_serving ();

  /* 100 KiB of headers, read to the end; then the same again, closed without reading. */
  for (guint i = 0; headers->len < 100 * 1024; i++)
    g_string_append_printf (headers, "X-Filler-%u: %0200u\r\n", i, i);
  g_string_append (headers, "\r\n");
  {
    g_autoptr (GString) answer = raw_send (headers->str, headers->len, TRUE);

    g_assert_nonnull (answer);
  }
  assert_still_serving ();
  g_string_free (raw_send (headers->str, headers->len, FALSE), TRUE);
  assert_still_serving ();
  /* One header line of 100 KiB. */
  {
    g_autoptr (GString) single
        = g_string_new ("GET /v1/health HTTP/1.1\r\nConnection: close\r\nX-Big: ");
    g_autoptr (GString) answer = NULL;

    for (guint i = 0; i < 100 * 1024; i++)
      g_string_append_c (single, 'a');
    g_string_append (single, "\r\n\r\n");
    answer = raw_send (single->str, single->len, TRUE);
    g_assert_nonnull (answer);
  }
  assert_still_serving ();

  /* A body shorter than its Content-Length, then close. */
  {
    g_autofree char *request = g_strdup_printf ("POST /v1/calls/dial HTTP/1.1\r\nHost: x\r\n"
                                                "Authorization: Bearer %s\r\n"
                                                "Content-Type: application/json\r\n"
                                                "Content-Length: 1000\r\n\r\n{\"from\":",
                                                fx.key);

    g_string_free (raw_send (request, strlen (request), FALSE), TRUE);
  }
  assert_still_serving ();
  /* A bad chunk size. */
  {
    g_autofree char *request = g_strdup_printf ("POST /v1/calls/dial HTTP/1.1\r\nHost: x\r\n"
                                                "Authorization: Bearer %s\r\n"
                                                "Content-Type: application/json\r\n"
                                                "Transfer-Encoding: chunked\r\n\r\n"
                                                "zz\r\n{}\r\n0\r\n\r\n",
                                                fx.key);
    g_autoptr (GString) answer = raw_send (request, strlen (request), TRUE);

    assert_bad_request_answer (answer, "bad chunk size");
  }
  assert_still_serving ();

  /* A stalled client does not block the others. */
  {
    g_autoptr (GSocketConnection) stalled = raw_connect ();

    const char *partial = "POST /v1/calls/dial HTTP/1.1\r\nHost: x\r\nContent-";

    g_assert_true (raw_write (stalled, partial, strlen (partial)));
    assert_still_serving ();
    g_io_stream_close (G_IO_STREAM (stalled), NULL, NULL);
  }
  assert_still_serving ();
  flush_documented ();
}

/* --- 7. idempotency ------------------------------------------------------------------------ */

#define REPLAY_KEY "replay-1"
#define REPLAY_BODY "{\"from\":\"" LINE1 "\",\"to\":\"" REMOTE_MOBILE "\"}"

static RcReply *
dial_with (const char *key, const char *idempotency_key, const char *body)
{
  const char *const headers[] = { "Idempotency-Key", idempotency_key, NULL };

  return req_full ("POST", "/v1/calls/dial", key, "application/json", body, -1,
                   idempotency_key ? headers : NULL);
}

static void
assert_not_replayed (RcReply *reply)
{
  g_assert_null (soup_message_headers_get_one (reply->headers, "Idempotent-Replayed"));
}

static void
test_idempotency (void)
{
  g_autofree char *long_key = g_strnfill (256, 'k');
  g_autofree char *max_key = g_strnfill (255, 'k');

  /* A stored answer is replayed byte for byte, every time, with the header. */
  for (guint i = 0; i < 2; i++) {
    g_autoptr (RcReply) replay = dial_with (fx.key, REPLAY_KEY, REPLAY_BODY);

    g_assert_cmpuint (replay->status, ==, 202);
    g_assert_cmpuint (replay->body_length, ==, strlen (fx.replay_body));
    g_assert_true (memcmp (replay->body, fx.replay_body, replay->body_length) == 0);
    g_assert_cmpstr (soup_message_headers_get_one (replay->headers, "Idempotent-Replayed"), ==,
                     "true");
    g_assert_cmpstr (soup_message_headers_get_content_type (replay->headers, NULL), ==,
                     "application/json");
  }
  /* The same key with another body: 422, naming the header. */
  {
    g_autoptr (RcReply) reused
        = dial_with (fx.key, REPLAY_KEY, "{\"from\":\"" LINE1 "\",\"to\":\"" REMOTE_DE "\"}");
    JsonObject *error = rc_reply_assert_error (reused, 422, "idempotency_key_reused");

    g_assert_cmpstr (json_object_get_string_member_with_default (error, "field", NULL), ==,
                     "Idempotency-Key");
    assert_not_replayed (reused);
  }
  /* Under another API key the same Idempotency-Key is a new request: evaluated afresh (503 with
   * no ModemManager), with the same or another body, never a conflict. */
  {
    g_autoptr (RcReply) same = dial_with (fx.key_b, REPLAY_KEY, REPLAY_BODY);
    g_autoptr (RcReply) other
        = dial_with (fx.key_b, REPLAY_KEY, "{\"from\":\"" LINE2 "\",\"to\":\"" REMOTE_DE "\"}");

    rc_reply_assert_error (same, 503, "modemmanager_unavailable");
    assert_not_replayed (same);
    rc_reply_assert_error (other, 503, "modemmanager_unavailable");
    assert_not_replayed (other);
  }
  /* Only answers of dials that happened are stored: a failure is evaluated again on retry. */
  {
    g_autoptr (RcReply) first = dial_with (fx.key, "fresh-1", REPLAY_BODY);
    g_autoptr (RcReply) retry = dial_with (fx.key, "fresh-1", REPLAY_BODY);
    g_autoptr (RcReply) changed
        = dial_with (fx.key, "fresh-1", "{\"from\":\"" LINE1 "\",\"to\":\"" REMOTE_US "\"}");
    g_autoptr (RcReply) invalid_first = dial_with (fx.key, "fresh-2", "{\"from\":1}");
    g_autoptr (RcReply) invalid_retry = dial_with (fx.key, "fresh-2", REPLAY_BODY);

    rc_reply_assert_error (first, 503, "modemmanager_unavailable");
    rc_reply_assert_error (retry, 503, "modemmanager_unavailable");
    assert_not_replayed (retry);
    rc_reply_assert_error (changed, 422, "country_mismatch");
    rc_reply_assert_error (invalid_first, 400, "invalid_parameter");
    rc_reply_assert_error (invalid_retry, 503, "modemmanager_unavailable");
    assert_not_replayed (invalid_retry);
  }
  /* Bad keys: too long, empty, spaces, control or non-ASCII characters. */
  {
    const char *const bad[] = { long_key, "with space", "tab\there", "del\x7f", "schlüssel" };

    for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
      g_autoptr (RcReply) reply = dial_with (fx.key, bad[i], REPLAY_BODY);
      JsonObject *error;

      if (reply->status != 400)
        g_error ("Idempotency-Key %s: expected 400, got %u: %s", bad[i], reply->status,
                 reply->body);
      error = rc_reply_assert_error (reply, 400, "invalid_parameter");
      g_assert_cmpstr (json_object_get_string_member_with_default (error, "field", NULL), ==,
                       "Idempotency-Key");
    }
  }
  /* Control characters libsoup will not send, and an empty value, written by hand. */
  {
    const char *const raw_keys[] = { "ctl\x01key", "esc\x1b", "" };

    for (guint i = 0; i < G_N_ELEMENTS (raw_keys); i++) {
      g_autoptr (GSocketConnection) connection = raw_connect ();
      g_autofree char *request
          = g_strdup_printf ("POST /v1/calls/dial HTTP/1.1\r\n"
                             "Host: 127.0.0.1\r\n"
                             "Authorization: Bearer %s\r\n"
                             "Idempotency-Key: %s\r\n"
                             "Content-Type: application/json\r\n"
                             "Content-Length: %zu\r\n"
                             "Connection: close\r\n\r\n%s",
                             fx.key, raw_keys[i], strlen (REPLAY_BODY), REPLAY_BODY);
      g_autoptr (GString) answer = NULL;
      g_autoptr (RcReply) reply = NULL;

      g_assert_true (raw_write (connection, request, strlen (request)));
      answer = raw_read_all (connection);
      if (!g_str_has_prefix (answer->str, "HTTP/1.1 400"))
        g_error ("Idempotency-Key %d: expected 400, got %.300s", i, answer->str);
      reply = raw_parse (answer);
      rc_reply_assert_error (reply, 400, "invalid_parameter");
      rc_api_client_queue_documented (fx.client, "POST", "/v1/calls/dial", reply);
    }
  }
  /* 255 printable characters are fine. */
  {
    g_autoptr (RcReply) reply = dial_with (fx.key, max_key, REPLAY_BODY);

    rc_reply_assert_error (reply, 503, "modemmanager_unavailable");
  }
  flush_documented ();
}

/* One JSON text per body (RFC 8259 §2): anything after the object is an error, not ignored. */
static void
test_json_trailing_data (void)
{
  assert_dial_body ("application/json", "{} {}", -1, 400, "invalid_json");
  assert_dial_body ("application/json", REPLAY_BODY "[]", -1, 400, "invalid_json");
  assert_dial_body ("application/json", REPLAY_BODY " {\"colour\":1}", -1, 400, "invalid_json");
  assert_dial_body ("application/json", REPLAY_BODY " 1", -1, 400, "invalid_json");
  flush_documented ();
}

/* --- 8. lifecycle -------------------------------------------------------------------------- */

static char *
scratch_path (const char *name)
{
  return g_build_filename (rc_harness_get_dir (fx.harness), name, NULL);
}

static GBytes *
file_bytes (const char *path)
{
  g_autoptr (GError) error = NULL;
  char *contents = NULL;
  gsize length = 0;

  g_assert_true (g_file_get_contents (path, &contents, &length, &error));
  g_assert_no_error (error);
  return g_bytes_new_take (contents, length);
}

static void
assert_refused_config (const char *name, const char *text, const char *needle)
{
  g_autofree char *config = scratch_path (name);
  g_autofree char *database = scratch_path ("refused.db");
  g_autofree char *config_arg = g_strdup_printf ("--config=%s", config);
  g_autofree char *database_arg = g_strdup_printf ("--database=%s", database);
  const char *args[] = { config_arg, database_arg, "--listen=127.0.0.1:0", "--print-ready", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status;

  write_file (config, text);
  status = run_to_exit (args, &out, &err);
  if (status == 0 || strstr (err, needle) == NULL || strstr (out, "READY") != NULL)
    g_error ("config %s: expected a failure naming %s, got status %d, stdout %s, stderr %s", name,
             needle, status, out, err);
}

typedef struct {
  const char *number;
  gboolean present;
} NumberWait;

static gboolean
number_listed (const char *number)
{
  g_autoptr (RcReply) reply = get ("/v1/numbers");
  JsonArray *lines = rc_reply_data_array (reply);

  for (guint i = 0; i < json_array_get_length (lines); i++)
    if (g_strcmp0 (
            json_object_get_string_member (json_array_get_object_element (lines, i), "number"),
            number)
        == 0)
      return TRUE;
  return FALSE;
}

static gboolean
number_listed_cb (gpointer user_data)
{
  NumberWait *wait = user_data;

  return number_listed (wait->number) == wait->present;
}

static guint
numbers_count (void)
{
  g_autoptr (RcReply) reply = get ("/v1/numbers");

  return json_array_get_length (rc_reply_data_array (reply));
}

static void
test_lifecycle (void)
{
  g_autofree char *main_url = g_strdup (rc_api_client_get_base_url (fx.client));
  char *main_key = NULL;

  /* --version */
  {
    const char *args[] = { "--version", NULL };
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;

    g_assert_cmpint (run_to_exit (args, &out, &err), ==, 0);
    g_assert_cmpstr (out, ==, "reachcelld " PACKAGE_VERSION "\n");
  }

  /* Bad configuration files stop the start, naming [group] key. */
  assert_refused_config ("unknown-key.conf", "[api]\ncolour=blue\n", "[api] colour");
  assert_refused_config ("bad-value.conf", "[api]\nmax-body-bytes=lots\n", "[api] max-body-bytes");
  assert_refused_config ("out-of-range.conf", "[api]\nmax-json-depth=1\n", "[api] max-json-depth");
  assert_refused_config ("bad-bool.conf", "[daemon]\nlog-personal-info=maybe\n",
                         "[daemon] log-personal-info");
  assert_refused_config ("number-no-sim.conf", "[number:" LINE4 "]\nslot=2\n",
                         "[number:" LINE4 "]");
  assert_refused_config ("bad-tariff.conf",
                         "[number:" LINE4 "]\niccid=1\ntariff-usd-per-minute=free\n",
                         "[number:" LINE4 "] tariff-usd-per-minute");
  assert_refused_config ("unknown-group.conf", "[colour]\nred=1\n", "[colour]");
  assert_refused_config ("not-keyfile.conf", "this is not a key file\n", "not-keyfile.conf");

  /* A database from a newer build: refused, and left exactly as it was. */
  {
    g_autofree char *database = scratch_path ("newer.db");
    g_autofree char *config = scratch_path ("newer.conf");
    g_autofree char *config_arg = g_strdup_printf ("--config=%s", config);
    g_autofree char *database_arg = g_strdup_printf ("--database=%s", database);
    const char *args[] = { config_arg, database_arg, "--listen=127.0.0.1:0", NULL };
    g_autoptr (GBytes) before = NULL;
    g_autoptr (GBytes) after = NULL;
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    sqlite3 *db = NULL;

    write_file (config, "");
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (RcStore) store = rc_store_new (database, &error);

      g_assert_no_error (error);
      g_free (rc_store_create_key (store, "newer", NULL, &error));
      g_assert_no_error (error);
    }
    g_assert_cmpint (sqlite3_open (database, &db), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_exec (db, "PRAGMA user_version = 99", NULL, NULL, NULL), ==,
                     SQLITE_OK);
    g_assert_cmpint (sqlite3_close (db), ==, SQLITE_OK);
    before = file_bytes (database);
    g_assert_cmpint (run_to_exit (args, &out, &err), !=, 0);
    if (strstr (err, "newer") == NULL)
      g_error ("no \"newer\" in: %s", err);
    after = file_bytes (database);
    g_assert_true (g_bytes_equal (before, after));
    g_assert_true (g_file_test (database, G_FILE_TEST_EXISTS));
  }
  /* Not a database at all: refused, never replaced. */
  {
    g_autofree char *database = scratch_path ("garbage.db");
    g_autofree char *config = scratch_path ("newer.conf");
    g_autofree char *config_arg = g_strdup_printf ("--config=%s", config);
    g_autofree char *database_arg = g_strdup_printf ("--database=%s", database);
    const char *args[] = { config_arg, database_arg, "--listen=127.0.0.1:0", NULL };
    g_autoptr (GBytes) before = NULL;
    g_autoptr (GBytes) after = NULL;
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autofree char *noise = g_strnfill (8192, 'x');

    write_file (database, noise);
    before = file_bytes (database);
    g_assert_cmpint (run_to_exit (args, &out, &err), !=, 0);
    after = file_bytes (database);
    g_assert_true (g_bytes_equal (before, after));
  }

  /* SIGTERM and SIGINT: a clean stop, exit 0, within 5 s. */
  {
    const int signals[] = { SIGTERM, SIGINT };

    for (guint i = 0; i < G_N_ELEMENTS (signals); i++) {
      g_autofree char *name = g_strdup_printf ("stop-%d.db", signals[i]);
      g_autofree char *database = scratch_path (name);
      g_autofree char *config = scratch_path ("newer.conf");
      g_autoptr (Daemon) daemon = start_daemon (config, database);

      rc_api_client_set_base_url (fx.client, daemon->url);
      {
        g_autoptr (RcReply) health = req_full ("GET", "/v1/health", NULL, NULL, NULL, 0, NULL);

        g_assert_cmpuint (health->status, ==, 200);
      }
      g_subprocess_send_signal (daemon->process, signals[i]);
      if (!rc_harness_wait_process (daemon->process, 5))
        g_error ("reachcelld did not stop within 5 s of signal %d", signals[i]);
      g_assert_true (g_subprocess_get_if_exited (daemon->process));
      g_assert_cmpint (g_subprocess_get_exit_status (daemon->process), ==, 0);
    }
  }

  /* SIGHUP: a valid file is taken (numbers, limits); a broken one is refused with a warning and
   * the running configuration stays. */
  {
    g_autofree char *database = scratch_path ("reload.db");
    g_autofree char *config = scratch_path ("reload.conf");
    g_autofree char *reload_key = NULL;
    g_autoptr (Daemon) daemon = NULL;
    g_autofree char *body_2k = NULL;
    NumberWait added = { LINE4, TRUE };
    FileWait warned = { NULL, "reload failed" };
    g_autofree char *log = NULL;

    {
      g_autoptr (GError) error = NULL;
      g_autoptr (RcStore) store = rc_store_new (database, &error);

      g_assert_no_error (error);
      reload_key = rc_store_create_key (store, "reload", NULL, &error);
      g_assert_no_error (error);
    }
    write_file (config, "[number:" LINE1 "]\niccid=" LINE1_ICCID "\n");
    daemon = start_daemon (config, database);
    rc_api_client_set_base_url (fx.client, daemon->url);
    main_key = fx.key;
    fx.key = reload_key; /* get () and post_json () use fx.key; restored below */
    body_2k = g_strdup_printf ("%-2048s", REPLAY_BODY);

    g_assert_cmpuint (numbers_count (), ==, 1);
    g_assert_false (number_listed (LINE4));
    {
      g_autoptr (RcReply) before = post_json ("/v1/calls/dial", body_2k);

      rc_reply_assert_error (before, 503, "modemmanager_unavailable");
    }

    write_file (config, "[api]\nmax-body-bytes=1024\nrate-limit=0\n\n"
                        "[number:" LINE1 "]\niccid=" LINE1_ICCID "\n\n"
                        "[number:" LINE4 "]\nmodem=" MODEM_ID "\nslot=2\n");
    g_subprocess_send_signal (daemon->process, SIGHUP);
    if (!rc_harness_wait_for (number_listed_cb, &added, RC_HARNESS_TIMEOUT))
      g_error ("the reloaded number never appeared");
    g_assert_cmpuint (numbers_count (), ==, 2);
    {
      g_autoptr (RcReply) dial
          = post_json ("/v1/calls/dial", "{\"from\":\"" LINE4 "\",\"to\":\"" REMOTE_MOBILE "\"}");
      g_autoptr (RcReply) large = post_json ("/v1/calls/dial", body_2k);

      rc_reply_assert_error (dial, 503, "modemmanager_unavailable");
      rc_reply_assert_error (large, 413, "payload_too_large");
    }

    write_file (config, "[api]\nmax-body-bytes=4096\nmax-json-depth=1\nrate-limit=0\n\n"
                        "[number:" LINE1 "]\niccid=" LINE1_ICCID "\n");
    warned.path = daemon->log_path;
    g_subprocess_send_signal (daemon->process, SIGHUP);
    if (!rc_harness_wait_for (file_contains, &warned, RC_HARNESS_TIMEOUT))
      g_error ("no warning after a broken reload");
    log = file_text (daemon->log_path);
    g_assert_nonnull (strstr (log, "[api] max-json-depth"));
    assert_daemon_alive (daemon->process);
    g_assert_cmpuint (numbers_count (), ==, 2);
    g_assert_true (number_listed (LINE4));
    {
      g_autoptr (RcReply) dial
          = post_json ("/v1/calls/dial", "{\"from\":\"" LINE4 "\",\"to\":\"" REMOTE_MOBILE "\"}");
      g_autoptr (RcReply) large = post_json ("/v1/calls/dial", body_2k);

      rc_reply_assert_error (dial, 503, "modemmanager_unavailable");
      rc_reply_assert_error (large, 413, "payload_too_large");
    }

    g_subprocess_send_signal (daemon->process, SIGTERM);
    g_assert_true (rc_harness_wait_process (daemon->process, 5));
    g_assert_cmpint (g_subprocess_get_exit_status (daemon->process), ==, 0);
    fx.key = main_key;
  }

  rc_api_client_set_base_url (fx.client, main_url);
  flush_documented ();
}

/* --- 9. unknown routes and methods --------------------------------------------------------- */

static void
test_routes_and_methods (void)
{
  const char *const unknown[] = { "/",
                                  "/v2/calls",
                                  "/v1/calls/x/y/z",
                                  "/v1",
                                  "/v1/",
                                  "/v1/numbers/x/y/z",
                                  "/v1/callsx",
                                  "/v1/health/x",
                                  "/v1/webhooksx",
                                  "/v1/calls/x/hangup/now",
                                  "/v1/numbers/" LINE1 "/deactivate",
                                  "/v1/calls/x/reject" };
  const char *const methods[] = { "GET", "POST", "PUT", "DELETE", "PATCH" };
  g_autofree char *call = g_strconcat ("/v1/calls/", fx.call_ended, NULL);
  g_autofree char *hangup = g_strconcat ("/v1/calls/", fx.call_ended, "/hangup", NULL);
  g_autofree char *answer = g_strconcat ("/v1/calls/", fx.call_ended, "/answer", NULL);
  const struct {
    const char *path;
    const char *allowed;
  } routes[] = {
    { "/v1/calls", "GET" },
    { "/v1/calls/dial", "POST" },
    { call, "GET" },
    { hangup, "POST" },
    { answer, "POST" },
    { "/v1/numbers", "GET" },
    { "/v1/numbers/" LINE1, "GET" },
    { "/v1/numbers/" LINE1 "/activate", "POST" },
    { "/v1/health", "GET" },
    { "/v1/openapi.json", "GET" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (unknown); i++) {
    g_autoptr (RcReply) reply = req_full ("GET", unknown[i], fx.key, NULL, NULL, 0, NULL);
    g_autoptr (RcReply) posted = req_full ("POST", unknown[i], fx.key, NULL, NULL, 0, NULL);

    if (reply->status != 404 || posted->status != 404)
      g_error ("%s: expected 404, got %u / %u: %s", unknown[i], reply->status, posted->status,
               reply->body);
    rc_reply_assert_error (reply, 404, "not_found");
    rc_reply_assert_error (posted, 404, "not_found");
  }

  for (guint r = 0; r < G_N_ELEMENTS (routes); r++) {
    for (guint m = 0; m < G_N_ELEMENTS (methods); m++) {
      g_autoptr (RcReply) reply = NULL;

      if (g_str_equal (methods[m], routes[r].allowed))
        continue;
      reply = req_full (methods[m], routes[r].path, fx.key, NULL, NULL, 0, NULL);
      if (reply->status != 405)
        g_error ("%s %s: expected 405, got %u: %s", methods[m], routes[r].path, reply->status,
                 reply->body);
      rc_reply_assert_error (reply, 405, "method_not_allowed");
      g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "Allow"), ==,
                       routes[r].allowed);
    }
  }
  flush_documented ();
}

/* --- fixture ------------------------------------------------------------------------------- */

static gboolean
reconciled_calls_failed (gpointer user_data)
{
  GHashTableIter iter;
  const char *call_id;

  g_hash_table_iter_init (&iter, fx.reconciled);
  while (g_hash_table_iter_next (&iter, (gpointer *)&call_id, NULL)) {
    g_autofree char *path = g_strconcat ("/v1/calls/", call_id, NULL);
    g_autoptr (RcReply) reply
        = rc_api_client_request (fx.client, "GET", path, fx.key, NULL, NULL, 0, NULL);

    if (reply->status != 200
        || g_strcmp0 (json_object_get_string_member (rc_reply_data_object (reply), "status"),
                      "failed")
               != 0)
      return FALSE;
  }
  return TRUE;
}

static void
fixture_setup (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RcStore) store = NULL;
  g_autoptr (GRand) rand = g_rand_new_with_seed (SEED);
  g_autoptr (GArray) times = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (GPtrArray) late = g_ptr_array_new ();
  g_autoptr (Daemon) daemon = NULL;
  FileWait absent = { NULL, "ModemManager is not running" };

  fx.harness = rc_harness_new ("api-contract");
  rc_harness_start_bus (fx.harness);
  fx.reference = g_ptr_array_new_with_free_func ((GDestroyNotify)rc_call_free);
  fx.reconciled = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  fx.database = scratch_path ("reachcelld.db");
  fx.config = scratch_path ("reachcelld.conf");
  /* No per-key rate limit: these cases make thousands of requests in seconds. */
  write_file (fx.config, "[daemon]\nlog-personal-info=true\n\n[api]\nrate-limit=0\n\n"
                         "[number:" LINE1 "]\niccid=" LINE1_ICCID "\n\n"
                         "[number:" LINE2 "]\nmodem=" MODEM_ID "\nslot=2\n");

  store = rc_store_new (fx.database, &error);
  g_assert_no_error (error);
  fx.key = rc_store_create_key (store, "contract-a", &fx.key_id, &error);
  g_assert_no_error (error);
  fx.key_b = rc_store_create_key (store, "contract-b", &fx.key_b_id, &error);
  g_assert_no_error (error);
  fx.key_revoke = rc_store_create_key (store, "contract-revoke", &fx.key_revoke_id, &error);
  g_assert_no_error (error);

  /* The history: closed calls now, open ones once the daemon has settled (it ends any open
   * call it finds at start when ModemManager is absent). */
  g_assert_true (rc_store_begin (store, &error));
  for (guint i = 0; i < N_GENERATED; i++) {
    RcCall *call = generate_call (rand, i, times);

    if (rc_call_is_terminal (call))
      save (store, call);
    else
      g_ptr_array_add (late, call);
  }
  save_special_calls (store, FALSE);
  g_assert_true (rc_store_commit (store, &error));
  g_assert_no_error (error);

  /* A stored idempotent answer (a successful dial cannot happen without ModemManager). */
  {
    g_autofree char *digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256, REPLAY_BODY, -1);
    g_autofree char *call_json = rc_json_call_to_string (reference_call (fx.call_ended), 0);

    fx.replay_body = g_strdup_printf ("{\"success\":true,\"data\":%s}", call_json);
    g_assert_true (rc_store_put_idempotent (store, fx.key_id, REPLAY_KEY, digest, 202,
                                            fx.replay_body, &error));
    g_assert_no_error (error);
  }
  g_clear_object (&store);

  daemon = start_daemon (fx.config, fx.database);
  fx.daemon = g_object_ref (daemon->process);
  fx.log_path = g_strdup (daemon->log_path);
  fx.client = rc_api_client_new (daemon->url, RC_SOURCE_DATADIR "/openapi.json");
  absent.path = fx.log_path;
  if (!rc_harness_wait_for (file_contains, &absent, RC_HARNESS_TIMEOUT))
    g_error ("the daemon never noticed that ModemManager is absent");
  if (!rc_harness_wait_for (reconciled_calls_failed, NULL, RC_HARNESS_TIMEOUT))
    g_error ("open calls stored before the start were never ended");

  store = rc_store_new (fx.database, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < late->len; i++)
    save (store, g_ptr_array_index (late, i));
  save_special_calls (store, TRUE);
  g_clear_object (&store);
  {
    g_autoptr (GHashTable) save_position = g_hash_table_new (NULL, NULL);

    for (guint i = 0; i < fx.reference->len; i++)
      g_hash_table_insert (save_position, fx.reference->pdata[i], GUINT_TO_POINTER (i + 1));
    g_ptr_array_sort_with_data (fx.reference, compare_newest_first, save_position);
  }
}

static GSocketConnection *
raw_connect_url (const char *url)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GError) error = NULL;
  GSocketConnection *connection;

  g_socket_client_set_timeout (client, RC_HARNESS_TIMEOUT);
  connection
      = g_socket_client_connect_to_host (client, "127.0.0.1", g_uri_get_port (uri), NULL, &error);
  g_assert_no_error (error);
  return connection;
}

/* A whole request on a fresh connection: the answer's status, or 0 if the server closed the
 * connection without answering. */
static guint
raw_request_status (const char *url, const char *key)
{
  g_autoptr (GSocketConnection) connection = raw_connect_url (url);
  g_autofree char *request = g_strdup_printf ("GET /v1/calls HTTP/1.1\r\nHost: x\r\n"
                                              "Authorization: Bearer %s\r\n"
                                              "Connection: close\r\n\r\n",
                                              key);
  g_autoptr (GString) answer = NULL;

  if (!raw_write (connection, request, strlen (request)))
    return 0;
  answer = raw_read_all (connection);
  if (!g_str_has_prefix (answer->str, "HTTP/1.1 "))
    return 0;
  return (guint)g_ascii_strtoull (answer->str + 9, NULL, 10);
}

typedef struct {
  GPtrArray *connections; /* GSocketConnection */
} SlowWait;

/* TRUE once the server closed every slow connection (a read sees end of file, not a timeout). */
static gboolean
slow_connections_closed (gpointer user_data)
{
  SlowWait *wait = user_data;

  for (guint i = 0; i < wait->connections->len; i++) {
    GSocketConnection *connection = g_ptr_array_index (wait->connections, i);
    GSocket *socket = g_socket_connection_get_socket (connection);
    char byte;
    gssize n;

    if (!g_socket_condition_check (socket, G_IO_IN | G_IO_HUP | G_IO_ERR))
      return FALSE;
    n = g_socket_receive (socket, &byte, 1, NULL, NULL);
    if (n > 0)
      return FALSE; /* unexpected data: let the next poll see the close */
  }
  return TRUE;
}

typedef struct {
  const char *url;
  const char *key;
} RoomWait;

static gboolean
request_served (gpointer user_data)
{
  RoomWait *room = user_data;

  return raw_request_status (room->url, room->key) == 200;
}

static Daemon *
start_keyed_daemon (const char *name, const char *config_text, char **out_key)
{
  g_autofree char *config_name = g_strconcat (name, ".conf", NULL);
  g_autofree char *database_name = g_strconcat (name, ".db", NULL);
  g_autofree char *config = scratch_path (config_name);
  g_autofree char *database = scratch_path (database_name);
  g_autoptr (GError) error = NULL;
  g_autoptr (RcStore) store = NULL;

  write_file (config, config_text);
  store = rc_store_new (database, &error);
  g_assert_no_error (error);
  *out_key = rc_store_create_key (store, name, NULL, &error);
  g_assert_no_error (error);
  return start_daemon (config, database);
}

/* Slow clients (slow-loris) and idle ones cannot starve real clients: 256 connections that
 * never finish their headers, or never send anything, while an authenticated client is served;
 * past [api] max-connections new connections are closed unanswered. (Timeouts long here, so
 * that nothing is closed by them while the limit is checked.) */
static void
test_slow_clients (void)
{
  g_autofree char *key = NULL;
  g_autoptr (Daemon) daemon = start_keyed_daemon (
      "slow", "[api]\nmax-connections=258\nheader-timeout=300\nidle-timeout=300\nrate-limit=0\n",
      &key);
  g_autoptr (RcApiClient) client
      = rc_api_client_new (daemon->url, RC_SOURCE_DATADIR "/openapi.json");
  g_autoptr (GPtrArray) slow = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GPtrArray) extra = g_ptr_array_new_with_free_func (g_object_unref);
  guint refused = 0;

  for (guint i = 0; i < 256; i++) {
    GSocketConnection *connection = raw_connect_url (daemon->url);
    const char *partial = "GET /v1/calls HTTP/1.1\r\nHost: x\r\nX-Slow: ";

    /* Half of them start a request and never finish its headers; half say nothing. */
    if (i % 2 == 0)
      g_assert_true (raw_write (connection, partial, strlen (partial)));
    g_ptr_array_add (slow, connection);
  }
  for (guint i = 0; i < 3; i++) {
    g_autoptr (RcReply) reply
        = rc_api_client_request (client, "GET", "/v1/calls", key, NULL, NULL, 0, NULL);

    g_assert_cmpuint (reply->status, ==, 200);
  }
  /* 256 slow + the client's connection: of 4 more, those past the limit of 258 are closed at
   * once (end of file), the one within it stays open and silent. Nothing is written, so no
   * connection closes and frees room meanwhile. */
  for (guint i = 0; i < 4; i++)
    g_ptr_array_add (extra, raw_connect_url (daemon->url));
  for (guint i = 0; i < extra->len; i++) {
    GSocket *socket = g_socket_connection_get_socket (g_ptr_array_index (extra, i));
    char byte;

    if (g_socket_condition_timed_wait (socket, G_IO_IN, 2 * G_USEC_PER_SEC, NULL, NULL)
        && g_socket_receive (socket, &byte, 1, NULL, NULL) <= 0)
      refused++;
  }
  g_assert_cmpuint (refused, >=, 2);
  g_assert_cmpuint (refused, <=, 3);

  /* Once slow clients go, the room is there again. */
  g_ptr_array_set_size (slow, 0);
  g_ptr_array_set_size (extra, 0);
  {
    g_autoptr (RcReply) reply = NULL;

    RoomWait room = { daemon->url, key };

    /* The server notices the closed sockets as it reads them: poll until there is room. */
    g_assert_true (rc_harness_wait_for (request_served, &room, RC_HARNESS_TIMEOUT));
    reply = rc_api_client_request (client, "GET", "/v1/health", NULL, NULL, NULL, 0, NULL);
    g_assert_cmpuint (reply->status, ==, 200);
  }
}

/* The server closes a connection whose headers do not complete within [api] header-timeout, one
 * that sends nothing within [api] idle-timeout, and one idle that long after an answer. */
static void
test_slow_clients_closed (void)
{
  g_autofree char *key = NULL;
  g_autoptr (Daemon) daemon = start_keyed_daemon (
      "slow-closed", "[api]\nheader-timeout=1\nidle-timeout=2\nrate-limit=0\n", &key);
  g_autoptr (GPtrArray) slow = g_ptr_array_new_with_free_func (g_object_unref);
  SlowWait wait = { slow };

  for (guint i = 0; i < 16; i++) {
    GSocketConnection *connection = raw_connect_url (daemon->url);
    const char *partial = "GET /v1/calls HTTP/1.1\r\nHost: x\r\nX-Slow: ";

    if (i % 2 == 0)
      g_assert_true (raw_write (connection, partial, strlen (partial)));
    g_ptr_array_add (slow, connection);
  }
  g_assert_true (rc_harness_wait_for (slow_connections_closed, &wait, RC_HARNESS_TIMEOUT));
  g_assert_cmpuint (raw_request_status (daemon->url, key), ==, 200);

  /* A kept-alive connection is closed idle-timeout seconds after its last answer, too: the
   * answer arrives, then end of file (not the client's read timeout). */
  {
    g_autoptr (GSocketConnection) used = raw_connect_url (daemon->url);
    GInputStream *input = g_io_stream_get_input_stream (G_IO_STREAM (used));
    g_autofree char *request = g_strdup_printf ("GET /v1/calls HTTP/1.1\r\nHost: x\r\n"
                                                "Authorization: Bearer %s\r\n\r\n",
                                                key);
    g_autoptr (GString) answer = g_string_new (NULL);
    g_autoptr (GError) error = NULL;
    char buffer[4096];
    gssize n;

    g_assert_true (raw_write (used, request, strlen (request)));
    while ((n = g_input_stream_read (input, buffer, sizeof buffer, NULL, &error)) > 0)
      g_string_append_len (answer, buffer, n);
    g_assert_no_error (error);
    g_assert_cmpint (n, ==, 0);
    g_assert_true (g_str_has_prefix (answer->str, "HTTP/1.1 200"));
  }
  g_assert_nonnull (g_subprocess_get_identifier (daemon->process));
}

/* The bytes of @path hold @needle (binary-safe: databases, logs). */
static gboolean
file_holds (const char *path, const char *needle)
{
  g_autofree char *contents = NULL;
  gsize length = 0;

  if (!g_file_get_contents (path, &contents, &length, NULL))
    return FALSE;
  for (gsize i = 0; i + strlen (needle) <= length; i++) {
    if (memcmp (contents + i, needle, strlen (needle)) == 0)
      return TRUE;
  }
  return FALSE;
}

/* Privacy with the default configuration: API keys and webhook secrets never reach the log,
 * keys are stored only as digests, and phone numbers in the log are masked. */
static void
test_privacy (void)
{
  g_autofree char *key = NULL;
  g_autoptr (Daemon) daemon = start_keyed_daemon ("privacy",
                                                  "[number:+4915100000077]\n"
                                                  "iccid=8949020000777777777\n",
                                                  &key);
  g_autoptr (RcApiClient) client
      = rc_api_client_new (daemon->url, RC_SOURCE_DATADIR "/openapi.json");
  g_autoptr (RcReply) webhook = NULL;
  g_autoptr (RcReply) dial = NULL;
  g_autoptr (RcReply) bad = NULL;
  g_autofree char *database = scratch_path ("privacy.db");
  g_autofree char *wal = g_strconcat (database, "-wal", NULL);
  const char *secret;

  webhook = rc_api_client_request (client, "POST", "/v1/webhooks", key, "application/json",
                                   "{\"url\":\"http://127.0.0.1:9/hook\"}", -1, NULL);
  g_assert_cmpuint (webhook->status, ==, 201);
  secret = json_object_get_string_member (rc_reply_data_object (webhook), "secret");
  dial
      = rc_api_client_request (client, "POST", "/v1/calls/dial", key, "application/json",
                               "{\"from\":\"+4915100000077\",\"to\":\"+4915199988877\"}", -1, NULL);
  g_assert_cmpuint (dial->status, ==, 503);
  bad = rc_api_client_request (client, "GET", "/v1/calls", "ak_wrong", NULL, NULL, 0, NULL);
  g_assert_cmpuint (bad->status, ==, 401);

  /* Stop the daemon so that everything it would log is written. */
  g_subprocess_send_signal (daemon->process, SIGTERM);
  g_assert_true (rc_harness_wait_process (daemon->process, RC_HARNESS_TIMEOUT));
  g_assert_true (g_file_test (daemon->log_path, G_FILE_TEST_EXISTS));
  g_assert_false (file_holds (daemon->log_path, key));
  g_assert_false (file_holds (daemon->log_path, key + strlen ("ak_")));
  g_assert_false (file_holds (daemon->log_path, secret));
  g_assert_false (file_holds (daemon->log_path, "ak_wrong"));
  g_assert_false (file_holds (daemon->log_path, "+4915199988877"));
  g_assert_false (file_holds (database, key));
  g_assert_false (file_holds (wal, key));
}

/* Reads one HTTP/1.1 answer (headers and a Content-Length body) and returns its status. */
static guint
raw_read_one (GSocketConnection *connection)
{
  GInputStream *input = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  g_autoptr (GString) text = g_string_new (NULL);
  const char *end = NULL;
  gsize wanted = 0;

  for (;;) {
    char buffer[4096];
    gssize n;

    if (end == NULL && (end = strstr (text->str, "\r\n\r\n")) != NULL) {
      const char *length = strstr (text->str, "Content-Length: ");

      g_assert_nonnull (length);
      wanted = (end - text->str) + 4 + g_ascii_strtoull (length + 16, NULL, 10);
    }
    if (end != NULL && text->len >= wanted)
      break;
    n = g_input_stream_read (input, buffer, sizeof buffer, NULL, NULL);
    if (n <= 0)
      return 0;
    g_string_append_len (text, buffer, n);
  }
  g_assert_true (g_str_has_prefix (text->str, "HTTP/1.1 "));
  return (guint)g_ascii_strtoull (text->str + 9, NULL, 10);
}

/* HTTP/1.1 keep-alive: several requests on one connection (clients and load balancers rely on
 * it; libsoup 3.2 closes connections of a server with no listener of its own). */
static void
test_keep_alive (void)
{
  g_autoptr (GSocketConnection) connection = raw_connect ();
  g_autofree char *request = g_strdup_printf ("GET /v1/calls?per_page=1 HTTP/1.1\r\nHost: x\r\n"
                                              "Authorization: Bearer %s\r\n\r\n",
                                              fx.key);

  for (guint i = 0; i < 3; i++) {
    g_assert_true (raw_write (connection, request, strlen (request)));
    g_assert_cmpuint (raw_read_one (connection), ==, 200);
  }
}

/* Per API key: [api] rate-limit requests per second with a bucket of [api] rate-burst; one
 * key's flood does not limit another key. A daemon of its own, with a small limit. */
static void
test_rate_limit (void)
{
  g_autofree char *config = scratch_path ("rate-limit.conf");
  g_autofree char *database = scratch_path ("rate-limit.db");
  g_autoptr (GError) error = NULL;
  g_autoptr (RcStore) store = NULL;
  g_autoptr (Daemon) daemon = NULL;
  g_autoptr (RcApiClient) client = NULL;
  g_autofree char *key_a = NULL;
  g_autofree char *key_b = NULL;
  guint limited = 0;

  write_file (config, "[api]\nrate-limit=1\nrate-burst=3\n");
  store = rc_store_new (database, &error);
  g_assert_no_error (error);
  key_a = rc_store_create_key (store, "flood", NULL, &error);
  key_b = rc_store_create_key (store, "calm", NULL, &error);
  g_assert_no_error (error);
  daemon = start_daemon (config, database);
  client = rc_api_client_new (daemon->url, RC_SOURCE_DATADIR "/openapi.json");

  /* A burst of 3 passes; then at most one a second: of 8 quick requests most are refused. */
  for (guint i = 0; i < 8; i++) {
    g_autoptr (RcReply) reply
        = rc_api_client_request (client, "GET", "/v1/calls", key_a, NULL, NULL, 0, NULL);

    if (i < 3)
      g_assert_cmpuint (reply->status, ==, 200);
    if (reply->status == 429) {
      const char *retry_after = soup_message_headers_get_one (reply->headers, "Retry-After");
      guint64 seconds = 0;

      rc_reply_assert_error (reply, 429, "rate_limited");
      g_assert_true (
          g_ascii_string_to_unsigned (retry_after ? retry_after : "", 10, 1, 2, &seconds, NULL));
      rc_api_client_assert_documented (client, "GET", "/v1/calls", reply);
      limited++;
    }
  }
  g_assert_cmpuint (limited, >=, 3);
  {
    g_autoptr (RcReply) other
        = rc_api_client_request (client, "GET", "/v1/calls", key_b, NULL, NULL, 0, NULL);
    g_autoptr (RcReply) health
        = rc_api_client_request (client, "GET", "/v1/health", NULL, NULL, NULL, 0, NULL);

    g_assert_cmpuint (other->status, ==, 200);
    g_assert_cmpuint (health->status, ==, 200);
  }
}

int
main (int argc, char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  fixture_setup ();

  g_test_add_func ("/rc/api-contract/filters-and-pages", test_filters_and_pages);
  g_test_add_func ("/rc/api-contract/call-object", test_call_object);
  g_test_add_func ("/rc/api-contract/auth", test_auth);
  g_test_add_func ("/rc/api-contract/no-modemmanager", test_no_modemmanager);
  g_test_add_func ("/rc/api-contract/bodies", test_bodies);
  g_test_add_func ("/rc/api-contract/garbage", test_garbage);
  g_test_add_func ("/rc/api-contract/idempotency", test_idempotency);
  g_test_add_func ("/rc/api-contract/routes-and-methods", test_routes_and_methods);
  g_test_add_func ("/rc/api-contract/lifecycle", test_lifecycle);
  g_test_add_func ("/rc/api-contract/rate-limit", test_rate_limit);
  g_test_add_func ("/rc/api-contract/slow-clients", test_slow_clients);
  g_test_add_func ("/rc/api-contract/slow-clients-closed", test_slow_clients_closed);
  g_test_add_func ("/rc/api-contract/privacy", test_privacy);
  g_test_add_func ("/rc/api-contract/keep-alive", test_keep_alive);
  g_test_add_func ("/rc/api-contract/dates-digits-only", test_dates_digits_only);
  g_test_add_func ("/rc/api-contract/json-depth", test_json_depth);
  g_test_add_func ("/rc/api-contract/json-trailing-data", test_json_trailing_data);

  status = g_test_run ();
  g_clear_pointer (&fx.client, rc_api_client_free);
  g_clear_object (&fx.daemon);
  g_clear_pointer (&fx.harness, rc_harness_free);
  g_clear_pointer (&fx.reference, g_ptr_array_unref);
  g_clear_pointer (&fx.reconciled, g_hash_table_unref);
  g_free (fx.log_path);
  g_free (fx.database);
  g_free (fx.config);
  g_free (fx.key);
  g_free (fx.key_b);
  g_free (fx.key_revoke);
  g_free (fx.call_ended);
  g_free (fx.call_withheld);
  g_free (fx.call_no_sim);
  g_free (fx.call_reconciled);
  g_free (fx.call_connected);
  g_free (fx.call_initiating);
  g_free (fx.call_late_evening);
  g_free (fx.replay_body);
  return status;
}
