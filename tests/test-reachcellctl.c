/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "test-reachcellctl"

#include "config.h"

#include "rc-call.h"
#include "rc-error.h"
#include "rc-store.h"

#include <glib/gstdio.h>

#include <string.h>
#include <sys/wait.h>

/*
 * The built reachcellctl ($RC_BUILD_ROOT/src/reachcellctl), run as a process against a database
 * and a configuration file in a temporary directory: keys (checked with librc's own
 * rc_store_check_key), webhooks (checked with rc_store_get_webhook), the call log with its
 * filters, the configured numbers, usage errors and databases that do not exist.
 */

#define EXIT_USAGE 2
#define BASE_TIME G_GINT64_CONSTANT (1767225600000000) /* 2026-01-01T00:00:00Z */
#define MINUTE G_GINT64_CONSTANT (60000000)
#define OUR_NUMBER "+4915100000001"
#define KEY_PATTERN "^ak_[0-9a-f]{40}\n$"
#define KEY_PREFIX_LENGTH 8

typedef struct {
  char *dir;
  char *database;
  char *config;
} Fixture;

typedef struct {
  int status;
  char *out;
  char *err;
} Result;

static void
result_free (Result *result)
{
  g_free (result->out);
  g_free (result->err);
  g_free (result);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Result, result_free)

static void
fixture_setup (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("test-reachcellctl-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->database = g_build_filename (fixture->dir, "reachcelld.db", NULL);
  fixture->config = g_build_filename (fixture->dir, "reachcelld.conf", NULL);
}

static void
remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR)) {
    g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
    const char *name;

    g_assert_nonnull (dir);
    while ((name = g_dir_read_name (dir)) != NULL) {
      g_autofree char *child = g_build_filename (path, name, NULL);

      remove_tree (child);
    }
    g_assert_cmpint (g_rmdir (path), ==, 0);
  } else {
    g_assert_cmpint (g_unlink (path), ==, 0);
  }
}

static void
fixture_teardown (Fixture *fixture, gconstpointer user_data)
{
  remove_tree (fixture->dir);
  g_free (fixture->dir);
  g_free (fixture->database);
  g_free (fixture->config);
}

static char *
dup_binary_path (void)
{
  const char *root = g_getenv ("RC_BUILD_ROOT");

  g_assert_nonnull (root);
  return g_build_filename (root, "src", "reachcellctl", NULL);
}

/* Runs reachcellctl with the NULL-terminated arguments, without --database. */
static Result *G_GNUC_NULL_TERMINATED
run_plain (const char *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autofree char *command_line = NULL;
  g_auto (GStrv) environment = g_get_environ ();
  Result *result = g_new0 (Result, 1);
  int wait_status = 0;
  va_list args;

  g_ptr_array_add (argv, dup_binary_path ());
  va_start (args, first);
  for (const char *arg = first; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, g_strdup (arg));
  va_end (args);
  g_ptr_array_add (argv, NULL);

  /* The output uses "→" and "…" in a UTF-8 locale, ASCII otherwise. */
  environment = g_environ_setenv (environment, "LC_ALL", "C.UTF-8", TRUE);
  g_spawn_sync (NULL, (char **)argv->pdata, environment, G_SPAWN_DEFAULT, NULL, NULL, &result->out,
                &result->err, &wait_status, &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (wait_status));
  result->status = WEXITSTATUS (wait_status);
  command_line = g_strjoinv (" ", (char **)argv->pdata);
  g_test_message ("%s → %d\nstdout: %s\nstderr: %s", command_line, result->status, result->out,
                  result->err);
  return result;
}

/* Runs `reachcellctl --database <fixture database> COMMAND…`. */
#define run_ctl(fixture, ...) run_plain ("--database", (fixture)->database, __VA_ARGS__, NULL)

static void
assert_usage (Result *result)
{
  g_assert_cmpint (result->status, ==, EXIT_USAGE);
  g_assert_cmpstr (result->out, ==, "");
  g_assert_true (g_str_has_prefix (result->err, "reachcellctl: "));
  g_assert_nonnull (strstr (result->err, "Usage: reachcellctl"));
}

static char *
create_key (Fixture *fixture, const char *name)
{
  g_autoptr (Result) result = run_ctl (fixture, "keys", "create", name);

  g_assert_cmpint (result->status, ==, 0);
  g_assert_true (g_regex_match_simple (KEY_PATTERN, result->out, 0, 0));
  return g_strndup (result->out, strlen (result->out) - 1);
}

