/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "fuzz-config"

#include "config.h"

#include "rc-config.h"
#include "rc-e164.h"
#include "rc-error.h"

#include "fuzz-common.h"

#include <glib/gstdio.h>
#include <string.h>

/*
 * Input: a configuration file, written to a temporary file and loaded with rc_config_load ().
 * A refusal must be an error that names the file; a loaded config must hold only values the
 * bounds in rc-config.c allow, each configured number once, valid E.164, findable with
 * rc_config_find_number (), and with exactly one of iccid= or modem=.
 */

static char *config_path;

static void
remove_config (void)
{
  g_autofree char *directory = g_path_get_dirname (config_path);

  g_unlink (config_path);
  g_rmdir (directory);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *directory = g_dir_make_tmp ("fuzz-config-XXXXXX", &error);

  fuzz_init_glib ();
  if (directory == NULL) {
    fprintf (stderr, "fuzz-config: %s\n", error->message);
    abort ();
  }
  config_path = g_build_filename (directory, "reachcelld.conf", NULL);
  atexit (remove_config);
  return 0;
}

static void
check_config (const RcConfig *config)
{
  FUZZ_CHECK (g_strcmp0 (config->path, config_path) == 0);
  FUZZ_CHECK (config->listen != NULL && config->listen[0] != NULL);
  FUZZ_CHECK (config->max_body_bytes >= 256 && config->max_body_bytes <= 1024 * 1024);
  FUZZ_CHECK (config->max_json_depth >= 2 && config->max_json_depth <= 256);
  FUZZ_CHECK (config->database != NULL);
  FUZZ_CHECK (config->retry_schedule->len >= 1 && config->retry_schedule->len <= 50);
  for (guint i = 0; i < config->retry_schedule->len; i++)
    FUZZ_CHECK (g_array_index (config->retry_schedule, guint, i) <= 7 * 24 * 3600);
  FUZZ_CHECK (config->attempt_timeout >= 1 && config->attempt_timeout <= 300);
  FUZZ_CHECK (config->webhook_connections >= 1 && config->webhook_connections <= 64);
  FUZZ_CHECK (config->max_connections >= 8 && config->max_connections <= 65536);
  FUZZ_CHECK (config->header_timeout >= 1 && config->header_timeout <= 300);
  FUZZ_CHECK (config->idle_timeout >= 1 && config->idle_timeout <= 3600);
  FUZZ_CHECK (config->rate_limit <= 100000);
  FUZZ_CHECK (config->rate_burst >= 1 && config->rate_burst <= 1000000);
  FUZZ_CHECK (config->disable_after >= 1 && config->disable_after <= 365 * 24 * 3600);
  for (guint i = 0; i < config->numbers->len; i++) {
    const RcNumberConfig *number = g_ptr_array_index (config->numbers, i);

    FUZZ_CHECK (rc_e164_is_valid (number->number));
    FUZZ_CHECK (rc_config_find_number (config, number->number) == number);
    FUZZ_CHECK ((number->iccid == NULL) != (number->modem == NULL));
    FUZZ_CHECK (number->slot >= 0 && number->slot <= 16);
    FUZZ_CHECK (number->slot == 0 || number->modem != NULL);
    FUZZ_CHECK (number->dial_interval <= 86400 && number->daily_dial_cap <= 100000);
    FUZZ_CHECK (number->tariff_micro_usd >= -1
                && number->tariff_micro_usd <= G_GINT64_CONSTANT (1000000000));
    FUZZ_CHECK (number->iccid == NULL || g_utf8_validate (number->iccid, -1, NULL));
    FUZZ_CHECK (number->modem == NULL || g_utf8_validate (number->modem, -1, NULL));
  }
  FUZZ_CHECK (rc_config_find_number (config, "") == NULL);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RcConfig) config = NULL;

  if (!g_file_set_contents (config_path, (const char *)data, size, &error)) {
    fprintf (stderr, "fuzz-config: %s\n", error->message);
    abort ();
  }
  config = rc_config_load (config_path, &error);
  if (config == NULL) {
    FUZZ_CHECK (error != NULL);
    FUZZ_CHECK (g_str_has_prefix (error->message, config_path));
    FUZZ_CHECK (g_utf8_validate (error->message, -1, NULL));
    return 0;
  }
  FUZZ_CHECK (error == NULL);
  check_config (config);
  return 0;
}
