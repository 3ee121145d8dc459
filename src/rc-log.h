/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

void rc_log_set_personal_info (gboolean show);
gboolean rc_log_get_personal_info (void);
char *rc_log_number (const char *number);

G_END_DECLS
