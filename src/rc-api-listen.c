/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "rc-api"

#include "config.h"

#include "rc-api-private.h"

#include "rc-error.h"

#include <gio/gunixsocketaddress.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

/**
 * rc-api-listen: our own listening sockets in front of the SoupServer, so that hostile clients
 * cannot starve real ones (SoupServer has no connection limits of its own):
 *  - at most [api] max-connections connections; more are closed at once;
 *  - a request's headers must be complete within [api] header-timeout seconds of its first byte
 *    (slow-loris);
 *  - a connection with no request for [api] idle-timeout seconds is closed (idle keep-alive, and
 *    connections that never send anything).
 * Accepted connections are handed to soup_server_accept_iostream ().
 */

/* Deadlines are checked by one timer, once a second while there are connections, rather than
 * by a timer per connection re-armed at every request. */
#define RC_API_SWEEP_INTERVAL 1

typedef struct {
  RcApi *self; /* unowned: connections are closed before the API goes */
  GSocketConnection *connection;
  gint64 deadline;     /* monotonic µs; 0: none (a request is being read or handled) */
  gboolean in_headers; /* the deadline is the header deadline, not the idle one */
} Connection;

static void
connection_free (Connection *connection)
{
  if (!g_io_stream_is_closed (G_IO_STREAM (connection->connection)))
    g_io_stream_close (G_IO_STREAM (connection->connection), NULL, NULL);
  g_object_unref (connection->connection);
  g_free (connection);
}

static GSocket *
connection_socket (Connection *connection)
{
  return g_socket_connection_get_socket (connection->connection);
}

static void
arm (Connection *connection, gboolean in_headers)
{
  const RcConfig *config = connection->self->config;

  connection->in_headers = in_headers;
  connection->deadline
      = g_get_monotonic_time ()
        + (gint64)(in_headers ? config->header_timeout : config->idle_timeout) * G_USEC_PER_SEC;
}

/* Forgets closed connections and closes those past their deadline. */
static void
sweep (RcApi *self)
{
  gint64 now = g_get_monotonic_time ();
  GHashTableIter iter;
  Connection *connection;

  g_hash_table_iter_init (&iter, self->connections);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&connection)) {
    if (g_socket_is_closed (connection_socket (connection))) {
      g_hash_table_iter_remove (&iter);
    } else if (connection->deadline != 0 && now >= connection->deadline) {
      g_debug ("closing a connection: %s", connection->in_headers ? "headers too slow" : "idle");
      /* Closing the socket makes the SoupServer drop the connection; the next sweep forgets
       * it. */
      g_socket_close (connection_socket (connection), NULL);
      connection->deadline = 0;
    }
  }
}

static gboolean
on_sweep (gpointer user_data)
{
  RcApi *self = RC_API (user_data);

  sweep (self);
  if (g_hash_table_size (self->connections) > 0)
    return G_SOURCE_CONTINUE;
  self->sweep_id = 0;
  return G_SOURCE_REMOVE;
}

static Connection *
find_connection (RcApi *self, SoupServerMessage *msg)
{
  GSocket *socket = soup_server_message_get_socket (msg);

  return socket != NULL ? g_hash_table_lookup (self->connections, socket) : NULL;
}

/* A request's first bytes arrived: its headers have header-timeout seconds. */
void
rc_api_connection_request_started (RcApi *self, SoupServerMessage *msg)
{
  Connection *connection = find_connection (self, msg);

  if (connection != NULL)
    arm (connection, TRUE);
}

/* Headers complete: no deadline while the body is read (the body limit bounds it) and the
 * request is handled. */
void
rc_api_connection_got_headers (RcApi *self, SoupServerMessage *msg)
{
  Connection *connection = find_connection (self, msg);

  if (connection != NULL)
    connection->deadline = 0;
}

/* Answered: the connection may stay for the next request, for idle-timeout seconds. */
void
rc_api_connection_finished (RcApi *self, SoupServerMessage *msg)
{
  Connection *connection = find_connection (self, msg);

  if (connection != NULL)
    arm (connection, FALSE);
}

static gboolean
on_incoming (GSocketService *service,
             GSocketConnection *socket_connection,
             GObject *source,
             gpointer user_data)
{
  RcApi *self = RC_API (user_data);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketAddress) local = NULL;
  g_autoptr (GSocketAddress) remote = NULL;
  GSocket *socket = g_socket_connection_get_socket (socket_connection);
  Connection *connection;

  if (g_hash_table_size (self->connections) >= self->config->max_connections)
    sweep (self);
  if (g_hash_table_size (self->connections) >= self->config->max_connections) {
    g_warning_once ("more than %u connections: closing new ones ([api] max-connections)",
                    self->config->max_connections);
    g_io_stream_close (G_IO_STREAM (socket_connection), NULL, NULL);
    return TRUE;
  }
  /* libsoup writes a response's headers and body separately: with Nagle's algorithm on, the
   * second write of a kept-alive connection waits for the client's delayed ACK (40 ms). */
  if (g_socket_get_family (socket) != G_SOCKET_FAMILY_UNIX
      && !g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, &error)) {
    g_debug ("TCP_NODELAY: %s", error->message);
    g_clear_error (&error);
  }
  local = g_socket_connection_get_local_address (socket_connection, NULL);
  remote = g_socket_connection_get_remote_address (socket_connection, NULL);
  if (local == NULL || remote == NULL
      || !soup_server_accept_iostream (self->server, G_IO_STREAM (socket_connection), local, remote,
                                       &error)) {
    g_debug ("cannot accept a connection: %s", error ? error->message : "no address");
    return TRUE;
  }
  connection = g_new0 (Connection, 1);
  connection->self = self;
  connection->connection = g_object_ref (socket_connection);
  g_hash_table_insert (self->connections, socket, connection);
  arm (connection, FALSE);
  if (self->sweep_id == 0)
    self->sweep_id = g_timeout_add_seconds (RC_API_SWEEP_INTERVAL, on_sweep, self);
  return TRUE;
}

