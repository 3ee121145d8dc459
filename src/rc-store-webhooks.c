/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "rc-store"

#include "config.h"

#include "rc-store.h"
#include "rc-store-private.h"

#include "rc-error.h"

#include <string.h>

/**
 * rc-store-webhooks: webhooks, the outbox of deliveries and the attempt log (schema 2).
 *
 * The outbox rows of an event are inserted by rc_store_append_event () in the transaction that
 * stores the event, so a committed event always has its deliveries. The relay only reads due
 * rows and records attempts; a row leaves 'pending' only through an attempt's outcome.
 */

#define RC_WEBHOOK_SECRET_BYTES 32

#define WEBHOOK_COLUMNS                                                                            \
  "id, webhook_id, url, events, description, secret, enabled, disabled_reason, created_at, "       \
  "updated_at, failing_since"

#define DELIVERY_COLUMNS                                                                           \
  "d.id, d.delivery_id, d.webhook, w.webhook_id, d.event_id, d.event_type, d.call_id, "            \
  "d.sequence, d.status, d.attempts, d.next_attempt_at, d.created_at, d.updated_at, "              \
  "d.last_http_status, d.last_error"

static const char *const delivery_status_names[] = {
  [RC_DELIVERY_PENDING] = "pending",
  [RC_DELIVERY_DELIVERED] = "delivered",
  [RC_DELIVERY_FAILED] = "failed",
};

const char *
rc_delivery_status_to_string (RcDeliveryStatus status)
{
  g_return_val_if_fail (status < G_N_ELEMENTS (delivery_status_names), NULL);
  return delivery_status_names[status];
}

gboolean
rc_delivery_status_from_string (const char *text, RcDeliveryStatus *out)
{
  for (guint i = 0; text != NULL && i < G_N_ELEMENTS (delivery_status_names); i++) {
    if (g_str_equal (text, delivery_status_names[i])) {
      *out = (RcDeliveryStatus)i;
      return TRUE;
    }
  }
  return FALSE;
}

void
rc_webhook_free (RcWebhook *webhook)
{
  if (webhook == NULL)
    return;
  g_free (webhook->webhook_id);
  g_free (webhook->url);
  g_strfreev (webhook->events);
  g_free (webhook->description);
  g_free (webhook->secret);
  g_free (webhook->disabled_reason);
  g_free (webhook);
}

gboolean
rc_webhook_wants (const RcWebhook *webhook, const char *type)
{
  for (guint i = 0; webhook->events[i] != NULL; i++) {
    if (g_str_equal (webhook->events[i], type)
        || (g_str_equal (webhook->events[i], RC_WEBHOOK_ALL_CALLS)
            && g_str_has_prefix (type, "call.")))
      return TRUE;
  }
  return FALSE;
}

void
rc_attempt_free (RcAttempt *attempt)
{
  if (attempt == NULL)
    return;
  g_free (attempt->error);
  g_free (attempt);
}

void
rc_delivery_free (RcDelivery *delivery)
{
  if (delivery == NULL)
    return;
  g_free (delivery->delivery_id);
  g_free (delivery->webhook_id);
  g_free (delivery->event_id);
  g_free (delivery->event_type);
  g_free (delivery->call_id);
  g_free (delivery->last_error);
  g_free (delivery);
}

/* --- rows ---------------------------------------------------------------------------------- */

static RcWebhook *
webhook_from_row (sqlite3_stmt *statement)
{
  RcWebhook *webhook = g_new0 (RcWebhook, 1);
  g_autofree char *events = rc_store_column_dup_text (statement, 3);

  webhook->id = sqlite3_column_int64 (statement, 0);
  webhook->webhook_id = rc_store_column_dup_text (statement, 1);
  webhook->url = rc_store_column_dup_text (statement, 2);
  webhook->events = g_strsplit (events ? events : "", " ", -1);
  webhook->description = rc_store_column_dup_text (statement, 4);
  webhook->secret = rc_store_column_dup_text (statement, 5);
  webhook->enabled = sqlite3_column_int (statement, 6) != 0;
  webhook->disabled_reason = rc_store_column_dup_text (statement, 7);
  webhook->created_at = rc_store_column_time (statement, 8);
  webhook->updated_at = rc_store_column_time (statement, 9);
  webhook->failing_since = rc_store_column_time (statement, 10);
  return webhook;
}

