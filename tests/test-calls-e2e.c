/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "test-calls-e2e"

#include "config.h"

#include "rc-harness.h"
#include "rc-store.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <string.h>

/*
 * End to end: the built reachcelld against the real ModemManager with two simulated modems,
 * driven over HTTP on loopback with a real libsoup client. One daemon serves every case; each
 * case leaves both lines idle.
 */

#define LINE0 "+4915100000001"
#define LINE1 "+4915100000002"
#define LINE2 "+4915100000003" /* dial-interval=3600 */
#define LINE3 "+4915100000004" /* daily-dial-cap=1 */
#define N_LINES 4
#define REMOTE "+4915199999999"
/* In a query string "+" means a space: numbers go %-encoded. */
#define LINE0_Q "%2B4915100000001"
#define LINE1_Q "%2B4915100000002"

/* sim1 reports no own number: its number comes from the configuration, by ICCID. */
static const RcSimSpec sim1_spec = {
  .id = "sim1",
  .imei = "356938035643817",
  .imsi = "262029876543210",
  .iccid = "89490200009876543215",
  .own_number = NULL,
  .operator_code = "26202",
};

/* Two more lines to exercise per-number pacing. */
static const RcSimSpec sim2_spec = {
  .id = "sim2",
  .imei = "356938035643825",
  .imsi = "262031111111111",
  .iccid = "89490200001111111116",
  .own_number = LINE2,
  .operator_code = "26203",
};

static const RcSimSpec sim3_spec = {
  .id = "sim3",
  .imei = "356938035643833",
  .imsi = "262032222222222",
  .iccid = "89490200002222222225",
  .own_number = LINE3,
  .operator_code = "26203",
};

static struct {
  RcHarness *harness;
  RcHarnessSim *sim0;
  RcHarnessSim *sim1;
  RcHarnessSim *sim2;
  RcHarnessSim *sim3;
  GSubprocess *daemon;
  char *base_url;
  char *key;
  char *database;
  char *config;
  SoupSession *session;
  guint daemon_runs;
} fx;

typedef struct {
  guint status;
  JsonNode *root;
  char *body;
  SoupMessageHeaders *headers;
} Reply;

static void
reply_free (Reply *reply)
{
  g_clear_pointer (&reply->root, json_node_unref);
  g_clear_pointer (&reply->headers, soup_message_headers_unref);
  g_free (reply->body);
  g_free (reply);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Reply, reply_free)

static Reply *
request_full (const char *method,
              const char *path,
              const char *key,
              const char *content_type,
              const char *body,
              const char *const *extra_headers)
{
  g_autofree char *url = g_strconcat (fx.base_url, path + 1, NULL);
  g_autoptr (SoupMessage) msg = soup_message_new (method, url);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;
  Reply *reply = g_new0 (Reply, 1);

  g_assert_nonnull (msg);
  if (key != NULL) {
    g_autofree char *authorization = g_strconcat ("Bearer ", key, NULL);

    soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                  authorization);
  }
  for (guint i = 0; extra_headers != NULL && extra_headers[i] != NULL; i += 2)
    soup_message_headers_replace (soup_message_get_request_headers (msg), extra_headers[i],
                                  extra_headers[i + 1]);
  if (body != NULL) {
    g_autoptr (GBytes) payload = g_bytes_new (body, strlen (body));

    soup_message_set_request_body_from_bytes (msg, content_type, payload);
  }
  bytes = soup_session_send_and_read (fx.session, msg, NULL, &error);
  g_assert_no_error (error);
  reply->status = soup_message_get_status (msg);
  reply->body = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  reply->headers = soup_message_headers_ref (soup_message_get_response_headers (msg));
  reply->root = json_from_string (reply->body, &error);
  g_assert_no_error (error);
  g_assert_nonnull (reply->root);
  g_assert_nonnull (soup_message_headers_get_one (reply->headers, "X-Request-Id"));
  return reply;
}

static Reply *
api (const char *method, const char *path, const char *body)
{
  return request_full (method, path, fx.key, body ? "application/json" : NULL, body, NULL);
}

/* Checks a real response against data/openapi.json with tests/check-openapi.py. */
static void
assert_documented (const char *method, const char *path, Reply *reply)
{
  g_autofree char *script = g_test_build_filename (G_TEST_DIST, "check-openapi.py", NULL);
  g_autofree char *status = g_strdup_printf ("%u", reply->status);
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GBytes) input = g_bytes_new (reply->body, strlen (reply->body));
  g_autoptr (GBytes) output = NULL;
  g_autoptr (GError) error = NULL;

  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                  | G_SUBPROCESS_FLAGS_STDERR_MERGE,
                              &error, "/usr/bin/python3", script, "validate",
                              RC_SOURCE_DATADIR "/openapi.json", method, path, status, "-", NULL);
  g_assert_no_error (error);
  g_subprocess_communicate (process, input, NULL, &output, NULL, &error);
  g_assert_no_error (error);
  if (g_subprocess_get_exit_status (process) != 0)
    g_error ("%s %s %u does not match the OpenAPI document: %.*s\n%s", method, path, reply->status,
             (int)g_bytes_get_size (output), (const char *)g_bytes_get_data (output, NULL),
             reply->body);
}

static JsonObject *
data_of (Reply *reply)
{
  JsonObject *root = json_node_get_object (reply->root);

  g_assert_true (json_object_get_boolean_member (root, "success"));
  return json_object_get_object_member (root, "data");
}

static void
assert_error (Reply *reply, guint status, const char *code)
{
  JsonObject *root = json_node_get_object (reply->root);
  JsonObject *error;

  if (reply->status != status)
    g_error ("expected %u %s, got %u: %s", status, code, reply->status, reply->body);
  g_assert_false (json_object_get_boolean_member (root, "success"));
  error = json_object_get_object_member (root, "error");
  g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, code);
  g_assert_true (strlen (json_object_get_string_member (error, "message")) > 0);
}

