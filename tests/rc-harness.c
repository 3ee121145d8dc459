/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "rc-harness"

#include "config.h"

#include "rc-harness.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <string.h>
#include <unistd.h>

#define RC_HARNESS_STOP_TIMEOUT 10
#define RC_HARNESS_POLL_MS 50
/* Under valgrind memcheck reachcelld runs 10-30 times slower: every deadline is this much
 * longer there (RC_TEST_TIMEOUT_FACTOR overrides it). */
#define RC_HARNESS_VALGRIND_TIMEOUT_FACTOR 10
/* valgrind's exit status when it found an error (--error-exitcode). */
#define RC_HARNESS_VALGRIND_EXIT_CODE 99
#define RC_HARNESS_VALGRIND_LOG_KEY "rc-harness-valgrind-log"
#define RC_HARNESS_DAEMON_LOG_KEY "rc-harness-daemon-log"
#define RC_HARNESS_DAEMON_LOG_CHECKED_KEY "rc-harness-daemon-log-checked"
#define RC_HARNESS_VALGRIND_CHECKED_KEY "rc-harness-valgrind-checked"
#define MM_TEST_PATH "/org/freedesktop/ModemManager1"
#define MM_TEST_INTERFACE "org.freedesktop.ModemManager1.Test"

struct _RcHarnessSim {
  char *id;
  char *port;
  char *log_path;
  char *imei;
  GPtrArray *argv;
  GSubprocess *process;
};

struct _RcHarness {
  char *name;
  char *dir;
  char *bus_address;
  GSubprocess *bus;
  GSubprocess *modemmanager;
  guint modemmanager_runs;
  GDBusConnection *connection;
  MMManager *manager;
  GPtrArray *sims;  /* RcHarnessSim */
  GPtrArray *extra; /* GSubprocess started through rc_harness_spawn () */
  guint daemon_runs;
};

/* Daemon instances whose valgrind log showed an error or a definite leak, in this process. */
static guint valgrind_failures;
/* Daemon instances whose log showed a GLib critical or a library's failed runtime check. */
static guint log_failures;

static void
rc_harness_sim_free (RcHarnessSim *sim)
{
  g_free (sim->id);
  g_free (sim->port);
  g_free (sim->log_path);
  g_free (sim->imei);
  g_clear_pointer (&sim->argv, g_ptr_array_unref);
  g_clear_object (&sim->process);
  g_free (sim);
}

static void
child_setup (gpointer user_data)
{
  /* The kernel stops our children when the test process dies, even on abort (). */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* RC_TEST_VALGRIND=1 (the `valgrind` test setup): rc_harness_start_daemon () runs reachcelld
 * under valgrind memcheck, and a daemon instance that ends with a memory error or a definite
 * leak fails the test. */
static gboolean
valgrind_enabled (void)
{
  return g_strcmp0 (g_getenv ("RC_TEST_VALGRIND"), "1") == 0;
}

static guint
timeout_factor (void)
{
  const char *factor = g_getenv ("RC_TEST_TIMEOUT_FACTOR");
  guint64 value;

  if (factor != NULL && g_ascii_string_to_unsigned (factor, 10, 1, 1000, &value, NULL))
    return (guint)value;
  return valgrind_enabled () ? RC_HARNESS_VALGRIND_TIMEOUT_FACTOR : 1;
}

/* Lines of a memcheck log that report a memory error as it happens: an instance that was killed
 * wrote no summary, but what it found before is there. */
static gboolean
is_valgrind_error_line (const char *line)
{
  const char *markers[] = { "Invalid read",      "Invalid write",
                            "Invalid free",      "Mismatched free",
                            "Conditional jump",  "Use of uninitialised",
                            "Syscall param",     "Source and destination overlap",
                            "Argument 'size' of" };
  const char *text = strstr (line, "== ");

  if (!g_str_has_prefix (line, "==") || text == NULL)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (markers); i++)
    if (g_str_has_prefix (text + 3, markers[i]))
      return TRUE;
  return FALSE;
}

/* Judges a daemon instance that has exited by its valgrind log. An instance that ended by itself
 * or on SIGTERM must end with "ERROR SUMMARY: 0 errors" (memory errors and definite leaks both
 * count); one killed with SIGKILL wrote no summary and no leak report, and fails only on an
 * error it logged before. Prints the log, marks the test failed and returns FALSE on failure. */