static RcDelivery *
delivery_from_row (sqlite3_stmt *statement)
{
  RcDelivery *delivery = g_new0 (RcDelivery, 1);
  const char *status = (const char *)sqlite3_column_text (statement, 8);

  delivery->id = sqlite3_column_int64 (statement, 0);
  delivery->delivery_id = rc_store_column_dup_text (statement, 1);
  delivery->webhook_row = sqlite3_column_int64 (statement, 2);
  delivery->webhook_id = rc_store_column_dup_text (statement, 3);
  delivery->event_id = rc_store_column_dup_text (statement, 4);
  delivery->event_type = rc_store_column_dup_text (statement, 5);
  delivery->call_id = rc_store_column_dup_text (statement, 6);
  delivery->sequence = (guint)sqlite3_column_int64 (statement, 7);
  if (!rc_delivery_status_from_string (status, &delivery->status))
    delivery->status = RC_DELIVERY_FAILED;
  delivery->attempts = (guint)sqlite3_column_int64 (statement, 9);
  delivery->next_attempt_at = rc_store_column_time (statement, 10);
  delivery->created_at = rc_store_column_time (statement, 11);
  delivery->updated_at = rc_store_column_time (statement, 12);
  delivery->last_http_status = (guint)sqlite3_column_int64 (statement, 13);
  delivery->last_error = rc_store_column_dup_text (statement, 14);
  return delivery;
}

typedef gpointer (*RowReader) (sqlite3_stmt *statement);

/* Steps @statement to the end, reading every row. */
static GPtrArray *
collect (RcStore *self,
         sqlite3_stmt *statement,
         RowReader reader,
         GDestroyNotify free_func,
         const char *what,
         GError **error)
{
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func (free_func);
  int rc;

  while ((rc = sqlite3_step (statement)) == SQLITE_ROW)
    g_ptr_array_add (rows, reader (statement));
  if (rc != SQLITE_DONE) {
    rc_store_set_sqlite_error (self, error, "%s", what);
    return NULL;
  }
  return g_steal_pointer (&rows);
}

/* The single row @statement selects, or NULL with NOT_FOUND naming @what. */
static gpointer
collect_one (RcStore *self,
             sqlite3_stmt *statement,
             RowReader reader,
             GDestroyNotify free_func,
             const char *what,
             GError **error)
{
  g_autoptr (GPtrArray) rows = collect (self, statement, reader, free_func, what, error);

  if (rows == NULL)
    return NULL;
  if (rows->len == 0) {
    g_set_error (error, RC_ERROR, RC_ERROR_NOT_FOUND, "no such %s", what);
    return NULL;
  }
  return g_ptr_array_steal_index (rows, 0);
}

/* --- webhooks ------------------------------------------------------------------------------ */

/* The generation of the webhook rows, kept on the store object (its struct is rc-store.c's). */
static GQuark
webhooks_generation_quark (void)
{
  return g_quark_from_static_string ("rc-store-webhooks-generation");
}

static void
bump_webhooks_generation (RcStore *self)
{
  guint generation
      = GPOINTER_TO_UINT (g_object_get_qdata (G_OBJECT (self), webhooks_generation_quark ()));

  g_object_set_qdata (G_OBJECT (self), webhooks_generation_quark (),
                      GUINT_TO_POINTER (generation + 1));
}

guint
rc_store_get_webhooks_generation (RcStore *self)
{
  g_return_val_if_fail (RC_IS_STORE (self), 0);

  return GPOINTER_TO_UINT (g_object_get_qdata (G_OBJECT (self), webhooks_generation_quark ()));
}

static char *
new_secret (GError **error)
{
  guint8 random[RC_WEBHOOK_SECRET_BYTES];
  g_autofree char *encoded = NULL;

  if (!rc_store_fill_random (random, sizeof random, error))
    return NULL;
  encoded = g_base64_encode (random, sizeof random);
  return g_strconcat ("whsec_", encoded, NULL);
}

