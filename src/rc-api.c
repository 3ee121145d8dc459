/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "rc-api"

#include "config.h"

#include "rc-api.h"
#include "rc-api-private.h"
#include "rc-api-parse.h"

#include "rc-e164.h"
#include "rc-error.h"
#include "rc-json.h"
#include "rc-lines.h"

#include <libsoup/soup.h>
#include <stdio.h>
#include <string.h>

/* Finished calls whose GET answer is kept (about 500 bytes each). */
#define RC_API_FINISHED_CACHED 512

/**
 * RcApi: the REST surface (SPEC §3) on a SoupServer.
 *
 * Order of checks for every request: body size (413), route prefix (404), key (401) for
 * /v1/calls and /v1/numbers, then sub-route (404), method (405), body (415, 400), the work. Bodies
 * are limited while they are read: a request whose Content-Length or chunks pass the limit gets 413
 * and its bytes are discarded as they arrive, never buffered whole. Handlers that wait on
 * ModemManager pause the message.
 */

G_DEFINE_TYPE (RcApi, rc_api, G_TYPE_OBJECT)

typedef struct {
  guint status;
  const char *code;
} ErrorMapping;

static const ErrorMapping error_mappings[] = {
  [RC_ERROR_FAILED] = { 500, "internal_error" },
  [RC_ERROR_INVALID_INPUT] = { 400, "invalid_parameter" },
  [RC_ERROR_NOT_FOUND] = { 404, "not_found" },
  [RC_ERROR_STORE] = { 503, "internal_error" },
  [RC_ERROR_NO_MODEM] = { 503, "number_unavailable" },
  [RC_ERROR_NO_MODEMMANAGER] = { 503, "modemmanager_unavailable" },
  [RC_ERROR_MODEM] = { 502, "modem_error" },
  [RC_ERROR_INVALID_STATE] = { 409, "invalid_state" },
  [RC_ERROR_LINE_BUSY] = { 409, "line_busy" },
  [RC_ERROR_INVALID_NUMBER] = { 422, "invalid_number" },
  [RC_ERROR_COUNTRY_MISMATCH] = { 422, "country_mismatch" },
  [RC_ERROR_NOT_PROVISIONED] = { 422, "number_not_provisioned" },
  [RC_ERROR_IDEMPOTENCY_KEY_REUSED] = { 422, "idempotency_key_reused" },
  [RC_ERROR_NOT_SUPPORTED] = { 409, "invalid_state" },
  [RC_ERROR_RATE_LIMITED] = { 429, "rate_limited" },
};

guint
rc_api_status_for_error (const GError *error, const char **out_code)
{
  if (error->domain == RC_ERROR && (guint)error->code < G_N_ELEMENTS (error_mappings)) {
    *out_code = error_mappings[error->code].code;
    return error_mappings[error->code].status;
  }
  *out_code = "internal_error";
  return 500;
}

/* --- responses ----------------------------------------------------------------------------- */

void
rc_api_set_json_body (SoupServerMessage *msg, guint status, char *body /* transfer full */)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE, body, strlen (body));
}

char *
rc_api_envelope_data (JsonNode *data, JsonNode *meta)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "success");
  json_builder_add_boolean_value (builder, TRUE);
  json_builder_set_member_name (builder, "data");
  json_builder_add_value (builder, json_node_ref (data));
  if (meta != NULL) {
    json_builder_set_member_name (builder, "meta");
    json_builder_add_value (builder, json_node_ref (meta));
  }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  return rc_json_node_to_string (root);
}

void
rc_api_respond_data (SoupServerMessage *msg, guint status, JsonNode *data, JsonNode *meta)
{
  rc_api_set_json_body (msg, status, rc_api_envelope_data (data, meta));
}

void
rc_api_respond_error_full (
    SoupServerMessage *msg, guint status, const char *code, const char *message, const char *field)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "success");
  json_builder_add_boolean_value (builder, FALSE);
  json_builder_set_member_name (builder, "error");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "code");
  json_builder_add_string_value (builder, code);
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, message);
  if (field != NULL) {
    json_builder_set_member_name (builder, "field");
    json_builder_add_string_value (builder, field);
  }
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  rc_api_set_json_body (msg, status, rc_json_node_to_string (root));
}

void
rc_api_respond_gerror (SoupServerMessage *msg, const GError *error, const char *field)
{
  const char *code;
  guint status = rc_api_status_for_error (error, &code);

  if (status == 500 || error->code == RC_ERROR_STORE) {
    g_warning ("request failed: %s", error->message);
    rc_api_respond_error_full (msg, status, code, "internal error, see the daemon's log", NULL);
    return;
  }
  rc_api_respond_error_full (msg, status, code, error->message, field);
}

void
rc_api_respond_invalid (SoupServerMessage *msg, const char *field, const char *message)
{
  rc_api_respond_error_full (msg, 400, "invalid_parameter", message, field);
}

