/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "sim-server"

#include "config.h"

#include "sim-server.h"

#include "sim-log.h"

#include <gio/gunixsocketaddress.h>

#include <string.h>

/**
 * SimServer: the sockets of one simulated modem.
 *
 * The AT port is an abstract unix stream socket whose name is the whole port string, the way
 * ModemManager's test profiles connect to it. One AT client is served at a time: a new
 * connection replaces (closes) the previous one, because ModemManager reopens the port between
 * probing and use and a stale connection must never swallow responses.
 *
 * The control socket ("<port>.ctl") takes any number of clients; each line is one command and
 * gets one reply line, "OK[ <info>]" or "ERROR <message>" ("status" sends key=value lines first).
 *
 * Lines end at "\r" or "\n"; empty lines are ignored; a line longer than SIM_MAX_LINE is answered
 * ERROR once its terminator arrives and the bytes in between are dropped.
 */

#define SIM_MAX_LINE 4096
#define SIM_READ_CHUNK 1024
#define SIM_SEND_TIMEOUT_S 5

typedef struct {
  SimServer *server; /* unowned */
  GSocketConnection *connection;
  GSocket *socket; /* unowned, belongs to connection */
  GSource *source;
  GString *buffer;
  gboolean overflow;
  gboolean control;
} SimClient;

struct _SimServer {
  GObject parent_instance;

  SimModem *modem;
  char *port;
  char *control_name;
  GSocketService *at_service;      /* NULL while unplugged */
  GSocketService *control_service; /* NULL until started */
  SimClient *at_client;            /* NULL when nobody is connected */
  GPtrArray *control_clients;      /* SimClient */
  gboolean muted;
  gulong output_id;
};

G_DEFINE_TYPE (SimServer, sim_server, G_TYPE_OBJECT)

enum {
  SIGNAL_QUIT_REQUESTED,
  N_SIGNALS,
};

static guint signals[N_SIGNALS];