RcWebhook *
rc_store_create_webhook (RcStore *self,
                         const char *url,
                         const char *const *events,
                         const char *description,
                         GError **error)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autofree char *webhook_id = NULL;
  g_autofree char *secret = NULL;
  g_autofree char *joined = NULL;
  gint64 now = g_get_real_time ();

  g_return_val_if_fail (RC_IS_STORE (self), NULL);
  g_return_val_if_fail (url != NULL && events != NULL && events[0] != NULL, NULL);

  webhook_id = rc_store_new_id ("wh_", error);
  secret = webhook_id ? new_secret (error) : NULL;
  if (secret == NULL)
    return NULL;
  joined = g_strjoinv (" ", (char **)events);
  statement
      = rc_store_prepare (self,
                          "INSERT INTO webhooks (webhook_id, url, events, description, "
                          "secret, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                          "creating a webhook", error);
  if (statement == NULL)
    return NULL;
  rc_store_bind_text (statement, 1, webhook_id);
  rc_store_bind_text (statement, 2, url);
  rc_store_bind_text (statement, 3, joined);
  rc_store_bind_text (statement, 4, description);
  rc_store_bind_text (statement, 5, secret);
  sqlite3_bind_int64 (statement, 6, now);
  if (!rc_store_step_done (self, statement, "creating a webhook", error))
    return NULL;
  bump_webhooks_generation (self);
  return rc_store_get_webhook (self, webhook_id, error);
}

RcWebhook *
rc_store_get_webhook (RcStore *self, const char *webhook_id, GError **error)
{
  g_autoptr (RcStatementLease) statement = NULL;

  g_return_val_if_fail (RC_IS_STORE (self), NULL);

  statement = rc_store_prepare_cached (
      self, "SELECT " WEBHOOK_COLUMNS " FROM webhooks WHERE webhook_id = ?1", "reading a webhook",
      error);
  if (statement == NULL)
    return NULL;
  rc_store_bind_text (statement, 1, webhook_id);
  return collect_one (self, statement, (RowReader)webhook_from_row, (GDestroyNotify)rc_webhook_free,
                      "webhook", error);
}

GPtrArray *
rc_store_list_webhooks (RcStore *self, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = NULL;

  g_return_val_if_fail (RC_IS_STORE (self), NULL);

  statement = rc_store_prepare (self, "SELECT " WEBHOOK_COLUMNS " FROM webhooks ORDER BY id",
                                "listing webhooks", error);
  if (statement == NULL)
    return NULL;
  return collect (self, statement, (RowReader)webhook_from_row, (GDestroyNotify)rc_webhook_free,
                  "listing webhooks", error);
}

gboolean
rc_store_update_webhook (RcStore *self, const RcWebhook *webhook, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autofree char *joined = NULL;

  g_return_val_if_fail (RC_IS_STORE (self), FALSE);

  joined = g_strjoinv (" ", webhook->events);
  statement = rc_store_prepare (self,
                                "UPDATE webhooks SET url = ?2, events = ?3, description = ?4, "
                                "enabled = ?5, disabled_reason = ?6, failing_since = ?7, "
                                "updated_at = ?8 WHERE webhook_id = ?1",
                                "updating a webhook", error);
  if (statement == NULL)
    return FALSE;
  rc_store_bind_text (statement, 1, webhook->webhook_id);
  rc_store_bind_text (statement, 2, webhook->url);
  rc_store_bind_text (statement, 3, joined);
  rc_store_bind_text (statement, 4, webhook->description);
  sqlite3_bind_int (statement, 5, webhook->enabled ? 1 : 0);
  rc_store_bind_text (statement, 6, webhook->disabled_reason);
  rc_store_bind_time (statement, 7, webhook->failing_since);
  sqlite3_bind_int64 (statement, 8, webhook->updated_at);
  /* Before the write: a copy read meanwhile is stale even if this fails or is rolled back. */
  bump_webhooks_generation (self);
  if (!rc_store_step_done (self, statement, "updating a webhook", error))
    return FALSE;
  if (sqlite3_changes (rc_store_get_db (self)) == 0) {
    g_set_error (error, RC_ERROR, RC_ERROR_NOT_FOUND, "no such webhook");
    return FALSE;
  }
  return TRUE;
}

gboolean
rc_store_delete_webhook (RcStore *self, const char *webhook_id, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = NULL;

  g_return_val_if_fail (RC_IS_STORE (self), FALSE);

  statement = rc_store_prepare (self, "DELETE FROM webhooks WHERE webhook_id = ?1",
                                "deleting a webhook", error);
  if (statement == NULL)
    return FALSE;
  rc_store_bind_text (statement, 1, webhook_id);
  bump_webhooks_generation (self);
  if (!rc_store_step_done (self, statement, "deleting a webhook", error))
    return FALSE;
  if (sqlite3_changes (rc_store_get_db (self)) == 0) {
    g_set_error (error, RC_ERROR, RC_ERROR_NOT_FOUND, "no such webhook");
    return FALSE;
  }
  return TRUE;
}

/* --- the outbox ---------------------------------------------------------------------------- */

