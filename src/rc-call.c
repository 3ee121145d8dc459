/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "rc-call"

#include "config.h"

#include "rc-call.h"

/* Enum ↔ string tables. The strings are the wire format and what the database stores: stable. */

static const char *const direction_names[] = {
  [RC_CALL_DIRECTION_OUTBOUND] = "outbound",
  [RC_CALL_DIRECTION_INBOUND] = "inbound",
};

static const char *const status_names[] = {
  [RC_CALL_STATUS_INITIATING] = "initiating", [RC_CALL_STATUS_RINGING] = "ringing",
  [RC_CALL_STATUS_CONNECTED] = "connected",   [RC_CALL_STATUS_ENDED] = "ended",
  [RC_CALL_STATUS_MISSED] = "missed",         [RC_CALL_STATUS_REJECTED] = "rejected",
  [RC_CALL_STATUS_FAILED] = "failed",
};

static const char *const end_reason_names[] = {
  [RC_END_REASON_NONE] = NULL,
  [RC_END_REASON_LOCAL_HANGUP] = "local_hangup",
  [RC_END_REASON_REMOTE_HANGUP] = "remote_hangup",
  [RC_END_REASON_TIMEOUT] = "timeout",
  [RC_END_REASON_BUSY] = "busy",
  [RC_END_REASON_LINE_BUSY] = "line_busy",
  [RC_END_REASON_ERROR] = "error",
  [RC_END_REASON_MODEM_REMOVED] = "modem_removed",
  [RC_END_REASON_UNKNOWN] = "unknown",
};

static gboolean
lookup_name (const char *const *names, guint n_names, const char *text, int *out)
{
  if (text == NULL)
    return FALSE;
  for (guint i = 0; i < n_names; i++) {
    if (names[i] != NULL && g_str_equal (names[i], text)) {
      *out = (int)i;
      return TRUE;
    }
  }
  return FALSE;
}

const char *
rc_call_direction_to_string (RcCallDirection direction)
{
  g_return_val_if_fail (direction < G_N_ELEMENTS (direction_names), NULL);
  return direction_names[direction];
}

gboolean
rc_call_direction_from_string (const char *text, RcCallDirection *out)
{
  int value;

  if (!lookup_name (direction_names, G_N_ELEMENTS (direction_names), text, &value))
    return FALSE;
  *out = (RcCallDirection)value;
  return TRUE;
}

const char *
rc_call_status_to_string (RcCallStatus status)
{
  g_return_val_if_fail (status < G_N_ELEMENTS (status_names), NULL);
  return status_names[status];
}

gboolean
rc_call_status_from_string (const char *text, RcCallStatus *out)
{
  int value;

  if (!lookup_name (status_names, G_N_ELEMENTS (status_names), text, &value))
    return FALSE;
  *out = (RcCallStatus)value;
  return TRUE;
}

const char *
rc_end_reason_to_string (RcEndReason reason)
{
  g_return_val_if_fail (reason < G_N_ELEMENTS (end_reason_names), NULL);
  return end_reason_names[reason];
}

gboolean
rc_end_reason_from_string (const char *text, RcEndReason *out)
{
  int value;

  if (!lookup_name (end_reason_names, G_N_ELEMENTS (end_reason_names), text, &value))
    return FALSE;
  *out = (RcEndReason)value;
  return TRUE;
}

RcCall *
rc_call_new (void)
{
  RcCall *call = g_new0 (RcCall, 1);

  call->cost_micro_usd = -1;
  return call;
}

RcCall *
rc_call_copy (const RcCall *call)
{
  RcCall *copy;

  g_return_val_if_fail (call != NULL, NULL);

  copy = g_memdup2 (call, sizeof *call);
  copy->call_id = g_strdup (call->call_id);
  copy->from = g_strdup (call->from);
  copy->to = g_strdup (call->to);
  copy->client_reference = g_strdup (call->client_reference);
  copy->modem = g_strdup (call->modem);
  copy->line = g_strdup (call->line);
  copy->mm_path = g_strdup (call->mm_path);
  return copy;
}

void
rc_call_free (RcCall *call)
{
  if (call == NULL)
    return;
  g_free (call->call_id);
  g_free (call->from);
  g_free (call->to);
  g_free (call->client_reference);
  g_free (call->modem);
  g_free (call->line);
  g_free (call->mm_path);
  g_free (call);
}

gboolean
rc_call_is_terminal (const RcCall *call)
{
  return call->status >= RC_CALL_STATUS_ENDED;
}

RcCall *
rc_call_as_of (const RcCall *call, RcCallStatus status)
{
  RcCall *then = rc_call_copy (call);

  /* Each field below is set only by the transition into a later status, so clearing it for an
   * earlier status gives back the call as it was (a caller number that arrived late is kept). */
  then->status = status;
  if (!rc_call_is_terminal (then)) {
    then->ended_at = 0;
    then->end_reason = RC_END_REASON_NONE;
    then->cost_micro_usd = -1;
  }
  if (status == RC_CALL_STATUS_INITIATING || status == RC_CALL_STATUS_RINGING)
    then->connected_at = 0;
  if (status == RC_CALL_STATUS_INITIATING)
    then->ringing_at = 0;
  return then;
}

gint64
rc_call_duration_seconds (const RcCall *call, gint64 now)
{
  gint64 until;

  if (call->connected_at == 0)
    return -1;
  until = call->ended_at != 0 ? call->ended_at : now;
  return MAX (0, (until - call->connected_at) / G_USEC_PER_SEC);
}
