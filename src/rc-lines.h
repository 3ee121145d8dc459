/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#pragma once

#include "rc-config.h"
#include "rc-mm-watch.h"

G_BEGIN_DECLS

/*
 * rc-lines: which SIM carries which provisioned number. A number is provisioned by a
 * [number:+E164] group (by ICCID, or by modem equipment id plus slot) or automatically when a
 * SIM reports it as its own number. Lines are computed from the configuration and what the
 * watcher knows right now; nothing is cached, so a reload or a modem change takes effect at once.
 */

typedef struct {
  char *number;             /* E.164 */
  const RcModemInfo *modem; /* nullable: no modem carries it now; owned by the watcher */
  guint slot;               /* 1-based SIM slot, 0 if unknown */
  gboolean slot_active;     /* the SIM is in the modem's active slot */
  gboolean configured;      /* from the configuration (else reported by the SIM) */
  gint64 tariff_micro_usd;  /* < 0: none */
} RcLine;

void rc_line_free (RcLine *line);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcLine, rc_line_free)

/* Every provisioned number, configured ones first, then the SIMs' own numbers (RcLine). */
GPtrArray *rc_lines_list (const RcConfig *config, RcMmWatch *watch);
RcLine *rc_lines_find (const RcConfig *config, RcMmWatch *watch, const char *number);
/* The number carried by the active SIM of the modem at @modem_path, or NULL. */
RcLine *rc_lines_find_by_modem (const RcConfig *config, RcMmWatch *watch, const char *modem_path);
/* "available" needs the caller's knowledge of open calls: TRUE means a registered modem carries
 * the number in its active slot. */
gboolean rc_line_is_usable (const RcLine *line);
/* The country calling code used to normalise numbers on this line ("49"), or NULL. */
const char *rc_line_get_country_code (const RcLine *line);

G_END_DECLS