GPtrArray *
rc_store_list_due_deliveries (RcStore *self, gint64 now, guint limit, GError **error)
{
  g_autoptr (RcStatementLease) statement = NULL;

  g_return_val_if_fail (RC_IS_STORE (self), NULL);

  /* Per webhook, a call's events go in sequence order: only the lowest pending one is due. */
  statement = rc_store_prepare_cached (
      self,
      "SELECT " DELIVERY_COLUMNS " FROM deliveries d JOIN webhooks w ON w.id = d.webhook "
      "WHERE d.status = 'pending' AND d.next_attempt_at <= ?1 AND w.enabled = 1 "
      "AND (d.call_id IS NULL OR NOT EXISTS (SELECT 1 FROM deliveries p WHERE p.status = "
      "'pending' AND p.webhook = d.webhook AND p.call_id = d.call_id AND p.sequence < d.sequence)) "
      "ORDER BY d.next_attempt_at, d.id LIMIT ?2",
      "listing due deliveries", error);
  if (statement == NULL)
    return NULL;
  sqlite3_bind_int64 (statement, 1, now);
  sqlite3_bind_int64 (statement, 2, limit);
  return collect (self, statement, (RowReader)delivery_from_row, (GDestroyNotify)rc_delivery_free,
                  "listing due deliveries", error);
}

RcDelivery *
rc_store_get_next_call_delivery (
    RcStore *self, gint64 webhook_row, const char *call_id, guint after_sequence, GError **error)
{
  g_autoptr (RcStatementLease) statement = NULL;
  g_autoptr (GPtrArray) rows = NULL;

  g_return_val_if_fail (RC_IS_STORE (self), NULL);
  g_return_val_if_fail (call_id != NULL, NULL);

  /* On the partial index deliveries_next (webhook, call_id, sequence). */
  statement = rc_store_prepare_cached (
      self,
      "SELECT " DELIVERY_COLUMNS " FROM deliveries d JOIN webhooks w ON w.id = d.webhook "
      "WHERE d.webhook = ?1 AND d.call_id = ?2 AND d.status = 'pending' AND d.sequence > ?3 "
      "ORDER BY d.sequence LIMIT 1",
      "finding a call's next delivery", error);
  if (statement == NULL)
    return NULL;
  sqlite3_bind_int64 (statement, 1, webhook_row);
  rc_store_bind_text (statement, 2, call_id);
  sqlite3_bind_int64 (statement, 3, after_sequence);
  rows = collect (self, statement, (RowReader)delivery_from_row, (GDestroyNotify)rc_delivery_free,
                  "finding a call's next delivery", error);
  if (rows == NULL || rows->len == 0)
    return NULL;
  return g_ptr_array_steal_index (rows, 0);
}

gint64
rc_store_next_delivery_time (RcStore *self, gint64 after, GError **error)
{
  g_autoptr (RcStatementLease) statement = NULL;
  int rc;

  g_return_val_if_fail (RC_IS_STORE (self), 0);

  statement
      = rc_store_prepare_cached (self,
                                 "SELECT min (d.next_attempt_at) FROM deliveries d JOIN webhooks w "
                                 "ON w.id = d.webhook WHERE d.status = 'pending' AND w.enabled = 1 "
                                 "AND d.next_attempt_at > ?1",
                                 "finding the next delivery", error);
  if (statement == NULL)
    return 0;
  sqlite3_bind_int64 (statement, 1, after);
  rc = sqlite3_step (statement);
  if (rc != SQLITE_ROW) {
    rc_store_set_sqlite_error (self, error, "finding the next delivery");
    return 0;
  }
  return sqlite3_column_int64 (statement, 0);
}