static gboolean
check_valgrind_log (GSubprocess *process)
{
  const char *path = g_object_get_data (G_OBJECT (process), RC_HARNESS_VALGRIND_LOG_KEY);
  g_autofree char *log = NULL;
  g_auto (GStrv) lines = NULL;
  gboolean summary = FALSE;
  gboolean clean = TRUE;
  gboolean killed;

  if (path == NULL || g_object_get_data (G_OBJECT (process), RC_HARNESS_VALGRIND_CHECKED_KEY))
    return TRUE;
  g_object_set_data (G_OBJECT (process), RC_HARNESS_VALGRIND_CHECKED_KEY, GINT_TO_POINTER (1));
  killed = g_subprocess_get_if_signaled (process) && g_subprocess_get_term_sig (process) == SIGKILL;
  if (g_file_get_contents (path, &log, NULL, NULL)) {
    lines = g_strsplit (log, "\n", -1);
    for (guint i = 0; lines[i] != NULL; i++) {
      const char *summary_text = strstr (lines[i], "ERROR SUMMARY: ");

      if (summary_text != NULL) {
        summary = TRUE;
        if (!g_str_has_prefix (summary_text, "ERROR SUMMARY: 0 errors"))
          clean = FALSE;
      } else if (is_valgrind_error_line (lines[i])) {
        clean = FALSE;
      }
    }
  }
  if (!summary && !killed)
    clean = FALSE;
  if (g_subprocess_get_if_exited (process)
      && g_subprocess_get_exit_status (process) == RC_HARNESS_VALGRIND_EXIT_CODE)
    clean = FALSE;
  if (!clean) {
    valgrind_failures++;
    g_printerr (
        "%s\n# valgrind: reachcelld had a memory error or a definite leak (above; log kept: "
        "%s)\n",
        log != NULL ? log : "(no log)", path);
    g_test_fail ();
  }
  return clean;
}

/* Judges a daemon instance that has exited by its own log: a GLib critical, or a library's
 * "runtime check failed" warning (g_warn_if_fail), is a bug in how the daemon uses it, whatever
 * the test was about. Prints the lines, marks the test failed and returns FALSE on failure. */
static gboolean
check_daemon_log (GSubprocess *process)
{
  static const char *const markers[] = { "-CRITICAL **", "runtime check failed" };
  const char *path = g_object_get_data (G_OBJECT (process), RC_HARNESS_DAEMON_LOG_KEY);
  g_autofree char *log = NULL;
  g_auto (GStrv) lines = NULL;
  gboolean clean = TRUE;

  if (path == NULL || g_object_get_data (G_OBJECT (process), RC_HARNESS_DAEMON_LOG_CHECKED_KEY))
    return TRUE;
  g_object_set_data (G_OBJECT (process), RC_HARNESS_DAEMON_LOG_CHECKED_KEY, GINT_TO_POINTER (1));
  if (!g_file_get_contents (path, &log, NULL, NULL))
    return TRUE;
  lines = g_strsplit (log, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    for (guint m = 0; m < G_N_ELEMENTS (markers); m++) {
      if (strstr (lines[i], markers[m]) != NULL) {
        g_printerr ("# %s: %s\n", path, lines[i]);
        clean = FALSE;
      }
    }
  }
  if (!clean) {
    log_failures++;
    g_test_fail ();
  }
  return clean;
}

const RcSimSpec rc_harness_sim0 = {
  .id = "sim0",
  .imei = "356938035643809",
  .imsi = "262011234567890",
  .iccid = "89490200001234567894",
  .own_number = "+4915100000001",
  .operator_code = "26201",
};

const RcSimSpec rc_harness_sim1 = {
  .id = "sim1",
  .imei = "356938035643817",
  .imsi = "262029876543210",
  .iccid = "89490200009876543215",
  .own_number = "+4915100000002",
  .operator_code = "26202",
};

const char *
rc_harness_find_program (const char *name)
{
  static GHashTable *found;
  const char *build_root = g_getenv ("RC_BUILD_ROOT");
  const char *cached;
  char *path = NULL;

  if (found == NULL)
    found = g_hash_table_new (g_str_hash, g_str_equal);
  cached = g_hash_table_lookup (found, name);
  if (cached != NULL)
    return cached;

  if (build_root != NULL && g_getenv ("RC_USE_INSTALLED") == NULL) {
    const char *subdirs[] = { "src", "src/modem-sim", "tools" };

    for (guint i = 0; i < G_N_ELEMENTS (subdirs) && path == NULL; i++) {
      g_autofree char *candidate = g_build_filename (build_root, subdirs[i], name, NULL);

      if (g_file_test (candidate, G_FILE_TEST_IS_EXECUTABLE))
        path = g_steal_pointer (&candidate);
    }
  }
  if (path == NULL)
    path = g_find_program_in_path (name);
  if (path == NULL && g_str_equal (name, "ModemManager"))
    path = g_strdup ("/usr/sbin/ModemManager");
  if (path == NULL)
    g_error ("program %s not found (set RC_BUILD_ROOT or PATH)", name);

  g_hash_table_insert (found, g_strdup (name), path);
  return path;
}

