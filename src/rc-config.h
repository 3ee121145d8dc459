/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define RC_DEFAULT_CONFIG RC_SYSCONFDIR "/reachcelld/reachcelld.conf"
#define RC_DEFAULT_DATABASE RC_LOCALSTATEDIR "/lib/reachcelld/reachcelld.db"
#define RC_DEFAULT_LISTEN "127.0.0.1:8080"

/* One [number:+E164] group: the SIM that carries the number. */
typedef struct {
  char *number;            /* E.164, from the group name */
  char *iccid;             /* nullable: match the SIM by ICCID ... */
  char *modem;             /* nullable: ... or by modem equipment id */
  int slot;                /* with modem=: SIM slot (1-based); 0 = any/primary */
  gint64 tariff_micro_usd; /* per started minute of connected outbound time; < 0: none */
  guint dial_interval;     /* seconds between two dials from this number; 0: none */
  guint daily_dial_cap;    /* dials per UTC day from this number; 0: no cap */
} RcNumberConfig;

typedef struct {
  char *path;                 /* nullable: built-in defaults only */
  gboolean log_personal_info; /* [daemon] log-personal-info */
  char **listen;              /* [api] listen: host:port list */
  gsize max_body_bytes;       /* [api] max-body-bytes */
  guint max_json_depth;       /* [api] max-json-depth */
  char *database;             /* [store] database */
  gboolean delete_terminated; /* [modemmanager] delete-terminated-calls */
  GArray *retry_schedule;     /* [webhook] retry-schedule: guint seconds before each attempt */
  guint attempt_timeout;      /* [webhook] attempt-timeout: seconds for a whole attempt */
  guint webhook_connections;  /* [webhook] max-connections: per endpoint */
  guint max_connections;      /* [api] max-connections: open client connections */
  guint header_timeout;       /* [api] header-timeout: seconds to send a request's headers */
  guint idle_timeout;         /* [api] idle-timeout: seconds a connection may wait idle */
  guint rate_limit;           /* [api] rate-limit: requests per second per API key; 0: off */
  guint rate_burst;           /* [api] rate-burst: requests a key may make at once */
  guint disable_after;        /* [webhook] disable-after: seconds of continuous failure */
  gboolean metrics_public;    /* [api] metrics-public: GET /metrics without a key */
  GPtrArray *numbers;         /* RcNumberConfig */
} RcConfig;

RcConfig *rc_config_new_defaults (void);
/* Loads @path over the defaults; every bad value is an error naming the group and key. */
RcConfig *rc_config_load (const char *path, GError **error);
void rc_config_free (RcConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcConfig, rc_config_free)

const RcNumberConfig *rc_config_find_number (const RcConfig *config, const char *number);

G_END_DECLS
