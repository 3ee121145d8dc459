/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "rc-daemon"

#include "config.h"

#include "rc-daemon.h"

#include "rc-api.h"
#include "rc-calls.h"
#include "rc-config.h"
#include "rc-log.h"
#include "rc-mm-watch.h"
#include "rc-relay.h"
#include "rc-sd-notify.h"
#include "rc-store.h"

#include <stdio.h>

/**
 * RcDaemon: owns every long-lived object and the main loop.
 *
 * A reload swaps the configuration for the calls and the API (numbers, limits, privacy); the
 * listen addresses and the database path are read at start only.
 */

#define RC_IDEMPOTENCY_TTL (24 * G_TIME_SPAN_HOUR)
#define RC_HOUSEKEEPING_INTERVAL (15 * 60)
#define RC_WATCHDOG_USEC_PER_PING_MS 2000 /* µs → ms, and two pings per watchdog timeout */

struct _RcDaemon {
  GObject parent_instance;

  char *config_path;
  gboolean config_explicit;
  GStrv listen_override;
  char *database_override;
  gboolean print_ready;

  RcConfig *config;
  GPtrArray *old_configs; /* kept alive: objects may hold pointers into them until quit */
  RcStore *store;
  RcMmWatch *watch;
  RcCalls *calls;
  RcRelay *relay;
  RcApi *api;
  GMainLoop *loop;
  guint housekeeping_id;
  guint watchdog_id;
};

G_DEFINE_TYPE (RcDaemon, rc_daemon, G_TYPE_OBJECT)

static RcConfig *
load_config (RcDaemon *self, GError **error)
{
  g_autoptr (RcConfig) config = NULL;

  if (self->config_explicit || g_file_test (self->config_path, G_FILE_TEST_EXISTS))
    config = rc_config_load (self->config_path, error);
  else
    config = rc_config_new_defaults ();
  if (config == NULL)
    return NULL;
  if (self->listen_override != NULL) {
    g_strfreev (config->listen);
    config->listen = g_strdupv (self->listen_override);
  }
  if (self->database_override != NULL) {
    g_free (config->database);
    config->database = g_strdup (self->database_override);
  }
  return g_steal_pointer (&config);
}

static gboolean
on_housekeeping (gpointer user_data)
{
  RcDaemon *self = RC_DAEMON (user_data);
  g_autoptr (GError) error = NULL;

  if (!rc_store_expire_idempotent (self->store, g_get_real_time () - RC_IDEMPOTENCY_TTL, &error))
    g_warning ("cannot expire idempotency keys: %s", error->message);
  return G_SOURCE_CONTINUE;
}

/* Tells the service manager (Type=notify); a failure is logged and never stops the daemon. */
static void
notify_service_manager (const char *state)
{
  g_autoptr (GError) error = NULL;

  if (!rc_sd_notify (state, &error))
    g_warning ("cannot notify the service manager: %s", error->message);
}

static gboolean
on_watchdog (gpointer user_data)
{
  notify_service_manager ("WATCHDOG=1");
  return G_SOURCE_CONTINUE;
}

static void
notify_ready (RcDaemon *self)
{
  g_autoptr (GError) error = NULL;
  guint64 watchdog_usec = 0;

  notify_service_manager ("READY=1\nSTATUS=Serving the call API");
  if (!rc_sd_watchdog_get_usec (&watchdog_usec, &error))
    g_warning ("watchdog disabled: %s", error->message);
  if (watchdog_usec > 0) {
    /* Twice per timeout, as sd_watchdog_enabled(3) advises. */
    guint64 interval_ms = watchdog_usec / RC_WATCHDOG_USEC_PER_PING_MS;

    self->watchdog_id = g_timeout_add ((guint)CLAMP (interval_ms, 1, G_MAXUINT), on_watchdog, self);
  }
  if (self->print_ready) {
    GSList *uris = rc_api_get_uris (self->api);
    g_autofree char *uri = uris != NULL ? g_uri_to_string (uris->data) : g_strdup ("");

    g_slist_free_full (uris, (GDestroyNotify)g_uri_unref);
    printf ("READY %s\n", uri);
    fflush (stdout);
  }
}

