/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "rc-calls"

#include "config.h"

#include "rc-calls.h"

#include "rc-e164.h"
#include "rc-error.h"
#include "rc-log.h"

/**
 * RcCalls: the call state machine.
 *
 * Every call ModemManager shows on a modem that carries a provisioned number becomes a record.
 * Each status change is one store transaction that also appends the call's event (persist
 * before publish). The mapping follows SPEC §4; where ModemManager cannot tell (remote-driven
 * changes carry reason "unknown"), the evidence we have decides: a call that was never active and
 * that we did not end is "missed" with end_reason "remote_hangup".
 *
 * A tracked call stays in the maps while ModemManager still has it, even once its record is
 * terminal (a second caller declined for line_busy is recorded at once and hung up after), so
 * that its later signals are recognised and ignored.
 */

/* A terminated call ModemManager still lists is the one we recorded if a record with its path
 * ended within this window (ModemManager numbers calls anew after a restart). */
#define RC_CALLS_LEFTOVER_WINDOW (30 * G_TIME_SPAN_MINUTE)
/* How far back a deleted ModemManager path is looked for in the records (calls last less). */
#define RC_CALLS_PATH_WINDOW (2 * G_TIME_SPAN_DAY)

/* Seconds between attempts to store records the store refused. */
#define RC_CALLS_SAVE_RETRY 2

/* How long a hangup waits for ModemManager before the API hears of a failure. */
#define RC_CALLS_HANGUP_DEADLINE 30

typedef struct {
  RcCalls *self; /* unowned */
  RcCall *record;
  char *modem_path; /* nullable */
  guint timeout_id;
  gboolean timed_out;
  gboolean dial_in_flight;
  gboolean hangup_pending;     /* asked before ModemManager named the call */
  GList *waiters;              /* GTask: hangups waiting for the terminal record */
  GQueue unsaved_events;       /* UnsavedEvent: status changes the store refused (disk full) */
  gboolean unsaved;            /* the record differs from the stored one */
  gboolean release_when_saved; /* forget the call once the store has it all */
} OpenCall;

typedef struct {
  char *type;
  gint64 created_at;
} UnsavedEvent;

static void
unsaved_event_free (UnsavedEvent *event)
{
  g_free (event->type);
  g_free (event);
}

struct _RcCalls {
  GObject parent_instance;

  RcStore *store;
  RcMmWatch *watch;
  const RcConfig *config; /* unowned: the daemon's current configuration */
  GHashTable *calls;      /* call_id → OpenCall */
  GHashTable *by_path;    /* ModemManager call path → OpenCall (unowned) */
  GHashTable *seen_paths; /* call paths seen since ModemManager appeared */
  GCancellable *cancellable;
  guint save_retry_id; /* while some record could not be stored */
};

G_DEFINE_TYPE (RcCalls, rc_calls, G_TYPE_OBJECT)

static void
open_call_free (OpenCall *open)
{
  g_clear_handle_id (&open->timeout_id, g_source_remove);
  for (GList *l = open->waiters; l != NULL; l = l->next) {
    GTask *task = l->data;

    g_task_return_new_error (task, RC_ERROR, RC_ERROR_FAILED, "the daemon is shutting down");
    g_object_unref (task);
  }
  g_list_free (open->waiters);
  g_queue_clear_full (&open->unsaved_events, (GDestroyNotify)unsaved_event_free);
  rc_call_free (open->record);
  g_free (open->modem_path);
  g_free (open);
}

static char *
masked (const char *number)
{
  return rc_log_number (number);
}

/* The record and its queued events, in one transaction. */
static gboolean
store_open_call (RcCalls *self, OpenCall *open, GError **error)
{
  RcCall *call = open->record;
  guint sequence = call->last_sequence;
  gboolean ok;

  if (!rc_store_begin (self->store, error))
    return FALSE;
  ok = rc_store_save_call (self->store, call, error);
  for (GList *l = open->unsaved_events.head; ok && l != NULL; l = l->next) {
    UnsavedEvent *event = l->data;

    ok = rc_store_append_event (self->store, call, event->type, event->created_at, NULL, error);
  }
  if (ok && rc_store_commit (self->store, error))
    return TRUE;
  rc_store_rollback (self->store);
  call->last_sequence = sequence; /* the events are numbered when they are stored */
  return FALSE;
}

static gboolean on_save_retry (gpointer user_data);
static void release_mm_call (RcCalls *self, OpenCall *open);
static void forget_call (RcCalls *self, OpenCall *open);

/* Saves the record, with its next event when @event is TRUE (persist before publish: the event
 * and its outbox rows are one transaction). If the store refuses (disk full, read-only), the
 * record and its events stay queued here and are written when the store takes them again:
 * nothing is lost, and the events keep their order and gap-free numbers. */
