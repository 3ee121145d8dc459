/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "rc-json"

#include "config.h"

#include "rc-json.h"

#include "rc-error.h"

#include <string.h>

char *
rc_json_format_time (gint64 usec)
{
  g_autoptr (GDateTime) time = NULL;

  if (usec == 0)
    return NULL;
  time = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);
  return time != NULL ? g_date_time_format (time, "%Y-%m-%dT%H:%M:%SZ") : NULL;
}

static void
add_time (JsonBuilder *builder, const char *name, gint64 usec)
{
  g_autofree char *text = rc_json_format_time (usec);

  json_builder_set_member_name (builder, name);
  if (text != NULL)
    json_builder_add_string_value (builder, text);
  else
    json_builder_add_null_value (builder);
}

static void
add_string_or_null (JsonBuilder *builder, const char *name, const char *value)
{
  json_builder_set_member_name (builder, name);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

JsonNode *
rc_json_call_node (const RcCall *call, const char *status_override, gint64 now)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  gint64 duration = rc_call_duration_seconds (call, now);

  json_builder_begin_object (builder);
  add_string_or_null (builder, "call_id", call->call_id);
  add_string_or_null (builder, "from", call->from);
  add_string_or_null (builder, "to", call->to);
  add_string_or_null (builder, "direction", rc_call_direction_to_string (call->direction));
  add_string_or_null (builder, "status",
                      status_override ? status_override : rc_call_status_to_string (call->status));
  add_time (builder, "initiated_at", call->initiated_at);
  add_time (builder, "ringing_at", call->ringing_at);
  add_time (builder, "connected_at", call->connected_at);
  add_time (builder, "ended_at", call->ended_at);
  json_builder_set_member_name (builder, "duration_seconds");
  if (duration >= 0)
    json_builder_add_int_value (builder, duration);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "cost_usd");
  if (call->cost_micro_usd >= 0)
    json_builder_add_double_value (builder, (double)call->cost_micro_usd / 1000000.0);
  else
    json_builder_add_null_value (builder);
  add_time (builder, "created_at", call->created_at);
  add_string_or_null (builder, "end_reason", rc_end_reason_to_string (call->end_reason));
  add_string_or_null (builder, "client_reference", call->client_reference);
  json_builder_set_member_name (builder, "sim");
  if (call->modem != NULL) {
    json_builder_begin_object (builder);
    add_string_or_null (builder, "modem", call->modem);
    json_builder_set_member_name (builder, "slot");
    json_builder_add_int_value (builder, call->slot);
    json_builder_end_object (builder);
  } else {
    json_builder_add_null_value (builder);
  }
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

char *
rc_json_node_to_string (JsonNode *node)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();

  json_generator_set_root (generator, node);
  return json_generator_to_data (generator, NULL);
}

char *
rc_json_call_to_string (const RcCall *call, gint64 now)
{
  g_autoptr (JsonNode) node = rc_json_call_node (call, NULL, now);

  return rc_json_node_to_string (node);
}

/* TRUE if the backslash at @i starts a valid JSON escape; @out_skip gets the characters after the
 * backslash that belong to it. */
static gboolean
read_escape (const char *data, gsize length, gsize i, gsize *out_skip)
{
  char next = i + 1 < length ? data[i + 1] : '\0';

  *out_skip = 1;
  if (next == 'u') {
    for (gsize k = 2; k < 6; k++) {
      if (i + k >= length || !g_ascii_isxdigit (data[i + k]))
        return FALSE;
    }
    *out_skip = 5;
    return TRUE;
  }
  return next != '\0' && strchr ("\"\\/bfnrt", next) != NULL;
}

static gsize
skip_escape (const char *data, gsize length, gsize i)
{
  gsize skip;

  read_escape (data, length, i, &skip);
  return skip;
}

