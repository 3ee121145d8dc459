/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#pragma once

#include <glib-object.h>

#include "rc-call.h"

G_BEGIN_DECLS

/*
 * RcStore: the only SQLite user. One connection, WAL, synchronous=FULL, foreign keys on,
 * migrations by PRAGMA user_version. All calls are synchronous on the main thread (small local
 * writes). Every failure sets a GError in RC_ERROR (RC_ERROR_STORE, or RC_ERROR_NOT_FOUND).
 */

#define RC_TYPE_STORE (rc_store_get_type ())
G_DECLARE_FINAL_TYPE (RcStore, rc_store, RC, STORE, GObject)

/* Signal "events-committed" (): a commit made appended events and their outbox rows durable. */
/* Signal "call-saved" (const char *call_id): the call's row was written (perhaps in a
 * transaction still open): what was read of it before may be stale. */

/* The schema version this build migrates to. */
#define RC_STORE_SCHEMA_VERSION 3

/* Opens (creating the file if absent) and migrates. A database from a newer build, or one that
 * cannot be opened or migrated, is an error and is left untouched (never deleted). */
RcStore *rc_store_new (const char *path, GError **error);
const char *rc_store_get_path (RcStore *self);
int rc_store_get_schema_version (RcStore *self);

/* Transactions (BEGIN IMMEDIATE / COMMIT / ROLLBACK). Not nestable. rollback never fails. */
gboolean rc_store_begin (RcStore *self, GError **error);
gboolean rc_store_commit (RcStore *self, GError **error);
void rc_store_rollback (RcStore *self);

/* --- calls and events --------------------------------------------------------------------- */

/* Inserts or replaces the row for call->call_id with every field of @call. */
gboolean rc_store_save_call (RcStore *self, const RcCall *call, GError **error);

/* Appends the call's next event: sequence = call->last_sequence + 1 (and call->last_sequence is
 * updated, in memory and in the calls row), and one pending delivery (the outbox) for each
 * enabled webhook subscribed to @type. @type is "call.<status>" (RC_ERROR_INVALID otherwise);
 * the event's payload is the call row as of that status (rc_call_as_of ()), rendered when it is
 * read. Returns the event id ("evt_" + 26 base32 chars, derived from call_id and sequence) in
 * @out_event_id if non-NULL. Meant to run inside the same transaction as rc_store_save_call (),
 * which must have stored the call first. */
gboolean rc_store_append_event (RcStore *self,
                                RcCall *call,
                                const char *type,
                                gint64 created_at,
                                char **out_event_id,
                                GError **error);

/* A created_at for a new call: @now, or one µs after the newest created_at stored or claimed,
 * whichever is later, so that no two calls share one and the list order (created_at DESC) has
 * no ties. */
gint64 rc_store_claim_created_at (RcStore *self, gint64 now);

RcCall *rc_store_get_call (RcStore *self, const char *call_id, GError **error); /* NOT_FOUND */
/* The newest call with ModemManager path @mm_path on modem @modem created after @since, or NULL
 * (no error) if none. */
RcCall *rc_store_find_recent_call (
    RcStore *self, const char *mm_path, const char *modem, gint64 since, GError **error);
/* ModemManager deleted the call object at @mm_path: the finished calls created after @since
 * that carried it no longer need it (about 40 bytes per stored call). */
gboolean rc_store_clear_mm_path (RcStore *self, const char *mm_path, gint64 since, GError **error);
/* Calls whose status is initiating, ringing or connected. */
GPtrArray *rc_store_list_open_calls (RcStore *self, GError **error);

typedef struct {
  const char *number; /* nullable: matches from or to */
  gboolean has_direction;
  RcCallDirection direction;
  gboolean has_status;
  RcCallStatus status;
  gint64 from_time; /* inclusive, µs; 0: none (compared with created_at) */
  gint64 to_time;   /* exclusive, µs; 0: none */
} RcCallFilter;

/* Newest first (created_at DESC; ties, only possible between calls stored before schema 3, in
 * reverse creation order); page is 1-based. @out_total gets the number of
 * matching calls. Returns GPtrArray of RcCall (free func set). */
GPtrArray *rc_store_list_calls (RcStore *self,
                                const RcCallFilter *filter,
                                guint page,
                                guint per_page,
                                guint *out_total,
                                GError **error);