static const char *
string_or_null (JsonObject *object, const char *member)
{
  return json_object_get_null_member (object, member)
             ? NULL
             : json_object_get_string_member (object, member);
}

static char *
dial (const char *from, const char *to, const char *extra)
{
  g_autofree char *body
      = g_strdup_printf ("{\"from\":\"%s\",\"to\":\"%s\"%s}", from, to, extra ? extra : "");
  g_autoptr (Reply) reply = api ("POST", "/v1/calls/dial", body);
  JsonObject *call;

  if (reply->status != 202)
    g_error ("dial answered %u: %s", reply->status, reply->body);
  assert_documented ("POST", "/v1/calls/dial", reply);
  call = data_of (reply);
  g_assert_cmpstr (json_object_get_string_member (call, "status"), ==, "initiating");
  g_assert_cmpstr (json_object_get_string_member (call, "from"), ==, from);
  g_assert_cmpstr (json_object_get_string_member (call, "to"), ==, to);
  g_assert_cmpstr (json_object_get_string_member (call, "direction"), ==, "outbound");
  return g_strdup (json_object_get_string_member (call, "call_id"));
}

typedef struct {
  const char *call_id;
  const char *status;
  Reply *reply; /* out */
} StatusWait;

static gboolean
call_has_status (gpointer user_data)
{
  StatusWait *wait = user_data;
  g_autofree char *path = g_strconcat ("/v1/calls/", wait->call_id, NULL);

  g_clear_pointer (&wait->reply, reply_free);
  wait->reply = api ("GET", path, NULL);
  g_assert_cmpuint (wait->reply->status, ==, 200);
  return g_strcmp0 (json_object_get_string_member (data_of (wait->reply), "status"), wait->status)
         == 0;
}

/* Polls GET /v1/calls/{id} until the status is reached; returns the last reply. */
static Reply *
wait_status (const char *call_id, const char *status)
{
  StatusWait wait = { call_id, status, NULL };

  if (!rc_harness_wait_for (call_has_status, &wait, RC_HARNESS_TIMEOUT))
    g_error ("call %s did not become %s: %s", call_id, status, wait.reply->body);
  return wait.reply;
}

typedef struct {
  const char *query;
  char *call_id; /* out */
} NewestWait;

static gboolean
newest_call_matches (gpointer user_data)
{
  NewestWait *wait = user_data;
  g_autofree char *path = g_strconcat ("/v1/calls?per_page=1&", wait->query, NULL);
  g_autoptr (Reply) reply = api ("GET", path, NULL);
  JsonArray *calls;

  g_assert_cmpuint (reply->status, ==, 200);
  calls = json_node_get_array (json_object_get_member (json_node_get_object (reply->root), "data"));
  if (json_array_get_length (calls) == 0)
    return FALSE;
  g_free (wait->call_id);
  wait->call_id = g_strdup (
      json_object_get_string_member (json_array_get_object_element (calls, 0), "call_id"));
  return TRUE;
}

/* The newest call matching @query that is not @not_id. */
static char *
wait_new_call (const char *query, const char *not_id)
{
  NewestWait wait = { query, NULL };
  gint64 deadline = g_get_monotonic_time () + RC_HARNESS_TIMEOUT * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline) {
    if (rc_harness_wait_for (newest_call_matches, &wait, RC_HARNESS_TIMEOUT)
        && g_strcmp0 (wait.call_id, not_id) != 0)
      return wait.call_id;
    rc_harness_spin (50);
  }
  g_error ("no new call matching %s", query);
  return NULL;
}

/* Whether the record of call @user_data no longer keeps its ModemManager path. */
static gboolean
record_has_no_path (gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RcStore) store = rc_store_new (fx.database, &error);
  g_autoptr (RcCall) call = NULL;

  g_assert_no_error (error);
  call = rc_store_get_call (store, user_data, &error);
  g_assert_no_error (error);
  return call->mm_path == NULL;
}

/* The event types recorded for a call, in sequence order, as "call.a call.b …". */
static char *
event_types (const char *call_id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RcStore) store = rc_store_new (fx.database, &error);
  g_autoptr (GPtrArray) events = NULL;
  g_autoptr (GString) types = g_string_new (NULL);

  g_assert_no_error (error);
  events = rc_store_list_events (store, call_id, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < events->len; i++) {
    RcEvent *event = g_ptr_array_index (events, i);

    g_assert_cmpuint (event->sequence, ==, i + 1);
    g_string_append_printf (types, "%s%s", i ? " " : "", event->type);
  }
  return g_string_free (g_steal_pointer (&types), FALSE);
}

static void
assert_final (Reply *reply, const char *status, const char *end_reason)
{
  JsonObject *call = data_of (reply);

  g_assert_cmpstr (json_object_get_string_member (call, "status"), ==, status);
  g_assert_cmpstr (string_or_null (call, "end_reason"), ==, end_reason);
  g_assert_nonnull (string_or_null (call, "ended_at"));
}

static void
sim_ctl (RcHarnessSim *sim, const char *command, const char *argument)
{
  g_free (rc_harness_sim_ctl_ok (fx.harness, sim, command, argument, NULL));
}

/* --- flows --------------------------------------------------------------------------------- */

