/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "rc-config"

#include "config.h"

#include "rc-config.h"

#include "rc-e164.h"
#include "rc-error.h"

#include <string.h>

/*
 * rc-config: the GKeyFile configuration. The defaults live here; data/reachcelld.conf documents
 * every key and must stay in step with this file.
 */

#define RC_DEFAULT_MAX_BODY_BYTES (16 * 1024)
#define RC_DEFAULT_MAX_JSON_DEPTH 32
#define RC_NUMBER_GROUP_PREFIX "number:"

/* SPEC §6: 0 s, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h (about three days). */
static const guint default_retry_schedule[]
    = { 0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400 };
#define RC_DEFAULT_ATTEMPT_TIMEOUT 15
#define RC_DEFAULT_WEBHOOK_CONNECTIONS 4
#define RC_DEFAULT_API_CONNECTIONS 512
#define RC_DEFAULT_HEADER_TIMEOUT 10
#define RC_DEFAULT_IDLE_TIMEOUT 60
#define RC_DEFAULT_RATE_LIMIT 50
#define RC_DEFAULT_RATE_BURST 100
#define RC_DEFAULT_DISABLE_AFTER (5 * 24 * 3600)
#define RC_MAX_RETRY_DELAY (7 * 24 * 3600)
#define RC_MAX_RETRY_STEPS 50

static const char *const known_keys[][2] = {
  { "daemon", "log-personal-info" }, { "api", "listen" },
  { "api", "max-body-bytes" },       { "api", "max-json-depth" },
  { "api", "max-connections" },      { "api", "header-timeout" },
  { "api", "idle-timeout" },         { "api", "metrics-public" },
  { "api", "rate-limit" },           { "api", "rate-burst" },
  { "store", "database" },           { "modemmanager", "delete-terminated-calls" },
  { "webhook", "retry-schedule" },   { "webhook", "attempt-timeout" },
  { "webhook", "max-connections" },  { "webhook", "disable-after" },
};

static const char *const number_keys[]
    = { "iccid", "modem", "slot", "tariff-usd-per-minute", "dial-interval", "daily-dial-cap" };

static void
rc_number_config_free (RcNumberConfig *number)
{
  g_free (number->number);
  g_free (number->iccid);
  g_free (number->modem);
  g_free (number);
}

RcConfig *
rc_config_new_defaults (void)
{
  RcConfig *config = g_new0 (RcConfig, 1);
  const char *listen[] = { RC_DEFAULT_LISTEN, NULL };

  config->listen = g_strdupv ((char **)listen);
  config->max_body_bytes = RC_DEFAULT_MAX_BODY_BYTES;
  config->max_json_depth = RC_DEFAULT_MAX_JSON_DEPTH;
  config->database = g_strdup (RC_DEFAULT_DATABASE);
  config->delete_terminated = TRUE;
  config->retry_schedule = g_array_new (FALSE, FALSE, sizeof (guint));
  g_array_append_vals (config->retry_schedule, default_retry_schedule,
                       G_N_ELEMENTS (default_retry_schedule));
  config->attempt_timeout = RC_DEFAULT_ATTEMPT_TIMEOUT;
  config->webhook_connections = RC_DEFAULT_WEBHOOK_CONNECTIONS;
  config->max_connections = RC_DEFAULT_API_CONNECTIONS;
  config->header_timeout = RC_DEFAULT_HEADER_TIMEOUT;
  config->idle_timeout = RC_DEFAULT_IDLE_TIMEOUT;
  config->rate_limit = RC_DEFAULT_RATE_LIMIT;
  config->rate_burst = RC_DEFAULT_RATE_BURST;
  config->disable_after = RC_DEFAULT_DISABLE_AFTER;
  config->numbers = g_ptr_array_new_with_free_func ((GDestroyNotify)rc_number_config_free);
  return config;
}

void
rc_config_free (RcConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->path);
  g_strfreev (config->listen);
  g_free (config->database);
  g_array_unref (config->retry_schedule);
  g_ptr_array_unref (config->numbers);
  g_free (config);
}