typedef struct {
  char *event_id;
  char *call_id;
  guint sequence;
  char *type;
  gint64 created_at;
  char *data;
} RcEvent;
void rc_event_free (RcEvent *event);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcEvent, rc_event_free)

/* A call's events in sequence order (GPtrArray of RcEvent). */
GPtrArray *rc_store_list_events (RcStore *self, const char *call_id, GError **error);

/* Outbound calls from @line created at or after @since (µs), and the newest one's created_at (0
 * if none ever), for per-number pacing. */
gboolean rc_store_line_dials (RcStore *self,
                              const char *line,
                              gint64 since,
                              guint *out_count,
                              gint64 *out_last,
                              GError **error);

/* Counts by status, for health and metrics: @out_counts has one slot per RcCallStatus. */
gboolean rc_store_count_calls (RcStore *self, guint out_counts[7], GError **error);

/* --- API keys ----------------------------------------------------------------------------- */

typedef struct {
  gint64 id;
  char *name;
  char *prefix; /* display prefix, e.g. "ak_3f9a…" (the first 8 characters of the key) */
  gint64 created_at;
  gint64 revoked_at; /* 0: active */
  gint64 last_used_at;
} RcApiKey;
void rc_api_key_free (RcApiKey *key);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcApiKey, rc_api_key_free)

/* Creates a key "ak_" + 40 lowercase hex chars (160 random bits from /dev/urandom via GRand is NOT
 * acceptable: use getrandom ()). Stores only its SHA-256 digest and the display prefix. Returns
 * the full key (shown once) and its id. */
char *rc_store_create_key (RcStore *self, const char *name, gint64 *out_id, GError **error);
/* Looks a presented key up by digest; compares digests in constant time. Returns TRUE and the id
 * for an active key, FALSE (no error) for unknown or revoked, FALSE with error on store failure. */
gboolean rc_store_check_key (RcStore *self, const char *presented, gint64 *out_id, GError **error);
gboolean rc_store_revoke_key (RcStore *self, gint64 id, GError **error); /* NOT_FOUND */
GPtrArray *rc_store_list_keys (RcStore *self, GError **error);           /* RcApiKey */

/* --- idempotency (SPEC §3.1: scoped to the API key, kept 24 h) ------------------------------- */

/* Finds a stored response. Returns TRUE if found (then the out values are set). */
gboolean rc_store_get_idempotent (RcStore *self,
                                  gint64 key_id,
                                  const char *idempotency_key,
                                  char **out_request_digest,
                                  guint *out_status,
                                  char **out_body,
                                  GError **error);
gboolean rc_store_put_idempotent (RcStore *self,
                                  gint64 key_id,
                                  const char *idempotency_key,
                                  const char *request_digest,
                                  guint status,
                                  const char *body,
                                  GError **error);
/* Deletes entries created before @before (µs). */
gboolean rc_store_expire_idempotent (RcStore *self, gint64 before, GError **error);

/* --- webhooks and the outbox (SPEC §6) ------------------------------------------------------- */

typedef struct {
  gint64 id;        /* row id */
  char *webhook_id; /* "wh_…" */
  char *url;
  char **events;     /* event types, or { "call.*" } */
  char *description; /* nullable */
  char *secret;      /* "whsec_" + base64 of 32 random bytes */
  gboolean enabled;
  char *disabled_reason; /* nullable: why the daemon or a user disabled it */
  gint64 created_at;
  gint64 updated_at;
  gint64 failing_since; /* start of the current run of failed attempts; 0: healthy */
} RcWebhook;
void rc_webhook_free (RcWebhook *webhook);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcWebhook, rc_webhook_free)
gboolean rc_webhook_wants (const RcWebhook *webhook, const char *type);

/* New webhook with a generated id and secret. */
RcWebhook *rc_store_create_webhook (RcStore *self,
                                    const char *url,
                                    const char *const *events,
                                    const char *description,
                                    GError **error);