static gboolean
modem_has_no_calls (gpointer user_data)
{
  g_autoptr (MMObject) object = rc_harness_sim_find_modem (fx.harness, user_data);
  g_autoptr (GError) error = NULL;
  GList *calls;
  gboolean empty;

  g_assert_nonnull (object);
  calls = mm_modem_voice_list_calls_sync (mm_object_peek_modem_voice (object), NULL, &error);
  g_assert_no_error (error);
  empty = calls == NULL;
  g_list_free_full (calls, g_object_unref);
  return empty;
}

static void
test_outbound_answered_local_hangup (void)
{
  g_autofree char *call_id = dial (LINE0, REMOTE, ",\"client_reference\":\"order-17\"");
  g_autofree char *path = g_strconcat ("/v1/calls/", call_id, "/hangup", NULL);
  g_autoptr (Reply) ringing = wait_status (call_id, "ringing");
  g_autoptr (Reply) connected = NULL;
  g_autoptr (Reply) hangup = NULL;
  g_autofree char *events = NULL;
  JsonObject *call;

  g_assert_nonnull (string_or_null (data_of (ringing), "ringing_at"));
  sim_ctl (fx.sim0, "answer", NULL);
  connected = wait_status (call_id, "connected");
  call = data_of (connected);
  g_assert_nonnull (string_or_null (call, "connected_at"));
  g_assert_true (json_object_get_int_member (call, "duration_seconds") >= 0);
  g_assert_cmpstr (json_object_get_string_member (call, "client_reference"), ==, "order-17");
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (call, "sim"), "modem"), ==,
      rc_harness_sim0.imei);

  assert_documented ("GET", "/v1/calls/{call_id}", connected);
  hangup = api ("POST", path, NULL);
  g_assert_cmpuint (hangup->status, ==, 200);
  assert_documented ("POST", "/v1/calls/{call_id}/hangup", hangup);
  assert_final (hangup, "ended", "local_hangup");
  events = event_types (call_id);
  g_assert_cmpstr (events, ==, "call.initiating call.ringing call.connected call.ended");
  /* Recorded, so deleted from ModemManager (which keeps terminated calls until then); then the
   * record forgets the object's path, which ModemManager reuses after a restart. */
  g_assert_true (rc_harness_wait_for (modem_has_no_calls, fx.sim0, RC_HARNESS_TIMEOUT));
  g_assert_true (rc_harness_wait_for (record_has_no_path, call_id, RC_HARNESS_TIMEOUT));

  /* Hanging up again is not valid now. */
  g_clear_pointer (&hangup, reply_free);
  hangup = api ("POST", path, NULL);
  assert_error (hangup, 409, "invalid_state");
}

static void
test_outbound_timeout (void)
{
  g_autofree char *call_id = dial (LINE0, REMOTE, ",\"timeout_seconds\":5");
  g_autoptr (Reply) final = wait_status (call_id, "missed");

  assert_final (final, "missed", "timeout");
  g_assert_true (json_object_get_null_member (data_of (final), "connected_at"));
  g_assert_true (json_object_get_null_member (data_of (final), "duration_seconds"));
}

static void
test_outbound_hangup_while_ringing (void)
{
  g_autofree char *call_id = dial (LINE0, REMOTE, NULL);
  g_autofree char *path = g_strconcat ("/v1/calls/", call_id, "/hangup", NULL);
  g_autoptr (Reply) ringing = wait_status (call_id, "ringing");
  g_autoptr (Reply) hangup = api ("POST", path, NULL);

  g_assert_cmpuint (hangup->status, ==, 200);
  assert_final (hangup, "missed", "local_hangup");
}

static void
test_outbound_remote_busy (void)
{
  g_autofree char *call_id = dial (LINE0, REMOTE, NULL);
  g_autoptr (Reply) ringing = wait_status (call_id, "ringing");
  g_autoptr (Reply) final = NULL;

  sim_ctl (fx.sim0, "busy", NULL);
  /* ModemManager 1.20.4 reports a BUSY line with reason "unknown": busy and no-answer look the
   * same, and the call is recorded missed, ended by the remote side. */
  final = wait_status (call_id, "missed");
  assert_final (final, "missed", "remote_hangup");
}

static void
test_outbound_remote_hangup (void)
{
  g_autofree char *call_id = dial (LINE0, REMOTE, NULL);
  g_autoptr (Reply) ringing = wait_status (call_id, "ringing");
  g_autoptr (Reply) connected = NULL;
  g_autoptr (Reply) final = NULL;

  sim_ctl (fx.sim0, "answer", NULL);
  connected = wait_status (call_id, "connected");
  sim_ctl (fx.sim0, "hangup", NULL);
  final = wait_status (call_id, "ended");
  assert_final (final, "ended", "remote_hangup");
}

static void
test_outbound_dial_refused (void)
{
  g_autofree char *call_id = NULL;
  g_autoptr (Reply) final = NULL;

  sim_ctl (fx.sim0, "next-dial", "error");
  call_id = dial (LINE0, REMOTE, NULL);
  final = wait_status (call_id, "failed");
  assert_final (final, "failed", "error");
}

static void
test_inbound_missed (void)
{
  g_autofree char *call_id = NULL;
  g_autoptr (Reply) ringing = NULL;
  g_autoptr (Reply) final = NULL;
  g_autofree char *events = NULL;
  JsonObject *call;

  sim_ctl (fx.sim0, "incoming", "+4930123456");
  call_id = wait_new_call ("direction=inbound&status=ringing", NULL);
  ringing = wait_status (call_id, "ringing");
  call = data_of (ringing);
  g_assert_cmpstr (string_or_null (call, "from"), ==, "+4930123456");
  g_assert_cmpstr (string_or_null (call, "to"), ==, LINE0);
  g_assert_cmpstr (string_or_null (call, "direction"), ==, "inbound");

  sim_ctl (fx.sim0, "hangup", NULL);
  final = wait_status (call_id, "missed");
  assert_final (final, "missed", "remote_hangup");
  events = event_types (call_id);
  g_assert_cmpstr (events, ==, "call.ringing call.missed");
}

