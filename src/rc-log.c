/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "rc-log"

#include "config.h"

#include "rc-log.h"

#include <string.h>

/**
 * rc-log: privacy helpers shared by the daemon, the CLI and the modem simulator.
 *
 * Phone numbers are personal data. Everything that logs a number passes it through
 * rc_log_number (), which keeps the first three and the last two characters
 * ("+49…23") unless personal information logging was switched on.
 */

#define RC_LOG_KEEP_HEAD 3
#define RC_LOG_KEEP_TAIL 2

static gboolean show_personal_info;

void
rc_log_set_personal_info (gboolean show)
{
  show_personal_info = show;
}

gboolean
rc_log_get_personal_info (void)
{
  return show_personal_info;
}

/**
 * rc_log_number:
 * @number: (nullable): a phone number in any format
 *
 * Returns: (transfer full): @number masked for a log line, or "(none)" for %NULL or "".
 */
char *
rc_log_number (const char *number)
{
  size_t len;

  if (number == NULL || *number == '\0')
    return g_strdup ("(none)");
  if (show_personal_info)
    return g_strdup (number);

  len = strlen (number);
  if (len <= RC_LOG_KEEP_HEAD + RC_LOG_KEEP_TAIL)
    return g_strdup ("…");
  return g_strdup_printf ("%.*s…%s", RC_LOG_KEEP_HEAD, number, number + len - RC_LOG_KEEP_TAIL);
}