RcWebhook *rc_store_get_webhook (RcStore *self, const char *webhook_id, GError **error);
GPtrArray *rc_store_list_webhooks (RcStore *self, GError **error); /* RcWebhook, oldest first */
/* Writes url, events, description, enabled, disabled_reason, failing_since, updated_at. */
gboolean rc_store_update_webhook (RcStore *self, const RcWebhook *webhook, GError **error);
/* Deletes the webhook with its deliveries and attempts. NOT_FOUND if unknown. */
gboolean rc_store_delete_webhook (RcStore *self, const char *webhook_id, GError **error);
/* Changes whenever a webhook is created, updated or deleted through @self (even in a transaction
 * that is rolled back later): a copy of webhook rows is current while this has not changed.
 * Writes by other processes (reachcellctl) are not counted. */
guint rc_store_get_webhooks_generation (RcStore *self);

typedef enum {
  RC_DELIVERY_PENDING,
  RC_DELIVERY_DELIVERED,
  RC_DELIVERY_FAILED,
} RcDeliveryStatus;
const char *rc_delivery_status_to_string (RcDeliveryStatus status);
gboolean rc_delivery_status_from_string (const char *text, RcDeliveryStatus *out);

typedef struct {
  gint64 attempted_at;
  guint http_status; /* 0: no HTTP answer */
  char *error;       /* nullable: error class ("timeout", "connection", "redirect", …) */
  gint64 duration_us;
} RcAttempt;
void rc_attempt_free (RcAttempt *attempt);

typedef struct {
  gint64 id;         /* row id */
  char *delivery_id; /* "dlv_…" */
  gint64 webhook_row;
  char *webhook_id;
  char *event_id;
  char *event_type;
  char *call_id;  /* nullable (webhook.test) */
  guint sequence; /* 0 for webhook.test */
  RcDeliveryStatus status;
  guint attempts; /* attempts in the current series (reset by a redelivery) */
  gint64 next_attempt_at;
  gint64 created_at;
  gint64 updated_at;
  guint last_http_status;
  char *last_error;
} RcDelivery;
void rc_delivery_free (RcDelivery *delivery);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcDelivery, rc_delivery_free)

/* Pending deliveries due at @now, of enabled webhooks, each the lowest pending sequence of its
 * (webhook, call), oldest due first, at most @limit (RcDelivery). */
GPtrArray *rc_store_list_due_deliveries (RcStore *self, gint64 now, guint limit, GError **error);
/* The lowest pending delivery of call @call_id to webhook row @webhook_row with a sequence above
 * @after_sequence, due or not; NULL if none (and no error). */
RcDelivery *rc_store_get_next_call_delivery (
    RcStore *self, gint64 webhook_row, const char *call_id, guint after_sequence, GError **error);
/* Earliest next_attempt_at later than @after of a pending delivery of an enabled webhook; 0 if
 * none. */
gint64 rc_store_next_delivery_time (RcStore *self, gint64 after, GError **error);
/* The event a delivery carries (for webhook.test, made from the delivery itself). */
RcEvent *rc_store_get_delivery_event (RcStore *self, const RcDelivery *delivery, GError **error);
/* One transaction: the attempt row and the delivery's new status, attempts, next_attempt_at,
 * last_http_status, last_error, updated_at. */
gboolean rc_store_record_attempt (RcStore *self,
                                  const RcDelivery *delivery,
                                  const RcAttempt *attempt,
                                  GError **error);
RcDelivery *rc_store_get_delivery (RcStore *self,
                                   const char *webhook_id,
                                   const char *delivery_id,
                                   GError **error);
/* Newest first; with @has_status only that status (RcDelivery). */
GPtrArray *rc_store_list_deliveries (RcStore *self,
                                     const char *webhook_id,
                                     gboolean has_status,
                                     RcDeliveryStatus status,
                                     guint page,
                                     guint per_page,
                                     guint *out_total,
                                     GError **error);
GPtrArray *
rc_store_list_attempts (RcStore *self, gint64 delivery_row, GError **error); /* RcAttempt */
/* Back to pending for a new series of attempts, due now; the attempt log is kept. */
RcDelivery *rc_store_redeliver (
    RcStore *self, const char *webhook_id, const char *delivery_id, gint64 now, GError **error);
/* A webhook.test delivery for one webhook, due now. */
RcDelivery *
rc_store_add_test_delivery (RcStore *self, const char *webhook_id, gint64 now, GError **error);
/* Deliveries by status (indexed by RcDeliveryStatus). */
gboolean rc_store_count_deliveries (RcStore *self, guint64 out_counts[3], GError **error);
guint64 rc_store_count_events (RcStore *self, GError **error);

G_END_DECLS