static gboolean
key_is_valid (Fixture *fixture, const char *key)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RcStore) store = rc_store_new (fixture->database, &error);
  gboolean valid;

  g_assert_no_error (error);
  valid = rc_store_check_key (store, key, NULL, &error);
  g_assert_no_error (error);
  return valid;
}

/* The output line that mentions @needle, or NULL. */
static char *
find_line (const char *text, const char *needle)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++) {
    if (strstr (lines[i], needle) != NULL)
      return g_strdup (lines[i]);
  }
  return NULL;
}

static void
write_config (Fixture *fixture, const char *contents)
{
  g_autoptr (GError) error = NULL;

  g_file_set_contents (fixture->config, contents, -1, &error);
  g_assert_no_error (error);
}

static void
test_keys_create (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (Result) result = NULL;
  g_autofree char *key = NULL;

  g_assert_false (g_file_test (fixture->database, G_FILE_TEST_EXISTS));
  result = run_ctl (fixture, "keys", "create", "ci");
  g_assert_cmpint (result->status, ==, 0);
  /* The key alone on stdout, so that KEY=$(reachcellctl keys create ci) works. */
  g_assert_true (g_regex_match_simple (KEY_PATTERN, result->out, 0, 0));
  g_assert_nonnull (strstr (result->err, "cannot be shown again"));
  g_assert_null (strstr (result->err, "ak_"));
  g_assert_true (g_file_test (fixture->database, G_FILE_TEST_EXISTS));

  key = g_strndup (result->out, strlen (result->out) - 1);
  g_assert_true (key_is_valid (fixture, key));
  g_assert_false (key_is_valid (fixture, "ak_0000000000000000000000000000000000000000"));

  /* Each key is new. */
  g_clear_pointer (&result, result_free);
  result = run_ctl (fixture, "keys", "create", "ci");
  g_assert_cmpint (result->status, ==, 0);
  g_assert_false (g_str_has_prefix (result->out, key));
}

static void
test_keys_list (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *first = create_key (fixture, "ci");
  g_autofree char *second = create_key (fixture, "billing backend");
  g_autofree char *first_prefix = g_strndup (first, KEY_PREFIX_LENGTH);
  g_autofree char *second_prefix = g_strndup (second, KEY_PREFIX_LENGTH);
  g_autofree char *line = NULL;
  g_autoptr (Result) result = run_ctl (fixture, "keys", "list");

  g_assert_cmpint (result->status, ==, 0);
  g_assert_nonnull (strstr (result->out, "ci"));
  g_assert_nonnull (strstr (result->out, "billing backend"));
  g_assert_nonnull (strstr (result->out, first_prefix));
  g_assert_nonnull (strstr (result->out, second_prefix));
  /* Never the key, not even on stderr. */
  g_assert_null (strstr (result->out, first));
  g_assert_null (strstr (result->out, second));
  g_assert_null (strstr (result->err, first + KEY_PREFIX_LENGTH));

  line = find_line (result->out, "billing backend");
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, "2 "));
  g_assert_nonnull (strstr (line, "active"));
  g_assert_true (g_regex_match_simple ("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ", line, 0, 0));
}

static void
test_keys_revoke (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *first = create_key (fixture, "ci");
  g_autofree char *second = create_key (fixture, "other");
  g_autofree char *line = NULL;
  g_autoptr (Result) result = NULL;

  g_assert_true (key_is_valid (fixture, first));
  result = run_ctl (fixture, "keys", "revoke", "1");
  g_assert_cmpint (result->status, ==, 0);
  g_assert_false (key_is_valid (fixture, first));
  g_assert_true (key_is_valid (fixture, second));

  g_clear_pointer (&result, result_free);
  result = run_ctl (fixture, "keys", "list");
  g_assert_cmpint (result->status, ==, 0);
  line = find_line (result->out, "ci");
  g_assert_nonnull (line);
  g_assert_nonnull (strstr (line, "revoked at 20"));

  /* Revoking again changes nothing and is not an error. */
  g_clear_pointer (&result, result_free);
  result = run_ctl (fixture, "keys", "revoke", "1");
  g_assert_cmpint (result->status, ==, 0);
  g_assert_nonnull (strstr (result->out, "already revoked"));

  g_clear_pointer (&result, result_free);
  result = run_ctl (fixture, "keys", "revoke", "42");
  g_assert_cmpint (result->status, ==, 1);
  g_assert_true (g_str_has_prefix (result->err, "reachcellctl: "));
  g_assert_nonnull (strstr (result->err, "42"));
  g_assert_true (key_is_valid (fixture, second));

  g_clear_pointer (&result, result_free);
  result = run_ctl (fixture, "keys", "revoke", "two");
  assert_usage (result);
}

