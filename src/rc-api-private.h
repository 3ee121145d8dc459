/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#pragma once

/* Shared by the rc-api*.c files only: the server object and the envelope helpers. */

#include "rc-api.h"
#include "rc-api-parse.h"
#include "rc-metrics.h"
#include "rc-relay.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

struct _RcApi {
  GObject parent_instance;

  SoupServer *server;
  RcStore *store;
  RcMmWatch *watch;
  RcCalls *calls;
  RcRelay *relay;
  const RcConfig *config; /* unowned */
  GBytes *openapi;
  GHashTable *requests; /* "route\tstatus" → guint64 count, for /metrics */
  GHashTable *latency;  /* route → RcHistogram */
  GSocketService *service;
  GList *listening;        /* GSocketAddress actually bound */
  GHashTable *connections; /* GSocket → Connection (rc-api-listen.c) */
  GHashTable *buckets;     /* API key id → rate-limit Bucket */
  GHashTable *finished;    /* call_id → GBytes: the GET answer of a finished call (see below) */
  guint sweep_id;
};

/* A request waiting for asynchronous work (soup_server_message_pause ()). */
typedef struct {
  RcApi *self;
  SoupServerMessage *msg;
  gboolean disconnected;
} RcApiPending;

void rc_api_set_json_body (SoupServerMessage *msg, guint status, char *body /* transfer full */);
char *rc_api_envelope_data (JsonNode *data, JsonNode *meta);
void rc_api_respond_data (SoupServerMessage *msg, guint status, JsonNode *data, JsonNode *meta);
void rc_api_respond_error_full (
    SoupServerMessage *msg, guint status, const char *code, const char *message, const char *field);
void rc_api_respond_gerror (SoupServerMessage *msg, const GError *error, const char *field);
void rc_api_respond_invalid (SoupServerMessage *msg, const char *field, const char *message);
/* 429 rate_limited with Retry-After. */
void rc_api_respond_rate_limited (SoupServerMessage *msg, guint retry_after, const char *message);
/* The body as a JSON object, or NULL with the error answer set (415, 400). */
JsonObject *rc_api_read_json_body (RcApi *self, SoupServerMessage *msg);
/* @allowed: "GET" or "GET, POST": anything else gets 405 with Allow. */
gboolean rc_api_method_is (SoupServerMessage *msg, const char *allowed);
RcApiPending *rc_api_pause_message (RcApi *self, SoupServerMessage *msg);
void rc_api_pending_finish (RcApiPending *pending);
/* Refuses members of @object not in @known (400 invalid_parameter naming it). */
gboolean
rc_api_check_members (SoupServerMessage *msg, JsonObject *object, const char *const *known);

/* rc-api-webhooks.c */
void
rc_api_handle_webhooks (RcApi *self, SoupServerMessage *msg, char **segments, GHashTable *query);
/* rc-api-listen.c */
void rc_api_connections_init (RcApi *self);
void rc_api_connections_dispose (RcApi *self);
void rc_api_connection_request_started (RcApi *self, SoupServerMessage *msg);
void rc_api_connection_got_headers (RcApi *self, SoupServerMessage *msg);
void rc_api_connection_finished (RcApi *self, SoupServerMessage *msg);

/* rc-api-metrics.c */
void rc_api_handle_metrics (RcApi *self, SoupServerMessage *msg);
void rc_api_count_request (RcApi *self, const char *route, guint status, double seconds);

G_END_DECLS