/* --- request helpers ----------------------------------------------------------------------- */

/* Splits the path below /v1 into segments: "/v1/calls/ID/hangup" → {"calls", "ID", "hangup"}. */
static char **
path_segments (const char *path)
{
  g_autoptr (GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);
  g_auto (GStrv) raw = g_strsplit (path, "/", -1);

  for (guint i = 0; raw[i] != NULL; i++) {
    if (*raw[i] != '\0')
      g_ptr_array_add (parts, g_strdup (raw[i]));
  }
  g_ptr_array_add (parts, NULL);
  return (char **)g_ptr_array_free (g_steal_pointer (&parts), FALSE);
}

/* Query parameters that look like credentials: refused, because URLs end up in logs. */
static const char *const credential_parameters[]
    = { "api_key", "apikey", "key", "access_token", "token", "auth", "authorization", NULL };

/* Per API key: a token bucket of [api] rate-limit requests per second, [api] rate-burst deep. */
typedef struct {
  double tokens;
  gint64 updated; /* monotonic µs */
} Bucket;

static gboolean
take_token (RcApi *self, gint64 key_id, guint *out_retry_after)
{
  const RcConfig *config = self->config;
  Bucket *bucket = g_hash_table_lookup (self->buckets, &key_id);
  gint64 now = g_get_monotonic_time ();

  if (config->rate_limit == 0)
    return TRUE;
  if (bucket == NULL) {
    gint64 *key = g_new (gint64, 1);

    *key = key_id;
    bucket = g_new0 (Bucket, 1);
    bucket->tokens = config->rate_burst;
    bucket->updated = now;
    g_hash_table_insert (self->buckets, key, bucket);
  }
  bucket->tokens = MIN (
      (double)config->rate_burst,
      bucket->tokens + (now - bucket->updated) * (double)config->rate_limit / G_USEC_PER_SEC);
  bucket->updated = now;
  if (bucket->tokens >= 1.0) {
    bucket->tokens -= 1.0;
    return TRUE;
  }
  *out_retry_after = (guint)((1.0 - bucket->tokens) / config->rate_limit) + 1;
  return FALSE;
}

void
rc_api_respond_rate_limited (SoupServerMessage *msg, guint retry_after, const char *message)
{
  g_autofree char *seconds = g_strdup_printf ("%u", retry_after);

  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Retry-After",
                                seconds);
  rc_api_respond_error_full (msg, 429, "rate_limited", message, NULL);
}

static gboolean
authenticate (RcApi *self, SoupServerMessage *msg, GHashTable *query, gint64 *out_key_id)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *authorization = soup_message_headers_get_one (headers, "Authorization");
  const char *presented;
  g_autoptr (GError) error = NULL;
  guint retry_after = 0;

  for (guint i = 0; query != NULL && credential_parameters[i] != NULL; i++) {
    if (g_hash_table_contains (query, credential_parameters[i])) {
      rc_api_respond_error_full (msg, 401, "unauthorized",
                                 "API keys in the URL are refused (URLs end up in logs): send "
                                 "Authorization: Bearer ak_…",
                                 credential_parameters[i]);
      return FALSE;
    }
  }
  presented = rc_api_parse_bearer (authorization);
  if (presented == NULL) {
    rc_api_respond_error_full (msg, 401, "unauthorized",
                               "send the API key as Authorization: Bearer ak_…", NULL);
    return FALSE;
  }
  if (!rc_store_check_key (self->store, presented, out_key_id, &error)) {
    if (error != NULL)
      rc_api_respond_gerror (msg, error, NULL);
    else
      rc_api_respond_error_full (msg, 401, "unauthorized", "the API key is unknown or revoked",
                                 NULL);
    return FALSE;
  }
  if (!take_token (self, *out_key_id, &retry_after)) {
    rc_api_respond_rate_limited (msg, retry_after,
                                 "too many requests for this API key ([api] rate-limit)");
    return FALSE;
  }
  return TRUE;
}

/* The request body as a JSON object, or NULL with the error response set. */
JsonObject *
rc_api_read_json_body (RcApi *self, SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *content_type = soup_message_headers_get_content_type (headers, NULL);
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr (GBytes) bytes = soup_message_body_flatten (body);
  g_autoptr (GError) error = NULL;
  gsize length;
  const char *data = g_bytes_get_data (bytes, &length);
  JsonObject *object;

  if (content_type == NULL || g_ascii_strcasecmp (content_type, "application/json") != 0) {
    rc_api_respond_error_full (msg, 415, "unsupported_media_type",
                               "send the body as Content-Type: application/json", NULL);
    return NULL;
  }
  if (rc_json_depth (data, length, self->config->max_json_depth) > self->config->max_json_depth) {
    g_autofree char *message
        = g_strdup_printf ("JSON nested deeper than %u levels", self->config->max_json_depth);

    rc_api_respond_error_full (msg, 400, "json_too_deep", message, NULL);
    return NULL;
  }
  object = rc_json_parse_object (data ? data : "", length, &error);
  if (object == NULL)
    rc_api_respond_error_full (msg, 400, "invalid_json", error->message, NULL);
  return object;
}