/* --- webhooks ------------------------------------------------------------------------------- */

#define WEBHOOK_OUTPUT_PATTERN "^wh_[0-9a-z]+\nwhsec_[A-Za-z0-9+/]+=*\n$"

static RcStore *
open_store (Fixture *fixture)
{
  g_autoptr (GError) error = NULL;
  RcStore *store = rc_store_new (fixture->database, &error);

  g_assert_no_error (error);
  return store;
}

/* Runs `webhooks add URL [--events EVENTS]`; returns the id, and the secret in @out_secret if
 * non-NULL. */
static char *
add_webhook (Fixture *fixture, char **out_secret, const char *url, const char *events)
{
  g_autoptr (Result) result = NULL;
  g_auto (GStrv) lines = NULL;

  if (events != NULL)
    result = run_ctl (fixture, "webhooks", "add", url, "--events", events);
  else
    result = run_ctl (fixture, "webhooks", "add", url);
  g_assert_cmpint (result->status, ==, 0);
  g_assert_true (g_regex_match_simple (WEBHOOK_OUTPUT_PATTERN, result->out, 0, 0));
  lines = g_strsplit (result->out, "\n", -1);
  if (out_secret != NULL)
    *out_secret = g_strdup (lines[1]);
  return g_strdup (lines[0]);
}

static guint
count_webhooks (Fixture *fixture)
{
  g_autoptr (RcStore) store = open_store (fixture);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) webhooks = rc_store_list_webhooks (store, &error);

  g_assert_no_error (error);
  return webhooks->len;
}

static void
test_webhooks_add (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (Result) result = NULL;
  g_autoptr (RcStore) store = NULL;
  g_autoptr (RcWebhook) webhook = NULL;
  g_autoptr (RcWebhook) other = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *other_id = NULL;
  g_autofree char *other_secret = NULL;
  g_auto (GStrv) lines = NULL;

  /* Like keys create, it creates the database. */
  g_assert_false (g_file_test (fixture->database, G_FILE_TEST_EXISTS));
  result = run_ctl (fixture, "webhooks", "add", "https://crm.example.com/hooks/calls", "--events",
                    "call.missed,call.ringing,call.missed", "--description", "CRM missed calls");
  g_assert_cmpint (result->status, ==, 0);
  /* The id, then the secret alone on its line; the note on stderr, without the secret. */
  g_assert_true (g_regex_match_simple (WEBHOOK_OUTPUT_PATTERN, result->out, 0, 0));
  g_assert_nonnull (strstr (result->err, "shown only"));
  g_assert_null (strstr (result->err, "whsec_"));
  lines = g_strsplit (result->out, "\n", -1);

  store = open_store (fixture);
  webhook = rc_store_get_webhook (store, lines[0], &error);
  g_assert_no_error (error);
  g_assert_cmpstr (webhook->url, ==, "https://crm.example.com/hooks/calls");
  /* Repeats dropped, order kept. */
  g_assert_cmpuint (g_strv_length (webhook->events), ==, 2);
  g_assert_cmpstr (webhook->events[0], ==, "call.missed");
  g_assert_cmpstr (webhook->events[1], ==, "call.ringing");
  g_assert_cmpstr (webhook->description, ==, "CRM missed calls");
  g_assert_cmpstr (webhook->secret, ==, lines[1]);
  g_assert_true (webhook->enabled);
  g_assert_true (rc_webhook_wants (webhook, "call.missed"));
  g_assert_false (rc_webhook_wants (webhook, "call.ended"));

  /* By default every call event; a new id and a new secret each time. */
  other_id = add_webhook (fixture, &other_secret, "http://10.0.0.5:8080/reachcell", NULL);
  g_assert_cmpstr (other_id, !=, lines[0]);
  g_assert_cmpstr (other_secret, !=, lines[1]);
  other = rc_store_get_webhook (store, other_id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (other->events), ==, 1);
  g_assert_cmpstr (other->events[0], ==, "call.*");
  g_assert_null (other->description);
  g_assert_true (rc_webhook_wants (other, "call.ended"));
  g_assert_cmpuint (count_webhooks (fixture), ==, 2);
}

