/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "rc-api"

#include "config.h"

#include "rc-api-private.h"

#include "rc-error.h"
#include "rc-json.h"
#include "rc-webhook-url.h"

#include <string.h>

/**
 * rc-api-webhooks: /v1/webhooks (SPEC §3.6, §6). Registration, the delivery log, redelivery and
 * test events. Queued deliveries wake the relay at once.
 */

static const char *const create_members[] = { "url", "events", "description", NULL };
static const char *const patch_members[] = { "url", "events", "description", "enabled", NULL };

static void
add_time_member (JsonBuilder *builder, const char *name, gint64 usec)
{
  g_autofree char *text = rc_json_format_time (usec);

  json_builder_set_member_name (builder, name);
  if (text != NULL)
    json_builder_add_string_value (builder, text);
  else
    json_builder_add_null_value (builder);
}

static void
add_string_member (JsonBuilder *builder, const char *name, const char *value)
{
  json_builder_set_member_name (builder, name);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

static JsonNode *
webhook_node (const RcWebhook *webhook, gboolean with_secret)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  add_string_member (builder, "id", webhook->webhook_id);
  add_string_member (builder, "url", webhook->url);
  json_builder_set_member_name (builder, "events");
  if (g_strv_length (webhook->events) == 1 && g_str_equal (webhook->events[0], "call.*")) {
    json_builder_add_string_value (builder, "call.*");
  } else {
    json_builder_begin_array (builder);
    for (guint i = 0; webhook->events[i] != NULL; i++)
      json_builder_add_string_value (builder, webhook->events[i]);
    json_builder_end_array (builder);
  }
  add_string_member (builder, "description", webhook->description);
  json_builder_set_member_name (builder, "enabled");
  json_builder_add_boolean_value (builder, webhook->enabled);
  add_string_member (builder, "disabled_reason", webhook->disabled_reason);
  add_time_member (builder, "failing_since", webhook->failing_since);
  add_time_member (builder, "created_at", webhook->created_at);
  add_time_member (builder, "updated_at", webhook->updated_at);
  if (with_secret)
    add_string_member (builder, "secret", webhook->secret);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static JsonNode *
delivery_node (RcApi *self, const RcDelivery *delivery)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (GPtrArray) attempts = NULL;
  g_autoptr (GError) error = NULL;

  attempts = rc_store_list_attempts (self->store, delivery->id, &error);
  if (attempts == NULL)
    g_warning ("delivery %s: cannot read its attempts: %s", delivery->delivery_id, error->message);

  json_builder_begin_object (builder);
  add_string_member (builder, "id", delivery->delivery_id);
  add_string_member (builder, "webhook_id", delivery->webhook_id);
  add_string_member (builder, "event_id", delivery->event_id);
  add_string_member (builder, "event_type", delivery->event_type);
  add_string_member (builder, "call_id", delivery->call_id);
  json_builder_set_member_name (builder, "sequence");
  if (delivery->call_id != NULL)
    json_builder_add_int_value (builder, delivery->sequence);
  else
    json_builder_add_null_value (builder);
  add_string_member (builder, "status", rc_delivery_status_to_string (delivery->status));
  add_time_member (builder, "next_attempt_at",
                   delivery->status == RC_DELIVERY_PENDING ? delivery->next_attempt_at : 0);
  add_time_member (builder, "created_at", delivery->created_at);
  add_time_member (builder, "updated_at", delivery->updated_at);
  json_builder_set_member_name (builder, "attempts");
  json_builder_begin_array (builder);
  for (guint i = 0; attempts != NULL && i < attempts->len; i++) {
    RcAttempt *attempt = g_ptr_array_index (attempts, i);

    json_builder_begin_object (builder);
    add_time_member (builder, "attempted_at", attempt->attempted_at);
    json_builder_set_member_name (builder, "http_status");
    if (attempt->http_status != 0)
      json_builder_add_int_value (builder, attempt->http_status);
    else
      json_builder_add_null_value (builder);
    add_string_member (builder, "error", attempt->error);
    json_builder_set_member_name (builder, "duration_ms");
    json_builder_add_int_value (builder, attempt->duration_us / 1000);
    json_builder_end_object (builder);
  }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static void
respond_webhook (SoupServerMessage *msg,
                 guint status,
                 const RcWebhook *webhook,
                 gboolean with_secret)
{
  g_autoptr (JsonNode) node = webhook_node (webhook, with_secret);

  rc_api_respond_data (msg, status, node, NULL);
}

static void
respond_delivery (RcApi *self, SoupServerMessage *msg, guint status, const RcDelivery *delivery)
{
  g_autoptr (JsonNode) node = delivery_node (self, delivery);

  rc_api_respond_data (msg, status, node, NULL);
}

/* --- validation ---------------------------------------------------------------------------- */

static gboolean
read_url (SoupServerMessage *msg, JsonObject *body, gboolean required, char **out)
{
  g_autoptr (GError) error = NULL;
  gboolean wrong_type;
  const char *url = rc_api_get_string_member (body, "url", &wrong_type);

  if (url == NULL && !wrong_type && !required)
    return TRUE;
  if (url == NULL) {
    rc_api_respond_invalid (msg, "url", "url is required: the http or https address to POST to");
    return FALSE;
  }
  if (!rc_webhook_url_check (url, &error)) {
    rc_api_respond_error_full (msg, 422, "invalid_url", error->message, "url");
    return FALSE;
  }
  *out = g_strdup (url);
  return TRUE;
}

/* "call.*", or a non-empty list of known types; absent keeps *out. */
static gboolean
read_events (SoupServerMessage *msg, JsonObject *body, char ***out)
{
  JsonNode *node = json_object_get_member (body, "events");
  g_autoptr (GPtrArray) events = g_ptr_array_new_with_free_func (g_free);
  const char *problem = NULL;

  if (node == NULL)
    return TRUE;
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
      && g_str_equal (json_node_get_string (node), "call.*")) {
    g_ptr_array_add (events, g_strdup ("call.*"));
  } else if (JSON_NODE_HOLDS_ARRAY (node)
             && json_array_get_length (json_node_get_array (node)) > 0) {
    JsonArray *array = json_node_get_array (node);

    for (guint i = 0; i < json_array_get_length (array) && problem == NULL; i++) {
      JsonNode *element = json_array_get_element (array, i);
      const char *type
          = JSON_NODE_HOLDS_VALUE (element) && json_node_get_value_type (element) == G_TYPE_STRING
                ? json_node_get_string (element)
                : NULL;

      if (type == NULL || !g_strv_contains (rc_webhook_event_types, type))
        problem = "unknown event type";
      else if (!g_ptr_array_find_with_equal_func (events, type, g_str_equal, NULL))
        g_ptr_array_add (events, g_strdup (type));
    }
  } else {
    problem = "not a list";
  }
  if (problem != NULL) {
    rc_api_respond_invalid (msg, "events",
                            "events must be \"call.*\" or a non-empty list of call.initiating, "
                            "call.ringing, call.connected, call.ended, call.missed, "
                            "call.rejected, call.failed");
    return FALSE;
  }
  g_ptr_array_add (events, NULL);
  g_strfreev (*out);
  *out = (char **)g_ptr_array_free (g_steal_pointer (&events), FALSE);
  return TRUE;
}

