/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "rc-mm-watch"

#include "config.h"

#include "rc-mm-watch.h"

#include "rc-error.h"
#include "rc-log.h"

#include <libmm-glib.h>

/**
 * RcMmWatch: the only libmm-glib user.
 *
 * Follows ModemManager's bus name; while it is present, every modem with the Voice interface,
 * its SIM, and every call on it. Everything is asynchronous on the main loop (proxies made off
 * the loop's thread never deliver their signals). What ModemManager 1.20.4 does and how this
 * copes (see ../shared/MODEMMANAGER.md):
 *  - call objects are not in the ObjectManager: calls come from Voice.CallAdded / ListCalls;
 *  - an incoming call arrives already ringing-in with no StateChanged: each call's state is
 *    replayed once when it is first seen;
 *  - the caller's number may come later (PropertiesChanged) or never (withheld);
 *  - a modem or ModemManager that goes away takes its calls with it, with no terminated signal:
 *    "modem-removed" is emitted for each modem so the owner can end those calls.
 */

enum {
  SIGNAL_PRESENCE_CHANGED,
  SIGNAL_SYNCED,
  SIGNAL_MODEMS_CHANGED,
  SIGNAL_MODEM_REMOVED,
  SIGNAL_CALL_UPDATED,
  SIGNAL_CALL_DELETED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

typedef struct _Modem Modem;

typedef struct {
  Modem *modem; /* unowned */
  MMCall *call;
  gboolean incoming;
} TrackedCall;

struct _Modem {
  RcMmWatch *self; /* unowned */
  MMObject *object;
  MMModem *modem;
  MMModemVoice *voice;
  MMModem3gpp *modem_3gpp; /* nullable */
  GCancellable *cancellable;
  GHashTable *calls;   /* call path → TrackedCall */
  GHashTable *deleted; /* call paths ModemManager deleted: a ListCalls reply sent before the
                        * deletion may still name them. Paths are never reused by one
                        * ModemManager instance. */
  RcModemInfo info;
};

struct _RcMmWatch {
  GObject parent_instance;

