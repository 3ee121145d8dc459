/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "rc-relay"

#include "config.h"

#include "rc-relay.h"

#include "rc-error.h"
#include "rc-json.h"

#include <libsoup/soup.h>
#include <stdlib.h>
#include <string.h>

/**
 * RcRelay: the outbox → webhooks.
 *
 * Reads due deliveries from the store (only committed rows exist there) into a local queue,
 * sends each as one signed POST on one SoupSession, and records the outcome of every attempt.
 * Per endpoint a call's events go in sequence order: the store only returns the lowest pending
 * sequence of each (webhook, call), and when an attempt ends delivered (or failed for good) the
 * relay looks up that call's next delivery itself, so the next event never starts before the
 * previous one's outcome is known here. Other calls and endpoints go in parallel, at most
 * max-connections at once per endpoint. Each attempt has a total deadline that a receiver
 * dripping bytes cannot stretch, and reads at most RC_RELAY_MAX_RESPONSE bytes of the answer.
 *
 * Outcomes are written in batches: a success joins a pending list that is written in one
 * transaction (one fsync) at most RC_RELAY_FLUSH_DELAY_MS later or once RC_RELAY_FLUSH_BATCH
 * are waiting; any other outcome (a retry, a failure, 410) is written at once with what is
 * pending, so disabling and retry times are as before. This keeps webhooks at-least-once, not
 * exactly-once: a crash before a flush sends those deliveries again after the restart, with the
 * same webhook-id and the same bytes, in order (a call's event 1 and event 2 delivered but not
 * yet written both go again, 1 then 2). Receivers deduplicate on webhook-id. A failed flush
 * keeps the outcomes and is retried; no attempt starts meanwhile. Stopping writes what is
 * pending before it returns.
 *
 * Rows are scanned again only when the queue runs low, when something new was committed
 * (rc_relay_kick), when the next retry is due, and every RC_RELAY_IDLE_RECHECK seconds. The
 * webhook rows (with the decoded HMAC key and the parsed URL) are kept while the store's
 * webhook generation does not change, and re-read at every scan (reachcellctl writes from
 * another process). Nothing here blocks the main loop: store writes are small and local, the
 * network is asynchronous.
 */

#define RC_RELAY_MAX_IN_FLIGHT 64
#define RC_RELAY_MAX_RESPONSE (64 * 1024)
#define RC_RELAY_READ_CHUNK 8192
#define RC_RELAY_IDLE_RECHECK 30 /* seconds: also notices webhooks added by reachcellctl */
#define RC_RELAY_MAX_RETRY_AFTER (24 * 3600)
#define RC_RELAY_JITTER 0.1          /* ± 10 % on every retry delay */
#define RC_RELAY_QUEUE_SIZE 256      /* due deliveries read per scan */
#define RC_RELAY_QUEUE_LOW 64        /* scan again below this many queued, if there may be more */
#define RC_RELAY_FLUSH_DELAY_MS 5    /* a success is written at most this much later ... */
#define RC_RELAY_FLUSH_BATCH 64      /* ... or once this many outcomes wait */
#define RC_RELAY_FLUSH_RETRY_MS 1000 /* after a failed flush */

static const char *const result_names[] = {
  [RC_RELAY_RESULT_DELIVERED] = "delivered",
  [RC_RELAY_RESULT_RETRY] = "retry",
  [RC_RELAY_RESULT_FAILED] = "failed",
  [RC_RELAY_RESULT_GONE] = "gone",
};

const char *
rc_relay_result_to_string (RcRelayResult result)
{
  return result_names[result];
}

struct _RcRelay {
  GObject parent_instance;

  RcStore *store;
  const RcConfig *config; /* unowned */
  SoupSession *session;
  GCancellable *cancellable;
  GHashTable *in_flight;   /* delivery row id (gint64 *) → Attempt */
  GHashTable *per_webhook; /* webhook row id (gint64 *) → count of attempts in flight */
  GQueue *queue;           /* RcDelivery due, not started, oldest due first */
  GHashTable *queued;      /* delivery row id (gint64 *) of each one in queue */
  GPtrArray *outcomes;     /* Outcome not yet written, in the order they happened */
  GHashTable *unflushed;   /* delivery row id (gint64 *) of each one in outcomes */
  GHashTable *endpoints;   /* webhook row id (gint64 *) → Endpoint */
  guint endpoints_generation;
  gboolean exhausted;     /* the last scan read every due row: more only through kick or timer */
  gboolean flush_failing; /* the last flush failed: start nothing until one succeeds */
  guint flush_id;
  guint wake_id;
  gint64 wake_at;
  gboolean stopped;
  RcRelayStats stats;
};