static void
test_inbound_answered (void)
{
  g_autofree char *call_id = NULL;
  g_autofree char *answer_path = NULL;
  g_autofree char *hangup_path = NULL;
  g_autoptr (Reply) answer = NULL;
  g_autoptr (Reply) again = NULL;
  g_autoptr (Reply) connected = NULL;
  g_autoptr (Reply) hangup = NULL;

  g_free (
      rc_harness_sim_ctl_ok (fx.harness, fx.sim1, "incoming", "01511234567", "--national", NULL));
  call_id = wait_new_call ("direction=inbound&status=ringing&number=" LINE1_Q, NULL);
  answer_path = g_strconcat ("/v1/calls/", call_id, "/answer", NULL);
  hangup_path = g_strconcat ("/v1/calls/", call_id, "/hangup", NULL);

  answer = api ("POST", answer_path, NULL);
  g_assert_cmpuint (answer->status, ==, 202);
  assert_documented ("POST", "/v1/calls/{call_id}/answer", answer);
  g_assert_cmpstr (json_object_get_string_member (data_of (answer), "status"), ==, "answering");
  /* National format normalised with the SIM's country (+49). */
  g_assert_cmpstr (string_or_null (data_of (answer), "from"), ==, "+491511234567");
  connected = wait_status (call_id, "connected");

  again = api ("POST", answer_path, NULL);
  assert_error (again, 409, "invalid_state");

  hangup = api ("POST", hangup_path, NULL);
  g_assert_cmpuint (hangup->status, ==, 200);
  assert_final (hangup, "ended", "local_hangup");
}

static void
test_inbound_declined (void)
{
  g_autofree char *call_id = NULL;
  g_autofree char *path = NULL;
  g_autoptr (Reply) hangup = NULL;

  sim_ctl (fx.sim0, "incoming", "+4930123456");
  call_id = wait_new_call ("direction=inbound&status=ringing&number=" LINE0_Q, NULL);
  path = g_strconcat ("/v1/calls/", call_id, "/hangup", NULL);
  hangup = api ("POST", path, NULL);
  g_assert_cmpuint (hangup->status, ==, 200);
  assert_final (hangup, "rejected", "local_hangup");
}

static void
test_inbound_withheld (void)
{
  g_autofree char *call_id = NULL;
  g_autoptr (Reply) ringing = NULL;
  g_autoptr (Reply) final = NULL;

  sim_ctl (fx.sim0, "incoming", "--withheld");
  call_id = wait_new_call ("direction=inbound&status=ringing&number=" LINE0_Q, NULL);
  ringing = wait_status (call_id, "ringing");
  g_assert_true (json_object_get_null_member (data_of (ringing), "from"));
  sim_ctl (fx.sim0, "hangup", NULL);
  final = wait_status (call_id, "missed");
  g_assert_true (json_object_get_null_member (data_of (final), "from"));
}

static void
test_second_inbound_line_busy (void)
{
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autofree char *previous = NULL;
  g_autofree char *path = NULL;
  g_autoptr (Reply) connected = NULL;
  g_autoptr (Reply) busy = NULL;
  g_autoptr (Reply) rejected = NULL;
  g_autoptr (Reply) still = NULL;
  g_autoptr (Reply) hangup = NULL;

  sim_ctl (fx.sim0, "auto-answer", "1"); /* applies from the next ATD on */
  first = dial (LINE0, REMOTE, NULL);
  path = g_strconcat ("/v1/calls/", first, "/hangup", NULL);
  connected = wait_status (first, "connected");
  sim_ctl (fx.sim0, "auto-answer", "0");

  /* Dialling on a line that has a call: 409. */
  busy = request_full ("POST", "/v1/calls/dial", fx.key, "application/json",
                       "{\"from\":\"" LINE0 "\",\"to\":\"" REMOTE "\"}", NULL);
  assert_error (busy, 409, "line_busy");

  /* A second caller is declined and recorded at once. */
  previous = wait_new_call ("number=" LINE0_Q, NULL);
  g_assert_cmpstr (previous, ==, first);
  sim_ctl (fx.sim0, "incoming", "+4940987654");
  second = wait_new_call ("number=" LINE0_Q, first);
  rejected = wait_status (second, "rejected");
  assert_final (rejected, "rejected", "line_busy");
  still = wait_status (first, "connected");

  hangup = api ("POST", path, NULL);
  assert_final (hangup, "ended", "local_hangup");
}

static void
test_two_modems_at_once (void)
{
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  g_autofree char *path_a = NULL;
  g_autofree char *path_b = NULL;
  g_autoptr (Reply) ca = NULL;
  g_autoptr (Reply) cb = NULL;
  g_autoptr (Reply) ha = NULL;
  g_autoptr (Reply) hb = NULL;

  /* Auto-answer applies from the next ATD on. */
  sim_ctl (fx.sim0, "auto-answer", "1");
  sim_ctl (fx.sim1, "auto-answer", "1");
  a = dial (LINE0, REMOTE, NULL);
  b = dial (LINE1, "+4915188888888", NULL);
  path_a = g_strconcat ("/v1/calls/", a, "/hangup", NULL);
  path_b = g_strconcat ("/v1/calls/", b, "/hangup", NULL);
  ca = wait_status (a, "connected");
  cb = wait_status (b, "connected");
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (data_of (cb), "sim"), "modem"),
      ==, sim1_spec.imei);
  sim_ctl (fx.sim0, "auto-answer", "0");
  sim_ctl (fx.sim1, "auto-answer", "0");
  ha = api ("POST", path_a, NULL);
  hb = api ("POST", path_b, NULL);
  assert_final (ha, "ended", "local_hangup");
  assert_final (hb, "ended", "local_hangup");
}