gboolean
rc_store_record_attempt (RcStore *self,
                         const RcDelivery *delivery,
                         const RcAttempt *attempt,
                         GError **error)
{
  g_autoptr (RcStatementLease) insert = NULL;
  g_autoptr (RcStatementLease) update = NULL;

  g_return_val_if_fail (RC_IS_STORE (self), FALSE);

  insert = rc_store_prepare_cached (
      self,
      "INSERT INTO attempts (delivery, attempted_at, http_status, error, "
      "duration_us) VALUES (?1, ?2, ?3, ?4, ?5)",
      "logging an attempt", error);
  update = insert ? rc_store_prepare_cached (self,
                                             "UPDATE deliveries SET status = ?2, attempts = ?3, "
                                             "next_attempt_at = ?4, last_http_status = ?5, "
                                             "last_error = ?6, updated_at = ?7 WHERE id = ?1",
                                             "updating a delivery", error)
                  : NULL;
  if (update == NULL)
    return FALSE;
  sqlite3_bind_int64 (insert, 1, delivery->id);
  sqlite3_bind_int64 (insert, 2, attempt->attempted_at);
  if (attempt->http_status != 0)
    sqlite3_bind_int (insert, 3, (int)attempt->http_status);
  rc_store_bind_text (insert, 4, attempt->error);
  sqlite3_bind_int64 (insert, 5, attempt->duration_us);
  sqlite3_bind_int64 (update, 1, delivery->id);
  rc_store_bind_text (update, 2, rc_delivery_status_to_string (delivery->status));
  sqlite3_bind_int64 (update, 3, delivery->attempts);
  sqlite3_bind_int64 (update, 4, delivery->next_attempt_at);
  if (delivery->last_http_status != 0)
    sqlite3_bind_int (update, 5, (int)delivery->last_http_status);
  rc_store_bind_text (update, 6, delivery->last_error);
  sqlite3_bind_int64 (update, 7, delivery->updated_at);
  /* The delivery may have been deleted with its webhook meanwhile: then nothing is written. */
  return rc_store_step_done (self, update, "updating a delivery", error)
         && (sqlite3_changes (rc_store_get_db (self)) == 0
             || rc_store_step_done (self, insert, "logging an attempt", error));
}

RcDelivery *
rc_store_get_delivery (RcStore *self,
                       const char *webhook_id,
                       const char *delivery_id,
                       GError **error)
{
  g_autoptr (sqlite3_stmt) statement = NULL;

  g_return_val_if_fail (RC_IS_STORE (self), NULL);

  statement = rc_store_prepare (self,
                                "SELECT " DELIVERY_COLUMNS " FROM deliveries d JOIN webhooks w ON "
                                "w.id = d.webhook WHERE w.webhook_id = ?1 AND d.delivery_id = ?2",
                                "reading a delivery", error);
  if (statement == NULL)
    return NULL;
  rc_store_bind_text (statement, 1, webhook_id);
  rc_store_bind_text (statement, 2, delivery_id);
  return collect_one (self, statement, (RowReader)delivery_from_row,
                      (GDestroyNotify)rc_delivery_free, "delivery", error);
}

GPtrArray *
rc_store_list_deliveries (RcStore *self,
                          const char *webhook_id,
                          gboolean has_status,
                          RcDeliveryStatus status,
                          guint page,
                          guint per_page,
                          guint *out_total,
                          GError **error)
{
  g_autoptr (sqlite3_stmt) count = NULL;
  g_autoptr (sqlite3_stmt) statement = NULL;
  const char *where = "FROM deliveries d JOIN webhooks w ON w.id = d.webhook WHERE "
                      "w.webhook_id = ?1 AND (?2 IS NULL OR d.status = ?2)";
  g_autofree char *count_sql = g_strconcat ("SELECT count (*) ", where, NULL);
  g_autofree char *list_sql = g_strconcat ("SELECT " DELIVERY_COLUMNS " ", where,
                                           " ORDER BY d.id DESC LIMIT ?3 OFFSET ?4", NULL);
  const char *status_text = has_status ? rc_delivery_status_to_string (status) : NULL;

  g_return_val_if_fail (RC_IS_STORE (self), NULL);
  g_return_val_if_fail (page >= 1 && per_page >= 1, NULL);

  count = rc_store_prepare (self, count_sql, "counting deliveries", error);
  if (count == NULL)
    return NULL;
  rc_store_bind_text (count, 1, webhook_id);
  rc_store_bind_text (count, 2, status_text);
  if (sqlite3_step (count) != SQLITE_ROW) {
    rc_store_set_sqlite_error (self, error, "counting deliveries");
    return NULL;
  }
  *out_total = (guint)sqlite3_column_int64 (count, 0);

  statement = rc_store_prepare (self, list_sql, "listing deliveries", error);
  if (statement == NULL)
    return NULL;
  rc_store_bind_text (statement, 1, webhook_id);
  rc_store_bind_text (statement, 2, status_text);
  sqlite3_bind_int64 (statement, 3, per_page);
  sqlite3_bind_int64 (statement, 4, (gint64)(page - 1) * per_page);
  return collect (self, statement, (RowReader)delivery_from_row, (GDestroyNotify)rc_delivery_free,
                  "listing deliveries", error);
}