static void
test_webhooks_add_invalid (Fixture *fixture, gconstpointer user_data)
{
  /* The URL, and the message of rc_webhook_url_check () (the API's check) it must give. */
  const char *const urls[][2] = {
    { "ftp://example.com/hooks", "http or https" },
    { "http://user:pw@example.com/hooks", "user name or password" },
    { "not a url", "absolute URL" },
    { "", "1 to 2048 bytes" },
    { "https:///hooks", "no host" },
  };
  const char *const options[][2] = {
    { "--events", "call.busy" },
    { "--events", "" },
    { "--events", "call.missed,,call.ended" },
    { "--events", "call.*,call.missed" },
    { "--events", "missed" },
    { "--description", NULL }, /* too long, filled in below */
  };
  g_autofree char *long_description = g_strnfill (257, 'x');
  g_autofree char *id = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (urls); i++) {
    g_autoptr (Result) result = run_ctl (fixture, "webhooks", "add", urls[i][0]);

    assert_usage (result);
    g_assert_nonnull (strstr (result->err, urls[i][1]));
  }
  /* Nothing created, not even the database. */
  g_assert_false (g_file_test (fixture->database, G_FILE_TEST_EXISTS));

  id = add_webhook (fixture, NULL, "https://example.com/hooks", "call.*");
  for (guint i = 0; i < G_N_ELEMENTS (urls); i++) {
    g_autoptr (Result) result = run_ctl (fixture, "webhooks", "add", urls[i][0]);

    assert_usage (result);
  }
  for (guint i = 0; i < G_N_ELEMENTS (options); i++) {
    g_autoptr (Result) result
        = run_ctl (fixture, "webhooks", "add", "https://example.com/hooks", options[i][0],
                   options[i][1] != NULL ? options[i][1] : long_description);

    assert_usage (result);
    g_assert_nonnull (strstr (result->err, options[i][0]));
  }
  g_assert_cmpuint (count_webhooks (fixture), ==, 1);
}

static void
test_webhooks_list (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *first_secret = NULL;
  g_autofree char *second_secret = NULL;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autofree char *line = NULL;
  g_autofree char *key = create_key (fixture, "ci"); /* makes the database */
  g_autoptr (Result) result = NULL;
  g_autoptr (GError) error = NULL;

  /* An existing database without webhooks says so. */
  result = run_ctl (fixture, "webhooks", "list");
  g_assert_cmpint (result->status, ==, 0);
  g_assert_nonnull (strstr (result->out, "No webhooks"));

  first = add_webhook (fixture, &first_secret, "https://crm.example.com/hooks",
                       "call.missed,call.ended");
  second = add_webhook (fixture, &second_secret, "https://ops.example.com/calls", NULL);
  {
    /* The daemon disables a webhook that keeps failing. */
    g_autoptr (RcStore) store = open_store (fixture);
    g_autoptr (RcWebhook) webhook = rc_store_get_webhook (store, second, &error);

    g_assert_no_error (error);
    webhook->enabled = FALSE;
    webhook->disabled_reason = g_strdup ("failing for 3 days");
    webhook->failing_since = BASE_TIME;
    rc_store_update_webhook (store, webhook, &error);
    g_assert_no_error (error);
  }

  g_clear_pointer (&result, result_free);
  result = run_ctl (fixture, "webhooks", "list");
  g_assert_cmpint (result->status, ==, 0);
  g_assert_true (g_str_has_prefix (result->out, "ID"));
  g_assert_nonnull (strstr (result->out, "FAILING SINCE"));
  /* Never a secret, not even on stderr. */
  g_assert_null (strstr (result->out, "whsec_"));
  g_assert_null (strstr (result->err, "whsec_"));
  g_assert_null (strstr (result->out, first_secret + strlen ("whsec_")));
  g_assert_null (strstr (result->out, second_secret + strlen ("whsec_")));

  line = find_line (result->out, first);
  g_assert_nonnull (line);
  g_assert_nonnull (strstr (line, "https://crm.example.com/hooks"));
  g_assert_nonnull (strstr (line, "call.missed,call.ended"));
  g_assert_nonnull (strstr (line, "enabled"));
  g_assert_nonnull (strstr (line, " - "));
  g_assert_true (g_regex_match_simple ("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ", line, 0, 0));
  g_clear_pointer (&line, g_free);
  line = find_line (result->out, second);
  g_assert_nonnull (line);
  g_assert_nonnull (strstr (line, "call.*"));
  g_assert_nonnull (strstr (line, "disabled: failing for 3 days"));
  g_assert_nonnull (strstr (line, "2026-01-01T00:00:00Z"));
}