static void
persist (RcCalls *self, OpenCall *open, gboolean event)
{
  g_autoptr (GError) error = NULL;

  if (event) {
    UnsavedEvent *unsaved = g_new0 (UnsavedEvent, 1);

    unsaved->created_at = g_get_real_time ();
    unsaved->type = g_strconcat ("call.", rc_call_status_to_string (open->record->status), NULL);
    g_queue_push_tail (&open->unsaved_events, unsaved);
  }
  if (store_open_call (self, open, &error)) {
    g_queue_clear_full (&open->unsaved_events, (GDestroyNotify)unsaved_event_free);
    if (open->unsaved)
      g_message ("call %s: stored again", open->record->call_id);
    open->unsaved = FALSE;
    return;
  }
  if (!open->unsaved)
    g_warning ("call %s: cannot store, keeping it until the store takes it: %s",
               open->record->call_id, error->message);
  open->unsaved = TRUE;
  if (self->save_retry_id == 0)
    self->save_retry_id = g_timeout_add_seconds (RC_CALLS_SAVE_RETRY, on_save_retry, self);
}

static gboolean
on_save_retry (gpointer user_data)
{
  RcCalls *self = RC_CALLS (user_data);
  g_autoptr (GList) opens = g_hash_table_get_values (self->calls);
  gboolean pending = FALSE;

  for (GList *l = opens; l != NULL; l = l->next) {
    OpenCall *open = l->data;

    if (!open->unsaved)
      continue;
    persist (self, open, FALSE);
    if (open->unsaved)
      pending = TRUE;
    else if (open->release_when_saved)
      release_mm_call (self, open);
  }
  if (pending)
    return G_SOURCE_CONTINUE;
  self->save_retry_id = 0;
  return G_SOURCE_REMOVE;
}

/* Stops following the call; one the store has not taken yet is kept until it has. */
static void
untrack (RcCalls *self, OpenCall *open)
{
  if (open->unsaved) {
    open->release_when_saved = TRUE;
    return;
  }
  forget_call (self, open);
}
static void
forget_call (RcCalls *self, OpenCall *open)
{
  if (open->record->mm_path != NULL)
    g_hash_table_remove (self->by_path, open->record->mm_path);
  g_hash_table_remove (self->calls, open->record->call_id);
}

/* ModemManager keeps terminated calls until deleted: delete once the record is final and
 * stored (until then ModemManager's call is the evidence of how it ended). */
static void
release_mm_call (RcCalls *self, OpenCall *open)
{
  if (open->unsaved) {
    open->release_when_saved = TRUE;
    return;
  }
  if (open->record->mm_path != NULL && self->config->delete_terminated)
    rc_mm_watch_delete_call (self->watch, open->modem_path, open->record->mm_path);
  forget_call (self, open);
}
static gint64
compute_cost (RcCalls *self, const RcCall *call)
{
  const RcNumberConfig *entry = rc_config_find_number (self->config, call->line);
  gint64 seconds = rc_call_duration_seconds (call, call->ended_at);

  if (entry == NULL || entry->tariff_micro_usd < 0 || call->direction != RC_CALL_DIRECTION_OUTBOUND
      || seconds < 0)
    return -1;
  /* Billed per started minute, like most prepaid SIM tariffs. */
  return ((seconds + 59) / 60) * entry->tariff_micro_usd;
}

static void
set_status (RcCalls *self, OpenCall *open, RcCallStatus status, RcEndReason reason)
{
  RcCall *call = open->record;
  gint64 now = g_get_real_time ();

  if (call->status == status || rc_call_is_terminal (call))
    return;
  g_info ("call %s: %s → %s%s%s", call->call_id, rc_call_status_to_string (call->status),
          rc_call_status_to_string (status), reason ? " " : "",
          reason ? rc_end_reason_to_string (reason) : "");
  call->status = status;
  if (status == RC_CALL_STATUS_RINGING && call->ringing_at == 0)
    call->ringing_at = now;
  if (status == RC_CALL_STATUS_CONNECTED && call->connected_at == 0)
    call->connected_at = now;
  if (rc_call_is_terminal (call)) {
    call->ended_at = now;
    call->end_reason = reason;
    call->cost_micro_usd = compute_cost (self, call);
    g_clear_handle_id (&open->timeout_id, g_source_remove);
  }
  persist (self, open, TRUE);

  if (rc_call_is_terminal (call)) {
    GList *waiters = g_steal_pointer (&open->waiters);

    for (GList *l = waiters; l != NULL; l = l->next) {
      g_task_return_pointer (l->data, rc_call_copy (call), (GDestroyNotify)rc_call_free);
      g_object_unref (l->data);
    }
    g_list_free (waiters);
  }
}