/* --- API contract -------------------------------------------------------------------------- */

static void
test_errors (void)
{
  const char *const json_header[] = { NULL };
  g_autofree char *huge = NULL;
  g_autofree char *deep = NULL;
  struct {
    const char *method;
    const char *path;
    const char *key;
    const char *content_type;
    const char *body;
    guint status;
    const char *code;
  } cases[] = {
    { "GET", "/v1/calls", NULL, NULL, NULL, 401, "unauthorized" },
    { "GET", "/v1/calls", "ak_0000000000000000000000000000000000000000", NULL, NULL, 401,
      "unauthorized" },
    { "GET", "/v1/numbers", NULL, NULL, NULL, 401, "unauthorized" },
    { "GET", "/v1/calls/00000000-0000-0000-0000-000000000000", fx.key, NULL, NULL, 404,
      "not_found" },
    { "GET", "/v1/nothing", fx.key, NULL, NULL, 404, "not_found" },
    { "GET", "/", fx.key, NULL, NULL, 404, "not_found" },
    { "DELETE", "/v1/calls", fx.key, NULL, NULL, 405, "method_not_allowed" },
    { "GET", "/v1/calls/dial", fx.key, NULL, NULL, 405, "method_not_allowed" },
    { "POST", "/v1/health", NULL, NULL, NULL, 405, "method_not_allowed" },
    { "POST", "/v1/calls/dial", fx.key, "application/json", "{", 400, "invalid_json" },
    { "POST", "/v1/calls/dial", fx.key, "application/json", "[1,2]", 400, "invalid_json" },
    { "POST", "/v1/calls/dial", fx.key, "application/json", "\"\xff\xfe\"", 400, "invalid_json" },
    { "POST", "/v1/calls/dial", fx.key, "text/plain", "{}", 415, "unsupported_media_type" },
    { "POST", "/v1/calls/dial", fx.key, "application/json", "{\"to\":\"" REMOTE "\"}", 400,
      "invalid_parameter" },
    { "POST", "/v1/calls/dial", fx.key, "application/json",
      "{\"from\":\"" LINE0 "\",\"to\":\"" REMOTE "\",\"colour\":1}", 400, "invalid_parameter" },
    { "POST", "/v1/calls/dial", fx.key, "application/json",
      "{\"from\":\"" LINE0 "\",\"to\":\"" REMOTE "\",\"timeout_seconds\":4}", 400,
      "invalid_parameter" },
    { "POST", "/v1/calls/dial", fx.key, "application/json",
      "{\"from\":\"" LINE0 "\",\"to\":\"" REMOTE "\",\"timeout_seconds\":\"9\"}", 400,
      "invalid_parameter" },
    { "POST", "/v1/calls/dial", fx.key, "application/json",
      "{\"from\":\"" LINE0 "\",\"to\":\"0151\"}", 422, "invalid_number" },
    { "POST", "/v1/calls/dial", fx.key, "application/json",
      "{\"from\":\"" LINE0 "\",\"to\":\"+14155552671\"}", 422, "country_mismatch" },
    { "POST", "/v1/calls/dial", fx.key, "application/json",
      "{\"from\":\"+4915177777777\",\"to\":\"" REMOTE "\"}", 422, "number_not_provisioned" },
    { "GET", "/v1/calls?per_page=0", fx.key, NULL, NULL, 400, "invalid_parameter" },
    { "GET", "/v1/calls?per_page=101", fx.key, NULL, NULL, 400, "invalid_parameter" },
    { "GET", "/v1/calls?page=x", fx.key, NULL, NULL, 400, "invalid_parameter" },
    { "GET", "/v1/calls?status=lost", fx.key, NULL, NULL, 400, "invalid_parameter" },
    { "GET", "/v1/calls?direction=up", fx.key, NULL, NULL, 400, "invalid_parameter" },
    { "GET", "/v1/calls?from_date=2026-02-30", fx.key, NULL, NULL, 400, "invalid_parameter" },
    { "GET", "/v1/calls?to_date=yesterday", fx.key, NULL, NULL, 400, "invalid_parameter" },
    { "GET", "/v1/calls?number=12345", fx.key, NULL, NULL, 400, "invalid_parameter" },
    /* A key in the URL is refused even next to a good header: URLs end up in logs. */
    { "GET", "/v1/calls?api_key=x", fx.key, NULL, NULL, 401, "unauthorized" },
    { "GET", "/v1/numbers/+4915177777777", fx.key, NULL, NULL, 404, "not_found" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (Reply) reply = request_full (cases[i].method, cases[i].path, cases[i].key,
                                            cases[i].content_type, cases[i].body, json_header);

    if (reply->status != cases[i].status)
      g_error ("case %u (%s %s): expected %u, got %u: %s", i, cases[i].method, cases[i].path,
               cases[i].status, reply->status, reply->body);
    assert_error (reply, cases[i].status, cases[i].code);
    /* Unknown routes are, by definition, not in the document. */
    if (g_str_has_prefix (cases[i].path, "/v1/calls") || g_str_has_prefix (cases[i].path, "/v1/n")
        || g_str_has_prefix (cases[i].path, "/v1/h"))
      if (!g_str_equal (cases[i].path, "/v1/nothing"))
        assert_documented (cases[i].method, cases[i].path, reply);
  }

  huge = g_strnfill (64 * 1024, ' ');
  {
    g_autoptr (Reply) reply
        = request_full ("POST", "/v1/calls/dial", fx.key, "application/json", huge, NULL);

    assert_error (reply, 413, "payload_too_large");
  }
  {
    g_autoptr (GString) nested = g_string_new (NULL);

    for (guint i = 0; i < 5000; i++)
      g_string_append_c (nested, '[');
    deep = g_string_free (g_steal_pointer (&nested), FALSE);
  }
  {
    g_autoptr (Reply) reply
        = request_full ("POST", "/v1/calls/dial", fx.key, "application/json", deep, NULL);

    assert_error (reply, 400, "json_too_deep");
  }
}

static void
test_idempotency (void)
{
  const char *const headers[] = { "Idempotency-Key", "idem-1", NULL };
  const char *body = "{\"from\":\"" LINE1 "\",\"to\":\"" REMOTE "\"}";
  g_autoptr (Reply) first
      = request_full ("POST", "/v1/calls/dial", fx.key, "application/json", body, headers);
  g_autoptr (Reply) replay
      = request_full ("POST", "/v1/calls/dial", fx.key, "application/json", body, headers);
  g_autoptr (Reply) reused
      = request_full ("POST", "/v1/calls/dial", fx.key, "application/json",
                      "{\"from\":\"" LINE1 "\",\"to\":\"+4915100000009\"}", headers);
  g_autoptr (Reply) list = NULL;
  g_autoptr (Reply) hangup = NULL;
  g_autofree char *path = NULL;
  const char *call_id;

  g_assert_cmpuint (first->status, ==, 202);
  g_assert_cmpuint (replay->status, ==, 202);
  g_assert_cmpstr (first->body, ==, replay->body);
  assert_error (reused, 422, "idempotency_key_reused");
  call_id = json_object_get_string_member (data_of (first), "call_id");
  path = g_strconcat ("/v1/calls/", call_id, "/hangup", NULL);
  hangup = api ("POST", path, NULL);
  g_assert_cmpuint (hangup->status, ==, 200);

  /* Only one call was dialled. */
  list = api ("GET", "/v1/calls?direction=outbound&number=" LINE1_Q, NULL);
  assert_documented ("GET", "/v1/calls", list);
  {
    JsonArray *calls
        = json_node_get_array (json_object_get_member (json_node_get_object (list->root), "data"));
    guint same = 0;

    for (guint i = 0; i < json_array_get_length (calls); i++)
      same += g_str_equal (
          json_object_get_string_member (json_array_get_object_element (calls, i), "call_id"),
          call_id);
    g_assert_cmpuint (same, ==, 1);
  }
}

static void
test_numbers_and_health (void)
{
  g_autoptr (Reply) numbers = api ("GET", "/v1/numbers", NULL);
  g_autoptr (Reply) one = api ("GET", "/v1/numbers/" LINE1, NULL);
  g_autoptr (Reply) activate = api ("POST", "/v1/numbers/" LINE1 "/activate", NULL);
  g_autoptr (Reply) health = request_full ("GET", "/v1/health", NULL, NULL, NULL, NULL);
  g_autoptr (Reply) openapi = request_full ("GET", "/v1/openapi.json", NULL, NULL, NULL, NULL);
  JsonArray *lines;
  JsonObject *line;

  g_assert_cmpuint (numbers->status, ==, 200);
  assert_documented ("GET", "/v1/numbers", numbers);
  assert_documented ("GET", "/v1/numbers/{number}", one);
  assert_documented ("POST", "/v1/numbers/{number}/activate", activate);
  assert_documented ("GET", "/v1/health", health);
  lines
      = json_node_get_array (json_object_get_member (json_node_get_object (numbers->root), "data"));
  g_assert_cmpuint (json_array_get_length (lines), ==, N_LINES);
  line = data_of (one);
  g_assert_cmpstr (json_object_get_string_member (line, "state"), ==, "available");
  g_assert_cmpstr (json_object_get_string_member (line, "provisioned_by"), ==, "configuration");
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (line, "sim"), "iccid"), ==,
      sim1_spec.iccid);
  /* The generic plugin has no SIM slots to switch. */
  assert_error (activate, 409, "invalid_state");

  g_assert_cmpuint (health->status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (data_of (health), "modemmanager"), ==, "running");
  g_assert_cmpint (json_object_get_int_member (data_of (health), "modems"), ==, N_LINES);
  g_assert_cmpuint (openapi->status, ==, 200);
  g_assert_nonnull (json_object_get_member (json_node_get_object (openapi->root), "openapi"));
}