static JsonNode *
call_node (const RcCall *call, const char *status_override)
{
  return rc_json_call_node (call, status_override, g_get_real_time ());
}

/* --- /v1/calls ----------------------------------------------------------------------------- */

static void
on_pending_disconnected (SoupServerMessage *msg, gpointer user_data)
{
  RcApiPending *pending = user_data;

  pending->disconnected = TRUE;
}

RcApiPending *
rc_api_pause_message (RcApi *self, SoupServerMessage *msg)
{
  RcApiPending *pending = g_new0 (RcApiPending, 1);

  pending->self = g_object_ref (self);
  pending->msg = g_object_ref (msg);
  g_signal_connect (msg, "disconnected", G_CALLBACK (on_pending_disconnected), pending);
  soup_server_message_pause (msg);
  return pending;
}

void
rc_api_pending_finish (RcApiPending *pending)
{
  g_signal_handlers_disconnect_by_data (pending->msg, pending);
  if (!pending->disconnected)
    soup_server_message_unpause (pending->msg);
  g_object_unref (pending->msg);
  g_object_unref (pending->self);
  g_free (pending);
}

static char *
render_dial_response (const RcCall *call, gpointer user_data)
{
  g_autoptr (JsonNode) node = call_node (call, NULL);

  return rc_api_envelope_data (node, NULL);
}

gboolean
rc_api_check_members (SoupServerMessage *msg, JsonObject *object, const char *const *known)
{
  const char *member = rc_api_find_unknown_member (object, known);
  g_autofree char *message = NULL;

  if (member == NULL)
    return TRUE;
  message = g_strdup_printf ("unknown field %s", member);
  rc_api_respond_invalid (msg, member, message);
  return FALSE;
}

static void
handle_dial (RcApi *self, SoupServerMessage *msg, gint64 key_id)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *idempotency_key = soup_message_headers_get_one (headers, "Idempotency-Key");
  g_autoptr (JsonObject) body = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (RcCall) call = NULL;
  g_autofree char *digest = NULL;
  g_autofree char *response = NULL;
  RcDialRequest request = { 0 };
  const char *field = NULL;

  if (idempotency_key != NULL && !rc_api_idempotency_key_valid (idempotency_key)) {
    rc_api_respond_invalid (msg, "Idempotency-Key",
                            "Idempotency-Key must be 1 to 255 printable ASCII characters");
    return;
  }
  body = rc_api_read_json_body (self, msg);
  if (body == NULL)
    return;

  if (!rc_api_parse_dial_body (body, &request, &field, &error)) {
    rc_api_respond_gerror (msg, error, field);
    return;
  }

  if (idempotency_key != NULL) {
    g_autoptr (GBytes) raw = soup_message_body_flatten (soup_server_message_get_request_body (msg));
    g_autofree char *stored_digest = NULL;
    g_autofree char *stored_body = NULL;
    guint stored_status;

    digest = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, raw);
    if (!rc_store_get_idempotent (self->store, key_id, idempotency_key, &stored_digest,
                                  &stored_status, &stored_body, &error)) {
      if (error != NULL) {
        rc_api_respond_gerror (msg, error, NULL);
        return;
      }
    } else if (g_strcmp0 (stored_digest, digest) != 0) {
      rc_api_respond_error_full (msg, 422, "idempotency_key_reused",
                                 "this Idempotency-Key was used with a different body",
                                 "Idempotency-Key");
      return;
    } else {
      rc_api_set_json_body (msg, stored_status, g_steal_pointer (&stored_body));
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "Idempotent-Replayed", "true");
      return;
    }
    request.key_id = key_id;
    request.idempotency_key = idempotency_key;
    request.request_digest = digest;
  }

  call = rc_calls_dial (self->calls, &request, render_dial_response, NULL, &response, &error);
  if (call == NULL && g_error_matches (error, RC_ERROR, RC_ERROR_RATE_LIMITED)) {
    rc_api_respond_rate_limited (msg, request.retry_after, error->message);
    return;
  }
  if (call == NULL) {
    rc_api_respond_gerror (msg, error, error->code == RC_ERROR_NOT_PROVISIONED ? "from" : NULL);
    return;
  }
  if (response == NULL)
    response = render_dial_response (call, NULL);
  rc_api_set_json_body (msg, 202, g_steal_pointer (&response));
}

static void
on_hangup_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  RcApiPending *pending = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (RcCall) call = rc_calls_hangup_finish (RC_CALLS (source), result, &error);

  if (!pending->disconnected) {
    if (call == NULL) {
      rc_api_respond_gerror (pending->msg, error, NULL);
    } else {
      g_autoptr (JsonNode) node = call_node (call, NULL);

      rc_api_respond_data (pending->msg, 200, node, NULL);
    }
  }
  rc_api_pending_finish (pending);
}