static void
test_webhooks_remove (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *first = add_webhook (fixture, NULL, "https://crm.example.com/hooks", NULL);
  g_autofree char *second = add_webhook (fixture, NULL, "https://ops.example.com/calls", NULL);
  g_autoptr (RcWebhook) gone = NULL;
  g_autoptr (RcWebhook) kept = NULL;
  g_autoptr (RcDelivery) delivery = NULL;
  g_autoptr (RcDelivery) gone_delivery = NULL;
  g_autoptr (RcStore) store = open_store (fixture);
  g_autoptr (Result) result = NULL;
  g_autoptr (GError) error = NULL;

  /* A pending delivery goes with its webhook. */
  delivery = rc_store_add_test_delivery (store, first, BASE_TIME, &error);
  g_assert_no_error (error);

  result = run_ctl (fixture, "webhooks", "remove", first);
  g_assert_cmpint (result->status, ==, 0);
  g_assert_nonnull (strstr (result->out, first));
  g_assert_nonnull (strstr (result->out, "1 delivery"));
  gone = rc_store_get_webhook (store, first, &error);
  g_assert_error (error, RC_ERROR, RC_ERROR_NOT_FOUND);
  g_assert_null (gone);
  g_clear_error (&error);
  gone_delivery = rc_store_get_delivery (store, first, delivery->delivery_id, &error);
  g_assert_error (error, RC_ERROR, RC_ERROR_NOT_FOUND);
  g_assert_null (gone_delivery);
  g_clear_error (&error);
  kept = rc_store_get_webhook (store, second, &error);
  g_assert_no_error (error);

  /* Unknown ids, the removed one included, are failures, not usage errors. */
  g_clear_pointer (&result, result_free);
  result = run_ctl (fixture, "webhooks", "remove", first);
  g_assert_cmpint (result->status, ==, 1);
  g_assert_cmpstr (result->out, ==, "");
  g_assert_true (g_str_has_prefix (result->err, "reachcellctl: "));
  g_assert_nonnull (strstr (result->err, first));
  g_clear_pointer (&result, result_free);
  result = run_ctl (fixture, "webhooks", "remove", "wh_0000000000000000000000000");
  g_assert_cmpint (result->status, ==, 1);
  g_assert_cmpstr (result->out, ==, "");

  /* Not an id at all. */
  g_clear_pointer (&result, result_free);
  result = run_ctl (fixture, "webhooks", "remove", "42");
  assert_usage (result);
  g_assert_cmpuint (count_webhooks (fixture), ==, 1);
}

/* --- calls ---------------------------------------------------------------------------------- */

static void
save_call (RcStore *store,
           const char *call_id,
           RcCallDirection direction,
           const char *from,
           const char *to,
           RcCallStatus status,
           RcEndReason end_reason,
           gint64 created_at)
{
  g_autoptr (RcCall) call = rc_call_new ();
  g_autoptr (GError) error = NULL;

  call->call_id = g_strdup (call_id);
  call->direction = direction;
  call->from = g_strdup (from);
  call->to = g_strdup (to);
  call->line = g_strdup (OUR_NUMBER);
  call->status = status;
  call->end_reason = end_reason;
  call->initiated_at = created_at;
  call->created_at = created_at;
  rc_store_save_call (store, call, &error);
  g_assert_no_error (error);
}

#define CALL_A "00000000-0000-4000-8000-00000000000a"
#define CALL_B "00000000-0000-4000-8000-00000000000b"
#define CALL_C "00000000-0000-4000-8000-00000000000c"
#define CALL_D "00000000-0000-4000-8000-00000000000d"

static void
save_calls (Fixture *fixture)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RcStore) store = rc_store_new (fixture->database, &error);

  g_assert_no_error (error);
  /* Saved out of order: the listing sorts by created_at. */
  save_call (store, CALL_B, RC_CALL_DIRECTION_OUTBOUND, OUR_NUMBER, "+4915122222222",
             RC_CALL_STATUS_ENDED, RC_END_REASON_LOCAL_HANGUP, BASE_TIME + MINUTE);
  save_call (store, CALL_A, RC_CALL_DIRECTION_INBOUND, "+4915111111111", OUR_NUMBER,
             RC_CALL_STATUS_MISSED, RC_END_REASON_REMOTE_HANGUP, BASE_TIME);
  save_call (store, CALL_D, RC_CALL_DIRECTION_OUTBOUND, OUR_NUMBER, "+4915133333333",
             RC_CALL_STATUS_RINGING, RC_END_REASON_NONE, BASE_TIME + 3 * MINUTE);
  save_call (store, CALL_C, RC_CALL_DIRECTION_INBOUND, NULL, OUR_NUMBER, RC_CALL_STATUS_REJECTED,
             RC_END_REASON_LINE_BUSY, BASE_TIME + 2 * MINUTE);
}

