/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SIM_LOG_RECEIVED "<-"
#define SIM_LOG_SENT "->"

gboolean sim_log_open (const char *path, GError **error);
void sim_log_close (void);

/* Writes "<timestamp> <direction> [<channel> ]<text>" with phone numbers masked and control
 * characters escaped. @channel is NULL for the AT port, "ctl" for the control socket. */
void sim_log_line (const char *direction, const char *channel, const char *text);
void sim_log_note (const char *format, ...) G_GNUC_PRINTF (1, 2);

/* Exposed for tests: @text with every phone number passed through rc_log_number (). */
char *sim_log_mask_numbers (const char *text);

G_END_DECLS
