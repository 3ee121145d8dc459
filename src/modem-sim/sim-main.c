/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "sim-main"

#include "config.h"

#include "sim-log.h"
#include "sim-modem.h"
#include "sim-server.h"

#include "rc-log.h"

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib-unix.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/**
 * reachcell-modem-sim: a simulated AT voice modem for ModemManager's test profiles.
 *
 * "reachcell-modem-sim --port abstract:NAME [options]" serves the modem;
 * "reachcell-modem-sim ctl --port abstract:NAME COMMAND [ARGS…]" sends one control command.
 */

#define SIM_EXIT_CTL_ERROR 1
#define SIM_EXIT_CTL_CONNECTION 2
#define SIM_CTL_TIMEOUT_S 10

static const char description[]
    = "Serves one modem's AT port on the abstract unix socket named PORT (the whole string,\n"
      "e.g. \"abstract:sim0\"), for ModemManager's Test.SetProfile(id, \"generic\", [PORT]),\n"
      "and a control socket named PORT.ctl.\n"
      "\n"
      "Control client:\n"
      "  reachcell-modem-sim ctl --port PORT COMMAND [ARGS...]\n"
      "  prints the reply; exit status 0 on OK, 1 on ERROR, 2 if the simulator is unreachable.\n"
      "\n"
      "Control commands:\n"
      "  incoming <+number> | incoming <number> --national | incoming --withheld\n"
      "                       new incoming call (RING+CLIP, or +CCWA while in a call);\n"
      "                       replies OK <index>\n"
      "  alert [idx]          remote is ringing (dialing -> alerting)\n"
      "  answer [idx]         remote answers an outgoing call (-> active)\n"
      "  hangup [idx] [--silent]  remote hangs up (NO CARRIER unless --silent)\n"
      "  busy [idx]           remote busy (BUSY), call removed\n"
      "  noanswer [idx]       no answer (NO ANSWER), call removed\n"
      "  next-dial ok|busy|no-carrier|error   result of the next ATD (one-shot)\n"
      "  alert-after <ms>|-1  outgoing calls start alerting after <ms> (default 300; -1 never)\n"
      "  auto-answer <s>      remote answers outgoing calls after <s> seconds (0 = off)\n"
      "  ring-period <ms>     repeat RING/+CLIP/+CCWA every <ms> (default 3000; 0 = once)\n"
      "  registration home|roaming|searching|denied|idle\n"
      "  signal <0-100>\n"
      "  unplug | plug        close the AT port and stop listening / listen again\n"
      "  mute | unmute        stop / resume answering AT commands\n"
      "  status               key=value lines, then OK\n"
      "  help | quit\n"
      "Without an index, a command acts on the first call (lowest index) in a fitting state.";

typedef struct {
  char *port;
  char *log_path;
  gboolean log_personal_info;
  gboolean print_ready;
  char *manufacturer;
  char *model;
  char *revision;
  char *imei;
  char *imsi;
  char *iccid;
  char *own_number;
  gboolean no_own_number;
  char *operator_name;
  char *operator_code;
  char *country;
  int signal;
  char *registration;
} SimOptions;

static void
sim_options_clear (SimOptions *options)
{
  g_free (options->port);
  g_free (options->log_path);
  g_free (options->manufacturer);
  g_free (options->model);
  g_free (options->revision);
  g_free (options->imei);
  g_free (options->imsi);
  g_free (options->iccid);
  g_free (options->own_number);
  g_free (options->operator_name);
  g_free (options->operator_code);
  g_free (options->country);
  g_free (options->registration);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SimOptions, sim_options_clear)

static int
fail (const char *message, const GError *error)
{
  g_printerr ("reachcell-modem-sim: %s%s%s\n", message, error != NULL ? ": " : "",
              error != NULL ? error->message : "");
  return EXIT_FAILURE;
}

static gboolean
is_digits (const char *text, size_t min_len, size_t max_len)
{
  size_t len = strlen (text);

  return len >= min_len && len <= max_len && strspn (text, "0123456789") == len;
}