  guint watch_id;
  gboolean present;
  gboolean presence_known;
  GCancellable *cancellable; /* for one appearance of ModemManager */
  MMManager *manager;
  GHashTable *modems;  /* modem path → Modem */
  GPtrArray *infos;    /* RcModemInfo, unowned, rebuilt on demand */
  guint pending_loads; /* SIM and call-list reads outstanding since ModemManager appeared */
  gboolean enumerated;
  gboolean synced; /* every modem and its calls read since ModemManager appeared */
};

G_DEFINE_TYPE (RcMmWatch, rc_mm_watch, G_TYPE_OBJECT)

static RcMmCallState
map_state (MMCallState state)
{
  switch (state) {
  case MM_CALL_STATE_DIALING:
    return RC_MM_CALL_STATE_DIALING;
  case MM_CALL_STATE_RINGING_OUT:
    return RC_MM_CALL_STATE_RINGING_OUT;
  case MM_CALL_STATE_RINGING_IN:
    return RC_MM_CALL_STATE_RINGING_IN;
  case MM_CALL_STATE_ACTIVE:
    return RC_MM_CALL_STATE_ACTIVE;
  case MM_CALL_STATE_HELD:
    return RC_MM_CALL_STATE_HELD;
  case MM_CALL_STATE_WAITING:
    return RC_MM_CALL_STATE_WAITING;
  case MM_CALL_STATE_TERMINATED:
    return RC_MM_CALL_STATE_TERMINATED;
  case MM_CALL_STATE_UNKNOWN:
  default:
    return RC_MM_CALL_STATE_UNKNOWN;
  }
}

static RcMmCallReason
map_reason (MMCallStateReason reason)
{
  switch (reason) {
  case MM_CALL_STATE_REASON_OUTGOING_STARTED:
    return RC_MM_CALL_REASON_OUTGOING_STARTED;
  case MM_CALL_STATE_REASON_INCOMING_NEW:
    return RC_MM_CALL_REASON_INCOMING_NEW;
  case MM_CALL_STATE_REASON_ACCEPTED:
    return RC_MM_CALL_REASON_ACCEPTED;
  case MM_CALL_STATE_REASON_TERMINATED:
    return RC_MM_CALL_REASON_TERMINATED;
  case MM_CALL_STATE_REASON_REFUSED_OR_BUSY:
    return RC_MM_CALL_REASON_REFUSED_OR_BUSY;
  case MM_CALL_STATE_REASON_ERROR:
    return RC_MM_CALL_REASON_ERROR;
  case MM_CALL_STATE_REASON_AUDIO_SETUP_FAILED:
    return RC_MM_CALL_REASON_AUDIO_SETUP_FAILED;
  case MM_CALL_STATE_REASON_TRANSFERRED:
  case MM_CALL_STATE_REASON_DEFLECTED:
    return RC_MM_CALL_REASON_OTHER;
  case MM_CALL_STATE_REASON_UNKNOWN:
  default:
    return RC_MM_CALL_REASON_UNKNOWN;
  }
}

static gboolean
is_cancelled (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

/* --- calls --------------------------------------------------------------------------------- */

static void
emit_call (TrackedCall *tracked,
           RcMmCallState old_state,
           RcMmCallState state,
           RcMmCallReason reason)
{
  Modem *modem = tracked->modem;
  RcMmCallEvent event = {
    .modem_path = modem->info.path,
    .equipment_id = modem->info.equipment_id,
    .call_path = mm_call_get_path (tracked->call),
    .incoming = tracked->incoming,
    .state = state,
    .old_state = old_state,
    .reason = reason,
    .number = mm_call_get_number (tracked->call),
  };

  g_signal_emit (modem->self, signals[SIGNAL_CALL_UPDATED], 0, &event);
}

static void
on_call_state_changed (
    MMCall *call, gint old_state, gint new_state, guint reason, gpointer user_data)
{
  TrackedCall *tracked = user_data;

  g_debug ("call %s: %s → %s (%s)", mm_call_get_path (call),
           mm_call_state_get_string ((MMCallState)old_state),
           mm_call_state_get_string ((MMCallState)new_state),
           mm_call_state_reason_get_string ((MMCallStateReason)reason));
  emit_call (tracked, map_state ((MMCallState)old_state), map_state ((MMCallState)new_state),
             map_reason ((MMCallStateReason)reason));
}

static void
on_call_number_changed (MMCall *call, GParamSpec *pspec, gpointer user_data)
{
  TrackedCall *tracked = user_data;
  RcMmCallState state = map_state (mm_call_get_state (call));
  g_autofree char *masked = rc_log_number (mm_call_get_number (call));

  g_debug ("call %s: number %s", mm_call_get_path (call), masked);
  emit_call (tracked, state, state, map_reason (mm_call_get_state_reason (call)));
}

static void
tracked_call_free (TrackedCall *tracked)
{
  g_signal_handlers_disconnect_by_data (tracked->call, tracked);
  g_object_unref (tracked->call);
  g_free (tracked);
}

static TrackedCall *
track_call (Modem *modem, MMCall *call)
{
  TrackedCall *tracked = g_hash_table_lookup (modem->calls, mm_call_get_path (call));
  RcMmCallState state;

  if (tracked != NULL)
    return tracked;

  tracked = g_new0 (TrackedCall, 1);
  tracked->modem = modem;
  tracked->call = g_object_ref (call);
  tracked->incoming = mm_call_get_direction (call) == MM_CALL_DIRECTION_INCOMING;
  g_hash_table_insert (modem->calls, g_strdup (mm_call_get_path (call)), tracked);
  g_signal_connect (call, "state-changed", G_CALLBACK (on_call_state_changed), tracked);
  g_signal_connect (call, "notify::number", G_CALLBACK (on_call_number_changed), tracked);

  /* Replay: an incoming call is created ringing-in and never announces it. */
  state = map_state (mm_call_get_state (call));
  emit_call (tracked, RC_MM_CALL_STATE_UNKNOWN, state,
             map_reason (mm_call_get_state_reason (call)));
  return tracked;
}

static void maybe_synced (RcMmWatch *self);

static void
on_list_calls_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Modem *modem = user_data;
  g_autoptr (GError) error = NULL;
  GList *calls;

  calls = mm_modem_voice_list_calls_finish (MM_MODEM_VOICE (source), result, &error);
  if (is_cancelled (error))
    return; /* the modem (and user_data) is gone */
  if (error != NULL)
    g_warning ("modem %s: cannot list calls: %s", modem->info.path, error->message);
  for (GList *l = calls; l != NULL; l = l->next) {
    if (!g_hash_table_contains (modem->deleted, mm_call_get_path (MM_CALL (l->data))))
      track_call (modem, MM_CALL (l->data));
  }
  g_list_free_full (calls, g_object_unref);
  modem->self->pending_loads--;
  maybe_synced (modem->self);
}

static void
load_calls (Modem *modem)
{
  modem->self->pending_loads++;
  mm_modem_voice_list_calls (modem->voice, modem->cancellable, on_list_calls_ready, modem);
}

static void
on_call_added (MMModemVoice *voice, const char *path, gpointer user_data)
{
  Modem *modem = user_data;

  g_debug ("modem %s: call %s added", modem->info.path, path);
  load_calls (modem);
}

static void
on_call_deleted (MMModemVoice *voice, const char *path, gpointer user_data)
{
  Modem *modem = user_data;

  g_debug ("modem %s: call %s deleted", modem->info.path, path);
  g_hash_table_add (modem->deleted, g_strdup (path));
  if (g_hash_table_remove (modem->calls, path))
    g_signal_emit (modem->self, signals[SIGNAL_CALL_DELETED], 0, modem->info.path, path);
}

/* --- modems -------------------------------------------------------------------------------- */

static void
emit_modems_changed (RcMmWatch *self)
{
  g_clear_pointer (&self->infos, g_ptr_array_unref);
  g_signal_emit (self, signals[SIGNAL_MODEMS_CHANGED], 0);
}

static void
refresh_info (Modem *modem)
{
  RcModemInfo *info = &modem->info;
  MMModemState state = mm_modem_get_state (modem->modem);
  guint primary = mm_modem_get_primary_sim_slot (modem->modem);
  g_auto (GStrv) slots = mm_modem_dup_sim_slot_paths (modem->modem);
  guint quality = 0;

  g_free (info->equipment_id);
  info->equipment_id = mm_modem_dup_equipment_identifier (modem->modem);
  g_free (info->manufacturer);
  info->manufacturer = mm_modem_dup_manufacturer (modem->modem);
  g_free (info->model);
  info->model = mm_modem_dup_model (modem->modem);
  g_free (info->state);
  info->state = g_strdup (mm_modem_state_get_string (state));
  info->registered = state >= MM_MODEM_STATE_REGISTERED;
  quality = mm_modem_get_signal_quality (modem->modem, NULL);
  info->signal_quality = quality;
  g_strfreev (info->own_numbers);
  info->own_numbers = mm_modem_dup_own_numbers (modem->modem);
  info->n_slots = slots != NULL ? g_strv_length (slots) : 0;
  info->active_slot = primary > 0 ? primary : 1;
  g_clear_pointer (&info->operator_name, g_free);
  g_clear_pointer (&info->operator_code, g_free);
  if (modem->modem_3gpp != NULL) {
    info->operator_name = mm_modem_3gpp_dup_operator_name (modem->modem_3gpp);
    info->operator_code = mm_modem_3gpp_dup_operator_code (modem->modem_3gpp);
  }
}

static void
on_sim_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Modem *modem = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (MMSim) sim = NULL;

