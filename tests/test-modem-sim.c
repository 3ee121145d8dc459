/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "test-modem-sim"

#include "config.h"

#include "rc-harness.h"

#include <gio/gunixsocketaddress.h>
#include <signal.h>
#include <string.h>

/*
 * The simulated modem in front of the real ModemManager: identity, outbound and inbound call
 * flows, waiting calls, unplugging, and garbage on the AT port. Everything here talks to the real
 * /usr/sbin/ModemManager over a private bus, through libmm-glib.
 */

static RcHarness *
harness_with_modemmanager (void)
{
  RcHarness *harness = rc_harness_new (g_test_get_path () + 1);

  rc_harness_start_bus (harness);
  rc_harness_start_modemmanager (harness);
  return harness;
}

static MMModemVoice *
sim_voice (RcHarness *harness, RcHarnessSim *sim)
{
  g_autoptr (MMObject) object = rc_harness_sim_find_modem (harness, sim);

  g_assert_nonnull (object);
  return mm_object_get_modem_voice (object);
}

/* The calls ModemManager lists right now, read fresh over D-Bus. */
static GList *
list_calls (MMModemVoice *voice)
{
  g_autoptr (GError) error = NULL;
  GList *calls = mm_modem_voice_list_calls_sync (voice, NULL, &error);

  g_assert_no_error (error);
  return calls;
}

typedef struct {
  MMModemVoice *voice;
  MMCallState state;
  const char *path; /* NULL: any call */
  MMCall *found;    /* out, owned */
} CallWait;

static gboolean
call_in_state (gpointer user_data)
{
  CallWait *wait = user_data;
  GList *calls = list_calls (wait->voice);

  g_clear_object (&wait->found);
  for (GList *l = calls; l != NULL; l = l->next) {
    MMCall *call = l->data;

    if (wait->found == NULL && mm_call_get_state (call) == wait->state
        && (wait->path == NULL || g_str_equal (wait->path, mm_call_get_path (call))))
      wait->found = g_object_ref (call);
  }
  g_list_free_full (calls, g_object_unref);
  return wait->found != NULL;
}

static MMCall *
wait_call_state (MMModemVoice *voice, const char *path, MMCallState state)
{
  CallWait wait = { voice, state, path, NULL };

  if (!rc_harness_wait_for (call_in_state, &wait, RC_HARNESS_TIMEOUT))
    g_error ("no call %s reached state %s", path ? path : "(any)",
             mm_call_state_get_string (state));
  return wait.found;
}

/* The simulator's status: key=value lines, one "call=" line per entry of its +CLCC list. */
static char *
sim_status (RcHarness *harness, RcHarnessSim *sim)
{
  return rc_harness_sim_ctl_ok (harness, sim, "status", NULL);
}

