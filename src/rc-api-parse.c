/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "rc-api-parse"

#include "config.h"

#include "rc-api-parse.h"

#include "rc-e164.h"
#include "rc-error.h"

#include <stdio.h>
#include <string.h>

#define RC_API_BEARER "Bearer "
#define RC_API_MIN_YEAR 1970
#define RC_API_MAX_YEAR 9998

const char *
rc_api_parse_bearer (const char *authorization)
{
  if (authorization == NULL
      || g_ascii_strncasecmp (authorization, RC_API_BEARER, strlen (RC_API_BEARER)) != 0)
    return NULL;
  return authorization + strlen (RC_API_BEARER);
}

gboolean
rc_api_idempotency_key_valid (const char *key)
{
  size_t length = strlen (key);

  if (length == 0 || length > RC_API_MAX_IDEMPOTENCY_KEY)
    return FALSE;
  for (size_t i = 0; i < length; i++) {
    if (key[i] < 0x21 || key[i] > 0x7e)
      return FALSE;
  }
  return TRUE;
}

gboolean
rc_api_parse_date (const char *text, gboolean end_of_day, gint64 *out)
{
  int year;
  int month;
  int day;
  char extra;
  g_autoptr (GDateTime) time = NULL;

  /* YYYY-MM-DD exactly: sscanf alone would take signs and spaces. */
  if (strlen (text) != 10 || text[4] != '-' || text[7] != '-')
    return FALSE;
  for (guint i = 0; i < 10; i++) {
    if (i != 4 && i != 7 && !g_ascii_isdigit (text[i]))
      return FALSE;
  }
  if (sscanf (text, "%4d-%2d-%2d%c", &year, &month, &day, &extra) != 3
      || !g_date_valid_dmy (day, month, year))
    return FALSE;
  /* Calls exist between 1970 and 9998: outside, a bound would be 0 ("none") or overflow. */
  if (year < RC_API_MIN_YEAR || year > RC_API_MAX_YEAR)
    return FALSE;
  time = g_date_time_new_utc (year, month, day, 0, 0, 0);
  if (time == NULL)
    return FALSE;
  if (end_of_day) {
    g_autoptr (GDateTime) next = g_date_time_add_days (time, 1);

    if (next == NULL)
      return FALSE;
    *out = g_date_time_to_unix (next) * G_USEC_PER_SEC;
  } else {
    *out = g_date_time_to_unix (time) * G_USEC_PER_SEC;
  }
  return TRUE;
}

gboolean
rc_api_parse_positive (const char *text, guint max, guint *out)
{
  guint64 value;

  /* g_ascii_string_to_unsigned () skips a leading vertical tab: digits only. */
  if (!g_ascii_isdigit (text[0]) || !g_ascii_string_to_unsigned (text, 10, 1, max, &value, NULL))
    return FALSE;
  *out = (guint)value;
  return TRUE;
}

const char *
rc_api_get_string_member (JsonObject *object, const char *name, gboolean *wrong_type)
{
  JsonNode *node = json_object_get_member (object, name);

  *wrong_type = FALSE;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING) {
    *wrong_type = TRUE;
    return NULL;
  }
  return json_node_get_string (node);
}

const char *
rc_api_find_unknown_member (JsonObject *object, const char *const *known)
{
  JsonObjectIter iter;
  const char *member;

  json_object_iter_init (&iter, object);
  while (json_object_iter_next (&iter, &member, NULL)) {
    if (!g_strv_contains (known, member))
      return member;
  }
  return NULL;
}

static const char *const dial_members[]
    = { "from", "to", "timeout_seconds", "client_reference", NULL };

static gboolean
parse_number_field (JsonObject *body, const char *field, const char **out, GError **error)
{
  gboolean wrong_type;
  const char *value = rc_api_get_string_member (body, field, &wrong_type);

  if (value == NULL) {
    g_set_error (error, RC_ERROR, RC_ERROR_INVALID_INPUT,
                 "%s is required: a phone number in E.164 format such as +14155552671", field);
    return FALSE;
  }
  if (!rc_e164_is_valid (value) || rc_e164_country_code (value) == NULL) {
    g_set_error (error, RC_ERROR, RC_ERROR_INVALID_NUMBER,
                 "%s is not a valid E.164 number (+, country code, up to 15 digits)", field);
    return FALSE;
  }
  *out = value;
  return TRUE;
}

