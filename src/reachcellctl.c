/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "reachcellctl"

#include "config.h"

#include "rc-call.h"
#include "rc-config.h"
#include "rc-e164.h"
#include "rc-error.h"
#include "rc-json.h"
#include "rc-store.h"
#include "rc-webhook-url.h"

#include <glib/gstdio.h>

#include <errno.h>
#include <grp.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * reachcellctl: the admin CLI. It works on the daemon's database and configuration file
 * directly, so it needs no running daemon: API keys (create, list, revoke), webhooks (add, list,
 * remove), the call log and the configured numbers. Live state (line state, modems,
 * auto-provisioned SIM numbers) is only known to the running daemon and is served by its HTTP API.
 *
 * stdout carries the result (a key, a table), stderr notes and errors. Exit status: 0 success,
 * 1 failure (configuration or database), 2 bad usage. Nothing here logs: keys, secrets and
 * numbers are only ever printed, a key only by `keys create` and a webhook's signing secret only
 * by `webhooks add`.
 */

#define RC_CTL_EXIT_USAGE 2
#define RC_CTL_CALLS_LIMIT_DEFAULT 20
#define RC_CTL_CALLS_LIMIT_MAX 100
#define RC_CTL_KEY_NAME_MAX_CHARS 64
#define RC_CTL_TABLE_GAP 2
#define RC_CTL_TABLE_MAX_COLUMNS 8
#define RC_CTL_WEBHOOK_ID_PREFIX "wh_"
#define RC_CTL_WEBHOOK_ALL_EVENTS "call.*"
#define RC_CTL_HELP_COLUMN 20 /* width of "webhooks remove ID" and its gap in --help */
#define RC_CTL_MICRO G_GINT64_CONSTANT (1000000)

typedef struct {
  char *config_path;   /* --config; NULL: RC_DEFAULT_CONFIG if it exists, else built-in defaults */
  char *database_path; /* --database; NULL: the configuration's [store] database */
} RcCtl;