static gboolean
validate_port (const char *port, GError **error)
{
  if (port == NULL) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "--port is required");
    return FALSE;
  }
  if (!g_str_has_prefix (port, SIM_PORT_PREFIX) || port[strlen (SIM_PORT_PREFIX)] == '\0'
      || strlen (port) > 100) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 "--port must be abstract:NAME (at most 100 characters), not '%s'", port);
    return FALSE;
  }
  return TRUE;
}

/* Moves a given option into the identity, after checking it. */
static gboolean
take_option (char **target, char **value, const char *name, gboolean valid, GError **error)
{
  if (*value == NULL)
    return TRUE;
  if (!valid) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "invalid --%s '%s'", name,
                 *value);
    return FALSE;
  }
  g_free (*target);
  *target = g_steal_pointer (value);
  return TRUE;
}

static SimIdentity *
build_identity (SimOptions *options, GError **error)
{
  g_autoptr (SimIdentity) identity = sim_identity_new_default ();
  const char *own = options->own_number;
  const char *country = options->country;

  if (!take_option (&identity->manufacturer, &options->manufacturer, "manufacturer",
                    options->manufacturer != NULL && options->manufacturer[0] != '\0', error)
      || !take_option (&identity->model, &options->model, "model",
                       options->model != NULL && options->model[0] != '\0', error)
      || !take_option (&identity->revision, &options->revision, "revision",
                       options->revision != NULL && options->revision[0] != '\0', error)
      || !take_option (&identity->imei, &options->imei, "imei",
                       options->imei != NULL && is_digits (options->imei, 15, 15), error)
      || !take_option (&identity->imsi, &options->imsi, "imsi",
                       options->imsi != NULL && is_digits (options->imsi, 6, 15), error)
      || !take_option (&identity->iccid, &options->iccid, "iccid",
                       options->iccid != NULL && is_digits (options->iccid, 19, 20), error)
      || !take_option (&identity->own_number, &options->own_number, "own-number",
                       own != NULL && own[0] == '+' && is_digits (own + 1, 3, 15), error)
      || !take_option (&identity->operator_name, &options->operator_name, "operator-name",
                       options->operator_name != NULL && options->operator_name[0] != '\0'
                           && strlen (options->operator_name) <= 16
                           && strchr (options->operator_name, '"') == NULL,
                       error)
      || !take_option (&identity->operator_code, &options->operator_code, "operator-code",
                       options->operator_code != NULL && is_digits (options->operator_code, 5, 6),
                       error)
      || !take_option (&identity->country, &options->country, "country",
                       country != NULL && strlen (country) == 2 && g_ascii_isalpha (country[0])
                           && g_ascii_isalpha (country[1]),
                       error))
    return NULL;

  for (char *c = identity->country; *c != '\0'; c++)
    *c = g_ascii_toupper (*c);
  if (options->no_own_number)
    g_clear_pointer (&identity->own_number, g_free);
  if (options->signal >= 0) {
    if (options->signal > 100) {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--signal must be 0-100, not %d", options->signal);
      return NULL;
    }
    identity->signal = (guint)options->signal;
  }
  if (options->registration != NULL
      && !sim_registration_from_string (options->registration, &identity->registration)) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 "--registration must be home, roaming, searching, denied or idle, not '%s'",
                 options->registration);
    return NULL;
  }
  return g_steal_pointer (&identity);
}

/* ------------------------------------------------------------------------------------------ */
/* Serve mode */

static gboolean
on_quit_signal (gpointer user_data)
{
  GMainLoop *loop = user_data;

  g_main_loop_quit (loop);
  return G_SOURCE_CONTINUE;
}

static void
on_quit_requested (SimServer *server, gpointer user_data)
{
  GMainLoop *loop = user_data;

  g_main_loop_quit (loop);
}

