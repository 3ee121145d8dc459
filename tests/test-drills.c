/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "test-drills"
#define _GNU_SOURCE 1 /* unshare () */

#include "config.h"

#include "rc-api-client.h"
#include "rc-harness.h"
#include "rc-store.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/*
 * Failure drills: the built reachcelld against the real ModemManager with two simulated modems,
 * while things break under it:
 *   - the daemon SIGKILLed during a dial, an answer and a hangup, at several points (the request
 *     written, the answer read, the AT command at the modem), then restarted on its database;
 *   - ModemManager SIGKILLed 20 times in a row with a call ringing in and one connected out;
 *   - a modem that stops answering AT commands (the simulator's "mute") during a call;
 *   - a modem whose port sends garbage during a call (a byte proxy in this program sits between
 *     ModemManager and the simulator and injects it);
 *   - the database's disk full, and the database made unwritable, while calls progress (a small
 *     ext4 image mounted in a private mount namespace, so nothing outlives the program).
 * Each drill asserts the records and events afterwards: every record is terminal or matches a
 * call ModemManager really has (never "initiating", "ringing" or "connected" without one), each
 * call's events run 1, 2, 3 … without gaps and end with the record's status, each AT dial is
 * made once, and the lines come back "available".
 *
 * One daemon serves every case (restarted when a case needs it); each case leaves both lines
 * idle and both simulators without calls. Daemon bugs found here are tests of their own,
 * registered last.
 */

#define LINE0 "+4915100000001"
#define LINE1 "+4915100000002"
#define LINE0_Q "%2B4915100000001"
#define LINE1_Q "%2B4915100000002"
#define N_LINES 2
#define REMOTE "+4915199999999"
#define CALLER "+4930123456"
#define MM_RESTARTS 20
#define SETTLE_TIMEOUT 5                   /* s: for things that should already have happened */
#define RESPONSIVE_US (1 * G_USEC_PER_SEC) /* the API answers within a second */
#define MM_TEST_PATH "/org/freedesktop/ModemManager1"
#define MM_TEST_INTERFACE "org.freedesktop.ModemManager1.Test"

static struct {
  RcHarness *harness;
  RcHarnessSim *sim0;
  RcHarnessSim *sim1;
  GSubprocess *daemon;
  RcApiClient *client;
  char *base_url;
  char *key;      /* for the database in use */
  char *database; /* in use */
  char *main_database;
  char *main_key;
  char *config;
  guint daemon_runs;
  gboolean private_mounts; /* this process has a mount namespace of its own */
  char *mount_dir;         /* the small ext4 file system, while mounted */
} fx;

static char *create_key (const char *database);

/* --- daemon --------------------------------------------------------------------------------- */

static char *
file_text (const char *path)
{
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

/* A broken invariant: the case fails, but goes on (and tidies up) so that every drill runs. */
static void G_GNUC_PRINTF (1, 2) violation (const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_test_message ("VIOLATION: %s", message);
  g_test_fail_printf ("%s (logs in %s)", message, rc_harness_get_dir (fx.harness));
}

static void
start_daemon (void)
{
  g_autofree char *log_name = g_strdup_printf ("daemon-%u.log", ++fx.daemon_runs);

  g_assert_null (fx.daemon);
  g_free (fx.base_url);
  fx.daemon = rc_harness_start_daemon (fx.harness, fx.config, fx.database, log_name, &fx.base_url);
  if (fx.client == NULL)
    fx.client = rc_api_client_new (fx.base_url, RC_SOURCE_DATADIR "/openapi.json");
  else
    rc_api_client_set_base_url (fx.client, fx.base_url);
}

static void
stop_daemon (int signal_number)
{
  rc_harness_stop_process (fx.harness, &fx.daemon, signal_number);
}

static gboolean
daemon_alive (void)
{
  return fx.daemon != NULL && g_subprocess_get_identifier (fx.daemon) != NULL;
}

/* --- API helpers ---------------------------------------------------------------------------- */

static RcReply *
api (const char *method, const char *path, const char *body)
{
  return rc_api_client_request (fx.client, method, path, fx.key, body ? "application/json" : NULL,
                                body, -1, NULL);
}

static char *
call_path (const char *call_id, const char *action)
{
  return g_strconcat ("/v1/calls/", call_id, action ? "/" : NULL, action, NULL);
}

static char *
dial (const char *from, const char *to)
{
  g_autofree char *body = g_strdup_printf ("{\"from\":\"%s\",\"to\":\"%s\"}", from, to);
  g_autoptr (RcReply) reply = api ("POST", "/v1/calls/dial", body);
  JsonObject *call;

  if (reply->status != 202)
    g_error ("dial answered %u: %s", reply->status, reply->body);
  call = rc_reply_data_object (reply);
  g_assert_cmpstr (json_object_get_string_member (call, "status"), ==, "initiating");
  return g_strdup (json_object_get_string_member (call, "call_id"));
}

static char *
get_status (const char *call_id)
{
  g_autofree char *path = call_path (call_id, NULL);
  g_autoptr (RcReply) reply = api ("GET", path, NULL);

  if (reply->status != 200)
    g_error ("GET %s answered %u: %s", path, reply->status, reply->body);
  return g_strdup (json_object_get_string_member (rc_reply_data_object (reply), "status"));
}

typedef struct {
  const char *call_id;
  const char *status;
  char *last; /* out */
} StatusWait;

static gboolean
call_has_status (gpointer user_data)
{
  StatusWait *wait = user_data;

  g_free (wait->last);
  wait->last = get_status (wait->call_id);
  return g_strcmp0 (wait->last, wait->status) == 0;
}

static void
wait_status (const char *call_id, const char *status)
{
  StatusWait wait = { call_id, status, NULL };

  if (!rc_harness_wait_for (call_has_status, &wait, RC_HARNESS_TIMEOUT))
    g_error ("call %s did not become %s (still %s; logs in %s)", call_id, status, wait.last,
             rc_harness_get_dir (fx.harness));
  g_free (wait.last);
}

typedef struct {
  const char *query;
  const char *not_id;
  char *call_id; /* out */
} NewestWait;

static gboolean
newest_call_is_new (gpointer user_data)
{
  NewestWait *wait = user_data;
  g_autofree char *path = g_strconcat ("/v1/calls?per_page=1&", wait->query, NULL);
  g_autoptr (RcReply) reply = api ("GET", path, NULL);
  JsonArray *calls;
  const char *id;

  g_assert_cmpuint (reply->status, ==, 200);
  calls = rc_reply_data_array (reply);
  if (json_array_get_length (calls) == 0)
    return FALSE;
  id = json_object_get_string_member (json_array_get_object_element (calls, 0), "call_id");
  if (g_strcmp0 (id, wait->not_id) == 0)
    return FALSE;
  g_free (wait->call_id);
  wait->call_id = g_strdup (id);
  return TRUE;
}

/* The newest call matching @query, once it is not @not_id. */
static char *
wait_new_call (const char *query, const char *not_id)
{
  NewestWait wait = { query, not_id, NULL };

  if (!rc_harness_wait_for (newest_call_is_new, &wait, RC_HARNESS_TIMEOUT))
    g_error ("no new call matching %s", query);
  return wait.call_id;
}

static char *
newest_call (const char *query)
{
  NewestWait wait = { query, NULL, NULL };

  newest_call_is_new (&wait);
  return wait.call_id;
}

typedef struct {
  guint expected;
  guint available; /* out */
} LinesWait;

static gboolean
lines_available (gpointer user_data)
{
  LinesWait *wait = user_data;
  g_autoptr (RcReply) numbers = api ("GET", "/v1/numbers", NULL);
  JsonArray *lines;

  if (numbers->status != 200)
    return FALSE;
  lines = rc_reply_data_array (numbers);
  wait->available = 0;
  for (guint i = 0; i < json_array_get_length (lines); i++)
    wait->available += g_str_equal (
        json_object_get_string_member (json_array_get_object_element (lines, i), "state"),
        "available");
  return wait->available == wait->expected;
}

static void
wait_lines_available (void)
{
  LinesWait wait = { N_LINES, 0 };

  if (!rc_harness_wait_for (lines_available, &wait, RC_HARNESS_TIMEOUT))
    g_error ("the daemon sees %u available lines, not %u (logs in %s)", wait.available, N_LINES,
             rc_harness_get_dir (fx.harness));
}

/* Both numbers are known again (the daemon read ModemManager's modems and SIMs), whatever their
 * line state. */
static gboolean
numbers_known (gpointer user_data)
{
  g_autoptr (RcReply) numbers = api ("GET", "/v1/numbers", NULL);
  JsonArray *lines;
  guint known = 0;

  if (numbers->status != 200)
    return FALSE;
  lines = rc_reply_data_array (numbers);
  for (guint i = 0; i < json_array_get_length (lines); i++)
    known += !g_str_equal (
        json_object_get_string_member (json_array_get_object_element (lines, i), "state"),
        "offline");
  return known == N_LINES;
}

static void
wait_numbers_known (void)
{
  if (!rc_harness_wait_for (numbers_known, NULL, RC_HARNESS_TIMEOUT))
    g_error ("the daemon does not know both numbers (logs in %s)", rc_harness_get_dir (fx.harness));
}

static gboolean
modemmanager_running (gpointer user_data)
{
  g_autoptr (RcReply) health
      = rc_api_client_request (fx.client, "GET", "/v1/health", NULL, NULL, NULL, -1, NULL);

  return health->status == 200
         && g_strcmp0 (
                json_object_get_string_member (rc_reply_data_object (health), "modemmanager"),
                "running")
                == 0;
}

/* --- raw requests: written, then the daemon is killed before or after the answer ----------- */

static GSocketConnection *
raw_send (const char *method, const char *path, const char *body, const char *idempotency_key)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GUri) uri = g_uri_parse (fx.base_url, G_URI_FLAGS_NONE, NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *idempotency = NULL;
  g_autofree char *request = NULL;
  GSocketConnection *connection;

  g_assert_nonnull (uri);
  connection
      = g_socket_client_connect_to_host (client, "127.0.0.1", g_uri_get_port (uri), NULL, &error);
  g_assert_no_error (error);
  if (idempotency_key != NULL)
    idempotency = g_strdup_printf ("Idempotency-Key: %s\r\n", idempotency_key);
  request = g_strdup_printf ("%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                             "Authorization: Bearer %s\r\n%s%s"
                             "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                             method, path, g_uri_get_port (uri), fx.key,
                             body != NULL ? "Content-Type: application/json\r\n" : "",
                             idempotency ? idempotency : "", body ? strlen (body) : 0,
                             body ? body : "");
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)), request,
                             strlen (request), NULL, NULL, &error);
  g_assert_no_error (error);
  return connection;
}