static void
on_answer_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  RcApiPending *pending = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (RcCall) call = rc_calls_answer_finish (RC_CALLS (source), result, &error);

  if (!pending->disconnected) {
    if (call == NULL) {
      rc_api_respond_gerror (pending->msg, error, NULL);
    } else {
      g_autoptr (JsonNode) node = call_node (call, "answering");

      rc_api_respond_data (pending->msg, 202, node, NULL);
    }
  }
  rc_api_pending_finish (pending);
}

static void
handle_list_calls (RcApi *self, SoupServerMessage *msg, GHashTable *query)
{
  RcCallListQuery list;
  guint total = 0;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) calls = NULL;
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) data = NULL;
  g_autoptr (JsonNode) meta = NULL;
  const char *field = NULL;

  if (!rc_api_parse_call_list_query (query, &list, &field, &error)) {
    rc_api_respond_gerror (msg, error, field);
    return;
  }
  calls = rc_store_list_calls (self->store, &list.filter, list.page, list.per_page, &total, &error);
  if (calls == NULL) {
    rc_api_respond_gerror (msg, error, NULL);
    return;
  }
  json_builder_begin_array (builder);
  for (guint i = 0; i < calls->len; i++)
    json_builder_add_value (builder, call_node (g_ptr_array_index (calls, i), NULL));
  json_builder_end_array (builder);
  data = json_builder_get_root (builder);

  json_builder_reset (builder);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "total");
  json_builder_add_int_value (builder, total);
  json_builder_set_member_name (builder, "page");
  json_builder_add_int_value (builder, list.page);
  json_builder_set_member_name (builder, "per_page");
  json_builder_add_int_value (builder, list.per_page);
  json_builder_set_member_name (builder, "total_pages");
  json_builder_add_int_value (builder, (total + list.per_page - 1) / list.per_page);
  json_builder_end_object (builder);
  meta = json_builder_get_root (builder);
  rc_api_respond_data (msg, 200, data, meta);
}

gboolean
rc_api_method_is (SoupServerMessage *msg, const char *allowed)
{
  const char *method = soup_server_message_get_method (msg);
  g_auto (GStrv) methods = g_strsplit (allowed, ", ", -1);
  g_autofree char *message = NULL;

  if (g_strv_contains ((const char *const *)methods, method))
    return TRUE;
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow", allowed);
  message = g_strdup_printf ("this route allows only %s", allowed);
  rc_api_respond_error_full (msg, 405, "method_not_allowed", message, NULL);
  return FALSE;
}

/*
 * GET /v1/calls/{id}. Clients poll their calls, often long after they ended. A finished call's
 * answer no longer changes, so it is kept (at most RC_API_FINISHED_CACHED of them; the store's
 * "call-saved" drops one whose row is written again) and served without reading the database
 * or building JSON.
 */
static void
handle_get_call (RcApi *self, SoupServerMessage *msg, const char *call_id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RcCall) call = NULL;
  g_autoptr (JsonNode) node = NULL;
  GBytes *cached = g_hash_table_lookup (self->finished, call_id);
  char *body;

  if (cached != NULL) {
    soup_server_message_set_status (msg, 200, NULL);
    soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY,
                                      g_bytes_get_data (cached, NULL), g_bytes_get_size (cached));
    return;
  }
  call = rc_store_get_call (self->store, call_id, &error);
  if (call == NULL) {
    rc_api_respond_gerror (msg, error, NULL);
    return;
  }
  node = call_node (call, NULL);
  body = rc_api_envelope_data (node, NULL);
  if (rc_call_is_terminal (call)) {
    if (g_hash_table_size (self->finished) >= RC_API_FINISHED_CACHED)
      g_hash_table_remove_all (self->finished);
    g_hash_table_insert (self->finished, g_strdup (call->call_id),
                         g_bytes_new (body, strlen (body)));
  }
  rc_api_set_json_body (msg, 200, body);
}

static void
on_call_saved (RcStore *store, const char *call_id, gpointer user_data)
{
  RcApi *self = RC_API (user_data);

  g_hash_table_remove (self->finished, call_id);
}