static int
serve (int argc, char **argv)
{
  g_auto (SimOptions) options = { .signal = -1 };
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SimIdentity) identity = NULL;
  g_autoptr (SimModem) modem = NULL;
  g_autoptr (SimServer) server = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  guint sigterm_id;
  guint sigint_id;
  const GOptionEntry entries[] = {
    { "port", 'p', 0, G_OPTION_ARG_STRING, &options.port, "Abstract socket to serve",
      "abstract:NAME" },
    { "log", 'l', 0, G_OPTION_ARG_FILENAME, &options.log_path,
      "Append the AT dialogue to FILE (default: stderr)", "FILE" },
    { "log-personal-info", 0, 0, G_OPTION_ARG_NONE, &options.log_personal_info,
      "Log phone numbers unmasked", NULL },
    { "print-ready", 0, 0, G_OPTION_ARG_NONE, &options.print_ready,
      "Print READY on stdout once both sockets listen", NULL },
    { "manufacturer", 0, 0, G_OPTION_ARG_STRING, &options.manufacturer,
      "AT+CGMI (default Reachcell)", "TEXT" },
    { "model", 0, 0, G_OPTION_ARG_STRING, &options.model, "AT+CGMM (default SimModem 1)", "TEXT" },
    { "revision", 0, 0, G_OPTION_ARG_STRING, &options.revision, "AT+CGMR (default 1.0.0)", "TEXT" },
    { "imei", 0, 0, G_OPTION_ARG_STRING, &options.imei, "15 digits (default 358240051111110)",
      "DIGITS" },
    { "imsi", 0, 0, G_OPTION_ARG_STRING, &options.imsi, "6-15 digits (default 262011234567890)",
      "DIGITS" },
    { "iccid", 0, 0, G_OPTION_ARG_STRING, &options.iccid,
      "19-20 digits (default 89490200001234567890)", "DIGITS" },
    { "own-number", 0, 0, G_OPTION_ARG_STRING, &options.own_number,
      "AT+CNUM number (default +4915790000001)", "+E164" },
    { "no-own-number", 0, 0, G_OPTION_ARG_NONE, &options.no_own_number,
      "The SIM stores no own number", NULL },
    { "operator-name", 0, 0, G_OPTION_ARG_STRING, &options.operator_name,
      "Network name, at most 16 characters (default Sim Telekom)", "TEXT" },
    { "operator-code", 0, 0, G_OPTION_ARG_STRING, &options.operator_code, "MCC+MNC (default 26201)",
      "DIGITS" },
    { "country", 0, 0, G_OPTION_ARG_STRING, &options.country,
      "ISO 3166 alpha-2, informational (default DE)", "CC" },
    { "signal", 0, 0, G_OPTION_ARG_INT, &options.signal, "Signal quality 0-100 (default 75)",
      "PERCENT" },
    { "registration", 0, 0, G_OPTION_ARG_STRING, &options.registration,
      "home, roaming, searching, denied or idle (default home)", "STATE" },
    { NULL },
  };

  context = g_option_context_new ("- simulated AT voice modem");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context, description);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return fail ("invalid arguments", error);
  if (argc > 1) {
    g_set_error (&error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "unexpected argument '%s'",
                 argv[1]);
    return fail ("invalid arguments", error);
  }
  if (!validate_port (options.port, &error))
    return fail ("invalid arguments", error);
  identity = build_identity (&options, &error);
  if (identity == NULL)
    return fail ("invalid arguments", error);

  rc_log_set_personal_info (options.log_personal_info);
  if (!sim_log_open (options.log_path, &error))
    return fail ("cannot log", error);

  modem = sim_modem_new (g_steal_pointer (&identity));
  server = sim_server_new (modem, options.port);
  if (!sim_server_start (server, &error)) {
    sim_log_close ();
    return fail ("cannot start", error);
  }

  loop = g_main_loop_new (NULL, FALSE);
  sigterm_id = g_unix_signal_add (SIGTERM, on_quit_signal, loop);
  sigint_id = g_unix_signal_add (SIGINT, on_quit_signal, loop);
  g_signal_connect (server, "quit-requested", G_CALLBACK (on_quit_requested), loop);

  if (options.print_ready) {
    fputs ("READY\n", stdout);
    fflush (stdout);
  }
  g_main_loop_run (loop);

  sim_log_note ("exiting");
  g_source_remove (sigterm_id);
  g_source_remove (sigint_id);
  g_clear_object (&server);
  g_clear_object (&modem);
  sim_log_close ();
  return EXIT_SUCCESS;
}