/* The terminal status from what we know of the call (SPEC §4). */
static void
terminate (RcCalls *self, OpenCall *open, RcMmCallReason reason)
{
  RcCall *call = open->record;

  if (reason == RC_MM_CALL_REASON_ERROR || reason == RC_MM_CALL_REASON_AUDIO_SETUP_FAILED)
    set_status (self, open, RC_CALL_STATUS_FAILED, RC_END_REASON_ERROR);
  else if (call->connected_at != 0)
    set_status (self, open, RC_CALL_STATUS_ENDED,
                call->local_hangup ? RC_END_REASON_LOCAL_HANGUP : RC_END_REASON_REMOTE_HANGUP);
  else if (reason == RC_MM_CALL_REASON_REFUSED_OR_BUSY)
    set_status (self, open, RC_CALL_STATUS_REJECTED, RC_END_REASON_BUSY);
  else if (call->direction == RC_CALL_DIRECTION_OUTBOUND && call->ringing_at == 0
           && !call->local_hangup)
    /* Ended by the network before the callee's phone rang: the dial itself failed. */
    set_status (self, open, RC_CALL_STATUS_FAILED, RC_END_REASON_ERROR);
  else if (open->timed_out)
    set_status (self, open, RC_CALL_STATUS_MISSED, RC_END_REASON_TIMEOUT);
  else if (call->local_hangup && call->direction == RC_CALL_DIRECTION_INBOUND)
    set_status (self, open, RC_CALL_STATUS_REJECTED, RC_END_REASON_LOCAL_HANGUP);
  else if (call->local_hangup)
    set_status (self, open, RC_CALL_STATUS_MISSED, RC_END_REASON_LOCAL_HANGUP);
  else
    set_status (self, open, RC_CALL_STATUS_MISSED, RC_END_REASON_REMOTE_HANGUP);
}

static gboolean
line_has_other_call (RcCalls *self, const char *line, OpenCall *except)
{
  GHashTableIter iter;
  OpenCall *open;

  g_hash_table_iter_init (&iter, self->calls);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&open)) {
    if (open != except && !rc_call_is_terminal (open->record)
        && g_strcmp0 (open->record->line, line) == 0)
      return TRUE;
  }
  return FALSE;
}

static char *
normalize_number (const char *raw, const RcLine *line)
{
  g_autoptr (GError) error = NULL;
  char *number;

  if (raw == NULL || *raw == '\0')
    return NULL;
  number = rc_e164_normalize (raw, 0, rc_line_get_country_code (line), &error);
  if (number == NULL) {
    g_autofree char *shown = masked (raw);

    g_message ("caller number %s not usable: %s", shown, error->message);
  }
  return number;
}

static void start_op (
    RcCalls *self, OpenCall *open, RcMmCallOp op, GAsyncReadyCallback callback, gpointer user_data);

static void on_internal_hangup_ready (GObject *source, GAsyncResult *result, gpointer user_data);

static void
bind_path (RcCalls *self, OpenCall *open, const RcMmCallEvent *event)
{
  g_free (open->record->mm_path);
  open->record->mm_path = g_strdup (event->call_path);
  g_free (open->modem_path);
  open->modem_path = g_strdup (event->modem_path);
  g_hash_table_insert (self->by_path, open->record->mm_path, open);
  persist (self, open, FALSE);
}

/* A dial in flight on this modem that ModemManager has not named yet. */
static OpenCall *
find_pending_dial (RcCalls *self, const char *modem_path)
{
  GHashTableIter iter;
  OpenCall *open;

  g_hash_table_iter_init (&iter, self->calls);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&open)) {
    if (open->dial_in_flight && open->record->mm_path == NULL
        && g_strcmp0 (open->modem_path, modem_path) == 0)
      return open;
  }
  return NULL;
}

static OpenCall *
open_call_new (RcCalls *self, RcCall *record, const char *modem_path)
{
  OpenCall *open = g_new0 (OpenCall, 1);

  open->self = self;
  open->record = record;
  open->modem_path = g_strdup (modem_path);
  g_hash_table_insert (self->calls, record->call_id, open);
  return open;
}

/* A call we did not start: an incoming call, or one dialled by someone else on our line. */
static OpenCall *
adopt_call (RcCalls *self, const RcMmCallEvent *event)
{
  g_autoptr (RcLine) line = rc_lines_find_by_modem (self->config, self->watch, event->modem_path);
  RcCall *call;
  OpenCall *open;
  gint64 now = g_get_real_time ();
  gboolean busy;

  if (line == NULL) {
    g_message ("call %s on modem %s ignored: no provisioned number on that SIM", event->call_path,
               event->modem_path);
    return NULL;
  }

  call = rc_call_new ();
  call->call_id = g_uuid_string_random ();
  call->direction = event->incoming ? RC_CALL_DIRECTION_INBOUND : RC_CALL_DIRECTION_OUTBOUND;
  call->line = g_strdup (line->number);
  if (event->incoming) {
    call->from = normalize_number (event->number, line);
    call->to = g_strdup (line->number);
  } else {
    call->from = g_strdup (line->number);
    call->to = normalize_number (event->number, line);
    if (call->to == NULL)
      call->to = g_strdup (event->number ? event->number : "");
  }
  call->modem = g_strdup (event->equipment_id);
  call->slot = (int)line->slot;
  call->created_at = rc_store_claim_created_at (self->store, now);
  call->initiated_at = call->created_at;
  call->status = RC_CALL_STATUS_INITIATING;
  busy = line_has_other_call (self, line->number, NULL);

  open = open_call_new (self, call, event->modem_path);
  {
    g_autofree char *from = masked (call->from);

    g_info ("call %s: new %s call from %s on %s", call->call_id,
            rc_call_direction_to_string (call->direction), from, event->modem_path);
  }

  if (event->incoming && busy && event->state != RC_MM_CALL_STATE_TERMINATED) {
    /* One call per SIM: a second caller is declined and recorded at once. */
    call->mm_path = g_strdup (event->call_path);
    g_hash_table_insert (self->by_path, call->mm_path, open);
    call->local_hangup = TRUE;
    set_status (self, open, RC_CALL_STATUS_REJECTED, RC_END_REASON_LINE_BUSY);
    start_op (self, open, RC_MM_CALL_OP_HANGUP, on_internal_hangup_ready, NULL);
    return NULL;
  }
  if (!event->incoming)
    persist (self, open, TRUE);
  bind_path (self, open, event);
  return open;
}