static void
handle_calls (
    RcApi *self, SoupServerMessage *msg, char **segments, GHashTable *query, gint64 key_id)
{
  guint n = g_strv_length (segments);

  if (n == 2 && g_str_equal (segments[1], "dial")) {
    if (rc_api_method_is (msg, "POST"))
      handle_dial (self, msg, key_id);
  } else if (n == 1) {
    if (rc_api_method_is (msg, "GET"))
      handle_list_calls (self, msg, query);
  } else if (n == 2) {
    if (rc_api_method_is (msg, "GET"))
      handle_get_call (self, msg, segments[1]);
  } else if (n == 3
             && (g_str_equal (segments[2], "hangup") || g_str_equal (segments[2], "answer"))) {
    if (rc_api_method_is (msg, "POST")) {
      RcApiPending *pending = rc_api_pause_message (self, msg);

      if (g_str_equal (segments[2], "hangup"))
        rc_calls_hangup_async (self->calls, segments[1], NULL, on_hangup_ready, pending);
      else
        rc_calls_answer_async (self->calls, segments[1], NULL, on_answer_ready, pending);
    }
  } else {
    rc_api_respond_error_full (msg, 404, "not_found", "no such route", NULL);
  }
}

/* --- /v1/numbers --------------------------------------------------------------------------- */

static JsonNode *
line_node (RcApi *self, const RcLine *line)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  const RcModemInfo *modem = line->modem;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "number");
  json_builder_add_string_value (builder, line->number);
  json_builder_set_member_name (builder, "state");
  json_builder_add_string_value (builder, rc_calls_line_state (self->calls, line));
  json_builder_set_member_name (builder, "provisioned_by");
  json_builder_add_string_value (builder, line->configured ? "configuration" : "sim");
  json_builder_set_member_name (builder, "modem");
  if (modem != NULL) {
    json_builder_begin_object (builder);
    json_builder_set_member_name (builder, "equipment_id");
    json_builder_add_string_value (builder, modem->equipment_id);
    json_builder_set_member_name (builder, "manufacturer");
    json_builder_add_string_value (builder, modem->manufacturer);
    json_builder_set_member_name (builder, "model");
    json_builder_add_string_value (builder, modem->model);
    json_builder_set_member_name (builder, "state");
    json_builder_add_string_value (builder, modem->state);
    json_builder_set_member_name (builder, "signal_quality");
    json_builder_add_int_value (builder, modem->signal_quality);
    json_builder_set_member_name (builder, "operator");
    json_builder_add_string_value (builder, modem->operator_name);
    json_builder_end_object (builder);
  } else {
    json_builder_add_null_value (builder);
  }
  json_builder_set_member_name (builder, "sim");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "slot");
  if (line->slot != 0)
    json_builder_add_int_value (builder, line->slot);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "iccid");
  json_builder_add_string_value (builder, modem && line->slot_active ? modem->iccid : NULL);
  json_builder_set_member_name (builder, "imsi");
  json_builder_add_string_value (builder, modem && line->slot_active ? modem->imsi : NULL);
  json_builder_set_member_name (builder, "active");
  json_builder_add_boolean_value (builder, modem != NULL && line->slot_active);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static void
on_activate_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  RcApiPending *pending = user_data;
  g_autoptr (GError) error = NULL;

  if (!pending->disconnected) {
    if (!rc_mm_watch_set_primary_slot_finish (RC_MM_WATCH (source), result, &error)) {
      rc_api_respond_gerror (pending->msg, error, NULL);
    } else {
      g_autoptr (JsonNode) node = NULL;
      const char *number = g_object_get_data (G_OBJECT (pending->msg), "rc-number");
      g_autoptr (RcLine) line = rc_lines_find (pending->self->config, pending->self->watch, number);

      if (line == NULL) {
        /* A SIM-provisioned number disappears while the modem re-reads its SIM. */
        rc_api_respond_error_full (pending->msg, 404, "not_found",
                                   "the number is not provisioned now (its SIM is being re-read)",
                                   NULL);
      } else {
        node = line_node (pending->self, line);
        rc_api_respond_data (pending->msg, 200, node, NULL);
      }
    }
  }
  rc_api_pending_finish (pending);
}

static void
handle_numbers (RcApi *self, SoupServerMessage *msg, char **segments)
{
  guint n = g_strv_length (segments);
  g_autoptr (RcLine) line = NULL;

  if (n == 1) {
    g_autoptr (GPtrArray) lines = NULL;
    g_autoptr (JsonBuilder) builder = json_builder_new ();
    g_autoptr (JsonNode) data = NULL;

    if (!rc_api_method_is (msg, "GET"))
      return;
    lines = rc_lines_list (self->config, self->watch);
    json_builder_begin_array (builder);
    for (guint i = 0; i < lines->len; i++)
      json_builder_add_value (builder, line_node (self, g_ptr_array_index (lines, i)));
    json_builder_end_array (builder);
    data = json_builder_get_root (builder);
    rc_api_respond_data (msg, 200, data, NULL);
    return;
  }
  if (n > 3 || (n == 3 && !g_str_equal (segments[2], "activate"))) {
    rc_api_respond_error_full (msg, 404, "not_found", "no such route", NULL);
    return;
  }
  if (!rc_api_method_is (msg, n == 2 ? "GET" : "POST"))
    return;
  line = rc_lines_find (self->config, self->watch, segments[1]);
  if (line == NULL) {
    rc_api_respond_error_full (msg, 404, "not_found", "no such provisioned number", NULL);
    return;
  }
  if (n == 2) {
    g_autoptr (JsonNode) node = line_node (self, line);

    rc_api_respond_data (msg, 200, node, NULL);
  } else if (line->modem == NULL) {
    rc_api_respond_error_full (msg, 503, "number_unavailable",
                               "no modem carries this number's SIM now", NULL);
  } else {
    RcApiPending *pending = rc_api_pause_message (self, msg);

    g_object_set_data_full (G_OBJECT (msg), "rc-number", g_strdup (line->number), g_free);
    rc_mm_watch_set_primary_slot_async (self->watch, line->modem->path, line->slot, NULL,
                                        on_activate_ready, pending);
  }
}