static RcAttempt *
attempt_from_row (sqlite3_stmt *statement)
{
  RcAttempt *attempt = g_new0 (RcAttempt, 1);

  attempt->attempted_at = sqlite3_column_int64 (statement, 0);
  attempt->http_status = (guint)sqlite3_column_int64 (statement, 1);
  attempt->error = rc_store_column_dup_text (statement, 2);
  attempt->duration_us = sqlite3_column_int64 (statement, 3);
  return attempt;
}

GPtrArray *
rc_store_list_attempts (RcStore *self, gint64 delivery_row, GError **error)
{
  g_autoptr (sqlite3_stmt) statement = NULL;

  g_return_val_if_fail (RC_IS_STORE (self), NULL);

  statement = rc_store_prepare (self,
                                "SELECT attempted_at, http_status, error, duration_us FROM "
                                "attempts WHERE delivery = ?1 ORDER BY id",
                                "listing attempts", error);
  if (statement == NULL)
    return NULL;
  sqlite3_bind_int64 (statement, 1, delivery_row);
  return collect (self, statement, (RowReader)attempt_from_row, (GDestroyNotify)rc_attempt_free,
                  "listing attempts", error);
}

RcDelivery *
rc_store_redeliver (
    RcStore *self, const char *webhook_id, const char *delivery_id, gint64 now, GError **error)
{
  g_autoptr (RcDelivery) delivery = rc_store_get_delivery (self, webhook_id, delivery_id, error);
  g_autoptr (sqlite3_stmt) statement = NULL;

  if (delivery == NULL)
    return NULL;
  statement = rc_store_prepare (self,
                                "UPDATE deliveries SET status = 'pending', attempts = 0, "
                                "next_attempt_at = ?2, updated_at = ?2 WHERE id = ?1",
                                "redelivering", error);
  if (statement == NULL)
    return NULL;
  sqlite3_bind_int64 (statement, 1, delivery->id);
  sqlite3_bind_int64 (statement, 2, now);
  if (!rc_store_step_done (self, statement, "redelivering", error))
    return NULL;
  return rc_store_get_delivery (self, webhook_id, delivery_id, error);
}

RcDelivery *
rc_store_add_test_delivery (RcStore *self, const char *webhook_id, gint64 now, GError **error)
{
  g_autoptr (RcWebhook) webhook = rc_store_get_webhook (self, webhook_id, error);
  g_autoptr (sqlite3_stmt) statement = NULL;
  g_autofree char *delivery_id = NULL;
  g_autofree char *event_id = NULL;

  if (webhook == NULL)
    return NULL;
  event_id = rc_store_new_id ("evt_", error);
  if (event_id == NULL)
    return NULL;
  statement = rc_store_prepare (self,
                                "INSERT INTO deliveries (delivery_id, webhook, event_id, "
                                "event_type, next_attempt_at, created_at, updated_at) VALUES "
                                "(" DELIVERY_ID_SQL ", ?2, ?3, 'webhook.test', ?4, ?4, ?4) "
                                "RETURNING delivery_id",
                                "queueing a test delivery", error);
  if (statement == NULL)
    return NULL;
  sqlite3_bind_int64 (statement, 2, webhook->id);
  rc_store_bind_text (statement, 3, event_id);
  sqlite3_bind_int64 (statement, 4, now);
  if (sqlite3_step (statement) != SQLITE_ROW) {
    rc_store_set_sqlite_error (self, error, "queueing a test delivery");
    return NULL;
  }
  delivery_id = rc_store_column_dup_text (statement, 0);
  sqlite3_reset (statement);
  return rc_store_get_delivery (self, webhook_id, delivery_id, error);
}

gboolean
rc_store_count_deliveries (RcStore *self, guint64 out_counts[3], GError **error)
{
  g_autoptr (sqlite3_stmt) statement = NULL;
  int rc;

  g_return_val_if_fail (RC_IS_STORE (self), FALSE);

  memset (out_counts, 0, 3 * sizeof out_counts[0]);
  statement = rc_store_prepare (self, "SELECT status, count (*) FROM deliveries GROUP BY status",
                                "counting deliveries", error);
  if (statement == NULL)
    return FALSE;
  while ((rc = sqlite3_step (statement)) == SQLITE_ROW) {
    RcDeliveryStatus status;

    if (rc_delivery_status_from_string ((const char *)sqlite3_column_text (statement, 0), &status))
      out_counts[status] = (guint64)sqlite3_column_int64 (statement, 1);
  }
  if (rc != SQLITE_DONE) {
    rc_store_set_sqlite_error (self, error, "counting deliveries");
    return FALSE;
  }
  return TRUE;
}