static gboolean
listen_one (RcApi *self, const char *address, GError **error)
{
  g_autoptr (GSocketConnectable) connectable = NULL;
  g_autoptr (GInetAddress) inet = NULL;
  g_autoptr (GSocketAddress) socket_address = NULL;
  g_autoptr (GSocketAddress) effective = NULL;
  g_autoptr (GError) local = NULL;

  connectable = g_network_address_parse (address, 0, &local);
  if (connectable == NULL || strchr (address, ':') == NULL) {
    g_set_error (error, RC_ERROR, RC_ERROR_INVALID_INPUT,
                 "listen address %s: expected host:port such as 127.0.0.1:8080 or [::1]:8080",
                 address);
    return FALSE;
  }
  inet = g_inet_address_new_from_string (
      g_network_address_get_hostname (G_NETWORK_ADDRESS (connectable)));
  if (inet == NULL) {
    g_set_error (error, RC_ERROR, RC_ERROR_INVALID_INPUT,
                 "listen address %s: use a numeric IP address", address);
    return FALSE;
  }
  socket_address = g_inet_socket_address_new (
      inet, g_network_address_get_port (G_NETWORK_ADDRESS (connectable)));
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (self->service), socket_address,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL, &effective,
                                      error)) {
    g_prefix_error (error, "cannot listen on %s: ", address);
    return FALSE;
  }
  self->listening = g_list_append (self->listening, g_steal_pointer (&effective));
  return TRUE;
}

/* libsoup 3.2 keeps a connection open for the next request only while the server has a listener
 * of its own (request_finished () checks its listener list). Ours come in through
 * soup_server_accept_iostream (), so give it one that nobody connects to: an abstract unix
 * socket with a random name. */
static gboolean
add_keep_alive_anchor (RcApi *self, GError **error)
{
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GSocketAddress) address = NULL;
  g_autofree char *name
      = g_strdup_printf ("reachcelld-keep-alive-%d-%08x", (int)getpid (), g_random_int ());

  socket
      = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, error);
  if (socket == NULL)
    return FALSE;
  address = g_unix_socket_address_new_with_type (name, -1, G_UNIX_SOCKET_ADDRESS_ABSTRACT);
  if (!g_socket_bind (socket, address, FALSE, error) || !g_socket_listen (socket, error)
      || !soup_server_listen_socket (self->server, socket, 0, error)) {
    g_prefix_error (error, "keep-alive anchor: ");
    return FALSE;
  }
  return TRUE;
}

gboolean
rc_api_listen (RcApi *self, GError **error)
{
  g_return_val_if_fail (RC_IS_API (self), FALSE);

  if (!add_keep_alive_anchor (self, error))
    return FALSE;

  self->service = g_socket_service_new ();
  /* The API's own backlog: the kernel queue behind accept (). */
  g_socket_listener_set_backlog (G_SOCKET_LISTENER (self->service), 128);
  for (guint i = 0; self->config->listen[i] != NULL; i++) {
    if (!listen_one (self, g_strstrip (self->config->listen[i]), error))
      return FALSE;
  }
  g_signal_connect_object (self->service, "incoming", G_CALLBACK (on_incoming), self, 0);
  g_socket_service_start (self->service);
  {
    GSList *uris = rc_api_get_uris (self);

    for (GSList *l = uris; l != NULL; l = l->next) {
      g_autofree char *uri = g_uri_to_string (l->data);

      g_message ("API listening on %s", uri);
    }
    g_slist_free_full (uris, (GDestroyNotify)g_uri_unref);
  }
  return TRUE;
}

GSList *
rc_api_get_uris (RcApi *self)
{
  GSList *uris = NULL;

  g_return_val_if_fail (RC_IS_API (self), NULL);

  for (GList *l = self->listening; l != NULL; l = l->next) {
    GInetSocketAddress *address = G_INET_SOCKET_ADDRESS (l->data);
    g_autofree char *host = g_inet_address_to_string (g_inet_socket_address_get_address (address));

    uris = g_slist_append (uris,
                           g_uri_build (G_URI_FLAGS_NONE, "http", NULL, host,
                                        g_inet_socket_address_get_port (address), "/", NULL, NULL));
  }
  return uris;
}

void
rc_api_disconnect (RcApi *self)
{
  g_return_if_fail (RC_IS_API (self));

  if (self->service != NULL) {
    g_socket_service_stop (self->service);
    g_socket_listener_close (G_SOCKET_LISTENER (self->service));
  }
  g_clear_handle_id (&self->sweep_id, g_source_remove);
  if (self->connections != NULL)
    g_hash_table_remove_all (self->connections);
}

void
rc_api_connections_init (RcApi *self)
{
  self->connections = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
                                             (GDestroyNotify)connection_free);
}

void
rc_api_connections_dispose (RcApi *self)
{
  rc_api_disconnect (self);
  g_clear_pointer (&self->connections, g_hash_table_unref);
  g_clear_object (&self->service);
  g_list_free_full (g_steal_pointer (&self->listening), g_object_unref);
}