static void
test_two_modems (void)
{
  g_autoptr (RcHarness) harness = harness_with_modemmanager ();
  const RcSimSpec *specs[] = { &rc_harness_sim0, &rc_harness_sim1 };
  RcHarnessSim *sims[2];

  for (guint i = 0; i < G_N_ELEMENTS (specs); i++)
    sims[i] = rc_harness_add_sim (harness, specs[i]);

  for (guint i = 0; i < G_N_ELEMENTS (specs); i++) {
    g_autoptr (MMObject) object = rc_harness_sim_find_modem (harness, sims[i]);
    g_autoptr (GError) error = NULL;
    g_autoptr (MMSim) sim = NULL;
    MMModem *modem;
    const char *const *own_numbers;

    g_assert_nonnull (object);
    modem = mm_object_peek_modem (object);
    g_assert_nonnull (mm_object_peek_modem_voice (object));
    g_assert_cmpstr (mm_modem_get_equipment_identifier (modem), ==, specs[i]->imei);
    g_assert_cmpint (mm_modem_get_state (modem), ==, MM_MODEM_STATE_REGISTERED);

    own_numbers = mm_modem_get_own_numbers (modem);
    g_assert_nonnull (own_numbers);
    g_assert_cmpstr (own_numbers[0], ==, specs[i]->own_number);

    sim = mm_modem_get_sim_sync (modem, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (mm_sim_get_identifier (sim), ==, specs[i]->iccid);
    g_assert_cmpstr (mm_sim_get_imsi (sim), ==, specs[i]->imsi);
  }
}

static MMCall *
create_and_start_call (MMModemVoice *voice, const char *number)
{
  g_autoptr (MMCallProperties) properties = mm_call_properties_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (MMCall) call = NULL;

  mm_call_properties_set_number (properties, number);
  call = mm_modem_voice_create_call_sync (voice, properties, NULL, &error);
  g_assert_no_error (error);
  /* Start right away: ModemManager 1.20.4 only polls calls started within ~2 s of creation. */
  mm_call_start_sync (call, NULL, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&call);
}

static void
test_outbound_flow (void)
{
  g_autoptr (RcHarness) harness = harness_with_modemmanager ();
  RcHarnessSim *sim = rc_harness_add_sim (harness, &rc_harness_sim0);
  g_autoptr (MMModemVoice) voice = sim_voice (harness, sim);
  g_autoptr (MMCall) call = NULL;
  g_autoptr (MMCall) seen = NULL;
  g_autofree char *status = NULL;
  g_autofree char *reply = NULL;
  const char *path;

  g_free (rc_harness_sim_ctl_ok (harness, sim, "alert-after", "-1", NULL));
  call = create_and_start_call (voice, "+4915199999999");
  path = mm_call_get_path (call);
  seen = wait_call_state (voice, path, MM_CALL_STATE_DIALING);
  g_clear_object (&seen);
  status = sim_status (harness, sim);
  g_assert_nonnull (strstr (status, "dir=out state=dialing stat=2 number=+4915199999999 type=145"));
  g_clear_pointer (&status, g_free);

  reply = rc_harness_sim_ctl_ok (harness, sim, "alert", NULL);
  seen = wait_call_state (voice, path, MM_CALL_STATE_RINGING_OUT);
  g_clear_object (&seen);
  status = sim_status (harness, sim);
  g_assert_nonnull (
      strstr (status, "dir=out state=alerting stat=3 number=+4915199999999 type=145"));
  g_clear_pointer (&status, g_free);

  g_free (rc_harness_sim_ctl_ok (harness, sim, "answer", NULL));
  seen = wait_call_state (voice, path, MM_CALL_STATE_ACTIVE);
  g_clear_object (&seen);
  status = sim_status (harness, sim);
  g_assert_nonnull (strstr (status, "dir=out state=active stat=0 number=+4915199999999 type=145"));
  g_clear_pointer (&status, g_free);

  g_free (rc_harness_sim_ctl_ok (harness, sim, "hangup", NULL));
  seen = wait_call_state (voice, path, MM_CALL_STATE_TERMINATED);
  status = sim_status (harness, sim);
  g_assert_null (strstr (status, "+4915199999999"));
}

static void
test_incoming_flows (void)
{
  g_autoptr (RcHarness) harness = harness_with_modemmanager ();
  RcHarnessSim *sim = rc_harness_add_sim (harness, &rc_harness_sim0);
  g_autoptr (MMModemVoice) voice = sim_voice (harness, sim);
  g_autoptr (MMCall) ringing = NULL;
  g_autoptr (MMCall) withheld = NULL;
  g_autoptr (MMCall) waiting = NULL;
  g_autoptr (MMCall) active = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *status = NULL;

  /* With caller id. */
  g_free (rc_harness_sim_ctl_ok (harness, sim, "incoming", "+4930123456", NULL));
  ringing = wait_call_state (voice, NULL, MM_CALL_STATE_RINGING_IN);
  g_assert_cmpint (mm_call_get_direction (ringing), ==, MM_CALL_DIRECTION_INCOMING);
  g_assert_cmpstr (mm_call_get_number (ringing), ==, "+4930123456");

  /* The caller gives up: ModemManager notices at its next +CLCC poll. */
  g_free (rc_harness_sim_ctl_ok (harness, sim, "hangup", NULL));
  g_clear_object (&ringing);
  ringing = wait_call_state (voice, NULL, MM_CALL_STATE_TERMINATED);
  mm_modem_voice_delete_call_sync (voice, mm_call_get_path (ringing), NULL, &error);
  g_assert_no_error (error);

  /* Withheld: the number stays empty. */
  g_free (rc_harness_sim_ctl_ok (harness, sim, "incoming", "--withheld", NULL));
  withheld = wait_call_state (voice, NULL, MM_CALL_STATE_RINGING_IN);
  g_assert_true (mm_call_get_number (withheld) == NULL || *mm_call_get_number (withheld) == '\0');

  /* Accept it, then a second caller arrives as a waiting call. */
  mm_call_accept_sync (withheld, NULL, &error);
  g_assert_no_error (error);
  active = wait_call_state (voice, mm_call_get_path (withheld), MM_CALL_STATE_ACTIVE);
  g_free (rc_harness_sim_ctl_ok (harness, sim, "incoming", "+4940987654", NULL));
  waiting = wait_call_state (voice, NULL, MM_CALL_STATE_WAITING);
  g_assert_cmpstr (mm_call_get_number (waiting), ==, "+4940987654");
  status = sim_status (harness, sim);
  g_assert_nonnull (strstr (status, "dir=in state=active stat=0 number= "));
  g_assert_nonnull (strstr (status, "dir=in state=waiting stat=5 number=+4940987654 type=145"));
}

static void
test_incoming_national (void)
{
  g_autoptr (RcHarness) harness = harness_with_modemmanager ();
  RcHarnessSim *sim = rc_harness_add_sim (harness, &rc_harness_sim0);
  g_autoptr (MMModemVoice) voice = sim_voice (harness, sim);
  g_autoptr (MMCall) ringing = NULL;

  /* ModemManager passes a national-format number through as the modem reports it; the daemon
   * normalises it with the SIM's country. */
  g_free (rc_harness_sim_ctl_ok (harness, sim, "incoming", "01511234567", "--national", NULL));
  ringing = wait_call_state (voice, NULL, MM_CALL_STATE_RINGING_IN);
  g_assert_cmpstr (mm_call_get_number (ringing), ==, "01511234567");
}

static void
test_dial_refused (void)
{
  g_autoptr (RcHarness) harness = harness_with_modemmanager ();
  RcHarnessSim *sim = rc_harness_add_sim (harness, &rc_harness_sim0);
  g_autoptr (MMModemVoice) voice = sim_voice (harness, sim);
  g_autoptr (MMCallProperties) properties = mm_call_properties_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (MMCall) call = NULL;
  g_autoptr (MMCall) seen = NULL;

  g_free (rc_harness_sim_ctl_ok (harness, sim, "next-dial", "busy", NULL));
  mm_call_properties_set_number (properties, "+4915199999999");
  call = mm_modem_voice_create_call_sync (voice, properties, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (mm_call_start_sync (call, NULL, &error));
  g_assert_nonnull (error);
  seen = wait_call_state (voice, mm_call_get_path (call), MM_CALL_STATE_TERMINATED);
}

static void
test_unplug (void)
{
  g_autoptr (RcHarness) harness = harness_with_modemmanager ();
  RcHarnessSim *sim0 = rc_harness_add_sim (harness, &rc_harness_sim0);
  RcHarnessSim *sim1 = rc_harness_add_sim (harness, &rc_harness_sim1);
  g_autoptr (MMObject) other = NULL;
  g_autoptr (MMObject) zombie = NULL;
  g_autoptr (MMObject) back = NULL;
  g_autoptr (GError) error = NULL;

  /* Replacing the profile is the quickest unplug: the modem is gone at once, the other stays. */
  rc_harness_unplug_by_profile (harness, sim0);
  other = rc_harness_sim_find_modem (harness, sim1);
  g_assert_nonnull (other);
  g_assert_cmpint (mm_modem_get_state (mm_object_peek_modem (other)), ==,
                   MM_MODEM_STATE_REGISTERED);
  rc_harness_plug_sim (harness, sim0);

  /* Closing the socket is what a dying USB modem looks like to ModemManager in test mode: no
   * udev removal, so the modem lingers as a zombie until its AT commands time out. Operations on
   * it fail; a new SetProfile with the same id replaces it. */
  g_free (rc_harness_sim_ctl_ok (harness, sim1, "unplug", NULL));
  zombie = rc_harness_sim_find_modem (harness, sim1);
  g_assert_nonnull (zombie);
  {
    g_autoptr (MMModemVoice) voice = mm_object_get_modem_voice (zombie);
    g_autoptr (MMCallProperties) properties = mm_call_properties_new ();
    g_autoptr (MMCall) call = NULL;

    mm_call_properties_set_number (properties, "+4915199999999");
    call = mm_modem_voice_create_call_sync (voice, properties, NULL, &error);
    if (call != NULL)
      g_assert_false (mm_call_start_sync (call, NULL, &error));
    g_assert_nonnull (error);
  }
  g_free (rc_harness_sim_ctl_ok (harness, sim1, "plug", NULL));
  rc_harness_plug_sim (harness, sim1);
  back = rc_harness_sim_find_modem (harness, sim1);
  g_assert_nonnull (back);
  g_assert_cmpint (mm_modem_get_state (mm_object_peek_modem (back)), ==, MM_MODEM_STATE_REGISTERED);
}

/* Sends @request to a simulator's AT socket and reads until a final result line. */
static char *
at_exchange (GSocketConnection *connection, const char *request)
{
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  g_autoptr (GString) reply = g_string_new (NULL);
  g_autoptr (GError) error = NULL;

  g_assert_true (g_output_stream_write_all (out, request, strlen (request), NULL, NULL, &error));
  g_assert_no_error (error);
  while (!strstr (reply->str, "OK\r\n") && !strstr (reply->str, "ERROR")) {
    char buffer[256];
    gssize n = g_input_stream_read (in, buffer, sizeof buffer, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpint (n, >, 0);
    g_string_append_len (reply, buffer, n);
  }
  return g_string_free (g_steal_pointer (&reply), FALSE);
}

static void
test_garbage (void)
{
  g_autoptr (RcHarness) harness = rc_harness_new (g_test_get_path () + 1);
  g_autofree char *port = g_strdup_printf ("abstract:rc-%d-garbage", (int)getpid ());
  g_autofree char *port_arg = g_strdup_printf ("--port=%s", port);
  g_autofree char *log_arg = g_strdup_printf ("--log=%s/at.log", rc_harness_get_dir (harness));
  const char *argv[] = { rc_harness_find_program ("reachcell-modem-sim"), port_arg, log_arg,
                         "--print-ready", NULL };
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *ready = NULL;
  g_autofree char *long_line = NULL;
  const char *const garbage[] = {
    "AT+FOO\r", "\x01\x02\xff\xfe\r", "hello world\r", "AT+CLCC=\"\"\"\r",
    "ATD;\r",   "AT+CHLD=9z\r",       "AT\0\0AT\r",
  };

  process = rc_harness_spawn (harness, "sim-stderr.log", G_SUBPROCESS_FLAGS_STDOUT_PIPE, argv);
  rc_harness_adopt (harness, process);
  ready = rc_harness_read_line (process, RC_HARNESS_TIMEOUT);
  g_assert_cmpstr (ready, ==, "READY");

  address = g_unix_socket_address_new_with_type (port, -1, G_UNIX_SOCKET_ADDRESS_ABSTRACT);
  connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, &error);
  g_assert_no_error (error);
  g_free (at_exchange (connection, "ATE0\r"));

  for (guint i = 0; i < G_N_ELEMENTS (garbage); i++) {
    g_autofree char *reply = NULL;
    size_t len = i == G_N_ELEMENTS (garbage) - 1 ? 7 : strlen (garbage[i]);
    GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));

    g_assert_true (g_output_stream_write_all (out, garbage[i], len, NULL, NULL, &error));
    reply = at_exchange (connection, "");
    g_assert_nonnull (strstr (reply, "ERROR"));
  }

  /* A line longer than any buffer: refused, and the port resynchronises on the next line. */
  long_line = g_strnfill (64 * 1024, 'A');
  {
    g_autofree char *request = g_strconcat (long_line, "\r", NULL);
    g_autofree char *reply = at_exchange (connection, request);

    g_assert_nonnull (strstr (reply, "ERROR"));
  }
  {
    g_autofree char *reply = at_exchange (connection, "AT\r");

    g_assert_nonnull (strstr (reply, "OK"));
    g_assert_null (strstr (reply, "ERROR"));
  }
  {
    g_autofree char *reply = at_exchange (connection, "AT+CGSN\r");

    g_assert_nonnull (strstr (reply, "OK"));
  }
}