static void
rc_ctl_clear (RcCtl *ctl)
{
  g_clear_pointer (&ctl->config_path, g_free);
  g_clear_pointer (&ctl->database_path, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (RcCtl, rc_ctl_clear)

typedef struct _RcCtlCommand RcCtlCommand;

/* @args: argv[0] followed by what comes after the command words. */
typedef int (*RcCtlRunFunc) (RcCtl *ctl, const RcCtlCommand *command, char ***args);

struct _RcCtlCommand {
  const char *path;       /* the command words, e.g. "keys create" */
  const char *parameters; /* nullable: positional arguments, e.g. "NAME" */
  const char *summary;
  const char *description; /* nullable */
  RcCtlRunFunc run;
};

static int run_keys_create (RcCtl *ctl, const RcCtlCommand *command, char ***args);
static int run_keys_list (RcCtl *ctl, const RcCtlCommand *command, char ***args);
static int run_keys_revoke (RcCtl *ctl, const RcCtlCommand *command, char ***args);
static int run_webhooks_add (RcCtl *ctl, const RcCtlCommand *command, char ***args);
static int run_webhooks_list (RcCtl *ctl, const RcCtlCommand *command, char ***args);
static int run_webhooks_remove (RcCtl *ctl, const RcCtlCommand *command, char ***args);
static int run_calls (RcCtl *ctl, const RcCtlCommand *command, char ***args);
static int run_numbers (RcCtl *ctl, const RcCtlCommand *command, char ***args);

static const RcCtlCommand commands[] = {
  { "keys create", "NAME", "Create an API key and print it once",
    "The key (ak_ followed by 40 hex digits) is printed alone on standard output, so that\n"
    "KEY=$(reachcellctl keys create ci) works. Only its SHA-256 digest and its first characters\n"
    "are stored: it cannot be shown again. Clients send it as \"Authorization: Bearer <key>\".\n"
    "Creates the database if it does not exist yet.",
    run_keys_create },
  { "keys list", NULL, "List API keys (never the keys themselves)",
    "Shows id, name, display prefix, creation time, last use and state of every key.",
    run_keys_list },
  { "keys revoke", "ID", "Revoke an API key",
    "ID is the id shown by 'reachcellctl keys list'. The daemon refuses the key from its next\n"
    "request on. Revoking a revoked key changes nothing.",
    run_keys_revoke },
  { "webhooks add", "URL", "Add a webhook and print its signing secret once",
    "The daemon POSTs call events to URL (http or https, no user name or password in it), each\n"
    "signed with the webhook's secret. Prints the webhook id, then the secret (whsec_…) on a line\n"
    "of its own: it is shown only this once (GET /v1/webhooks never shows it either).\n"
    "--events is call.* (every call event, the default) or a comma-separated list of\n"
    "call.initiating, call.ringing, call.connected, call.ended, call.missed, call.rejected,\n"
    "call.failed. Events from the next one on are delivered; no daemon restart is needed.\n"
    "Creates the database if it does not exist yet.",
    run_webhooks_add },
  { "webhooks list", NULL, "List webhooks (never their secrets)",
    "Shows id, URL, subscribed events, state (enabled, or disabled and why), since when\n"
    "deliveries have been failing, and creation time of every webhook.",
    run_webhooks_list },
  { "webhooks remove", "ID", "Remove a webhook and its deliveries",
    "ID is the id (wh_…) shown by 'reachcellctl webhooks list'. The webhook's deliveries,\n"
    "pending ones included, and their attempt log are deleted with it.",
    run_webhooks_remove },
  { "calls", NULL, "Show recent calls, newest first",
    "One call per line: created_at, call_id, direction, from → to, status, end_reason.\n"
    "GET /v1/calls of the running daemon has the full call objects and pages through all calls.",
    run_calls },
  { "numbers", NULL, "Show the numbers configured in the configuration file",
    "Lists the [number:+E164] groups: the SIM that carries each number (iccid=, or modem= and\n"
    "slot=) and its tariff. Live line state (available / busy / offline), the modems, and\n"
    "numbers provisioned automatically from a SIM's own number are only known to the running\n"
    "daemon: see GET /v1/numbers.",
    run_numbers },
};

/* --- options and usage ---------------------------------------------------------------------- */

static gboolean
on_path_option (const char *option_name, const char *value, gpointer user_data, GError **error)
{
  RcCtl *ctl = user_data;
  char **target;

  if (g_str_equal (option_name, "--config") || g_str_equal (option_name, "-c"))
    target = &ctl->config_path;
  else
    target = &ctl->database_path;
  if (value == NULL || value[0] == '\0') {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s needs a file name",
                 option_name);
    return FALSE;
  }
  g_free (*target);
  *target = g_strdup (value);
  return TRUE;
}

/* Accepted before the command and after it. */
static const GOptionEntry global_entries[] = {
  { "config", 'c', G_OPTION_FLAG_FILENAME, G_OPTION_ARG_CALLBACK, (gpointer)on_path_option,
    "Configuration file (default " RC_DEFAULT_CONFIG " if it exists)", "FILE" },
  { "database", 'd', G_OPTION_FLAG_FILENAME, G_OPTION_ARG_CALLBACK, (gpointer)on_path_option,
    "SQLite database instead of the configuration's [store] database", "FILE" },
  G_OPTION_ENTRY_NULL,
};

static GOptionContext *
context_new (RcCtl *ctl, const char *parameter_string, const GOptionEntry *entries)
{
  GOptionContext *context = g_option_context_new (parameter_string);
  GOptionGroup *group = g_option_group_new ("reachcellctl", "Options", "Show options", ctl, NULL);

  g_option_group_add_entries (group, global_entries);
  if (entries != NULL)
    g_option_group_add_entries (group, entries);
  g_option_context_set_main_group (context, group);
  return context;
}

static GOptionContext *
command_context_new (RcCtl *ctl, const RcCtlCommand *command, const GOptionEntry *entries)
{
  g_autofree char *parameter_string = g_strjoin (" ", command->path, command->parameters, NULL);
  GOptionContext *context = context_new (ctl, parameter_string, entries);

  g_option_context_set_summary (context, command->summary);
  g_option_context_set_description (context, command->description);
  return context;
}

/* Prints "reachcellctl: <problem>" and how to call @path (NULL: the tool itself). */
static int usage_error (const char *path, const char *parameters, const char *format, ...)
    G_GNUC_PRINTF (3, 4);

static int
usage_error (const char *path, const char *parameters, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  if (path == NULL) {
    g_printerr ("reachcellctl: %s\n"
                "Usage: reachcellctl [OPTION…] COMMAND [ARGUMENT…]\n"
                "Run 'reachcellctl --help' for the commands.\n",
                message);
  } else {
    g_printerr ("reachcellctl: %s: %s\n"
                "Usage: reachcellctl [OPTION…] %s%s%s\n"
                "Run 'reachcellctl %s --help' for more information.\n",
                path, message, path, parameters != NULL ? " " : "",
                parameters != NULL ? parameters : "", path);
  }
  return RC_CTL_EXIT_USAGE;
}

static int
fail (const GError *error)
{
  /* Every failure path sets the error; still never crash on one that does not. */
  g_printerr ("reachcellctl: %s\n", error != NULL ? error->message : "unknown error");
  return EXIT_FAILURE;
}

/* Parses the command's options; then exactly @n_arguments positional arguments must remain. */
static gboolean
parse_command (GOptionContext *context,
               const RcCtlCommand *command,
               char ***args,
               guint n_arguments,
               int *out_status)
{
  g_autoptr (GError) error = NULL;
  guint n_args;

  if (!g_option_context_parse_strv (context, args, &error)) {
    *out_status = usage_error (command->path, command->parameters, "%s", error->message);
    return FALSE;
  }
  n_args = g_strv_length (*args) - 1;
  if (n_args < n_arguments) {
    *out_status
        = usage_error (command->path, command->parameters, "missing %s", command->parameters);
    return FALSE;
  }
  if (n_args > n_arguments) {
    *out_status = usage_error (command->path, command->parameters, "unexpected argument '%s'",
                               (*args)[n_arguments + 1]);
    return FALSE;
  }
  return TRUE;
}

/* --- configuration and database ------------------------------------------------------------- */

static RcConfig *
load_config (RcCtl *ctl, GError **error)
{
  if (ctl->config_path != NULL)
    return rc_config_load (ctl->config_path, error);
  if (g_file_test (RC_DEFAULT_CONFIG, G_FILE_TEST_EXISTS))
    return rc_config_load (RC_DEFAULT_CONFIG, error);
  return rc_config_new_defaults ();
}

static char *
dup_database_path (RcCtl *ctl, GError **error)
{
  g_autoptr (RcConfig) config = NULL;

  /* An explicit --config is still checked, even when --database overrides its database. */
  if (ctl->config_path != NULL || ctl->database_path == NULL) {
    config = load_config (ctl, error);
    if (config == NULL)
      return NULL;
  }
  if (ctl->database_path != NULL)
    return g_strdup (ctl->database_path);
  if (config->database == NULL || config->database[0] == '\0') {
    g_set_error (error, RC_ERROR, RC_ERROR_INVALID_INPUT,
                 "%s: [store] database is empty (or pass --database FILE)",
                 config->path != NULL ? config->path : "configuration");
    return NULL;
  }
  return g_strdup (config->database);
}

/*
 * Run as root, SQLite would create the database, or its -wal and -shm files, owned by root, and
 * the daemon (running as its own user) could no longer open them. So work as the owner of the
 * database, or of the directory it is to be created in, when that is not root.
 */
static gboolean
become_owner_of (const char *path, GError **error)
{
  GStatBuf info;
  gid_t group;

  if (geteuid () != 0)
    return TRUE;
  if (g_stat (path, &info) != 0) {
    int saved_errno = errno;

    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno), "cannot access %s: %s",
                 path, g_strerror (saved_errno));
    return FALSE;
  }
  if (info.st_uid == 0)
    return TRUE;
  group = info.st_gid;
  if (setgroups (1, &group) != 0 || setgid (info.st_gid) != 0 || setuid (info.st_uid) != 0) {
    int saved_errno = errno;

    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                 "cannot switch to user %u, the owner of %s: %s", (guint)info.st_uid, path,
                 g_strerror (saved_errno));
    return FALSE;
  }
  return TRUE;
}

