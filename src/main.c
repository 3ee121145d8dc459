/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "reachcelld"

#include "config.h"

#include "rc-daemon.h"

#include <glib-unix.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>

static gboolean opt_verbose;
static gboolean opt_version;
static gboolean opt_print_ready;
static char *opt_config;
static char **opt_listen;
static char *opt_database;

static const GOptionEntry entries[]
    = { { "config", 'c', 0, G_OPTION_ARG_FILENAME, &opt_config,
          "Configuration file (default " RC_SYSCONFDIR "/reachcelld/reachcelld.conf)", "FILE" },
        { "listen", 'l', 0, G_OPTION_ARG_STRING_ARRAY, &opt_listen,
          "Listen on HOST:PORT instead of [api] listen (repeatable; port 0 picks one)",
          "HOST:PORT" },
        { "database", 'd', 0, G_OPTION_ARG_FILENAME, &opt_database,
          "SQLite database instead of [store] database", "FILE" },
        { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose,
          "Log informational and debug messages", NULL },
        { "print-ready", 0, 0, G_OPTION_ARG_NONE, &opt_print_ready,
          "Print \"READY <url>\" on standard output once serving", NULL },
        { "version", 0, 0, G_OPTION_ARG_NONE, &opt_version, "Print the version and exit", NULL },
        { NULL } };

static int
rc_main_fail (const char *what, const GError *error)
{
  g_printerr ("reachcelld: %s: %s\n", what, error->message);
  return EXIT_FAILURE;
}

static gboolean
on_quit_signal (gpointer user_data)
{
  g_message ("stopping");
  rc_daemon_quit (RC_DAEMON (user_data));
  return G_SOURCE_CONTINUE;
}

static gboolean
on_reload_signal (gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (!rc_daemon_reload (RC_DAEMON (user_data), &error))
    g_warning ("reload failed, keeping the running configuration: %s", error->message);
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char *argv[])
{
  g_autoptr (GOptionContext) context
      = g_option_context_new ("- ReachCell call API over ModemManager");
  g_autoptr (RcDaemon) daemon = NULL;
  g_autoptr (GError) error = NULL;
  RcDaemonOptions options = { 0 };

  setlocale (LC_ALL, "");
  /* Logs go to stderr (or the journal); stdout carries only --print-ready and --version. */
  g_log_writer_default_set_use_stderr (TRUE);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return rc_main_fail ("invalid arguments", error);
  if (opt_version) {
    printf ("reachcelld %s\n", PACKAGE_VERSION);
    return EXIT_SUCCESS;
  }
  if (opt_verbose)
    g_log_set_debug_enabled (TRUE);

  options.config_path = opt_config;
  options.listen = (const char *const *)opt_listen;
  options.database = opt_database;
  options.print_ready = opt_print_ready;
  daemon = rc_daemon_new (&options);
  if (!rc_daemon_start (daemon, &error))
    return rc_main_fail ("cannot start", error);
  g_unix_signal_add (SIGTERM, on_quit_signal, daemon);
  g_unix_signal_add (SIGINT, on_quit_signal, daemon);
  g_unix_signal_add (SIGHUP, on_reload_signal, daemon);
  rc_daemon_run (daemon);
  g_message ("stopped");
  return EXIT_SUCCESS;
}
