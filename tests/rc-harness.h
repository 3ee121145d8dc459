/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#pragma once

#include <gio/gio.h>
#include <libmm-glib.h>

G_BEGIN_DECLS

/*
 * RcHarness: a private system-typed dbus-daemon, the real /usr/sbin/ModemManager in test mode on
 * it, and any number of reachcell-modem-sim instances attached with Test.SetProfile.
 *
 * Every child gets PR_SET_PDEATHSIG, so a test that aborts on a failed assertion still takes its
 * processes with it; rc_harness_free () stops them by PID in reverse order. The logs (dbus, the
 * ModemManager debug log, each simulator's AT dialogue, the daemon's output) live in one
 * directory that is removed when the test passed and kept, with its path printed, when it failed.
 */

typedef struct _RcHarness RcHarness;
typedef struct _RcHarnessSim RcHarnessSim;

typedef struct {
  const char *id;   /* SetProfile id and simulator name, e.g. "sim0" */
  const char *imei; /* also the modem's EquipmentIdentifier, used to find it */
  const char *imsi;
  const char *iccid;
  const char *own_number; /* NULL: the SIM reports no own number */
  const char *operator_code;
} RcSimSpec;

/* Seconds; generous so a loaded CI machine does not fail a correct program. Every deadline the
 * harness waits for (rc_harness_wait_for () and what uses it) is 10 times longer under valgrind
 * (RC_TEST_VALGRIND=1), or RC_TEST_TIMEOUT_FACTOR times. */
#define RC_HARNESS_TIMEOUT 20

RcHarness *rc_harness_new (const char *name);
void rc_harness_free (RcHarness *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcHarness, rc_harness_free)

const char *rc_harness_get_dir (RcHarness *self);
const char *rc_harness_get_bus_address (RcHarness *self);
GDBusConnection *rc_harness_get_connection (RcHarness *self);
MMManager *rc_harness_get_manager (RcHarness *self);

void rc_harness_start_bus (RcHarness *self);
void rc_harness_start_modemmanager (RcHarness *self);
void rc_harness_stop_modemmanager (RcHarness *self, int signal_number);

RcHarnessSim *rc_harness_add_sim (RcHarness *self, const RcSimSpec *spec);

/* The two simulated modems most tests use: +4915100000001 on a German SIM of operator 26201,
 * and +4915100000002 on one of 26202, each reporting its own number. */
extern const RcSimSpec rc_harness_sim0;
extern const RcSimSpec rc_harness_sim1;
void rc_harness_plug_sim (RcHarness *self, RcHarnessSim *sim);
void rc_harness_replug_all (RcHarness *self);
void rc_harness_unplug_by_profile (RcHarness *self, RcHarnessSim *sim);
void rc_harness_kill_sim (RcHarness *self, RcHarnessSim *sim);
const char *rc_harness_sim_get_port (RcHarnessSim *sim);
const char *rc_harness_sim_get_id (RcHarnessSim *sim);
const char *rc_harness_sim_get_log (RcHarnessSim *sim);
MMObject *rc_harness_sim_find_modem (RcHarness *self, RcHarnessSim *sim);

/* Runs `reachcell-modem-sim ctl --port PORT ARGS…` and returns its stdout, or NULL with @error
 * (the reply's message) when it exits non-zero. */
char *
rc_harness_sim_ctl (RcHarness *self, RcHarnessSim *sim, GError **error, ...) G_GNUC_NULL_TERMINATED;
/* As above, asserting success. */
char *rc_harness_sim_ctl_ok (RcHarness *self, RcHarnessSim *sim, ...) G_GNUC_NULL_TERMINATED;

GSubprocess *rc_harness_spawn (RcHarness *self,
                               const char *log_name,
                               GSubprocessFlags flags,
                               const char *const *argv);
/* Starts the built reachcelld with @config and @database on 127.0.0.1 (a free port), its log in
 * the harness directory as @log_name, waits for "READY" and returns the process (adopted: it
 * is stopped by rc_harness_free ()) and the base URL ("http://127.0.0.1:PORT/"). A daemon that
 * does not get ready fails the test with its log.
 *
 * With RC_TEST_VALGRIND=1 (`meson test --setup valgrind`) the daemon runs under valgrind
 * memcheck (log: valgrind-N-@log_name); when the instance exits and the harness sees it
 * (rc_harness_wait_process (), rc_harness_stop_process (), rc_harness_free ()), a memory error
 * or a definite leak fails the test (after g_test_run (): rc_harness_free () exits 1). */
GSubprocess *rc_harness_start_daemon (RcHarness *self,
                                      const char *config,
                                      const char *database,
                                      const char *log_name,
                                      char **out_url);

/* Stopped (SIGTERM, then waited for) by rc_harness_free () if still running. */
void rc_harness_adopt (RcHarness *self, GSubprocess *process);
void rc_harness_stop_process (RcHarness *self, GSubprocess **process, int signal_number);
gboolean rc_harness_wait_process (GSubprocess *process, guint timeout_seconds);

/* Iterates the default main context until @condition returns TRUE or @timeout_seconds pass. */
typedef gboolean (*RcHarnessCondition) (gpointer user_data);
gboolean
rc_harness_wait_for (RcHarnessCondition condition, gpointer user_data, guint timeout_seconds);
/* Iterates the default main context for about @milliseconds (to let asynchronous replies and
 * signals land when a test asserts that something does NOT happen). */
void rc_harness_spin (guint milliseconds);

char *rc_harness_read_line (GSubprocess *process, guint timeout_seconds);
const char *rc_harness_find_program (const char *name);

G_END_DECLS
