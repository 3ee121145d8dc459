/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  RC_CALL_DIRECTION_OUTBOUND,
  RC_CALL_DIRECTION_INBOUND,
} RcCallDirection;

/* The seven stored statuses of SPEC §4 ("answering" is a response-only value). */
typedef enum {
  RC_CALL_STATUS_INITIATING,
  RC_CALL_STATUS_RINGING,
  RC_CALL_STATUS_CONNECTED,
  RC_CALL_STATUS_ENDED,
  RC_CALL_STATUS_MISSED,
  RC_CALL_STATUS_REJECTED,
  RC_CALL_STATUS_FAILED,
} RcCallStatus;

typedef enum {
  RC_END_REASON_NONE, /* not terminal yet: null on the wire */
  RC_END_REASON_LOCAL_HANGUP,
  RC_END_REASON_REMOTE_HANGUP,
  RC_END_REASON_TIMEOUT,
  RC_END_REASON_BUSY,
  RC_END_REASON_LINE_BUSY,
  RC_END_REASON_ERROR,
  RC_END_REASON_MODEM_REMOVED,
  RC_END_REASON_UNKNOWN,
} RcEndReason;

/*
 * RcCall: one call record as stored and as served. Times are UTC microseconds since the epoch
 * (g_get_real_time ()), 0 meaning "not yet" (null on the wire).
 */
typedef struct {
  char *call_id; /* UUID */
  RcCallDirection direction;
  char *from; /* E.164; NULL when an inbound caller withheld the number */
  char *to;   /* E.164 */
  RcCallStatus status;
  RcEndReason end_reason;
  char *client_reference; /* nullable */
  char *modem;            /* equipment id of the modem that carries the call; nullable */
  int slot;               /* SIM slot, 1-based; 0 unknown */
  char *line;             /* our own number: from (outbound) or to (inbound) */
  char *mm_path;          /* ModemManager call object path while the call is open; nullable */
  int timeout_seconds;    /* 0: none */
  gint64 initiated_at;
  gint64 ringing_at;
  gint64 connected_at;
  gint64 ended_at;
  gint64 created_at;
  gint64 cost_micro_usd; /* < 0: null */
  guint last_sequence;   /* sequence of the call's latest event */
  gboolean local_hangup; /* we asked ModemManager to end it (hangup, decline, timeout) */
} RcCall;

RcCall *rc_call_new (void);
RcCall *rc_call_copy (const RcCall *call);
void rc_call_free (RcCall *call);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcCall, rc_call_free)

gboolean rc_call_is_terminal (const RcCall *call);
gint64 rc_call_duration_seconds (const RcCall *call, gint64 now); /* -1: null */
/* A copy of @call as it was when it entered @status (an event's payload): the fields that later
 * transitions set are cleared. */
RcCall *rc_call_as_of (const RcCall *call, RcCallStatus status);

const char *rc_call_direction_to_string (RcCallDirection direction);
gboolean rc_call_direction_from_string (const char *text, RcCallDirection *out);
const char *rc_call_status_to_string (RcCallStatus status);
gboolean rc_call_status_from_string (const char *text, RcCallStatus *out);
const char *rc_end_reason_to_string (RcEndReason reason); /* NULL for NONE */
gboolean rc_end_reason_from_string (const char *text, RcEndReason *out);

G_END_DECLS