  sim = mm_modem_get_sim_finish (MM_MODEM (source), result, &error);
  if (is_cancelled (error))
    return;
  g_clear_pointer (&modem->info.iccid, g_free);
  g_clear_pointer (&modem->info.imsi, g_free);
  if (sim != NULL) {
    modem->info.iccid = mm_sim_dup_identifier (sim);
    modem->info.imsi = mm_sim_dup_imsi (sim);
  } else if (error != NULL) {
    g_debug ("modem %s: no SIM: %s", modem->info.path, error->message);
  }
  modem->self->pending_loads--;
  emit_modems_changed (modem->self);
  maybe_synced (modem->self);
}

static void
load_sim (Modem *modem)
{
  const char *sim_path = mm_modem_get_sim_path (modem->modem);

  if (sim_path == NULL || g_str_equal (sim_path, "/"))
    return;
  modem->self->pending_loads++;
  mm_modem_get_sim (modem->modem, modem->cancellable, on_sim_ready, modem);
}

static void
on_modem_notify (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  Modem *modem = user_data;

  refresh_info (modem);
  if (g_str_equal (pspec->name, "sim"))
    load_sim (modem);
  emit_modems_changed (modem->self);
}

static void
modem_free (Modem *modem)
{
  RcModemInfo *info = &modem->info;

  g_cancellable_cancel (modem->cancellable);
  g_clear_object (&modem->cancellable);
  g_clear_pointer (&modem->calls, g_hash_table_unref);
  g_clear_pointer (&modem->deleted, g_hash_table_unref);
  g_signal_handlers_disconnect_by_data (modem->modem, modem);
  g_signal_handlers_disconnect_by_data (modem->voice, modem);
  if (modem->modem_3gpp != NULL)
    g_signal_handlers_disconnect_by_data (modem->modem_3gpp, modem);
  g_clear_object (&modem->modem_3gpp);
  g_clear_object (&modem->voice);
  g_clear_object (&modem->modem);
  g_clear_object (&modem->object);
  g_free (info->path);
  g_free (info->equipment_id);
  g_free (info->manufacturer);
  g_free (info->model);
  g_free (info->state);
  g_free (info->operator_name);
  g_free (info->operator_code);
  g_strfreev (info->own_numbers);
  g_free (info->iccid);
  g_free (info->imsi);
  g_free (modem);
}