/* Asserts that the call ids in @out are exactly @expected (a space-separated list), in order. */
static void
assert_call_order (const char *out, const char *expected)
{
  g_autoptr (GRegex) regex
      = g_regex_new ("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", 0, 0, NULL);
  g_autoptr (GMatchInfo) match = NULL;
  g_autoptr (GString) found = g_string_new (NULL);

  g_regex_match (regex, out, 0, &match);
  while (g_match_info_matches (match)) {
    g_autofree char *id = g_match_info_fetch (match, 0);

    if (found->len > 0)
      g_string_append_c (found, ' ');
    g_string_append (found, id);
    g_match_info_next (match, NULL);
  }
  g_assert_cmpstr (found->str, ==, expected);
}

static void
test_calls (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (Result) result = NULL;
  g_autofree char *line = NULL;

  save_calls (fixture);

  result = run_ctl (fixture, "calls");
  g_assert_cmpint (result->status, ==, 0);
  assert_call_order (result->out, CALL_D " " CALL_C " " CALL_B " " CALL_A);
  line = find_line (result->out, CALL_A);
  g_assert_true (g_str_has_prefix (line, "2026-01-01T00:00:00Z"));
  g_assert_nonnull (strstr (line, "inbound"));
  g_assert_nonnull (strstr (line, "+4915111111111 → " OUR_NUMBER));
  g_assert_nonnull (strstr (line, "missed"));
  g_assert_nonnull (strstr (line, "remote_hangup"));
  g_clear_pointer (&line, g_free);
  line = find_line (result->out, CALL_C);
  g_assert_nonnull (strstr (line, "withheld → " OUR_NUMBER));
  g_assert_nonnull (strstr (line, "line_busy"));

  g_clear_pointer (&result, result_free);
  result = run_ctl (fixture, "calls", "--status", "missed");
  g_assert_cmpint (result->status, ==, 0);
  assert_call_order (result->out, CALL_A);

  g_clear_pointer (&result, result_free);
  result = run_ctl (fixture, "calls", "--direction", "outbound");
  g_assert_cmpint (result->status, ==, 0);
  assert_call_order (result->out, CALL_D " " CALL_B);

  g_clear_pointer (&result, result_free);
  result = run_ctl (fixture, "calls", "--number", "+4915122222222");
  g_assert_cmpint (result->status, ==, 0);
  assert_call_order (result->out, CALL_B);

  g_clear_pointer (&result, result_free);
  result = run_ctl (fixture, "calls", "--direction", "inbound", "--status", "rejected");
  g_assert_cmpint (result->status, ==, 0);
  assert_call_order (result->out, CALL_C);

  g_clear_pointer (&result, result_free);
  result = run_ctl (fixture, "calls", "--limit", "2");
  g_assert_cmpint (result->status, ==, 0);
  assert_call_order (result->out, CALL_D " " CALL_C);
  g_assert_nonnull (strstr (result->err, "2 of 4"));

  g_clear_pointer (&result, result_free);
  result = run_ctl (fixture, "calls", "--status", "failed");
  g_assert_cmpint (result->status, ==, 0);
  assert_call_order (result->out, "");

  /* Bad filter values are usage errors. */
  g_clear_pointer (&result, result_free);
  result = run_ctl (fixture, "calls", "--status", "busy");
  assert_usage (result);
  g_clear_pointer (&result, result_free);
  result = run_ctl (fixture, "calls", "--direction", "sideways");
  assert_usage (result);
  g_clear_pointer (&result, result_free);
  result = run_ctl (fixture, "calls", "--number", "015111111111");
  assert_usage (result);
  g_clear_pointer (&result, result_free);
  result = run_ctl (fixture, "calls", "--limit", "0");
  assert_usage (result);
  g_clear_pointer (&result, result_free);
  result = run_ctl (fixture, "calls", "--limit", "101");
  assert_usage (result);
}