G_DEFINE_TYPE (RcRelay, rc_relay, G_TYPE_OBJECT)

typedef struct {
  RcRelay *self; /* a reference: a cancelled attempt still completes on the loop */
  RcDelivery *delivery;
  SoupMessage *msg;
  GInputStream *stream;
  GCancellable *cancellable;
  guint deadline_id;
  gboolean timed_out;
  gint64 started_at;   /* monotonic */
  gint64 started_wall; /* real time */
  gsize received;
} Attempt;

/* An attempt's outcome waiting to be written. */
typedef struct {
  RcDelivery *delivery; /* as it is to be written */
  RcAttempt log;        /* log.error owned */
  RcRelayResult result;
  gint64 at; /* real time */
} Outcome;

/* A webhook row as the relay uses it. */
typedef struct {
  RcWebhook *webhook;
  GUri *uri;   /* NULL: unusable */
  guint8 *key; /* the decoded HMAC key; NULL: the secret is unusable */
  gsize key_length;
} Endpoint;

static void schedule_scan (RcRelay *self, gint64 at);
static void pump (RcRelay *self);

static void
attempt_free (Attempt *attempt)
{
  g_clear_handle_id (&attempt->deadline_id, g_source_remove);
  g_clear_object (&attempt->stream);
  g_clear_object (&attempt->msg);
  g_clear_object (&attempt->cancellable);
  g_clear_pointer (&attempt->delivery, rc_delivery_free);
  g_clear_object (&attempt->self);
  g_free (attempt);
}

static void
outcome_free (Outcome *outcome)
{
  rc_delivery_free (outcome->delivery);
  g_free (outcome->log.error);
  g_free (outcome);
}

static void
endpoint_free (Endpoint *endpoint)
{
  rc_webhook_free (endpoint->webhook);
  g_clear_pointer (&endpoint->uri, g_uri_unref);
  if (endpoint->key != NULL)
    memset (endpoint->key, 0, endpoint->key_length);
  g_free (endpoint->key);
  g_free (endpoint);
}

static gint64 *
row_key (gint64 row)
{
  gint64 *key = g_new (gint64, 1);

  *key = row;
  return key;
}

/* --- signing ------------------------------------------------------------------------------- */

/* The HMAC key of a "whsec_…" secret; NULL when it is malformed. */
static guint8 *
decode_secret (const char *secret, gsize *out_length)
{
  guint8 *key;

  *out_length = 0;
  if (secret == NULL || !g_str_has_prefix (secret, "whsec_"))
    return NULL;
  key = g_base64_decode (secret + strlen ("whsec_"), out_length);
  if (key != NULL && *out_length == 0)
    g_clear_pointer (&key, g_free);
  return key;
}

static char *
sign_with_key (
    const guint8 *key, gsize key_length, const char *id, gint64 timestamp, const char *body)
{
  g_autoptr (GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA256, key, key_length);
  g_autofree char *prefix = g_strdup_printf ("%s.%" G_GINT64_FORMAT ".", id, timestamp);
  g_autofree char *encoded = NULL;
  guint8 digest[32];
  gsize digest_length = sizeof digest;

  g_hmac_update (hmac, (const guchar *)prefix, -1);
  g_hmac_update (hmac, (const guchar *)body, -1);
  g_hmac_get_digest (hmac, digest, &digest_length);
  encoded = g_base64_encode (digest, digest_length);
  return g_strconcat ("v1,", encoded, NULL);
}

char *
rc_relay_sign (const char *secret, const char *id, gint64 timestamp, const char *body)
{
  gsize key_length = 0;
  g_autofree guint8 *key = decode_secret (secret, &key_length);

  if (key == NULL)
    return NULL;
  return sign_with_key (key, key_length, id, timestamp, body);
}

char *
rc_relay_build_payload (const RcEvent *event)
{
  g_autofree char *created_at = rc_json_format_time (event->created_at);

  /* data is stored JSON text: embedded as is, so every attempt sends the same bytes. */
  if (event->call_id == NULL)
    return g_strdup_printf ("{\"id\":\"%s\",\"type\":\"%s\",\"created_at\":\"%s\",\"data\":%s}",
                            event->event_id, event->type, created_at, event->data);
  return g_strdup_printf ("{\"id\":\"%s\",\"type\":\"%s\",\"created_at\":\"%s\",\"sequence\":%u,"
                          "\"data\":%s}",
                          event->event_id, event->type, created_at, event->sequence, event->data);
}

/* --- outcome ------------------------------------------------------------------------------- */

