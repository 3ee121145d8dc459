/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "sim-modem"

#include "config.h"

#include "sim-modem.h"

#include <gio/gio.h>

#include <stdlib.h>
#include <string.h>

/**
 * SimModem: the state of one simulated 3GPP voice modem.
 *
 * It knows nothing about sockets: a received AT line goes in through
 * sim_modem_receive_line (), and every line to send back (echo, responses, unsolicited result
 * codes) comes out through the "output" signal, in order. Unsolicited lines raised while a
 * command runs are held back until its final result. Control commands (the remote party and the
 * network) go in through sim_modem_control ().
 *
 * The call list follows 3GPP TS 27.007 +CLCC: each call has the lowest free index from 1, a
 * direction and a state. Timers (repeated RING, automatic alerting and answering) run on the
 * thread-default main context.
 */

#define SIM_MAX_CALLS 7
#define SIM_DEFAULT_RING_PERIOD_MS 3000
#define SIM_DEFAULT_ALERT_AFTER_MS 300
#define SIM_LAC "1A2B"
#define SIM_CELL_ID "00C0FFEE"
#define SIM_ACT_EUTRAN 7
#define SIM_TYPE_INTERNATIONAL 145
#define SIM_TYPE_NATIONAL 129
#define SIM_TYPE_WITHHELD 128
#define SIM_SW_OK 144
#define SIM_EF_ICCID 12258
#define SIM_EF_AD 28589
#define SIM_EF_SPN 28486
#define SIM_EF_ECC 28599
#define SIM_EF_GID1 28478
#define SIM_EF_GID2 28479
/* EF_ECC: 112 and 110 as BCD (low nibble first), then three unused 3-byte records */
#define SIM_ECC_DATA "11F2FF11F0FFFFFFFFFFFFFFFFFFFF"
/* EF_GID1/2: no group identifiers */
#define SIM_GID_DATA "FFFFFFFF"
#define SIM_SPN_LENGTH 16
#define SIM_CRSM_READ_BINARY 176

/* +CME ERROR codes (3GPP TS 27.007 §9.2) */
#define SIM_CME_NOT_ALLOWED 3
#define SIM_CME_NOT_SUPPORTED 4
#define SIM_CME_INVALID_INDEX 21
#define SIM_CME_NO_NETWORK 30
#define SIM_CME_INCORRECT_PARAMETERS 50

/* +CIND indicator positions, as announced by AT+CIND=? */
#define SIM_CIND_SIGNAL 2
#define SIM_CIND_SERVICE 3
#define SIM_CIND_ROAM 5

typedef enum {
  SIM_CALL_ACTIVE = 0,
  SIM_CALL_HELD = 1,
  SIM_CALL_DIALING = 2,
  SIM_CALL_ALERTING = 3,
  SIM_CALL_INCOMING = 4,
  SIM_CALL_WAITING = 5,
} SimCallState;

static const char *const call_state_names[] = {
  [SIM_CALL_ACTIVE] = "active",     [SIM_CALL_HELD] = "held",
  [SIM_CALL_DIALING] = "dialing",   [SIM_CALL_ALERTING] = "alerting",
  [SIM_CALL_INCOMING] = "incoming", [SIM_CALL_WAITING] = "waiting",
};

typedef struct {
  SimModem *modem; /* unowned */
  guint index;
  gboolean mobile_terminated;
  SimCallState state;
  char *number; /* "" when withheld */
  guint type;
  guint alert_id;
  guint answer_id;
} SimCall;

typedef enum {
  SIM_OP_EXEC,
  SIM_OP_READ,
  SIM_OP_TEST,
  SIM_OP_SET,
} SimOp;

typedef enum {
  SIM_NEXT_DIAL_OK,
  SIM_NEXT_DIAL_BUSY,
  SIM_NEXT_DIAL_NO_CARRIER,
  SIM_NEXT_DIAL_ERROR,
} SimNextDial;

struct _SimModem {
  GObject parent_instance;

  SimIdentity *identity;
  GPtrArray *calls;        /* SimCall, ordered by index */
  GPtrArray *pending_urcs; /* char *, held back while a command runs */
  gboolean in_command;
  guint command_count;

  /* settings changed by AT commands */
  gboolean echo;
  guint cmee;
  guint creg_mode;
  guint cgreg_mode;
  guint cereg_mode;
  guint cops_format;
  gboolean clip;
  gboolean crc;
  gboolean ccwa;
  gboolean cmer_indicators;
  guint cfun;
  char *charset;

  /* settings changed by control commands */
  guint ring_period_ms;
  int alert_after_ms;  /* < 0: never */
  guint auto_answer_s; /* 0: never */
  SimNextDial next_dial;
  guint ring_id;
};

G_DEFINE_TYPE (SimModem, sim_modem, G_TYPE_OBJECT)

enum {
  SIGNAL_OUTPUT,
  N_SIGNALS,
};

static guint signals[N_SIGNALS];

typedef const char *(*SimCommandHandler) (SimModem *self,
                                          SimOp op,
                                          const char *args,
                                          GPtrArray *info);

/* ------------------------------------------------------------------------------------------ */
/* Identity */

SimIdentity *
sim_identity_new_default (void)
{
  SimIdentity *identity = g_new0 (SimIdentity, 1);

  /* All German: MCC 262, a +49 mobile number; the IMEI has a valid Luhn check digit */
  identity->manufacturer = g_strdup ("Reachcell");
  identity->model = g_strdup ("SimModem 1");
  identity->revision = g_strdup ("1.0.0");
  identity->imei = g_strdup ("358240051111110");
  identity->imsi = g_strdup ("262011234567890");
  identity->iccid = g_strdup ("89490200001234567890");
  identity->own_number = g_strdup ("+4915790000001");
  identity->operator_name = g_strdup ("Sim Telekom");
  identity->operator_code = g_strdup ("26201");
  identity->country = g_strdup ("DE");
  identity->signal = 75;
  identity->registration = SIM_REGISTRATION_HOME;
  return identity;
}

void
sim_identity_free (SimIdentity *identity)
{
  if (identity == NULL)
    return;
  g_free (identity->manufacturer);
  g_free (identity->model);
  g_free (identity->revision);
  g_free (identity->imei);
  g_free (identity->imsi);
  g_free (identity->iccid);
  g_free (identity->own_number);
  g_free (identity->operator_name);
  g_free (identity->operator_code);
  g_free (identity->country);
  g_free (identity);
}

static const struct {
  const char *name;
  SimRegistration registration;
} registration_names[] = {
  { "home", SIM_REGISTRATION_HOME },           { "roaming", SIM_REGISTRATION_ROAMING },
  { "searching", SIM_REGISTRATION_SEARCHING }, { "denied", SIM_REGISTRATION_DENIED },
  { "idle", SIM_REGISTRATION_IDLE },           { "none", SIM_REGISTRATION_IDLE },
};

gboolean
sim_registration_from_string (const char *text, SimRegistration *out_registration)
{
  for (guint i = 0; i < G_N_ELEMENTS (registration_names); i++) {
    if (g_ascii_strcasecmp (text, registration_names[i].name) == 0) {
      *out_registration = registration_names[i].registration;
      return TRUE;
    }
  }
  return FALSE;
}

const char *
sim_registration_to_string (SimRegistration registration)
{
  for (guint i = 0; i < G_N_ELEMENTS (registration_names); i++) {
    if (registration_names[i].registration == registration)
      return registration_names[i].name;
  }
  return "idle";
}

/* ------------------------------------------------------------------------------------------ */
/* Output */

static void
emit_line (SimModem *self, SimOutputKind kind, const char *line)
{
  g_signal_emit (self, signals[SIGNAL_OUTPUT], 0, (guint)kind, line);
}

static void
send_urc (SimModem *self, const char *line)
{
  if (self->in_command)
    g_ptr_array_add (self->pending_urcs, g_strdup (line));
  else
    emit_line (self, SIM_OUTPUT_URC, line);
}

static void G_GNUC_PRINTF (2, 3) send_urc_printf (SimModem *self, const char *format, ...)
{
  g_autofree char *line = NULL;
  va_list args;

  va_start (args, format);
  line = g_strdup_vprintf (format, args);
  va_end (args);
  send_urc (self, line);
}