static void
test_control_errors (void)
{
  g_autoptr (RcHarness) harness = harness_with_modemmanager ();
  RcHarnessSim *sim = rc_harness_add_sim (harness, &rc_harness_sim0);
  const char *const bad[][3] = {
    { "frobnicate", NULL, NULL },   { "signal", "250", NULL },
    { "answer", "7", NULL },        { "registration", "sideways", NULL },
    { "next-dial", "maybe", NULL }, { "incoming", "not-a-number", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) error = NULL;
    g_autofree char *out
        = rc_harness_sim_ctl (harness, sim, &error, bad[i][0], bad[i][1], bad[i][2], NULL);

    g_assert_null (out);
    g_assert_nonnull (error);
    g_assert_nonnull (strstr (error->message, "ERROR"));
  }
  /* Still serving: the modem is registered and the control socket answers. */
  g_free (rc_harness_sim_ctl_ok (harness, sim, "status", NULL));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/rc/modem-sim/two-modems", test_two_modems);
  g_test_add_func ("/rc/modem-sim/outbound-flow", test_outbound_flow);
  g_test_add_func ("/rc/modem-sim/incoming-flows", test_incoming_flows);
  g_test_add_func ("/rc/modem-sim/incoming-national", test_incoming_national);
  g_test_add_func ("/rc/modem-sim/dial-refused", test_dial_refused);
  g_test_add_func ("/rc/modem-sim/unplug", test_unplug);
  g_test_add_func ("/rc/modem-sim/garbage", test_garbage);
  g_test_add_func ("/rc/modem-sim/control-errors", test_control_errors);

  return g_test_run ();
}