static guint
webhook_count (RcRelay *self, gint64 webhook_row)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (self->per_webhook, &webhook_row));
}

static void
webhook_count_add (RcRelay *self, gint64 webhook_row, int delta)
{
  guint count = webhook_count (self, webhook_row) + delta;

  if (count == 0) {
    g_hash_table_remove (self->per_webhook, &webhook_row);
  } else {
    gint64 *key = g_new (gint64, 1);

    *key = webhook_row;
    g_hash_table_replace (self->per_webhook, key, GUINT_TO_POINTER (count));
  }
}

/* Retry-After in seconds or as an HTTP date; 0 when absent or unusable. */
static gint64
retry_after_seconds (SoupMessage *msg)
{
  const char *value
      = soup_message_headers_get_one (soup_message_get_response_headers (msg), "Retry-After");
  guint64 seconds;

  if (value == NULL)
    return 0;
  if (g_ascii_string_to_unsigned (value, 10, 0, G_MAXINT32, &seconds, NULL))
    return (gint64)seconds;
  {
    g_autoptr (GDateTime) date = soup_date_time_new_from_http_string (value);

    if (date != NULL)
      return MAX (0, g_date_time_to_unix (date) - g_get_real_time () / G_USEC_PER_SEC);
  }
  return 0;
}

static gint64
jittered (guint seconds)
{
  double factor = 1.0 + g_random_double_range (-RC_RELAY_JITTER, RC_RELAY_JITTER);

  return (gint64)(seconds * factor * G_USEC_PER_SEC);
}

/* The webhook of @delivery as the store has it now: the copy kept while no webhook was written
 * through the store (a PATCH, a DELETE, the relay's own health updates), else read again. NULL
 * with NOT_FOUND once the webhook is deleted. */
static Endpoint *
lookup_endpoint (RcRelay *self, const RcDelivery *delivery, GError **error)
{
  guint generation = rc_store_get_webhooks_generation (self->store);
  Endpoint *endpoint;
  RcWebhook *webhook;

  if (generation != self->endpoints_generation) {
    g_hash_table_remove_all (self->endpoints);
    self->endpoints_generation = generation;
  }
  endpoint = g_hash_table_lookup (self->endpoints, &delivery->webhook_row);
  if (endpoint != NULL)
    return endpoint;
  webhook = rc_store_get_webhook (self->store, delivery->webhook_id, error);
  if (webhook == NULL)
    return NULL;
  endpoint = g_new0 (Endpoint, 1);
  endpoint->webhook = webhook;
  endpoint->uri = g_uri_parse (webhook->url, SOUP_HTTP_URI_FLAGS, NULL);
  endpoint->key = decode_secret (webhook->secret, &endpoint->key_length);
  g_hash_table_insert (self->endpoints, row_key (webhook->id), endpoint);
  return endpoint;
}

/* The endpoint's health after an attempt, on the webhook as it is now in the store (a PATCH or a
 * DELETE may have happened while the attempt was in flight): a success ends a run of failures,
 * 410 disables it, and a run of failures longer than [webhook] disable-after disables it. */
static gboolean
record_endpoint_health (RcRelay *self, const Outcome *outcome, GError **error)
{
  g_autoptr (GError) local = NULL;
  Endpoint *endpoint = lookup_endpoint (self, outcome->delivery, &local);
  gint64 disable_after = (gint64)self->config->disable_after * G_USEC_PER_SEC;
  RcRelayResult result = outcome->result;
  gint64 now = outcome->at;
  gboolean changed = FALSE;
  RcWebhook *webhook;

  if (endpoint == NULL) {
    if (g_error_matches (local, RC_ERROR, RC_ERROR_NOT_FOUND))
      return TRUE; /* deleted meanwhile: its deliveries went with it */
    g_propagate_error (error, g_steal_pointer (&local));
    return FALSE;
  }
  webhook = endpoint->webhook;
  if (result == RC_RELAY_RESULT_DELIVERED) {
    changed = webhook->failing_since != 0;
    webhook->failing_since = 0;
  } else if (result == RC_RELAY_RESULT_GONE && webhook->enabled) {
    webhook->enabled = FALSE;
    g_free (webhook->disabled_reason);
    webhook->disabled_reason = g_strdup ("the endpoint answered 410 Gone");
    changed = TRUE;
  } else if (result != RC_RELAY_RESULT_GONE) {
    if (webhook->failing_since == 0) {
      webhook->failing_since = now;
      changed = TRUE;
    } else if (webhook->enabled && now - webhook->failing_since >= disable_after) {
      g_autofree char *since = rc_json_format_time (webhook->failing_since);

      webhook->enabled = FALSE;
      g_free (webhook->disabled_reason);
      webhook->disabled_reason = g_strdup_printf ("every attempt failed since %s", since);
      changed = TRUE;
    }
  }
  if (!changed)
    return TRUE;
  if (!webhook->enabled)
    g_warning ("webhook %s disabled: %s", webhook->webhook_id, webhook->disabled_reason);
  webhook->updated_at = now;
  if (!rc_store_update_webhook (self->store, webhook, error))
    return FALSE; /* the generation moved on: the copy is read again */
  /* The copy is what the store has now (if the transaction commits; else all are dropped). */
  self->endpoints_generation = rc_store_get_webhooks_generation (self->store);
  return TRUE;
}

