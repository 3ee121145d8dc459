/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#pragma once

#include "rc-call.h"
#include "rc-config.h"
#include "rc-lines.h"
#include "rc-mm-watch.h"
#include "rc-store.h"

G_BEGIN_DECLS

#define RC_TYPE_CALLS (rc_calls_get_type ())
G_DECLARE_FINAL_TYPE (RcCalls, rc_calls, RC, CALLS, GObject)

/* The call state machine: ModemManager's call states → statuses, events and end reasons
 * (SPEC §4), persisted before anything is published, plus dial / hangup / answer. */

RcCalls *rc_calls_new (RcStore *store, RcMmWatch *watch, const RcConfig *config);
/* The configuration is owned by the daemon; after a reload it hands the new one over. */
void rc_calls_set_config (RcCalls *self, const RcConfig *config);

typedef struct {
  const char *from;
  const char *to;
  int timeout_seconds; /* 0: none */
  const char *client_reference;
  /* Idempotency: stored in the same transaction as the call (all nullable / 0). */
  gint64 key_id;
  const char *idempotency_key;
  const char *request_digest;
  guint retry_after; /* out: with RC_ERROR_RATE_LIMITED, seconds until a dial is allowed */
} RcDialRequest;

/* Validates the line, stores the call (status initiating, its first event and the idempotency
 * record, in one transaction) and starts the modem work, which completes later. Returns the new
 * call, or NULL with RC_ERROR_NOT_PROVISIONED, _NO_MODEM, _NO_MODEMMANAGER, _LINE_BUSY,
 * _RATE_LIMITED (the number's dial-interval or daily-dial-cap), _STORE.
 * @render builds the response body stored for idempotent replay. */
typedef char *(*RcDialRender) (const RcCall *call, gpointer user_data);
RcCall *rc_calls_dial (RcCalls *self,
                       RcDialRequest *request,
                       RcDialRender render,
                       gpointer render_data,
                       char **out_body,
                       GError **error);

/* Completes when ModemManager confirmed and the call is terminal (the final record), or fails
 * with RC_ERROR_INVALID_STATE, _NOT_FOUND, _MODEM, _NO_MODEMMANAGER. */
void rc_calls_hangup_async (RcCalls *self,
                            const char *call_id,
                            GCancellable *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer user_data);
RcCall *rc_calls_hangup_finish (RcCalls *self, GAsyncResult *result, GError **error);

/* Completes when ModemManager accepted the call (the record, still ringing or connected). */
void rc_calls_answer_async (RcCalls *self,
                            const char *call_id,
                            GCancellable *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer user_data);
RcCall *rc_calls_answer_finish (RcCalls *self, GAsyncResult *result, GError **error);

/* "available", "busy" or "offline". */
const char *rc_calls_line_state (RcCalls *self, const RcLine *line);
guint rc_calls_count_open (RcCalls *self);
/* TRUE while some call's changes wait for the store to take them (disk full, read-only). */
gboolean rc_calls_store_failing (RcCalls *self);

G_END_DECLS