static void
test_usage (Fixture *fixture, gconstpointer user_data)
{
  const char *const bad[][4] = {
    { NULL },
    { "frobnicate", NULL },
    { "--no-such-option", "keys", "list", NULL },
    { "keys", NULL },
    { "keys", "rotate", NULL },
    { "keys", "create", NULL },
    { "keys", "create", "a", "b" },
    { "keys", "create", "", NULL },
    { "keys", "revoke", NULL },
    { "keys", "list", "extra", NULL },
    { "calls", "--limit", NULL },
    { "numbers", "--bogus", NULL },
    { "webhooks", NULL },
    { "webhooks", "frobnicate", NULL },
    { "webhooks", "add", NULL },
    { "webhooks", "add", "https://example.com/hooks", "extra" },
    { "webhooks", "add", "https://example.com/hooks", "--bogus" },
    { "webhooks", "add", "https://example.com/hooks", "--events" },
    { "webhooks", "list", "extra", NULL },
    { "webhooks", "remove", NULL },
    { "webhooks", "remove", "wh_a", "wh_b" },
    { "webhooks", "remove", "", NULL },
  };
  const char *const help[][3] = {
    { "--help", NULL },
    { "keys", "--help", NULL },
    { "keys", "create", "--help" },
    { "keys", "list", "--help" },
    { "keys", "revoke", "--help" },
    { "calls", "--help", NULL },
    { "numbers", "--help", NULL },
    { "webhooks", "--help", NULL },
    { "webhooks", "add", "--help" },
    { "webhooks", "list", "--help" },
    { "webhooks", "remove", "--help" },
  };
  g_autoptr (Result) version = NULL;
  g_autoptr (Result) top = NULL;
  g_autoptr (Result) numbers = NULL;
  g_autoptr (Result) webhooks = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (Result) result = run_plain ("--database", fixture->database, bad[i][0], bad[i][1],
                                           bad[i][2], bad[i][3], NULL);

    assert_usage (result);
  }
  /* None of that touched the database. */
  g_assert_false (g_file_test (fixture->database, G_FILE_TEST_EXISTS));

  for (guint i = 0; i < G_N_ELEMENTS (help); i++) {
    g_autoptr (Result) result = run_plain (help[i][0], help[i][1], help[i][2], NULL);

    g_assert_cmpint (result->status, ==, 0);
    g_assert_nonnull (strstr (result->out, "Usage:"));
  }

  top = run_plain ("--help", NULL);
  g_assert_nonnull (strstr (top->out, "keys create NAME"));
  g_assert_nonnull (strstr (top->out, "keys revoke ID"));
  g_assert_nonnull (strstr (top->out, "calls"));
  g_assert_nonnull (strstr (top->out, "numbers"));
  g_assert_nonnull (strstr (top->out, "webhooks add URL"));
  g_assert_nonnull (strstr (top->out, "webhooks list"));
  g_assert_nonnull (strstr (top->out, "webhooks remove ID"));
  webhooks = run_plain ("webhooks", "--help", NULL);
  g_assert_nonnull (strstr (webhooks->out, "webhooks add URL"));
  g_assert_null (strstr (webhooks->out, "keys create"));
  numbers = run_plain ("numbers", "--help", NULL);
  g_assert_nonnull (strstr (numbers->out, "GET /v1/numbers"));

  version = run_plain ("--version", NULL);
  g_assert_cmpint (version->status, ==, 0);
  g_assert_cmpstr (version->out, ==, "reachcellctl " PACKAGE_VERSION "\n");
}

static void
test_numbers (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (Result) result = NULL;
  g_autofree char *line = NULL;

  write_config (fixture, "[number:+4915100000001]\n"
                         "iccid=89490200001234567890\n"
                         "tariff-usd-per-minute=0.02\n"
                         "\n"
                         "[number:+4930123456]\n"
                         "modem=867698041234567\n"
                         "slot=2\n");
  result = run_plain ("--config", fixture->config, "numbers", NULL);
  g_assert_cmpint (result->status, ==, 0);
  line = find_line (result->out, "+4915100000001");
  g_assert_nonnull (line);
  g_assert_nonnull (strstr (line, "iccid=89490200001234567890"));
  g_assert_nonnull (strstr (line, "0.02"));
  g_clear_pointer (&line, g_free);
  line = find_line (result->out, "+4930123456");
  g_assert_nonnull (line);
  g_assert_nonnull (strstr (line, "modem=867698041234567"));
  g_assert_nonnull (strstr (line, "slot=2"));
  g_assert_nonnull (strstr (result->err, "GET /v1/numbers"));
  /* No database needed, none created. */
  g_assert_false (g_file_test (fixture->database, G_FILE_TEST_EXISTS));

  /* A configuration without numbers says so. */
  g_clear_pointer (&result, result_free);
  write_config (fixture, "[daemon]\nlog-personal-info=false\n");
  result = run_plain ("--config", fixture->config, "numbers", NULL);
  g_assert_cmpint (result->status, ==, 0);
  g_assert_nonnull (strstr (result->out, "No numbers"));

  /* A bad configuration is an error naming the key, not a usage error. */
  g_clear_pointer (&result, result_free);
  write_config (fixture, "[number:+4915100000001]\nslot=1\n");
  result = run_plain ("--config", fixture->config, "numbers", NULL);
  g_assert_cmpint (result->status, ==, 1);
  g_assert_true (g_str_has_prefix (result->err, "reachcellctl: "));
  g_assert_nonnull (strstr (result->err, fixture->config));

  g_clear_pointer (&result, result_free);
  result = run_plain ("--config", fixture->database, "numbers", NULL);
  g_assert_cmpint (result->status, ==, 1);
  g_assert_true (g_str_has_prefix (result->err, "reachcellctl: "));
}