/* --- /v1/health, /v1/openapi.json ---------------------------------------------------------- */

static void
handle_health (RcApi *self, SoupServerMessage *msg)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) data = NULL;
  g_autoptr (GPtrArray) lines = rc_lines_list (self->config, self->watch);
  g_autoptr (GError) error = NULL;
  guint counts[7];
  guint64 deliveries[3] = { 0 };
  guint available = 0;
  gboolean database_ok = rc_store_count_calls (self->store, counts, &error)
                         && rc_store_count_deliveries (self->store, deliveries, &error);
  gboolean writes_failing = rc_calls_store_failing (self->calls);

  for (guint i = 0; i < lines->len; i++)
    available += g_str_equal (rc_calls_line_state (self->calls, g_ptr_array_index (lines, i)),
                              "available");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "status");
  json_builder_add_string_value (builder, database_ok && !writes_failing ? "ok" : "degraded");
  json_builder_set_member_name (builder, "version");
  json_builder_add_string_value (builder, PACKAGE_VERSION);
  json_builder_set_member_name (builder, "modemmanager");
  json_builder_add_string_value (builder,
                                 rc_mm_watch_is_present (self->watch) ? "running" : "absent");
  json_builder_set_member_name (builder, "modems");
  json_builder_add_int_value (builder, rc_mm_watch_get_modems (self->watch)->len);
  json_builder_set_member_name (builder, "numbers_available");
  json_builder_add_int_value (builder, available);
  json_builder_set_member_name (builder, "open_calls");
  json_builder_add_int_value (builder, rc_calls_count_open (self->calls));
  json_builder_set_member_name (builder, "database");
  json_builder_add_string_value (builder, !database_ok     ? "error"
                                          : writes_failing ? "writes_failing"
                                                           : "ok");
  json_builder_set_member_name (builder, "webhook_backlog");
  json_builder_add_int_value (builder, database_ok ? deliveries[RC_DELIVERY_PENDING] : 0);
  json_builder_end_object (builder);
  data = json_builder_get_root (builder);
  if (!database_ok)
    g_warning ("health: database check failed: %s", error->message);
  rc_api_respond_data (msg, database_ok && !writes_failing ? 200 : 503, data, NULL);
}

static void
handle_openapi (RcApi *self, SoupServerMessage *msg)
{
  if (self->openapi == NULL) {
    rc_api_respond_error_full (msg, 404, "not_found", "the OpenAPI document is not installed",
                               NULL);
    return;
  }
  soup_server_message_set_status (msg, 200, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY,
                                    g_bytes_get_data (self->openapi, NULL),
                                    g_bytes_get_size (self->openapi));
}

/* --- dispatch ------------------------------------------------------------------------------ */

/* Whether @template ("/v1/calls/{call_id}") matches @segments, without allocating: this runs for
 * every request. A {placeholder} matches any segment except "dial" after "calls" (a route of its
 * own, not a call id). */
static gboolean
route_matches (const char *template, char **segments)
{
  const char *part = template + 1;
  guint i = 0;

  for (; segments[i] != NULL; i++) {
    const char *end = strchr (part, '/');
    gsize length = end != NULL ? (gsize)(end - part) : strlen (part);

    if (length == 0)
      return FALSE; /* the template has fewer segments */
    if (part[0] == '{') {
      if (i == 2 && g_str_equal (segments[i], "dial") && g_str_equal (segments[1], "calls"))
        return FALSE;
    } else if (strlen (segments[i]) != length || strncmp (part, segments[i], length) != 0) {
      return FALSE;
    }
    part += length + (end != NULL ? 1 : 0);
  }
  return *part == '\0'; /* and no segments left in the template */
}

/* The route template of a path, for metrics: ids become {placeholders}. */
static const char *
route_label (char **segments)
{
  static const char *const templates[] = {
    "/metrics",
    "/v1/health",
    "/v1/openapi.json",
    "/v1/calls",
    "/v1/calls/dial",
    "/v1/calls/{call_id}",
    "/v1/calls/{call_id}/hangup",
    "/v1/calls/{call_id}/answer",
    "/v1/numbers",
    "/v1/numbers/{number}",
    "/v1/numbers/{number}/activate",
    "/v1/webhooks",
    "/v1/webhooks/{webhook_id}",
    "/v1/webhooks/{webhook_id}/deliveries",
    "/v1/webhooks/{webhook_id}/test",
    "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
  };

  for (guint t = 0; t < G_N_ELEMENTS (templates); t++) {
    if (route_matches (templates[t], segments))
      return templates[t];
  }
  return "other";
}