char *
sim_server_dup_control_name (const char *port)
{
  return g_strconcat (port, SIM_CONTROL_SUFFIX, NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* Clients */

static void
sim_client_free (SimClient *client)
{
  if (client->source != NULL) {
    g_source_destroy (client->source);
    g_source_unref (client->source);
  }
  if (client->connection != NULL)
    g_io_stream_close (G_IO_STREAM (client->connection), NULL, NULL);
  g_clear_object (&client->connection);
  if (client->buffer != NULL)
    g_string_free (client->buffer, TRUE);
  g_free (client);
}

static void
client_send (SimClient *client, const char *data, gsize len)
{
  g_autoptr (GError) error = NULL;
  gsize done = 0;

  while (done < len) {
    gssize sent = g_socket_send_with_blocking (client->socket, data + done, len - done, FALSE, NULL,
                                               &error);

    /* a socket timeout would also fire the read source, so wait for room here instead */
    if (sent < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
      g_clear_error (&error);
      if (g_socket_condition_timed_wait (client->socket, G_IO_OUT,
                                         SIM_SEND_TIMEOUT_S * G_USEC_PER_SEC, NULL, &error))
        continue;
    }
    if (sent < 0) {
      sim_log_note ("send failed, dropping the connection: %s", error->message);
      /* the read side then sees the end of the stream and frees the client */
      g_socket_shutdown (client->socket, TRUE, TRUE, NULL);
      return;
    }
    done += (gsize)sent;
  }
}

static void
client_send_reply (SimClient *client, const char *line)
{
  g_autofree char *data = g_strconcat (line, "\n", NULL);

  sim_log_line (SIM_LOG_SENT, "ctl", line);
  client_send (client, data, strlen (data));
}

static void
close_at_client (SimServer *self)
{
  if (self->at_client == NULL)
    return;
  sim_log_note ("AT client disconnected");
  g_clear_pointer (&self->at_client, sim_client_free);
}

static void handle_control_line (SimServer *self, SimClient *client, const char *line);

static void
handle_at_line (SimServer *self, const char *line)
{
  sim_log_line (SIM_LOG_RECEIVED, NULL, line);
  if (self->muted) {
    sim_log_note ("muted: not answering");
    return;
  }
  sim_modem_receive_line (self->modem, line);
}

static void
handle_overlong_line (SimServer *self, SimClient *client)
{
  if (client->control) {
    sim_log_note ("control line longer than %d bytes", SIM_MAX_LINE);
    client_send_reply (client, "ERROR line too long");
    return;
  }
  sim_log_note ("AT line longer than %d bytes dropped", SIM_MAX_LINE);
  if (!self->muted)
    sim_modem_reject_overlong_line (self->modem);
}

/* Returns FALSE when the client went away while its input was handled. */
static gboolean
client_process (SimServer *self, SimClient *client, const char *data, gssize len)
{
  for (gssize i = 0; i < len; i++) {
    char c = data[i];

    if (c == '\r' || c == '\n') {
      g_autofree char *line = NULL;

      if (client->overflow) {
        client->overflow = FALSE;
        handle_overlong_line (self, client);
      } else if (client->buffer->len > 0) {
        line = g_strdup (client->buffer->str);
        g_string_truncate (client->buffer, 0);
        if (client->control)
          handle_control_line (self, client, line);
        else
          handle_at_line (self, line);
      }
    } else if (client->overflow) {
      continue;
    } else if (client->buffer->len >= SIM_MAX_LINE) {
      client->overflow = TRUE;
      g_string_truncate (client->buffer, 0);
    } else {
      /* a NUL byte would cut the line short: keep it as an invalid byte instead */
      g_string_append_c (client->buffer, c == '\0' ? '\x7f' : c);
    }
    if (!client->control && client != self->at_client)
      return FALSE;
    if (client->control && !g_ptr_array_find (self->control_clients, client, NULL))
      return FALSE;
  }
  return TRUE;
}

static void
drop_client (SimServer *self, SimClient *client)
{
  if (client == self->at_client)
    close_at_client (self);
  else
    g_ptr_array_remove (self->control_clients, client);
}

static gboolean
on_client_readable (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  SimClient *client = user_data;
  SimServer *self = client->server;
  g_autoptr (GError) error = NULL;
  char data[SIM_READ_CHUNK];
  gssize len;

  len = g_socket_receive_with_blocking (socket, data, sizeof data, FALSE, NULL, &error);
  if (len < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    return G_SOURCE_CONTINUE;
  if (len <= 0) {
    /* the source is destroyed with the client: do not let GLib remove it a second time */
    g_source_unref (g_steal_pointer (&client->source));
    drop_client (self, client);
    return G_SOURCE_REMOVE;
  }
  client_process (self, client, data, len);
  return G_SOURCE_CONTINUE;
}

static SimClient *
sim_client_new (SimServer *self, GSocketConnection *connection, gboolean control)
{
  SimClient *client = g_new0 (SimClient, 1);

  client->server = self;
  client->connection = g_object_ref (connection);
  client->socket = g_socket_connection_get_socket (connection);
  client->buffer = g_string_new (NULL);
  client->control = control;
  g_socket_set_blocking (client->socket, FALSE);
  client->source = g_socket_create_source (client->socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_callback (client->source, G_SOURCE_FUNC (on_client_readable), client, NULL);
  g_source_attach (client->source, NULL);
  return client;
}

/* ------------------------------------------------------------------------------------------ */
/* Modem output */

static void
on_modem_output (SimModem *modem, guint kind, const char *line, gpointer user_data)
{
  SimServer *self = SIM_SERVER (user_data);
  g_autofree char *data = NULL;

  if (kind == SIM_OUTPUT_ECHO) {
    data = g_strconcat (line, "\r", NULL);
  } else {
    sim_log_line (SIM_LOG_SENT, NULL, line);
    data = g_strconcat ("\r\n", line, "\r\n", NULL);
  }
  if (self->at_client == NULL) {
    if (kind == SIM_OUTPUT_URC)
      sim_log_note ("no AT client: unsolicited line dropped");
    return;
  }
  client_send (self->at_client, data, strlen (data));
}

/* ------------------------------------------------------------------------------------------ */
/* Listening sockets */

static gboolean
on_at_incoming (GSocketService *service,
                GSocketConnection *connection,
                GObject *source_object,
                gpointer user_data)
{
  SimServer *self = SIM_SERVER (user_data);

  if (self->at_client != NULL) {
    sim_log_note ("new AT client replaces the previous one");
    close_at_client (self);
  }
  sim_log_note ("AT client connected");
  self->at_client = sim_client_new (self, connection, FALSE);
  return TRUE;
}

static gboolean
on_control_incoming (GSocketService *service,
                     GSocketConnection *connection,
                     GObject *source_object,
                     gpointer user_data)
{
  SimServer *self = SIM_SERVER (user_data);

  g_ptr_array_add (self->control_clients, sim_client_new (self, connection, TRUE));
  return TRUE;
}

static GSocketService *
listen_abstract (const char *name, GCallback on_incoming, gpointer user_data, GError **error)
{
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GSocketService) service = NULL;

  socket
      = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, error);
  if (socket == NULL)
    return NULL;
  address = g_unix_socket_address_new_with_type (name, -1, G_UNIX_SOCKET_ADDRESS_ABSTRACT);
  if (!g_socket_bind (socket, address, FALSE, error) || !g_socket_listen (socket, error)) {
    g_prefix_error (error, "cannot listen on abstract socket %s: ", name);
    return NULL;
  }
  service = g_socket_service_new ();
  if (!g_socket_listener_add_socket (G_SOCKET_LISTENER (service), socket, NULL, error))
    return NULL;
  g_signal_connect (service, "incoming", on_incoming, user_data);
  g_socket_service_start (service);
  return g_steal_pointer (&service);
}

static void
stop_service (GSocketService **service)
{
  if (*service == NULL)
    return;
  g_socket_service_stop (*service);
  g_socket_listener_close (G_SOCKET_LISTENER (*service));
  g_clear_object (service);
}

static gboolean
plug (SimServer *self, GError **error)
{
  if (self->at_service != NULL)
    return TRUE;
  self->at_service = listen_abstract (self->port, G_CALLBACK (on_at_incoming), self, error);
  if (self->at_service != NULL)
    sim_log_note ("listening on %s", self->port);
  return self->at_service != NULL;
}

static void
unplug (SimServer *self)
{
  close_at_client (self);
  if (self->at_service != NULL)
    sim_log_note ("stopped listening on %s", self->port);
  stop_service (&self->at_service);
}

/* ------------------------------------------------------------------------------------------ */
/* Control commands */

static const char control_help[]
    = "commands: incoming <+number>|<number> --national|--withheld; alert [idx]; answer [idx]; "
      "hangup [idx] [--silent]; busy [idx]; noanswer [idx]; next-dial ok|busy|no-carrier|error; "
      "alert-after <ms>|-1; auto-answer <s>; ring-period <ms>; "
      "registration home|roaming|searching|denied|idle; signal <0-100>; unplug; plug; mute; "
      "unmute; "
      "status; help; quit";

static void
send_status (SimServer *self, SimClient *client)
{
  g_autoptr (GString) status = g_string_new (NULL);
  g_auto (GStrv) lines = NULL;

  g_string_append_printf (status, "port=%s\n", self->port);
  g_string_append_printf (status, "control=%s\n", self->control_name);
  g_string_append_printf (status, "plugged=%d\n", self->at_service != NULL ? 1 : 0);
  g_string_append_printf (status, "connected=%d\n", self->at_client != NULL ? 1 : 0);
  g_string_append_printf (status, "muted=%d\n", self->muted ? 1 : 0);
  sim_modem_append_status (self->modem, status);
  lines = g_strsplit (status->str, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    if (lines[i][0] != '\0')
      client_send_reply (client, lines[i]);
  }
  client_send_reply (client, "OK");
}

static gboolean
run_server_command (SimServer *self,
                    SimClient *client,
                    const char *const *argv,
                    gboolean *out_handled,
                    GError **error)
{
  const char *command = argv[0];

  *out_handled = TRUE;
  if (strcmp (command, "unplug") == 0) {
    unplug (self);
  } else if (strcmp (command, "plug") == 0) {
    if (!plug (self, error))
      return FALSE;
  } else if (strcmp (command, "mute") == 0) {
    self->muted = TRUE;
  } else if (strcmp (command, "unmute") == 0) {
    self->muted = FALSE;
  } else if (strcmp (command, "quit") == 0 || strcmp (command, "help") == 0
             || strcmp (command, "status") == 0) {
    /* answered by the caller */
  } else {
    *out_handled = FALSE;
    return TRUE;
  }
  if (argv[1] != NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s takes no arguments", command);
    return FALSE;
  }
  return TRUE;
}

static void
handle_control_line (SimServer *self, SimClient *client, const char *line)
{
  g_auto (GStrv) words = g_strsplit_set (line, " \t", -1);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *info = NULL;
  g_autofree char *reply = NULL;
  gboolean handled = FALSE;
  gboolean ok;

  sim_log_line (SIM_LOG_RECEIVED, "ctl", line);
  for (guint i = 0; words[i] != NULL; i++) {
    if (words[i][0] != '\0')
      g_ptr_array_add (argv, words[i]);
  }
  if (argv->len == 0)
    return;
  g_ptr_array_add (argv, NULL);

  ok = run_server_command (self, client, (const char *const *)argv->pdata, &handled, &error);
  if (ok && !handled)
    ok = sim_modem_control (self->modem, (const char *const *)argv->pdata, &info, &error);

  if (!ok) {
    reply = g_strdup_printf ("ERROR %s", error->message);
    client_send_reply (client, reply);
  } else if (strcmp (argv->pdata[0], "status") == 0) {
    send_status (self, client);
  } else if (strcmp (argv->pdata[0], "help") == 0) {
    reply = g_strdup_printf ("OK %s", control_help);
    client_send_reply (client, reply);
  } else {
    reply = info != NULL ? g_strdup_printf ("OK %s", info) : g_strdup ("OK");
    client_send_reply (client, reply);
    if (strcmp (argv->pdata[0], "quit") == 0)
      g_signal_emit (self, signals[SIGNAL_QUIT_REQUESTED], 0);
  }
}

/* ------------------------------------------------------------------------------------------ */

static void
sim_server_dispose (GObject *object)
{
  SimServer *self = SIM_SERVER (object);

  unplug (self);
  stop_service (&self->control_service);
  if (self->control_clients != NULL)
    g_ptr_array_set_size (self->control_clients, 0);
  if (self->modem != NULL)
    g_clear_signal_handler (&self->output_id, self->modem);
  g_clear_object (&self->modem);

  G_OBJECT_CLASS (sim_server_parent_class)->dispose (object);
}

static void
sim_server_finalize (GObject *object)
{
  SimServer *self = SIM_SERVER (object);

  g_clear_pointer (&self->control_clients, g_ptr_array_unref);
  g_free (self->port);
  g_free (self->control_name);

  G_OBJECT_CLASS (sim_server_parent_class)->finalize (object);
}

static void
sim_server_class_init (SimServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sim_server_dispose;
  object_class->finalize = sim_server_finalize;

  signals[SIGNAL_QUIT_REQUESTED]
      = g_signal_new ("quit-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 0);
}

static void
sim_server_init (SimServer *self)
{
  self->control_clients = g_ptr_array_new_with_free_func ((GDestroyNotify)sim_client_free);
}

SimServer *
sim_server_new (SimModem *modem, const char *port)
{
  SimServer *self = g_object_new (SIM_TYPE_SERVER, NULL);

  self->modem = g_object_ref (modem);
  self->port = g_strdup (port);
  self->control_name = sim_server_dup_control_name (port);
  self->output_id = g_signal_connect (modem, "output", G_CALLBACK (on_modem_output), self);
  return self;
}

gboolean
sim_server_start (SimServer *self, GError **error)
{
  g_return_val_if_fail (SIM_IS_SERVER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!plug (self, error))
    return FALSE;
  self->control_service
      = listen_abstract (self->control_name, G_CALLBACK (on_control_incoming), self, error);
  if (self->control_service == NULL) {
    unplug (self);
    return FALSE;
  }
  sim_log_note ("control socket %s", self->control_name);
  return TRUE;
}