gboolean
rc_api_parse_dial_body (JsonObject *body,
                        RcDialRequest *request,
                        const char **out_field,
                        GError **error)
{
  const char *unknown = rc_api_find_unknown_member (body, dial_members);
  gboolean wrong_type;

  *out_field = NULL;
  if (unknown != NULL) {
    *out_field = unknown;
    g_set_error (error, RC_ERROR, RC_ERROR_INVALID_INPUT, "unknown field %s", unknown);
    return FALSE;
  }
  *out_field = "from";
  if (!parse_number_field (body, "from", &request->from, error))
    return FALSE;
  *out_field = "to";
  if (!parse_number_field (body, "to", &request->to, error))
    return FALSE;
  if (json_object_has_member (body, "timeout_seconds")) {
    JsonNode *node = json_object_get_member (body, "timeout_seconds");

    *out_field = "timeout_seconds";
    if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64
        || json_node_get_int (node) < RC_API_MIN_TIMEOUT
        || json_node_get_int (node) > RC_API_MAX_TIMEOUT) {
      g_set_error_literal (error, RC_ERROR, RC_ERROR_INVALID_INPUT,
                           "timeout_seconds must be a whole number of seconds from 5 to 120");
      return FALSE;
    }
    request->timeout_seconds = (int)json_node_get_int (node);
  }
  *out_field = "client_reference";
  request->client_reference = rc_api_get_string_member (body, "client_reference", &wrong_type);
  if (wrong_type
      || (request->client_reference != NULL
          && g_utf8_strlen (request->client_reference, -1) > RC_API_MAX_CLIENT_REFERENCE)) {
    g_set_error_literal (error, RC_ERROR, RC_ERROR_INVALID_INPUT,
                         "client_reference must be a string of at most 128 characters");
    return FALSE;
  }
  *out_field = "to";
  if (!rc_e164_same_country (request->from, request->to)) {
    g_set_error_literal (error, RC_ERROR, RC_ERROR_COUNTRY_MISMATCH,
                         "to must have the same country calling code as from");
    return FALSE;
  }
  *out_field = NULL;
  return TRUE;
}

gboolean
rc_api_parse_call_list_query (GHashTable *query,
                              RcCallListQuery *out,
                              const char **out_field,
                              GError **error)
{
  RcCallFilter *filter = &out->filter;
  GHashTableIter iter;
  const char *name;
  const char *value;

  memset (out, 0, sizeof *out);
  out->page = 1;
  out->per_page = RC_API_DEFAULT_PER_PAGE;
  *out_field = NULL;
  if (query == NULL)
    return TRUE;

  g_hash_table_iter_init (&iter, query);
  while (g_hash_table_iter_next (&iter, (gpointer *)&name, (gpointer *)&value)) {
    gboolean ok = TRUE;
    const char *hint = NULL;

    *out_field = name;
    if (g_str_equal (name, "number")) {
      ok = rc_e164_is_valid (value);
      filter->number = value;
      hint = "an E.164 number";
    } else if (g_str_equal (name, "direction")) {
      ok = rc_call_direction_from_string (value, &filter->direction);
      filter->has_direction = TRUE;
      hint = "inbound or outbound";
    } else if (g_str_equal (name, "status")) {
      ok = rc_call_status_from_string (value, &filter->status);
      filter->has_status = TRUE;
      hint = "initiating, ringing, connected, ended, missed, rejected or failed";
    } else if (g_str_equal (name, "from_date")) {
      ok = rc_api_parse_date (value, FALSE, &filter->from_time);
      hint = "a date as YYYY-MM-DD";
    } else if (g_str_equal (name, "to_date")) {
      ok = rc_api_parse_date (value, TRUE, &filter->to_time);
      hint = "a date as YYYY-MM-DD";
    } else if (g_str_equal (name, "page")) {
      ok = rc_api_parse_positive (value, RC_API_MAX_PAGE, &out->page);
      hint = "a whole number from 1";
    } else if (g_str_equal (name, "per_page")) {
      ok = rc_api_parse_positive (value, RC_API_MAX_PER_PAGE, &out->per_page);
      hint = "a whole number from 1 to 100";
    } else {
      g_set_error (error, RC_ERROR, RC_ERROR_INVALID_INPUT, "unknown query parameter %s", name);
      return FALSE;
    }
    if (!ok) {
      g_set_error (error, RC_ERROR, RC_ERROR_INVALID_INPUT, "%s must be %s", name, hint);
      return FALSE;
    }
  }
  if (filter->from_time != 0 && filter->to_time != 0 && filter->from_time >= filter->to_time) {
    *out_field = "to_date";
    g_set_error_literal (error, RC_ERROR, RC_ERROR_INVALID_INPUT,
                         "to_date must not be before from_date");
    return FALSE;
  }
  *out_field = NULL;
  return TRUE;
}