/* Reads the answer (until the connection closes); 0 when none came. */
static guint
raw_finish (GSocketConnection *connection, char **out_body)
{
  GInputStream *input = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  g_autoptr (GString) text = g_string_new (NULL);
  const char *body;
  guint status = 0;
  char buffer[4096];
  gssize n;

  g_socket_set_timeout (g_socket_connection_get_socket (connection), 60);
  while ((n = g_input_stream_read (input, buffer, sizeof buffer, NULL, NULL)) > 0)
    g_string_append_len (text, buffer, n);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  if (g_str_has_prefix (text->str, "HTTP/1.1 "))
    status = (guint)g_ascii_strtoull (text->str + 9, NULL, 10);
  body = strstr (text->str, "\r\n\r\n");
  if (out_body != NULL)
    *out_body = g_strdup (body != NULL ? body + 4 : "");
  return status;
}

static char *
call_id_of_body (const char *body)
{
  g_autoptr (JsonNode) root = json_from_string (body, NULL);
  JsonObject *data;

  g_assert_nonnull (root);
  data = json_object_get_object_member (json_node_get_object (root), "data");
  return g_strdup (json_object_get_string_member (data, "call_id"));
}

/* --- simulators ----------------------------------------------------------------------------- */

static void
sim_ctl (RcHarnessSim *sim, const char *command)
{
  g_free (rc_harness_sim_ctl_ok (fx.harness, sim, command, NULL));
}

static gboolean
sim_has_calls (RcHarnessSim *sim)
{
  g_autofree char *status = rc_harness_sim_ctl_ok (fx.harness, sim, "status", NULL);

  return strstr (status, "\ncall=") != NULL || g_str_has_prefix (status, "call=");
}

/* The remote side of every call goes away without a word (before ModemManager sees the modem
 * again, so that it does not find stale calls). */
static void
sim_clear_calls (RcHarnessSim *sim)
{
  for (guint i = 0; i < 16 && sim_has_calls (sim); i++) {
    g_autoptr (GError) error = NULL;
    g_autofree char *out = rc_harness_sim_ctl (fx.harness, sim, &error, "hangup", "--silent", NULL);
  }
  g_assert_false (sim_has_calls (sim));
}

/* Lines of the simulator's AT log that contain @needle (e.g. "<- ATD"). */
static guint
at_log_count (RcHarnessSim *sim, const char *needle)
{
  g_autofree char *log = file_text (rc_harness_sim_get_log (sim));
  guint count = 0;

  for (const char *p = strstr (log, needle); p != NULL; p = strstr (p + 1, needle))
    count++;
  return count;
}

typedef struct {
  RcHarnessSim *sim;
  const char *needle;
  guint more_than;
} LogWait;

static gboolean
at_log_grew (gpointer user_data)
{
  LogWait *wait = user_data;

  return at_log_count (wait->sim, wait->needle) > wait->more_than;
}

static gboolean
try_answer_remote (gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *out = rc_harness_sim_ctl (fx.harness, user_data, &error, "answer", NULL);

  return out != NULL;
}

/* An outbound call from @line (on @sim), answered by the remote side, connected. */
static char *
connected_call (RcHarnessSim *sim, const char *line)
{
  g_autofree char *call_id = dial (line, REMOTE);

  /* The remote answers as soon as the ATD arrived: ModemManager's next call-list poll sees the
   * call active (no ringing event, as documented). */
  g_assert_true (rc_harness_wait_for (try_answer_remote, sim, RC_HARNESS_TIMEOUT));
  wait_status (call_id, "connected");
  return g_steal_pointer (&call_id);
}

/* An inbound call to LINE1 (on sim1), ringing. */
static char *
ringing_inbound_call (void)
{
  g_autofree char *previous = newest_call ("direction=inbound&number=" LINE1_Q);
  g_autofree char *call_id = NULL;

  g_free (rc_harness_sim_ctl_ok (fx.harness, fx.sim1, "incoming", CALLER, NULL));
  call_id = wait_new_call ("direction=inbound&number=" LINE1_Q, previous);
  wait_status (call_id, "ringing");
  return g_steal_pointer (&call_id);
}

/* --- ModemManager ----------------------------------------------------------------------------- */

typedef struct {
  char *path;
  char *modem; /* equipment id */
  MMCallState state;
} LiveCall;

static void
live_call_free (LiveCall *live)
{
  g_free (live->path);
  g_free (live->modem);
  g_free (live);
}

/* The calls ModemManager has on our modems, terminated ones left out. */
static GPtrArray *
mm_live_calls (void)
{
  GPtrArray *live = g_ptr_array_new_with_free_func ((GDestroyNotify)live_call_free);
  RcHarnessSim *sims[] = { fx.sim0, fx.sim1 };

  for (guint i = 0; i < G_N_ELEMENTS (sims); i++) {
    g_autoptr (MMObject) object = rc_harness_sim_find_modem (fx.harness, sims[i]);
    g_autoptr (GError) error = NULL;
    GList *calls;

    if (object == NULL || mm_object_peek_modem_voice (object) == NULL)
      continue;
    calls = mm_modem_voice_list_calls_sync (mm_object_peek_modem_voice (object), NULL, &error);
    if (error != NULL)
      g_message ("listing calls: %s", error->message);
    for (GList *l = calls; l != NULL; l = l->next) {
      MMCall *call = l->data;
      LiveCall *entry;

      if (mm_call_get_state (call) == MM_CALL_STATE_TERMINATED)
        continue;
      entry = g_new0 (LiveCall, 1);
      entry->path = g_strdup (mm_call_get_path (call));
      entry->modem = mm_modem_dup_equipment_identifier (mm_object_peek_modem (object));
      entry->state = mm_call_get_state (call);
      g_ptr_array_add (live, entry);
    }
    g_list_free_full (calls, g_object_unref);
  }
  return live;
}

/* Tidying up after a violation: ModemManager forgets every call on our modems. */
static void
mm_delete_all_calls (void)
{
  RcHarnessSim *sims[] = { fx.sim0, fx.sim1 };

  for (guint i = 0; i < G_N_ELEMENTS (sims); i++) {
    g_autoptr (MMObject) object = rc_harness_sim_find_modem (fx.harness, sims[i]);
    MMModemVoice *voice = object != NULL ? mm_object_peek_modem_voice (object) : NULL;
    GList *calls;

    if (voice == NULL)
      continue;
    calls = mm_modem_voice_list_calls_sync (voice, NULL, NULL);
    for (GList *l = calls; l != NULL; l = l->next) {
      g_autoptr (GError) error = NULL;

      g_test_message ("tidying up: deleting ModemManager's %s call %s",
                      mm_call_state_get_string (mm_call_get_state (l->data)),
                      mm_call_get_path (l->data));
      mm_modem_voice_delete_call_sync (voice, mm_call_get_path (l->data), NULL, &error);
    }
    g_list_free_full (calls, g_object_unref);
  }
}

/* The record status a live ModemManager call should have; NULL: none can be right. */
static const char *
status_for_mm_state (MMCallState state)
{
  switch (state) {
  case MM_CALL_STATE_DIALING:
    return "initiating";
  case MM_CALL_STATE_RINGING_OUT:
  case MM_CALL_STATE_RINGING_IN:
  case MM_CALL_STATE_WAITING:
    return "ringing";
  case MM_CALL_STATE_ACTIVE:
  case MM_CALL_STATE_HELD:
    return "connected";
  case MM_CALL_STATE_UNKNOWN: /* created, never started: nothing will ever move it */
  case MM_CALL_STATE_TERMINATED:
  default:
    return NULL;
  }
}

static RcStore *
open_store (void)
{
  g_autoptr (GError) error = NULL;
  RcStore *store = rc_store_new (fx.database, &error);

  g_assert_no_error (error);
  return store;
}

/*
 * Records and ModemManager agree: every open record (initiating, ringing, connected) is bound to
 * a call ModemManager has on that modem, in the matching state, and every call ModemManager has
 * is the call of exactly one open record. Says what is wrong in @why.
 */
static gboolean
check_reconciled (gint64 since, GString *why)
{
  g_autoptr (RcStore) store = open_store ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) open = rc_store_list_open_calls (store, &error);
  g_autoptr (GPtrArray) live = mm_live_calls ();

  g_assert_no_error (error);
  g_string_truncate (why, 0);
  for (guint i = 0; i < open->len; i++) {
    RcCall *call = g_ptr_array_index (open, i);
    LiveCall *match = NULL;

    if (call->created_at < since)
      continue;
    for (guint j = 0; j < live->len; j++) {
      LiveCall *entry = g_ptr_array_index (live, j);

      if (g_strcmp0 (entry->path, call->mm_path) == 0 && g_strcmp0 (entry->modem, call->modem) == 0)
        match = entry;
    }
    if (match == NULL)
      g_string_append_printf (why, "record %s is %s without a call at ModemManager (mm_path %s); ",
                              call->call_id, rc_call_status_to_string (call->status),
                              call->mm_path ? call->mm_path : "none");
    else if (g_strcmp0 (status_for_mm_state (match->state), rc_call_status_to_string (call->status))
             != 0)
      g_string_append_printf (why, "record %s is %s but its call %s is %s; ", call->call_id,
                              rc_call_status_to_string (call->status), match->path,
                              mm_call_state_get_string (match->state));
  }
  for (guint j = 0; j < live->len; j++) {
    LiveCall *entry = g_ptr_array_index (live, j);
    guint records = 0;

    for (guint i = 0; i < open->len; i++) {
      RcCall *call = g_ptr_array_index (open, i);

      records += g_strcmp0 (entry->path, call->mm_path) == 0
                 && g_strcmp0 (entry->modem, call->modem) == 0;
    }
    if (records != 1)
      g_string_append_printf (why, "ModemManager's call %s (%s) has %u open records; ", entry->path,
                              mm_call_state_get_string (entry->state), records);
  }
  return why->len == 0;
}