/* Whether @object has both the Modem and the Voice interface. The generated accessors are used
 * because mm_object_peek_modem () warns ("runtime check failed") when an interface is absent,
 * which is normal while ModemManager builds or tears down a modem. */
static gboolean
is_voice_modem (MMObject *object)
{
  return mm_gdbus_object_peek_modem (MM_GDBUS_OBJECT (object)) != NULL
         && mm_gdbus_object_peek_modem_voice (MM_GDBUS_OBJECT (object)) != NULL;
}

static void
add_modem (RcMmWatch *self, MMObject *object)
{
  const char *path = g_dbus_object_get_object_path (G_DBUS_OBJECT (object));
  Modem *modem;

  if (g_hash_table_contains (self->modems, path))
    return;
  if (!is_voice_modem (object))
    return;

  modem = g_new0 (Modem, 1);
  modem->self = self;
  modem->object = g_object_ref (object);
  modem->modem = mm_object_get_modem (object);
  modem->voice = mm_object_get_modem_voice (object);
  modem->modem_3gpp = mm_object_get_modem_3gpp (object);
  modem->cancellable = g_cancellable_new ();
  modem->calls
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)tracked_call_free);
  modem->deleted = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  modem->info.path = g_strdup (path);
  g_hash_table_insert (self->modems, g_strdup (path), modem);
  refresh_info (modem);
  g_info ("modem %s (%s %s) with voice, %s", path, modem->info.manufacturer, modem->info.model,
          modem->info.state);

  g_signal_connect (modem->modem, "notify", G_CALLBACK (on_modem_notify), modem);
  if (modem->modem_3gpp != NULL)
    g_signal_connect (modem->modem_3gpp, "notify", G_CALLBACK (on_modem_notify), modem);
  g_signal_connect (modem->voice, "call-added", G_CALLBACK (on_call_added), modem);
  g_signal_connect (modem->voice, "call-deleted", G_CALLBACK (on_call_deleted), modem);
  load_sim (modem);
  load_calls (modem);
  emit_modems_changed (self);
}

