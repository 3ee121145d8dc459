/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#pragma once

#include "rc-config.h"
#include "rc-metrics.h"
#include "rc-store.h"

G_BEGIN_DECLS

#define RC_TYPE_RELAY (rc_relay_get_type ())
G_DECLARE_FINAL_TYPE (RcRelay, rc_relay, RC, RELAY, GObject)

typedef struct {
  guint64 attempts_by_result[4]; /* RcRelayResult */
  RcHistogram latency;           /* attempt durations */
  guint in_flight;
} RcRelayStats;

typedef enum {
  RC_RELAY_RESULT_DELIVERED,
  RC_RELAY_RESULT_RETRY,  /* failed, another attempt is scheduled */
  RC_RELAY_RESULT_FAILED, /* failed for good */
  RC_RELAY_RESULT_GONE,   /* 410: the endpoint was disabled */
} RcRelayResult;
const char *rc_relay_result_to_string (RcRelayResult result);

RcRelay *rc_relay_new (RcStore *store, const RcConfig *config);
void rc_relay_set_config (RcRelay *self, const RcConfig *config);
/* Something new may be due (an event was stored, a delivery queued): scan soon. */
void rc_relay_kick (RcRelay *self);
/* Cancels attempts in flight; they stay pending in the store and go out after a restart. */
void rc_relay_stop (RcRelay *self);
const RcRelayStats *rc_relay_get_stats (RcRelay *self);

/* Standard Webhooks: "v1," + base64 HMAC-SHA256 of "id.timestamp.body" keyed with the base64
 * part of "whsec_…". NULL when the secret is malformed. */
char *rc_relay_sign (const char *secret, const char *id, gint64 timestamp, const char *body);
/* The payload of SPEC §6 for an event. */
char *rc_relay_build_payload (const RcEvent *event);

G_END_DECLS
