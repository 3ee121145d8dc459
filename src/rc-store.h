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

/* The schema version this build migrates to. */
#define RC_STORE_SCHEMA_VERSION 1

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
 * updated, in memory and in the calls row). @type is e.g. "call.ringing"; @data is the JSON text
 * of the call object at that moment. Returns the event id ("evt_" + 26 random base32 chars) in
 * @out_event_id if non-NULL. Meant to run inside the same transaction as rc_store_save_call (). */
gboolean rc_store_append_event (RcStore *self,
                                RcCall *call,
                                const char *type,
                                const char *data,
                                gint64 created_at,
                                char **out_event_id,
                                GError **error);

RcCall *rc_store_get_call (RcStore *self, const char *call_id, GError **error); /* NOT_FOUND */
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

/* Newest first (created_at DESC, call_id DESC); page is 1-based. @out_total gets the number of
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

G_END_DECLS