typedef struct {
  gint64 since;
  GString *why;
} ReconcileWait;

static gboolean
reconciled (gpointer user_data)
{
  ReconcileWait *wait = user_data;

  return check_reconciled (wait->since, wait->why);
}

/* Records created at or after @since (µs) and ModemManager's calls agree, soon. */
static gboolean
assert_reconciled (gint64 since, const char *when)
{
  g_autoptr (GString) why = g_string_new (NULL);
  ReconcileWait wait = { since, why };

  if (rc_harness_wait_for (reconciled, &wait, SETTLE_TIMEOUT))
    return TRUE;
  violation ("%s: records and ModemManager disagree: %s", when, why->str);
  return FALSE;
}

/* --- records and events --------------------------------------------------------------------- */

static RcCall *
store_get_call (RcStore *store, const char *call_id)
{
  g_autoptr (GError) error = NULL;
  RcCall *call = rc_store_get_call (store, call_id, &error);

  g_assert_no_error (error);
  return call;
}

/*
 * A call's events run 1, 2, 3 … as far as its last_sequence, the last one is the record's
 * status, at most one is terminal and only at the end; a terminal record has ended_at and an
 * end reason. Returns the types as "call.a call.b …" and what is wrong in @why.
 */
static char *
check_events (RcStore *store, const char *call_id, GString *why)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RcCall) call = store_get_call (store, call_id);
  g_autoptr (GPtrArray) events = rc_store_list_events (store, call_id, &error);
  g_autoptr (GString) types = g_string_new (NULL);
  g_autofree char *expected_last = NULL;

  g_assert_no_error (error);
  for (guint i = 0; i < events->len; i++) {
    RcEvent *event = g_ptr_array_index (events, i);
    gboolean terminal
        = g_str_equal (event->type, "call.ended") || g_str_equal (event->type, "call.missed")
          || g_str_equal (event->type, "call.rejected") || g_str_equal (event->type, "call.failed");

    g_string_append_printf (types, "%s%s", i ? " " : "", event->type);
    if (event->sequence != i + 1)
      g_string_append_printf (why, "call %s: its event #%u has sequence %u; ", call_id, i + 1,
                              event->sequence);
    if (terminal && i + 1 != events->len)
      g_string_append_printf (why, "call %s: terminal %s is not the last event; ", call_id,
                              event->type);
  }
  if (events->len == 0
      || call->last_sequence != ((RcEvent *)g_ptr_array_index (events, events->len - 1))->sequence)
    g_string_append_printf (why, "call %s: %u events, last_sequence %u; ", call_id, events->len,
                            call->last_sequence);
  expected_last = g_strconcat ("call.", rc_call_status_to_string (call->status), NULL);
  if (events->len == 0
      || !g_str_equal (((RcEvent *)g_ptr_array_index (events, events->len - 1))->type,
                       expected_last))
    g_string_append_printf (why, "call %s is %s but its events are [%s]; ", call_id,
                            rc_call_status_to_string (call->status), types->str);
  if (rc_call_is_terminal (call) && (call->ended_at == 0 || call->end_reason == RC_END_REASON_NONE))
    g_string_append_printf (why, "call %s is %s without ended_at or end_reason; ", call_id,
                            rc_call_status_to_string (call->status));
  return g_string_free (g_steal_pointer (&types), FALSE);
}

/*
 * The record's events are consistent (check_events ()) and, where given, the record's status,
 * end reason and event types are these; @events may end in "…" to match a prefix. Reports
 * violations; returns the event types.
 */
static char *
check_call (const char *when,
            const char *call_id,
            const char *status,
            const char *end_reason,
            const char *events)
{
  g_autoptr (RcStore) store = open_store ();
  g_autoptr (RcCall) call = store_get_call (store, call_id);
  g_autoptr (GString) why = g_string_new (NULL);
  char *types = check_events (store, call_id, why);

  if (status != NULL && g_strcmp0 (rc_call_status_to_string (call->status), status) != 0)
    g_string_append_printf (why, "call %s is %s, not %s; ", call_id,
                            rc_call_status_to_string (call->status), status);
  if (end_reason != NULL && g_strcmp0 (rc_end_reason_to_string (call->end_reason), end_reason) != 0)
    g_string_append_printf (why, "call %s ended with %s, not %s; ", call_id,
                            rc_end_reason_to_string (call->end_reason), end_reason);
  if (events != NULL) {
    gboolean prefix = g_str_has_suffix (events, "…");
    g_autofree char *wanted
        = prefix ? g_strndup (events, strlen (events) - strlen ("…")) : g_strdup (events);

    if (prefix ? !g_str_has_prefix (types, wanted) : !g_str_equal (types, wanted))
      g_string_append_printf (why, "call %s has events [%s], expected [%s]; ", call_id, types,
                              events);
  }
  if (why->len > 0)
    violation ("%s: %s", when, why->str);
  return types;
}

/* Outbound records from @line created at or after @since (µs), newest first. */
static GPtrArray *
outbound_records_since (const char *line, gint64 since)
{
  g_autoptr (RcStore) store = open_store ();
  g_autoptr (GError) error = NULL;
  RcCallFilter filter = { .number = line,
                          .has_direction = TRUE,
                          .direction = RC_CALL_DIRECTION_OUTBOUND,
                          .from_time = since };
  guint total = 0;
  GPtrArray *calls = rc_store_list_calls (store, &filter, 1, 100, &total, &error);

  g_assert_no_error (error);
  return calls;
}

static gboolean
wait_status_soft (const char *when, const char *call_id, const char *status)
{
  StatusWait wait = { call_id, status, NULL };
  gboolean ok = rc_harness_wait_for (call_has_status, &wait, SETTLE_TIMEOUT);

  if (!ok)
    violation ("%s: call %s did not become %s (it is %s)", when, call_id, status, wait.last);
  g_free (wait.last);
  return ok;
}

/*
 * Every case (and every round) ends here: open records created since @since are hung up, the
 * simulators have no calls, both lines are available, records and ModemManager agree. A daemon
 * that died is a violation, and is started again.
 */
static void
settle (gint64 since, const char *when)
{
  g_autoptr (RcStore) store = NULL;
  g_autoptr (GPtrArray) open = NULL;
  g_autoptr (GError) error = NULL;
  LinesWait lines = { N_LINES, 0 };

  if (!daemon_alive ()) {
    violation ("%s: the daemon died", when);
    g_clear_object (&fx.daemon);
    start_daemon ();
    wait_numbers_known ();
  }
  store = open_store ();
  open = rc_store_list_open_calls (store, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < open->len; i++) {
    RcCall *call = g_ptr_array_index (open, i);
    g_autofree char *path = call_path (call->call_id, "hangup");
    g_autoptr (RcReply) hangup = NULL;

    if (call->created_at < since)
      continue;
    hangup = api ("POST", path, NULL);
    if (hangup->status != 200)
      g_test_message ("%s: tidying up: hangup of %s answered %u: %s", when, call->call_id,
                      hangup->status, hangup->body);
  }
  sim_clear_calls (fx.sim0);
  sim_clear_calls (fx.sim1);
  if (!rc_harness_wait_for (lines_available, &lines, SETTLE_TIMEOUT))
    violation ("%s: %u of %u lines available afterwards", when, lines.available, N_LINES);
  if (!assert_reconciled (since, when) || lines.available != N_LINES) {
    /* So that the next drill starts clean: what ModemManager still holds is deleted. */
    mm_delete_all_calls ();
    rc_harness_wait_for (lines_available, &lines, RC_HARNESS_TIMEOUT);
  }
}

/* Ends whatever the record's call still is: hang up through the API when it is open. */
static void
finish_call (const char *when, const char *call_id)
{
  g_autofree char *status = get_status (call_id);

  if (g_str_equal (status, "ringing") || g_str_equal (status, "connected")
      || g_str_equal (status, "initiating")) {
    g_autofree char *path = call_path (call_id, "hangup");
    g_autoptr (RcReply) hangup = api ("POST", path, NULL);

    if (hangup->status != 200)
      violation ("%s: hangup of %s call %s answered %u: %s", when, status, call_id, hangup->status,
                 hangup->body);
  }
}

/* --- drills: the daemon killed during dial, answer, hangup --------------------------------- */

typedef enum {
  KILL_AFTER_WRITE, /* the request written, then @delay_ms */
  KILL_AFTER_REPLY, /* the answer read */
  KILL_AFTER_AT,    /* the AT command seen at the modem */
} KillPoint;

typedef struct {
  KillPoint point;
  guint delay_ms;
} KillPlan;

static const KillPlan kill_plans[] = {
  { KILL_AFTER_WRITE, 0 },
  { KILL_AFTER_WRITE, 10 },
  { KILL_AFTER_REPLY, 0 },
  { KILL_AFTER_AT, 0 },
};

static char *
kill_plan_name (const char *what, guint round, const KillPlan *plan)
{
  switch (plan->point) {
  case KILL_AFTER_WRITE:
    return g_strdup_printf ("%s round %u, killed %u ms after the request", what, round,
                            plan->delay_ms);
  case KILL_AFTER_REPLY:
    return g_strdup_printf ("%s round %u, killed after the answer", what, round);
  case KILL_AFTER_AT:
  default:
    return g_strdup_printf ("%s round %u, killed once the AT command reached the modem", what,
                            round);
  }
}

/* Sends the request, kills the daemon at @plan's point, restarts it. Returns the HTTP status the
 * client got (0: none) and its body. */
