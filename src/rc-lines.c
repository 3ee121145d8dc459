/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "rc-lines"

#include "config.h"

#include "rc-lines.h"

#include "rc-e164.h"

void
rc_line_free (RcLine *line)
{
  if (line == NULL)
    return;
  g_free (line->number);
  g_free (line);
}

static RcLine *
line_new (const char *number, const RcModemInfo *modem, gboolean configured)
{
  RcLine *line = g_new0 (RcLine, 1);

  line->number = g_strdup (number);
  line->modem = modem;
  line->configured = configured;
  line->tariff_micro_usd = -1;
  if (modem != NULL) {
    line->slot = modem->active_slot;
    line->slot_active = TRUE;
  }
  return line;
}

static RcLine *
line_for_config (const RcNumberConfig *entry, RcMmWatch *watch)
{
  GPtrArray *modems = rc_mm_watch_get_modems (watch);
  RcLine *line = NULL;

  for (guint i = 0; i < modems->len && line == NULL; i++) {
    const RcModemInfo *modem = g_ptr_array_index (modems, i);

    if (entry->iccid != NULL && g_strcmp0 (entry->iccid, modem->iccid) == 0) {
      line = line_new (entry->number, modem, TRUE);
    } else if (entry->modem != NULL && g_strcmp0 (entry->modem, modem->equipment_id) == 0) {
      line = line_new (entry->number, modem, TRUE);
      if (entry->slot != 0) {
        line->slot = entry->slot;
        line->slot_active = (guint)entry->slot == modem->active_slot;
      }
    }
  }
  if (line == NULL) {
    line = line_new (entry->number, NULL, TRUE);
    line->slot = entry->slot;
  }
  line->tariff_micro_usd = entry->tariff_micro_usd;
  return line;
}

GPtrArray *
rc_lines_list (const RcConfig *config, RcMmWatch *watch)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func ((GDestroyNotify)rc_line_free);
  GPtrArray *modems = rc_mm_watch_get_modems (watch);

  for (guint i = 0; i < config->numbers->len; i++)
    g_ptr_array_add (lines, line_for_config (g_ptr_array_index (config->numbers, i), watch));

  /* A SIM's own numbers are provisioned automatically unless configured already. */
  for (guint i = 0; i < modems->len; i++) {
    const RcModemInfo *modem = g_ptr_array_index (modems, i);

    for (guint n = 0; modem->own_numbers != NULL && modem->own_numbers[n] != NULL; n++) {
      const char *number = modem->own_numbers[n];
      gboolean known = !rc_e164_is_valid (number);

      for (guint l = 0; l < lines->len && !known; l++)
        known = g_str_equal (((RcLine *)g_ptr_array_index (lines, l))->number, number);
      if (!known)
        g_ptr_array_add (lines, line_new (number, modem, FALSE));
    }
  }
  return lines;
}

static RcLine *
steal_first (GPtrArray *lines, gboolean (*match) (const RcLine *, const char *), const char *key)
{
  for (guint i = 0; i < lines->len; i++) {
    RcLine *line = g_ptr_array_index (lines, i);

    if (match (line, key))
      return g_ptr_array_steal_index (lines, i);
  }
  return NULL;
}

static gboolean
match_number (const RcLine *line, const char *number)
{
  return g_str_equal (line->number, number);
}

static gboolean
match_modem (const RcLine *line, const char *modem_path)
{
  return line->modem != NULL && line->slot_active && g_str_equal (line->modem->path, modem_path);
}

RcLine *
rc_lines_find (const RcConfig *config, RcMmWatch *watch, const char *number)
{
  g_autoptr (GPtrArray) lines = rc_lines_list (config, watch);

  return steal_first (lines, match_number, number);
}

RcLine *
rc_lines_find_by_modem (const RcConfig *config, RcMmWatch *watch, const char *modem_path)
{
  g_autoptr (GPtrArray) lines = rc_lines_list (config, watch);

  return steal_first (lines, match_modem, modem_path);
}

gboolean
rc_line_is_usable (const RcLine *line)
{
  return line->modem != NULL && line->slot_active && line->modem->registered;
}

const char *
rc_line_get_country_code (const RcLine *line)
{
  const char *code = rc_e164_country_code (line->number);

  if (code == NULL && line->modem != NULL)
    code = rc_e164_country_code_for_mcc (line->modem->imsi);
  return code;
}