/*
 * Opens the database. Only @create may create it (as the daemon would on its first start); the
 * other commands say it does not exist rather than leave an empty database behind.
 */
static RcStore *
open_store (RcCtl *ctl, gboolean create, GError **error)
{
  g_autofree char *path = dup_database_path (ctl, error);
  g_autofree char *directory = NULL;
  GStatBuf info;

  if (path == NULL)
    return NULL;
  directory = g_path_get_dirname (path);

  if (g_stat (path, &info) == 0) {
    if (S_ISDIR (info.st_mode)) {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_ISDIR, "database %s is a directory", path);
      return NULL;
    }
    if (!become_owner_of (path, error))
      return NULL;
  } else if (errno != ENOENT) {
    int saved_errno = errno;

    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                 "cannot access database %s: %s", path, g_strerror (saved_errno));
    return NULL;
  } else if (!create) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                 "database %s does not exist (reachcelld creates it when it first starts; "
                 "--database FILE selects another one)",
                 path);
    return NULL;
  } else if (!g_file_test (directory, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                 "cannot create database %s: directory %s does not exist", path, directory);
    return NULL;
  } else if (!become_owner_of (directory, error)) {
    return NULL;
  }

  return rc_store_new (path, error);
}

/* --- output --------------------------------------------------------------------------------- */

/* Adds a row of @n_cells cells (none NULL) to @rows. */
static void
table_add_row (GPtrArray *rows, guint n_cells, ...)
{
  char **row = g_new0 (char *, n_cells + 1);
  va_list args;

  va_start (args, n_cells);
  for (guint i = 0; i < n_cells; i++)
    row[i] = g_strdup (va_arg (args, const char *));
  va_end (args);
  g_ptr_array_add (rows, row);
}

/* Prints @rows (the first is the header) in columns, padding by characters rather than bytes. */
static void
table_print (GPtrArray *rows)
{
  guint n_columns = g_strv_length (g_ptr_array_index (rows, 0));
  glong widths[RC_CTL_TABLE_MAX_COLUMNS] = { 0 };

  g_return_if_fail (n_columns <= RC_CTL_TABLE_MAX_COLUMNS);

  for (guint r = 0; r < rows->len; r++) {
    char **row = g_ptr_array_index (rows, r);

    for (guint c = 0; c < n_columns; c++)
      widths[c] = MAX (widths[c], g_utf8_strlen (row[c], -1));
  }
  for (guint r = 0; r < rows->len; r++) {
    char **row = g_ptr_array_index (rows, r);
    g_autoptr (GString) line = g_string_new (NULL);

    for (guint c = 0; c < n_columns; c++) {
      g_string_append (line, row[c]);
      if (c + 1 < n_columns) {
        for (glong pad = g_utf8_strlen (row[c], -1); pad < widths[c] + RC_CTL_TABLE_GAP; pad++)
          g_string_append_c (line, ' ');
      }
    }
    g_print ("%s\n", line->str);
  }
}

static GPtrArray *
table_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify)g_strfreev);
}

/* g_print () would turn these into "?" in a locale that is not UTF-8. */
static const char *
symbol (const char *utf8, const char *ascii)
{
  return g_get_charset (NULL) ? utf8 : ascii;
}

static char *
format_time_or (gint64 usec, const char *fallback)
{
  char *text = rc_json_format_time (usec);

  return text != NULL ? text : g_strdup (fallback);
}

