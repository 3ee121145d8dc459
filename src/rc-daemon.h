/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define RC_TYPE_DAEMON (rc_daemon_get_type ())
G_DECLARE_FINAL_TYPE (RcDaemon, rc_daemon, RC, DAEMON, GObject)

typedef struct {
  const char *config_path;   /* NULL: the default path, used only if it exists */
  const char *const *listen; /* nullable: overrides [api] listen */
  const char *database;      /* nullable: overrides [store] database */
  gboolean print_ready;      /* print "READY <uri>" on stdout once serving */
} RcDaemonOptions;

RcDaemon *rc_daemon_new (const RcDaemonOptions *options);
/* Configuration → store → API listening → ModemManager watch. */
gboolean rc_daemon_start (RcDaemon *self, GError **error);
/* Runs the main loop until rc_daemon_quit (). */
void rc_daemon_run (RcDaemon *self);
void rc_daemon_quit (RcDaemon *self);
/* Loads the configuration again; a bad file keeps the running one (and says why). */
gboolean rc_daemon_reload (RcDaemon *self, GError **error);

G_END_DECLS