static guint
send_and_kill (const KillPlan *plan,
               const char *method,
               const char *path,
               const char *body,
               const char *idempotency_key,
               RcHarnessSim *sim,
               const char *at_needle,
               char **out_body)
{
  guint before = at_log_count (sim, at_needle);
  g_autoptr (GSocketConnection) connection = raw_send (method, path, body, idempotency_key);
  guint status = 0;
  gboolean read = FALSE;

  switch (plan->point) {
  case KILL_AFTER_WRITE:
    if (plan->delay_ms > 0)
      rc_harness_spin (plan->delay_ms);
    break;
  case KILL_AFTER_REPLY:
    status = raw_finish (connection, out_body);
    read = TRUE;
    break;
  case KILL_AFTER_AT: {
    LogWait wait = { sim, at_needle, before };

    if (!rc_harness_wait_for (at_log_grew, &wait, RC_HARNESS_TIMEOUT))
      g_error ("%s never reached the modem", at_needle + 3);
    break;
  }
  }
  stop_daemon (SIGKILL);
  if (!read)
    status = raw_finish (connection, out_body);
  start_daemon ();
  g_assert_true (rc_harness_wait_for (modemmanager_running, NULL, RC_HARNESS_TIMEOUT));
  wait_numbers_known ();
  return status;
}

static void
test_kill_during_dial (void)
{
  for (guint round = 0; round < G_N_ELEMENTS (kill_plans); round++) {
    const KillPlan *plan = &kill_plans[round];
    g_autofree char *when = kill_plan_name ("dial", round, plan);
    g_autofree char *key = g_strdup_printf ("drill-dial-%u-%08x", round, g_test_rand_int ());
    const char *body = "{\"from\":\"" LINE0 "\",\"to\":\"" REMOTE "\"}";
    const char *const headers[] = { "Idempotency-Key", key, NULL };
    guint atd_before = at_log_count (fx.sim0, "<- ATD");
    gint64 since = g_get_real_time ();
    g_autofree char *first_body = NULL;
    g_autofree char *first_id = NULL;
    g_autofree char *call_id = NULL;
    g_autoptr (RcReply) retry = NULL;
    g_autoptr (GPtrArray) records = NULL;
    g_autofree char *events = NULL;
    guint first;
    guint atd;

    g_test_message ("%s", when);
    first
        = send_and_kill (plan, "POST", "/v1/calls/dial", body, key, fx.sim0, "<- ATD", &first_body);
    if (first != 0 && first != 202)
      violation ("%s: the dial answered %u: %s", when, first, first_body);
    if (first == 202)
      first_id = call_id_of_body (first_body);
    /* Whatever the daemon had done is reconciled with ModemManager before anything else. */
    assert_reconciled (since, when);

    /* The client did not hear back (or did): it retries with the same Idempotency-Key, which
     * must never dial a second time. */
    retry = rc_api_client_request (fx.client, "POST", "/v1/calls/dial", fx.key, "application/json",
                                   body, -1, headers);
    if (retry->status == 202) {
      call_id = g_strdup (json_object_get_string_member (rc_reply_data_object (retry), "call_id"));
      if (first_id != NULL
          && (g_strcmp0 (call_id, first_id) != 0
              || g_strcmp0 (soup_message_headers_get_one (retry->headers, "Idempotent-Replayed"),
                            "true")
                     != 0))
        violation ("%s: the retry was not a replay of the 202 the client got", when);
      /* A retry that dialled answers before its ATD: wait for it. */
      if (soup_message_headers_get_one (retry->headers, "Idempotent-Replayed") == NULL) {
        LogWait wait = { fx.sim0, "<- ATD", atd_before };

        g_assert_true (rc_harness_wait_for (at_log_grew, &wait, RC_HARNESS_TIMEOUT));
      }
    } else {
      violation ("%s: the retry answered %u: %s", when, retry->status, retry->body);
    }
    assert_reconciled (since, when);

    atd = at_log_count (fx.sim0, "<- ATD") - atd_before;
    if (atd > 1)
      violation ("%s: the call was dialled %u times", when, atd);
    records = outbound_records_since (LINE0, since);
    if (records->len != 1) {
      g_autoptr (GString) list = g_string_new (NULL);

      for (guint i = 0; i < records->len; i++) {
        RcCall *call = g_ptr_array_index (records, i);

        g_string_append_printf (list, " %s (%s/%s, mm_path %s)", call->call_id,
                                rc_call_status_to_string (call->status),
                                rc_end_reason_to_string (call->end_reason), call->mm_path);
      }
      violation ("%s: %u outbound records for one dial:%s", when, records->len, list->str);
    }
    if (call_id != NULL) {
      finish_call (when, call_id);
      events = check_call (when, call_id, NULL, NULL, "call.initiating …");
      g_test_message ("  %u ATD, record %s: %s", atd, call_id, events);
    }
    settle (since, when);
  }
}

static void
test_kill_during_answer (void)
{
  for (guint round = 0; round < G_N_ELEMENTS (kill_plans); round++) {
    const KillPlan *plan = &kill_plans[round];
    g_autofree char *when = kill_plan_name ("answer", round, plan);
    gint64 since = g_get_real_time ();
    g_autofree char *call_id = ringing_inbound_call ();
    g_autofree char *answer = call_path (call_id, "answer");
    guint ata_before = at_log_count (fx.sim1, "<- ATA");
    g_autofree char *first_body = NULL;
    g_autofree char *status = NULL;
    g_autofree char *events = NULL;
    guint first;
    guint ata;

    g_test_message ("%s", when);
    first = send_and_kill (plan, "POST", answer, NULL, NULL, fx.sim1, "<- ATA", &first_body);
    if (first != 0 && first != 202)
      violation ("%s: the answer answered %u: %s", when, first, first_body);
    assert_reconciled (since, when);
    status = get_status (call_id);
    if (g_str_equal (status, "ringing")) {
      /* The answer did not reach the modem: the client answers again. */
      g_autoptr (RcReply) again = api ("POST", answer, NULL);

      if (again->status != 202)
        violation ("%s: answering again answered %u: %s", when, again->status, again->body);
      wait_status_soft (when, call_id, "connected");
    } else if (!g_str_equal (status, "connected")) {
      violation ("%s: the answered call is %s", when, status);
    }
    ata = at_log_count (fx.sim1, "<- ATA") - ata_before;
    if (ata != 1)
      violation ("%s: %u ATA for one answer", when, ata);
    finish_call (when, call_id);
    events = check_call (when, call_id, "ended", "local_hangup",
                         "call.ringing call.connected call.ended");
    g_test_message ("  record %s: %s", call_id, events);
    settle (since, when);
  }
}

static guint
hangup_commands (RcHarnessSim *sim)
{
  return at_log_count (sim, "<- ATH") + at_log_count (sim, "<- AT+CHUP")
         + at_log_count (sim, "<- AT+CHLD=1");
}

static void
test_kill_during_hangup (void)
{
  for (guint round = 0; round < G_N_ELEMENTS (kill_plans); round++) {
    const KillPlan *plan = &kill_plans[round];
    g_autofree char *when = kill_plan_name ("hangup", round, plan);
    gint64 since = g_get_real_time ();
    g_autofree char *call_id = connected_call (fx.sim0, LINE0);
    g_autofree char *hangup = call_path (call_id, "hangup");
    guint before = hangup_commands (fx.sim0);
    g_autofree char *first_body = NULL;
    g_autofree char *status = NULL;
    g_autofree char *events = NULL;
    guint first;

    g_test_message ("%s", when);
    /* ModemManager 1.20.4's generic plugin hangs an active call up with AT+CHLD=1<index>. */
    first = send_and_kill (plan, "POST", hangup, NULL, NULL, fx.sim0, "<- AT+CHLD=1", &first_body);
    if (first != 0 && first != 200)
      violation ("%s: the hangup answered %u: %s", when, first, first_body);
    assert_reconciled (since, when);
    status = get_status (call_id);
    if (g_str_equal (status, "connected")) {
      /* The hangup did not reach the modem: the client hangs up again. */
      finish_call (when, call_id);
    } else if (!g_str_equal (status, "ended")) {
      violation ("%s: the call is %s after a hangup", when, status);
    }
    if (hangup_commands (fx.sim0) - before != 1)
      violation ("%s: %u hangup commands for one hangup", when, hangup_commands (fx.sim0) - before);
    /* We hung up, whether or not the daemon lived to see ModemManager confirm it. */
    events = check_call (when, call_id, "ended", "local_hangup", "call.initiating …");
    if (!g_str_has_suffix (events, " call.connected call.ended"))
      violation ("%s: events [%s]", when, events);
    g_test_message ("  record %s: %s", call_id, events);
    settle (since, when);
  }
}

/* --- drill: ModemManager restarted 20 times ------------------------------------------------- */

static void
set_profile (const char *id, const char *port)
{
  const char *ports[] = { port, NULL };
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;

  reply = g_dbus_connection_call_sync (
      rc_harness_get_connection (fx.harness), MM_DBUS_SERVICE, MM_TEST_PATH, MM_TEST_INTERFACE,
      "SetProfile", g_variant_new ("(ss^as)", id, "generic", ports), NULL, G_DBUS_CALL_FLAGS_NONE,
      RC_HARNESS_TIMEOUT * 1000, NULL, &error);
  g_assert_no_error (error);
}

typedef struct {
  RcHarnessSim *sims[2];
  char *replaced[2]; /* the modem object SetProfile replaces: not the one to wait for */
  char *enabled[2];
} PlugWait;

static gboolean
all_registered (gpointer user_data)
{
  PlugWait *wait = user_data;
  gboolean all = TRUE;

  for (guint i = 0; i < G_N_ELEMENTS (wait->sims); i++) {
    g_autoptr (MMObject) object = NULL;
    MMModem *modem;

    if (wait->sims[i] == NULL)
      continue;
    object = rc_harness_sim_find_modem (fx.harness, wait->sims[i]);
    if (object == NULL) {
      all = FALSE;
      continue;
    }
    modem = mm_object_peek_modem (object);
    if (g_strcmp0 (mm_modem_get_path (modem), wait->replaced[i]) == 0) {
      all = FALSE;
      continue;
    }
    if (mm_modem_get_state (modem) >= MM_MODEM_STATE_REGISTERED
        && mm_object_peek_modem_voice (object) != NULL)
      continue;
    all = FALSE;
    if (mm_modem_get_state (modem) == MM_MODEM_STATE_DISABLED
        && g_strcmp0 (wait->enabled[i], mm_modem_get_path (modem)) != 0) {
      g_free (wait->enabled[i]);
      wait->enabled[i] = g_strdup (mm_modem_get_path (modem));
      mm_modem_enable (modem, NULL, NULL, NULL);
    }
  }
  return all;
}