/* ------------------------------------------------------------------------------------------ */
/* Control client */

static int
ctl_usage (const char *message)
{
  g_printerr ("reachcell-modem-sim ctl: %s\n"
              "usage: reachcell-modem-sim ctl --port abstract:NAME COMMAND [ARGS...]\n"
              "       (reachcell-modem-sim --help lists the commands)\n",
              message);
  return SIM_EXIT_CTL_CONNECTION;
}

static int
ctl (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) words = g_ptr_array_new ();
  g_autoptr (GSocketClient) client = NULL;
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (GDataInputStream) input = NULL;
  g_autofree char *control_name = NULL;
  g_autofree char *command = NULL;
  g_autofree char *request = NULL;
  const char *port = NULL;
  gboolean options_done = FALSE;

  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];

    if (!options_done && port == NULL && (strcmp (arg, "--port") == 0 || strcmp (arg, "-p") == 0)) {
      if (i + 1 >= argc)
        return ctl_usage ("--port needs a value");
      port = argv[++i];
    } else if (!options_done && port == NULL && g_str_has_prefix (arg, "--port=")) {
      port = arg + strlen ("--port=");
    } else if (!options_done && strcmp (arg, "--") == 0) {
      options_done = TRUE;
    } else {
      if (strpbrk (arg, " \t\r\n") != NULL || arg[0] == '\0')
        return ctl_usage ("arguments must be single words");
      options_done = TRUE;
      g_ptr_array_add (words, (gpointer)arg);
    }
  }
  if (!validate_port (port, &error))
    return ctl_usage (error->message);
  if (words->len == 0)
    return ctl_usage ("no command given");
  g_ptr_array_add (words, NULL);
  command = g_strjoinv (" ", (char **)words->pdata);

  control_name = sim_server_dup_control_name (port);
  address = g_unix_socket_address_new_with_type (control_name, -1, G_UNIX_SOCKET_ADDRESS_ABSTRACT);
  client = g_socket_client_new ();
  g_socket_client_set_timeout (client, SIM_CTL_TIMEOUT_S);
  connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, &error);
  if (connection == NULL) {
    g_printerr ("reachcell-modem-sim ctl: cannot connect to %s: %s\n", control_name,
                error->message);
    return SIM_EXIT_CTL_CONNECTION;
  }
  request = g_strconcat (command, "\n", NULL);
  if (!g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)), request,
                                  strlen (request), NULL, NULL, &error)) {
    g_printerr ("reachcell-modem-sim ctl: cannot send: %s\n", error->message);
    return SIM_EXIT_CTL_CONNECTION;
  }

  input = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  for (;;) {
    g_autofree char *line = g_data_input_stream_read_line (input, NULL, NULL, &error);

    if (line == NULL) {
      g_printerr ("reachcell-modem-sim ctl: no reply: %s\n",
                  error != NULL ? error->message : "connection closed");
      return SIM_EXIT_CTL_CONNECTION;
    }
    puts (line);
    if (strcmp (line, "OK") == 0 || g_str_has_prefix (line, "OK "))
      return EXIT_SUCCESS;
    if (strcmp (line, "ERROR") == 0 || g_str_has_prefix (line, "ERROR "))
      return SIM_EXIT_CTL_ERROR;
  }
}

int
main (int argc, char *argv[])
{
  if (argc > 1 && strcmp (argv[1], "ctl") == 0)
    return ctl (argc - 1, argv + 1);
  return serve (argc, argv);
}