/* Calls ModemManager still lists that must not become records, deleted instead:
 *  - an outgoing call that was never started (the daemon died between CreateCall and Start):
 *    nothing was dialled, and left alone it would block the line;
 *  - a terminated call whose record is already final (the daemon died before deleting it). */
static gboolean
leftover_call (RcCalls *self, const RcMmCallEvent *event)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RcCall) recorded = NULL;

  if (!event->incoming && event->state == RC_MM_CALL_STATE_UNKNOWN) {
    g_message ("call %s: created but never started, deleting it", event->call_path);
    rc_mm_watch_delete_call (self->watch, event->modem_path, event->call_path);
    return TRUE;
  }
  if (event->state != RC_MM_CALL_STATE_TERMINATED)
    return FALSE;
  recorded = rc_store_find_recent_call (self->store, event->call_path, event->equipment_id,
                                        g_get_real_time () - RC_CALLS_LEFTOVER_WINDOW, &error);
  if (recorded == NULL || !rc_call_is_terminal (recorded))
    return FALSE;
  g_debug ("call %s: already recorded as %s, deleting it", event->call_path, recorded->call_id);
  if (self->config->delete_terminated)
    rc_mm_watch_delete_call (self->watch, event->modem_path, event->call_path);
  return TRUE;
}

static void
on_call_updated (RcMmWatch *watch, RcMmCallEvent *event, gpointer user_data)
{
  RcCalls *self = RC_CALLS (user_data);
  OpenCall *open = g_hash_table_lookup (self->by_path, event->call_path);

  g_hash_table_add (self->seen_paths, g_strdup (event->call_path));
  if (open == NULL && !event->incoming) {
    open = find_pending_dial (self, event->modem_path);
    if (open != NULL)
      bind_path (self, open, event);
  }
  if (open == NULL && leftover_call (self, event))
    return;
  if (open == NULL)
    open = adopt_call (self, event);
  if (open == NULL)
    return;
  /* Records loaded at start know their call's path but not its modem's. */
  if (g_strcmp0 (open->modem_path, event->modem_path) != 0) {
    g_free (open->modem_path);
    open->modem_path = g_strdup (event->modem_path);
  }

  if (rc_call_is_terminal (open->record)) {
    if (event->state == RC_MM_CALL_STATE_TERMINATED)
      release_mm_call (self, open);
    return;
  }

  /* The caller's number may arrive after the call (PropertiesChanged). */
  if (event->incoming && open->record->from == NULL && event->number != NULL
      && *event->number != '\0') {
    g_autoptr (RcLine) line = rc_lines_find (self->config, self->watch, open->record->line);

    if (line != NULL && (open->record->from = normalize_number (event->number, line)) != NULL)
      persist (self, open, FALSE);
  }

  switch (event->state) {
  case RC_MM_CALL_STATE_RINGING_OUT:
  case RC_MM_CALL_STATE_RINGING_IN:
  case RC_MM_CALL_STATE_WAITING:
    set_status (self, open, RC_CALL_STATUS_RINGING, RC_END_REASON_NONE);
    break;
  case RC_MM_CALL_STATE_ACTIVE:
  case RC_MM_CALL_STATE_HELD:
    set_status (self, open, RC_CALL_STATUS_CONNECTED, RC_END_REASON_NONE);
    break;
  case RC_MM_CALL_STATE_TERMINATED:
    terminate (self, open, event->reason);
    release_mm_call (self, open);
    break;
  case RC_MM_CALL_STATE_DIALING:
  case RC_MM_CALL_STATE_UNKNOWN:
  default:
    break;
  }
}

static void
on_call_deleted (RcMmWatch *watch,
                 const char *modem_path,
                 const char *call_path,
                 gpointer user_data)
{
  RcCalls *self = RC_CALLS (user_data);
  OpenCall *open = g_hash_table_lookup (self->by_path, call_path);

  if (open == NULL) {
    g_autoptr (GError) error = NULL;

    /* A finished call's object is gone (usually deleted by us): its record no longer needs
     * the path, which ModemManager will reuse after a restart. */
    if (!rc_store_clear_mm_path (self->store, call_path, g_get_real_time () - RC_CALLS_PATH_WINDOW,
                                 &error))
      g_message ("call %s: keeping its path: %s", call_path, error->message);
    return;
  }
  /* Deleted by someone else before it terminated: we cannot know how it ended. */
  if (!rc_call_is_terminal (open->record))
    set_status (self, open, RC_CALL_STATUS_FAILED, RC_END_REASON_UNKNOWN);
  untrack (self, open);
}