static gboolean on_flush (gpointer user_data);

/* Writes every pending outcome in one transaction. On failure they are kept, no attempt starts,
 * and the flush is tried again later (not once stopped: then they are sent again after the
 * restart). */
static gboolean
flush_outcomes (RcRelay *self)
{
  g_autoptr (GError) error = NULL;
  gint64 next_retry = 0;
  gboolean ok;

  g_clear_handle_id (&self->flush_id, g_source_remove);
  if (self->outcomes->len == 0)
    return TRUE;
  ok = rc_store_begin (self->store, &error);
  for (guint i = 0; ok && i < self->outcomes->len; i++) {
    Outcome *outcome = g_ptr_array_index (self->outcomes, i);

    ok = rc_store_record_attempt (self->store, outcome->delivery, &outcome->log, &error)
         && record_endpoint_health (self, outcome, &error);
    if (outcome->result == RC_RELAY_RESULT_RETRY
        && (next_retry == 0 || outcome->delivery->next_attempt_at < next_retry))
      next_retry = outcome->delivery->next_attempt_at;
  }
  ok = ok && rc_store_commit (self->store, &error);
  if (!ok) {
    rc_store_rollback (self->store);
    /* Health changes made to the copies may not be in the store. */
    g_hash_table_remove_all (self->endpoints);
    if (self->stopped) {
      g_warning ("cannot record %u attempts: they stay pending and are sent again: %s",
                 self->outcomes->len, error ? error->message : "unknown error");
    } else {
      if (!self->flush_failing)
        g_warning ("cannot record %u attempts, trying again: %s", self->outcomes->len,
                   error ? error->message : "unknown error");
      self->flush_failing = TRUE;
      self->flush_id = g_timeout_add (RC_RELAY_FLUSH_RETRY_MS, on_flush, self);
    }
    return FALSE;
  }
  if (self->flush_failing) {
    g_message ("attempts recorded again");
    self->flush_failing = FALSE;
    schedule_scan (self, 0); /* what was asked for meanwhile */
  }
  g_ptr_array_set_size (self->outcomes, 0);
  g_hash_table_remove_all (self->unflushed);
  if (next_retry != 0)
    schedule_scan (self, g_get_monotonic_time () + MAX (0, next_retry - g_get_real_time ()));
  return TRUE;
}

static gboolean
on_flush (gpointer user_data)
{
  RcRelay *self = RC_RELAY (user_data);

  self->flush_id = 0;
  if (flush_outcomes (self))
    pump (self);
  return G_SOURCE_REMOVE;
}

/* A delivery that is in flight, queued, or has an outcome not yet written. */
static gboolean
delivery_known (RcRelay *self, gint64 id)
{
  return g_hash_table_contains (self->in_flight, &id) || g_hash_table_contains (self->queued, &id)
         || g_hash_table_contains (self->unflushed, &id);
}

static void
queue_delivery (RcRelay *self, RcDelivery *delivery /* transfer full */)
{
  g_hash_table_add (self->queued, row_key (delivery->id));
  g_queue_push_tail (self->queue, delivery);
}

/* @delivery of a call is delivered or failed for good (written or not): its call's next event
 * for that webhook may go now. Only this path and a scan queue a call's deliveries, so the next
 * never starts before the previous one's outcome is known. */
static void
queue_successor (RcRelay *self, const RcDelivery *delivery, gint64 now)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RcDelivery) next = NULL;

  if (delivery->call_id == NULL || self->stopped)
    return;
  next = rc_store_get_next_call_delivery (self->store, delivery->webhook_row, delivery->call_id,
                                          delivery->sequence, &error);
  if (next == NULL) {
    if (error != NULL) {
      g_warning ("delivery %s: %s", delivery->delivery_id, error->message);
      self->exhausted = FALSE; /* a scan finds it */
      schedule_scan (self, 0);
    }
    return;
  }
  if (delivery_known (self, next->id))
    return;
  if (next->next_attempt_at > now)
    schedule_scan (self, g_get_monotonic_time () + (next->next_attempt_at - now));
  else
    queue_delivery (self, g_steal_pointer (&next));
}