static void
remove_modem (RcMmWatch *self, const char *path)
{
  Modem *modem = g_hash_table_lookup (self->modems, path);
  g_autofree char *modem_path = NULL;
  g_autofree char *equipment_id = NULL;

  if (modem == NULL)
    return;
  modem_path = g_strdup (path);
  equipment_id = g_strdup (modem->info.equipment_id);
  g_info ("modem %s removed", modem_path);
  g_hash_table_remove (self->modems, modem_path);
  g_signal_emit (self, signals[SIGNAL_MODEM_REMOVED], 0, modem_path, equipment_id);
  emit_modems_changed (self);
}

static void
on_object_added (GDBusObjectManager *manager, GDBusObject *object, gpointer user_data)
{
  add_modem (RC_MM_WATCH (user_data), MM_OBJECT (object));
}

static void
on_object_removed (GDBusObjectManager *manager, GDBusObject *object, gpointer user_data)
{
  remove_modem (RC_MM_WATCH (user_data), g_dbus_object_get_object_path (object));
}

static void
on_interface_added (GDBusObjectManager *manager,
                    GDBusObject *object,
                    GDBusInterface *interface,
                    gpointer user_data)
{
  add_modem (RC_MM_WATCH (user_data), MM_OBJECT (object));
}

static void
on_interface_removed (GDBusObjectManager *manager,
                      GDBusObject *object,
                      GDBusInterface *interface,
                      gpointer user_data)
{
  MMObject *mm_object = MM_OBJECT (object);

  if (!is_voice_modem (mm_object))
    remove_modem (RC_MM_WATCH (user_data), g_dbus_object_get_object_path (object));
}

static void
maybe_synced (RcMmWatch *self)
{
  if (!self->present || !self->enumerated || self->pending_loads > 0)
    return;
  self->enumerated = FALSE; /* once per appearance */
  self->synced = TRUE;
  g_info ("ModemManager state read: %u voice modem(s)", g_hash_table_size (self->modems));
  g_signal_emit (self, signals[SIGNAL_SYNCED], 0);
}

static void
on_manager_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  RcMmWatch *self;
  g_autoptr (GError) error = NULL;
  MMManager *manager;
  GList *objects;

  manager = mm_manager_new_finish (result, &error);
  if (is_cancelled (error))
    return;
  self = RC_MM_WATCH (user_data);
  if (manager == NULL) {
    g_warning ("ModemManager: cannot create the manager: %s", error->message);
    return;
  }
  self->manager = manager;
  g_signal_connect_object (manager, "object-added", G_CALLBACK (on_object_added), self, 0);
  g_signal_connect_object (manager, "object-removed", G_CALLBACK (on_object_removed), self, 0);
  g_signal_connect_object (manager, "interface-added", G_CALLBACK (on_interface_added), self, 0);
  g_signal_connect_object (manager, "interface-removed", G_CALLBACK (on_interface_removed), self,
                           0);
  objects = g_dbus_object_manager_get_objects (G_DBUS_OBJECT_MANAGER (manager));
  for (GList *l = objects; l != NULL; l = l->next)
    add_modem (self, MM_OBJECT (l->data));
  g_list_free_full (objects, g_object_unref);
  self->enumerated = TRUE;
  maybe_synced (self);
}

static void
set_present (RcMmWatch *self, gboolean present)
{
  if (self->presence_known && self->present == present)
    return;
  self->presence_known = TRUE;
  self->present = present;
  g_signal_emit (self, signals[SIGNAL_PRESENCE_CHANGED], 0, present);
}