static void
test_config_database (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *contents = g_strdup_printf ("[store]\ndatabase=%s\n", fixture->database);
  g_autofree char *other = g_build_filename (fixture->dir, "other.db", NULL);
  g_autoptr (Result) create = NULL;
  g_autoptr (Result) list = NULL;
  g_autoptr (Result) overridden = NULL;

  write_config (fixture, contents);
  create = run_plain ("--config", fixture->config, "keys", "create", "from-config", NULL);
  g_assert_cmpint (create->status, ==, 0);
  g_assert_true (g_file_test (fixture->database, G_FILE_TEST_EXISTS));

  /* Global options also work after the command. */
  list = run_plain ("keys", "list", "--config", fixture->config, NULL);
  g_assert_cmpint (list->status, ==, 0);
  g_assert_nonnull (strstr (list->out, "from-config"));

  /* --database wins over [store] database. */
  overridden = run_plain ("--config", fixture->config, "--database", other, "keys", "list", NULL);
  g_assert_cmpint (overridden->status, ==, 1);
  g_assert_nonnull (strstr (overridden->err, other));
  g_assert_false (g_file_test (other, G_FILE_TEST_EXISTS));
}

static void
test_missing_database (Fixture *fixture, gconstpointer user_data)
{
  const char *const commands[][3] = {
    { "keys", "list", NULL },     { "keys", "revoke", "1" },
    { "calls", NULL, NULL },      { "calls", "--status", "missed" },
    { "webhooks", "list", NULL }, { "webhooks", "remove", "wh_0000000000000000000000000" },
  };
  g_autofree char *missing_dir = g_build_filename (fixture->dir, "missing", "reachcelld.db", NULL);
  g_autoptr (Result) create = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++) {
    g_autoptr (Result) result = run_ctl (fixture, commands[i][0], commands[i][1], commands[i][2]);

    g_assert_cmpint (result->status, ==, 1);
    g_assert_cmpstr (result->out, ==, "");
    g_assert_true (g_str_has_prefix (result->err, "reachcellctl: "));
    g_assert_nonnull (strstr (result->err, "does not exist"));
    g_assert_nonnull (strstr (result->err, fixture->database));
    g_assert_false (g_file_test (fixture->database, G_FILE_TEST_EXISTS));
  }

  /* keys create would create the file, but not its directory. */
  create = run_plain ("--database", missing_dir, "keys", "create", "ci", NULL);
  g_assert_cmpint (create->status, ==, 1);
  g_assert_cmpstr (create->out, ==, "");
  g_assert_nonnull (strstr (create->err, "directory"));
  g_assert_nonnull (strstr (create->err, "does not exist"));
}

int
main (int argc, char *argv[])
{
  /* No G_TEST_OPTION_ISOLATE_DIRS: every run names its own temporary database and
   * configuration, and GLib 2.74 leaks the per-test XDG paths it sets, which fails the ASan
   * (LeakSanitizer) run. */
  g_test_init (&argc, &argv, NULL);

  if (g_getenv ("RC_BUILD_ROOT") == NULL) {
    g_printerr ("RC_BUILD_ROOT is not set: run through meson test\n");
    return 77;
  }

#define ADD(name, func)                                                                            \
  g_test_add ("/rc/reachcellctl/" name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("keys-create", test_keys_create);
  ADD ("keys-list", test_keys_list);
  ADD ("keys-revoke", test_keys_revoke);
  ADD ("webhooks-add", test_webhooks_add);
  ADD ("webhooks-add-invalid", test_webhooks_add_invalid);
  ADD ("webhooks-list", test_webhooks_list);
  ADD ("webhooks-remove", test_webhooks_remove);
  ADD ("calls", test_calls);
  ADD ("usage", test_usage);
  ADD ("numbers", test_numbers);
  ADD ("config-database", test_config_database);
  ADD ("missing-database", test_missing_database);
#undef ADD

  return g_test_run ();
}