/* Records one attempt: @status is the HTTP status (0 if none), @error_class why it failed. */
static void
finish_attempt (Attempt *attempt, guint status, const char *error_class)
{
  RcRelay *self = g_object_ref (attempt->self);
  RcDelivery *delivery = g_steal_pointer (&attempt->delivery);
  GArray *schedule = self->config->retry_schedule;
  gint64 now = g_get_real_time ();
  gint64 duration = g_get_monotonic_time () - attempt->started_at;
  Outcome *outcome = g_new0 (Outcome, 1);

  delivery->attempts++;
  delivery->updated_at = now;
  delivery->last_http_status = status;
  g_free (delivery->last_error);
  delivery->last_error = g_strdup (error_class);

  if (status >= 200 && status < 300) {
    outcome->result = RC_RELAY_RESULT_DELIVERED;
    delivery->status = RC_DELIVERY_DELIVERED;
  } else if (status == SOUP_STATUS_GONE) {
    outcome->result = RC_RELAY_RESULT_GONE;
    delivery->status = RC_DELIVERY_FAILED;
  } else {
    gint64 delay = -1;

    if ((status == 429 || status == 503) && retry_after_seconds (attempt->msg) > 0)
      delay = MIN (retry_after_seconds (attempt->msg), RC_RELAY_MAX_RETRY_AFTER) * G_USEC_PER_SEC;
    if (delivery->attempts >= schedule->len)
      delay = -1;
    else if (delay < 0)
      delay = jittered (g_array_index (schedule, guint, delivery->attempts));
    outcome->result = delay >= 0 ? RC_RELAY_RESULT_RETRY : RC_RELAY_RESULT_FAILED;
    delivery->status = delay >= 0 ? RC_DELIVERY_PENDING : RC_DELIVERY_FAILED;
    delivery->next_attempt_at = delay >= 0 ? now + delay : delivery->next_attempt_at;
  }
  outcome->delivery = delivery;
  outcome->log.attempted_at = attempt->started_wall;
  outcome->log.http_status = status;
  outcome->log.error = g_strdup (error_class);
  outcome->log.duration_us = duration;
  outcome->at = now;

  g_debug ("delivery %s (%s) to webhook %s: attempt %u: %u %s → %s", delivery->delivery_id,
           delivery->event_type, delivery->webhook_id, delivery->attempts, status,
           error_class ? error_class : "", rc_relay_result_to_string (outcome->result));
  self->stats.attempts_by_result[outcome->result]++;
  rc_histogram_observe (&self->stats.latency, duration / (double)G_USEC_PER_SEC);
  webhook_count_add (self, delivery->webhook_row, -1);
  g_hash_table_remove (self->in_flight, &delivery->id); /* frees attempt */
  self->stats.in_flight = g_hash_table_size (self->in_flight);

  /* Until written the delivery is still pending in the store: a crash sends it again. */
  g_ptr_array_add (self->outcomes, outcome);
  g_hash_table_add (self->unflushed, row_key (delivery->id));
  if (outcome->result == RC_RELAY_RESULT_DELIVERED || outcome->result == RC_RELAY_RESULT_FAILED)
    queue_successor (self, delivery, now);
  /* Only successes wait: a retry time, a failure run or a disabled endpoint is written at once. */
  if (outcome->result != RC_RELAY_RESULT_DELIVERED || self->outcomes->len >= RC_RELAY_FLUSH_BATCH
      || self->stopped)
    flush_outcomes (self);
  else if (self->flush_id == 0)
    self->flush_id = g_timeout_add (RC_RELAY_FLUSH_DELAY_MS, on_flush, self);
  pump (self);
  g_object_unref (self);
}

static const char *
classify_error (Attempt *attempt, const GError *error)
{
  if (attempt->timed_out)
    return "timeout";
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    return "connection_refused";
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return "timeout";
  if (error->domain == G_RESOLVER_ERROR)
    return "dns";
  if (error->domain == G_TLS_ERROR)
    return "tls";
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT))
    return "connection_reset";
  return "network";
}