/* Ends every tracked call that @keep does not vouch for; ModemManager lost them. */
static void
end_lost_calls (RcCalls *self,
                gboolean (*keep) (RcCalls *, OpenCall *, gconstpointer),
                gconstpointer data)
{
  g_autoptr (GList) opens = g_hash_table_get_values (self->calls);

  for (GList *l = opens; l != NULL; l = l->next) {
    OpenCall *open = l->data;

    if (keep (self, open, data))
      continue;
    if (!rc_call_is_terminal (open->record)) {
      g_message ("call %s: lost by ModemManager", open->record->call_id);
      set_status (self, open, RC_CALL_STATUS_FAILED, RC_END_REASON_MODEM_REMOVED);
    }
    untrack (self, open);
  }
}

static gboolean
keep_other_modems (RcCalls *self, OpenCall *open, gconstpointer modem_path)
{
  return g_strcmp0 (open->modem_path, modem_path) != 0;
}

static gboolean
keep_none (RcCalls *self, OpenCall *open, gconstpointer unused)
{
  return FALSE;
}

static gboolean
keep_seen (RcCalls *self, OpenCall *open, gconstpointer unused)
{
  if (open->record->mm_path == NULL)
    return open->dial_in_flight;
  return g_hash_table_contains (self->seen_paths, open->record->mm_path);
}

static void
on_modem_removed (RcMmWatch *watch, const char *path, const char *equipment_id, gpointer user_data)
{
  end_lost_calls (RC_CALLS (user_data), keep_other_modems, path);
}

static void
on_presence_changed (RcMmWatch *watch, gboolean present, gpointer user_data)
{
  RcCalls *self = RC_CALLS (user_data);

  g_hash_table_remove_all (self->seen_paths);
  if (!present)
    end_lost_calls (self, keep_none, NULL);
}

static void
on_synced (RcMmWatch *watch, gpointer user_data)
{
  /* Reconciliation: every call ModemManager has was replayed before "synced"; an open record
   * whose call is not among them ended while we could not see it. */
  end_lost_calls (RC_CALLS (user_data), keep_seen, NULL);
}

/* --- operations ---------------------------------------------------------------------------- */

static void
start_op (
    RcCalls *self, OpenCall *open, RcMmCallOp op, GAsyncReadyCallback callback, gpointer user_data)
{
  rc_mm_watch_call_op_async (self->watch, open->record->mm_path, op, self->cancellable, callback,
                             user_data);
}

static void
on_internal_hangup_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (!rc_mm_watch_call_op_finish (RC_MM_WATCH (source), result, &error)
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_warning ("cannot hang up: %s", error->message);
}

static gboolean
on_dial_timeout (gpointer user_data)
{
  OpenCall *open = user_data;

  open->timeout_id = 0;
  if (rc_call_is_terminal (open->record) || open->record->connected_at != 0)
    return G_SOURCE_REMOVE;
  g_info ("call %s: not answered within %d s, hanging up", open->record->call_id,
          open->record->timeout_seconds);
  open->timed_out = TRUE;
  open->record->local_hangup = TRUE;
  if (open->dial_in_flight)
    open->hangup_pending = TRUE; /* ModemManager refuses Hangup before Start completes */
  else
    start_op (open->self, open, RC_MM_CALL_OP_HANGUP, on_internal_hangup_ready, NULL);
  return G_SOURCE_REMOVE;
}

typedef struct {
  RcCalls *self; /* unowned: the operation is cancelled before self goes */
  char *call_id;
} DialData;

static void
dial_data_free (DialData *data)
{
  g_free (data->call_id);
  g_free (data);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DialData, dial_data_free)