/* A random (version 4) UUID for X-Request-Id, formatted without printf: this runs for every
 * request. */
static void
new_request_id (char out[37])
{
  static const char hex[] = "0123456789abcdef";
  guint32 words[4];
  guint8 *bytes = (guint8 *)words;
  guint o = 0;

  for (guint i = 0; i < G_N_ELEMENTS (words); i++)
    words[i] = g_random_int ();
  bytes[6] = (guint8)((bytes[6] & 0x0f) | 0x40); /* version 4 */
  bytes[8] = (guint8)((bytes[8] & 0x3f) | 0x80); /* RFC 4122 variant */
  for (guint i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out[o++] = '-';
    out[o++] = hex[bytes[i] >> 4];
    out[o++] = hex[bytes[i] & 0x0f];
  }
  out[o] = '\0';
}

static void
on_request (SoupServer *server,
            SoupServerMessage *msg,
            const char *path,
            GHashTable *query,
            gpointer user_data)
{
  RcApi *self = RC_API (user_data);
  g_auto (GStrv) segments = path_segments (path);
  guint n = g_strv_length (segments);
  gint64 key_id = 0;
  char request_id[37];

  new_request_id (request_id);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "X-Request-Id",
                                request_id);
  g_object_set_data (G_OBJECT (msg), "rc-route", (gpointer)route_label (segments));
  if (n == 1 && g_str_equal (segments[0], "metrics")) {
    if (rc_api_method_is (msg, "GET")
        && (self->config->metrics_public || authenticate (self, msg, query, &key_id)))
      rc_api_handle_metrics (self, msg);
    return;
  }
  if (n < 2 || !g_str_equal (segments[0], "v1")) {
    rc_api_respond_error_full (msg, 404, "not_found", "no such route", NULL);
    return;
  }
  if (n == 2 && g_str_equal (segments[1], "health")) {
    if (rc_api_method_is (msg, "GET"))
      handle_health (self, msg);
    return;
  }
  if (n == 2 && g_str_equal (segments[1], "openapi.json")) {
    if (rc_api_method_is (msg, "GET"))
      handle_openapi (self, msg);
    return;
  }
  if (!g_str_equal (segments[1], "calls") && !g_str_equal (segments[1], "numbers")
      && !g_str_equal (segments[1], "webhooks")) {
    rc_api_respond_error_full (msg, 404, "not_found", "no such route", NULL);
    return;
  }
  if (!authenticate (self, msg, query, &key_id))
    return;
  if (g_str_equal (segments[1], "calls"))
    handle_calls (self, msg, segments + 1, query, key_id);
  else if (g_str_equal (segments[1], "webhooks"))
    rc_api_handle_webhooks (self, msg, segments + 1, query);
  else
    handle_numbers (self, msg, segments + 1);
}

/* Body limit while reading: the declared length, and the chunks as they come. A refused body is
 * discarded as it arrives (never accumulated) and the handler answers 413. */
static void
refuse_body (SoupServerMessage *msg)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);

  g_object_set_data (G_OBJECT (msg), "rc-too-large", GINT_TO_POINTER (TRUE));
  soup_message_body_set_accumulate (body, FALSE);
  soup_message_body_truncate (body);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                "close");
}

static void
on_got_chunk (SoupServerMessage *msg, GBytes *chunk, gpointer user_data)
{
  RcApi *self = RC_API (user_data);
  gsize received = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (msg), "rc-received"));

  received += g_bytes_get_size (chunk);
  g_object_set_data (G_OBJECT (msg), "rc-received", GSIZE_TO_POINTER (received));
  if (received > self->config->max_body_bytes
      && g_object_get_data (G_OBJECT (msg), "rc-too-large") == NULL)
    refuse_body (msg);
}

static void
on_got_headers (SoupServerMessage *msg, gpointer user_data)
{
  RcApi *self = RC_API (user_data);
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);

  SoupEncoding encoding = soup_message_headers_get_encoding (headers);

  rc_api_connection_got_headers (self, msg);
  if (encoding == SOUP_ENCODING_CONTENT_LENGTH
      && soup_message_headers_get_content_length (headers) > (goffset)self->config->max_body_bytes)
    refuse_body (msg);
  /* Only a request with a body needs its chunks counted (most are GETs without). */
  if (encoding != SOUP_ENCODING_NONE
      && (encoding != SOUP_ENCODING_CONTENT_LENGTH
          || soup_message_headers_get_content_length (headers) > 0))
    g_signal_connect_object (msg, "got-chunk", G_CALLBACK (on_got_chunk), self, 0);
}