/* ModemManager runs as in production: without the test environment's G_DEBUG=fatal-criticals
 * (garbage from a modem reaches GLib criticals inside ModemManager 1.20.4 itself, e.g. an
 * "Unhandled response" error message that is not UTF-8, which would abort it). */
static void
start_modemmanager (void)
{
  g_autofree char *g_debug = g_strdup (g_getenv ("G_DEBUG"));

  g_unsetenv ("G_DEBUG");
  rc_harness_start_modemmanager (fx.harness);
  if (g_debug != NULL)
    g_setenv ("G_DEBUG", g_debug, TRUE);
}

/* Like rc_harness_plug_sim (), for both simulators at once and with any port (a proxy). */
static void
plug_sims (RcHarnessSim *sim0, const char *port0, RcHarnessSim *sim1, const char *port1)
{
  PlugWait wait = { { sim0, sim1 }, { NULL, NULL }, { NULL, NULL } };
  gboolean ok;

  for (guint i = 0; i < G_N_ELEMENTS (wait.sims); i++) {
    g_autoptr (MMObject) object
        = wait.sims[i] != NULL ? rc_harness_sim_find_modem (fx.harness, wait.sims[i]) : NULL;

    if (object != NULL)
      wait.replaced[i] = g_strdup (g_dbus_object_get_object_path (G_DBUS_OBJECT (object)));
  }
  if (sim0 != NULL)
    set_profile (rc_harness_sim_get_id (sim0), port0);
  if (sim1 != NULL)
    set_profile (rc_harness_sim_get_id (sim1), port1);
  ok = rc_harness_wait_for (all_registered, &wait, RC_HARNESS_TIMEOUT);
  for (guint i = 0; i < G_N_ELEMENTS (wait.sims); i++) {
    g_free (wait.enabled[i]);
    g_free (wait.replaced[i]);
  }
  if (!ok)
    g_error ("the modems did not become registered (logs in %s)", rc_harness_get_dir (fx.harness));
}

static void
replug_both (void)
{
  plug_sims (fx.sim0, rc_harness_sim_get_port (fx.sim0), fx.sim1,
             rc_harness_sim_get_port (fx.sim1));
}

static void
test_modemmanager_restarted (void)
{
  g_autoptr (GPtrArray) killed = g_ptr_array_new_with_free_func (g_free);
  gint64 start = g_get_monotonic_time ();
  gint64 since = g_get_real_time ();
  g_autofree char *last = NULL;

  for (guint round = 0; round < MM_RESTARTS; round++) {
    g_autofree char *when = g_strdup_printf ("ModemManager restart %u", round + 1);
    g_autofree char *inbound = NULL;
    g_autofree char *outbound = NULL;

    /* A call ringing in on LINE1 and one connected out on LINE0 at each kill. */
    outbound = dial (LINE0, REMOTE);
    inbound = ringing_inbound_call ();
    g_assert_true (rc_harness_wait_for (try_answer_remote, fx.sim0, RC_HARNESS_TIMEOUT));
    wait_status (outbound, "connected");

    rc_harness_stop_modemmanager (fx.harness, SIGKILL);
    wait_status_soft (when, outbound, "failed");
    wait_status_soft (when, inbound, "failed");
    g_ptr_array_add (killed, g_steal_pointer (&outbound));
    g_ptr_array_add (killed, g_steal_pointer (&inbound));

    /* The simulators' calls went with ModemManager (a real modem would be reset). */
    sim_clear_calls (fx.sim0);
    sim_clear_calls (fx.sim1);
    start_modemmanager ();
    replug_both ();
    if (!rc_harness_wait_for (modemmanager_running, NULL, RC_HARNESS_TIMEOUT))
      violation ("%s: health does not say ModemManager is running", when);
    settle (since, when);
  }
  g_test_message ("%u ModemManager restarts in %.1f s", MM_RESTARTS,
                  (g_get_monotonic_time () - start) / (double)G_USEC_PER_SEC);

  for (guint i = 0; i < killed->len; i++) {
    const char *call_id = g_ptr_array_index (killed, i);
    g_autofree char *when = g_strdup_printf ("ModemManager restart %u", i / 2 + 1);
    g_autofree char *events = NULL;

    if (i % 2 == 0) {
      events = check_call (when, call_id, "failed", "modem_removed", "call.initiating …");
      if (!g_str_has_suffix (events, " call.connected call.failed"))
        violation ("%s: outbound events [%s]", when, events);
    } else {
      g_free (check_call (when, call_id, "failed", "modem_removed", "call.ringing call.failed"));
    }
  }

  /* And the next dial works. */
  last = connected_call (fx.sim0, LINE0);
  finish_call ("after the restarts", last);
  g_free (check_call ("after the restarts", last, "ended", "local_hangup",
                      "call.initiating call.connected call.ended"));
  settle (since, "after the restarts");
}

/* --- drill: a modem that stops answering ------------------------------------------------------ */

/* GET requests answer, and quickly, while something else hangs. */
static void
assert_responsive (const char *when, const char *call_id)
{
  g_autofree char *path = call_path (call_id, NULL);
  const char *paths[] = { "/v1/health", "/v1/numbers", path, "/v1/calls?per_page=5" };

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++) {
    gint64 start = g_get_monotonic_time ();
    g_autoptr (RcReply) reply
        = rc_api_client_request (fx.client, "GET", paths[i], fx.key, NULL, NULL, -1, NULL);
    gint64 took = g_get_monotonic_time () - start;

    /* Health says 503 while the store refuses writes (database "writes_failing"). */
    if (reply->status != 200
        && !(i == 0 && reply->status == 503 && strstr (reply->body, "\"writes_failing\"")))
      violation ("%s: GET %s answered %u: %s", when, paths[i], reply->status, reply->body);
    if (took > RESPONSIVE_US)
      violation ("%s: GET %s took %.1f s", when, paths[i], took / (double)G_USEC_PER_SEC);
  }
}

static void
test_modem_mute (void)
{
  const char *when = "modem mute during a call";
  gint64 since = g_get_real_time ();
  g_autofree char *call_id = connected_call (fx.sim0, LINE0);
  g_autofree char *hangup = call_path (call_id, "hangup");
  g_autoptr (GSocketConnection) connection = NULL;
  g_autofree char *body = NULL;
  g_autofree char *status = NULL;
  g_autofree char *events = NULL;
  g_autofree char *after = NULL;
  gint64 start;
  guint answered;

  sim_ctl (fx.sim0, "mute");
  start = g_get_monotonic_time ();
  connection = raw_send ("POST", hangup, NULL, NULL);
  /* While ModemManager waits for the modem, the API keeps answering. */
  for (guint i = 0; i < 6; i++) {
    assert_responsive (when, call_id);
    rc_harness_spin (500);
  }
  answered = raw_finish (connection, &body);
  g_test_message ("hangup of a mute modem's call answered %u after %.1f s: %s", answered,
                  (g_get_monotonic_time () - start) / (double)G_USEC_PER_SEC, body);
  /* Either ModemManager gave up on the modem and ended the call, or a clear error. */
  if (answered != 200 && !(answered == 502 && strstr (body, "\"modem_error\"") != NULL))
    violation ("%s: the hangup answered %u: %s", when, answered, body);
  assert_responsive (when, call_id);
  sim_ctl (fx.sim0, "unmute");
  /* ModemManager 1.20.4 declares the call terminated after AT+CHLD=1x and AT+CHUP time out
   * (2 s each), while the modem, which heard neither, still has it. */
  if (sim_has_calls (fx.sim0))
    g_test_message ("after unmute the modem still has the call ModemManager ended");
  status = get_status (call_id);
  g_test_message ("the call is %s after unmute", status);
  finish_call (when, call_id);
  events = check_call (when, call_id, NULL, NULL, "call.initiating …");
  g_test_message ("  record %s: %s", call_id, events);
  settle (since, when);

  /* The modem answers again: the line works. */
  after = connected_call (fx.sim0, LINE0);
  finish_call (when, after);
  g_free (check_call (when, after, "ended", "local_hangup",
                      "call.initiating call.connected call.ended"));
  settle (since, when);
}

/* --- drill: garbage from the modem --------------------------------------------------------- */

/*
 * A byte proxy between ModemManager and a simulator, in a thread of its own (the test thread
 * blocks in synchronous HTTP requests): ModemManager connects to the proxy's abstract socket,
 * the proxy connects on to the simulator's AT port and copies both ways, and injects bytes
 * towards ModemManager when asked, as if the modem had sent them.
 */
typedef struct {
  char *port; /* "abstract:…", the whole string is the abstract socket name */
  char *upstream;
  int listen_fd;
  int wake[2];
  int mm_fd;
  int sim_fd;
  GMutex lock;
  GByteArray *pending; /* to inject */
  gboolean stop;
  guint injected;
  GThread *thread;
} Proxy;

static socklen_t
abstract_address (const char *name, struct sockaddr_un *address)
{
  memset (address, 0, sizeof *address);
  address->sun_family = AF_UNIX;
  g_assert_cmpuint (strlen (name), <, sizeof address->sun_path - 1);
  memcpy (address->sun_path + 1, name, strlen (name));
  return (socklen_t)(G_STRUCT_OFFSET (struct sockaddr_un, sun_path) + 1 + strlen (name));
}

static gboolean
write_all (int fd, const guint8 *data, gsize length)
{
  while (length > 0) {
    gssize n = write (fd, data, length);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return FALSE;
    data += n;
    length -= (gsize)n;
  }
  return TRUE;
}

static void
proxy_close_pair (Proxy *proxy)
{
  if (proxy->mm_fd >= 0)
    close (proxy->mm_fd);
  if (proxy->sim_fd >= 0)
    close (proxy->sim_fd);
  proxy->mm_fd = proxy->sim_fd = -1;
}

/* Copies what arrived on @from to @to; FALSE when @from closed. */
static gboolean
proxy_copy (int from, int to)
{
  guint8 buffer[4096];
  gssize n = read (from, buffer, sizeof buffer);

  if (n <= 0)
    return n < 0 && errno == EINTR;
  return write_all (to, buffer, (gsize)n);
}

