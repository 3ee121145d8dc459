/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "test-config"

#include "config.h"

#include "rc-config.h"
#include "rc-error.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

/* The shipped data/reachcelld.conf parses, and so does every commented-out example in it: the
 * documentation names only keys the code knows. Bad files name the group and key at fault. */

static char *
write_temp (const char *contents)
{
  g_autoptr (GError) error = NULL;
  char *path = NULL;
  int fd = g_file_open_tmp ("rc-config-XXXXXX.conf", &path, &error);

  g_assert_no_error (error);
  close (fd);
  g_assert_true (g_file_set_contents (path, contents, -1, &error));
  return path;
}

static void
test_shipped (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RcConfig) config = rc_config_load (RC_SOURCE_DATADIR "/reachcelld.conf", &error);
  g_autoptr (RcConfig) defaults = rc_config_new_defaults ();

  g_assert_no_error (error);
  g_assert_cmpstr (config->listen[0], ==, defaults->listen[0]);
  g_assert_cmpuint (config->max_body_bytes, ==, 16384);
  g_assert_cmpuint (config->retry_schedule->len, ==, 10);
  g_assert_cmpuint (config->attempt_timeout, ==, 15);
  g_assert_cmpuint (config->numbers->len, ==, 0);
}

static void
test_shipped_examples (void)
{
  g_autofree char *text = NULL;
  g_autoptr (GString) uncommented = g_string_new (NULL);
  g_auto (GStrv) lines = NULL;
  g_autofree char *path = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (RcConfig) config = NULL;
  const RcNumberConfig *by_modem;

  g_assert_true (g_file_get_contents (RC_SOURCE_DATADIR "/reachcelld.conf", &text, NULL, &error));
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    const char *line = lines[i];

    /* "#key=value" and "#[group]" are examples; "# prose" stays a comment. */
    if (line[0] == '#' && (line[1] == '[' || g_ascii_isalpha (line[1])))
      line++;
    g_string_append_printf (uncommented, "%s\n", line);
  }
  path = write_temp (uncommented->str);
  config = rc_config_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (config->numbers->len, ==, 2);
  g_assert_nonnull (rc_config_find_number (config, "+4915112345678"));
  g_assert_cmpint (rc_config_find_number (config, "+4915112345678")->tariff_micro_usd, ==, 20000);
  by_modem = rc_config_find_number (config, "+4915187654321");
  g_assert_cmpstr (by_modem->modem, ==, "356938035643809");
  g_assert_cmpint (by_modem->slot, ==, 2);
  g_unlink (path);
}

static void
test_bad_files (void)
{
  const char *const cases[][2] = {
    { "[api]\nlisten=\n", "[api] listen" },
    { "[api]\nmax-body-bytes=12\n", "[api] max-body-bytes" },
    { "[api]\nmax-json-depth=lots\n", "[api] max-json-depth" },
    { "[daemon]\nlog-personal-info=maybe\n", "[daemon] log-personal-info" },
    { "[daemon]\nverbose=true\n", "[daemon] verbose" },
    { "[webhook]\nretry-schedule=0;x\n", "[webhook] retry-schedule" },
    { "[webhook]\nattempt-timeout=0\n", "[webhook] attempt-timeout" },
    { "[api]\nidle-timeout=-1\n", "[api] idle-timeout" },
    { "[dæmon]\n", "[dæmon]" },
    { "[number:0151]\niccid=1\n", "[number:0151]" },
    { "[number:+4915112345678]\n", "iccid" },
    { "[number:+4915112345678]\niccid=1\nmodem=2\n", "iccid" },
    { "[number:+4915112345678]\niccid=1\nslot=2\n", "slot" },
    { "[number:+4915112345678]\nmodem=1\nslot=0\n", "slot" },
    { "[number:+4915112345678]\niccid=1\ntariff-usd-per-minute=-1\n", "tariff" },
    { "[number:+4915112345678]\niccid=1\ncolour=blue\n", "colour" },
    { "not a key file\n", "" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *path = write_temp (cases[i][0]);
    g_autoptr (GError) error = NULL;
    g_autoptr (RcConfig) config = rc_config_load (path, &error);

    g_assert_null (config);
    g_assert_nonnull (error);
    if (strstr (error->message, cases[i][1]) == NULL)
      g_error ("case %u: message \"%s\" does not name \"%s\"", i, error->message, cases[i][1]);
    g_assert_nonnull (strstr (error->message, path));
    g_unlink (path);
  }
}

static void
test_missing_file (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RcConfig) config = rc_config_load ("/nonexistent/reachcelld.conf", &error);

  g_assert_null (config);
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/rc/config/shipped", test_shipped);
  g_test_add_func ("/rc/config/shipped-examples", test_shipped_examples);
  g_test_add_func ("/rc/config/bad-files", test_bad_files);
  g_test_add_func ("/rc/config/missing-file", test_missing_file);
  return g_test_run ();
}