guint
rc_json_depth (const char *data, gsize length, guint limit)
{
  guint depth = 0;
  guint max = 0;
  gboolean in_string = FALSE;

  for (gsize i = 0; i < length; i++) {
    char c = data[i];

    if (in_string) {
      if (c == '\\')
        i += skip_escape (data, length, i);
      else if (c == '"')
        in_string = FALSE;
      continue;
    }
    if (c == '"') {
      in_string = TRUE;
    } else if (c == '{' || c == '[') {
      depth++;
      max = MAX (max, depth);
      if (max > limit)
        return max;
    } else if ((c == '}' || c == ']') && depth > 0) {
      depth--;
    }
  }
  return max;
}

/* json-glib stops after the first value: refuse anything but whitespace after the top-level
 * object or array ends, and strings with malformed escapes (the scan skips strings like
 * rc_json_depth ()). */
static gboolean
json_is_single_value (const char *data, gsize length)
{
  guint depth = 0;
  gboolean in_string = FALSE;
  gboolean closed = FALSE;

  for (gsize i = 0; i < length; i++) {
    char c = data[i];

    if (closed) {
      if (!g_ascii_isspace (c))
        return FALSE;
      continue;
    }
    if (in_string) {
      gsize skip;

      /* json-glib 1.6 accepts some malformed escapes ("\u" without four hex digits) and then
       * disagrees with this scan about where strings end: refuse them here. */
      if (c == '\\' && !read_escape (data, length, i, &skip))
        return FALSE;
      if (c == '\\')
        i += skip;
      else if (c == '"')
        in_string = FALSE;
    } else if (c == '"') {
      in_string = TRUE;
    } else if (c == '{' || c == '[') {
      depth++;
    } else if ((c == '}' || c == ']') && depth > 0) {
      closed = --depth == 0;
    }
  }
  return TRUE;
}

/* json-glib 1.6 decodes a lone "\ud800" escape into bytes that are not UTF-8: refuse them, or
 * they would be stored and sent back in answers and webhook payloads. */
static gboolean
node_is_utf8 (JsonNode *node)
{
  if (JSON_NODE_HOLDS_OBJECT (node)) {
    JsonObjectIter iter;
    const char *member;
    JsonNode *child;

    json_object_iter_init (&iter, json_node_get_object (node));
    while (json_object_iter_next (&iter, &member, &child)) {
      if (!g_utf8_validate (member, -1, NULL) || !node_is_utf8 (child))
        return FALSE;
    }
  } else if (JSON_NODE_HOLDS_ARRAY (node)) {
    JsonArray *array = json_node_get_array (node);

    for (guint i = 0; i < json_array_get_length (array); i++) {
      if (!node_is_utf8 (json_array_get_element (array, i)))
        return FALSE;
    }
  } else if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING) {
    return g_utf8_validate (json_node_get_string (node), -1, NULL);
  }
  return TRUE;
}

JsonObject *
rc_json_parse_object (const char *data, gsize length, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) local = NULL;
  JsonNode *root;

  if (!g_utf8_validate (data, length, NULL)) {
    g_set_error_literal (error, RC_ERROR, RC_ERROR_INVALID_INPUT, "the body is not valid UTF-8");
    return NULL;
  }
  if (!json_is_single_value (data, length)) {
    g_set_error_literal (error, RC_ERROR, RC_ERROR_INVALID_INPUT,
                         "the body must be one JSON object with nothing after it, and valid "
                         "\\ escapes in its strings");
    return NULL;
  }
  if (!json_parser_load_from_data (parser, data, length, &local)) {
    /* json-glib's message may quote the offending bytes: keep the answer valid UTF-8. */
    g_autofree char *reason = g_utf8_make_valid (local->message, -1);

    g_set_error (error, RC_ERROR, RC_ERROR_INVALID_INPUT, "the body is not valid JSON: %s", reason);
    return NULL;
  }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error_literal (error, RC_ERROR, RC_ERROR_INVALID_INPUT, "the body must be a JSON object");
    return NULL;
  }
  if (!node_is_utf8 (root)) {
    g_set_error_literal (error, RC_ERROR, RC_ERROR_INVALID_INPUT,
                         "the body holds a string that is not valid UTF-8 (a lone \\u surrogate)");
    return NULL;
  }
  return json_object_ref (json_node_get_object (root));
}