static gpointer
proxy_thread (gpointer user_data)
{
  Proxy *proxy = user_data;

  for (;;) {
    struct pollfd fds[4] = { { proxy->listen_fd, POLLIN, 0 },
                             { proxy->wake[0], POLLIN, 0 },
                             { proxy->mm_fd, POLLIN, 0 },
                             { proxy->sim_fd, POLLIN, 0 } };
    gboolean stop;

    if (poll (fds, G_N_ELEMENTS (fds), -1) < 0 && errno != EINTR)
      g_error ("proxy: poll: %s", g_strerror (errno));
    g_mutex_lock (&proxy->lock);
    stop = proxy->stop;
    g_mutex_unlock (&proxy->lock);
    if (stop)
      break;
    if (fds[0].revents & POLLIN) {
      int client = accept (proxy->listen_fd, NULL, NULL);
      struct sockaddr_un address;
      socklen_t length = abstract_address (proxy->upstream, &address);

      /* Like the simulator: a new client replaces the old one. */
      proxy_close_pair (proxy);
      proxy->mm_fd = client;
      proxy->sim_fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (connect (proxy->sim_fd, (struct sockaddr *)&address, length) < 0)
        proxy_close_pair (proxy);
      continue;
    }
    if (fds[1].revents & POLLIN) {
      g_autoptr (GByteArray) bytes = NULL;
      char drain[64];

      if (read (proxy->wake[0], drain, sizeof drain) < 0)
        g_error ("proxy: wake: %s", g_strerror (errno));
      g_mutex_lock (&proxy->lock);
      bytes = g_steal_pointer (&proxy->pending);
      proxy->pending = g_byte_array_new ();
      g_mutex_unlock (&proxy->lock);
      if (proxy->mm_fd >= 0 && write_all (proxy->mm_fd, bytes->data, bytes->len)) {
        g_mutex_lock (&proxy->lock);
        proxy->injected += bytes->len;
        g_mutex_unlock (&proxy->lock);
      }
    }
    if (proxy->mm_fd >= 0 && (fds[2].revents & (POLLIN | POLLHUP | POLLERR))
        && !proxy_copy (proxy->mm_fd, proxy->sim_fd)) {
      proxy_close_pair (proxy);
      continue;
    }
    if (proxy->sim_fd >= 0 && (fds[3].revents & (POLLIN | POLLHUP | POLLERR))
        && !proxy_copy (proxy->sim_fd, proxy->mm_fd))
      proxy_close_pair (proxy);
  }
  proxy_close_pair (proxy);
  return NULL;
}

static Proxy *
proxy_start (const char *upstream)
{
  Proxy *proxy = g_new0 (Proxy, 1);
  struct sockaddr_un address;
  socklen_t length;

  proxy->port = g_strdup_printf ("abstract:rc-%d-drills-proxy", (int)getpid ());
  proxy->upstream = g_strdup (upstream);
  proxy->mm_fd = proxy->sim_fd = -1;
  proxy->pending = g_byte_array_new ();
  g_mutex_init (&proxy->lock);
  g_assert_true (g_unix_open_pipe (proxy->wake, FD_CLOEXEC, NULL));
  proxy->listen_fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  length = abstract_address (proxy->port, &address);
  g_assert_cmpint (bind (proxy->listen_fd, (struct sockaddr *)&address, length), ==, 0);
  g_assert_cmpint (listen (proxy->listen_fd, 4), ==, 0);
  proxy->thread = g_thread_new ("proxy", proxy_thread, proxy);
  return proxy;
}

static void
proxy_inject (Proxy *proxy, const void *data, gsize length)
{
  g_mutex_lock (&proxy->lock);
  g_byte_array_append (proxy->pending, data, (guint)length);
  g_mutex_unlock (&proxy->lock);
  g_assert_cmpint (write (proxy->wake[1], "x", 1), ==, 1);
}

static guint
proxy_injected (Proxy *proxy)
{
  guint injected;

  g_mutex_lock (&proxy->lock);
  injected = proxy->injected;
  g_mutex_unlock (&proxy->lock);
  return injected;
}

static void
proxy_stop (Proxy *proxy)
{
  g_mutex_lock (&proxy->lock);
  proxy->stop = TRUE;
  g_mutex_unlock (&proxy->lock);
  g_assert_cmpint (write (proxy->wake[1], "x", 1), ==, 1);
  g_thread_join (proxy->thread);
  close (proxy->listen_fd);
  close (proxy->wake[0]);
  close (proxy->wake[1]);
  g_byte_array_unref (proxy->pending);
  g_mutex_clear (&proxy->lock);
  g_free (proxy->port);
  g_free (proxy->upstream);
  g_free (proxy);
}

/* One burst of nonsense: binary noise with NULs, bytes that are not UTF-8, an overlong line,
 * result codes that belong to no command, half a line. Never a well-formed lie (a "NO CARRIER"
 * would be believed, as from a real modem). */
static void
inject_garbage (Proxy *proxy, guint burst)
{
  guint8 noise[512];
  g_autofree char *overlong = g_strnfill (6000, 'A');

  for (guint i = 0; i < sizeof noise; i++)
    noise[i] = (guint8)g_test_rand_int_range (0, 256);
  switch (burst % 6) {
  case 0:
    proxy_inject (proxy, noise, sizeof noise);
    break;
  case 1:
    proxy_inject (proxy, "\r\n\xff\xfe\x80\x81\xc3\x28 \x00\x01\x02\x1b[31m\r\n", 20);
    break;
  case 2:
    proxy_inject (proxy, "\r\n+CLCC: 99,7,9,9,9,\"\xff\xfe\",999\r\n+CIEV: 42,-1\r\n", 45);
    break;
  case 3:
    proxy_inject (proxy, "\r\n", 2);
    proxy_inject (proxy, overlong, strlen (overlong));
    proxy_inject (proxy, "\r\n", 2);
    break;
  case 4:
    proxy_inject (proxy, "\r\n+CME ERR", 10); /* half a line */
    break;
  case 5:
  default:
    proxy_inject (proxy, "\r\n+CREG: banana\r\n+CSQ: ,,,\r\n+CLIP: \"\r\n+CUSD: 9\r\n", 47);
    break;
  }
}

typedef struct {
  const char *call_id;
  char *status; /* out */
} SettledWait;

static gboolean
call_connected_or_over (gpointer user_data)
{
  SettledWait *wait = user_data;

  g_free (wait->status);
  wait->status = get_status (wait->call_id);
  return !g_str_equal (wait->status, "initiating") && !g_str_equal (wait->status, "ringing");
}

/* A call from LINE0 through a noisy port: ModemManager may refuse it when garbage sits in front
 * of the ATD's answer (recorded failed), so up to three attempts. */
static char *
connected_call_despite_garbage (const char *when)
{
  for (guint attempt = 0; attempt < 3; attempt++) {
    g_autofree char *call_id = dial (LINE0, REMOTE);
    SettledWait wait = { call_id, NULL };
    g_autofree char *status = NULL;

    rc_harness_wait_for (try_answer_remote, fx.sim0, 5);
    if (!rc_harness_wait_for (call_connected_or_over, &wait, RC_HARNESS_TIMEOUT))
      violation ("%s: call %s stays %s", when, call_id, wait.status);
    status = g_steal_pointer (&wait.status);
    g_test_message ("attempt %u: call %s is %s", attempt + 1, call_id, status);
    if (g_str_equal (status, "connected"))
      return g_steal_pointer (&call_id);
    g_free (check_call (when, call_id, NULL, NULL, "call.initiating …"));
    sim_clear_calls (fx.sim0);
  }
  violation ("%s: no call got through in three attempts", when);
  return NULL;
}

static void
test_modem_garbage (void)
{
  const char *when = "garbage from the modem";
  gint64 since = g_get_real_time ();
  Proxy *proxy = proxy_start (rc_harness_sim_get_port (fx.sim0));
  g_autofree char *call_id = NULL;
  g_autofree char *after = NULL;

  /* ModemManager drives sim0 through the proxy from now on. */
  plug_sims (fx.sim0, proxy->port, NULL, NULL);
  wait_lines_available ();

  /* Garbage while idle, then while a call is connected. */
  for (guint burst = 0; burst < 6; burst++) {
    inject_garbage (proxy, burst);
    rc_harness_spin (100);
  }
  call_id = connected_call_despite_garbage (when);
  for (guint burst = 0; burst < 12 && call_id != NULL; burst++) {
    inject_garbage (proxy, burst);
    rc_harness_spin (250);
    if (burst % 4 == 0)
      assert_responsive (when, call_id);
  }
  g_test_message ("%u bytes of garbage injected", proxy_injected (proxy));
  if (!daemon_alive ())
    violation ("%s: the daemon died", when);
  if (!modemmanager_running (NULL))
    g_test_message ("%s: ModemManager died", when);
  assert_reconciled (since, when);

  /* The call goes on or ended consistently; hanging it up works. */
  if (call_id != NULL) {
    g_autofree char *status = get_status (call_id);
    g_autofree char *events = NULL;

    g_test_message ("the call is %s after the garbage", status);
    finish_call (when, call_id);
    events = check_call (when, call_id, NULL, NULL, "call.initiating …");
    g_test_message ("  record %s: %s", call_id, events);
  }
  settle (since, when);

  /* And the next call through the same port works. */
  after = connected_call_despite_garbage (when);
  if (after != NULL) {
    finish_call (when, after);
    g_free (check_call (when, after, "ended", "local_hangup",
                        "call.initiating call.connected call.ended"));
  }
  settle (since, when);

  /* Back to the simulator's own port. */
  plug_sims (fx.sim0, rc_harness_sim_get_port (fx.sim0), NULL, NULL);
  proxy_stop (proxy);
  settle (since, when);
}

/* --- drills: disk full, database unwritable -------------------------------------------------- */

static gboolean
run_command (const char *const *argv, char **out_output)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *output = NULL;
  int wait_status = 0;

  if (!g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, &output, NULL, &wait_status, &error)) {
    g_test_message ("%s: %s", argv[0], error->message);
    return FALSE;
  }
  if (out_output != NULL)
    *out_output = g_steal_pointer (&output);
  return g_spawn_check_wait_status (wait_status, NULL);
}

/* A 16 MiB ext4 file system of our own (no reserved blocks: the daemon runs as root), mounted in
 * this program's private mount namespace; gone with the program whatever happens. */
