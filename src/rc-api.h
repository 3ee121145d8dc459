/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#pragma once

#include "rc-calls.h"
#include "rc-config.h"
#include "rc-mm-watch.h"
#include "rc-relay.h"
#include "rc-store.h"

G_BEGIN_DECLS

#define RC_TYPE_API (rc_api_get_type ())
G_DECLARE_FINAL_TYPE (RcApi, rc_api, RC, API, GObject)

RcApi *rc_api_new (
    RcStore *store, RcMmWatch *watch, RcCalls *calls, RcRelay *relay, const RcConfig *config);
void rc_api_set_config (RcApi *self, const RcConfig *config);
/* Listens on every address of the configuration ("127.0.0.1:8080", "[::1]:8080", port 0 picks
 * a free port). */
gboolean rc_api_listen (RcApi *self, GError **error);
/* The URIs actually listened on (GSList of GUri, transfer full). */
GSList *rc_api_get_uris (RcApi *self);
void rc_api_disconnect (RcApi *self);

/* The one mapping from a GError to an HTTP status and an error code (SPEC §3). */
guint rc_api_status_for_error (const GError *error, const char **out_code);

G_END_DECLS