static void
flush_pending_urcs (SimModem *self)
{
  g_autoptr (GPtrArray) urcs = g_steal_pointer (&self->pending_urcs);

  self->pending_urcs = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < urcs->len; i++)
    emit_line (self, SIM_OUTPUT_URC, g_ptr_array_index (urcs, i));
}

static void G_GNUC_PRINTF (2, 3) info_printf (GPtrArray *info, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_ptr_array_add (info, g_strdup_vprintf (format, args));
  va_end (args);
}

/* Returns the final result for a +CME error: plain ERROR unless AT+CMEE enabled codes. */
static const char *
cme_error (SimModem *self, guint code)
{
  static char buffer[32];

  if (self->cmee == 0)
    return "ERROR";
  g_snprintf (buffer, sizeof buffer, "+CME ERROR: %u", code);
  return buffer;
}

/* ------------------------------------------------------------------------------------------ */
/* Network state */

static gboolean
is_registered (SimModem *self)
{
  return self->identity->registration == SIM_REGISTRATION_HOME
         || self->identity->registration == SIM_REGISTRATION_ROAMING;
}

static guint
registration_stat (SimModem *self)
{
  switch (self->identity->registration) {
  case SIM_REGISTRATION_HOME:
    return 1;
  case SIM_REGISTRATION_SEARCHING:
    return 2;
  case SIM_REGISTRATION_DENIED:
    return 3;
  case SIM_REGISTRATION_ROAMING:
    return 5;
  case SIM_REGISTRATION_IDLE:
  default:
    return 0;
  }
}

static guint
scale_signal (SimModem *self, guint max)
{
  return (self->identity->signal * max + 50) / 100;
}

/* Builds "+CREG: …" for a read (with the mode) or an unsolicited report (without). */
static char *
format_registration (SimModem *self, const char *name, guint mode, gboolean solicited)
{
  g_autoptr (GString) line = g_string_new (name);

  g_string_append (line, ": ");
  if (solicited)
    g_string_append_printf (line, "%u,", mode);
  g_string_append_printf (line, "%u", registration_stat (self));
  if (mode >= 2 && is_registered (self))
    g_string_append_printf (line, ",\"%s\",\"%s\",%d", SIM_LAC, SIM_CELL_ID, SIM_ACT_EUTRAN);
  return g_string_free (g_steal_pointer (&line), FALSE);
}