gboolean
rc_daemon_start (RcDaemon *self, GError **error)
{
  g_return_val_if_fail (RC_IS_DAEMON (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  self->config = load_config (self, error);
  if (self->config == NULL)
    return FALSE;
  rc_log_set_personal_info (self->config->log_personal_info);

  self->store = rc_store_new (self->config->database, error);
  if (self->store == NULL)
    return FALSE;
  on_housekeeping (self);

  self->watch = rc_mm_watch_new ();
  self->calls = rc_calls_new (self->store, self->watch, self->config);
  self->relay = rc_relay_new (self->store, self->config);
  /* Persist before publish: the relay hears of events once they are committed. */
  g_signal_connect_object (self->store, "events-committed", G_CALLBACK (rc_relay_kick), self->relay,
                           G_CONNECT_SWAPPED);
  self->api = rc_api_new (self->store, self->watch, self->calls, self->relay, self->config);
  if (!rc_api_listen (self->api, error))
    return FALSE;
  rc_mm_watch_start (self->watch);
  self->housekeeping_id = g_timeout_add_seconds (RC_HOUSEKEEPING_INTERVAL, on_housekeeping, self);
  notify_ready (self);
  return TRUE;
}

void
rc_daemon_run (RcDaemon *self)
{
  g_return_if_fail (RC_IS_DAEMON (self));
  g_main_loop_run (self->loop);
}

void
rc_daemon_quit (RcDaemon *self)
{
  g_return_if_fail (RC_IS_DAEMON (self));

  notify_service_manager ("STOPPING=1");
  if (self->api != NULL)
    rc_api_disconnect (self->api);
  if (self->relay != NULL)
    rc_relay_stop (self->relay); /* deliveries in flight stay pending for the next start */
  g_main_loop_quit (self->loop);
}

gboolean
rc_daemon_reload (RcDaemon *self, GError **error)
{
  g_autoptr (RcConfig) config = NULL;

  g_return_val_if_fail (RC_IS_DAEMON (self), FALSE);

  config = load_config (self, error);
  if (config == NULL)
    return FALSE;
  if (g_strcmp0 (config->database, self->config->database) != 0
      || !g_strv_equal ((const char *const *)config->listen,
                        (const char *const *)self->config->listen))
    g_message ("reload: listen and database changes take effect at the next start");
  rc_log_set_personal_info (config->log_personal_info);
  rc_calls_set_config (self->calls, config);
  rc_relay_set_config (self->relay, config);
  rc_api_set_config (self->api, config);
  g_ptr_array_add (self->old_configs, self->config);
  self->config = g_steal_pointer (&config);
  g_message ("configuration reloaded from %s", self->config_path);
  return TRUE;
}

static void
rc_daemon_dispose (GObject *object)
{
  RcDaemon *self = RC_DAEMON (object);

  g_clear_handle_id (&self->housekeeping_id, g_source_remove);
  g_clear_handle_id (&self->watchdog_id, g_source_remove);
  g_clear_object (&self->api);
  g_clear_object (&self->calls);
  g_clear_object (&self->relay);
  g_clear_object (&self->watch);
  g_clear_object (&self->store);

  G_OBJECT_CLASS (rc_daemon_parent_class)->dispose (object);
}

static void
rc_daemon_finalize (GObject *object)
{
  RcDaemon *self = RC_DAEMON (object);

  g_clear_pointer (&self->config, rc_config_free);
  g_clear_pointer (&self->old_configs, g_ptr_array_unref);
  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_free (self->config_path);
  g_strfreev (self->listen_override);
  g_free (self->database_override);

  G_OBJECT_CLASS (rc_daemon_parent_class)->finalize (object);
}

static void
rc_daemon_class_init (RcDaemonClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = rc_daemon_dispose;
  object_class->finalize = rc_daemon_finalize;
}

static void
rc_daemon_init (RcDaemon *self)
{
  self->loop = g_main_loop_new (NULL, FALSE);
  self->old_configs = g_ptr_array_new_with_free_func ((GDestroyNotify)rc_config_free);
}

RcDaemon *
rc_daemon_new (const RcDaemonOptions *options)
{
  RcDaemon *self = g_object_new (RC_TYPE_DAEMON, NULL);

  self->config_explicit = options->config_path != NULL;
  self->config_path = g_strdup (options->config_path ? options->config_path : RC_DEFAULT_CONFIG);
  self->listen_override = g_strdupv ((char **)options->listen);
  self->database_override = g_strdup (options->database);
  self->print_ready = options->print_ready;
  return self;
}