static gboolean
mount_small_disk (void)
{
  g_autofree char *image = NULL;

  if (fx.mount_dir != NULL)
    return TRUE;
  if (!fx.private_mounts) {
    g_test_skip ("needs root (a private mount namespace and a loop device)");
    return FALSE;
  }
  image = g_build_filename (rc_harness_get_dir (fx.harness), "disk.img", NULL);
  fx.mount_dir = g_build_filename (rc_harness_get_dir (fx.harness), "disk", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fx.mount_dir, 0700), ==, 0);
  {
    const char *truncate[] = { "truncate", "-s", "16M", image, NULL };
    const char *mkfs[] = { "mkfs.ext4", "-q", "-F", "-m", "0", image, NULL };
    const char *mount_loop[] = { "mount", "-o", "loop", image, fx.mount_dir, NULL };

    if (!run_command (truncate, NULL) || !run_command (mkfs, NULL)
        || !run_command (mount_loop, NULL)) {
      g_clear_pointer (&fx.mount_dir, g_free);
      g_test_skip ("cannot make and mount a small ext4 file system (mkfs.ext4, loop devices)");
      return FALSE;
    }
  }
  return TRUE;
}

static void
unmount_small_disk (void)
{
  const char *umount[] = { "umount", fx.mount_dir, NULL };

  if (fx.mount_dir == NULL)
    return;
  if (run_command (umount, NULL)) {
    g_autofree char *image = g_build_filename (rc_harness_get_dir (fx.harness), "disk.img", NULL);

    g_unlink (image); /* 16 MiB: not kept with the logs */
  } else {
    g_test_message ("cannot unmount %s (it goes with the mount namespace)", fx.mount_dir);
  }
  g_clear_pointer (&fx.mount_dir, g_free);
}

/* Restarts the daemon on @database (with a key of its own). */
static void
use_database (const char *database, const char *key)
{
  char *new_key = key != NULL ? g_strdup (key) : create_key (database);

  stop_daemon (SIGTERM);
  g_free (fx.database);
  fx.database = g_strdup (database);
  g_free (fx.key);
  fx.key = new_key;
  start_daemon ();
  g_assert_true (rc_harness_wait_for (modemmanager_running, NULL, RC_HARNESS_TIMEOUT));
  wait_numbers_known ();
}

static void
use_main_database (void)
{
  use_database (fx.main_database, fx.main_key);
}

/* Fills the file system with @path until it is full. */
static void
fill_disk (const char *path)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  g_autofree char *block = g_malloc0 (64 * 1024);
  gsize size = 64 * 1024;

  g_assert_cmpint (fd, >=, 0);
  while (size > 0) {
    gssize n = write (fd, block, size);

    if (n < 0 && errno == ENOSPC)
      size /= 2;
    else
      g_assert_cmpint (n, >, 0);
  }
  g_assert_cmpint (fsync (fd), ==, 0);
  close (fd);
}

/* PRAGMA integrity_check on the daemon's database, from a connection of our own. */
static char *
integrity_check (void)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *statement = NULL;
  g_autoptr (GString) result = g_string_new (NULL);

  g_assert_cmpint (sqlite3_open_v2 (fx.database, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA integrity_check", -1, &statement, NULL), ==,
                   SQLITE_OK);
  while (sqlite3_step (statement) == SQLITE_ROW)
    g_string_append_printf (result, "%s%s", result->len ? "; " : "",
                            (const char *)sqlite3_column_text (statement, 0));
  sqlite3_finalize (statement);
  sqlite3_close (db);
  return g_string_free (g_steal_pointer (&result), FALSE);
}

typedef enum {
  OUTAGE_DISK_FULL,
  OUTAGE_READ_ONLY,
} Outage;

static void
set_immutable (gboolean immutable)
{
  const char *suffixes[] = { "", "-wal" };

  /* Not -shm: SQLite maps it, and a refused write there is a SIGBUS, not an error. */
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++) {
    g_autofree char *path = g_strconcat (fx.database, suffixes[i], NULL);
    const char *chattr[] = { "chattr", immutable ? "+i" : "-i", path, NULL };

    if (g_file_test (path, G_FILE_TEST_EXISTS))
      g_assert_true (run_command (chattr, NULL));
  }
}

static void
outage_begin (Outage outage, const char *filler)
{
  if (outage == OUTAGE_DISK_FULL)
    fill_disk (filler);
  else
    set_immutable (TRUE);
}

static void
outage_end (Outage outage, const char *filler)
{
  if (outage == OUTAGE_DISK_FULL)
    g_assert_cmpint (g_unlink (filler), ==, 0);
  else
    set_immutable (FALSE);
}

/*
 * Calls progress while the database cannot be written: dials are refused (503 internal_error,
 * nothing dialled), reads answer, the daemon lives; once writes work again the records catch up
 * (nothing left "connected" that ended), new calls are recorded, and the file is intact.
 */
static void
storage_drill (Outage outage, const char *when)
{
  g_autofree char *database = NULL;
  g_autofree char *filler = NULL;
  g_autofree char *during = NULL;
  g_autofree char *after = NULL;
  g_autofree char *check = NULL;
  g_autofree char *status = NULL;
  g_autofree char *inbound = NULL;
  gint64 since;
  guint atd_before;

  if (!mount_small_disk ())
    return;
  database = g_strdup_printf ("%s/%s.db", fx.mount_dir,
                              outage == OUTAGE_DISK_FULL ? "disk-full" : "read-only");
  filler = g_build_filename (fx.mount_dir, "filler", NULL);
  use_database (database, NULL);
  since = g_get_real_time ();

  /* A call in progress when the writes start failing. */
  during = connected_call (fx.sim0, LINE0);
  outage_begin (outage, filler);

  /* A dial cannot be recorded: refused, and not made. */
  atd_before = at_log_count (fx.sim1, "<- ATD");
  {
    g_autoptr (RcReply) reply
        = api ("POST", "/v1/calls/dial", "{\"from\":\"" LINE1 "\",\"to\":\"" REMOTE "\"}");

    if (reply->status != 503)
      violation ("%s: a dial answered %u, not 503: %s", when, reply->status, reply->body);
    else
      rc_reply_assert_error (reply, 503, "internal_error");
    rc_api_client_assert_documented (fx.client, "POST", "/v1/calls/dial", reply);
    rc_harness_spin (500);
    if (at_log_count (fx.sim1, "<- ATD") != atd_before)
      violation ("%s: a dial the daemon could not record was made", when);
  }
  assert_responsive (when, during);
  {
    g_autoptr (RcReply) health
        = rc_api_client_request (fx.client, "GET", "/v1/health", NULL, NULL, NULL, -1, NULL);

    g_test_message ("%s: health answers %u: %s", when, health->status, health->body);
  }

  /* Calls go on meanwhile: a caller rings (and gives up once the disk is back), the connected
   * call's remote hangs up. */
  g_free (rc_harness_sim_ctl_ok (fx.harness, fx.sim1, "incoming", CALLER, NULL));
  sim_ctl (fx.sim0, "hangup");
  rc_harness_spin (1500);
  status = get_status (during);
  g_test_message ("%s: the call that ended during the outage reads %s", when, status);
  assert_responsive (when, during);
  if (!daemon_alive ())
    violation ("%s: the daemon died", when);

  /* The disk comes back; the caller gives up. */
  outage_end (outage, filler);
  sim_ctl (fx.sim1, "hangup");
  {
    NewestWait wait = { "direction=inbound&status=missed&number=" LINE1_Q, NULL, NULL };

    if (rc_harness_wait_for (newest_call_is_new, &wait, SETTLE_TIMEOUT)) {
      inbound = g_steal_pointer (&wait.call_id);
      g_free (check_call (when, inbound, "missed", "remote_hangup", "call.ringing call.missed"));
    } else {
      violation ("%s: the caller who rang during the outage is not recorded", when);
    }
  }
  after = connected_call (fx.sim1, LINE1);
  finish_call (when, after);
  g_free (check_call (when, after, "ended", "local_hangup",
                      "call.initiating call.connected call.ended"));

  /* The call that ended while nothing could be written is not left "connected". */
  if (!wait_status_soft (when, during, "ended"))
    g_test_message ("%s: call %s still reads %s after the disk came back", when, during,
                    get_status (during));
  g_free (check_call (when, during, NULL, NULL, "call.initiating …"));
  check = integrity_check ();
  if (!g_str_equal (check, "ok"))
    violation ("%s: integrity_check says %s", when, check);
  settle (since, when);

  /* A restart on the same file reconciles whatever was left. */
  use_database (database, fx.key);
  settle (since, when);
  g_free (check_call (when, during, NULL, NULL, "call.initiating …"));
  g_free (check);
  check = integrity_check ();
  if (!g_str_equal (check, "ok"))
    violation ("%s: integrity_check after the restart says %s", when, check);
  use_main_database ();
}

static void
test_disk_full (void)
{
  storage_drill (OUTAGE_DISK_FULL, "disk full");
}

static void
test_database_read_only (void)
{
  storage_drill (OUTAGE_READ_ONLY, "database unwritable");
}