/* "request-finished" and "request-aborted" of the server (one handler for all messages). */
static void
on_finished (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  RcApi *self = RC_API (user_data);
  gint64 *started = g_object_get_data (G_OBJECT (msg), "rc-started");
  const char *route = g_object_get_data (G_OBJECT (msg), "rc-route");

  if (started != NULL)
    rc_api_count_request (self, route ? route : "other", soup_server_message_get_status (msg),
                          (g_get_monotonic_time () - *started) / (double)G_USEC_PER_SEC);
  rc_api_connection_finished (self, msg);
}

static void
on_request_started (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  gint64 *started = g_new (gint64, 1);

  *started = g_get_monotonic_time ();
  g_object_set_data_full (G_OBJECT (msg), "rc-started", started, g_free);
  rc_api_connection_request_started (RC_API (user_data), msg);
  g_signal_connect_object (msg, "got-headers", G_CALLBACK (on_got_headers), user_data, 0);
}

static void
on_request_checked (SoupServer *server,
                    SoupServerMessage *msg,
                    const char *path,
                    GHashTable *query,
                    gpointer user_data)
{
  RcApi *self = RC_API (user_data);

  if (g_object_get_data (G_OBJECT (msg), "rc-too-large") != NULL) {
    char request_id[37];
    g_autofree char *message = g_strdup_printf ("the body is larger than %" G_GSIZE_FORMAT " bytes",
                                                self->config->max_body_bytes);

    new_request_id (request_id);
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "X-Request-Id",
                                  request_id);
    rc_api_respond_error_full (msg, 413, "payload_too_large", message, NULL);
    return;
  }
  on_request (server, msg, path, query, user_data);
}

/* --- object -------------------------------------------------------------------------------- */

static void
load_openapi (RcApi *self)
{
  const char *override = g_getenv ("RC_OPENAPI_PATH");
  const char *candidates[]
      = { override, RC_DATADIR "/openapi.json", RC_SOURCE_DATADIR "/openapi.json" };

  for (guint i = 0; i < G_N_ELEMENTS (candidates) && self->openapi == NULL; i++) {
    g_autofree char *contents = NULL;
    gsize length;

    if (candidates[i] != NULL && g_file_get_contents (candidates[i], &contents, &length, NULL))
      self->openapi = g_bytes_new_take (g_steal_pointer (&contents), length);
  }
  if (self->openapi == NULL)
    g_warning ("openapi.json not found; GET /v1/openapi.json will answer 404");
}

static void
rc_api_dispose (GObject *object)
{
  RcApi *self = RC_API (object);

  rc_api_connections_dispose (self);
  if (self->server != NULL)
    soup_server_disconnect (self->server);
  g_clear_object (&self->server);
  g_clear_object (&self->calls);
  g_clear_object (&self->relay);
  g_clear_object (&self->watch);
  g_clear_pointer (&self->requests, g_hash_table_unref);
  g_clear_pointer (&self->latency, g_hash_table_unref);
  g_clear_pointer (&self->buckets, g_hash_table_unref);
  g_clear_pointer (&self->finished, g_hash_table_unref);
  g_clear_object (&self->store);
  g_clear_pointer (&self->openapi, g_bytes_unref);

  G_OBJECT_CLASS (rc_api_parent_class)->dispose (object);
}

static void
rc_api_class_init (RcApiClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = rc_api_dispose;
}

static void
rc_api_init (RcApi *self)
{
  self->requests = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->latency = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->buckets = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  self->finished
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_bytes_unref);
  rc_api_connections_init (self);
}

RcApi *
rc_api_new (
    RcStore *store, RcMmWatch *watch, RcCalls *calls, RcRelay *relay, const RcConfig *config)
{
  RcApi *self = g_object_new (RC_TYPE_API, NULL);

  self->store = g_object_ref (store);
  g_signal_connect_object (store, "call-saved", G_CALLBACK (on_call_saved), self, 0);
  self->watch = g_object_ref (watch);
  self->calls = g_object_ref (calls);
  self->relay = g_object_ref (relay);
  self->config = config;
  self->server = soup_server_new ("server-header", "reachcelld/" PACKAGE_VERSION " ", NULL);
  g_signal_connect_object (self->server, "request-started", G_CALLBACK (on_request_started), self,
                           0);
  g_signal_connect_object (self->server, "request-finished", G_CALLBACK (on_finished), self, 0);
  g_signal_connect_object (self->server, "request-aborted", G_CALLBACK (on_finished), self, 0);
  soup_server_add_handler (self->server, NULL, on_request_checked, self, NULL);
  load_openapi (self);
  return self;
}

void
rc_api_set_config (RcApi *self, const RcConfig *config)
{
  g_return_if_fail (RC_IS_API (self));
  self->config = config;
}