static void
forget_modemmanager (RcMmWatch *self)
{
  g_autoptr (GList) paths = NULL;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->manager != NULL)
    g_signal_handlers_disconnect_by_data (self->manager, self);
  g_clear_object (&self->manager);
  paths = g_hash_table_get_keys (self->modems);
  for (GList *l = paths; l != NULL; l = l->next) {
    g_autofree char *path = g_strdup (l->data);

    remove_modem (self, path);
  }
  self->pending_loads = 0;
  self->enumerated = FALSE;
  self->synced = FALSE;
}

static void
on_name_appeared (GDBusConnection *connection,
                  const char *name,
                  const char *owner,
                  gpointer user_data)
{
  RcMmWatch *self = RC_MM_WATCH (user_data);

  g_message ("ModemManager appeared (%s)", owner);
  forget_modemmanager (self);
  self->cancellable = g_cancellable_new ();
  set_present (self, TRUE);
  mm_manager_new (connection, G_DBUS_OBJECT_MANAGER_CLIENT_FLAGS_DO_NOT_AUTO_START,
                  self->cancellable, on_manager_ready, self);
}

static void
on_name_vanished (GDBusConnection *connection, const char *name, gpointer user_data)
{
  RcMmWatch *self = RC_MM_WATCH (user_data);

  if (self->present || !self->presence_known)
    g_message ("ModemManager is not running");
  forget_modemmanager (self);
  set_present (self, FALSE);
}

/* --- operations ---------------------------------------------------------------------------- */

static Modem *
find_modem_or_error (RcMmWatch *self, const char *modem_path, GError **error)
{
  Modem *modem = modem_path != NULL ? g_hash_table_lookup (self->modems, modem_path) : NULL;

  if (!self->present) {
    g_set_error_literal (error, RC_ERROR, RC_ERROR_NO_MODEMMANAGER, "ModemManager is not running");
    return NULL;
  }
  if (modem == NULL)
    g_set_error (error, RC_ERROR, RC_ERROR_NO_MODEM, "the modem is no longer present");
  return modem;
}

static TrackedCall *
find_call (RcMmWatch *self, const char *call_path)
{
  GHashTableIter iter;
  Modem *modem;

  g_hash_table_iter_init (&iter, self->modems);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&modem)) {
    TrackedCall *tracked = g_hash_table_lookup (modem->calls, call_path);

    if (tracked != NULL)
      return tracked;
  }
  return NULL;
}

static GError *
modem_error (GError *error, const char *operation)
{
  GError *mapped;

  if (is_cancelled (error))
    return error;
  mapped = g_error_new (RC_ERROR, RC_ERROR_MODEM, "ModemManager refused %s: %s", operation,
                        error->message);
  g_error_free (error);
  return mapped;
}

static void
on_start_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;

  if (!mm_call_start_finish (MM_CALL (source), result, &error))
    g_task_return_error (task, modem_error (error, "to start the call"));
  else
    g_task_return_pointer (task, g_strdup (mm_call_get_path (MM_CALL (source))), g_free);
}

static void
on_create_call_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  RcMmWatch *self = g_task_get_source_object (task);
  g_autoptr (MMCall) call = NULL;
  GCancellable *cancellable;
  GError *error = NULL;
  Modem *modem;

  call = mm_modem_voice_create_call_finish (MM_MODEM_VOICE (source), result, &error);
  if (call == NULL) {
    g_task_return_error (task, modem_error (error, "to create the call"));
    return;
  }
  /* Track before Start so that the record is bound to this path by the time states arrive. */
  modem = find_modem_or_error (self, g_task_get_task_data (task), &error);
  if (modem == NULL) {
    g_task_return_error (task, error);
    return;
  }
  track_call (modem, call);
  cancellable = g_task_get_cancellable (task);
  mm_call_start (call, cancellable, on_start_ready, g_steal_pointer (&task));
}

