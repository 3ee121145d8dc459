/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#pragma once

#include "sim-modem.h"

#include <gio/gio.h>

G_BEGIN_DECLS

#define SIM_PORT_PREFIX "abstract:"
#define SIM_CONTROL_SUFFIX ".ctl"

#define SIM_TYPE_SERVER (sim_server_get_type ())
G_DECLARE_FINAL_TYPE (SimServer, sim_server, SIM, SERVER, GObject)

/* Serves @modem's AT port on the abstract socket named @port (e.g. "abstract:sim0", the whole
 * string is the name) and the control socket on "@port.ctl". Emits "quit-requested" after a
 * "quit" control command. */
SimServer *sim_server_new (SimModem *modem, const char *port);
gboolean sim_server_start (SimServer *self, GError **error);

char *sim_server_dup_control_name (const char *port);

G_END_DECLS