RcHarness *
rc_harness_new (const char *name)
{
  RcHarness *self = g_new0 (RcHarness, 1);
  const char *base = g_getenv ("RC_TEST_LOG_DIR");
  g_autofree char *leaf = NULL;

  self->name = g_strdelimit (g_strdup (name), "/ ", '-');
  self->sims = g_ptr_array_new_with_free_func ((GDestroyNotify)rc_harness_sim_free);
  self->extra = g_ptr_array_new_with_free_func (g_object_unref);
  leaf = g_strdup_printf ("%s-%d", self->name, (int)getpid ());
  if (base == NULL)
    base = g_get_tmp_dir ();
  self->dir = g_build_filename (base, leaf, NULL);
  g_assert_cmpint (g_mkdir_with_parents (self->dir, 0700), ==, 0);
  return self;
}

const char *
rc_harness_get_dir (RcHarness *self)
{
  return self->dir;
}

const char *
rc_harness_get_bus_address (RcHarness *self)
{
  return self->bus_address;
}

GDBusConnection *
rc_harness_get_connection (RcHarness *self)
{
  return self->connection;
}

MMManager *
rc_harness_get_manager (RcHarness *self)
{
  return self->manager;
}

/* @environment: NULL or "NAME", "value" pairs, NULL-terminated, set in the child. */
static GSubprocess *
spawn_with_environment (RcHarness *self,
                        const char *log_name,
                        GSubprocessFlags flags,
                        const char *const *argv,
                        const char *const *environment)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (flags);
  g_autoptr (GError) error = NULL;
  GSubprocess *process;

  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  if (log_name != NULL) {
    g_autofree char *path = g_build_filename (self->dir, log_name, NULL);

    if (!(flags & G_SUBPROCESS_FLAGS_STDERR_MERGE) && !(flags & G_SUBPROCESS_FLAGS_STDERR_PIPE))
      g_subprocess_launcher_set_stderr_file_path (launcher, path);
  }
  if (self->bus_address != NULL) {
    g_subprocess_launcher_setenv (launcher, "DBUS_SYSTEM_BUS_ADDRESS", self->bus_address, TRUE);
    g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS", self->bus_address, TRUE);
  }
  for (guint i = 0; environment != NULL && environment[i] != NULL; i += 2)
    g_subprocess_launcher_setenv (launcher, environment[i], environment[i + 1], TRUE);
  process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  return process;
}

GSubprocess *
rc_harness_spawn (RcHarness *self,
                  const char *log_name,
                  GSubprocessFlags flags,
                  const char *const *argv)
{
  return spawn_with_environment (self, log_name, flags, argv, NULL);
}

static void
on_wait_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  gboolean *done = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *done = TRUE;
}

static gboolean
is_true (gpointer user_data)
{
  return *(gboolean *)user_data;
}

gboolean
rc_harness_wait_process (GSubprocess *process, guint timeout_seconds)
{
  gboolean done = FALSE;
  gboolean exited;

  g_subprocess_wait_async (process, NULL, on_wait_ready, &done);
  exited = rc_harness_wait_for (is_true, &done, timeout_seconds);
  if (!exited) {
    /* The pending wait holds a pointer to `done`: make the child go and collect it. */
    g_subprocess_force_exit (process);
    while (!done)
      g_main_context_iteration (NULL, TRUE);
  }
  check_valgrind_log (process);
  check_daemon_log (process);
  return exited;
}

void
rc_harness_stop_process (RcHarness *self, GSubprocess **process, int signal_number)
{
  if (*process == NULL)
    return;
  if (g_subprocess_get_identifier (*process) != NULL) {
    g_subprocess_send_signal (*process, signal_number);
    if (!rc_harness_wait_process (*process, RC_HARNESS_STOP_TIMEOUT))
      g_printerr ("# %s: process did not stop on signal %d, killed\n", self->name, signal_number);
  }
  g_clear_object (process);
}

typedef struct {
  gint64 deadline;
  gboolean timed_out;
} WaitData;