void
rc_mm_watch_dial_async (RcMmWatch *self,
                        const char *modem_path,
                        const char *number,
                        GCancellable *cancellable,
                        GAsyncReadyCallback callback,
                        gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (MMCallProperties) properties = NULL;
  GError *error = NULL;
  Modem *modem;

  g_return_if_fail (RC_IS_MM_WATCH (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rc_mm_watch_dial_async);
  g_task_set_task_data (task, g_strdup (modem_path), g_free);
  modem = find_modem_or_error (self, modem_path, &error);
  if (modem == NULL) {
    g_task_return_error (task, error);
    return;
  }
  properties = mm_call_properties_new ();
  mm_call_properties_set_number (properties, number);
  mm_modem_voice_create_call (modem->voice, properties, cancellable, on_create_call_ready,
                              g_steal_pointer (&task));
}

char *
rc_mm_watch_dial_finish (RcMmWatch *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
on_call_op_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  RcMmCallOp op = GPOINTER_TO_INT (g_task_get_task_data (task));
  GError *error = NULL;
  gboolean ok;

  if (op == RC_MM_CALL_OP_ACCEPT)
    ok = mm_call_accept_finish (MM_CALL (source), result, &error);
  else
    ok = mm_call_hangup_finish (MM_CALL (source), result, &error);
  if (!ok)
    g_task_return_error (
        task, modem_error (error, op == RC_MM_CALL_OP_ACCEPT ? "to answer" : "to hang up"));
  else
    g_task_return_boolean (task, TRUE);
}

void
rc_mm_watch_call_op_async (RcMmWatch *self,
                           const char *call_path,
                           RcMmCallOp op,
                           GCancellable *cancellable,
                           GAsyncReadyCallback callback,
                           gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  TrackedCall *tracked;

  g_return_if_fail (RC_IS_MM_WATCH (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rc_mm_watch_call_op_async);
  g_task_set_task_data (task, GINT_TO_POINTER (op), NULL);
  if (!self->present) {
    g_task_return_new_error (task, RC_ERROR, RC_ERROR_NO_MODEMMANAGER,
                             "ModemManager is not running");
    return;
  }
  tracked = call_path != NULL ? find_call (self, call_path) : NULL;
  if (tracked == NULL) {
    g_task_return_new_error (task, RC_ERROR, RC_ERROR_NO_MODEM,
                             "the call is no longer known to ModemManager");
    return;
  }
  if (op == RC_MM_CALL_OP_ACCEPT)
    mm_call_accept (tracked->call, cancellable, on_call_op_ready, g_steal_pointer (&task));
  else
    mm_call_hangup (tracked->call, cancellable, on_call_op_ready, g_steal_pointer (&task));
}

gboolean
rc_mm_watch_call_op_finish (RcMmWatch *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
on_delete_call_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree char *path = user_data;
  g_autoptr (GError) error = NULL;

  if (!mm_modem_voice_delete_call_finish (MM_MODEM_VOICE (source), result, &error)
      && !is_cancelled (error))
    g_warning ("call %s: cannot delete it from ModemManager: %s", path, error->message);
}

void
rc_mm_watch_delete_call (RcMmWatch *self, const char *modem_path, const char *call_path)
{
  Modem *modem;

  g_return_if_fail (RC_IS_MM_WATCH (self));

  modem = modem_path != NULL ? g_hash_table_lookup (self->modems, modem_path) : NULL;
  if (modem == NULL || !g_hash_table_contains (modem->calls, call_path))
    return;
  mm_modem_voice_delete_call (modem->voice, call_path, modem->cancellable, on_delete_call_ready,
                              g_strdup (call_path));
}

static void
on_set_primary_slot_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;

  if (!mm_modem_set_primary_sim_slot_finish (MM_MODEM (source), result, &error))
    g_task_return_error (task, modem_error (error, "to switch the SIM slot"));
  else
    g_task_return_boolean (task, TRUE);
}

void
rc_mm_watch_set_primary_slot_async (RcMmWatch *self,
                                    const char *modem_path,
                                    guint slot,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  GError *error = NULL;
  Modem *modem;

  g_return_if_fail (RC_IS_MM_WATCH (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rc_mm_watch_set_primary_slot_async);
  modem = find_modem_or_error (self, modem_path, &error);
  if (modem == NULL) {
    g_task_return_error (task, error);
    return;
  }
  if (modem->info.n_slots == 0) {
    g_task_return_new_error (task, RC_ERROR, RC_ERROR_NOT_SUPPORTED,
                             "the modem has a single SIM and no slots to switch between");
    return;
  }
  mm_modem_set_primary_sim_slot (modem->modem, slot, cancellable, on_set_primary_slot_ready,
                                 g_steal_pointer (&task));
}

gboolean
rc_mm_watch_set_primary_slot_finish (RcMmWatch *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* --- object -------------------------------------------------------------------------------- */

static void
rc_mm_watch_dispose (GObject *object)
{
  RcMmWatch *self = RC_MM_WATCH (object);

  g_clear_handle_id (&self->watch_id, g_bus_unwatch_name);
  if (self->modems != NULL)
    forget_modemmanager (self);
  g_clear_pointer (&self->infos, g_ptr_array_unref);

  G_OBJECT_CLASS (rc_mm_watch_parent_class)->dispose (object);
}

static void
rc_mm_watch_finalize (GObject *object)
{
  RcMmWatch *self = RC_MM_WATCH (object);

  g_clear_pointer (&self->modems, g_hash_table_unref);

  G_OBJECT_CLASS (rc_mm_watch_parent_class)->finalize (object);
}

static void
rc_mm_watch_class_init (RcMmWatchClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = rc_mm_watch_dispose;
  object_class->finalize = rc_mm_watch_finalize;

  signals[SIGNAL_PRESENCE_CHANGED]
      = g_signal_new ("presence-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                      NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);
  signals[SIGNAL_SYNCED] = g_signal_new ("synced", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                         NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_MODEMS_CHANGED]
      = g_signal_new ("modems-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_MODEM_REMOVED]
      = g_signal_new ("modem-removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  signals[SIGNAL_CALL_UPDATED]
      = g_signal_new ("call-updated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[SIGNAL_CALL_DELETED]
      = g_signal_new ("call-deleted", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
}

static void
rc_mm_watch_init (RcMmWatch *self)
{
  self->modems
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)modem_free);
}

RcMmWatch *
rc_mm_watch_new (void)
{
  return g_object_new (RC_TYPE_MM_WATCH, NULL);
}

void
rc_mm_watch_start (RcMmWatch *self)
{
  g_return_if_fail (RC_IS_MM_WATCH (self));
  g_return_if_fail (self->watch_id == 0);

  self->watch_id
      = g_bus_watch_name (G_BUS_TYPE_SYSTEM, MM_DBUS_SERVICE, G_BUS_NAME_WATCHER_FLAGS_NONE,
                          on_name_appeared, on_name_vanished, self, NULL);
}

gboolean
rc_mm_watch_is_synced (RcMmWatch *self)
{
  g_return_val_if_fail (RC_IS_MM_WATCH (self), FALSE);
  return self->present && self->synced;
}

gboolean
rc_mm_watch_is_present (RcMmWatch *self)
{
  g_return_val_if_fail (RC_IS_MM_WATCH (self), FALSE);
  return self->present;
}

GPtrArray *
rc_mm_watch_get_modems (RcMmWatch *self)
{
  GHashTableIter iter;
  Modem *modem;

  g_return_val_if_fail (RC_IS_MM_WATCH (self), NULL);

  if (self->infos == NULL) {
    self->infos = g_ptr_array_new ();
    g_hash_table_iter_init (&iter, self->modems);
    while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&modem))
      g_ptr_array_add (self->infos, &modem->info);
  }
  return self->infos;
}

const RcModemInfo *
rc_mm_watch_find_modem (RcMmWatch *self, const char *path)
{
  Modem *modem;

  g_return_val_if_fail (RC_IS_MM_WATCH (self), NULL);

  modem = path != NULL ? g_hash_table_lookup (self->modems, path) : NULL;
  return modem != NULL ? &modem->info : NULL;
}