static gboolean
attempt_abandoned (Attempt *attempt, const GError *error)
{
  /* Cancelled by shutdown (not by our deadline): leave the delivery pending. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && !attempt->timed_out) {
    RcRelay *self = g_object_ref (attempt->self);

    webhook_count_add (self, attempt->delivery->webhook_row, -1);
    g_hash_table_remove (self->in_flight, &attempt->delivery->id);
    g_object_unref (self);
    return TRUE;
  }
  return FALSE;
}

static void
finish_with_response (Attempt *attempt)
{
  guint status = soup_message_get_status (attempt->msg);

  if (SOUP_STATUS_IS_REDIRECTION (status))
    finish_attempt (attempt, status, "redirect");
  else if (status >= 200 && status < 300)
    finish_attempt (attempt, status, NULL);
  else
    finish_attempt (attempt, status, "http_status");
}

static void
on_body_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Attempt *attempt = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes
      = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);

  if (bytes == NULL) {
    /* The status line and headers arrived: they decide; a broken body does not matter. */
    if (!attempt_abandoned (attempt, error))
      finish_with_response (attempt);
    return;
  }
  attempt->received += g_bytes_get_size (bytes);
  /* The answer's body is not needed: read a little so the connection can be reused, and stop
   * there (closing the stream drops an overlong or endless answer). */
  if (g_bytes_get_size (bytes) == 0 || attempt->received >= RC_RELAY_MAX_RESPONSE) {
    finish_with_response (attempt);
    return;
  }
  g_input_stream_read_bytes_async (attempt->stream, RC_RELAY_READ_CHUNK, G_PRIORITY_DEFAULT,
                                   attempt->cancellable, on_body_read, attempt);
}

static void
on_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Attempt *attempt = user_data;
  g_autoptr (GError) error = NULL;

  attempt->stream = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (attempt->stream == NULL) {
    if (!attempt_abandoned (attempt, error))
      finish_attempt (attempt, 0, classify_error (attempt, error));
    return;
  }
  g_input_stream_read_bytes_async (attempt->stream, RC_RELAY_READ_CHUNK, G_PRIORITY_DEFAULT,
                                   attempt->cancellable, on_body_read, attempt);
}

static gboolean
on_deadline (gpointer user_data)
{
  Attempt *attempt = user_data;

  attempt->deadline_id = 0;
  attempt->timed_out = TRUE;
  g_cancellable_cancel (attempt->cancellable);
  return G_SOURCE_REMOVE;
}

static void
on_relay_cancelled (GCancellable *relay_cancellable, gpointer user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

/* Fails a delivery that cannot be sent at all (its event is gone, or its webhook's URL or secret
 * is unusable). */
static void
drop_delivery (RcRelay *self, RcDelivery *delivery, const char *why)
{
  g_autoptr (GError) error = NULL;
  RcAttempt log = { g_get_real_time (), 0, (char *)why, 0 };

  delivery->status = RC_DELIVERY_FAILED;
  delivery->attempts++;
  delivery->updated_at = log.attempted_at;
  g_free (delivery->last_error);
  delivery->last_error = g_strdup (why);
  g_warning ("delivery %s: %s", delivery->delivery_id, why);
  if (!rc_store_record_attempt (self->store, delivery, &log, &error))
    g_warning ("delivery %s: %s", delivery->delivery_id, error->message);
  else
    queue_successor (self, delivery, log.attempted_at);
}

static void
start_attempt (RcRelay *self, RcDelivery *delivery /* transfer full */)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RcEvent) event = NULL;
  g_autoptr (GBytes) body = NULL;
  g_autofree char *payload = NULL;
  g_autofree char *signature = NULL;
  g_autofree char *timestamp_text = NULL;
  SoupMessageHeaders *headers;
  Endpoint *endpoint;
  Attempt *attempt;
  gint64 timestamp = g_get_real_time () / G_USEC_PER_SEC;

  endpoint = lookup_endpoint (self, delivery, &error);
  if (endpoint == NULL || !endpoint->webhook->enabled) {
    /* Deleted (its deliveries went with it) or disabled meanwhile (they stay pending until it is
     * enabled again); on a store error it is read at the next scan. */
    if (error != NULL && !g_error_matches (error, RC_ERROR, RC_ERROR_NOT_FOUND))
      g_warning ("delivery %s: %s", delivery->delivery_id, error->message);
    rc_delivery_free (delivery);
    return;
  }
  event = rc_store_get_delivery_event (self->store, delivery, &error);
  if (event == NULL || endpoint->uri == NULL || endpoint->key == NULL) {
    if (error == NULL || !g_error_matches (error, RC_ERROR, RC_ERROR_STORE))
      drop_delivery (self, delivery,
                     event == NULL ? "the event no longer exists"
                                   : "the webhook URL or secret is unusable");
    else
      g_warning ("delivery %s: %s", delivery->delivery_id, error->message);
    rc_delivery_free (delivery);
    return;
  }
  payload = rc_relay_build_payload (event);
  signature
      = sign_with_key (endpoint->key, endpoint->key_length, event->event_id, timestamp, payload);

  attempt = g_new0 (Attempt, 1);
  attempt->self = g_object_ref (self);
  attempt->delivery = delivery;
  attempt->cancellable = g_cancellable_new ();
  g_cancellable_connect (self->cancellable, G_CALLBACK (on_relay_cancelled),
                         g_object_ref (attempt->cancellable), g_object_unref);
  attempt->msg = soup_message_new_from_uri (SOUP_METHOD_POST, endpoint->uri);
  soup_message_add_flags (attempt->msg, SOUP_MESSAGE_NO_REDIRECT);
  headers = soup_message_get_request_headers (attempt->msg);
  timestamp_text = g_strdup_printf ("%" G_GINT64_FORMAT, timestamp);
  soup_message_headers_replace (headers, "webhook-id", event->event_id);
  soup_message_headers_replace (headers, "webhook-timestamp", timestamp_text);
  soup_message_headers_replace (headers, "webhook-signature", signature);
  {
    gsize length = strlen (payload);

    body = g_bytes_new_take (g_steal_pointer (&payload), length);
  }
  soup_message_set_request_body_from_bytes (attempt->msg, "application/json", body);
  attempt->started_at = g_get_monotonic_time ();
  attempt->started_wall = g_get_real_time ();

  g_hash_table_insert (self->in_flight, row_key (delivery->id), attempt);
  self->stats.in_flight = g_hash_table_size (self->in_flight);
  webhook_count_add (self, delivery->webhook_row, +1);
  /* Milliseconds: g_timeout_add_seconds () may fire up to a second early. */
  attempt->deadline_id = g_timeout_add (self->config->attempt_timeout * 1000, on_deadline, attempt);
  soup_session_send_async (self->session, attempt->msg, G_PRIORITY_DEFAULT, attempt->cancellable,
                           on_sent, attempt);
}