static void
assert_paced (const char *from, const char *reason, guint max_retry_after)
{
  g_autofree char *body = g_strdup_printf ("{\"from\":\"%s\",\"to\":\"%s\"}", from, REMOTE);
  g_autoptr (Reply) reply
      = request_full ("POST", "/v1/calls/dial", fx.key, "application/json", body, NULL);
  const char *retry_after = soup_message_headers_get_one (reply->headers, "Retry-After");
  guint64 seconds = 0;

  assert_error (reply, 429, "rate_limited");
  assert_documented ("POST", "/v1/calls/dial", reply);
  g_assert_nonnull (strstr (reply->body, reason));
  g_assert_nonnull (retry_after);
  g_assert_true (g_ascii_string_to_unsigned (retry_after, 10, 1, max_retry_after, &seconds, NULL));
}

static void
test_number_pacing (void)
{
  g_autofree char *first = dial (LINE2, REMOTE, NULL);
  g_autofree char *capped = dial (LINE3, REMOTE, NULL);
  g_autofree char *path = g_strconcat ("/v1/calls/", first, "/hangup", NULL);
  g_autofree char *capped_path = g_strconcat ("/v1/calls/", capped, "/hangup", NULL);
  g_autoptr (Reply) hangup = api ("POST", path, NULL);
  g_autoptr (Reply) capped_hangup = api ("POST", capped_path, NULL);

  g_assert_cmpuint (hangup->status, ==, 200);
  g_assert_cmpuint (capped_hangup->status, ==, 200);
  /* The line is free again, but its SIM may dial once an hour / once a day. */
  assert_paced (LINE2, "dial-interval", 3600);
  assert_paced (LINE3, "daily-dial-cap", 86400);
}