static gboolean
fail_key (GError **error, const char *group, const char *key, const char *why)
{
  g_set_error (error, RC_ERROR, RC_ERROR_INVALID_INPUT, "[%s] %s: %s", group, key, why);
  return FALSE;
}

/* Reads an optional integer within bounds; absent keys keep *value. */
static gboolean
read_uint (GKeyFile *file,
           const char *group,
           const char *key,
           guint64 min,
           guint64 max,
           guint64 *value,
           GError **error)
{
  g_autofree char *text = g_key_file_get_value (file, group, key, NULL);
  guint64 parsed;

  if (text == NULL)
    return TRUE;
  if (!g_ascii_string_to_unsigned (g_strstrip (text), 10, min, max, &parsed, NULL)) {
    g_autofree char *why = g_strdup_printf (
        "expected a whole number from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT, min, max);

    return fail_key (error, group, key, why);
  }
  *value = parsed;
  return TRUE;
}

/* Reads an optional string; absent keys keep *value. */
static gboolean
read_string (GKeyFile *file, const char *group, const char *key, char **value, GError **error)
{
  g_autoptr (GError) local = NULL;
  char *text;

  if (!g_key_file_has_key (file, group, key, NULL))
    return TRUE;
  text = g_key_file_get_string (file, group, key, &local);
  if (text == NULL)
    return fail_key (error, group, key, "not a valid string (check its \\ escapes)");
  if (*g_strstrip (text) == '\0') {
    g_free (text);
    return fail_key (error, group, key, "must not be empty");
  }
  g_free (*value);
  *value = text;
  return TRUE;
}

static gboolean
read_bool (GKeyFile *file, const char *group, const char *key, gboolean *value, GError **error)
{
  g_autoptr (GError) local = NULL;
  gboolean parsed;

  if (!g_key_file_has_key (file, group, key, NULL))
    return TRUE;
  parsed = g_key_file_get_boolean (file, group, key, &local);
  if (local != NULL)
    return fail_key (error, group, key, "expected true or false");
  *value = parsed;
  return TRUE;
}

static gboolean
check_known_keys (GKeyFile *file, GError **error)
{
  g_auto (GStrv) groups = g_key_file_get_groups (file, NULL);

  for (guint g = 0; groups[g] != NULL; g++) {
    g_auto (GStrv) keys = g_key_file_get_keys (file, groups[g], NULL, NULL);
    gboolean is_number = g_str_has_prefix (groups[g], RC_NUMBER_GROUP_PREFIX);
    gboolean group_known = is_number;

    for (guint i = 0; i < G_N_ELEMENTS (known_keys); i++)
      group_known |= g_str_equal (known_keys[i][0], groups[g]);
    if (!group_known) {
      g_set_error (error, RC_ERROR, RC_ERROR_INVALID_INPUT, "[%s]: unknown group", groups[g]);
      return FALSE;
    }
    for (guint k = 0; keys[k] != NULL; k++) {
      gboolean known = FALSE;

      if (is_number) {
        for (guint i = 0; i < G_N_ELEMENTS (number_keys); i++)
          known |= g_str_equal (number_keys[i], keys[k]);
      } else {
        for (guint i = 0; i < G_N_ELEMENTS (known_keys); i++)
          known |= g_str_equal (known_keys[i][0], groups[g])
                   && g_str_equal (known_keys[i][1], keys[k]);
      }
      if (!known)
        return fail_key (error, groups[g], keys[k], "unknown key");
    }
  }
  return TRUE;
}

static gboolean
parse_tariff (const char *text, gint64 *out)
{
  char *end = NULL;
  double value = g_ascii_strtod (text, &end);

  if (end == text || *end != '\0' || !(value >= 0) || value > 1000)
    return FALSE;
  *out = (gint64)(value * 1000000.0 + 0.5);
  return TRUE;
}

static gboolean
load_number (GKeyFile *file, const char *group, RcConfig *config, GError **error)
{
  RcNumberConfig *number;
  const char *e164 = group + strlen (RC_NUMBER_GROUP_PREFIX);
  guint64 slot = 0;
  guint64 value;
  g_autofree char *tariff = NULL;

  if (!rc_e164_is_valid (e164))
    return fail_key (error, group, "(group name)", "not an E.164 number such as +4915112345678");
  if (rc_config_find_number (config, e164) != NULL)
    return fail_key (error, group, "(group name)", "number configured twice");

  number = g_new0 (RcNumberConfig, 1);
  number->number = g_strdup (e164);
  number->tariff_micro_usd = -1;
  g_ptr_array_add (config->numbers, number);
  if (!read_string (file, group, "iccid", &number->iccid, error)
      || !read_string (file, group, "modem", &number->modem, error))
    return FALSE;
  if (!read_uint (file, group, "slot", 1, 16, &slot, error))
    return FALSE;
  number->slot = (int)slot;
  if ((number->iccid == NULL) == (number->modem == NULL))
    return fail_key (error, group, "iccid", "set exactly one of iccid= or modem=");
  if (number->slot != 0 && number->modem == NULL)
    return fail_key (error, group, "slot", "slot= goes with modem=");
  value = 0;
  if (!read_uint (file, group, "dial-interval", 0, 86400, &value, error))
    return FALSE;
  number->dial_interval = (guint)value;
  value = 0;
  if (!read_uint (file, group, "daily-dial-cap", 0, 100000, &value, error))
    return FALSE;
  number->daily_dial_cap = (guint)value;
  tariff = g_key_file_get_string (file, group, "tariff-usd-per-minute", NULL);
  if (tariff != NULL && !parse_tariff (g_strstrip (tariff), &number->tariff_micro_usd))
    return fail_key (error, group, "tariff-usd-per-minute", "expected a price such as 0.02");
  return TRUE;
}

static gboolean
read_retry_schedule (GKeyFile *file, RcConfig *config, GError **error)
{
  g_auto (GStrv) steps = NULL;
  gsize n_steps = 0;

  if (!g_key_file_has_key (file, "webhook", "retry-schedule", NULL))
    return TRUE;
  steps = g_key_file_get_string_list (file, "webhook", "retry-schedule", &n_steps, NULL);
  if (steps == NULL || n_steps == 0 || n_steps > RC_MAX_RETRY_STEPS)
    return fail_key (error, "webhook", "retry-schedule",
                     "expected 1 to 50 delays in seconds separated by ';'");
  g_array_set_size (config->retry_schedule, 0);
  for (gsize i = 0; i < n_steps; i++) {
    guint64 delay;
    guint seconds;

    if (!g_ascii_string_to_unsigned (g_strstrip (steps[i]), 10, 0, RC_MAX_RETRY_DELAY, &delay,
                                     NULL))
      return fail_key (error, "webhook", "retry-schedule",
                       "each delay is a whole number of seconds up to 604800");
    if (i == 0 && delay != 0)
      return fail_key (error, "webhook", "retry-schedule",
                       "the first entry is the first attempt, sent at once: it must be 0");
    seconds = (guint)delay;
    g_array_append_val (config->retry_schedule, seconds);
  }
  return TRUE;
}

static gboolean
load_keys (GKeyFile *file, RcConfig *config, GError **error)
{
  g_auto (GStrv) groups = NULL;
  guint64 value;

  if (!check_known_keys (file, error))
    return FALSE;
  if (!read_bool (file, "daemon", "log-personal-info", &config->log_personal_info, error))
    return FALSE;
  if (g_key_file_has_key (file, "api", "listen", NULL)) {
    g_strfreev (config->listen);
    config->listen = g_key_file_get_string_list (file, "api", "listen", NULL, NULL);
    if (config->listen == NULL || config->listen[0] == NULL)
      return fail_key (error, "api", "listen",
                       "expected at least one address such as 127.0.0.1:8080");
  }
  value = config->max_body_bytes;
  if (!read_uint (file, "api", "max-body-bytes", 256, 1024 * 1024, &value, error))
    return FALSE;
  config->max_body_bytes = value;
  value = config->max_json_depth;
  if (!read_uint (file, "api", "max-json-depth", 2, 256, &value, error))
    return FALSE;
  config->max_json_depth = value;
  if (!read_string (file, "store", "database", &config->database, error))
    return FALSE;
  if (!read_bool (file, "modemmanager", "delete-terminated-calls", &config->delete_terminated,
                  error))
    return FALSE;

  if (!read_bool (file, "api", "metrics-public", &config->metrics_public, error)
      || !read_retry_schedule (file, config, error))
    return FALSE;
  value = config->attempt_timeout;
  if (!read_uint (file, "webhook", "attempt-timeout", 1, 300, &value, error))
    return FALSE;
  config->attempt_timeout = value;
  value = config->webhook_connections;
  if (!read_uint (file, "webhook", "max-connections", 1, 64, &value, error))
    return FALSE;
  config->webhook_connections = value;
  value = config->max_connections;
  if (!read_uint (file, "api", "max-connections", 8, 65536, &value, error))
    return FALSE;
  config->max_connections = value;
  value = config->header_timeout;
  if (!read_uint (file, "api", "header-timeout", 1, 300, &value, error))
    return FALSE;
  config->header_timeout = value;
  value = config->idle_timeout;
  if (!read_uint (file, "api", "idle-timeout", 1, 3600, &value, error))
    return FALSE;
  config->idle_timeout = value;
  value = config->rate_limit;
  if (!read_uint (file, "api", "rate-limit", 0, 100000, &value, error))
    return FALSE;
  config->rate_limit = value;
  value = config->rate_burst;
  if (!read_uint (file, "api", "rate-burst", 1, 1000000, &value, error))
    return FALSE;
  config->rate_burst = value;
  value = config->disable_after;
  if (!read_uint (file, "webhook", "disable-after", 1, 365 * 24 * 3600, &value, error))
    return FALSE;
  config->disable_after = value;

  groups = g_key_file_get_groups (file, NULL);
  for (guint i = 0; groups[i] != NULL; i++) {
    if (g_str_has_prefix (groups[i], RC_NUMBER_GROUP_PREFIX)
        && !load_number (file, groups[i], config, error))
      return FALSE;
  }
  return TRUE;
}

/* GKeyFile takes group names that are not UTF-8, and error messages would carry them. */
static gboolean
check_utf8 (const char *contents, gsize length, GError **error)
{
  const char *end = NULL;

  if (g_utf8_validate (contents, length, &end))
    return TRUE;
  g_set_error (error, RC_ERROR, RC_ERROR_INVALID_INPUT, "not UTF-8 text (byte %" G_GSIZE_FORMAT ")",
               (gsize)(end - contents));
  return FALSE;
}

RcConfig *
rc_config_load (const char *path, GError **error)
{
  g_autoptr (RcConfig) config = rc_config_new_defaults ();
  g_autoptr (GKeyFile) file = g_key_file_new ();
  g_autofree char *contents = NULL;
  gsize length = 0;

  g_return_val_if_fail (path != NULL, NULL);

  config->path = g_strdup (path);
  if (!g_file_get_contents (path, &contents, &length, error)
      || !check_utf8 (contents, length, error)
      || !g_key_file_load_from_data (file, contents, length, G_KEY_FILE_NONE, error)
      || !load_keys (file, config, error)) {
    g_prefix_error (error, "%s: ", path);
    g_clear_pointer (&config, rc_config_free); /* (clang's analyzer misses g_autoptr here) */
    return NULL;
  }
  return g_steal_pointer (&config);
}

const RcNumberConfig *
rc_config_find_number (const RcConfig *config, const char *number)
{
  for (guint i = 0; i < config->numbers->len; i++) {
    const RcNumberConfig *entry = g_ptr_array_index (config->numbers, i);

    if (g_strcmp0 (entry->number, number) == 0)
      return entry;
  }
  return NULL;
}