static gboolean
read_description (SoupServerMessage *msg, JsonObject *body, char **out)
{
  gboolean wrong_type;
  const char *description = rc_api_get_string_member (body, "description", &wrong_type);

  if (wrong_type
      || (description != NULL && g_utf8_strlen (description, -1) > RC_WEBHOOK_DESCRIPTION_MAX)) {
    rc_api_respond_invalid (msg, "description",
                            "description must be a string of at most 256 characters");
    return FALSE;
  }
  if (json_object_has_member (body, "description")) {
    g_free (*out);
    *out = g_strdup (description);
  }
  return TRUE;
}

/* --- handlers ------------------------------------------------------------------------------ */

static void
handle_create (RcApi *self, SoupServerMessage *msg)
{
  g_autoptr (JsonObject) body = rc_api_read_json_body (self, msg);
  g_autoptr (GError) error = NULL;
  g_autoptr (RcWebhook) webhook = NULL;
  g_autofree char *url = NULL;
  g_autofree char *description = NULL;
  g_auto (GStrv) events = g_strdupv ((char **)(const char *const[]){ "call.*", NULL });

  if (body == NULL || !rc_api_check_members (msg, body, create_members)
      || !read_url (msg, body, TRUE, &url) || !read_events (msg, body, &events)
      || !read_description (msg, body, &description))
    return;
  webhook = rc_store_create_webhook (self->store, url, (const char *const *)events, description,
                                     &error);
  if (webhook == NULL) {
    rc_api_respond_gerror (msg, error, NULL);
    return;
  }
  g_message ("webhook %s registered", webhook->webhook_id);
  respond_webhook (msg, 201, webhook, TRUE);
}