/* The daemon started on a database it cannot write: what it says. */
static void
test_start_read_only (void)
{
  const char *when = "start on an unwritable database";
  g_autofree char *database = NULL;
  g_autofree char *key = NULL;
  g_autofree char *log_name = NULL;
  g_autofree char *database_arg = NULL;
  g_autofree char *config_arg = NULL;
  g_autoptr (GSubprocess) daemon = NULL;
  g_autofree char *ready = NULL;

  if (!mount_small_disk ())
    return;
  database = g_build_filename (fx.mount_dir, "start-read-only.db", NULL);
  use_database (database, NULL);
  key = g_strdup (fx.key);
  stop_daemon (SIGKILL); /* the WAL stays, as after a crash */
  set_immutable (TRUE);

  log_name = g_strdup_printf ("daemon-%u.log", ++fx.daemon_runs);
  database_arg = g_strdup_printf ("--database=%s", fx.database);
  config_arg = g_strdup_printf ("--config=%s", fx.config);
  {
    const char *argv[] = { rc_harness_find_program ("reachcelld"),
                           config_arg,
                           database_arg,
                           "--listen=127.0.0.1:0",
                           "--print-ready",
                           NULL };

    daemon = rc_harness_spawn (fx.harness, log_name, G_SUBPROCESS_FLAGS_STDOUT_PIPE, argv);
  }
  rc_harness_adopt (fx.harness, daemon);
  ready = rc_harness_read_line (daemon, RC_HARNESS_TIMEOUT);
  if (ready != NULL && g_str_has_prefix (ready, "READY ")) {
    g_autoptr (RcReply) reply = NULL;

    rc_api_client_set_base_url (fx.client, ready + strlen ("READY "));
    wait_numbers_known ();
    reply = api ("POST", "/v1/calls/dial", "{\"from\":\"" LINE1 "\",\"to\":\"" REMOTE "\"}");
    g_test_message ("%s: it serves; a dial answers %u: %s", when, reply->status, reply->body);
    if (reply->status == 202)
      violation ("%s: a dial was accepted", when);
    rc_harness_stop_process (fx.harness, &daemon, SIGTERM);
  } else {
    g_autofree char *path = g_build_filename (rc_harness_get_dir (fx.harness), log_name, NULL);
    g_autofree char *log = file_text (path);

    rc_harness_wait_process (daemon, RC_HARNESS_TIMEOUT);
    g_test_message (
        "%s: it does not start (exit %d): %s", when,
        g_subprocess_get_if_exited (daemon) ? g_subprocess_get_exit_status (daemon) : -1, log);
    if (strstr (log, database) == NULL)
      violation ("%s: the error does not name the database: %s", when, log);
  }
  set_immutable (FALSE);
  use_database (database, key);
  use_main_database ();
  unmount_small_disk ();
}

/* --- daemon bugs found by the drills (see the report): focused, last ------------------------ */

static gboolean
modem_has_no_calls (gpointer user_data)
{
  g_autoptr (MMObject) object = rc_harness_sim_find_modem (fx.harness, user_data);
  GList *calls;
  gboolean empty;

  g_assert_nonnull (object);
  calls = mm_modem_voice_list_calls_sync (mm_object_peek_modem_voice (object), NULL, NULL);
  empty = calls == NULL;
  g_list_free_full (calls, g_object_unref);
  return empty;
}

typedef struct {
  const char *path;
  RcReply *reply; /* out */
} HangupWait;

static gboolean
hangup_not_503 (gpointer user_data)
{
  HangupWait *wait = user_data;

  g_clear_pointer (&wait->reply, rc_reply_free);
  wait->reply = api ("POST", wait->path, NULL);
  return wait->reply->status != 503;
}

/* Right after a restart the daemon may not have read ModemManager's calls yet (503 "the call is
 * no longer known to ModemManager"): the client tries again. */
static RcReply *
hangup_after_restart (const char *call_id)
{
  g_autofree char *path = call_path (call_id, "hangup");
  HangupWait wait = { path, NULL };

  rc_harness_wait_for (hangup_not_503, &wait, SETTLE_TIMEOUT);
  return wait.reply;
}

/* A call the restarted daemon took over from its database, then hung up: deleted from
 * ModemManager like any other (rc-calls.c load_open_calls () leaves OpenCall.modem_path NULL,
 * so release_mm_call () → rc_mm_watch_delete_call () finds no modem and does nothing). */
static void
test_bug_reconciled_call_not_deleted (void)
{
  gint64 since = g_get_real_time ();
  g_autofree char *call_id = connected_call (fx.sim0, LINE0);
  g_autoptr (RcReply) reply = NULL;

  stop_daemon (SIGKILL);
  start_daemon ();
  wait_numbers_known ();
  wait_status (call_id, "connected");
  reply = hangup_after_restart (call_id);
  if (reply->status != 200)
    violation ("the hangup answered %u: %s", reply->status, reply->body);
  if (!rc_harness_wait_for (modem_has_no_calls, fx.sim0, SETTLE_TIMEOUT))
    violation ("the terminated call stays at ModemManager after the hangup");

  /* The next restart finds it there and makes a record of its own for it. */
  stop_daemon (SIGTERM);
  start_daemon ();
  wait_numbers_known ();
  rc_harness_spin (1000);
  {
    g_autoptr (GPtrArray) records = outbound_records_since (LINE0, since);

    if (records->len != 1)
      violation ("%u outbound records for one call after a second restart", records->len);
  }
  settle (since, "reconciled call not deleted");
  mm_delete_all_calls ();
}

/* A call the restarted daemon took over: its modem goes away, the record fails (rc-calls.c
 * on_modem_removed () keeps calls whose modem_path differs, and it is NULL for these). */
static void
test_bug_reconciled_call_modem_removed (void)
{
  gint64 since = g_get_real_time ();
  g_autofree char *call_id = connected_call (fx.sim0, LINE0);

  stop_daemon (SIGKILL);
  start_daemon ();
  wait_numbers_known ();
  wait_status (call_id, "connected");
  rc_harness_unplug_by_profile (fx.harness, fx.sim0);
  wait_status_soft ("modem removed after a restart", call_id, "failed");
  sim_clear_calls (fx.sim0);
  plug_sims (fx.sim0, rc_harness_sim_get_port (fx.sim0), NULL, NULL);
  g_free (check_call ("modem removed after a restart", call_id, "failed", "modem_removed", NULL));
  /* A record left open holds the line in the daemon's memory until it restarts. */
  stop_daemon (SIGTERM);
  start_daemon ();
  wait_numbers_known ();
  settle (since, "modem removed after a restart");
}

/* A dial sent once ModemManager is there but before the daemon has read its modems (a window of
 * a few milliseconds after each start): not "422 number_not_provisioned", which a client takes
 * as final, but 503 as while ModemManager is away (rc-calls.c rc_calls_dial () checks only
 * rc_mm_watch_is_present ()), or accepted. Five tries at the window. */
static void
test_bug_dial_before_modems_read (void)
{
  gint64 since = g_get_real_time ();

  for (guint i = 0; i < 5; i++) {
    g_autoptr (RcReply) reply = NULL;

    stop_daemon (SIGTERM);
    start_daemon ();
    g_assert_true (rc_harness_wait_for (modemmanager_running, NULL, RC_HARNESS_TIMEOUT));
    reply = api ("POST", "/v1/calls/dial", "{\"from\":\"" LINE0 "\",\"to\":\"" REMOTE "\"}");
    if (reply->status == 422) {
      violation ("a dial right after the start answered %u: %s", reply->status, reply->body);
      break;
    }
    wait_numbers_known ();
    settle (since, "dial before the modems are read");
  }
  wait_numbers_known ();
  settle (since, "dial before the modems are read");
}

/* --- fixture -------------------------------------------------------------------------------- */

static char *
create_key (const char *database)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RcStore) store = rc_store_new (database, &error);
  char *key;

  g_assert_no_error (error);
  key = rc_store_create_key (store, "drills", NULL, &error);
  g_assert_no_error (error);
  return key;
}

static void
fixture_setup (void)
{
  g_autoptr (GError) error = NULL;

  fx.harness = rc_harness_new ("drills");
  rc_harness_start_bus (fx.harness);
  start_modemmanager ();
  fx.sim0 = rc_harness_add_sim (fx.harness, &rc_harness_sim0);
  fx.sim1 = rc_harness_add_sim (fx.harness, &rc_harness_sim1);

  fx.main_database = g_build_filename (rc_harness_get_dir (fx.harness), "reachcelld.db", NULL);
  fx.config = g_build_filename (rc_harness_get_dir (fx.harness), "reachcelld.conf", NULL);
  /* No per-key rate limit: the drills poll the API as fast as they can. */
  g_assert_true (g_file_set_contents (
      fx.config, "[daemon]\nlog-personal-info=true\n\n[api]\nrate-limit=0\n", -1, &error));
  fx.main_key = create_key (fx.main_database);
  fx.database = g_strdup (fx.main_database);
  fx.key = g_strdup (fx.main_key);

  start_daemon ();
  wait_lines_available ();
}

int
main (int argc, char *argv[])
{
  g_autofree char **args = g_new0 (char *, argc + 2);
  int n_args = argc + 1;
  int status;

  /* The storage drills mount a small file system: in a mount namespace of our own, made before
   * any thread exists, so that it goes away with this program whatever happens. */
  fx.private_mounts = geteuid () == 0 && unshare (CLONE_NEWNS) == 0
                      && mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;

  /* Every drill runs and reports, even after a failure. */
  memcpy (args, argv, argc * sizeof (char *));
  args[argc] = (char *)"--keep-going";
  argv = args;
  argc = n_args;
  g_test_init (&argc, &argv, NULL);
  fixture_setup ();

  g_test_add_func ("/rc/drills/kill-during-answer", test_kill_during_answer);
  g_test_add_func ("/rc/drills/modemmanager-restarted", test_modemmanager_restarted);
  g_test_add_func ("/rc/drills/modem-mute", test_modem_mute);
  g_test_add_func ("/rc/drills/modem-garbage", test_modem_garbage);
  g_test_add_func ("/rc/drills/start-read-only", test_start_read_only);
  /* Drills that daemon bugs make fail (always, or at some kill timings: see the report). */
  g_test_add_func ("/rc/drills/kill-during-hangup", test_kill_during_hangup);
  g_test_add_func ("/rc/drills/kill-during-dial", test_kill_during_dial);
  g_test_add_func ("/rc/drills/disk-full", test_disk_full);
  g_test_add_func ("/rc/drills/database-read-only", test_database_read_only);
  /* The same bugs, each on its own. */
  g_test_add_func ("/rc/drills/bug/reconciled-call-not-deleted",
                   test_bug_reconciled_call_not_deleted);
  g_test_add_func ("/rc/drills/bug/reconciled-call-modem-removed",
                   test_bug_reconciled_call_modem_removed);
  g_test_add_func ("/rc/drills/bug/dial-before-modems-read", test_bug_dial_before_modems_read);

  status = g_test_run ();
  g_clear_pointer (&fx.client, rc_api_client_free);
  g_clear_object (&fx.daemon);
  unmount_small_disk ();
  g_clear_pointer (&fx.harness, rc_harness_free);
  g_free (fx.base_url);
  g_free (fx.key);
  g_free (fx.main_key);
  g_free (fx.database);
  g_free (fx.main_database);
  g_free (fx.config);
  return status;
}