static gboolean
on_deadline (gpointer user_data)
{
  WaitData *data = user_data;

  data->timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
on_tick (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

gboolean
rc_harness_wait_for (RcHarnessCondition condition, gpointer user_data, guint timeout_seconds)
{
  WaitData data = { 0 };
  guint timeout_id;
  guint tick_id;
  gboolean ok;

  timeout_id = g_timeout_add_seconds (timeout_seconds * timeout_factor (), on_deadline, &data);
  /* Conditions may also be polled (a D-Bus property read, a file): wake up now and then even
   * when no event arrives. */
  tick_id = g_timeout_add (RC_HARNESS_POLL_MS, on_tick, NULL);
  while (!(ok = condition (user_data)) && !data.timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!data.timed_out)
    g_source_remove (timeout_id);
  g_source_remove (tick_id);
  return ok;
}

static gboolean
on_spin_done (gpointer user_data)
{
  *(gboolean *)user_data = TRUE;
  return G_SOURCE_REMOVE;
}

void
rc_harness_spin (guint milliseconds)
{
  gboolean done = FALSE;

  g_timeout_add (milliseconds, on_spin_done, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

/* The command line that runs reachcelld under valgrind memcheck, logging to @log_path: memory
 * errors and definite leaks count as errors (exit status 99), GLib's own suppressions and ours
 * (tests/valgrind.supp) apply. RC_TEST_VALGRIND_ARGS adds options (e.g. --gen-suppressions=all). */
static GPtrArray *
valgrind_argv (const char *log_path)
{
  GPtrArray *argv = g_ptr_array_new_with_free_func (g_free);
  const char *srcdir = g_getenv ("G_TEST_SRCDIR");
  const char *extra = g_getenv ("RC_TEST_VALGRIND_ARGS");

  g_ptr_array_add (argv, g_strdup ("valgrind"));
  g_ptr_array_add (argv, g_strdup ("--tool=memcheck"));
  g_ptr_array_add (argv, g_strdup ("--leak-check=full"));
  g_ptr_array_add (argv, g_strdup ("--show-leak-kinds=definite"));
  g_ptr_array_add (argv, g_strdup ("--errors-for-leak-kinds=definite"));
  g_ptr_array_add (argv, g_strdup_printf ("--error-exitcode=%d", RC_HARNESS_VALGRIND_EXIT_CODE));
  g_ptr_array_add (argv, g_strdup ("--num-callers=40"));
  g_ptr_array_add (argv, g_strdup ("--suppressions=/usr/share/glib-2.0/valgrind/glib.supp"));
  g_ptr_array_add (argv,
                   g_strdup_printf ("--suppressions=%s/valgrind.supp", srcdir ? srcdir : "."));
  g_ptr_array_add (argv, g_strdup_printf ("--log-file=%s", log_path));
  if (extra != NULL) {
    g_auto (GStrv) words = NULL;

    g_assert_true (g_shell_parse_argv (extra, NULL, &words, NULL));
    for (guint i = 0; words[i] != NULL; i++)
      g_ptr_array_add (argv, g_strdup (words[i]));
  }
  return argv;
}

GSubprocess *
rc_harness_start_daemon (
    RcHarness *self, const char *config, const char *database, const char *log_name, char **out_url)
{
  g_autofree char *database_arg = g_strdup_printf ("--database=%s", database);
  g_autofree char *config_arg = g_strdup_printf ("--config=%s", config);
  g_autofree char *ready = NULL;
  g_autofree char *valgrind_log = NULL;
  g_autoptr (GPtrArray) argv = NULL;
  const char *daemon_args[] = { rc_harness_find_program ("reachcelld"),
                                config_arg,
                                database_arg,
                                "--listen=127.0.0.1:0",
                                "--print-ready",
                                "--verbose" };
  const char *g_debug = g_getenv ("G_DEBUG");
  g_autofree char *valgrind_g_debug = g_debug != NULL && *g_debug != '\0'
                                          ? g_strconcat (g_debug, ",gc-friendly", NULL)
                                          : g_strdup ("gc-friendly");
  /* GLib's slice allocator would hide leaks from valgrind; gc-friendly clears freed pointers
   * (so stale ones do not keep memory "reachable"). */
  const char *valgrind_environment[]
      = { "G_SLICE", "always-malloc", "G_DEBUG", valgrind_g_debug, NULL };
  GSubprocess *daemon;

  self->daemon_runs++;
  if (valgrind_enabled ()) {
    g_autofree char *leaf = g_strdup_printf ("valgrind-%u-%s", self->daemon_runs, log_name);

    valgrind_log = g_build_filename (self->dir, leaf, NULL);
    argv = valgrind_argv (valgrind_log);
  } else {
    argv = g_ptr_array_new_with_free_func (g_free);
  }
  for (guint i = 0; i < G_N_ELEMENTS (daemon_args); i++)
    g_ptr_array_add (argv, g_strdup (daemon_args[i]));
  g_ptr_array_add (argv, NULL);

  daemon = spawn_with_environment (self, log_name, G_SUBPROCESS_FLAGS_STDOUT_PIPE,
                                   (const char *const *)argv->pdata,
                                   valgrind_log != NULL ? valgrind_environment : NULL);
  if (valgrind_log != NULL)
    g_object_set_data_full (G_OBJECT (daemon), RC_HARNESS_VALGRIND_LOG_KEY,
                            g_steal_pointer (&valgrind_log), g_free);
  g_object_set_data_full (G_OBJECT (daemon), RC_HARNESS_DAEMON_LOG_KEY,
                          g_build_filename (self->dir, log_name, NULL), g_free);
  rc_harness_adopt (self, daemon);
  ready = rc_harness_read_line (daemon, RC_HARNESS_TIMEOUT);
  if (ready == NULL || !g_str_has_prefix (ready, "READY http://127.0.0.1:")) {
    g_autofree char *path = g_build_filename (self->dir, log_name, NULL);
    g_autofree char *log = NULL;

    g_file_get_contents (path, &log, NULL, NULL);
    g_error ("reachcelld did not get ready: %s\n%s", ready, log);
  }
  *out_url = g_strdup (ready + strlen ("READY "));
  return daemon;
}

void
rc_harness_adopt (RcHarness *self, GSubprocess *process)
{
  g_ptr_array_add (self->extra, g_object_ref (process));
}

typedef struct {
  char *line;
  gboolean done;
} ReadLineData;

static void
on_read_line_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ReadLineData *data = user_data;

  data->line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result,
                                                          NULL, NULL);
  data->done = TRUE;
}

char *
rc_harness_read_line (GSubprocess *process, guint timeout_seconds)
{
  g_autoptr (GDataInputStream) input = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  ReadLineData data = { 0 };

  input = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (input), FALSE);
  g_data_input_stream_read_line_async (input, G_PRIORITY_DEFAULT, cancellable, on_read_line_ready,
                                       &data);
  if (!rc_harness_wait_for (is_true, &data.done, timeout_seconds)) {
    g_cancellable_cancel (cancellable);
    while (!data.done)
      g_main_context_iteration (NULL, TRUE);
  }
  return data.line;
}

void
rc_harness_start_bus (RcHarness *self)
{
  g_autofree char *config_path = g_build_filename (self->dir, "bus.conf", NULL);
  g_autofree char *config = NULL;
  g_autofree char *line = NULL;
  g_autoptr (GError) error = NULL;
  const char *argv[] = { "dbus-daemon", "--nofork", "--print-address=1", NULL, NULL };
  g_autofree char *config_arg = NULL;

  /* A system-typed bus so that clients using G_BUS_TYPE_SYSTEM accept it; allow-all policy and
   * no service activation: everything on it is started by us. */
  config = g_strdup_printf (
      "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
      " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
      "<busconfig>\n"
      "  <type>system</type>\n"
      "  <listen>unix:dir=%s</listen>\n"
      "  <auth>EXTERNAL</auth>\n"
      "  <policy context=\"default\">\n"
      "    <allow user=\"*\"/>\n"
      "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
      "    <allow eavesdrop=\"true\"/>\n"
      "    <allow own=\"*\"/>\n"
      "  </policy>\n"
      "</busconfig>\n",
      self->dir);
  g_assert_true (g_file_set_contents (config_path, config, -1, &error));
  g_assert_no_error (error);
  config_arg = g_strdup_printf ("--config-file=%s", config_path);
  argv[3] = config_arg;

  self->bus = rc_harness_spawn (self, "dbus.log", G_SUBPROCESS_FLAGS_STDOUT_PIPE, argv);
  line = rc_harness_read_line (self->bus, RC_HARNESS_TIMEOUT);
  g_assert_nonnull (line);
  self->bus_address = g_strdup (g_strstrip (line));
  g_setenv ("DBUS_SYSTEM_BUS_ADDRESS", self->bus_address, TRUE);

  self->connection = g_dbus_connection_new_for_address_sync (
      self->bus_address,
      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
          | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
      NULL, NULL, &error);
  g_assert_no_error (error);
  g_dbus_connection_set_exit_on_close (self->connection, FALSE);
}

/* Asks the bus itself: the object manager's cached owner may still name a killed instance. */
static gboolean
modemmanager_has_owner (gpointer user_data)
{
  RcHarness *self = user_data;
  g_autoptr (GVariant) reply = NULL;
  gboolean has_owner = FALSE;

  reply = g_dbus_connection_call_sync (
      self->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
      "NameHasOwner", g_variant_new ("(s)", MM_DBUS_SERVICE), G_VARIANT_TYPE ("(b)"),
      G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
  if (reply != NULL)
    g_variant_get (reply, "(b)", &has_owner);
  return has_owner;
}

void
rc_harness_start_modemmanager (RcHarness *self)
{
  g_autofree char *log_name = NULL;
  g_autofree char *log_arg = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_null (self->modemmanager);
  log_name = g_strdup_printf ("modemmanager-%u.log", ++self->modemmanager_runs);
  {
    g_autofree char *log_path = g_build_filename (self->dir, log_name, NULL);
    const char *argv[] = { rc_harness_find_program ("ModemManager"),
                           "--test-session",
                           "--test-enable",
                           "--test-no-udev",
                           "--test-no-qrtr",
                           "--debug",
                           "--log-level=DEBUG",
                           NULL,
                           NULL };

    log_arg = g_strdup_printf ("--log-file=%s", log_path);
    argv[7] = log_arg;
    self->modemmanager
        = rc_harness_spawn (self, "modemmanager-stderr.log", G_SUBPROCESS_FLAGS_NONE, argv);
  }

  if (self->manager == NULL) {
    self->manager = mm_manager_new_sync (
        self->connection, G_DBUS_OBJECT_MANAGER_CLIENT_FLAGS_DO_NOT_AUTO_START, NULL, &error);
    g_assert_no_error (error);
  }
  g_assert_true (rc_harness_wait_for (modemmanager_has_owner, self, RC_HARNESS_TIMEOUT));
}

void
rc_harness_stop_modemmanager (RcHarness *self, int signal_number)
{
  rc_harness_stop_process (self, &self->modemmanager, signal_number);
}

static void
set_profile (RcHarness *self, const char *id, const char *port)
{
  const char *ports[] = { port, NULL };
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;

  reply = g_dbus_connection_call_sync (
      self->connection, MM_DBUS_SERVICE, MM_TEST_PATH, MM_TEST_INTERFACE, "SetProfile",
      g_variant_new ("(ss^as)", id, "generic", ports), NULL, G_DBUS_CALL_FLAGS_NONE,
      RC_HARNESS_TIMEOUT * 1000, NULL, &error);
  g_assert_no_error (error);
}

MMObject *
rc_harness_sim_find_modem (RcHarness *self, RcHarnessSim *sim)
{
  GList *objects = g_dbus_object_manager_get_objects (G_DBUS_OBJECT_MANAGER (self->manager));
  MMObject *found = NULL;

  for (GList *l = objects; l != NULL; l = l->next) {
    MMModem *modem = mm_object_peek_modem (MM_OBJECT (l->data));

    if (found == NULL && modem != NULL
        && g_strcmp0 (mm_modem_get_equipment_identifier (modem), sim->imei) == 0)
      found = g_object_ref (MM_OBJECT (l->data));
  }
  g_list_free_full (objects, g_object_unref);
  return found;
}

typedef struct {
  RcHarness *self;
  RcHarnessSim *sim;
  MMModemState state; /* wanted; MM_MODEM_STATE_UNKNOWN: just present */
  gboolean absent;    /* wanted: no such modem */
} ModemWait;

static gboolean
modem_matches (gpointer user_data)
{
  ModemWait *wait = user_data;
  g_autoptr (MMObject) object = rc_harness_sim_find_modem (wait->self, wait->sim);

  if (wait->absent)
    return object == NULL;
  if (object == NULL)
    return FALSE;
  if (wait->state == MM_MODEM_STATE_UNKNOWN)
    return mm_modem_get_state (mm_object_peek_modem (object)) >= MM_MODEM_STATE_DISABLED;
  return mm_modem_get_state (mm_object_peek_modem (object)) >= wait->state;
}

static void
wait_modem (RcHarness *self, RcHarnessSim *sim, MMModemState state, gboolean absent)
{
  ModemWait wait = { self, sim, state, absent };

  if (!rc_harness_wait_for (modem_matches, &wait, RC_HARNESS_TIMEOUT))
    g_error ("modem %s did not become %s within %d s (logs in %s)", sim->id,
             absent ? "absent" : mm_modem_state_get_string (state), RC_HARNESS_TIMEOUT, self->dir);
}

typedef struct {
  RcHarness *self;
  RcHarnessSim *sim;
  char *enabled_path; /* the modem object we last asked to enable */
} PlugWait;

/* ModemManager may replace a modem object while it settles (a port reopened after probing):
 * enable whatever object carries the simulator's IMEI until one is registered. */
static gboolean
modem_registered (gpointer user_data)
{
  PlugWait *wait = user_data;
  g_autoptr (MMObject) object = rc_harness_sim_find_modem (wait->self, wait->sim);
  MMModem *modem;

  if (object == NULL)
    return FALSE;
  modem = mm_object_peek_modem (object);
  if (mm_modem_get_state (modem) >= MM_MODEM_STATE_REGISTERED)
    return mm_object_peek_modem_voice (object) != NULL;
  if (mm_modem_get_state (modem) == MM_MODEM_STATE_DISABLED
      && g_strcmp0 (wait->enabled_path, mm_modem_get_path (modem)) != 0) {
    g_free (wait->enabled_path);
    wait->enabled_path = g_strdup (mm_modem_get_path (modem));
    mm_modem_enable (modem, NULL, NULL, NULL);
  }
  return FALSE;
}

void
rc_harness_plug_sim (RcHarness *self, RcHarnessSim *sim)
{
  PlugWait wait = { self, sim, NULL };
  gboolean ok;

  set_profile (self, sim->id, sim->port);
  ok = rc_harness_wait_for (modem_registered, &wait, RC_HARNESS_TIMEOUT);
  g_free (wait.enabled_path);
  if (!ok)
    g_error ("modem %s did not become registered with voice within %d s (logs in %s)", sim->id,
             RC_HARNESS_TIMEOUT, self->dir);
}

void
rc_harness_replug_all (RcHarness *self)
{
  for (guint i = 0; i < self->sims->len; i++)
    rc_harness_plug_sim (self, g_ptr_array_index (self->sims, i));
}

void
rc_harness_unplug_by_profile (RcHarness *self, RcHarnessSim *sim)
{
  g_autofree char *nowhere = g_strdup_printf ("%s-unplugged", sim->port);

  /* Replacing the profile removes the old modem at once; nothing listens on the new port, so
   * no new modem appears. */
  set_profile (self, sim->id, nowhere);
  wait_modem (self, sim, MM_MODEM_STATE_UNKNOWN, TRUE);
}

static void
start_sim_process (RcHarness *self, RcHarnessSim *sim)
{
  g_autofree char *line = NULL;

  sim->process = rc_harness_spawn (self, NULL, G_SUBPROCESS_FLAGS_STDOUT_PIPE,
                                   (const char *const *)sim->argv->pdata);
  line = rc_harness_read_line (sim->process, RC_HARNESS_TIMEOUT);
  if (g_strcmp0 (line, "READY") != 0)
    g_error ("simulator %s did not get ready (got %s; log %s)", sim->id, line, sim->log_path);
}

RcHarnessSim *
rc_harness_add_sim (RcHarness *self, const RcSimSpec *spec)
{
  RcHarnessSim *sim = g_new0 (RcHarnessSim, 1);
  g_autofree char *log_name = g_strdup_printf ("at-%s.log", spec->id);

  sim->id = g_strdup (spec->id);
  sim->imei = g_strdup (spec->imei);
  sim->port = g_strdup_printf ("abstract:rc-%d-%s-%s", (int)getpid (), self->name, spec->id);
  sim->log_path = g_build_filename (self->dir, log_name, NULL);
  sim->argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (sim->argv, g_strdup (rc_harness_find_program ("reachcell-modem-sim")));
  g_ptr_array_add (sim->argv, g_strdup_printf ("--port=%s", sim->port));
  g_ptr_array_add (sim->argv, g_strdup_printf ("--log=%s", sim->log_path));
  g_ptr_array_add (sim->argv, g_strdup ("--log-personal-info"));
  g_ptr_array_add (sim->argv, g_strdup ("--print-ready"));
  g_ptr_array_add (sim->argv, g_strdup_printf ("--imei=%s", spec->imei));
  if (spec->imsi != NULL)
    g_ptr_array_add (sim->argv, g_strdup_printf ("--imsi=%s", spec->imsi));
  if (spec->iccid != NULL)
    g_ptr_array_add (sim->argv, g_strdup_printf ("--iccid=%s", spec->iccid));
  if (spec->operator_code != NULL)
    g_ptr_array_add (sim->argv, g_strdup_printf ("--operator-code=%s", spec->operator_code));
  if (spec->own_number != NULL)
    g_ptr_array_add (sim->argv, g_strdup_printf ("--own-number=%s", spec->own_number));
  else
    g_ptr_array_add (sim->argv, g_strdup ("--no-own-number"));
  g_ptr_array_add (sim->argv, NULL);

  start_sim_process (self, sim);
  g_ptr_array_add (self->sims, sim);
  rc_harness_plug_sim (self, sim);
  return sim;
}

void
rc_harness_kill_sim (RcHarness *self, RcHarnessSim *sim)
{
  rc_harness_stop_process (self, &sim->process, SIGKILL);
}

const char *
rc_harness_sim_get_port (RcHarnessSim *sim)
{
  return sim->port;
}

const char *
rc_harness_sim_get_id (RcHarnessSim *sim)
{
  return sim->id;
}

const char *
rc_harness_sim_get_log (RcHarnessSim *sim)
{
  return sim->log_path;
}

static char *
sim_ctl_valist (RcHarness *self, RcHarnessSim *sim, GError **error, va_list args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocess) process = NULL;
  g_autofree char *port_arg = g_strdup_printf ("--port=%s", sim->port);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  const char *arg;

  g_ptr_array_add (argv, (gpointer)rc_harness_find_program ("reachcell-modem-sim"));
  g_ptr_array_add (argv, (gpointer) "ctl");
  g_ptr_array_add (argv, port_arg);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, (gpointer)arg);
  g_ptr_array_add (argv, NULL);

  process = rc_harness_spawn (self, NULL,
                              G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE,
                              (const char *const *)argv->pdata);
  if (!g_subprocess_communicate_utf8 (process, NULL, NULL, &out, &err, error))
    return NULL;
  if (!g_subprocess_get_if_exited (process) || g_subprocess_get_exit_status (process) != 0) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", out ? g_strstrip (out) : "failed");
    return NULL;
  }
  return g_steal_pointer (&out);
}

