/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean rc_sd_notify (const char *state, GError **error);
gboolean rc_sd_watchdog_get_usec (guint64 *usec, GError **error);

G_END_DECLS
