/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "rc-api"

#include "config.h"

#include "rc-api-private.h"

#include "rc-call.h"

#include <string.h>

/**
 * rc-api-metrics: GET /metrics in the Prometheus text format (version 0.0.4). Stored figures
 * (calls, events, deliveries) are read from the store at each scrape; counters of this run
 * (attempts, HTTP requests) and histograms are kept in memory.
 */

static void
family (GString *out, const char *name, const char *type, const char *help)
{
  g_string_append_printf (out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
rc_api_count_request (RcApi *self, const char *route, guint status, double seconds)
{
  /* "route\tstatus", without printf: this runs for every request. */
  char key[128];
  gsize length = MIN (strlen (route), sizeof key - 6);
  guint64 *count;
  RcHistogram *histogram = g_hash_table_lookup (self->latency, route);

  memcpy (key, route, length);
  key[length++] = '\t';
  status = MIN (status, 999u);
  key[length++] = (char)('0' + status / 100);
  key[length++] = (char)('0' + status / 10 % 10);
  key[length++] = (char)('0' + status % 10);
  key[length] = '\0';
  count = g_hash_table_lookup (self->requests, key);
  if (count == NULL) {
    count = g_new0 (guint64, 1);
    g_hash_table_insert (self->requests, g_strdup (key), count);
  }
  (*count)++;
  if (histogram == NULL) {
    histogram = g_new0 (RcHistogram, 1);
    g_hash_table_insert (self->latency, g_strdup (route), histogram);
  }
  rc_histogram_observe (histogram, seconds);
}

/* Keys of @table, sorted, so the output is stable (transfer container). */
static GPtrArray *
sorted_keys (GHashTable *table)
{
  GList *list = g_list_sort (g_hash_table_get_keys (table), (GCompareFunc)g_strcmp0);
  GPtrArray *keys = g_ptr_array_new ();

  for (GList *l = list; l != NULL; l = l->next)
    g_ptr_array_add (keys, l->data);
  g_list_free (list);
  return keys;
}

void
rc_api_handle_metrics (RcApi *self, SoupServerMessage *msg)
{
  g_autoptr (GString) out = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) keys = NULL;
  const RcRelayStats *stats = rc_relay_get_stats (self->relay);
  guint calls[7];
  guint64 deliveries[3];
  guint64 events;
  gsize length;

  if (!rc_store_count_calls (self->store, calls, &error)
      || !rc_store_count_deliveries (self->store, deliveries, &error)
      || ((events = rc_store_count_events (self->store, &error)), error != NULL)) {
    rc_api_respond_gerror (msg, error, NULL);
    return;
  }

  family (out, "reachcelld_calls", "gauge", "Calls stored, by status.");
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    g_string_append_printf (out, "reachcelld_calls{status=\"%s\"} %u\n",
                            rc_call_status_to_string (i), calls[i]);
  family (out, "reachcelld_events_total", "counter", "Call events stored.");
  g_string_append_printf (out, "reachcelld_events_total %" G_GUINT64_FORMAT "\n", events);

  family (out, "reachcelld_webhook_deliveries", "gauge", "Webhook deliveries, by status.");
  for (guint i = 0; i < G_N_ELEMENTS (deliveries); i++)
    g_string_append_printf (out,
                            "reachcelld_webhook_deliveries{status=\"%s\"} %" G_GUINT64_FORMAT "\n",
                            rc_delivery_status_to_string (i), deliveries[i]);
  family (out, "reachcelld_webhook_backlog", "gauge",
          "Deliveries waiting to be sent (the outbox).");
  g_string_append_printf (out, "reachcelld_webhook_backlog %" G_GUINT64_FORMAT "\n",
                          deliveries[RC_DELIVERY_PENDING]);
  family (out, "reachcelld_webhook_in_flight", "gauge", "Webhook attempts in progress.");
  g_string_append_printf (out, "reachcelld_webhook_in_flight %u\n", stats->in_flight);
  family (out, "reachcelld_webhook_attempts_total", "counter",
          "Webhook attempts since start, by result.");
  for (guint i = 0; i < G_N_ELEMENTS (stats->attempts_by_result); i++)
    g_string_append_printf (
        out, "reachcelld_webhook_attempts_total{result=\"%s\"} %" G_GUINT64_FORMAT "\n",
        rc_relay_result_to_string (i), stats->attempts_by_result[i]);
  family (out, "reachcelld_webhook_attempt_duration_seconds", "histogram",
          "Duration of webhook attempts.");
  rc_histogram_format (&stats->latency, out, "reachcelld_webhook_attempt_duration_seconds", "");

  family (out, "reachcelld_modemmanager_up", "gauge", "1 while ModemManager is running.");
  g_string_append_printf (out, "reachcelld_modemmanager_up %d\n",
                          rc_mm_watch_is_present (self->watch) ? 1 : 0);
  family (out, "reachcelld_modems", "gauge", "Voice modems present.");
  g_string_append_printf (out, "reachcelld_modems %u\n", rc_mm_watch_get_modems (self->watch)->len);

  family (out, "reachcelld_http_requests_total", "counter",
          "HTTP requests since start, by route and status.");
  keys = sorted_keys (self->requests);
  for (guint i = 0; i < keys->len; i++) {
    const char *key = g_ptr_array_index (keys, i);
    g_auto (GStrv) parts = g_strsplit (key, "\t", 2);
    guint64 *count = g_hash_table_lookup (self->requests, key);

    g_string_append_printf (
        out, "reachcelld_http_requests_total{route=\"%s\",status=\"%s\"} %" G_GUINT64_FORMAT "\n",
        parts[0], parts[1], *count);
  }
  g_clear_pointer (&keys, g_ptr_array_unref);
  family (out, "reachcelld_http_request_duration_seconds", "histogram",
          "Time from request to response, by route.");
  keys = sorted_keys (self->latency);
  for (guint i = 0; i < keys->len; i++) {
    const char *route = g_ptr_array_index (keys, i);
    g_autofree char *labels = g_strdup_printf ("route=\"%s\"", route);

    rc_histogram_format (g_hash_table_lookup (self->latency, route), out,
                         "reachcelld_http_request_duration_seconds", labels);
  }

  length = out->len;
  soup_server_message_set_status (msg, 200, NULL);
  soup_server_message_set_response (msg, "text/plain; version=0.0.4; charset=utf-8",
                                    SOUP_MEMORY_TAKE, g_string_free (g_steal_pointer (&out), FALSE),
                                    length);
}
