/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* ModemManager's call states and reasons, mirrored so that nothing above this module needs
 * libmm-glib. Values ModemManager adds later map to _UNKNOWN. */
typedef enum {
  RC_MM_CALL_STATE_UNKNOWN,
  RC_MM_CALL_STATE_DIALING,
  RC_MM_CALL_STATE_RINGING_OUT,
  RC_MM_CALL_STATE_RINGING_IN,
  RC_MM_CALL_STATE_ACTIVE,
  RC_MM_CALL_STATE_HELD,
  RC_MM_CALL_STATE_WAITING,
  RC_MM_CALL_STATE_TERMINATED,
} RcMmCallState;

typedef enum {
  RC_MM_CALL_REASON_UNKNOWN,
  RC_MM_CALL_REASON_OUTGOING_STARTED,
  RC_MM_CALL_REASON_INCOMING_NEW,
  RC_MM_CALL_REASON_ACCEPTED,
  RC_MM_CALL_REASON_TERMINATED,
  RC_MM_CALL_REASON_REFUSED_OR_BUSY,
  RC_MM_CALL_REASON_ERROR,
  RC_MM_CALL_REASON_AUDIO_SETUP_FAILED,
  RC_MM_CALL_REASON_OTHER, /* transferred, deflected */
} RcMmCallReason;

/* What the watcher knows of one voice-capable modem. Owned by the watcher; valid until the next
 * "modems-changed" emission. */
typedef struct {
  char *path;
  char *equipment_id;
  char *manufacturer;
  char *model;
  char *state;          /* ModemManager's state name: "registered", "disabled", … */
  gboolean registered;  /* registered or better: can place calls */
  guint signal_quality; /* percent */
  char *operator_name;
  char *operator_code;
  char **own_numbers; /* E.164 numbers of the active SIM */
  char *iccid;        /* active SIM; nullable until read */
  char *imsi;
  guint active_slot; /* 1-based; 1 on modems without SIM slots */
  guint n_slots;     /* 0: no SimSlots (single SIM) */
} RcModemInfo;

/* One observation of a call, emitted with "call-updated". */
typedef struct {
  const char *modem_path;
  const char *equipment_id;
  const char *call_path;
  gboolean incoming;
  RcMmCallState state;
  RcMmCallState old_state;
  RcMmCallReason reason;
  const char *number; /* as ModemManager reports it; nullable */
} RcMmCallEvent;

#define RC_TYPE_MM_WATCH (rc_mm_watch_get_type ())
G_DECLARE_FINAL_TYPE (RcMmWatch, rc_mm_watch, RC, MM_WATCH, GObject)

/*
 * Signals:
 *  "presence-changed" (gboolean present): ModemManager's bus name appeared or vanished.
 *  "synced" (): after ModemManager appeared, every voice modem and its calls were read.
 *  "modems-changed" (): a modem was added, removed, or changed state, SIM or numbers.
 *  "modem-removed" (const char *path, const char *equipment_id): the modem went away (also for
 *     each modem when ModemManager vanishes); its calls vanished with no terminated signal.
 *  "call-updated" (RcMmCallEvent *): a call appeared, changed state or number.
 *  "call-deleted" (const char *modem_path, const char *call_path): CallDeleted.
 */

RcMmWatch *rc_mm_watch_new (void);
void rc_mm_watch_start (RcMmWatch *self);
gboolean rc_mm_watch_is_present (RcMmWatch *self);
/* Present, and every voice modem and its calls were read since it appeared ("synced"). */
gboolean rc_mm_watch_is_synced (RcMmWatch *self);
GPtrArray *rc_mm_watch_get_modems (RcMmWatch *self); /* RcModemInfo, transfer none */
const RcModemInfo *rc_mm_watch_find_modem (RcMmWatch *self, const char *path);

/* CreateCall then Start at once (ModemManager 1.20.4 stops polling calls started late). The
 * call path is known to "call-updated" listeners before this completes. */
void rc_mm_watch_dial_async (RcMmWatch *self,
                             const char *modem_path,
                             const char *number,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer user_data);
char *rc_mm_watch_dial_finish (RcMmWatch *self, GAsyncResult *result, GError **error);

typedef enum {
  RC_MM_CALL_OP_HANGUP,
  RC_MM_CALL_OP_ACCEPT,
} RcMmCallOp;

void rc_mm_watch_call_op_async (RcMmWatch *self,
                                const char *call_path,
                                RcMmCallOp op,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data);
gboolean rc_mm_watch_call_op_finish (RcMmWatch *self, GAsyncResult *result, GError **error);

/* Fire and forget: a failure is logged. */
void rc_mm_watch_delete_call (RcMmWatch *self, const char *modem_path, const char *call_path);

void rc_mm_watch_set_primary_slot_async (RcMmWatch *self,
                                         const char *modem_path,
                                         guint slot,
                                         GCancellable *cancellable,
                                         GAsyncReadyCallback callback,
                                         gpointer user_data);
gboolean
rc_mm_watch_set_primary_slot_finish (RcMmWatch *self, GAsyncResult *result, GError **error);

G_END_DECLS