static void
handle_list (RcApi *self, SoupServerMessage *msg)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) webhooks = rc_store_list_webhooks (self->store, &error);
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) data = NULL;

  if (webhooks == NULL) {
    rc_api_respond_gerror (msg, error, NULL);
    return;
  }
  json_builder_begin_array (builder);
  for (guint i = 0; i < webhooks->len; i++)
    json_builder_add_value (builder, webhook_node (g_ptr_array_index (webhooks, i), FALSE));
  json_builder_end_array (builder);
  data = json_builder_get_root (builder);
  rc_api_respond_data (msg, 200, data, NULL);
}

static void
handle_patch (RcApi *self, SoupServerMessage *msg, RcWebhook *webhook)
{
  g_autoptr (JsonObject) body = rc_api_read_json_body (self, msg);
  g_autoptr (GError) error = NULL;
  g_autofree char *url = NULL;
  JsonNode *enabled;

  if (body == NULL || !rc_api_check_members (msg, body, patch_members)
      || !read_url (msg, body, FALSE, &url) || !read_events (msg, body, &webhook->events)
      || !read_description (msg, body, &webhook->description))
    return;
  if (url != NULL) {
    g_free (webhook->url);
    webhook->url = g_steal_pointer (&url);
  }
  enabled = json_object_get_member (body, "enabled");
  if (enabled != NULL) {
    if (!JSON_NODE_HOLDS_VALUE (enabled) || json_node_get_value_type (enabled) != G_TYPE_BOOLEAN) {
      rc_api_respond_invalid (msg, "enabled", "enabled must be true or false");
      return;
    }
    webhook->enabled = json_node_get_boolean (enabled);
    g_clear_pointer (&webhook->disabled_reason, g_free);
    webhook->failing_since = 0;
    if (!webhook->enabled)
      webhook->disabled_reason = g_strdup ("disabled through the API");
  }
  webhook->updated_at = g_get_real_time ();
  if (!rc_store_update_webhook (self->store, webhook, &error)) {
    rc_api_respond_gerror (msg, error, NULL);
    return;
  }
  if (webhook->enabled)
    rc_relay_kick (self->relay);
  respond_webhook (msg, 200, webhook, FALSE);
}