/* --- scheduling ---------------------------------------------------------------------------- */

static gboolean on_wake (gpointer user_data);

static void
schedule_scan (RcRelay *self, gint64 at)
{
  gint64 now = g_get_monotonic_time ();
  gint64 when = MAX (at, now);

  if (self->stopped)
    return;
  if (self->wake_id != 0 && self->wake_at <= when)
    return;
  g_clear_handle_id (&self->wake_id, g_source_remove);
  self->wake_at = when;
  /* Default priority: an event's delivery should not wait behind every D-Bus and HTTP event. */
  self->wake_id
      = g_timeout_add_full (G_PRIORITY_DEFAULT, (guint)((when - now) / 1000), on_wake, self, NULL);
}

/* Starts queued deliveries while connections are free, oldest due first. */
static void
pump (RcRelay *self)
{
  GList *link;

  if (self->stopped || self->flush_failing)
    return;
  link = self->queue->head;
  while (link != NULL && g_hash_table_size (self->in_flight) < RC_RELAY_MAX_IN_FLIGHT) {
    GList *next = link->next; /* starting one may only append to the queue */
    RcDelivery *delivery = link->data;

    if (webhook_count (self, delivery->webhook_row) < self->config->webhook_connections) {
      g_hash_table_remove (self->queued, &delivery->id);
      g_queue_delete_link (self->queue, link);
      /* Never two attempts of one delivery at once, nor one whose outcome is not written. */
      if (delivery_known (self, delivery->id))
        rc_delivery_free (delivery);
      else
        start_attempt (self, delivery);
    }
    link = next;
  }
  if (!self->exhausted && g_queue_get_length (self->queue) < RC_RELAY_QUEUE_LOW)
    schedule_scan (self, 0);
}