static void
on_dial_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (DialData) data = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  const char *call_id = data->call_id;
  RcCalls *self;
  OpenCall *open;

  path = rc_mm_watch_dial_finish (RC_MM_WATCH (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = data->self;
  open = g_hash_table_lookup (self->calls, call_id);
  if (open == NULL)
    return;
  open->dial_in_flight = FALSE;
  if (path != NULL)
    g_debug ("call %s: started as %s", call_id, path);
  if (error != NULL) {
    g_warning ("call %s: dial failed: %s", call_id, error->message);
    set_status (self, open, RC_CALL_STATUS_FAILED, RC_END_REASON_ERROR);
    if (open->record->mm_path == NULL)
      untrack (self, open);
    return;
  }
  if (open->hangup_pending && open->record->mm_path != NULL) {
    open->hangup_pending = FALSE;
    start_op (self, open, RC_MM_CALL_OP_HANGUP, on_internal_hangup_ready, NULL);
  }
}

/* Carriers flag SIMs that dial too much: [number:…] dial-interval and daily-dial-cap, counted
 * from the stored calls so that a restart does not reset them. */
static gboolean
check_pacing (RcCalls *self, const char *number, gint64 now, guint *out_retry_after, GError **error)
{
  const RcNumberConfig *entry = rc_config_find_number (self->config, number);
  g_autoptr (GDateTime) utc_now = g_date_time_new_from_unix_utc (now / G_USEC_PER_SEC);
  g_autoptr (GDateTime) midnight = NULL;
  g_autoptr (GDateTime) tomorrow = NULL;
  guint today = 0;
  gint64 last = 0;

  if (entry == NULL || (entry->dial_interval == 0 && entry->daily_dial_cap == 0))
    return TRUE;
  midnight = g_date_time_new_utc (g_date_time_get_year (utc_now), g_date_time_get_month (utc_now),
                                  g_date_time_get_day_of_month (utc_now), 0, 0, 0);
  tomorrow = g_date_time_add_days (midnight, 1);
  if (!rc_store_line_dials (self->store, number, g_date_time_to_unix (midnight) * G_USEC_PER_SEC,
                            &today, &last, error))
    return FALSE;
  if (entry->daily_dial_cap != 0 && today >= entry->daily_dial_cap) {
    *out_retry_after = (guint)MAX (1, g_date_time_to_unix (tomorrow) - now / G_USEC_PER_SEC);
    g_set_error (error, RC_ERROR, RC_ERROR_RATE_LIMITED,
                 "%s reached its daily-dial-cap of %u dials (UTC day)", number,
                 entry->daily_dial_cap);
    return FALSE;
  }
  if (entry->dial_interval != 0 && last != 0
      && now - last < (gint64)entry->dial_interval * G_USEC_PER_SEC) {
    *out_retry_after
        = (guint)((last + (gint64)entry->dial_interval * G_USEC_PER_SEC - now + G_USEC_PER_SEC - 1)
                  / G_USEC_PER_SEC);
    g_set_error (error, RC_ERROR, RC_ERROR_RATE_LIMITED,
                 "%s may dial once every %u s (dial-interval)", number, entry->dial_interval);
    return FALSE;
  }
  return TRUE;
}

RcCall *
rc_calls_dial (RcCalls *self,
               RcDialRequest *request,
               RcDialRender render,
               gpointer render_data,
               char **out_body,
               GError **error)
{
  g_autoptr (RcLine) line = NULL;
  g_autoptr (RcCall) call = NULL;
  g_autofree char *body = NULL;
  OpenCall *open;
  gint64 now = g_get_real_time ();

  g_return_val_if_fail (RC_IS_CALLS (self), NULL);

  /* Without ModemManager the numbers SIMs report are unknown: say what is really wrong. */
  if (!rc_mm_watch_is_present (self->watch)) {
    g_set_error_literal (error, RC_ERROR, RC_ERROR_NO_MODEMMANAGER, "ModemManager is not running");
    return NULL;
  }
  if (!rc_mm_watch_is_synced (self->watch)) {
    g_set_error_literal (error, RC_ERROR, RC_ERROR_NO_MODEMMANAGER,
                         "ModemManager has just started and its modems are still being read");
    return NULL;
  }
  line = rc_lines_find (self->config, self->watch, request->from);
  if (line == NULL) {
    g_set_error (error, RC_ERROR, RC_ERROR_NOT_PROVISIONED,
                 "%s is not a number provisioned on this gateway", request->from);
    return NULL;
  }
  if (!rc_line_is_usable (line)) {
    g_set_error (error, RC_ERROR, RC_ERROR_NO_MODEM, "%s",
                 line->modem == NULL  ? "no modem carries this number's SIM now"
                 : !line->slot_active ? "this number's SIM slot is not the active slot"
                                      : "the modem is not registered on a network");
    return NULL;
  }
  if (line_has_other_call (self, line->number, NULL)) {
    g_set_error_literal (error, RC_ERROR, RC_ERROR_LINE_BUSY, "this number already has a call");
    return NULL;
  }
  if (!check_pacing (self, line->number, now, &request->retry_after, error))
    return NULL;

  call = rc_call_new ();
  call->call_id = g_uuid_string_random ();
  call->direction = RC_CALL_DIRECTION_OUTBOUND;
  call->from = g_strdup (request->from);
  call->to = g_strdup (request->to);
  call->line = g_strdup (line->number);
  call->status = RC_CALL_STATUS_INITIATING;
  call->client_reference = g_strdup (request->client_reference);
  call->modem = g_strdup (line->modem->equipment_id);
  call->slot = (int)line->slot;
  call->timeout_seconds = request->timeout_seconds;
  call->created_at = rc_store_claim_created_at (self->store, now);
  call->initiated_at = call->created_at;

  /* One transaction: the call, its first event and the idempotency record. */
  if (!rc_store_begin (self->store, error))
    return NULL;
  if (!rc_store_save_call (self->store, call, error)
      || !rc_store_append_event (self->store, call, "call.initiating", call->created_at, NULL,
                                 error)) {
    rc_store_rollback (self->store);
    return NULL;
  }
  if (render != NULL)
    body = render (call, render_data);
  if ((request->idempotency_key != NULL
       && !rc_store_put_idempotent (self->store, request->key_id, request->idempotency_key,
                                    request->request_digest, 202, body, error))
      || !rc_store_commit (self->store, error)) {
    rc_store_rollback (self->store);
    return NULL;
  }
  {
    g_autofree char *to = masked (call->to);

    g_info ("call %s: dialling %s from %s", call->call_id, to, line->modem->path);
  }

  open = open_call_new (self, rc_call_copy (call), line->modem->path);
  open->dial_in_flight = TRUE;
  if (call->timeout_seconds > 0)
    open->timeout_id = g_timeout_add ((guint)call->timeout_seconds * 1000, on_dial_timeout, open);
  {
    DialData *data = g_new0 (DialData, 1);

    data->self = self;
    data->call_id = g_strdup (call->call_id);
    rc_mm_watch_dial_async (self->watch, line->modem->path, call->to, self->cancellable,
                            on_dial_ready, data);
  }
  if (out_body != NULL)
    *out_body = g_steal_pointer (&body);
  return g_steal_pointer (&call);
}

/* The record of a call that is not open: NOT_FOUND, or INVALID_STATE naming its status (the one
 * in memory when the call is still followed, e.g. while the store refuses writes). */
static GError *
closed_call_error (RcCalls *self, OpenCall *open, const char *call_id, const char *operation)
{
  g_autoptr (RcCall) stored = NULL;
  GError *error = NULL;

  if (open == NULL) {
    stored = rc_store_get_call (self->store, call_id, &error);
    if (stored == NULL)
      return error;
  }
  return g_error_new (RC_ERROR, RC_ERROR_INVALID_STATE, "cannot %s a call that is %s", operation,
                      rc_call_status_to_string (open ? open->record->status : stored->status));
}
static void
on_hangup_op_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  RcCalls *self = g_task_get_source_object (task);
  const char *call_id = g_task_get_task_data (task);
  GError *error = NULL;
  OpenCall *open;

  rc_mm_watch_call_op_finish (RC_MM_WATCH (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
    g_error_free (error);
    return;
  }
  open = g_hash_table_lookup (self->calls, call_id);
  if (open == NULL || rc_call_is_terminal (open->record)) {
    g_clear_error (&error);
    return; /* the waiters have their answer */
  }
  if (error != NULL) {
    GList *waiters = g_steal_pointer (&open->waiters);

    open->record->local_hangup = FALSE;
    for (GList *l = waiters; l != NULL; l = l->next) {
      g_task_return_error (l->data, g_error_copy (error));
      g_object_unref (l->data);
    }
    g_list_free (waiters);
    g_error_free (error);
    return;
  }
  /* ModemManager confirmed; its terminated signal may still be on the way. */
  terminate (self, open, RC_MM_CALL_REASON_TERMINATED);
}

static gboolean
on_hangup_deadline (gpointer user_data)
{
  GTask *task = user_data;
  RcCalls *self = g_task_get_source_object (task);
  OpenCall *open = g_hash_table_lookup (self->calls, g_task_get_task_data (task));

  if (open != NULL && g_list_find (open->waiters, task) != NULL) {
    open->waiters = g_list_remove (open->waiters, task);
    g_task_return_new_error (task, RC_ERROR, RC_ERROR_MODEM,
                             "ModemManager did not confirm the hangup within %d s",
                             RC_CALLS_HANGUP_DEADLINE);
    g_object_unref (task);
  }
  return G_SOURCE_REMOVE;
}

void
rc_calls_hangup_async (RcCalls *self,
                       const char *call_id,
                       GCancellable *cancellable,
                       GAsyncReadyCallback callback,
                       gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  OpenCall *open;

  g_return_if_fail (RC_IS_CALLS (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rc_calls_hangup_async);
  g_task_set_task_data (task, g_strdup (call_id), g_free);
  open = g_hash_table_lookup (self->calls, call_id);
  if (open == NULL || rc_call_is_terminal (open->record)) {
    g_task_return_error (task, closed_call_error (self, open, call_id, "hang up"));
    return;
  }
  /* Stored before the hangup goes out: if the daemon dies meanwhile, the call still ends as
   * ours (local_hangup), not the remote's. */
  open->record->local_hangup = TRUE;
  persist (self, open, FALSE);
  open->waiters = g_list_append (open->waiters, g_object_ref (task));
  g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, RC_CALLS_HANGUP_DEADLINE, on_hangup_deadline,
                              g_object_ref (task), g_object_unref);
  if (open->dial_in_flight) {
    open->hangup_pending = TRUE; /* ModemManager refuses Hangup before Start completes */
  } else if (open->record->mm_path != NULL) {
    rc_mm_watch_call_op_async (self->watch, open->record->mm_path, RC_MM_CALL_OP_HANGUP,
                               self->cancellable, on_hangup_op_ready, g_object_ref (task));
  } else {
    terminate (self, open, RC_MM_CALL_REASON_TERMINATED);
    untrack (self, open);
  }
}

RcCall *
rc_calls_hangup_finish (RcCalls *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
on_answer_op_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  RcCalls *self = g_task_get_source_object (task);
  GError *error = NULL;
  OpenCall *open;

  if (!rc_mm_watch_call_op_finish (RC_MM_WATCH (source), result, &error)) {
    g_task_return_error (task, error);
    return;
  }
  open = g_hash_table_lookup (self->calls, g_task_get_task_data (task));
  if (open == NULL) {
    g_task_return_error (task,
                         closed_call_error (self, NULL, g_task_get_task_data (task), "answer"));
    return;
  }
  g_task_return_pointer (task, rc_call_copy (open->record), (GDestroyNotify)rc_call_free);
}

void
rc_calls_answer_async (RcCalls *self,
                       const char *call_id,
                       GCancellable *cancellable,
                       GAsyncReadyCallback callback,
                       gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  OpenCall *open;

  g_return_if_fail (RC_IS_CALLS (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rc_calls_answer_async);
  g_task_set_task_data (task, g_strdup (call_id), g_free);
  open = g_hash_table_lookup (self->calls, call_id);
  if (open == NULL || rc_call_is_terminal (open->record)) {
    g_task_return_error (task, closed_call_error (self, open, call_id, "answer"));
    return;
  }
  if (open->record->direction != RC_CALL_DIRECTION_INBOUND
      || open->record->status != RC_CALL_STATUS_RINGING || open->record->mm_path == NULL) {
    g_task_return_new_error (task, RC_ERROR, RC_ERROR_INVALID_STATE,
                             "only a ringing inbound call can be answered; this one is %s %s",
                             rc_call_direction_to_string (open->record->direction),
                             rc_call_status_to_string (open->record->status));
    return;
  }
  rc_mm_watch_call_op_async (self->watch, open->record->mm_path, RC_MM_CALL_OP_ACCEPT,
                             self->cancellable, on_answer_op_ready, g_steal_pointer (&task));
}

RcCall *
rc_calls_answer_finish (RcCalls *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

const char *
rc_calls_line_state (RcCalls *self, const RcLine *line)
{
  g_return_val_if_fail (RC_IS_CALLS (self), NULL);

  /* Until ModemManager's calls are read, whether the line is busy is unknown, and a dial is
   * refused: it is not available yet. */
  if (!rc_line_is_usable (line) || !rc_mm_watch_is_synced (self->watch))
    return "offline";
  return line_has_other_call (self, line->number, NULL) ? "busy" : "available";
}

gboolean
rc_calls_store_failing (RcCalls *self)
{
  GHashTableIter iter;
  OpenCall *open;

  g_return_val_if_fail (RC_IS_CALLS (self), FALSE);

  g_hash_table_iter_init (&iter, self->calls);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&open)) {
    if (open->unsaved)
      return TRUE;
  }
  return FALSE;
}

guint
rc_calls_count_open (RcCalls *self)
{
  GHashTableIter iter;
  OpenCall *open;
  guint count = 0;

  g_return_val_if_fail (RC_IS_CALLS (self), 0);

  g_hash_table_iter_init (&iter, self->calls);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&open))
    count += !rc_call_is_terminal (open->record);
  return count;
}