static void
handle_deliveries (RcApi *self, SoupServerMessage *msg, const RcWebhook *webhook, GHashTable *query)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) deliveries = NULL;
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) data = NULL;
  g_autoptr (JsonNode) meta = NULL;
  RcDeliveryStatus status = RC_DELIVERY_PENDING;
  gboolean has_status = FALSE;
  guint page = 1;
  guint per_page = RC_API_DEFAULT_PER_PAGE;
  guint total = 0;
  GHashTableIter iter;
  const char *name;
  const char *value;

  if (query != NULL) {
    g_hash_table_iter_init (&iter, query);
    while (g_hash_table_iter_next (&iter, (gpointer *)&name, (gpointer *)&value)) {
      if (g_str_equal (name, "status")) {
        has_status = TRUE;
        if (!rc_delivery_status_from_string (value, &status)) {
          rc_api_respond_invalid (msg, "status", "status must be pending, delivered or failed");
          return;
        }
      } else if (g_str_equal (name, "page")) {
        if (!rc_api_parse_positive (value, RC_API_MAX_PAGE, &page)) {
          rc_api_respond_invalid (msg, "page", "page must be a whole number from 1");
          return;
        }
      } else if (g_str_equal (name, "per_page")) {
        if (!rc_api_parse_positive (value, RC_API_MAX_PER_PAGE, &per_page)) {
          rc_api_respond_invalid (msg, "per_page", "per_page must be a whole number from 1 to 100");
          return;
        }
      } else {
        g_autofree char *message = g_strdup_printf ("unknown query parameter %s", name);

        rc_api_respond_invalid (msg, name, message);
        return;
      }
    }
  }
  deliveries = rc_store_list_deliveries (self->store, webhook->webhook_id, has_status, status, page,
                                         per_page, &total, &error);
  if (deliveries == NULL) {
    rc_api_respond_gerror (msg, error, NULL);
    return;
  }
  json_builder_begin_array (builder);
  for (guint i = 0; i < deliveries->len; i++)
    json_builder_add_value (builder, delivery_node (self, g_ptr_array_index (deliveries, i)));
  json_builder_end_array (builder);
  data = json_builder_get_root (builder);
  json_builder_reset (builder);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "total");
  json_builder_add_int_value (builder, total);
  json_builder_set_member_name (builder, "page");
  json_builder_add_int_value (builder, page);
  json_builder_set_member_name (builder, "per_page");
  json_builder_add_int_value (builder, per_page);
  json_builder_set_member_name (builder, "total_pages");
  json_builder_add_int_value (builder, (total + per_page - 1) / per_page);
  json_builder_end_object (builder);
  meta = json_builder_get_root (builder);
  rc_api_respond_data (msg, 200, data, meta);
}

static void
handle_queued (RcApi *self, SoupServerMessage *msg, RcDelivery *delivery, const GError *error)
{
  if (delivery == NULL) {
    rc_api_respond_gerror (msg, error, NULL);
    return;
  }
  rc_relay_kick (self->relay);
  respond_delivery (self, msg, 202, delivery);
}

void
rc_api_handle_webhooks (RcApi *self, SoupServerMessage *msg, char **segments, GHashTable *query)
{
  guint n = g_strv_length (segments);
  g_autoptr (GError) error = NULL;
  g_autoptr (RcWebhook) webhook = NULL;

  if (n == 1) {
    if (rc_api_method_is (msg, "GET, POST")) {
      if (g_str_equal (soup_server_message_get_method (msg), "POST"))
        handle_create (self, msg);
      else
        handle_list (self, msg);
    }
    return;
  }
  if (!(n == 2 || (n == 3 && g_str_equal (segments[2], "deliveries"))
        || (n == 3 && g_str_equal (segments[2], "test"))
        || (n == 5 && g_str_equal (segments[2], "deliveries")
            && g_str_equal (segments[4], "redeliver")))) {
    rc_api_respond_error_full (msg, 404, "not_found", "no such route", NULL);
    return;
  }
  if (!rc_api_method_is (msg, n == 2                            ? "GET, PATCH, DELETE"
                              : n == 3 && segments[2][0] == 'd' ? "GET"
                                                                : "POST"))
    return;
  webhook = rc_store_get_webhook (self->store, segments[1], &error);
  if (webhook == NULL) {
    rc_api_respond_gerror (msg, error, NULL);
    return;
  }

  if (n == 2) {
    const char *method = soup_server_message_get_method (msg);

    if (g_str_equal (method, "GET")) {
      respond_webhook (msg, 200, webhook, FALSE);
    } else if (g_str_equal (method, "PATCH")) {
      handle_patch (self, msg, webhook);
    } else if (!rc_store_delete_webhook (self->store, webhook->webhook_id, &error)) {
      rc_api_respond_gerror (msg, error, NULL);
    } else {
      g_message ("webhook %s deleted", webhook->webhook_id);
      respond_webhook (msg, 200, webhook, FALSE);
    }
  } else if (n == 3 && segments[2][0] == 'd') {
    handle_deliveries (self, msg, webhook, query);
  } else if (n == 3) {
    g_autoptr (RcDelivery) delivery
        = rc_store_add_test_delivery (self->store, webhook->webhook_id, g_get_real_time (), &error);

    handle_queued (self, msg, delivery, error);
  } else {
    g_autoptr (RcDelivery) delivery = rc_store_redeliver (self->store, webhook->webhook_id,
                                                          segments[3], g_get_real_time (), &error);

    handle_queued (self, msg, delivery, error);
  }
}