/* --- failure drills (last: they take modems, ModemManager and the daemon away) ------------- */

static void start_daemon (void);
static void wait_lines_available (guint expected);

/* An answered outbound call on LINE0, connected. */
static char *
connected_call (void)
{
  g_autofree char *call_id = NULL;
  g_autoptr (Reply) connected = NULL;

  sim_ctl (fx.sim0, "auto-answer", "1");
  call_id = dial (LINE0, REMOTE, NULL);
  connected = wait_status (call_id, "connected");
  sim_ctl (fx.sim0, "auto-answer", "0");
  return g_steal_pointer (&call_id);
}

static void
test_modem_unplugged_mid_call (void)
{
  g_autofree char *call_id = connected_call ();
  g_autoptr (Reply) final = NULL;
  g_autofree char *events = NULL;

  rc_harness_unplug_by_profile (fx.harness, fx.sim0);
  final = wait_status (call_id, "failed");
  assert_final (final, "failed", "modem_removed");
  events = event_types (call_id);
  /* Ringing may be skipped: the remote answers before ModemManager's next call-list poll. */
  g_assert_true (g_str_has_prefix (events, "call.initiating "));
  g_assert_true (g_str_has_suffix (events, " call.connected call.failed"));

  /* The simulator still holds the call; clear it before the modem comes back. */
  g_free (rc_harness_sim_ctl_ok (fx.harness, fx.sim0, "hangup", "--silent", NULL));
  rc_harness_plug_sim (fx.harness, fx.sim0);
  wait_lines_available (N_LINES);
}

static gboolean
modemmanager_absent (gpointer user_data)
{
  g_autoptr (Reply) health = request_full ("GET", "/v1/health", NULL, NULL, NULL, NULL);

  return g_strcmp0 (json_object_get_string_member (data_of (health), "modemmanager"), "absent")
         == 0;
}

static void
test_modemmanager_killed_mid_call (void)
{
  g_autofree char *call_id = connected_call ();
  g_autoptr (Reply) final = NULL;
  g_autoptr (Reply) dial_reply = NULL;

  rc_harness_stop_modemmanager (fx.harness, SIGKILL);
  final = wait_status (call_id, "failed");
  assert_final (final, "failed", "modem_removed");
  g_assert_true (rc_harness_wait_for (modemmanager_absent, NULL, RC_HARNESS_TIMEOUT));
  dial_reply = request_full ("POST", "/v1/calls/dial", fx.key, "application/json",
                             "{\"from\":\"" LINE0 "\",\"to\":\"" REMOTE "\"}", NULL);
  assert_error (dial_reply, 503, "modemmanager_unavailable");
  assert_documented ("POST", "/v1/calls/dial", dial_reply);

  g_free (rc_harness_sim_ctl_ok (fx.harness, fx.sim0, "hangup", "--silent", NULL));
  rc_harness_start_modemmanager (fx.harness);
  rc_harness_replug_all (fx.harness);
  wait_lines_available (N_LINES);
}

static void
restart_daemon (int signal_number)
{
  rc_harness_stop_process (fx.harness, &fx.daemon, signal_number);
  start_daemon ();
}

static void
test_daemon_killed_mid_call (void)
{
  g_autofree char *call_id = connected_call ();
  g_autofree char *hangup_path = g_strconcat ("/v1/calls/", call_id, "/hangup", NULL);
  g_autoptr (Reply) still = NULL;
  g_autoptr (Reply) hangup = NULL;

  /* Killed while the call goes on: after the restart the record is reconciled with the call
   * ModemManager still has, and stays controllable. */
  restart_daemon (SIGKILL);
  wait_lines_available (N_LINES - 1); /* LINE0 has the call */
  still = wait_status (call_id, "connected");
  hangup = api ("POST", hangup_path, NULL);
  g_assert_cmpuint (hangup->status, ==, 200);
  assert_final (hangup, "ended", "local_hangup");
  wait_lines_available (N_LINES);
}

static void
test_daemon_down_while_call_ends (void)
{
  g_autofree char *call_id = connected_call ();
  g_autoptr (Reply) final = NULL;

  /* The remote hangs up while the daemon is down: ModemManager keeps the terminated call until
   * it is deleted, and the restarted daemon records how it ended. */
  rc_harness_stop_process (fx.harness, &fx.daemon, SIGKILL);
  sim_ctl (fx.sim0, "hangup", NULL);
  start_daemon ();
  final = wait_status (call_id, "ended");
  assert_final (final, "ended", "remote_hangup");
  wait_lines_available (N_LINES);
}

static void
test_daemon_stopped_cleanly (void)
{
  gboolean exited;

  g_subprocess_send_signal (fx.daemon, SIGTERM);
  exited = rc_harness_wait_process (fx.daemon, 5);
  g_assert_true (exited);
  g_assert_true (g_subprocess_get_if_exited (fx.daemon));
  g_assert_cmpint (g_subprocess_get_exit_status (fx.daemon), ==, 0);
  g_clear_object (&fx.daemon);
  start_daemon ();
  wait_lines_available (N_LINES);
}

/* --- fixture ------------------------------------------------------------------------------- */

static void
start_daemon (void)
{
  g_autofree char *log_name = g_strdup_printf ("daemon-%u.log", ++fx.daemon_runs);

  g_free (fx.base_url);
  fx.daemon = rc_harness_start_daemon (fx.harness, fx.config, fx.database, log_name, &fx.base_url);
}

