/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rc-bench-bare: the floor for GET /v1/calls/{id}: a bare libsoup 3 server on the same GLib main
 * loop model as reachcelld, answering every request 200 with the bytes of FILE (read once, served
 * from memory, Content-Type: application/json). No routing, no auth, no store, no JSON.
 *
 *   rc-bench-bare PORT FILE      listens on 127.0.0.1:PORT, prints READY, runs until SIGTERM
 */

#include <glib-unix.h>
#include <libsoup/soup.h>
#include <stdio.h>
#include <stdlib.h>

static GBytes *body;

static void
on_request (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
            gpointer user_data)
{
  soup_server_message_set_status (msg, 200, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC,
                                    g_bytes_get_data (body, NULL), g_bytes_get_size (body));
}

static gboolean
on_term (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SoupServer) server = NULL;
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  GMainLoop *loop = g_main_loop_new (NULL, FALSE);
  char *contents;
  gsize length;

  if (argc != 3) {
    fprintf (stderr, "usage: rc-bench-bare PORT FILE\n");
    return 2;
  }
  if (!g_file_get_contents (argv[2], &contents, &length, &error)) {
    fprintf (stderr, "rc-bench-bare: %s\n", error->message);
    return 1;
  }
  body = g_bytes_new_take (contents, length);
  server = soup_server_new ("server-header", "rc-bench-bare ", NULL);
  soup_server_add_handler (server, NULL, on_request, NULL, NULL);
  address = g_inet_socket_address_new (loopback, (guint16)atoi (argv[1]));
  if (!soup_server_listen (server, address, 0, &error)) {
    fprintf (stderr, "rc-bench-bare: %s\n", error->message);
    return 1;
  }
  g_unix_signal_add (SIGTERM, on_term, loop);
  g_unix_signal_add (SIGINT, on_term, loop);
  printf ("READY\n");
  fflush (stdout);
  g_main_loop_run (loop);
  return 0;
}