static void
scan (RcRelay *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) due = NULL;
  guint limit = RC_RELAY_QUEUE_SIZE + g_hash_table_size (self->in_flight);
  gint64 now;
  gint64 next;

  /* The store orders a call's events by what is pending there: it must know every outcome. A
   * failed flush is tried again by its timer, which scans once it succeeds. */
  if (!flush_outcomes (self))
    return;
  /* Webhooks may have been changed by another process (reachcellctl): read them again. */
  g_hash_table_remove_all (self->endpoints);
  now = g_get_real_time ();
  /* Rows in flight are still pending in the store: ask for enough to see past them. */
  due = rc_store_list_due_deliveries (self->store, now, limit, &error);
  if (due == NULL) {
    g_warning ("cannot read the outbox: %s", error->message);
    g_clear_error (&error);
    self->exhausted = TRUE; /* not again at once */
    schedule_scan (self, g_get_monotonic_time () + G_USEC_PER_SEC);
  } else {
    /* Fewer than asked for: every due row is here, more come only through a kick or a timer. */
    self->exhausted = due->len < limit;
    g_queue_clear_full (self->queue, (GDestroyNotify)rc_delivery_free);
    g_hash_table_remove_all (self->queued);
    for (guint i = 0; i < due->len; i++) {
      RcDelivery *delivery = g_ptr_array_index (due, i);

      if (!g_hash_table_contains (self->in_flight, &delivery->id))
        queue_delivery (self, g_ptr_array_steal_index (due, i--));
    }
  }

  /* Wake for the next retry that comes due; deliveries due now but not started (the endpoint
   * at its connection limit) start when an attempt in flight completes. */
  next = rc_store_next_delivery_time (self->store, now, &error);
  if (next > now)
    schedule_scan (self, g_get_monotonic_time () + (next - now));
  else
    schedule_scan (self, g_get_monotonic_time () + RC_RELAY_IDLE_RECHECK * G_USEC_PER_SEC);
  pump (self);
}

static gboolean
on_wake (gpointer user_data)
{
  RcRelay *self = RC_RELAY (user_data);

  self->wake_id = 0;
  scan (self);
  return G_SOURCE_REMOVE;
}

/* --- object -------------------------------------------------------------------------------- */

static void
rc_relay_dispose (GObject *object)
{
  RcRelay *self = RC_RELAY (object);

  rc_relay_stop (self);
  g_clear_pointer (&self->in_flight, g_hash_table_unref);
  g_clear_pointer (&self->per_webhook, g_hash_table_unref);
  if (self->queue != NULL) {
    g_queue_free_full (self->queue, (GDestroyNotify)rc_delivery_free);
    self->queue = NULL;
  }
  g_clear_pointer (&self->queued, g_hash_table_unref);
  g_clear_pointer (&self->outcomes, g_ptr_array_unref);
  g_clear_pointer (&self->unflushed, g_hash_table_unref);
  g_clear_pointer (&self->endpoints, g_hash_table_unref);
  g_clear_object (&self->session);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->store);

  G_OBJECT_CLASS (rc_relay_parent_class)->dispose (object);
}

static void
rc_relay_class_init (RcRelayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = rc_relay_dispose;
}

static void
rc_relay_init (RcRelay *self)
{
  self->cancellable = g_cancellable_new ();
  self->in_flight
      = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, (GDestroyNotify)attempt_free);
  self->per_webhook = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  self->queue = g_queue_new ();
  self->queued = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  self->outcomes = g_ptr_array_new_with_free_func ((GDestroyNotify)outcome_free);
  self->unflushed = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  self->endpoints
      = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, (GDestroyNotify)endpoint_free);
}

RcRelay *
rc_relay_new (RcStore *store, const RcConfig *config)
{
  RcRelay *self = g_object_new (RC_TYPE_RELAY, NULL);

  self->store = g_object_ref (store);
  self->config = config;
  self->endpoints_generation = rc_store_get_webhooks_generation (store);
  self->session = soup_session_new_with_options ("user-agent", "reachcelld/" PACKAGE_VERSION,
                                                 "timeout", config->attempt_timeout, "idle-timeout",
                                                 60, "max-conns", 256, "max-conns-per-host",
                                                 config->webhook_connections, NULL);
  schedule_scan (self, 0);
  return self;
}

void
rc_relay_set_config (RcRelay *self, const RcConfig *config)
{
  g_return_if_fail (RC_IS_RELAY (self));
  self->config = config;
  schedule_scan (self, 0);
}

void
rc_relay_kick (RcRelay *self)
{
  g_return_if_fail (RC_IS_RELAY (self));
  schedule_scan (self, 0);
}

void
rc_relay_stop (RcRelay *self)
{
  g_return_if_fail (RC_IS_RELAY (self));

  self->stopped = TRUE;
  g_clear_handle_id (&self->wake_id, g_source_remove);
  /* A local write, not the network: what was delivered is not sent again after the restart. */
  if (self->store != NULL && self->outcomes != NULL)
    flush_outcomes (self);
  g_clear_handle_id (&self->flush_id, g_source_remove);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
}

const RcRelayStats *
rc_relay_get_stats (RcRelay *self)
{
  g_return_val_if_fail (RC_IS_RELAY (self), NULL);
  return &self->stats;
}