typedef struct {
  guint expected;
} HealthWait;

static gboolean
lines_available (gpointer user_data)
{
  HealthWait *wait = user_data;
  g_autoptr (Reply) numbers = api ("GET", "/v1/numbers", NULL);
  JsonArray *lines
      = json_node_get_array (json_object_get_member (json_node_get_object (numbers->root), "data"));
  guint available = 0;

  for (guint i = 0; i < json_array_get_length (lines); i++)
    available += g_str_equal (
        json_object_get_string_member (json_array_get_object_element (lines, i), "state"),
        "available");
  return available == wait->expected;
}

static void
wait_lines_available (guint expected)
{
  HealthWait wait = { expected };

  if (!rc_harness_wait_for (lines_available, &wait, RC_HARNESS_TIMEOUT))
    g_error ("the daemon does not see %u available lines", expected);
}

static void
fixture_setup (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RcStore) store = NULL;
  g_autofree char *config = NULL;
  fx.harness = rc_harness_new ("calls-e2e");
  rc_harness_start_bus (fx.harness);
  rc_harness_start_modemmanager (fx.harness);
  fx.sim0 = rc_harness_add_sim (fx.harness, &rc_harness_sim0);
  fx.sim1 = rc_harness_add_sim (fx.harness, &sim1_spec);
  fx.sim2 = rc_harness_add_sim (fx.harness, &sim2_spec);
  fx.sim3 = rc_harness_add_sim (fx.harness, &sim3_spec);

  fx.database = g_build_filename (rc_harness_get_dir (fx.harness), "reachcelld.db", NULL);
  fx.config = g_build_filename (rc_harness_get_dir (fx.harness), "reachcelld.conf", NULL);
  /* No per-key rate limit: the cases poll the API as fast as they can. */
  config = g_strdup_printf ("[daemon]\nlog-personal-info=true\n\n[api]\nrate-limit=0\n\n"
                            "[number:%s]\niccid=%s\n\n"
                            "[number:%s]\niccid=%s\ndial-interval=3600\n\n"
                            "[number:%s]\niccid=%s\ndaily-dial-cap=1\n",
                            LINE1, sim1_spec.iccid, LINE2, sim2_spec.iccid, LINE3, sim3_spec.iccid);
  g_assert_true (g_file_set_contents (fx.config, config, -1, &error));
  store = rc_store_new (fx.database, &error);
  g_assert_no_error (error);
  fx.key = rc_store_create_key (store, "e2e", NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&store);

  fx.session = soup_session_new_with_options ("timeout", 60, NULL);
  start_daemon ();
  wait_lines_available (N_LINES);
  /* Outbound calls ring out quickly and stay unanswered unless a case says otherwise. */
  sim_ctl (fx.sim0, "alert-after", "100");
  sim_ctl (fx.sim1, "alert-after", "100");
  sim_ctl (fx.sim2, "alert-after", "100");
  sim_ctl (fx.sim3, "alert-after", "100");
}

int
main (int argc, char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  fixture_setup ();

  g_test_add_func ("/rc/calls-e2e/numbers-and-health", test_numbers_and_health);
  g_test_add_func ("/rc/calls-e2e/errors", test_errors);
  g_test_add_func ("/rc/calls-e2e/outbound-answered-local-hangup",
                   test_outbound_answered_local_hangup);
  g_test_add_func ("/rc/calls-e2e/outbound-timeout", test_outbound_timeout);
  g_test_add_func ("/rc/calls-e2e/outbound-hangup-while-ringing",
                   test_outbound_hangup_while_ringing);
  g_test_add_func ("/rc/calls-e2e/outbound-remote-busy", test_outbound_remote_busy);
  g_test_add_func ("/rc/calls-e2e/outbound-remote-hangup", test_outbound_remote_hangup);
  g_test_add_func ("/rc/calls-e2e/outbound-dial-refused", test_outbound_dial_refused);
  g_test_add_func ("/rc/calls-e2e/inbound-missed", test_inbound_missed);
  g_test_add_func ("/rc/calls-e2e/inbound-answered", test_inbound_answered);
  g_test_add_func ("/rc/calls-e2e/inbound-declined", test_inbound_declined);
  g_test_add_func ("/rc/calls-e2e/inbound-withheld", test_inbound_withheld);
  g_test_add_func ("/rc/calls-e2e/second-inbound-line-busy", test_second_inbound_line_busy);
  g_test_add_func ("/rc/calls-e2e/two-modems-at-once", test_two_modems_at_once);
  g_test_add_func ("/rc/calls-e2e/idempotency", test_idempotency);
  g_test_add_func ("/rc/calls-e2e/number-pacing", test_number_pacing);
  g_test_add_func ("/rc/calls-e2e/modem-unplugged-mid-call", test_modem_unplugged_mid_call);
  g_test_add_func ("/rc/calls-e2e/modemmanager-killed-mid-call", test_modemmanager_killed_mid_call);
  g_test_add_func ("/rc/calls-e2e/daemon-killed-mid-call", test_daemon_killed_mid_call);
  g_test_add_func ("/rc/calls-e2e/daemon-down-while-call-ends", test_daemon_down_while_call_ends);
  g_test_add_func ("/rc/calls-e2e/daemon-stopped-cleanly", test_daemon_stopped_cleanly);

  status = g_test_run ();
  g_clear_object (&fx.session);
  g_clear_object (&fx.daemon);
  g_clear_pointer (&fx.harness, rc_harness_free);
  g_free (fx.base_url);
  g_free (fx.key);
  g_free (fx.database);
  g_free (fx.config);
  return status;
}