/* --- keys ----------------------------------------------------------------------------------- */

static gboolean
check_key_name (const char *name, GError **error)
{
  const char *p;

  if (!g_utf8_validate (name, -1, NULL) || name[0] == '\0'
      || g_utf8_strlen (name, -1) > RC_CTL_KEY_NAME_MAX_CHARS) {
    g_set_error (error, RC_ERROR, RC_ERROR_INVALID_INPUT,
                 "NAME must be 1 to %d characters of UTF-8", RC_CTL_KEY_NAME_MAX_CHARS);
    return FALSE;
  }
  for (p = name; *p != '\0'; p = g_utf8_next_char (p)) {
    if (g_unichar_iscntrl (g_utf8_get_char (p))) {
      g_set_error (error, RC_ERROR, RC_ERROR_INVALID_INPUT,
                   "NAME must not contain control characters");
      return FALSE;
    }
  }
  return TRUE;
}

static int
run_keys_create (RcCtl *ctl, const RcCtlCommand *command, char ***args)
{
  g_autoptr (GOptionContext) context = command_context_new (ctl, command, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (RcStore) store = NULL;
  g_autofree char *key = NULL;
  const char *name;
  gint64 id = 0;
  int status;

  if (!parse_command (context, command, args, 1, &status))
    return status;
  name = (*args)[1];
  if (!check_key_name (name, &error))
    return usage_error (command->path, command->parameters, "%s", error->message);

  store = open_store (ctl, TRUE, &error);
  if (store == NULL)
    return fail (error);
  key = rc_store_create_key (store, name, &id, &error);
  if (key == NULL)
    return fail (error);

  g_print ("%s\n", key);
  explicit_bzero (key, strlen (key));
  g_printerr ("Created API key %" G_GINT64_FORMAT " (%s). Store it now: it cannot be shown "
              "again.\n",
              id, name);
  return EXIT_SUCCESS;
}

static int
run_keys_list (RcCtl *ctl, const RcCtlCommand *command, char ***args)
{
  g_autoptr (GOptionContext) context = command_context_new (ctl, command, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (RcStore) store = NULL;
  g_autoptr (GPtrArray) keys = NULL;
  g_autoptr (GPtrArray) rows = table_new ();
  int status;

  if (!parse_command (context, command, args, 0, &status))
    return status;
  store = open_store (ctl, FALSE, &error);
  if (store == NULL)
    return fail (error);
  keys = rc_store_list_keys (store, &error);
  if (keys == NULL)
    return fail (error);

  if (keys->len == 0) {
    g_print ("No API keys. Create one with: reachcellctl keys create NAME\n");
    return EXIT_SUCCESS;
  }
  table_add_row (rows, 6, "ID", "NAME", "PREFIX", "CREATED", "LAST USED", "STATE");
  for (guint i = 0; i < keys->len; i++) {
    const RcApiKey *key = g_ptr_array_index (keys, i);
    g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, key->id);
    g_autofree char *prefix
        = g_strconcat (key->prefix != NULL ? key->prefix : "", symbol ("…", "..."), NULL);
    g_autofree char *created = format_time_or (key->created_at, "-");
    g_autofree char *used = format_time_or (key->last_used_at, "never");
    g_autofree char *revoked = format_time_or (key->revoked_at, "-");
    g_autofree char *state = NULL;

    if (key->revoked_at != 0)
      state = g_strconcat ("revoked at ", revoked, NULL);
    else
      state = g_strdup ("active");
    table_add_row (rows, 6, id, key->name != NULL ? key->name : "", prefix, created, used, state);
  }
  table_print (rows);
  return EXIT_SUCCESS;
}

static const RcApiKey *
find_key (GPtrArray *keys, gint64 id)
{
  for (guint i = 0; i < keys->len; i++) {
    const RcApiKey *key = g_ptr_array_index (keys, i);

    if (key->id == id)
      return key;
  }
  return NULL;
}

static int
run_keys_revoke (RcCtl *ctl, const RcCtlCommand *command, char ***args)
{
  g_autoptr (GOptionContext) context = command_context_new (ctl, command, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (RcStore) store = NULL;
  g_autoptr (GPtrArray) keys = NULL;
  const RcApiKey *key;
  gint64 id;
  int status;

  if (!parse_command (context, command, args, 1, &status))
    return status;
  if (!g_ascii_string_to_signed ((*args)[1], 10, 1, G_MAXINT64, &id, NULL))
    return usage_error (command->path, command->parameters,
                        "'%s' is not a key id (see 'reachcellctl keys list')", (*args)[1]);

  store = open_store (ctl, FALSE, &error);
  if (store == NULL)
    return fail (error);
  keys = rc_store_list_keys (store, &error);
  if (keys == NULL)
    return fail (error);
  key = find_key (keys, id);
  if (key != NULL && key->revoked_at != 0) {
    g_autofree char *revoked = format_time_or (key->revoked_at, "-");

    g_print ("API key %" G_GINT64_FORMAT " (%s) was already revoked at %s\n", id, key->name,
             revoked);
    return EXIT_SUCCESS;
  }
  if (key == NULL || !rc_store_revoke_key (store, id, &error)) {
    if (key == NULL || g_error_matches (error, RC_ERROR, RC_ERROR_NOT_FOUND)) {
      g_printerr ("reachcellctl: no API key with id %" G_GINT64_FORMAT
                  " (see 'reachcellctl keys list')\n",
                  id);
      return EXIT_FAILURE;
    }
    return fail (error);
  }
  g_print ("Revoked API key %" G_GINT64_FORMAT " (%s, %s%s): the daemon refuses it from now on\n",
           id, key->name, key->prefix, symbol ("…", "..."));
  return EXIT_SUCCESS;
}

/* --- webhooks ------------------------------------------------------------------------------- */

/*
 * "call.*" alone, or a comma-separated list of rc_webhook_event_types (repeats dropped), as the
 * "events" of POST /v1/webhooks. "call.*" does not mix with other types: it already takes them all.
 */
static char **
parse_webhook_events (const char *text, GError **error)
{
  g_auto (GStrv) items = g_strsplit (text, ",", -1);
  g_autoptr (GPtrArray) events = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *known = g_strjoinv (", ", (char **)rc_webhook_event_types);

  if (items[0] == NULL) {
    g_set_error (error, RC_ERROR, RC_ERROR_INVALID_INPUT,
                 "--events needs " RC_CTL_WEBHOOK_ALL_EVENTS " or a comma-separated list of %s",
                 known);
    return NULL;
  }
  for (guint i = 0; items[i] != NULL; i++) {
    const char *type = g_strstrip (items[i]);

    if (g_str_equal (type, RC_CTL_WEBHOOK_ALL_EVENTS) && g_strv_length (items) == 1) {
      g_ptr_array_add (events, g_strdup (type));
    } else if (g_str_equal (type, RC_CTL_WEBHOOK_ALL_EVENTS)) {
      g_set_error (error, RC_ERROR, RC_ERROR_INVALID_INPUT,
                   "--events: " RC_CTL_WEBHOOK_ALL_EVENTS " already takes every call event; "
                   "give it alone or list the types");
      return NULL;
    } else if (!g_strv_contains (rc_webhook_event_types, type)) {
      g_set_error (error, RC_ERROR, RC_ERROR_INVALID_INPUT,
                   "--events: '%s' is not an event type: give " RC_CTL_WEBHOOK_ALL_EVENTS
                   " or a comma-separated list of %s",
                   type, known);
      return NULL;
    } else if (!g_ptr_array_find_with_equal_func (events, type, g_str_equal, NULL)) {
      g_ptr_array_add (events, g_strdup (type));
    }
  }
  g_ptr_array_add (events, NULL);
  return (char **)g_ptr_array_free (g_steal_pointer (&events), FALSE);
}

static int
run_webhooks_add (RcCtl *ctl, const RcCtlCommand *command, char ***args)
{
  g_autofree char *opt_events = NULL;
  g_autofree char *opt_description = NULL;
  const GOptionEntry entries[] = {
    { "events", 'e', 0, G_OPTION_ARG_STRING, &opt_events,
      "call.* (default), or a comma-separated list such as call.missed,call.ended", "TYPES" },
    { "description", 0, 0, G_OPTION_ARG_STRING, &opt_description,
      "What the webhook is for, at most 256 characters", "TEXT" },
    G_OPTION_ENTRY_NULL,
  };
  g_autoptr (GOptionContext) context = command_context_new (ctl, command, entries);
  g_autoptr (GError) error = NULL;
  g_autoptr (RcStore) store = NULL;
  g_autoptr (RcWebhook) webhook = NULL;
  g_auto (GStrv) events = NULL;
  g_autofree char *joined = NULL;
  const char *url;
  int status;

  if (!parse_command (context, command, args, 1, &status))
    return status;
  url = (*args)[1];
  /* The same check as POST /v1/webhooks; its message never repeats the URL. */
  if (!rc_webhook_url_check (url, &error))
    return usage_error (command->path, command->parameters, "%s", error->message);
  events
      = parse_webhook_events (opt_events != NULL ? opt_events : RC_CTL_WEBHOOK_ALL_EVENTS, &error);
  if (events == NULL)
    return usage_error (command->path, command->parameters, "%s", error->message);
  if (opt_description != NULL
      && (!g_utf8_validate (opt_description, -1, NULL)
          || g_utf8_strlen (opt_description, -1) > RC_WEBHOOK_DESCRIPTION_MAX))
    return usage_error (command->path, command->parameters,
                        "--description must be at most %d characters of UTF-8",
                        RC_WEBHOOK_DESCRIPTION_MAX);

  store = open_store (ctl, TRUE, &error);
  if (store == NULL)
    return fail (error);
  webhook
      = rc_store_create_webhook (store, url, (const char *const *)events, opt_description, &error);
  if (webhook == NULL)
    return fail (error);

  joined = g_strjoinv (",", webhook->events);
  g_print ("%s\n%s\n", webhook->webhook_id, webhook->secret);
  explicit_bzero (webhook->secret, strlen (webhook->secret));
  g_printerr ("Added webhook %s for %s (events %s). Store its secret now: it is shown only this "
              "once, and it signs every delivery.\n",
              webhook->webhook_id, webhook->url, joined);
  return EXIT_SUCCESS;
}

static int
run_webhooks_list (RcCtl *ctl, const RcCtlCommand *command, char ***args)
{
  g_autoptr (GOptionContext) context = command_context_new (ctl, command, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (RcStore) store = NULL;
  g_autoptr (GPtrArray) webhooks = NULL;
  g_autoptr (GPtrArray) rows = table_new ();
  int status;

  if (!parse_command (context, command, args, 0, &status))
    return status;
  store = open_store (ctl, FALSE, &error);
  if (store == NULL)
    return fail (error);
  webhooks = rc_store_list_webhooks (store, &error);
  if (webhooks == NULL)
    return fail (error);

  if (webhooks->len == 0) {
    g_print ("No webhooks. Add one with: reachcellctl webhooks add URL\n");
    return EXIT_SUCCESS;
  }
  table_add_row (rows, 6, "ID", "URL", "EVENTS", "STATE", "FAILING SINCE", "CREATED");
  for (guint i = 0; i < webhooks->len; i++) {
    const RcWebhook *webhook = g_ptr_array_index (webhooks, i);
    g_autofree char *events = g_strjoinv (",", webhook->events);
    g_autofree char *failing = format_time_or (webhook->failing_since, "-");
    g_autofree char *created = format_time_or (webhook->created_at, "-");
    g_autofree char *state = NULL;

    if (webhook->enabled)
      state = g_strdup ("enabled");
    else if (webhook->disabled_reason != NULL && webhook->disabled_reason[0] != '\0')
      state = g_strconcat ("disabled: ", webhook->disabled_reason, NULL);
    else
      state = g_strdup ("disabled");
    table_add_row (rows, 6, webhook->webhook_id, webhook->url, events, state, failing, created);
  }
  table_print (rows);
  return EXIT_SUCCESS;
}

static int
run_webhooks_remove (RcCtl *ctl, const RcCtlCommand *command, char ***args)
{
  g_autoptr (GOptionContext) context = command_context_new (ctl, command, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (RcStore) store = NULL;
  g_autoptr (RcWebhook) webhook = NULL;
  g_autoptr (GPtrArray) deliveries = NULL;
  const char *id;
  guint n_deliveries = 0;
  int status;

  if (!parse_command (context, command, args, 1, &status))
    return status;
  id = (*args)[1];
  if (!g_str_has_prefix (id, RC_CTL_WEBHOOK_ID_PREFIX)
      || id[strlen (RC_CTL_WEBHOOK_ID_PREFIX)] == '\0')
    return usage_error (command->path, command->parameters,
                        "'%s' is not a webhook id (wh_…, see 'reachcellctl webhooks list')", id);

  store = open_store (ctl, FALSE, &error);
  if (store == NULL)
    return fail (error);
  webhook = rc_store_get_webhook (store, id, &error);
  if (webhook != NULL) {
    /* Only for the message: one row is enough to learn the total. */
    deliveries = rc_store_list_deliveries (store, id, FALSE, RC_DELIVERY_PENDING, 1, 1,
                                           &n_deliveries, &error);
    if (deliveries == NULL)
      return fail (error);
  }
  if (webhook == NULL || !rc_store_delete_webhook (store, id, &error)) {
    if (g_error_matches (error, RC_ERROR, RC_ERROR_NOT_FOUND)) {
      g_printerr ("reachcellctl: no webhook with id %s (see 'reachcellctl webhooks list')\n", id);
      return EXIT_FAILURE;
    }
    return fail (error);
  }
  g_print ("Removed webhook %s (%s) and its %u deliver%s\n", id, webhook->url, n_deliveries,
           n_deliveries == 1 ? "y" : "ies");
  return EXIT_SUCCESS;
}

/* --- calls ---------------------------------------------------------------------------------- */

static int
run_calls (RcCtl *ctl, const RcCtlCommand *command, char ***args)
{
  g_autofree char *opt_status = NULL;
  g_autofree char *opt_direction = NULL;
  g_autofree char *opt_number = NULL;
  int opt_limit = RC_CTL_CALLS_LIMIT_DEFAULT;
  const GOptionEntry entries[] = {
    { "status", 's', 0, G_OPTION_ARG_STRING, &opt_status,
      "Only calls with this status: initiating, ringing, connected, ended, missed, rejected, "
      "failed",
      "STATUS" },
    { "direction", 0, 0, G_OPTION_ARG_STRING, &opt_direction, "Only inbound or outbound calls",
      "DIRECTION" },
    { "number", 'n', 0, G_OPTION_ARG_STRING, &opt_number, "Only calls from or to this E.164 number",
      "NUMBER" },
    { "limit", 'l', 0, G_OPTION_ARG_INT, &opt_limit, "Show at most N calls, 1 to 100 (default 20)",
      "N" },
    G_OPTION_ENTRY_NULL,
  };
  g_autoptr (GOptionContext) context = command_context_new (ctl, command, entries);
  g_autoptr (GError) error = NULL;
  g_autoptr (RcStore) store = NULL;
  g_autoptr (GPtrArray) calls = NULL;
  g_autoptr (GPtrArray) rows = table_new ();
  g_autofree char *header = NULL;
  const char *arrow = symbol ("→", "->");
  RcCallFilter filter = { 0 };
  guint total = 0;
  int status;

  if (!parse_command (context, command, args, 0, &status))
    return status;
  if (opt_status != NULL) {
    if (!rc_call_status_from_string (opt_status, &filter.status))
      return usage_error (command->path, command->parameters,
                          "--status: '%s' is not one of initiating, ringing, connected, ended, "
                          "missed, rejected, failed",
                          opt_status);
    filter.has_status = TRUE;
  }
  if (opt_direction != NULL) {
    if (!rc_call_direction_from_string (opt_direction, &filter.direction))
      return usage_error (command->path, command->parameters,
                          "--direction: '%s' is not inbound or outbound", opt_direction);
    filter.has_direction = TRUE;
  }
  if (opt_number != NULL) {
    if (!rc_e164_is_valid (opt_number))
      return usage_error (command->path, command->parameters,
                          "--number: not an E.164 number such as +4915112345678");
    filter.number = opt_number;
  }
  if (opt_limit < 1 || opt_limit > RC_CTL_CALLS_LIMIT_MAX)
    return usage_error (command->path, command->parameters, "--limit must be from 1 to %d",
                        RC_CTL_CALLS_LIMIT_MAX);

  store = open_store (ctl, FALSE, &error);
  if (store == NULL)
    return fail (error);
  calls = rc_store_list_calls (store, &filter, 1, (guint)opt_limit, &total, &error);
  if (calls == NULL)
    return fail (error);

  if (calls->len == 0) {
    g_print ("No calls%s\n", filter.has_status || filter.has_direction || filter.number != NULL
                                 ? " match these filters"
                                 : "");
    return EXIT_SUCCESS;
  }
  header = g_strdup_printf ("FROM %s TO", arrow);
  table_add_row (rows, 6, "CREATED", "CALL ID", "DIRECTION", header, "STATUS", "END REASON");
  for (guint i = 0; i < calls->len; i++) {
    const RcCall *call = g_ptr_array_index (calls, i);
    g_autofree char *created = format_time_or (call->created_at, "-");
    g_autofree char *route
        = g_strdup_printf ("%s %s %s", call->from != NULL ? call->from : "withheld", arrow,
                           call->to != NULL ? call->to : "-");
    const char *end_reason = rc_end_reason_to_string (call->end_reason);

    table_add_row (rows, 6, created, call->call_id, rc_call_direction_to_string (call->direction),
                   route, rc_call_status_to_string (call->status),
                   end_reason != NULL ? end_reason : "-");
  }
  table_print (rows);
  if (total > calls->len)
    g_printerr ("Showing the newest %u of %u calls (--limit goes up to %d; GET /v1/calls pages "
                "through all of them)\n",
                calls->len, total, RC_CTL_CALLS_LIMIT_MAX);
  return EXIT_SUCCESS;
}

/* --- numbers -------------------------------------------------------------------------------- */

/* "0.02" for 20000 µUSD: six decimals at most, trailing zeros dropped. */
static char *
format_micro_usd (gint64 micro)
{
  g_autofree char *text = g_strdup_printf ("%" G_GINT64_FORMAT ".%06" G_GINT64_FORMAT,
                                           micro / RC_CTL_MICRO, micro % RC_CTL_MICRO);
  gsize length = strlen (text);

  while (text[length - 1] == '0')
    text[--length] = '\0';
  if (text[length - 1] == '.')
    text[--length] = '\0';
  return g_steal_pointer (&text);
}

static int
run_numbers (RcCtl *ctl, const RcCtlCommand *command, char ***args)
{
  g_autoptr (GOptionContext) context = command_context_new (ctl, command, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (RcConfig) config = NULL;
  g_autoptr (GPtrArray) rows = table_new ();
  const char *source;
  int status;

  if (!parse_command (context, command, args, 0, &status))
    return status;
  config = load_config (ctl, &error);
  if (config == NULL)
    return fail (error);
  source = config->path != NULL ? config->path : "the built-in defaults";

  if (config->numbers->len == 0) {
    g_print ("No numbers configured in %s\n", source);
  } else {
    table_add_row (rows, 3, "NUMBER", "SIM", "TARIFF");
    for (guint i = 0; i < config->numbers->len; i++) {
      const RcNumberConfig *number = g_ptr_array_index (config->numbers, i);
      g_autofree char *sim = NULL;
      g_autofree char *tariff = NULL;

      if (number->iccid != NULL)
        sim = g_strdup_printf ("iccid=%s", number->iccid);
      else if (number->slot != 0)
        sim = g_strdup_printf ("modem=%s slot=%d", number->modem, number->slot);
      else
        sim = g_strdup_printf ("modem=%s (primary slot)", number->modem);
      if (number->tariff_micro_usd >= 0) {
        g_autofree char *price = format_micro_usd (number->tariff_micro_usd);

        tariff = g_strdup_printf ("%s USD per started minute", price);
      } else {
        tariff = g_strdup ("none");
      }
      table_add_row (rows, 3, number->number, sim, tariff);
    }
    table_print (rows);
  }
  g_printerr ("Numbers configured in %s. Live line state (available / busy / offline), and numbers "
              "provisioned automatically from a SIM's own number, are only known to the running "
              "daemon: GET /v1/numbers\n",
              source);
  return EXIT_SUCCESS;
}

/* --- main ----------------------------------------------------------------------------------- */

static const char main_description[]
    = "Run 'reachcellctl COMMAND --help' for the options of a command.\n"
      "\n"
      "The commands work on the daemon's files and need no running daemon.\n"
      "Unless --database is given, the database is the configuration's [store] database\n"
      "(default " RC_DEFAULT_DATABASE ").\n"
      "Only 'keys create' and 'webhooks add' create it. Run as root, the commands work as\n"
      "the owner of the database, so that the daemon can still open the files SQLite creates\n"
      "next to it.\n"
      "\n"
      "Exit status: 0 success, 1 configuration or database error, 2 bad usage.\n";

/* Appends "  keys create NAME   Create an API key…" for each command under @prefix. */
static void
append_commands (GString *text, const char *prefix)
{
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++) {
    g_autofree char *usage = g_strjoin (" ", commands[i].path, commands[i].parameters, NULL);

    if (g_str_has_prefix (commands[i].path, prefix))
      g_string_append_printf (text, "\n  %-*s %s", RC_CTL_HELP_COLUMN, usage, commands[i].summary);
  }
}

/* The command whose words begin @args (after argv[0]), or NULL. */
static const RcCtlCommand *
find_command (char **args, guint *out_n_words)
{
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++) {
    g_auto (GStrv) words = g_strsplit (commands[i].path, " ", -1);
    guint n_words = g_strv_length (words);
    gboolean match = g_strv_length (args) > n_words;

    for (guint w = 0; match && w < n_words; w++)
      match = g_str_equal (words[w], args[w + 1]);
    if (match) {
      *out_n_words = n_words;
      return &commands[i];
    }
  }
  return NULL;
}

/* A first command word that has commands under it. */
typedef struct {
  const char *name;
  const char *summary;
  const char *choices; /* its commands, for usage errors */
} RcCtlGroup;

static const RcCtlGroup groups[] = {
  { "keys", "Manage the API keys of the HTTP API.", "create, list or revoke" },
  { "webhooks", "Manage the webhooks the daemon POSTs call events to.", "add, list or remove" },
};

static const RcCtlGroup *
find_group (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (groups); i++) {
    if (g_str_equal (groups[i].name, name))
      return &groups[i];
  }
  return NULL;
}

/* A group without one of its commands ("keys", "webhooks frobnicate"): only --help is valid. */
static int
run_group (const RcCtlGroup *group, char **args)
{
  g_autoptr (GString) help = g_string_new (NULL);
  g_autofree char *prefix = g_strconcat (group->name, " ", NULL);

  if (args[2] != NULL && (g_str_equal (args[2], "--help") || g_str_equal (args[2], "-h"))) {
    g_string_printf (help,
                     "Usage:\n  reachcellctl [OPTION…] %s COMMAND\n\n%s\n\nCommands:", group->name,
                     group->summary);
    append_commands (help, prefix);
    g_print ("%s\n\nRun 'reachcellctl %s COMMAND --help' for more information.\n", help->str,
             group->name);
    return EXIT_SUCCESS;
  }
  if (args[2] == NULL)
    return usage_error (group->name, "COMMAND", "missing COMMAND (%s)", group->choices);
  return usage_error (group->name, "COMMAND", "unknown command '%s' (%s)", args[2], group->choices);
}

int
main (int argc, char *argv[])
{
  g_auto (RcCtl) ctl = { 0 };
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) summary = g_string_new (
      "Administer reachcelld: API keys, webhooks, the call log, configured numbers.\n\nCommands:");
  g_auto (GStrv) args = NULL;
  g_auto (GStrv) command_args = NULL;
  gboolean opt_version = FALSE;
  const GOptionEntry entries[] = {
    { "version", 0, 0, G_OPTION_ARG_NONE, &opt_version, "Print the version and exit", NULL },
    G_OPTION_ENTRY_NULL,
  };
  const RcCtlCommand *command;
  const RcCtlGroup *group;
  guint n_words = 0;

  setlocale (LC_ALL, "");
  g_set_prgname ("reachcellctl");

  context = context_new (&ctl, "COMMAND [ARGUMENT…]", entries);
  append_commands (summary, "");
  g_option_context_set_summary (context, summary->str);
  g_option_context_set_description (context, main_description);
  /* Options end at the command: what follows belongs to it. */
  g_option_context_set_strict_posix (context, TRUE);

  args = g_strdupv (argv);
  if (!g_option_context_parse_strv (context, &args, &error))
    return usage_error (NULL, NULL, "%s", error->message);
  if (opt_version) {
    g_print ("reachcellctl %s\n", PACKAGE_VERSION);
    return EXIT_SUCCESS;
  }
  if (args[1] == NULL)
    return usage_error (NULL, NULL, "missing COMMAND");

  command = find_command (args, &n_words);
  group = command == NULL ? find_group (args[1]) : NULL;
  if (group != NULL)
    return run_group (group, args);
  if (command == NULL)
    return usage_error (NULL, NULL, "unknown command '%s'", args[1]);

  /* argv[0], then what follows the command words. */
  command_args = g_new0 (char *, g_strv_length (args) - n_words + 1);
  command_args[0] = g_strdup (args[0]);
  for (guint i = n_words + 1; args[i] != NULL; i++)
    command_args[i - n_words] = g_strdup (args[i]);
  return command->run (&ctl, command, &command_args);
}