char *
rc_harness_sim_ctl (RcHarness *self, RcHarnessSim *sim, GError **error, ...)
{
  va_list args;
  char *out;

  va_start (args, error);
  out = sim_ctl_valist (self, sim, error, args);
  va_end (args);
  return out;
}

char *
rc_harness_sim_ctl_ok (RcHarness *self, RcHarnessSim *sim, ...)
{
  g_autoptr (GError) error = NULL;
  va_list args;
  char *out;

  va_start (args, sim);
  out = sim_ctl_valist (self, sim, &error, args);
  va_end (args);
  g_assert_no_error (error);
  return out;
}

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
    g_autofree char *child = g_build_filename (path, name, NULL);

    if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
      remove_tree (child);
    else
      g_unlink (child);
  }
  g_rmdir (path);
}

void
rc_harness_free (RcHarness *self)
{
  if (self == NULL)
    return;

  for (guint i = self->extra->len; i > 0; i--) {
    GSubprocess *process = g_object_ref (g_ptr_array_index (self->extra, i - 1));

    if (g_subprocess_get_identifier (process) != NULL)
      rc_harness_stop_process (self, &process, SIGTERM);
    g_clear_object (&process);
  }
  for (guint i = self->sims->len; i > 0; i--) {
    RcHarnessSim *sim = g_ptr_array_index (self->sims, i - 1);

    rc_harness_stop_process (self, &sim->process, SIGTERM);
  }
  rc_harness_stop_process (self, &self->modemmanager, SIGTERM);
  g_clear_object (&self->manager);
  if (self->connection != NULL)
    g_dbus_connection_close_sync (self->connection, NULL, NULL);
  g_clear_object (&self->connection);
  rc_harness_stop_process (self, &self->bus, SIGTERM);
  /* Daemon instances that ended without anyone waiting for them through the harness. */
  for (guint i = 0; i < self->extra->len; i++) {
    GSubprocess *process = g_ptr_array_index (self->extra, i);

    if (g_subprocess_get_identifier (process) == NULL) {
      check_valgrind_log (process);
      check_daemon_log (process);
    }
  }

  if (g_test_failed () || valgrind_failures > 0 || log_failures > 0
      || g_getenv ("RC_KEEP_LOGS") != NULL)
    g_printerr ("# logs kept in %s\n", self->dir);
  else
    remove_tree (self->dir);

  g_ptr_array_unref (self->sims);
  g_ptr_array_unref (self->extra);
  g_free (self->bus_address);
  g_free (self->name);
  g_free (self->dir);
  g_free (self);
  /* This runs after g_test_run () returned: only the exit status can still fail the test. */
  if (valgrind_failures > 0) {
    g_printerr ("# valgrind: %u reachcelld instance(s) with memory errors or definite leaks\n",
                valgrind_failures);
    exit (EXIT_FAILURE);
  }
  if (log_failures > 0) {
    g_printerr ("# %u reachcelld instance(s) logged GLib criticals or failed runtime checks\n",
                log_failures);
    exit (EXIT_FAILURE);
  }
}