/* --- object -------------------------------------------------------------------------------- */

static void
load_open_calls (RcCalls *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) calls = rc_store_list_open_calls (self->store, &error);

  if (calls == NULL) {
    g_warning ("cannot read open calls: %s", error->message);
    return;
  }
  for (guint i = 0; i < calls->len; i++) {
    RcCall *call = g_ptr_array_index (calls, i);
    OpenCall *open = open_call_new (self, rc_call_copy (call), NULL);

    if (call->mm_path != NULL)
      g_hash_table_insert (self->by_path, open->record->mm_path, open);
  }
  if (calls->len > 0)
    g_info ("%u open call(s) to reconcile with ModemManager", calls->len);
}

static void
rc_calls_dispose (GObject *object)
{
  RcCalls *self = RC_CALLS (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->save_retry_id, g_source_remove);
  if (self->watch != NULL)
    g_signal_handlers_disconnect_by_data (self->watch, self);
  g_clear_pointer (&self->by_path, g_hash_table_unref);
  g_clear_pointer (&self->calls, g_hash_table_unref);
  g_clear_object (&self->watch);
  g_clear_object (&self->store);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (rc_calls_parent_class)->dispose (object);
}

static void
rc_calls_finalize (GObject *object)
{
  RcCalls *self = RC_CALLS (object);

  g_clear_pointer (&self->seen_paths, g_hash_table_unref);

  G_OBJECT_CLASS (rc_calls_parent_class)->finalize (object);
}