static void
report_registration (SimModem *self)
{
  const struct {
    const char *name;
    guint mode;
  } reports[] = {
    { "+CREG", self->creg_mode },
    { "+CGREG", self->cgreg_mode },
    { "+CEREG", self->cereg_mode },
  };

  for (guint i = 0; i < G_N_ELEMENTS (reports); i++) {
    g_autofree char *line = NULL;

    if (reports[i].mode == 0)
      continue;
    line = format_registration (self, reports[i].name, reports[i].mode, FALSE);
    send_urc (self, line);
  }
  if (self->cmer_indicators) {
    send_urc_printf (self, "+CIEV: %d,%d", SIM_CIND_SERVICE, is_registered (self) ? 1 : 0);
    send_urc_printf (self, "+CIEV: %d,%d", SIM_CIND_ROAM,
                     self->identity->registration == SIM_REGISTRATION_ROAMING ? 1 : 0);
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Calls */

static void
sim_call_free (SimCall *call)
{
  g_clear_handle_id (&call->alert_id, g_source_remove);
  g_clear_handle_id (&call->answer_id, g_source_remove);
  g_free (call->number);
  g_free (call);
}

static SimCall *
find_call (SimModem *self, guint index)
{
  for (guint i = 0; i < self->calls->len; i++) {
    SimCall *call = g_ptr_array_index (self->calls, i);

    if (call->index == index)
      return call;
  }
  return NULL;
}

static SimCall *
find_call_in_state (SimModem *self, SimCallState state)
{
  for (guint i = 0; i < self->calls->len; i++) {
    SimCall *call = g_ptr_array_index (self->calls, i);

    if (call->state == state)
      return call;
  }
  return NULL;
}

static gboolean
has_call_in_state (SimModem *self, SimCallState state)
{
  return find_call_in_state (self, state) != NULL;
}

static gboolean
has_call_in_progress (SimModem *self)
{
  return has_call_in_state (self, SIM_CALL_ACTIVE) || has_call_in_state (self, SIM_CALL_HELD)
         || has_call_in_state (self, SIM_CALL_DIALING)
         || has_call_in_state (self, SIM_CALL_ALERTING);
}

static int
compare_calls (gconstpointer a, gconstpointer b)
{
  const SimCall *call_a = *(SimCall *const *)a;
  const SimCall *call_b = *(SimCall *const *)b;

  return (int)call_a->index - (int)call_b->index;
}

static SimCall *
add_call (
    SimModem *self, gboolean mobile_terminated, SimCallState state, const char *number, guint type)
{
  SimCall *call;
  guint index = 1;

  while (find_call (self, index) != NULL)
    index++;
  call = g_new0 (SimCall, 1);
  call->modem = self;
  call->index = index;
  call->mobile_terminated = mobile_terminated;
  call->state = state;
  call->number = g_strdup (number);
  call->type = type;
  g_ptr_array_add (self->calls, call);
  g_ptr_array_sort (self->calls, compare_calls);
  return call;
}

static char *
format_clcc (SimCall *call)
{
  return g_strdup_printf ("+CLCC: %u,%d,%d,0,0,\"%s\",%u", call->index,
                          call->mobile_terminated ? 1 : 0, (int)call->state, call->number,
                          call->type);
}

static void send_ring (SimModem *self);

static gboolean
on_ring_timeout (gpointer user_data)
{
  SimModem *self = SIM_MODEM (user_data);

  if (!has_call_in_state (self, SIM_CALL_INCOMING) && !has_call_in_state (self, SIM_CALL_WAITING)) {
    self->ring_id = 0;
    return G_SOURCE_REMOVE;
  }
  send_ring (self);
  return G_SOURCE_CONTINUE;
}

static void
restart_ring_timer (SimModem *self)
{
  g_clear_handle_id (&self->ring_id, g_source_remove);
  if (self->ring_period_ms > 0)
    self->ring_id = g_timeout_add (self->ring_period_ms, on_ring_timeout, self);
}

/* One round of alerts: RING (+CLIP) for a ringing call, +CCWA for each waiting call. */
static void
send_ring (SimModem *self)
{
  for (guint i = 0; i < self->calls->len; i++) {
    SimCall *call = g_ptr_array_index (self->calls, i);
    gboolean withheld = call->number[0] == '\0';

    if (call->state == SIM_CALL_INCOMING) {
      send_urc (self, self->crc ? "+CRING: VOICE" : "RING");
      if (self->clip)
        send_urc_printf (self, "+CLIP: \"%s\",%u,,,,%d", call->number, call->type,
                         withheld ? 1 : 0);
    } else if (call->state == SIM_CALL_WAITING && self->ccwa) {
      send_urc_printf (self, "+CCWA: \"%s\",%u,1", call->number, call->type);
    }
  }
}

/* After a call ends: a waiting call with nothing else in progress starts ringing. */
static void
promote_waiting_call (SimModem *self)
{
  SimCall *waiting;

  if (has_call_in_progress (self) || has_call_in_state (self, SIM_CALL_INCOMING))
    return;
  waiting = find_call_in_state (self, SIM_CALL_WAITING);
  if (waiting == NULL)
    return;
  waiting->state = SIM_CALL_INCOMING;
  send_ring (self);
  restart_ring_timer (self);
}

static void
remove_call (SimModem *self, SimCall *call, const char *result)
{
  if (result != NULL)
    send_urc (self, result);
  g_ptr_array_remove (self->calls, call);
  promote_waiting_call (self);
}

static void
hold_active_calls (SimModem *self, SimCall *except)
{
  for (guint i = 0; i < self->calls->len; i++) {
    SimCall *call = g_ptr_array_index (self->calls, i);

    if (call != except && call->state == SIM_CALL_ACTIVE)
      call->state = SIM_CALL_HELD;
  }
}

/* Removes every call in @state (all calls when @state is < 0), without result codes. */
static guint
release_calls (SimModem *self, int state)
{
  guint released = 0;

  for (guint i = self->calls->len; i > 0; i--) {
    SimCall *call = g_ptr_array_index (self->calls, i - 1);

    if (state < 0 || (int)call->state == state) {
      g_ptr_array_remove_index (self->calls, i - 1);
      released++;
    }
  }
  return released;
}

static void
activate_call (SimModem *self, SimCall *call)
{
  g_clear_handle_id (&call->alert_id, g_source_remove);
  g_clear_handle_id (&call->answer_id, g_source_remove);
  hold_active_calls (self, call);
  call->state = SIM_CALL_ACTIVE;
}

static gboolean
on_alert_timeout (gpointer user_data)
{
  SimCall *call = user_data;

  call->alert_id = 0;
  if (call->state == SIM_CALL_DIALING)
    call->state = SIM_CALL_ALERTING;
  return G_SOURCE_REMOVE;
}

static gboolean
on_auto_answer_timeout (gpointer user_data)
{
  SimCall *call = user_data;

  call->answer_id = 0;
  if (call->state == SIM_CALL_DIALING || call->state == SIM_CALL_ALERTING)
    activate_call (call->modem, call);
  return G_SOURCE_REMOVE;
}

/* ------------------------------------------------------------------------------------------ */
/* AT argument helpers */

/* Splits "1,\"a,b\",3" at commas outside quotes; quotes are removed, spaces trimmed. */
static GStrv
split_arguments (const char *args)
{
  g_autoptr (GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GString) current = g_string_new (NULL);
  gboolean quoted = FALSE;

  if (args == NULL || *args == '\0')
    return g_new0 (char *, 1);
  for (const char *p = args;; p++) {
    if (*p == '\0' || (*p == ',' && !quoted)) {
      g_ptr_array_add (parts, g_strstrip (g_strdup (current->str)));
      g_string_truncate (current, 0);
      if (*p == '\0')
        break;
    } else if (*p == '"') {
      quoted = !quoted;
    } else {
      g_string_append_c (current, *p);
    }
  }
  g_ptr_array_add (parts, NULL);
  return (GStrv)g_ptr_array_free (g_steal_pointer (&parts), FALSE);
}

static gboolean
parse_uint (const char *text, guint max, guint *out_value)
{
  guint64 value;

  if (text == NULL || *text == '\0' || !g_ascii_string_to_unsigned (text, 10, 0, max, &value, NULL))
    return FALSE;
  *out_value = (guint)value;
  return TRUE;
}

/* Parses the first numeric argument of a set command. */
static gboolean
parse_first_uint (const char *args, guint max, guint *out_value)
{
  g_auto (GStrv) parts = split_arguments (args);

  return parts[0] != NULL && parse_uint (parts[0], max, out_value);
}

static gboolean
is_dial_string (const char *number)
{
  if (*number == '\0')
    return FALSE;
  for (const char *p = number; *p; p++) {
    if (!g_ascii_isdigit (*p) && strchr ("+*#ABCDPW,", *p) == NULL)
      return FALSE;
  }
  return number[0] != '+' || number[1] != '\0';
}

/* ------------------------------------------------------------------------------------------ */
/* Identification and SIM */

static const char *
handle_value (const char *value, SimOp op, GPtrArray *info)
{
  if (op == SIM_OP_TEST)
    return NULL;
  if (op != SIM_OP_EXEC)
    return "ERROR";
  g_ptr_array_add (info, g_strdup (value));
  return NULL;
}

static const char *
handle_cgmi (SimModem *self, SimOp op, const char *args, GPtrArray *info)
{
  return handle_value (self->identity->manufacturer, op, info);
}

static const char *
handle_cgmm (SimModem *self, SimOp op, const char *args, GPtrArray *info)
{
  return handle_value (self->identity->model, op, info);
}

static const char *
handle_cgmr (SimModem *self, SimOp op, const char *args, GPtrArray *info)
{
  return handle_value (self->identity->revision, op, info);
}

static const char *
handle_cgsn (SimModem *self, SimOp op, const char *args, GPtrArray *info)
{
  return handle_value (self->identity->imei, op, info);
}

static const char *
handle_cimi (SimModem *self, SimOp op, const char *args, GPtrArray *info)
{
  return handle_value (self->identity->imsi, op, info);
}

static const char *
handle_gcap (SimModem *self, SimOp op, const char *args, GPtrArray *info)
{
  if (op != SIM_OP_EXEC)
    return "ERROR";
  g_ptr_array_add (info, g_strdup ("+GCAP: +CGSM"));
  return NULL;
}

static const char *
handle_cpin (SimModem *self, SimOp op, const char *args, GPtrArray *info)
{
  if (op == SIM_OP_READ)
    g_ptr_array_add (info, g_strdup ("+CPIN: READY"));
  else if (op != SIM_OP_TEST)
    return cme_error (self, SIM_CME_NOT_ALLOWED);
  return NULL;
}

/* EF_ICCID: BCD, low nibble first, padded with F */
static char *
encode_iccid (const char *iccid)
{
  g_autoptr (GString) hex = g_string_new (NULL);
  size_t len = strlen (iccid);

  for (size_t i = 0; i < 20; i += 2) {
    char first = i < len ? iccid[i] : 'F';
    char second = i + 1 < len ? iccid[i + 1] : 'F';

    g_string_append_c (hex, second);
    g_string_append_c (hex, first);
  }
  return g_string_free (g_steal_pointer (&hex), FALSE);
}

/* EF_SPN: display condition byte, then the name in the GSM default alphabet, padded with FF */
static char *
encode_spn (const char *name)
{
  g_autoptr (GString) hex = g_string_new ("00");
  size_t len = strlen (name);

  for (size_t i = 0; i < SIM_SPN_LENGTH; i++) {
    if (i < len && g_ascii_isprint (name[i]) && name[i] != '@' && name[i] != '$' && name[i] != '_')
      g_string_append_printf (hex, "%02X", (guint)name[i]);
    else
      g_string_append (hex, "FF");
  }
  return g_string_free (g_steal_pointer (&hex), FALSE);
}

static const char *
handle_crsm (SimModem *self, SimOp op, const char *args, GPtrArray *info)
{
  g_auto (GStrv) parts = NULL;
  g_autofree char *data = NULL;
  guint command;
  guint file_id;

  if (op == SIM_OP_TEST)
    return NULL;
  if (op != SIM_OP_SET)
    return cme_error (self, SIM_CME_INCORRECT_PARAMETERS);
  parts = split_arguments (args);
  if (parts[0] == NULL || parts[1] == NULL || !parse_uint (parts[0], 255, &command)
      || !parse_uint (parts[1], 65535, &file_id))
    return cme_error (self, SIM_CME_INCORRECT_PARAMETERS);

  if (command == SIM_CRSM_READ_BINARY && file_id == SIM_EF_ICCID)
    data = encode_iccid (self->identity->iccid);
  else if (command == SIM_CRSM_READ_BINARY && file_id == SIM_EF_AD)
    data = g_strdup_printf ("000000%02X", (guint)strlen (self->identity->operator_code) - 3);
  else if (command == SIM_CRSM_READ_BINARY && file_id == SIM_EF_SPN)
    data = encode_spn (self->identity->operator_name);
  else if (command == SIM_CRSM_READ_BINARY && file_id == SIM_EF_ECC)
    data = g_strdup (SIM_ECC_DATA);
  else if (command == SIM_CRSM_READ_BINARY && (file_id == SIM_EF_GID1 || file_id == SIM_EF_GID2))
    data = g_strdup (SIM_GID_DATA);

  if (data != NULL)
    info_printf (info, "+CRSM: %d,0,\"%s\"", SIM_SW_OK, data);
  else
    info_printf (info, "+CRSM: 106,130"); /* file not found */
  return NULL;
}

static const char *
handle_cnum (SimModem *self, SimOp op, const char *args, GPtrArray *info)
{
  const char *number = self->identity->own_number;

  if (op == SIM_OP_TEST)
    return NULL;
  if (op != SIM_OP_EXEC)
    return cme_error (self, SIM_CME_INCORRECT_PARAMETERS);
  if (number != NULL)
    info_printf (info, "+CNUM: \"\",\"%s\",%d", number,
                 number[0] == '+' ? SIM_TYPE_INTERNATIONAL : SIM_TYPE_NATIONAL);
  return NULL;
}

static const char *
handle_clck (SimModem *self, SimOp op, const char *args, GPtrArray *info)
{
  g_auto (GStrv) parts = NULL;
  guint mode;

  if (op == SIM_OP_TEST) {
    g_ptr_array_add (info, g_strdup ("+CLCK: (\"SC\",\"FD\",\"PS\",\"PN\")"));
    return NULL;
  }
  if (op != SIM_OP_SET)
    return cme_error (self, SIM_CME_INCORRECT_PARAMETERS);
  parts = split_arguments (args);
  if (parts[0] == NULL || parts[1] == NULL || !parse_uint (parts[1], 2, &mode))
    return cme_error (self, SIM_CME_INCORRECT_PARAMETERS);
  if (mode == 2)
    g_ptr_array_add (info, g_strdup ("+CLCK: 0"));
  else
    return cme_error (self, SIM_CME_NOT_ALLOWED);
  return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Settings */

/* A setting with a numeric value 0..max, read back as "+NAME: <value>". */
static const char *
handle_uint_setting (SimModem *self,
                     const char *name,
                     guint *value,
                     guint max,
                     SimOp op,
                     const char *args,
                     GPtrArray *info)
{
  switch (op) {
  case SIM_OP_READ:
    info_printf (info, "%s: %u", name, *value);
    return NULL;
  case SIM_OP_TEST:
    info_printf (info, "%s: (0-%u)", name, max);
    return NULL;
  case SIM_OP_SET:
    if (!parse_first_uint (args, max, value))
      return cme_error (self, SIM_CME_INCORRECT_PARAMETERS);
    return NULL;
  case SIM_OP_EXEC:
  default:
    *value = 0;
    return NULL;
  }
}

static const char *
handle_cmee (SimModem *self, SimOp op, const char *args, GPtrArray *info)
{
  return handle_uint_setting (self, "+CMEE", &self->cmee, 2, op, args, info);
}

static const char *
handle_boolean_setting (
    SimModem *self, const char *name, gboolean *flag, SimOp op, const char *args, GPtrArray *info)
{
  guint value = *flag ? 1 : 0;
  const char *result;

  if (op == SIM_OP_READ) {
    /* "+CLIP: <n>,<m>": m = 1, the service is provisioned */
    info_printf (info, "%s: %u,1", name, value);
    return NULL;
  }
  result = handle_uint_setting (self, name, &value, 1, op, args, info);
  *flag = value != 0;
  return result;
}

static const char *
handle_clip (SimModem *self, SimOp op, const char *args, GPtrArray *info)
{
  return handle_boolean_setting (self, "+CLIP", &self->clip, op, args, info);
}

static const char *
handle_ccwa (SimModem *self, SimOp op, const char *args, GPtrArray *info)
{
  return handle_boolean_setting (self, "+CCWA", &self->ccwa, op, args, info);
}

static const char *
handle_crc (SimModem *self, SimOp op, const char *args, GPtrArray *info)
{
  guint value = self->crc ? 1 : 0;
  const char *result = handle_uint_setting (self, "+CRC", &value, 1, op, args, info);

  self->crc = value != 0;
  return result;
}

static const char *
handle_cfun (SimModem *self, SimOp op, const char *args, GPtrArray *info)
{
  if (op == SIM_OP_TEST) {
    g_ptr_array_add (info, g_strdup ("+CFUN: (0,1,4),(0,1)"));
    return NULL;
  }
  return handle_uint_setting (self, "+CFUN", &self->cfun, 4, op, args, info);
}

static const char *
handle_cscs (SimModem *self, SimOp op, const char *args, GPtrArray *info)
{
  g_auto (GStrv) parts = NULL;

  switch (op) {
  case SIM_OP_TEST:
    /* No UCS2: numbers would then be reported hex-encoded */
    g_ptr_array_add (info, g_strdup ("+CSCS: (\"IRA\",\"GSM\")"));
    return NULL;
  case SIM_OP_READ:
    info_printf (info, "+CSCS: \"%s\"", self->charset);
    return NULL;
  case SIM_OP_SET:
    parts = split_arguments (args);
    if (parts[0] == NULL
        || (g_ascii_strcasecmp (parts[0], "IRA") != 0 && g_ascii_strcasecmp (parts[0], "GSM") != 0))
      return cme_error (self, SIM_CME_NOT_SUPPORTED);
    g_free (self->charset);
    self->charset = g_ascii_strup (parts[0], -1);
    return NULL;
  case SIM_OP_EXEC:
  default:
    return "ERROR";
  }
}

/* Commands that accept anything and answer OK, with an optional fixed answer to "=?" and "?". */
typedef struct {
  const char *name;
  const char *test_answer;
  const char *read_answer;
} SimFixedCommand;

static const SimFixedCommand fixed_commands[] = {
  { "+CGDCONT", "+CGDCONT: (1-10),\"IP\",,,(0),(0)\r\n+CGDCONT: (1-10),\"IPV6\",,,(0),(0)",
    "+CGDCONT: 1,\"IP\",\"internet\",\"0.0.0.0\",0,0" },
  { "+IFC", "+IFC: (0-2),(0-2)", "+IFC: 0,0" },
  { "+CMER", "+CMER: (0-3),(0),(0),(0-2),(0-1)", NULL },
  { "+CGEREP", "+CGEREP: (0-2),(0-1)", "+CGEREP: 0,0" },
  { "+CTZU", "+CTZU: (0-1)", "+CTZU: 1" },
  { "+CTZR", "+CTZR: (0-1)", "+CTZR: 0" },
  { "+WS46", "+WS46: (12,22,25,28,29)", "+WS46: 25" },
  { "+CEMODE", "+CEMODE: (0-3)", "+CEMODE: 2" },
  { "+CGATT", "+CGATT: (0,1)", "+CGATT: 1" },
  { "+CGACT", "+CGACT: (0,1)", "+CGACT: 1,0" },
  { "+CVHU", "+CVHU: (0-1)", "+CVHU: 0" },
  { "+CSNS", "+CSNS: (0)", "+CSNS: 0" },
  { "+CMOD", "+CMOD: (0)", "+CMOD: 0" },
  { "+CBST", NULL, "+CBST: 0,0,1" },
  { "+CPLS", "+CPLS: (0-2)", "+CPLS: 0" },
  { "+CPOL", "+CPOL: (1-8),(0-2)", NULL }, /* an empty preferred network list */
  { "+CPAS", "+CPAS: (0,3,4)", NULL },
};

static const char *
handle_fixed (SimModem *self, const SimFixedCommand *command, SimOp op, GPtrArray *info)
{
  const char *answer = NULL;

  if (op == SIM_OP_TEST)
    answer = command->test_answer;
  else if (op == SIM_OP_READ)
    answer = command->read_answer;
  if (answer != NULL) {
    g_auto (GStrv) lines = g_strsplit (answer, "\r\n", -1);

    for (guint i = 0; lines[i] != NULL; i++)
      g_ptr_array_add (info, g_strdup (lines[i]));
  }
  return NULL;
}

static const char *
handle_cmer (SimModem *self, SimOp op, const char *args, GPtrArray *info)
{
  g_auto (GStrv) parts = NULL;
  guint indicators = 0;

  if (op == SIM_OP_READ) {
    info_printf (info, "+CMER: 3,0,0,%d,0", self->cmer_indicators ? 1 : 0);
    return NULL;
  }
  if (op != SIM_OP_SET)
    return handle_fixed (self, &fixed_commands[2], op, info);
  parts = split_arguments (args);
  if (g_strv_length (parts) >= 4 && parts[3][0] != '\0' && !parse_uint (parts[3], 2, &indicators))
    return cme_error (self, SIM_CME_INCORRECT_PARAMETERS);
  self->cmer_indicators = indicators != 0;
  return NULL;
}

static const char *
handle_cpas (SimModem *self, SimOp op, const char *args, GPtrArray *info)
{
  if (op != SIM_OP_EXEC)
    return handle_fixed (self, &fixed_commands[G_N_ELEMENTS (fixed_commands) - 1], op, info);
  if (has_call_in_state (self, SIM_CALL_INCOMING))
    g_ptr_array_add (info, g_strdup ("+CPAS: 3"));
  else if (self->calls->len > 0)
    g_ptr_array_add (info, g_strdup ("+CPAS: 4"));
  else
    g_ptr_array_add (info, g_strdup ("+CPAS: 0"));
  return NULL;
}

static const char *
handle_cclk (SimModem *self, SimOp op, const char *args, GPtrArray *info)
{
  g_autoptr (GDateTime) now = NULL;
  g_autofree char *text = NULL;

  if (op == SIM_OP_TEST || op == SIM_OP_SET)
    return NULL;
  if (op != SIM_OP_READ)
    return "ERROR";
  now = g_date_time_new_now_utc ();
  text = g_date_time_format (now, "%y/%m/%d,%H:%M:%S");
  info_printf (info, "+CCLK: \"%s+00\"", text);
  return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Network */

static const char *
handle_registration (
    SimModem *self, const char *name, guint *mode, SimOp op, const char *args, GPtrArray *info)
{
  g_autofree char *line = NULL;

  if (op == SIM_OP_READ) {
    line = format_registration (self, name, *mode, TRUE);
    g_ptr_array_add (info, g_steal_pointer (&line));
    return NULL;
  }
  return handle_uint_setting (self, name, mode, 2, op, args, info);
}

static const char *
handle_creg (SimModem *self, SimOp op, const char *args, GPtrArray *info)
{
  return handle_registration (self, "+CREG", &self->creg_mode, op, args, info);
}

static const char *
handle_cgreg (SimModem *self, SimOp op, const char *args, GPtrArray *info)
{
  return handle_registration (self, "+CGREG", &self->cgreg_mode, op, args, info);
}

static const char *
handle_cereg (SimModem *self, SimOp op, const char *args, GPtrArray *info)
{
  return handle_registration (self, "+CEREG", &self->cereg_mode, op, args, info);
}

static const char *
handle_cops (SimModem *self, SimOp op, const char *args, GPtrArray *info)
{
  g_auto (GStrv) parts = NULL;
  const SimIdentity *identity = self->identity;
  guint value;

  switch (op) {
  case SIM_OP_TEST:
    info_printf (info, "+COPS: (2,\"%s\",\"%s\",\"%s\",%d),,(0-4),(0-2)", identity->operator_name,
                 identity->operator_name, identity->operator_code, SIM_ACT_EUTRAN);
    return NULL;
  case SIM_OP_READ:
    if (!is_registered (self))
      info_printf (info, "+COPS: 0");
    else
      info_printf (info, "+COPS: 0,%u,\"%s\",%d", self->cops_format,
                   self->cops_format == 2 ? identity->operator_code : identity->operator_name,
                   SIM_ACT_EUTRAN);
    return NULL;
  case SIM_OP_SET:
    parts = split_arguments (args);
    if (parts[0] == NULL || !parse_uint (parts[0], 4, &value))
      return cme_error (self, SIM_CME_INCORRECT_PARAMETERS);
    if (value == 3) {
      if (parts[1] == NULL || !parse_uint (parts[1], 2, &value))
        return cme_error (self, SIM_CME_INCORRECT_PARAMETERS);
      self->cops_format = value;
    }
    return NULL;
  case SIM_OP_EXEC:
  default:
    return NULL;
  }
}

static const char *
handle_csq (SimModem *self, SimOp op, const char *args, GPtrArray *info)
{
  if (op == SIM_OP_TEST)
    g_ptr_array_add (info, g_strdup ("+CSQ: (0-31,99),(0-7,99)"));
  else if (op == SIM_OP_EXEC)
    info_printf (info, "+CSQ: %u,99", scale_signal (self, 31));
  else
    return "ERROR";
  return NULL;
}

static const char *
handle_cesq (SimModem *self, SimOp op, const char *args, GPtrArray *info)
{
  if (op == SIM_OP_TEST)
    g_ptr_array_add (info, g_strdup ("+CESQ: (0-63,99),(0-7,99),(0-96,255),(0-49,255),"
                                     "(0-34,255),(0-97,255)"));
  else if (op == SIM_OP_EXEC)
    info_printf (info, "+CESQ: 99,99,255,255,%u,%u", scale_signal (self, 34),
                 scale_signal (self, 97));
  else
    return "ERROR";
  return NULL;
}

static const char *
handle_cind (SimModem *self, SimOp op, const char *args, GPtrArray *info)
{
  gboolean in_call
      = has_call_in_state (self, SIM_CALL_ACTIVE) || has_call_in_state (self, SIM_CALL_HELD);
  guint setup = 0;

  if (op == SIM_OP_TEST) {
    g_ptr_array_add (info, g_strdup ("+CIND: (\"battchg\",(0-5)),(\"signal\",(0-5)),"
                                     "(\"service\",(0-1)),(\"call\",(0-1)),(\"roam\",(0-1)),"
                                     "(\"smsfull\",(0-1)),(\"callsetup\",(0-3))"));
    return NULL;
  }
  if (op != SIM_OP_READ)
    return op == SIM_OP_SET ? NULL : "ERROR";
  if (has_call_in_state (self, SIM_CALL_INCOMING))
    setup = 1;
  else if (has_call_in_state (self, SIM_CALL_DIALING))
    setup = 2;
  else if (has_call_in_state (self, SIM_CALL_ALERTING))
    setup = 3;
  info_printf (info, "+CIND: 5,%u,%d,%d,%d,0,%u", scale_signal (self, 5),
               is_registered (self) ? 1 : 0, in_call ? 1 : 0,
               self->identity->registration == SIM_REGISTRATION_ROAMING ? 1 : 0, setup);
  return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Voice */

static const char *
hang_up_all (SimModem *self)
{
  release_calls (self, -1);
  g_clear_handle_id (&self->ring_id, g_source_remove);
  return NULL;
}

static const char *
handle_chup (SimModem *self, SimOp op, const char *args, GPtrArray *info)
{
  if (op == SIM_OP_TEST)
    return NULL;
  if (op != SIM_OP_EXEC)
    return "ERROR";
  return hang_up_all (self);
}

static const char *
handle_clcc (SimModem *self, SimOp op, const char *args, GPtrArray *info)
{
  if (op == SIM_OP_TEST)
    return NULL;
  if (op != SIM_OP_EXEC)
    return "ERROR";
  for (guint i = 0; i < self->calls->len; i++)
    g_ptr_array_add (info, format_clcc (g_ptr_array_index (self->calls, i)));
  return NULL;
}

static const char *
answer_call (SimModem *self)
{
  SimCall *call = find_call_in_state (self, SIM_CALL_INCOMING);

  if (call == NULL)
    call = find_call_in_state (self, SIM_CALL_WAITING);
  if (call == NULL)
    return "NO CARRIER";
  activate_call (self, call);
  return NULL;
}

/* AT+CHLD (3GPP TS 22.030 §6.5.5.1) */
static const char *
handle_chld (SimModem *self, SimOp op, const char *args, GPtrArray *info)
{
  SimCall *waiting;
  SimCall *call = NULL;
  guint value;
  guint action;

  if (op == SIM_OP_TEST) {
    g_ptr_array_add (info, g_strdup ("+CHLD: (0,1,1x,2,2x,3)"));
    return NULL;
  }
  if (op != SIM_OP_SET || !parse_first_uint (args, 29, &value))
    return cme_error (self, SIM_CME_INCORRECT_PARAMETERS);
  action = value >= 10 ? value / 10 : value;
  if (value >= 10) {
    call = find_call (self, value % 10);
    if (call == NULL || action > 2)
      return cme_error (self, SIM_CME_INVALID_INDEX);
  }
  waiting = find_call_in_state (self, SIM_CALL_WAITING);
  if (waiting == NULL)
    waiting = find_call_in_state (self, SIM_CALL_INCOMING);

  switch (action) {
  case 0:
    /* reject the waiting call, else release the held calls */
    if (waiting != NULL)
      g_ptr_array_remove (self->calls, waiting);
    else
      release_calls (self, SIM_CALL_HELD);
    break;
  case 1:
    if (call != NULL) {
      g_ptr_array_remove (self->calls, call);
      promote_waiting_call (self);
      break;
    }
    /* release the active calls, accept the waiting or else the held call */
    release_calls (self, SIM_CALL_ACTIVE);
    if (waiting != NULL)
      activate_call (self, waiting);
    else if ((call = find_call_in_state (self, SIM_CALL_HELD)) != NULL)
      activate_call (self, call);
    break;
  case 2:
    if (call != NULL) {
      if (call->state != SIM_CALL_ACTIVE && call->state != SIM_CALL_HELD)
        return cme_error (self, SIM_CME_NOT_ALLOWED);
      activate_call (self, call);
      break;
    }
    /* hold the active calls, accept the waiting or else the held call */
    if (waiting != NULL) {
      activate_call (self, waiting);
    } else {
      call = find_call_in_state (self, SIM_CALL_HELD);
      hold_active_calls (self, NULL);
      if (call != NULL)
        activate_call (self, call);
    }
    break;
  case 3:
    for (guint i = 0; i < self->calls->len; i++) {
      call = g_ptr_array_index (self->calls, i);
      if (call->state == SIM_CALL_HELD)
        call->state = SIM_CALL_ACTIVE;
    }
    break;
  default:
    return cme_error (self, SIM_CME_NOT_SUPPORTED);
  }
  return NULL;
}

static const char *
handle_vts (SimModem *self, SimOp op, const char *args, GPtrArray *info)
{
  g_auto (GStrv) parts = NULL;
  gboolean valid;

  if (op == SIM_OP_TEST) {
    g_ptr_array_add (info, g_strdup ("+VTS: (0-9,#,*,A-D)"));
    return NULL;
  }
  if (op != SIM_OP_SET)
    return cme_error (self, SIM_CME_INCORRECT_PARAMETERS);
  parts = split_arguments (args);
  valid = parts[0] != NULL && parts[0][0] != '\0'
          && strspn (parts[0], "0123456789*#ABCD") == strlen (parts[0]);
  g_clear_pointer (&parts, g_strfreev); /* (clang's analyzer misses g_auto here) */
  return valid ? NULL : cme_error (self, SIM_CME_INCORRECT_PARAMETERS);
}

static const char *
dial (SimModem *self, const char *dial_string)
{
  g_autofree char *number = g_strdup (dial_string);
  SimNextDial next = self->next_dial;
  size_t len = strlen (number);
  SimCall *call;

  if (len == 0 || number[len - 1] != ';')
    return "NO CARRIER"; /* data calls are not supported */
  number[len - 1] = '\0';
  g_strstrip (number);
  if (!is_dial_string (number))
    return "ERROR";
  self->next_dial = SIM_NEXT_DIAL_OK;
  switch (next) {
  case SIM_NEXT_DIAL_BUSY:
    return "BUSY";
  case SIM_NEXT_DIAL_NO_CARRIER:
    return "NO CARRIER";
  case SIM_NEXT_DIAL_ERROR:
    return cme_error (self, SIM_CME_NOT_ALLOWED);
  case SIM_NEXT_DIAL_OK:
  default:
    break;
  }
  if (!is_registered (self))
    return "NO CARRIER";
  if (self->calls->len >= SIM_MAX_CALLS || has_call_in_state (self, SIM_CALL_DIALING)
      || has_call_in_state (self, SIM_CALL_ALERTING))
    return cme_error (self, SIM_CME_NOT_ALLOWED);

  hold_active_calls (self, NULL);
  call = add_call (self, FALSE, SIM_CALL_DIALING, number,
                   number[0] == '+' ? SIM_TYPE_INTERNATIONAL : SIM_TYPE_NATIONAL);
  if (self->alert_after_ms >= 0)
    call->alert_id = g_timeout_add ((guint)self->alert_after_ms, on_alert_timeout, call);
  if (self->auto_answer_s > 0)
    call->answer_id = g_timeout_add_seconds (self->auto_answer_s, on_auto_answer_timeout, call);
  return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Command dispatch */

static const struct {
  const char *name;
  SimCommandHandler handler;
} extended_commands[] = {
  { "+CGMI", handle_cgmi },   { "+GMI", handle_cgmi },    { "+CGMM", handle_cgmm },
  { "+GMM", handle_cgmm },    { "+CGMR", handle_cgmr },   { "+GMR", handle_cgmr },
  { "+CGSN", handle_cgsn },   { "+GSN", handle_cgsn },    { "+CIMI", handle_cimi },
  { "+GCAP", handle_gcap },   { "+CPIN", handle_cpin },   { "+CRSM", handle_crsm },
  { "+CNUM", handle_cnum },   { "+CLCK", handle_clck },   { "+CMEE", handle_cmee },
  { "+CLIP", handle_clip },   { "+CCWA", handle_ccwa },   { "+CRC", handle_crc },
  { "+CFUN", handle_cfun },   { "+CSCS", handle_cscs },   { "+CMER", handle_cmer },
  { "+CPAS", handle_cpas },   { "+CCLK", handle_cclk },   { "+CREG", handle_creg },
  { "+CGREG", handle_cgreg }, { "+CEREG", handle_cereg }, { "+COPS", handle_cops },
  { "+CSQ", handle_csq },     { "+CESQ", handle_cesq },   { "+CIND", handle_cind },
  { "+CHUP", handle_chup },   { "+CLCC", handle_clcc },   { "+CHLD", handle_chld },
  { "+VTS", handle_vts },
};

static const char *
run_extended (SimModem *self, const char *command, GPtrArray *info)
{
  g_autofree char *name = NULL;
  const char *rest;
  SimOp op = SIM_OP_EXEC;
  size_t name_len = strcspn (command, "=?");

  name = g_strndup (command, name_len);
  g_strstrip (name);
  rest = command + name_len;
  if (g_str_has_prefix (rest, "=?")) {
    op = SIM_OP_TEST;
    rest += 2;
  } else if (*rest == '=') {
    op = SIM_OP_SET;
    rest += 1;
  } else if (*rest == '?') {
    op = SIM_OP_READ;
    rest += 1;
  }
  if ((op == SIM_OP_TEST || op == SIM_OP_READ) && *rest != '\0')
    return "ERROR";

  for (guint i = 0; i < G_N_ELEMENTS (extended_commands); i++) {
    if (strcmp (name, extended_commands[i].name) == 0)
      return extended_commands[i].handler (self, op, rest, info);
  }
  for (guint i = 0; i < G_N_ELEMENTS (fixed_commands); i++) {
    if (strcmp (name, fixed_commands[i].name) == 0)
      return handle_fixed (self, &fixed_commands[i], op, info);
  }
  return "ERROR";
}

/* A basic (V.250) command: a letter, or '&' and a letter, with an optional number. */
static const char *
run_basic (SimModem *self, const char *name, int value, GPtrArray *info)
{
  if (strcmp (name, "E") == 0) {
    if (value > 1)
      return "ERROR";
    self->echo = value == 1;
  } else if (strcmp (name, "I") == 0) {
    info_printf (info, "Manufacturer: %s", self->identity->manufacturer);
    info_printf (info, "Model: %s", self->identity->model);
    info_printf (info, "Revision: %s", self->identity->revision);
    info_printf (info, "IMEI: %s", self->identity->imei);
    g_ptr_array_add (info, g_strdup ("+GCAP: +CGSM"));
  } else if (strcmp (name, "A") == 0) {
    return answer_call (self);
  } else if (strcmp (name, "H") == 0) {
    return hang_up_all (self);
  } else if (strchr ("VQXZLM", name[0]) != NULL && name[1] == '\0') {
    if (value > 4)
      return "ERROR";
  } else if (name[0] == '&' && strchr ("CDFKSW", name[1]) != NULL) {
    if (value > 4)
      return "ERROR";
  } else {
    return "ERROR";
  }
  return NULL;
}

/* Runs the commands of one line (after "AT"); returns the final result code. */
static const char *
run_line (SimModem *self, const char *commands, GPtrArray *info)
{
  const char *p = commands;

  while (*p != '\0') {
    const char *result = NULL;

    if (*p == ' ' || *p == ';') {
      p++;
    } else if (strchr ("+*^$%#", *p) != NULL) {
      g_autofree char *command = NULL;
      const char *end = p;
      gboolean quoted = FALSE;

      while (*end != '\0' && (quoted || *end != ';')) {
        if (*end == '"')
          quoted = !quoted;
        end++;
      }
      command = g_strndup (p, (gsize)(end - p));
      result = run_extended (self, command, info);
      p = end;
    } else if (*p == 'D') {
      return dial (self, p + 1);
    } else if (*p == 'S' && g_ascii_isdigit (p[1])) {
      p++;
      while (g_ascii_isdigit (*p))
        p++;
      if (*p == '?') {
        g_ptr_array_add (info, g_strdup ("000"));
        p++;
      } else if (*p == '=') {
        p++;
        while (g_ascii_isdigit (*p))
          p++;
      } else {
        result = "ERROR";
      }
    } else if (g_ascii_isalpha (*p) || (*p == '&' && g_ascii_isalpha (p[1]))) {
      char name[3] = { 0 };
      int value = 0;

      name[0] = *p++;
      if (name[0] == '&')
        name[1] = *p++;
      while (g_ascii_isdigit (*p) && value < 1000)
        value = value * 10 + (*p++ - '0');
      if (g_ascii_isdigit (*p))
        result = "ERROR";
      else
        result = run_basic (self, name, value, info);
    } else {
      result = "ERROR";
    }
    if (result != NULL)
      return result;
  }
  return NULL;
}

/* Upper-cases everything outside double quotes. */
static char *
normalize_line (const char *line)
{
  char *copy = g_strdup (line);
  gboolean quoted = FALSE;

  for (char *p = copy; *p; p++) {
    if (*p == '"')
      quoted = !quoted;
    else if (!quoted)
      *p = g_ascii_toupper (*p);
  }
  return copy;
}

static gboolean
is_printable_line (const char *line)
{
  for (const char *p = line; *p; p++) {
    if ((guchar)*p < 0x20 || (guchar)*p >= 0x7f)
      return FALSE;
  }
  return TRUE;
}

void
sim_modem_receive_line (SimModem *self, const char *line)
{
  g_autoptr (GPtrArray) info = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *normalized = NULL;
  const char *result;

  g_return_if_fail (SIM_IS_MODEM (self));
  g_return_if_fail (line != NULL);

  self->command_count++;
  if (self->echo)
    emit_line (self, SIM_OUTPUT_ECHO, line);

  self->in_command = TRUE;
  normalized = normalize_line (line);
  g_strchug (normalized);
  if (!is_printable_line (normalized) || !g_str_has_prefix (normalized, "AT"))
    result = "ERROR";
  else
    result = run_line (self, normalized + 2, info);
  self->in_command = FALSE;

  for (guint i = 0; i < info->len; i++)
    emit_line (self, SIM_OUTPUT_RESPONSE, g_ptr_array_index (info, i));
  emit_line (self, SIM_OUTPUT_RESPONSE, result != NULL ? result : "OK");
  flush_pending_urcs (self);
}

void
sim_modem_reject_overlong_line (SimModem *self)
{
  g_return_if_fail (SIM_IS_MODEM (self));

  self->command_count++;
  emit_line (self, SIM_OUTPUT_RESPONSE, "ERROR");
}

guint
sim_modem_get_command_count (SimModem *self)
{
  g_return_val_if_fail (SIM_IS_MODEM (self), 0);

  return self->command_count;
}

/* ------------------------------------------------------------------------------------------ */
/* Control commands */

static gboolean G_GNUC_PRINTF (2, 3) control_error (GError **error, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  if (error != NULL)
    *error = g_error_new_valist (G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, format, args);
  va_end (args);
  return FALSE;
}

/* The call named by @arg, or with no @arg the first call in one of @states (a -1 terminated
 * list). */
static SimCall *
control_find_call (SimModem *self, const char *arg, const int *states, GError **error)
{
  guint index;

  if (arg != NULL) {
    SimCall *call;

    if (!parse_uint (arg, 99, &index)) {
      control_error (error, "invalid call index '%s'", arg);
      return NULL;
    }
    call = find_call (self, index);
    if (call == NULL)
      control_error (error, "no call with index %u", index);
    return call;
  }
  for (guint i = 0; i < self->calls->len; i++) {
    SimCall *call = g_ptr_array_index (self->calls, i);

    for (const int *state = states; *state >= 0; state++) {
      if ((int)call->state == *state)
        return call;
    }
  }
  control_error (error, "no suitable call");
  return NULL;
}

static gboolean
control_incoming (SimModem *self, const char *const *argv, char **out_info, GError **error)
{
  const char *number = NULL;
  gboolean withheld = FALSE;
  gboolean national = FALSE;
  SimCall *call;
  guint type;

  for (guint i = 1; argv[i] != NULL; i++) {
    if (strcmp (argv[i], "--withheld") == 0)
      withheld = TRUE;
    else if (strcmp (argv[i], "--national") == 0)
      national = TRUE;
    else if (argv[i][0] != '-' && number == NULL)
      number = argv[i];
    else
      return control_error (error, "unexpected argument '%s'", argv[i]);
  }
  if (withheld == (number != NULL))
    return control_error (error, "usage: incoming <number> [--national] | incoming --withheld");
  if (number != NULL && !is_dial_string (number))
    return control_error (error, "invalid number '%s'", number);
  if (national && number == NULL)
    return control_error (error, "--national needs a number: incoming <number> --national");
  if (national && number[0] == '+')
    return control_error (error, "a national number cannot start with '+'");
  if (!national && number != NULL && number[0] != '+')
    return control_error (error, "number must start with '+' (or add --national)");
  if (self->calls->len >= SIM_MAX_CALLS)
    return control_error (error, "too many calls");

  type = withheld ? SIM_TYPE_WITHHELD : national ? SIM_TYPE_NATIONAL : SIM_TYPE_INTERNATIONAL;
  if (has_call_in_progress (self) || has_call_in_state (self, SIM_CALL_INCOMING))
    call = add_call (self, TRUE, SIM_CALL_WAITING, withheld ? "" : number, type);
  else
    call = add_call (self, TRUE, SIM_CALL_INCOMING, withheld ? "" : number, type);

  /* one immediate alert for the new call, then the periodic round */
  if (call->state == SIM_CALL_INCOMING) {
    send_urc (self, self->crc ? "+CRING: VOICE" : "RING");
    if (self->clip)
      send_urc_printf (self, "+CLIP: \"%s\",%u,,,,%d", call->number, call->type, withheld ? 1 : 0);
  } else if (self->ccwa) {
    send_urc_printf (self, "+CCWA: \"%s\",%u,1", call->number, call->type);
  }
  restart_ring_timer (self);
  *out_info = g_strdup_printf ("%u", call->index);
  return TRUE;
}

static gboolean
control_remote_end (SimModem *self, const char *const *argv, const char *result, GError **error)
{
  static const int ending_states[] = { SIM_CALL_ACTIVE,
                                       SIM_CALL_ALERTING,
                                       SIM_CALL_DIALING,
                                       SIM_CALL_HELD,
                                       SIM_CALL_INCOMING,
                                       SIM_CALL_WAITING,
                                       -1 };
  const char *index_arg = NULL;
  gboolean silent = FALSE;
  SimCall *call;

  for (guint i = 1; argv[i] != NULL; i++) {
    if (strcmp (argv[i], "--silent") == 0 && result != NULL && strcmp (result, "NO CARRIER") == 0)
      silent = TRUE;
    else if (index_arg == NULL && argv[i][0] != '-')
      index_arg = argv[i];
    else
      return control_error (error, "unexpected argument '%s'", argv[i]);
  }
  call = control_find_call (self, index_arg, ending_states, error);
  if (call == NULL)
    return FALSE;
  /* the caller giving up needs no result code: there is no command in progress */
  if (silent || call->state == SIM_CALL_INCOMING || call->state == SIM_CALL_WAITING)
    result = NULL;
  remove_call (self, call, result);
  return TRUE;
}

static gboolean
control_alert (SimModem *self, const char *const *argv, GError **error)
{
  static const int states[] = { SIM_CALL_DIALING, -1 };
  SimCall *call;

  if (argv[1] != NULL && argv[2] != NULL)
    return control_error (error, "usage: alert [index]");
  call = control_find_call (self, argv[1], states, error);
  if (call == NULL)
    return FALSE;
  if (call->state != SIM_CALL_DIALING)
    return control_error (error, "call %u is %s, not dialing", call->index,
                          call_state_names[call->state]);
  g_clear_handle_id (&call->alert_id, g_source_remove);
  call->state = SIM_CALL_ALERTING;
  return TRUE;
}

static gboolean
control_answer (SimModem *self, const char *const *argv, GError **error)
{
  static const int states[] = { SIM_CALL_ALERTING, SIM_CALL_DIALING, -1 };
  SimCall *call;

  if (argv[1] != NULL && argv[2] != NULL)
    return control_error (error, "usage: answer [index]");
  call = control_find_call (self, argv[1], states, error);
  if (call == NULL)
    return FALSE;
  if (call->state != SIM_CALL_DIALING && call->state != SIM_CALL_ALERTING)
    return control_error (error, "call %u is %s, not an outgoing call being set up", call->index,
                          call_state_names[call->state]);
  activate_call (self, call);
  return TRUE;
}

static gboolean
control_uint_argument (const char *const *argv, guint max, guint *out_value, GError **error)
{
  if (argv[1] == NULL || argv[2] != NULL || !parse_uint (argv[1], max, out_value))
    return control_error (error, "usage: %s <0-%u>", argv[0], max);
  return TRUE;
}

gboolean
sim_modem_control (SimModem *self, const char *const *argv, char **out_info, GError **error)
{
  const char *command;
  guint value = 0;

  g_return_val_if_fail (SIM_IS_MODEM (self), FALSE);
  g_return_val_if_fail (argv != NULL && argv[0] != NULL, FALSE);
  g_return_val_if_fail (out_info != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  *out_info = NULL;
  command = argv[0];
  if (strcmp (command, "incoming") == 0)
    return control_incoming (self, argv, out_info, error);
  if (strcmp (command, "alert") == 0)
    return control_alert (self, argv, error);
  if (strcmp (command, "answer") == 0)
    return control_answer (self, argv, error);
  if (strcmp (command, "hangup") == 0)
    return control_remote_end (self, argv, "NO CARRIER", error);
  if (strcmp (command, "busy") == 0)
    return control_remote_end (self, argv, "BUSY", error);
  if (strcmp (command, "noanswer") == 0)
    return control_remote_end (self, argv, "NO ANSWER", error);

  if (strcmp (command, "next-dial") == 0) {
    static const char *const names[] = { "ok", "busy", "no-carrier", "error" };

    for (guint i = 0; argv[1] != NULL && argv[2] == NULL && i < G_N_ELEMENTS (names); i++) {
      if (strcmp (argv[1], names[i]) == 0) {
        self->next_dial = (SimNextDial)i;
        return TRUE;
      }
    }
    return control_error (error, "usage: next-dial ok|busy|no-carrier|error");
  }
  if (strcmp (command, "alert-after") == 0) {
    if (argv[1] != NULL && argv[2] == NULL && strcmp (argv[1], "-1") == 0) {
      self->alert_after_ms = -1;
      return TRUE;
    }
    if (!control_uint_argument (argv, 600000, &value, error))
      return FALSE;
    self->alert_after_ms = (int)value;
    return TRUE;
  }
  if (strcmp (command, "auto-answer") == 0) {
    if (!control_uint_argument (argv, 3600, &value, error))
      return FALSE;
    self->auto_answer_s = value;
    return TRUE;
  }
  if (strcmp (command, "ring-period") == 0) {
    if (!control_uint_argument (argv, 600000, &value, error))
      return FALSE;
    self->ring_period_ms = value;
    if (self->ring_id != 0)
      restart_ring_timer (self);
    return TRUE;
  }
  if (strcmp (command, "signal") == 0) {
    if (!control_uint_argument (argv, 100, &value, error))
      return FALSE;
    self->identity->signal = value;
    if (self->cmer_indicators)
      send_urc_printf (self, "+CIEV: %d,%u", SIM_CIND_SIGNAL, scale_signal (self, 5));
    return TRUE;
  }
  if (strcmp (command, "registration") == 0) {
    SimRegistration registration;

    if (argv[1] == NULL || argv[2] != NULL
        || !sim_registration_from_string (argv[1], &registration))
      return control_error (error, "usage: registration home|roaming|searching|denied|idle");
    self->identity->registration = registration;
    report_registration (self);
    return TRUE;
  }

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "unknown command '%s'", command);
  return FALSE;
}

void
sim_modem_append_status (SimModem *self, GString *out)
{
  const SimIdentity *identity;

  g_return_if_fail (SIM_IS_MODEM (self));

  identity = self->identity;
  g_string_append_printf (out, "manufacturer=%s\n", identity->manufacturer);
  g_string_append_printf (out, "model=%s\n", identity->model);
  g_string_append_printf (out, "revision=%s\n", identity->revision);
  g_string_append_printf (out, "imei=%s\n", identity->imei);
  g_string_append_printf (out, "imsi=%s\n", identity->imsi);
  g_string_append_printf (out, "iccid=%s\n", identity->iccid);
  g_string_append_printf (out, "own-number=%s\n",
                          identity->own_number != NULL ? identity->own_number : "");
  g_string_append_printf (out, "operator-name=%s\n", identity->operator_name);
  g_string_append_printf (out, "operator-code=%s\n", identity->operator_code);
  g_string_append_printf (out, "country=%s\n", identity->country);
  g_string_append_printf (out, "registration=%s\n",
                          sim_registration_to_string (identity->registration));
  g_string_append_printf (out, "signal=%u\n", identity->signal);
  g_string_append_printf (out, "echo=%d\n", self->echo ? 1 : 0);
  g_string_append_printf (out, "clip=%d\n", self->clip ? 1 : 0);
  g_string_append_printf (out, "crc=%d\n", self->crc ? 1 : 0);
  g_string_append_printf (out, "ccwa=%d\n", self->ccwa ? 1 : 0);
  g_string_append_printf (out, "alert-after=%d\n", self->alert_after_ms);
  g_string_append_printf (out, "auto-answer=%u\n", self->auto_answer_s);
  g_string_append_printf (out, "ring-period=%u\n", self->ring_period_ms);
  g_string_append_printf (out, "at-commands=%u\n", self->command_count);
  g_string_append_printf (out, "calls=%u\n", self->calls->len);
  for (guint i = 0; i < self->calls->len; i++) {
    SimCall *call = g_ptr_array_index (self->calls, i);

    g_string_append_printf (out, "call=%u dir=%s state=%s stat=%d number=%s type=%u\n", call->index,
                            call->mobile_terminated ? "in" : "out", call_state_names[call->state],
                            (int)call->state, call->number, call->type);
  }
}

/* ------------------------------------------------------------------------------------------ */

static void
sim_modem_dispose (GObject *object)
{
  SimModem *self = SIM_MODEM (object);

  g_clear_handle_id (&self->ring_id, g_source_remove);
  if (self->calls != NULL)
    g_ptr_array_set_size (self->calls, 0);

  G_OBJECT_CLASS (sim_modem_parent_class)->dispose (object);
}

static void
sim_modem_finalize (GObject *object)
{
  SimModem *self = SIM_MODEM (object);

  g_clear_pointer (&self->calls, g_ptr_array_unref);
  g_clear_pointer (&self->pending_urcs, g_ptr_array_unref);
  g_clear_pointer (&self->identity, sim_identity_free);
  g_free (self->charset);

  G_OBJECT_CLASS (sim_modem_parent_class)->finalize (object);
}

static void
sim_modem_class_init (SimModemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sim_modem_dispose;
  object_class->finalize = sim_modem_finalize;

  signals[SIGNAL_OUTPUT]
      = g_signal_new ("output", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_STRING);
}

static void
sim_modem_init (SimModem *self)
{
  self->calls = g_ptr_array_new_with_free_func ((GDestroyNotify)sim_call_free);
  self->pending_urcs = g_ptr_array_new_with_free_func (g_free);
  self->echo = TRUE;
  self->cfun = 1;
  self->charset = g_strdup ("IRA");
  self->ring_period_ms = SIM_DEFAULT_RING_PERIOD_MS;
  self->alert_after_ms = SIM_DEFAULT_ALERT_AFTER_MS;
}

SimModem *
sim_modem_new (SimIdentity *identity)
{
  SimModem *self = g_object_new (SIM_TYPE_MODEM, NULL);

  g_return_val_if_fail (identity != NULL, self);
  self->identity = identity;
  return self;
}