static void
rc_calls_class_init (RcCallsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = rc_calls_dispose;
  object_class->finalize = rc_calls_finalize;
}

static void
rc_calls_init (RcCalls *self)
{
  self->calls
      = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify)open_call_free);
  self->by_path = g_hash_table_new (g_str_hash, g_str_equal);
  self->seen_paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->cancellable = g_cancellable_new ();
}

RcCalls *
rc_calls_new (RcStore *store, RcMmWatch *watch, const RcConfig *config)
{
  RcCalls *self = g_object_new (RC_TYPE_CALLS, NULL);

  self->store = g_object_ref (store);
  self->watch = g_object_ref (watch);
  self->config = config;
  load_open_calls (self);
  g_signal_connect (watch, "call-updated", G_CALLBACK (on_call_updated), self);
  g_signal_connect (watch, "call-deleted", G_CALLBACK (on_call_deleted), self);
  g_signal_connect (watch, "modem-removed", G_CALLBACK (on_modem_removed), self);
  g_signal_connect (watch, "presence-changed", G_CALLBACK (on_presence_changed), self);
  g_signal_connect (watch, "synced", G_CALLBACK (on_synced), self);
  return self;
}

void
rc_calls_set_config (RcCalls *self, const RcConfig *config)
{
  g_return_if_fail (RC_IS_CALLS (self));
  self->config = config;
}
