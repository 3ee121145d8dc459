/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "test-webhooks"

#include "config.h"

#include "rc-api-client.h"
#include "rc-harness.h"
#include "rc-json.h"
#include "rc-relay.h"
#include "rc-store.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>

/*
 * Webhook delivery (SPEC §6) end to end: the built reachcelld relays events to a real HTTP
 * receiver on 127.0.0.1 in this program, with switchable behaviour per URL path. Events are
 * written to the daemon's database with librc (as the call service does: call row, event and
 * outbox rows in one transaction), or come from a simulated modem through the real
 * ModemManager. Signatures are checked twice: with our own HMAC and with the Standard Webhooks
 * reference library (npm "standardwebhooks", run with node).
 *
 * The receiver runs in a thread of its own with its own main context, so arrival times are
 * exact even while the test thread waits for a synchronous API answer or a node process.
 * Every webhook URL is http://127.0.0.1:PORT/TAG; the behaviour of TAG is set with
 * receiver_set ():
 *   "200"           answer 200 at once (the default)
 *   "500", "410"…   answer that status
 *   "503:N" "429:N" that status with Retry-After: N
 *   "301", "308"    redirect to /target (which must never be hit)
 *   "hang"          accept the request and never answer
 *   "huge"          200 with an endless chunked body (stopped at 1 GiB)
 *   "flaky:P"       500 with probability P %, at most twice per webhook-id, else 200
 *   "slow:MS"       200 after a random delay of 0 to MS milliseconds
 *   "delay:MS"      200 after MS milliseconds
 * A behaviour can also be set for one webhook-id (it wins over the path's).
 * Raw listeners of their own drip a status line one byte a second, drip a body one byte a second
 * after a complete 200 header, or reset the connection in the middle of the status line.
 */

#define DAEMON_SCHEDULE "0;1;1;2"
#define DAEMON_TIMEOUT 3 /* [webhook] attempt-timeout */
#define DAEMON_DISABLE_AFTER 8
#define DAEMON_MAX_CONNECTIONS 8
#define JITTER 0.1            /* the relay's ± 10 % */
#define SLACK_US (700 * 1000) /* timer granularity, scans, a loaded machine */
#define HUGE_CHUNK (64 * 1024)
#define HUGE_CHUNKS 16384 /* 1 GiB */
#define BACKLOG_CALLS 2000
#define BACKLOG_PER_CALL 5
#define CRASH_KILLS 22
#define MID_DRAIN_CALLS 400
#define MID_DRAIN_KILLS 5

#define LINE0 "+4915100000001"
#define REMOTE "+4915199999999"

/* --- the receiver --------------------------------------------------------------------------- */

typedef struct {
  char *tag;
  char *path;
  char *method;
  char *id;
  char *timestamp;
  char *signature;
  char *content_type;
  char *body;
  gsize body_length;
  gint64 at;      /* monotonic µs */
  gint64 at_real; /* real µs */
  guint answered; /* status we answered (0: none) */
} Received;

typedef struct {
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
  SoupServer *server;
  guint port;
  GMutex lock;
  GCond cond;
  gboolean ready;
  GPtrArray *received;   /* Received, never freed before the end */
  GHashTable *behaviour; /* tag → spec */
  GHashTable *failures;  /* webhook-id → count of injected failures (flaky) */
  GRand *rand;
  /* Raw listeners. */
  GSocketService *raw;
  guint drip_port;
  guint drip_body_port;
  guint reset_port;
  guint drip_connections;
  guint drip_body_connections;
  guint reset_connections;
  GArray *drip_times; /* gint64 monotonic, one per raw connection to drip_port */
  GArray *reset_times;
  gint64 huge_written; /* bytes of "huge" bodies handed to libsoup */
  gint64 huge_done;    /* 1 once a huge answer ended (finished or broken) */
  GPtrArray *paused;   /* SoupServerMessage that will never be answered */
} Receiver;

static Receiver rx;

static struct {
  RcHarness *harness;
  GSubprocess *daemon;
  char *base_url;
  char *key;
  char *database;
  char *config;
  char *config_public;
  RcApiClient *client;
  guint daemon_runs;
  guint32 seed;
  char *db_dir; /* nullable: on tmpfs */
} fx;

static char *
receiver_url (const char *tag)
{
  return g_strdup_printf ("http://127.0.0.1:%u/%s", rx.port, tag);
}

static void
receiver_set (const char *tag, const char *spec)
{
  g_mutex_lock (&rx.lock);
  g_hash_table_replace (rx.behaviour, g_strdup (tag), g_strdup (spec));
  g_mutex_unlock (&rx.lock);
}

/* The requests received for @tag so far, oldest first (transfer container). */
static GPtrArray *
receiver_get (const char *tag)
{
  GPtrArray *out = g_ptr_array_new ();

  g_mutex_lock (&rx.lock);
  for (guint i = 0; i < rx.received->len; i++) {
    Received *r = g_ptr_array_index (rx.received, i);

    if (g_strcmp0 (r->tag, tag) == 0)
      g_ptr_array_add (out, r);
  }
  g_mutex_unlock (&rx.lock);
  return out;
}

static guint
receiver_count (const char *tag)
{
  g_autoptr (GPtrArray) got = receiver_get (tag);

  return got->len;
}

static char *
header_dup (SoupMessageHeaders *headers, const char *name)
{
  return g_strdup (soup_message_headers_get_one (headers, name));
}

typedef struct {
  SoupServerMessage *msg;
  guint status;
  gboolean gone;
} Delayed;

static void
on_delayed_gone (SoupServerMessage *msg, gpointer user_data)
{
  ((Delayed *)user_data)->gone = TRUE;
}

static gboolean
on_delayed_answer (gpointer user_data)
{
  Delayed *delayed = user_data;

  g_signal_handlers_disconnect_by_func (delayed->msg, on_delayed_gone, delayed);
  if (delayed->gone) {
    g_object_unref (delayed->msg);
    g_free (delayed);
    return G_SOURCE_REMOVE;
  }
  soup_server_message_set_status (delayed->msg, delayed->status, NULL);
  soup_server_message_set_response (delayed->msg, "text/plain", SOUP_MEMORY_STATIC, "ok", 2);
  soup_server_message_unpause (delayed->msg);
  g_object_unref (delayed->msg);
  g_free (delayed);
  return G_SOURCE_REMOVE;
}

static void
on_huge_chunk_written (SoupServerMessage *msg, gpointer user_data)
{
  static char chunk[HUGE_CHUNK];
  guint *left = user_data;
  SoupMessageBody *body = soup_server_message_get_response_body (msg);

  g_mutex_lock (&rx.lock);
  rx.huge_written += HUGE_CHUNK;
  g_mutex_unlock (&rx.lock);
  if (*left == 0) {
    soup_message_body_complete (body);
    return;
  }
  (*left)--;
  memset (chunk, 'x', sizeof chunk);
  soup_message_body_append (body, SOUP_MEMORY_STATIC, chunk, sizeof chunk);
}

static void
free_closure_data (gpointer data, GClosure *closure)
{
  g_free (data);
}

static void
on_huge_finished (SoupServerMessage *msg, gpointer user_data)
{
  g_mutex_lock (&rx.lock);
  rx.huge_done = 1;
  g_mutex_unlock (&rx.lock);
}

static void
on_receive (SoupServer *server,
            SoupServerMessage *msg,
            const char *path,
            GHashTable *query,
            gpointer user_data)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *response_headers = soup_server_message_get_response_headers (msg);
  SoupMessageBody *request_body = soup_server_message_get_request_body (msg);
  g_autoptr (GBytes) bytes = soup_message_body_flatten (request_body);
  Received *r = g_new0 (Received, 1);
  g_autofree char *spec = NULL;
  guint status = 200;
  guint retry_after = 0;

  r->path = g_strdup (path);
  r->tag = g_strdup (path + 1);
  r->method = g_strdup (soup_server_message_get_method (msg));
  r->id = header_dup (headers, "webhook-id");
  r->timestamp = header_dup (headers, "webhook-timestamp");
  r->signature = header_dup (headers, "webhook-signature");
  r->content_type = header_dup (headers, "Content-Type");
  r->body_length = g_bytes_get_size (bytes);
  r->body = g_strndup (g_bytes_get_data (bytes, NULL), r->body_length);
  r->at = g_get_monotonic_time ();
  r->at_real = g_get_real_time ();

  g_mutex_lock (&rx.lock);
  /* A behaviour set for the webhook-id wins over the one of the path. */
  spec = g_strdup (g_hash_table_lookup (rx.behaviour, r->id ? r->id : ""));
  if (spec == NULL)
    spec = g_strdup (g_hash_table_lookup (rx.behaviour, r->tag));
  if (spec == NULL)
    spec = g_strdup ("200");
  if (g_str_has_prefix (spec, "flaky:")) {
    guint percent = (guint)g_ascii_strtoull (spec + 6, NULL, 10);
    guint failed = GPOINTER_TO_UINT (g_hash_table_lookup (rx.failures, r->id ? r->id : ""));

    status = 200;
    if (failed < 2 && (guint)g_rand_int_range (rx.rand, 0, 100) < percent) {
      status = 500;
      g_hash_table_replace (rx.failures, g_strdup (r->id ? r->id : ""),
                            GUINT_TO_POINTER (failed + 1));
    }
  } else if (g_str_has_prefix (spec, "503:") || g_str_has_prefix (spec, "429:")) {
    status = (guint)g_ascii_strtoull (spec, NULL, 10);
    retry_after = (guint)g_ascii_strtoull (spec + 4, NULL, 10);
  } else if (g_ascii_isdigit (spec[0])) {
    status = (guint)g_ascii_strtoull (spec, NULL, 10);
  }
  r->answered = g_str_equal (spec, "hang") ? 0 : status;
  g_ptr_array_add (rx.received, r);
  g_mutex_unlock (&rx.lock);

  if (g_str_equal (spec, "hang")) {
    soup_server_message_pause (msg);
    g_ptr_array_add (rx.paused, g_object_ref (msg));
    return;
  }
  if (g_str_equal (spec, "huge")) {
    guint *left = g_new (guint, 1);

    *left = HUGE_CHUNKS;
    soup_server_message_set_status (msg, 200, NULL);
    soup_message_headers_set_encoding (response_headers, SOUP_ENCODING_CHUNKED);
    soup_message_headers_set_content_type (response_headers, "text/plain", NULL);
    soup_message_body_set_accumulate (soup_server_message_get_response_body (msg), FALSE);
    g_signal_connect_data (msg, "wrote-chunk", G_CALLBACK (on_huge_chunk_written), left,
                           free_closure_data, 0);
    g_signal_connect (msg, "finished", G_CALLBACK (on_huge_finished), NULL);
    g_signal_connect (msg, "disconnected", G_CALLBACK (on_huge_finished), NULL);
    on_huge_chunk_written (msg, left);
    return;
  }
  if (g_str_has_prefix (spec, "slow:") || g_str_has_prefix (spec, "delay:")) {
    gboolean fixed = g_str_has_prefix (spec, "delay:");
    guint max_ms = (guint)g_ascii_strtoull (spec + (fixed ? 6 : 5), NULL, 10);
    Delayed *delayed = g_new0 (Delayed, 1);
    g_autoptr (GSource) source = NULL;

    g_mutex_lock (&rx.lock);
    source
        = g_timeout_source_new (fixed ? max_ms : (guint)g_rand_int_range (rx.rand, 0, max_ms + 1));
    g_mutex_unlock (&rx.lock);
    delayed->msg = g_object_ref (msg);
    delayed->status = 200;
    g_signal_connect (msg, "disconnected", G_CALLBACK (on_delayed_gone), delayed);
    soup_server_message_pause (msg);
    g_source_set_callback (source, on_delayed_answer, delayed, NULL);
    g_source_attach (source, rx.context);
    return;
  }
  if (status == 301 || status == 308) {
    g_autofree char *target = receiver_url ("target");

    soup_message_headers_replace (response_headers, "Location", target);
  }
  if (retry_after > 0) {
    g_autofree char *value = g_strdup_printf ("%u", retry_after);

    soup_message_headers_replace (response_headers, "Retry-After", value);
  }
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC, "answer", 6);
}

/* Raw connections: drip a status line, drip a body, or reset. */
typedef struct {
  GSocketConnection *connection;
  const char *text;
  gsize at;
  guint timer;
} Drip;

static gboolean
on_drip (gpointer user_data)
{
  Drip *drip = user_data;
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (drip->connection));
  GSocket *socket = g_socket_connection_get_socket (drip->connection);
  char buffer[1];
  gssize n;

  /* Stop when the peer has gone: a read of 0 or an error other than "would block". */
  n = g_socket_receive_with_blocking (socket, buffer, 0, FALSE, NULL, NULL);
  (void)n;
  if (drip->text[drip->at] == '\0'
      || g_output_stream_write (out, drip->text + drip->at, 1, NULL, NULL) != 1) {
    g_io_stream_close (G_IO_STREAM (drip->connection), NULL, NULL);
    g_object_unref (drip->connection);
    g_free (drip);
    return G_SOURCE_REMOVE;
  }
  drip->at++;
  return G_SOURCE_CONTINUE;
}

static const char drip_status_text[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
/* A complete 200 header, then a body one byte a second. */
static char *drip_body_text;

static void
start_drip (GSocketConnection *connection, const char *text, gsize already)
{
  Drip *drip = g_new0 (Drip, 1);
  g_autoptr (GSource) source = g_timeout_source_new_seconds (1);

  drip->connection = g_object_ref (connection);
  drip->text = text;
  drip->at = already;
  g_source_set_callback (source, on_drip, drip, NULL);
  g_source_attach (source, rx.context);
}

static void
on_reset_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GSocketConnection *connection = user_data;
  GSocket *socket = g_socket_connection_get_socket (connection);
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  const char partial[] = "HTTP/1.1 200 O";

  g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, NULL);
  g_output_stream_write_all (out, partial, strlen (partial), NULL, NULL, NULL);
  /* SO_LINGER 0: close sends RST. */
  {
    struct linger linger = { 1, 0 };

    setsockopt (g_socket_get_fd (socket), SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
  }
  g_socket_close (socket, NULL);
  g_object_unref (connection);
}

static gboolean
on_raw_incoming (GSocketService *service,
                 GSocketConnection *connection,
                 GObject *source_object,
                 gpointer user_data)
{
  g_autoptr (GSocketAddress) local = g_socket_connection_get_local_address (connection, NULL);
  guint port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
  gint64 now = g_get_monotonic_time ();

  g_mutex_lock (&rx.lock);
  if (port == rx.drip_port) {
    rx.drip_connections++;
    g_array_append_val (rx.drip_times, now);
  } else if (port == rx.drip_body_port) {
    rx.drip_body_connections++;
  } else {
    rx.reset_connections++;
    g_array_append_val (rx.reset_times, now);
  }
  g_mutex_unlock (&rx.lock);

  if (port == rx.drip_port) {
    start_drip (connection, drip_status_text, 0);
  } else if (port == rx.drip_body_port) {
    GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
    const char *header_end = strstr (drip_body_text, "\r\n\r\n") + 4;

    g_output_stream_write_all (out, drip_body_text, header_end - drip_body_text, NULL, NULL, NULL);
    start_drip (connection, drip_body_text, header_end - drip_body_text);
  } else {
    GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));

    g_input_stream_read_bytes_async (in, 4096, G_PRIORITY_DEFAULT, NULL, on_reset_read,
                                     g_object_ref (connection));
  }
  return TRUE;
}

static guint
raw_listen (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) effective = NULL;

  g_assert_true (g_socket_listener_add_address (G_SOCKET_LISTENER (rx.raw), address,
                                                G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                                &effective, &error));
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
}

static gpointer
receiver_thread (gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  GSList *uris;

  g_main_context_push_thread_default (rx.context);
  rx.server = soup_server_new ("server-header", "test-receiver", NULL);
  soup_server_add_handler (rx.server, NULL, on_receive, NULL, NULL);
  g_assert_true (soup_server_listen_local (rx.server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
  g_assert_no_error (error);
  uris = soup_server_get_uris (rx.server);
  rx.port = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify)g_uri_unref);

  rx.raw = g_socket_service_new ();
  g_signal_connect (rx.raw, "incoming", G_CALLBACK (on_raw_incoming), NULL);
  rx.drip_port = raw_listen ();
  rx.drip_body_port = raw_listen ();
  rx.reset_port = raw_listen ();
  g_socket_service_start (rx.raw);

  g_mutex_lock (&rx.lock);
  rx.ready = TRUE;
  g_cond_broadcast (&rx.cond);
  g_mutex_unlock (&rx.lock);

  g_main_loop_run (rx.loop);

  g_socket_service_stop (rx.raw);
  g_socket_listener_close (G_SOCKET_LISTENER (rx.raw));
  g_clear_object (&rx.raw);
  soup_server_disconnect (rx.server);
  g_clear_object (&rx.server);
  g_main_context_pop_thread_default (rx.context);
  return NULL;
}

static void
receiver_start (void)
{
  GString *text = g_string_new ("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");

  for (guint i = 0; i < 1000; i++)
    g_string_append_c (text, 'z');
  drip_body_text = g_string_free (text, FALSE);
  g_mutex_init (&rx.lock);
  g_cond_init (&rx.cond);
  rx.received = g_ptr_array_new ();
  rx.behaviour = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  rx.failures = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  rx.rand = g_rand_new_with_seed (fx.seed);
  rx.paused = g_ptr_array_new_with_free_func (g_object_unref);
  rx.drip_times = g_array_new (FALSE, FALSE, sizeof (gint64));
  rx.reset_times = g_array_new (FALSE, FALSE, sizeof (gint64));
  rx.context = g_main_context_new ();
  rx.loop = g_main_loop_new (rx.context, FALSE);
  rx.thread = g_thread_new ("receiver", receiver_thread, NULL);
  g_mutex_lock (&rx.lock);
  while (!rx.ready)
    g_cond_wait (&rx.cond, &rx.lock);
  g_mutex_unlock (&rx.lock);
}

typedef struct {
  guint port;
  gboolean done;
  GError *error;
} ListenCall;

static gboolean
listen_in_thread (gpointer user_data)
{
  ListenCall *call = user_data;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, call->port);

  soup_server_listen (rx.server, address, 0, &call->error);
  g_mutex_lock (&rx.lock);
  call->done = TRUE;
  g_cond_broadcast (&rx.cond);
  g_mutex_unlock (&rx.lock);
  return G_SOURCE_REMOVE;
}

/* The receiver also listens on @port (a listener that "comes back"). */
static void
receiver_listen_on (guint port)
{
  ListenCall call = { port, FALSE, NULL };

  g_main_context_invoke (rx.context, listen_in_thread, &call);
  g_mutex_lock (&rx.lock);
  while (!call.done)
    g_cond_wait (&rx.cond, &rx.lock);
  g_mutex_unlock (&rx.lock);
  g_assert_no_error (call.error);
}

static gboolean
quit_in_thread (gpointer user_data)
{
  /* Paused messages stay unanswered: the server goes with their connections. */
  g_main_loop_quit (rx.loop);
  return G_SOURCE_REMOVE;
}

static void
receiver_stop (void)
{
  g_main_context_invoke (rx.context, quit_in_thread, NULL);
  g_thread_join (rx.thread);
}

/* A port on 127.0.0.1 that was bound and closed: nothing listens there. */
static guint
closed_port (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  guint port;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (socket, address, TRUE, &error));
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_socket_close (socket, NULL);
  return port;
}

/* --- the daemon ----------------------------------------------------------------------------- */

static void
start_daemon_with (const char *config)
{
  g_autofree char *log_name = g_strdup_printf ("daemon-%u.log", ++fx.daemon_runs);

  g_assert_null (fx.daemon);
  g_free (fx.base_url);
  fx.daemon = rc_harness_start_daemon (fx.harness, config, fx.database, log_name, &fx.base_url);
  if (fx.client == NULL)
    fx.client = rc_api_client_new (fx.base_url, RC_SOURCE_DATADIR "/openapi.json");
  else
    rc_api_client_set_base_url (fx.client, fx.base_url);
}

static void
start_daemon (void)
{
  start_daemon_with (fx.config);
}

static void
stop_daemon (int signal_number)
{
  rc_harness_stop_process (fx.harness, &fx.daemon, signal_number);
}

/* --- API helpers ---------------------------------------------------------------------------- */

static RcReply *
api (const char *method, const char *path, const char *body)
{
  return rc_api_client_request (fx.client, method, path, fx.key, body ? "application/json" : NULL,
                                body, -1, NULL);
}

static RcReply *
api_ok (const char *method, const char *path, const char *body, guint status)
{
  RcReply *reply = api (method, path, body);

  if (reply->status != status)
    g_error ("%s %s: expected %u, got %u: %s", method, path, status, reply->status, reply->body);
  return reply;
}

static void
assert_error_field (RcReply *reply, guint status, const char *code, const char *field)
{
  JsonObject *error = rc_reply_assert_error (reply, status, code);

  g_assert_cmpstr (field, ==,
                   json_object_has_member (error, "field")
                       ? json_object_get_string_member (error, "field")
                       : NULL);
}

typedef struct {
  char *id;
  char *secret;
  char *tag;
} Hook;

static void
hook_free (Hook *hook)
{
  g_free (hook->id);
  g_free (hook->secret);
  g_free (hook->tag);
  g_free (hook);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Hook, hook_free)

/* Registers http://127.0.0.1:PORT/TAG (or @url) for @events_json (NULL: the default). */
static Hook *
create_hook_url (const char *tag, const char *url, const char *events_json)
{
  g_autofree char *own_url = url ? NULL : receiver_url (tag);
  g_autofree char *body = NULL;
  g_autoptr (RcReply) reply = NULL;
  JsonObject *data;
  Hook *hook = g_new0 (Hook, 1);

  body = events_json ? g_strdup_printf ("{\"url\":\"%s\",\"events\":%s,\"description\":\"%s\"}",
                                        url ? url : own_url, events_json, tag)
                     : g_strdup_printf ("{\"url\":\"%s\",\"description\":\"%s\"}",
                                        url ? url : own_url, tag);
  reply = api_ok ("POST", "/v1/webhooks", body, 201);
  data = rc_reply_data_object (reply);
  hook->id = g_strdup (json_object_get_string_member (data, "id"));
  hook->secret = g_strdup (json_object_get_string_member (data, "secret"));
  hook->tag = g_strdup (tag);
  g_assert_true (g_str_has_prefix (hook->secret, "whsec_"));
  g_assert_true (json_object_get_boolean_member (data, "enabled"));
  return hook;
}

static Hook *
create_hook (const char *tag, const char *events_json)
{
  return create_hook_url (tag, NULL, events_json);
}

static char *metrics_text (const char *key);
static double metric_value (const char *text, const char *name);

static gboolean
nothing_in_flight (gpointer user_data)
{
  g_autofree char *text = metrics_text (fx.key);

  return metric_value (text, "reachcelld_webhook_in_flight") == 0;
}

/* Deleted once no attempt is in flight (see delete-during-attempt: the daemon aborts when a
 * webhook is deleted under an attempt that changes its state). */
static void
delete_hook (Hook *hook)
{
  g_autofree char *path = g_strconcat ("/v1/webhooks/", hook->id, NULL);
  g_autoptr (RcReply) disabled = api_ok ("PATCH", path, "{\"enabled\":false}", 200);
  g_autoptr (RcReply) reply = NULL;

  if (!rc_harness_wait_for (nothing_in_flight, NULL, DAEMON_TIMEOUT + 5))
    g_error ("attempts still in flight %u s after webhook %s was disabled", DAEMON_TIMEOUT + 5,
             hook->id);
  reply = api_ok ("DELETE", path, NULL, 200);
}

/* PATCH {} : nothing changes, but the relay looks for due deliveries at once. */
static void
kick (Hook *hook)
{
  g_autofree char *path = g_strconcat ("/v1/webhooks/", hook->id, NULL);
  g_autoptr (RcReply) reply = api_ok ("PATCH", path, "{}", 200);
}

static RcReply *
get_hook (Hook *hook)
{
  g_autofree char *path = g_strconcat ("/v1/webhooks/", hook->id, NULL);

  return api_ok ("GET", path, NULL, 200);
}

/* GET …/deliveries?QUERY */
static RcReply *
deliveries (Hook *hook, const char *query)
{
  g_autofree char *path = g_strdup_printf ("/v1/webhooks/%s/deliveries%s%s", hook->id,
                                           query ? "?" : "", query ? query : "");

  return api_ok ("GET", path, NULL, 200);
}

static guint
deliveries_total (Hook *hook, const char *status)
{
  g_autofree char *query = g_strdup_printf ("status=%s&per_page=1", status);
  g_autoptr (RcReply) reply = deliveries (hook, query);

  return (guint)json_object_get_int_member (rc_reply_meta (reply), "total");
}

/* The delivery of @event_id (a copy of its JSON object, with its attempts). */
static JsonObject *
find_delivery (Hook *hook, const char *event_id)
{
  for (guint page = 1; page < 200; page++) {
    g_autofree char *query = g_strdup_printf ("per_page=100&page=%u", page);
    g_autoptr (RcReply) reply = deliveries (hook, query);
    JsonArray *list = rc_reply_data_array (reply);

    if (json_array_get_length (list) == 0)
      break;
    for (guint i = 0; i < json_array_get_length (list); i++) {
      JsonObject *delivery = json_array_get_object_element (list, i);

      if (g_strcmp0 (json_object_get_string_member (delivery, "event_id"), event_id) == 0)
        return json_object_ref (delivery);
    }
  }
  g_error ("no delivery of %s for webhook %s", event_id, hook->id);
  return NULL;
}

static char *
metrics_text (const char *key)
{
  g_autoptr (RcReply) reply
      = rc_api_client_request (fx.client, "GET", "/metrics", key, NULL, NULL, -1, NULL);

  if (reply->status != 200)
    g_error ("GET /metrics: %u %s", reply->status, reply->body);
  return g_strdup (reply->body);
}

/* The value of the sample line that starts with @name (labels included; "name" also matches
 * "name{}"), or -1. */
static double
metric_value (const char *text, const char *name)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autofree char *empty_labels = g_strconcat (name, "{}", NULL);

  for (guint i = 0; lines[i] != NULL; i++) {
    if (g_str_has_prefix (lines[i], name) && lines[i][strlen (name)] == ' ')
      return g_ascii_strtod (lines[i] + strlen (name) + 1, NULL);
    if (g_str_has_prefix (lines[i], empty_labels) && lines[i][strlen (empty_labels)] == ' ')
      return g_ascii_strtod (lines[i] + strlen (empty_labels) + 1, NULL);
  }
  return -1;
}

/* --- events --------------------------------------------------------------------------------- */

typedef struct {
  char *event_id;
  char *call_id;
  guint sequence;
  char *type;
} EventRef;

static void
event_ref_free (EventRef *ref)
{
  g_free (ref->event_id);
  g_free (ref->call_id);
  g_free (ref->type);
  g_free (ref);
}

static const char *const event_cycle[]
    = { "call.initiating", "call.ringing",  "call.connected", "call.ended",
        "call.missed",     "call.rejected", "call.failed" };

/* Stores @n_calls terminal calls with @per_call events each, appended round robin (call 1 event
 * 1, call 2 event 1, …) in one transaction, as the call service does. Returns EventRef in append
 * order. */
static GPtrArray *
store_events (guint n_calls, guint per_call)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RcStore) store = rc_store_new (fx.database, &error);
  g_autoptr (GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify)rc_call_free);
  GPtrArray *refs = g_ptr_array_new_with_free_func ((GDestroyNotify)event_ref_free);
  gint64 now = g_get_real_time ();

  g_assert_no_error (error);
  g_assert_true (rc_store_begin (store, &error));
  for (guint c = 0; c < n_calls; c++) {
    RcCall *call = rc_call_new ();

    call->call_id = g_uuid_string_random ();
    call->direction = RC_CALL_DIRECTION_INBOUND;
    call->from = g_strdup (REMOTE);
    call->to = g_strdup (LINE0);
    call->line = g_strdup (LINE0);
    call->status = RC_CALL_STATUS_MISSED;
    call->end_reason = RC_END_REASON_REMOTE_HANGUP;
    call->created_at = now;
    call->initiated_at = now;
    call->ringing_at = now;
    call->ended_at = now + 1000;
    call->cost_micro_usd = -1;
    g_assert_true (rc_store_save_call (store, call, &error));
    g_assert_no_error (error);
    g_ptr_array_add (calls, call);
  }
  for (guint s = 0; s < per_call; s++) {
    for (guint c = 0; c < n_calls; c++) {
      RcCall *call = g_ptr_array_index (calls, c);
      EventRef *ref = g_new0 (EventRef, 1);

      ref->type = g_strdup (event_cycle[s % G_N_ELEMENTS (event_cycle)]);
      g_assert_true (
          rc_store_append_event (store, call, ref->type, now + s, &ref->event_id, &error));
      g_assert_no_error (error);
      ref->call_id = g_strdup (call->call_id);
      ref->sequence = call->last_sequence;
      g_assert_cmpuint (ref->sequence, ==, s + 1);
      g_ptr_array_add (refs, ref);
    }
  }
  g_assert_true (rc_store_commit (store, &error));
  g_assert_no_error (error);
  return refs;
}

/* --- checks of received requests ------------------------------------------------------------ */

/* Our own Standard Webhooks check: HMAC-SHA256 over "id.timestamp.body" with the base64-decoded
 * secret, compared with each space-separated "v1,…" of the header. */
static gboolean
own_verify (const char *secret, const Received *r)
{
  g_autofree guint8 *key = NULL;
  g_autoptr (GHmac) hmac = NULL;
  g_autofree char *expected = NULL;
  g_auto (GStrv) offered = NULL;
  guint8 digest[32];
  gsize digest_length = sizeof digest;
  gsize key_length = 0;

  if (r->id == NULL || r->timestamp == NULL || r->signature == NULL)
    return FALSE;
  g_assert_true (g_str_has_prefix (secret, "whsec_"));
  key = g_base64_decode (secret + 6, &key_length);
  hmac = g_hmac_new (G_CHECKSUM_SHA256, key, key_length);
  g_hmac_update (hmac, (const guchar *)r->id, -1);
  g_hmac_update (hmac, (const guchar *)".", 1);
  g_hmac_update (hmac, (const guchar *)r->timestamp, -1);
  g_hmac_update (hmac, (const guchar *)".", 1);
  g_hmac_update (hmac, (const guchar *)r->body, r->body_length);
  g_hmac_get_digest (hmac, digest, &digest_length);
  {
    g_autofree char *b64 = g_base64_encode (digest, digest_length);

    expected = g_strconcat ("v1,", b64, NULL);
  }
  offered = g_strsplit (r->signature, " ", -1);
  return g_strv_contains ((const char *const *)offered, expected);
}

/* Each request: a POST of JSON, signed, timestamp close to its arrival, id = payload id. */
static void
assert_well_formed (const Hook *hook, GPtrArray *requests)
{
  for (guint i = 0; i < requests->len; i++) {
    Received *r = g_ptr_array_index (requests, i);
    g_autoptr (JsonNode) root = NULL;
    g_autoptr (GError) error = NULL;
    JsonObject *payload;
    gint64 timestamp;

    g_assert_cmpstr (r->method, ==, "POST");
    g_assert_nonnull (r->content_type);
    g_assert_true (g_str_has_prefix (r->content_type, "application/json"));
    if (!own_verify (hook->secret, r))
      g_error ("request %u to %s: bad signature %s (id %s, timestamp %s)", i, r->path, r->signature,
               r->id, r->timestamp);
    timestamp = g_ascii_strtoll (r->timestamp, NULL, 10);
    g_assert_cmpint (ABS (timestamp - r->at_real / G_USEC_PER_SEC), <=, 5);
    root = json_from_string (r->body, &error);
    g_assert_no_error (error);
    payload = json_node_get_object (root);
    g_assert_cmpstr (json_object_get_string_member (payload, "id"), ==, r->id);
    g_assert_true (g_str_has_prefix (r->id, "evt_"));
    g_assert_nonnull (json_object_get_string_member (payload, "type"));
    g_assert_nonnull (json_object_get_string_member (payload, "created_at"));
    g_assert_true (json_object_has_member (payload, "data"));
  }
}

static void
json_add_string (JsonBuilder *builder, const char *name, const char *value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_string_value (builder, value);
}

/* The independent verifier: node + the npm "standardwebhooks" package over @requests. */
static void
node_verify (const Hook *hook, GPtrArray *requests)
{
  g_autofree char *script
      = g_test_build_filename (G_TEST_DIST, "webhook-verifier", "verify.mjs", NULL);
  g_autofree char *modules = g_test_build_filename (G_TEST_DIST, "webhook-verifier", "node_modules",
                                                    "standardwebhooks", "package.json", NULL);
  g_autofree char *node = g_find_program_in_path ("node");
  g_autofree char *input_path = NULL;
  g_autofree char *json = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GError) error = NULL;
  static guint n_files;

  /* Set only by debian/rules: a package build has no npm registry to fetch the verifier from.
   * The signatures are still checked against our own HMAC and the known-answer vector. */
  if (g_getenv ("RC_NO_NPM_VERIFIER") != NULL) {
    g_test_message ("RC_NO_NPM_VERIFIER: the npm standardwebhooks check is left out");
    return;
  }
  if (node == NULL)
    g_error ("node is not installed: the independent signature check needs node and the npm "
             "package standardwebhooks (tools/install-deps installs both)");
  if (!g_file_test (modules, G_FILE_TEST_EXISTS))
    g_error ("%s is missing: run `npm ci --prefix tests/webhook-verifier` (tools/install-deps "
             "does)",
             modules);
  g_assert_cmpuint (requests->len, >, 0);

  json_builder_begin_object (builder);
  json_add_string (builder, "secret", hook->secret);
  json_builder_set_member_name (builder, "requests");
  json_builder_begin_array (builder);
  for (guint i = 0; i < requests->len; i++) {
    Received *r = g_ptr_array_index (requests, i);
    g_autofree char *b64 = g_base64_encode ((const guchar *)r->body, r->body_length);

    json_builder_begin_object (builder);
    json_builder_set_member_name (builder, "headers");
    json_builder_begin_object (builder);
    json_add_string (builder, "webhook-id", r->id);
    json_add_string (builder, "webhook-timestamp", r->timestamp);
    json_add_string (builder, "webhook-signature", r->signature);
    json_builder_end_object (builder);
    json_add_string (builder, "body_base64", b64);
    json_builder_end_object (builder);
  }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json = json_to_string (root, FALSE);
  input_path = g_strdup_printf ("%s/verify-%u.json", rc_harness_get_dir (fx.harness), ++n_files);
  g_assert_true (g_file_set_contents (input_path, json, -1, &error));
  g_assert_no_error (error);

  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                              &error, node, script, input_path, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_if_exited (process) || g_subprocess_get_exit_status (process) != 0)
    g_error ("the standardwebhooks verifier rejected the requests in %s:\n%s%s", input_path, out,
             err);
  g_test_message ("node standardwebhooks: %s", g_strstrip (out));
}

/* The payload member @name of a received request. */
static JsonNode *
payload_of (const Received *r)
{
  g_autoptr (GError) error = NULL;
  JsonNode *root = json_from_string (r->body, &error);

  g_assert_no_error (error);
  return root;
}

/* --- waiting -------------------------------------------------------------------------------- */

typedef struct {
  const char *tag;
  guint count;
} CountWait;

static gboolean
has_count (gpointer user_data)
{
  CountWait *wait = user_data;

  return receiver_count (wait->tag) >= wait->count;
}

static void
wait_count (const char *tag, guint count, guint seconds)
{
  CountWait wait = { tag, count };

  if (!rc_harness_wait_for (has_count, &wait, seconds))
    g_error ("receiver /%s: %u request(s) after %u s, expected %u", tag, receiver_count (tag),
             seconds, count);
}

/* Distinct webhook-ids received for @tag. */
static GHashTable *
distinct_ids (const char *tag)
{
  g_autoptr (GPtrArray) got = receiver_get (tag);
  GHashTable *ids = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < got->len; i++) {
    Received *r = g_ptr_array_index (got, i);

    if (r->id != NULL)
      g_hash_table_add (ids, r->id);
  }
  return ids;
}

typedef struct {
  const char *tag;
  guint count;
} DistinctWait;

static gboolean
has_distinct (gpointer user_data)
{
  DistinctWait *wait = user_data;
  g_autoptr (GHashTable) ids = distinct_ids (wait->tag);

  return g_hash_table_size (ids) >= wait->count;
}

typedef struct {
  Hook *hook;
  const char *event_id;
  const char *status;
  guint attempts; /* at least */
  JsonObject *delivery;
} DeliveryWait;

static gboolean
delivery_reached (gpointer user_data)
{
  DeliveryWait *wait = user_data;

  g_clear_pointer (&wait->delivery, json_object_unref);
  wait->delivery = find_delivery (wait->hook, wait->event_id);
  return g_str_equal (json_object_get_string_member (wait->delivery, "status"), wait->status)
         && json_array_get_length (json_object_get_array_member (wait->delivery, "attempts"))
                >= wait->attempts;
}

/* Waits for the delivery of @event_id to reach @status with at least @attempts attempts. */
static JsonObject *
wait_delivery (Hook *hook, const char *event_id, const char *status, guint attempts, guint seconds)
{
  DeliveryWait wait = { hook, event_id, status, attempts, NULL };

  if (!rc_harness_wait_for (delivery_reached, &wait, seconds)) {
    g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), wait.delivery);
    g_autofree char *text = json_to_string (node, TRUE);

    g_error ("delivery of %s did not become %s with %u attempt(s): %s", event_id, status, attempts,
             text);
  }
  return wait.delivery;
}

static JsonObject *
attempt_at (JsonObject *delivery, guint i)
{
  return json_array_get_object_element (json_object_get_array_member (delivery, "attempts"), i);
}

static guint
n_attempts (JsonObject *delivery)
{
  return json_array_get_length (json_object_get_array_member (delivery, "attempts"));
}

static gboolean
hook_disabled (gpointer user_data)
{
  g_autoptr (RcReply) reply = get_hook (user_data);

  return !json_object_get_boolean_member (rc_reply_data_object (reply), "enabled");
}

/* A quick request with a short deadline: is the daemon's main loop free? */
static gboolean
daemon_answers_within (guint seconds)
{
  g_autoptr (SoupSession) session = soup_session_new_with_options ("timeout", seconds, NULL);
  g_autofree char *url = g_strconcat (fx.base_url, "v1/health", NULL);
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);
  g_autoptr (GBytes) bytes = soup_session_send_and_read (session, msg, NULL, NULL);

  return bytes != NULL && soup_message_get_status (msg) == 200;
}

/* --- cases ---------------------------------------------------------------------------------- */

static void
test_known_answer (void)
{
  /* The Standard Webhooks test vector (standard-webhooks/libraries: secret, id, timestamp, body
   * → signature); the same value that `openssl dgst -sha256 -mac HMAC` gives. */
  g_autofree char *signature
      = rc_relay_sign ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                       1614265330, "{\"test\": 2432232314}");
  Received r = { .id = "msg_p5jXN8AQM9LWM0D4loKWxJek",
                 .timestamp = "1614265330",
                 .signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
                 .body = "{\"test\": 2432232314}",
                 .body_length = 20 };

  g_assert_cmpstr (signature, ==, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  g_assert_true (own_verify ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &r));
  /* Malformed secrets sign nothing. */
  g_assert_null (rc_relay_sign ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "a", 1, "b"));
  g_assert_null (rc_relay_sign ("whsec_", "a", 1, "b"));
}

static void
test_registration_api (void)
{
  g_autoptr (Hook) hook = create_hook ("registration", NULL);
  g_autofree char *path = g_strconcat ("/v1/webhooks/", hook->id, NULL);
  g_autofree char *deliveries_path = g_strconcat (path, "/deliveries", NULL);
  g_autofree char *test_path = g_strconcat (path, "/test", NULL);
  g_autofree char *redeliver_unknown
      = g_strconcat (path, "/deliveries/dlv_00000000000000000000000000/redeliver", NULL);
  const char *bad_urls[] = {
    "ftp://example.com/hook",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "mailto:ops@example.com",
    "http://user:secret@example.com/",
    "https://user@example.com/hook",
    "not a url",
    "example.com/hook",
    "http://[::1/hook",
    "",
    "http://",
    "/relative/path",
  };
  const char *bad_events[] = {
    "[]", "[\"call.bogus\"]", "\"call.missed\"", "[1]", "\"all\"", "[\"webhook.test\"]", "null",
    "{}", "[\"call.*\", 2]",
  };

  /* The secret is shown at creation only. */
  {
    g_autoptr (RcReply) one = api_ok ("GET", path, NULL, 200);
    g_autoptr (RcReply) list = api_ok ("GET", "/v1/webhooks", NULL, 200);
    JsonArray *hooks = rc_reply_data_array (list);
    gboolean found = FALSE;

    g_assert_false (json_object_has_member (rc_reply_data_object (one), "secret"));
    g_assert_cmpstr (json_object_get_string_member (rc_reply_data_object (one), "events"), ==,
                     "call.*");
    for (guint i = 0; i < json_array_get_length (hooks); i++) {
      JsonObject *h = json_array_get_object_element (hooks, i);

      g_assert_false (json_object_has_member (h, "secret"));
      found |= g_str_equal (json_object_get_string_member (h, "id"), hook->id);
    }
    g_assert_true (found);
  }

  for (guint i = 0; i < G_N_ELEMENTS (bad_urls); i++) {
    g_autoptr (JsonBuilder) builder = json_builder_new ();
    g_autoptr (JsonNode) node = NULL;
    g_autofree char *body = NULL;
    g_autoptr (RcReply) created = NULL;
    g_autoptr (RcReply) patched = NULL;

    json_builder_begin_object (builder);
    json_add_string (builder, "url", bad_urls[i]);
    json_builder_end_object (builder);
    node = json_builder_get_root (builder);
    body = json_to_string (node, FALSE);
    created = api ("POST", "/v1/webhooks", body);
    if (created->status != 422)
      g_error ("POST url %s: expected 422 invalid_url, got %u %s", bad_urls[i], created->status,
               created->body);
    assert_error_field (created, 422, "invalid_url", "url");
    patched = api ("PATCH", path, body);
    assert_error_field (patched, 422, "invalid_url", "url");
  }
  {
    g_autoptr (RcReply) missing = api ("POST", "/v1/webhooks", "{\"events\":\"call.*\"}");
    g_autoptr (RcReply) number = api ("POST", "/v1/webhooks", "{\"url\":42}");

    assert_error_field (missing, 400, "invalid_parameter", "url");
    assert_error_field (number, 400, "invalid_parameter", "url");
  }
  for (guint i = 0; i < G_N_ELEMENTS (bad_events); i++) {
    g_autofree char *body = g_strdup_printf (
        "{\"url\":\"http://127.0.0.1:%u/registration\",\"events\":%s}", rx.port, bad_events[i]);
    g_autofree char *patch = g_strdup_printf ("{\"events\":%s}", bad_events[i]);
    g_autoptr (RcReply) created = api ("POST", "/v1/webhooks", body);
    g_autoptr (RcReply) patched = api ("PATCH", path, patch);

    if (created->status != 400)
      g_error ("events %s: expected 400, got %u %s", bad_events[i], created->status, created->body);
    assert_error_field (created, 400, "invalid_parameter", "events");
    assert_error_field (patched, 400, "invalid_parameter", "events");
  }
  {
    g_autofree char *long_text = g_strnfill (257, 'd');
    g_autofree char *body = g_strdup_printf ("{\"url\":\"https://example.com/h\",\"description\":"
                                             "\"%s\"}",
                                             long_text);
    g_autoptr (RcReply) too_long = api ("POST", "/v1/webhooks", body);
    g_autoptr (RcReply) unknown
        = api ("POST", "/v1/webhooks", "{\"url\":\"https://example.com/h\",\"secret\":\"x\"}");
    g_autoptr (RcReply) enabled = api ("PATCH", path, "{\"enabled\":\"yes\"}");

    assert_error_field (too_long, 400, "invalid_parameter", "description");
    assert_error_field (unknown, 400, "invalid_parameter", "secret");
    assert_error_field (enabled, 400, "invalid_parameter", "enabled");
  }

  /* Events: a list is de-duplicated and kept; PATCH changes url, events and enabled. */
  {
    g_autoptr (RcReply) patched = api_ok (
        "PATCH", path,
        "{\"events\":[\"call.missed\",\"call.ringing\",\"call.missed\"],\"enabled\":false,"
        "\"url\":\"https://example.com/other\"}",
        200);
    JsonObject *data = rc_reply_data_object (patched);
    JsonArray *events = json_object_get_array_member (data, "events");

    g_assert_cmpuint (json_array_get_length (events), ==, 2);
    g_assert_cmpstr (json_array_get_string_element (events, 0), ==, "call.missed");
    g_assert_cmpstr (json_array_get_string_element (events, 1), ==, "call.ringing");
    g_assert_false (json_object_get_boolean_member (data, "enabled"));
    g_assert_nonnull (rc_json_string_or_null (data, "disabled_reason"));
    g_assert_cmpstr (json_object_get_string_member (data, "url"), ==, "https://example.com/other");
  }
  {
    g_autofree char *url = receiver_url ("registration");
    g_autofree char *body
        = g_strdup_printf ("{\"events\":\"call.*\",\"enabled\":true,\"url\":\"%s\"}", url);
    g_autoptr (RcReply) patched = api_ok ("PATCH", path, body, 200);
    JsonObject *data = rc_reply_data_object (patched);

    g_assert_cmpstr (json_object_get_string_member (data, "events"), ==, "call.*");
    g_assert_true (json_object_get_boolean_member (data, "enabled"));
    g_assert_null (rc_json_string_or_null (data, "disabled_reason"));
  }

  /* Query parameters of the delivery log. */
  {
    const char *bad[][2]
        = { { "status=sent", "status" },    { "page=0", "page" },   { "per_page=0", "per_page" },
            { "per_page=101", "per_page" }, { "page=abc", "page" }, { "colour=red", "colour" } };

    for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
      g_autofree char *p = g_strconcat (deliveries_path, "?", bad[i][0], NULL);
      g_autoptr (RcReply) reply = api ("GET", p, NULL);

      assert_error_field (reply, 400, "invalid_parameter", bad[i][1]);
    }
  }

  /* 404 for unknown webhooks and deliveries, on every route. */
  {
    const char *unknown[][3] = {
      { "GET", "/v1/webhooks/wh_00000000000000000000000000", NULL },
      { "PATCH", "/v1/webhooks/wh_00000000000000000000000000", "{}" },
      { "DELETE", "/v1/webhooks/wh_00000000000000000000000000", NULL },
      { "GET", "/v1/webhooks/wh_00000000000000000000000000/deliveries", NULL },
      { "POST", "/v1/webhooks/wh_00000000000000000000000000/test", NULL },
      { "POST", "/v1/webhooks/wh_00000000000000000000000000/deliveries/dlv_x/redeliver", NULL },
      { "POST", redeliver_unknown, NULL },
    };

    for (guint i = 0; i < G_N_ELEMENTS (unknown); i++) {
      g_autoptr (RcReply) reply = api (unknown[i][0], unknown[i][1], unknown[i][2]);

      if (reply->status != 404)
        g_error ("%s %s: expected 404, got %u %s", unknown[i][0], unknown[i][1], reply->status,
                 reply->body);
      rc_reply_assert_error (reply, 404, "not_found");
    }
  }

  /* 401 without a key (or with a wrong one), on every route. */
  {
    const char *routes[][2] = {
      { "POST", "/v1/webhooks" },
      { "GET", "/v1/webhooks" },
      { "GET", path },
      { "PATCH", path },
      { "DELETE", path },
      { "GET", deliveries_path },
      { "POST", test_path },
      { "POST", redeliver_unknown },
      { "GET", "/metrics" },
    };

    for (guint i = 0; i < G_N_ELEMENTS (routes); i++) {
      const char *body = g_str_equal (routes[i][0], "GET") || g_str_equal (routes[i][0], "DELETE")
                             ? NULL
                             : "{\"url\":\"https://example.com/x\"}";
      g_autoptr (RcReply) none
          = rc_api_client_request (fx.client, routes[i][0], routes[i][1], NULL,
                                   body ? "application/json" : NULL, body, -1, NULL);
      g_autoptr (RcReply) wrong = rc_api_client_request (
          fx.client, routes[i][0], routes[i][1], "ak_0000000000000000000000000000000000000000",
          body ? "application/json" : NULL, body, -1, NULL);

      if (none->status != 401)
        g_error ("%s %s without a key: %u %s", routes[i][0], routes[i][1], none->status,
                 none->body);
      rc_reply_assert_error (none, 401, "unauthorized");
      rc_reply_assert_error (wrong, 401, "unauthorized");
    }
  }

  /* The test event: queued (202), delivered signed, no sequence. */
  {
    g_autoptr (RcReply) queued = api_ok ("POST", test_path, NULL, 202);
    JsonObject *delivery = rc_reply_data_object (queued);
    g_autofree char *event_id = g_strdup (json_object_get_string_member (delivery, "event_id"));
    g_autoptr (GPtrArray) got = NULL;
    g_autoptr (JsonNode) payload = NULL;
    g_autoptr (JsonObject) done = NULL;

    g_assert_cmpstr (json_object_get_string_member (delivery, "event_type"), ==, "webhook.test");
    g_assert_true (json_object_get_null_member (delivery, "sequence"));
    wait_count ("registration", 1, RC_HARNESS_TIMEOUT);
    got = receiver_get ("registration");
    assert_well_formed (hook, got);
    g_assert_cmpstr (((Received *)got->pdata[0])->id, ==, event_id);
    payload = payload_of (got->pdata[0]);
    g_assert_cmpstr (json_object_get_string_member (json_node_get_object (payload), "type"), ==,
                     "webhook.test");
    g_assert_false (json_object_has_member (json_node_get_object (payload), "sequence"));
    done = wait_delivery (hook, event_id, "delivered", 1, RC_HARNESS_TIMEOUT);
  }

  /* DELETE: gone from the list, 404 afterwards. */
  {
    g_autoptr (RcReply) deleted = api_ok ("DELETE", path, NULL, 200);
    g_autoptr (RcReply) again = api ("GET", path, NULL);

    rc_reply_assert_error (again, 404, "not_found");
  }
}

/* SPEC §3.6: the OpenAPI document covers the webhook routes; real answers match it. */
static void
test_openapi_documents_webhooks (void)
{
  g_autoptr (Hook) hook = create_hook ("openapi", NULL);
  g_autofree char *path = g_strconcat ("/v1/webhooks/", hook->id, NULL);
  g_autofree char *deliveries_path = g_strconcat (path, "/deliveries", NULL);
  g_autofree char *test_path = g_strconcat (path, "/test", NULL);
  g_autoptr (RcReply) list = api_ok ("GET", "/v1/webhooks", NULL, 200);
  g_autoptr (RcReply) one = api_ok ("GET", path, NULL, 200);
  g_autoptr (RcReply) patched = api_ok ("PATCH", path, "{\"description\":\"x\"}", 200);
  g_autoptr (RcReply) queued = api_ok ("POST", test_path, NULL, 202);
  g_autoptr (RcReply) log = NULL;
  g_autoptr (RcReply) bad = api ("POST", "/v1/webhooks", "{\"url\":\"ftp://x/\"}");
  g_autoptr (RcReply) missing = api ("GET", "/v1/webhooks/wh_nope", NULL);

  wait_count ("openapi", 1, RC_HARNESS_TIMEOUT);
  log = deliveries (hook, NULL);
  rc_api_client_queue_documented (fx.client, "GET", "/v1/webhooks", list);
  rc_api_client_queue_documented (fx.client, "GET", "/v1/webhooks/{webhook_id}", one);
  rc_api_client_queue_documented (fx.client, "PATCH", "/v1/webhooks/{webhook_id}", patched);
  rc_api_client_queue_documented (fx.client, "POST", "/v1/webhooks/{webhook_id}/test", queued);
  rc_api_client_queue_documented (fx.client, "GET", "/v1/webhooks/{webhook_id}/deliveries", log);
  rc_api_client_queue_documented (fx.client, "POST", "/v1/webhooks", bad);
  rc_api_client_queue_documented (fx.client, "GET", "/v1/webhooks/{webhook_id}", missing);
  delete_hook (hook);
  rc_api_client_flush_documented (fx.client);
}

static void
test_delivered_signed (void)
{
  g_autoptr (Hook) all = create_hook ("signed-all", NULL);
  g_autoptr (Hook) missed_only = create_hook ("signed-missed", "[\"call.missed\"]");
  g_autoptr (GPtrArray) events = NULL;
  g_autoptr (GPtrArray) got = NULL;
  g_autoptr (GPtrArray) got_missed = NULL;
  g_autoptr (JsonObject) delivery = NULL;
  GHashTable *by_call = g_hash_table_new (g_str_hash, g_str_equal);

  receiver_set ("signed-all", "200");
  /* 3 calls with ringing, connected, ended, missed (types cycle from initiating). */
  events = store_events (3, 5);
  kick (all);
  wait_count ("signed-all", events->len, RC_HARNESS_TIMEOUT);
  wait_count ("signed-missed", 3, RC_HARNESS_TIMEOUT);
  got = receiver_get ("signed-all");
  got_missed = receiver_get ("signed-missed");
  g_assert_cmpuint (got->len, ==, events->len); /* no duplicate without a failure */
  assert_well_formed (all, got);
  assert_well_formed (missed_only, got_missed);

  /* Every event arrived once, with the stored payload; per call in sequence order. */
  for (guint i = 0; i < got->len; i++) {
    Received *r = g_ptr_array_index (got, i);
    g_autoptr (JsonNode) root = payload_of (r);
    JsonObject *payload = json_node_get_object (root);
    const char *call_id = json_object_get_string_member (
        json_object_get_object_member (payload, "data"), "call_id");
    guint sequence = (guint)json_object_get_int_member (payload, "sequence");
    guint previous = GPOINTER_TO_UINT (g_hash_table_lookup (by_call, call_id));
    gboolean known = FALSE;

    g_assert_cmpuint (sequence, ==, previous + 1);
    g_hash_table_insert (by_call, (gpointer)g_intern_string (call_id), GUINT_TO_POINTER (sequence));
    for (guint e = 0; e < events->len; e++) {
      EventRef *ref = g_ptr_array_index (events, e);

      if (g_str_equal (ref->event_id, r->id)) {
        known = TRUE;
        g_assert_cmpstr (ref->call_id, ==, call_id);
        g_assert_cmpuint (ref->sequence, ==, sequence);
        g_assert_cmpstr (ref->type, ==, json_object_get_string_member (payload, "type"));
      }
    }
    g_assert_true (known);
  }
  g_assert_cmpuint (g_hash_table_size (by_call), ==, 3);
  g_hash_table_unref (by_call);

  /* Subscription: only call.missed (the 5th event of each call: sequence 5). */
  g_assert_cmpuint (got_missed->len, ==, 3);
  for (guint i = 0; i < got_missed->len; i++) {
    g_autoptr (JsonNode) root = payload_of (got_missed->pdata[i]);

    g_assert_cmpstr (json_object_get_string_member (json_node_get_object (root), "type"), ==,
                     "call.missed");
    g_assert_cmpint (json_object_get_int_member (json_node_get_object (root), "sequence"), ==, 5);
  }

  /* The delivery log: delivered, one attempt with 200. */
  delivery = wait_delivery (all, ((EventRef *)events->pdata[0])->event_id, "delivered", 1,
                            RC_HARNESS_TIMEOUT);
  g_assert_cmpuint (n_attempts (delivery), ==, 1);
  g_assert_cmpint (json_object_get_int_member (attempt_at (delivery, 0), "http_status"), ==, 200);
  g_assert_null (rc_json_string_or_null (attempt_at (delivery, 0), "error"));
  g_assert_cmpint (json_object_get_int_member (delivery, "sequence"), ==, 1);
  g_assert_true (json_object_get_null_member (delivery, "next_attempt_at"));

  node_verify (all, got);
  node_verify (missed_only, got_missed);
  delete_hook (all);
  delete_hook (missed_only);
}

/* Arrival gaps between attempts @i-1 and @i of the requests with @id. */
static void
assert_schedule (GPtrArray *requests, const guint *delays, guint n)
{
  g_assert_cmpuint (requests->len, ==, n);
  for (guint i = 1; i < n; i++) {
    Received *before = g_ptr_array_index (requests, i - 1);
    Received *after = g_ptr_array_index (requests, i);
    gint64 gap = after->at - before->at;
    gint64 low = (gint64)(delays[i] * (1 - JITTER) * G_USEC_PER_SEC) - 50000;
    gint64 high = (gint64)(delays[i] * (1 + JITTER) * G_USEC_PER_SEC) + SLACK_US;

    if (gap < low || gap > high)
      g_error ("attempt %u came %.3f s after attempt %u, expected %.2f to %.2f s", i + 1, gap / 1e6,
               i, low / 1e6, high / 1e6);
  }
}

static void
test_schedule_and_redeliver (void)
{
  const guint delays[] = { 0, 1, 1, 2 };
  g_autoptr (Hook) hook = create_hook ("schedule", NULL);
  g_autoptr (GPtrArray) events = NULL;
  g_autoptr (GPtrArray) got = NULL;
  g_autoptr (JsonObject) failed = NULL;
  g_autoptr (JsonObject) delivered = NULL;
  g_autoptr (RcReply) queued = NULL;
  g_autofree char *redeliver = NULL;
  const char *event_id;

  receiver_set ("schedule", "500");
  events = store_events (1, 1);
  event_id = ((EventRef *)events->pdata[0])->event_id;
  kick (hook);
  failed = wait_delivery (hook, event_id, "failed", 4, 15);
  got = receiver_get ("schedule");
  /* The schedule: 4 attempts, then failed for good; the same webhook-id every time. */
  assert_schedule (got, delays, G_N_ELEMENTS (delays));
  for (guint i = 0; i < got->len; i++) {
    Received *r = g_ptr_array_index (got, i);

    g_assert_cmpstr (r->id, ==, event_id);
    g_assert_cmpstr (r->body, ==, ((Received *)got->pdata[0])->body);
  }
  g_assert_cmpuint (n_attempts (failed), ==, 4);
  for (guint i = 0; i < 4; i++) {
    g_assert_cmpint (json_object_get_int_member (attempt_at (failed, i), "http_status"), ==, 500);
    g_assert_cmpstr (rc_json_string_or_null (attempt_at (failed, i), "error"), ==, "http_status");
  }
  g_assert_true (json_object_get_null_member (failed, "next_attempt_at"));
  rc_harness_spin (500);
  g_assert_cmpuint (receiver_count ("schedule"), ==, 4);

  /* A redelivery: a new series with the same webhook-id; the attempt log keeps the old ones. */
  receiver_set ("schedule", "200");
  redeliver = g_strdup_printf ("/v1/webhooks/%s/deliveries/%s/redeliver", hook->id,
                               json_object_get_string_member (failed, "id"));
  queued = api_ok ("POST", redeliver, NULL, 202);
  g_assert_cmpstr (json_object_get_string_member (rc_reply_data_object (queued), "status"), ==,
                   "pending");
  delivered = wait_delivery (hook, event_id, "delivered", 5, RC_HARNESS_TIMEOUT);
  g_assert_cmpuint (n_attempts (delivered), ==, 5);
  g_assert_cmpint (json_object_get_int_member (attempt_at (delivered, 4), "http_status"), ==, 200);
  g_clear_pointer (&got, g_ptr_array_unref);
  got = receiver_get ("schedule");
  g_assert_cmpuint (got->len, ==, 5);
  g_assert_cmpstr (((Received *)got->pdata[4])->id, ==, event_id);
  g_assert_cmpstr (((Received *)got->pdata[4])->body, ==, ((Received *)got->pdata[0])->body);
  /* Signed afresh (its own timestamp), all verify. */
  assert_well_formed (hook, got);
  node_verify (hook, got);
  delete_hook (hook);
}

static void
test_retry_after (void)
{
  g_autoptr (Hook) h503 = create_hook ("ra503", NULL);
  g_autoptr (Hook) h429 = create_hook ("ra429", NULL);
  g_autoptr (GPtrArray) events = NULL;
  g_autoptr (GPtrArray) got503 = NULL;
  g_autoptr (GPtrArray) got429 = NULL;
  gint64 gap;

  /* The schedule would retry after 1 s: Retry-After asks for 3. */
  receiver_set ("ra503", "503:3");
  receiver_set ("ra429", "429:3");
  events = store_events (1, 1);
  kick (h503);
  wait_count ("ra503", 2, 10);
  wait_count ("ra429", 2, 10);
  receiver_set ("ra503", "200");
  receiver_set ("ra429", "200");
  got503 = receiver_get ("ra503");
  got429 = receiver_get ("ra429");
  gap = ((Received *)got503->pdata[1])->at - ((Received *)got503->pdata[0])->at;
  if (gap < 3 * G_USEC_PER_SEC - 50000 || gap > 3 * G_USEC_PER_SEC + SLACK_US)
    g_error ("503 with Retry-After: 3: the retry came after %.3f s", gap / 1e6);
  gap = ((Received *)got429->pdata[1])->at - ((Received *)got429->pdata[0])->at;
  if (gap < 3 * G_USEC_PER_SEC - 50000 || gap > 3 * G_USEC_PER_SEC + SLACK_US)
    g_error ("429 with Retry-After: 3: the retry came after %.3f s", gap / 1e6);
  g_assert_cmpstr (((Received *)got503->pdata[1])->id, ==, ((Received *)got503->pdata[0])->id);
  {
    g_autoptr (JsonObject) d = wait_delivery (h503, ((EventRef *)events->pdata[0])->event_id,
                                              "delivered", 2, RC_HARNESS_TIMEOUT);

    g_assert_cmpint (json_object_get_int_member (attempt_at (d, 0), "http_status"), ==, 503);
  }
  delete_hook (h503);
  delete_hook (h429);
}

static void
test_gone_disables (void)
{
  g_autoptr (Hook) hook = create_hook ("gone", NULL);
  g_autoptr (GPtrArray) events = NULL;
  g_autoptr (GPtrArray) more = NULL;
  g_autoptr (JsonObject) delivery = NULL;
  g_autoptr (RcReply) reply = NULL;
  JsonObject *data;

  receiver_set ("gone", "410");
  events = store_events (1, 1);
  kick (hook);
  delivery = wait_delivery (hook, ((EventRef *)events->pdata[0])->event_id, "failed", 1,
                            RC_HARNESS_TIMEOUT);
  g_assert_cmpuint (n_attempts (delivery), ==, 1);
  g_assert_cmpint (json_object_get_int_member (attempt_at (delivery, 0), "http_status"), ==, 410);
  reply = get_hook (hook);
  data = rc_reply_data_object (reply);
  g_assert_false (json_object_get_boolean_member (data, "enabled"));
  g_assert_nonnull (rc_json_string_or_null (data, "disabled_reason"));
  /* Nothing more is sent to a disabled endpoint, and new events queue nothing for it. */
  {
    g_autoptr (Hook) other = create_hook ("gone-witness", NULL);

    more = store_events (1, 2);
    kick (other);
    wait_count ("gone-witness", 2, RC_HARNESS_TIMEOUT);
    delete_hook (other);
  }
  g_assert_cmpuint (receiver_count ("gone"), ==, 1);
  g_assert_cmpuint (deliveries_total (hook, "pending"), ==, 0);
  delete_hook (hook);
}

static void
test_redirects_not_followed (void)
{
  g_autoptr (Hook) h301 = create_hook ("r301", NULL);
  g_autoptr (Hook) h308 = create_hook ("r308", NULL);
  g_autoptr (GPtrArray) events = NULL;
  const char *event_id;

  receiver_set ("r301", "301");
  receiver_set ("r308", "308");
  events = store_events (1, 1);
  event_id = ((EventRef *)events->pdata[0])->event_id;
  kick (h301);
  {
    g_autoptr (JsonObject) d301 = wait_delivery (h301, event_id, "failed", 4, 15);
    g_autoptr (JsonObject) d308 = wait_delivery (h308, event_id, "failed", 4, 15);

    for (guint i = 0; i < 4; i++) {
      g_assert_cmpint (json_object_get_int_member (attempt_at (d301, i), "http_status"), ==, 301);
      g_assert_cmpint (json_object_get_int_member (attempt_at (d308, i), "http_status"), ==, 308);
      g_assert_cmpstr (rc_json_string_or_null (attempt_at (d301, i), "error"), ==, "redirect");
    }
  }
  g_assert_cmpuint (receiver_count ("r301"), ==, 4);
  g_assert_cmpuint (receiver_count ("r308"), ==, 4);
  g_assert_cmpuint (receiver_count ("target"), ==, 0);
  delete_hook (h301);
  delete_hook (h308);
}

/* An attempt that ends by the deadline: logged as "timeout", about attempt-timeout long. */
static void
assert_timed_out (JsonObject *attempt)
{
  gint64 ms = json_object_get_int_member (attempt, "duration_ms");

  g_assert_cmpstr (rc_json_string_or_null (attempt, "error"), ==, "timeout");
  g_assert_true (json_object_get_null_member (attempt, "http_status"));
  if (ms < DAEMON_TIMEOUT * 1000 - 100 || ms > DAEMON_TIMEOUT * 1000 + 1500)
    g_error ("a timed-out attempt lasted %" G_GINT64_FORMAT " ms, the deadline is %u s", ms,
             DAEMON_TIMEOUT);
}

static void
test_deadline_never_answers (void)
{
  g_autoptr (Hook) hook = create_hook ("hang", NULL);
  g_autoptr (GPtrArray) events = NULL;
  g_autoptr (JsonObject) d = NULL;
  g_autoptr (GPtrArray) got = NULL;
  gint64 gap;

  receiver_set ("hang", "hang");
  events = store_events (1, 1);
  kick (hook);
  wait_count ("hang", 1, RC_HARNESS_TIMEOUT);
  g_assert_true (daemon_answers_within (2));
  d = wait_delivery (hook, ((EventRef *)events->pdata[0])->event_id, "pending", 2, 15);
  assert_timed_out (attempt_at (d, 0));
  assert_timed_out (attempt_at (d, 1));
  got = receiver_get ("hang");
  gap = ((Received *)got->pdata[1])->at - ((Received *)got->pdata[0])->at;
  /* deadline, then the schedule's 1 s. */
  g_assert_cmpint (gap, >=, (DAEMON_TIMEOUT + 0.9) * G_USEC_PER_SEC - 100000);
  g_assert_cmpint (gap, <=, (DAEMON_TIMEOUT + 1.1) * G_USEC_PER_SEC + 1500000);
  delete_hook (hook);
}

static void
test_deadline_drip (void)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/drip", rx.drip_port);
  g_autoptr (Hook) hook = create_hook_url ("drip", url, NULL);
  g_autoptr (GPtrArray) events = NULL;
  g_autoptr (JsonObject) d = NULL;

  /* The status line, one byte a second: an idle timeout never fires, the deadline must. */
  events = store_events (1, 1);
  kick (hook);
  d = wait_delivery (hook, ((EventRef *)events->pdata[0])->event_id, "pending", 2, 15);
  assert_timed_out (attempt_at (d, 0));
  assert_timed_out (attempt_at (d, 1));
  g_assert_true (daemon_answers_within (2));
  delete_hook (hook);
}

static void
test_deadline_drip_body (void)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/drip-body", rx.drip_body_port);
  g_autoptr (Hook) hook = create_hook_url ("drip-body", url, NULL);
  g_autoptr (GPtrArray) events = NULL;
  gint64 started;
  gboolean answered;

  /* A complete 200 header, then the body one byte a second: the attempt still ends by its
   * deadline, and the daemon keeps serving meanwhile. */
  events = store_events (1, 1);
  kick (hook);
  started = g_get_monotonic_time ();
  while (rx.drip_body_connections == 0 && g_get_monotonic_time () - started < 5 * G_USEC_PER_SEC)
    rc_harness_spin (50);
  g_assert_cmpuint (rx.drip_body_connections, >=, 1);
  rc_harness_spin ((DAEMON_TIMEOUT + 1) * 1000);
  answered = daemon_answers_within (3);
  if (!answered)
    g_error ("the daemon stopped answering after an attempt whose answer drips its body: its "
             "main loop is blocked");
  {
    g_autoptr (JsonObject) d = find_delivery (hook, ((EventRef *)events->pdata[0])->event_id);

    g_assert_cmpuint (n_attempts (d), >=, 1);
    g_assert_cmpint (json_object_get_int_member (attempt_at (d, 0), "duration_ms"), <=,
                     DAEMON_TIMEOUT * 1000 + 1500);
  }
  delete_hook (hook);
}

static void
test_reset_mid_response (void)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/reset", rx.reset_port);
  g_autoptr (Hook) hook = create_hook_url ("reset", url, NULL);
  g_autoptr (GPtrArray) events = NULL;
  g_autoptr (JsonObject) d = NULL;

  events = store_events (1, 1);
  kick (hook);
  d = wait_delivery (hook, ((EventRef *)events->pdata[0])->event_id, "pending", 2, 10);
  for (guint i = 0; i < 2; i++) {
    JsonObject *attempt = attempt_at (d, i);

    g_assert_true (json_object_get_null_member (attempt, "http_status"));
    g_assert_cmpstr (rc_json_string_or_null (attempt, "error"), ==, "connection_reset");
    g_assert_cmpint (json_object_get_int_member (attempt, "duration_ms"), <, 1000);
  }
  g_assert_cmpuint (rx.reset_connections, >=, 2);
  delete_hook (hook);
}

static void
test_huge_response (void)
{
  g_autoptr (Hook) hook = create_hook ("huge", NULL);
  g_autoptr (GPtrArray) events = NULL;
  g_autoptr (JsonObject) d = NULL;
  gint64 written;

  receiver_set ("huge", "huge");
  events = store_events (1, 1);
  kick (hook);
  d = wait_delivery (hook, ((EventRef *)events->pdata[0])->event_id, "delivered", 1, 10);
  g_assert_cmpint (json_object_get_int_member (attempt_at (d, 0), "http_status"), ==, 200);
  g_assert_cmpint (json_object_get_int_member (attempt_at (d, 0), "duration_ms"), <,
                   DAEMON_TIMEOUT * 1000);
  g_assert_true (daemon_answers_within (2));
  /* The daemon read a little and hung up: far less than the gigabyte offered was taken. */
  rc_harness_spin (300);
  g_mutex_lock (&rx.lock);
  written = rx.huge_written;
  g_mutex_unlock (&rx.lock);
  g_test_message ("huge answer: %" G_GINT64_FORMAT " bytes handed to the socket", written);
  g_assert_cmpint (written, <, 64 * 1024 * 1024);
  delete_hook (hook);
}

static void
test_listener_down (void)
{
  guint port = closed_port ();
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/down", port);
  g_autoptr (Hook) hook = create_hook_url ("down", url, NULL);
  g_autoptr (GPtrArray) events = NULL;
  g_autoptr (JsonObject) d = NULL;

  events = store_events (1, 1);
  kick (hook);
  d = wait_delivery (hook, ((EventRef *)events->pdata[0])->event_id, "failed", 4, 15);
  for (guint i = 0; i < 4; i++) {
    g_assert_cmpstr (rc_json_string_or_null (attempt_at (d, i), "error"), ==, "connection_refused");
    g_assert_true (json_object_get_null_member (attempt_at (d, i), "http_status"));
  }
  delete_hook (hook);
}

static void
test_disable_after (void)
{
  g_autoptr (Hook) hook = create_hook ("disable", NULL);
  g_autoptr (RcReply) reply = NULL;
  gint64 first;
  gint64 deadline = g_get_monotonic_time () + 25 * G_USEC_PER_SEC;
  JsonObject *data;
  guint count;

  /* Failing without a break for disable-after seconds disables the endpoint. */
  receiver_set ("disable", "500");
  first = g_get_monotonic_time ();
  while (!hook_disabled (hook)) {
    g_autoptr (GPtrArray) events = store_events (1, 1);

    g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    kick (hook);
    rc_harness_spin (1000);
  }
  g_assert_cmpint (g_get_monotonic_time () - first, >=,
                   (DAEMON_DISABLE_AFTER - 1) * G_USEC_PER_SEC);
  reply = get_hook (hook);
  data = rc_reply_data_object (reply);
  g_assert_false (json_object_get_boolean_member (data, "enabled"));
  g_assert_true (
      g_str_has_prefix (rc_json_string_or_null (data, "disabled_reason"), "every attempt failed"));
  g_assert_nonnull (rc_json_string_or_null (data, "failing_since"));
  count = receiver_count ("disable");
  rc_harness_spin (2500);
  g_assert_cmpuint (receiver_count ("disable"), <=, count + DAEMON_MAX_CONNECTIONS);

  /* Enabled again through the API, the pending deliveries go out. */
  receiver_set ("disable", "200");
  {
    g_autofree char *path = g_strconcat ("/v1/webhooks/", hook->id, NULL);
    g_autoptr (RcReply) enabled = api_ok ("PATCH", path, "{\"enabled\":true}", 200);
    gboolean drained = FALSE;
    gint64 until = g_get_monotonic_time () + RC_HARNESS_TIMEOUT * G_USEC_PER_SEC;

    g_assert_true (json_object_get_null_member (rc_reply_data_object (enabled), "failing_since"));
    while (!drained && g_get_monotonic_time () < until) {
      drained = deliveries_total (hook, "pending") == 0;
      if (!drained)
        rc_harness_spin (100);
    }
    g_assert_true (drained);
  }
  delete_hook (hook);
}

/* Per call: the sequences answered 2xx arrive in order 1, 2, 3… without a gap, and no event is
 * sent before the previous one was delivered; with @n_calls, every call has @per_call. */
static void
assert_call_order_full (GPtrArray *got, guint n_calls, guint per_call, gboolean replays)
{
  g_autoptr (GHashTable) delivered = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < got->len; i++) {
    Received *r = g_ptr_array_index (got, i);
    g_autoptr (JsonNode) root = payload_of (r);
    JsonObject *payload = json_node_get_object (root);
    const char *call_id = json_object_get_string_member (
        json_object_get_object_member (payload, "data"), "call_id");
    guint sequence = (guint)json_object_get_int_member (payload, "sequence");
    guint done = GPOINTER_TO_UINT (g_hash_table_lookup (delivered, call_id));

    /* A request is either a repeat of the last delivered one (a lost answer) or the next. After
     * a crash (@replays) it may also repeat earlier ones whose outcome was not written yet: they
     * go again in order. Never one past the next: that one was not delivered. */
    if (sequence > done + 1 || (!replays && sequence != done + 1 && sequence != done))
      g_error ("call %s: sequence %u arrived after %u was delivered", call_id, sequence, done);
    if (r->answered >= 200 && r->answered < 300 && sequence == done + 1)
      g_hash_table_replace (delivered, g_strdup (call_id), GUINT_TO_POINTER (sequence));
    g_hash_table_add (ids, r->id);
  }
  if (n_calls == 0)
    return; /* only the order of what arrived */
  g_assert_cmpuint (g_hash_table_size (delivered), ==, n_calls);
  {
    GHashTableIter iter;
    gpointer value;

    g_hash_table_iter_init (&iter, delivered);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      g_assert_cmpuint (GPOINTER_TO_UINT (value), ==, per_call);
  }
  g_assert_cmpuint (g_hash_table_size (ids), ==, n_calls * per_call);
}

static void
assert_call_order (GPtrArray *got, guint n_calls, guint per_call)
{
  assert_call_order_full (got, n_calls, per_call, FALSE);
}

static void
test_sequence_with_random_500s (void)
{
  const guint n_calls = 20;
  const guint per_call = 6;
  g_autoptr (Hook) hook = create_hook ("flaky", NULL);
  g_autoptr (GPtrArray) events = NULL;
  g_autoptr (GPtrArray) got = NULL;
  DistinctWait wait = { "flaky", n_calls * per_call };
  guint failures = 0;

  receiver_set ("flaky", "flaky:35");
  events = store_events (n_calls, per_call);
  kick (hook);
  if (!rc_harness_wait_for (has_distinct, &wait, 40)) {
    g_autoptr (GHashTable) ids = distinct_ids ("flaky");
    g_autoptr (RcReply) state = get_hook (hook);
    g_autoptr (JsonNode) node
        = json_node_init_object (json_node_alloc (), rc_reply_data_object (state));
    g_autofree char *text = json_to_string (node, FALSE);

    /* What did arrive came in order. */
    g_clear_pointer (&got, g_ptr_array_unref);
    got = receiver_get ("flaky");
    assert_call_order (got, 0, 0);
    g_test_fail_printf ("with random 500s (at most 2 per event, the schedule allows 3), only %u "
                        "of %u events arrived in 40 s; the webhook: %s",
                        g_hash_table_size (ids), wait.count, text);
    delete_hook (hook);
    return;
  }
  /* The last ones delivered (answered 2xx, recorded). */
  {
    gint64 until = g_get_monotonic_time () + RC_HARNESS_TIMEOUT * G_USEC_PER_SEC;

    while (deliveries_total (hook, "delivered") < n_calls * per_call) {
      g_assert_cmpint (g_get_monotonic_time (), <, until);
      rc_harness_spin (100);
    }
  }
  got = receiver_get ("flaky");
  for (guint i = 0; i < got->len; i++)
    failures += ((Received *)got->pdata[i])->answered == 500;
  g_test_message ("%u requests for %u events, %u answered 500", got->len, n_calls * per_call,
                  failures);
  g_assert_cmpuint (failures, >, 0);
  assert_call_order (got, n_calls, per_call);
  assert_well_formed (hook, got);
  node_verify (hook, got);
  delete_hook (hook);
}

static void
test_backlog_drains (void)
{
  guint port = closed_port ();
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/backlog", port);
  g_autoptr (Hook) hook = create_hook_url ("backlog", url, NULL);
  g_autoptr (GPtrArray) events = NULL;
  g_autoptr (GPtrArray) got = NULL;
  g_autofree char *metrics = NULL;
  DistinctWait wait = { "backlog", BACKLOG_CALLS * BACKLOG_PER_CALL };
  gint64 started;

  /* 10,000 events wait in the outbox while the receiver is down. */
  stop_daemon (SIGTERM);
  events = store_events (BACKLOG_CALLS, BACKLOG_PER_CALL);
  start_daemon ();
  {
    gint64 until = g_get_monotonic_time () + RC_HARNESS_TIMEOUT * G_USEC_PER_SEC;
    g_autofree char *text = NULL;

    /* Until the daemon has met the closed port a few times. */
    do {
      g_free (text);
      g_assert_cmpint (g_get_monotonic_time (), <, until);
      rc_harness_spin (100);
      text = metrics_text (fx.key);
    } while (metric_value (text, "reachcelld_webhook_attempts_total{result=\"retry\"}") < 20);
    g_assert_cmpfloat (metric_value (text, "reachcelld_webhook_backlog"), >, 9000);
  }
  /* The receiver comes back on that port. */
  receiver_listen_on (port);
  started = g_get_monotonic_time ();
  if (!rc_harness_wait_for (has_distinct, &wait, 120)) {
    g_autoptr (GHashTable) ids = distinct_ids ("backlog");

    g_error ("the backlog did not drain: %u of %u events received", g_hash_table_size (ids),
             wait.count);
  }
  g_test_message ("10,000 events drained in %.1f s", (g_get_monotonic_time () - started) / 1e6);
  {
    gint64 until = g_get_monotonic_time () + RC_HARNESS_TIMEOUT * G_USEC_PER_SEC;

    while (deliveries_total (hook, "pending") > 0) {
      g_assert_cmpint (g_get_monotonic_time (), <, until);
      rc_harness_spin (100);
    }
  }
  g_assert_cmpuint (deliveries_total (hook, "delivered"), ==, BACKLOG_CALLS * BACKLOG_PER_CALL);
  g_assert_cmpuint (deliveries_total (hook, "failed"), ==, 0);
  metrics = metrics_text (fx.key);
  g_assert_cmpfloat (metric_value (metrics, "reachcelld_webhook_backlog"), ==, 0);
  got = receiver_get ("backlog");
  assert_call_order (got, BACKLOG_CALLS, BACKLOG_PER_CALL);
  delete_hook (hook);
}

static void
test_metrics (void)
{
  g_autoptr (Hook) hook = create_hook ("metrics", NULL);
  g_autoptr (GPtrArray) events = NULL;
  g_autofree char *text = NULL;
  g_autofree char *route = NULL;

  receiver_set ("metrics", "200");
  events = store_events (1, 2);
  kick (hook);
  wait_count ("metrics", 2, RC_HARNESS_TIMEOUT);
  {
    gint64 until = g_get_monotonic_time () + RC_HARNESS_TIMEOUT * G_USEC_PER_SEC;

    while (deliveries_total (hook, "delivered") < 2) {
      g_assert_cmpint (g_get_monotonic_time (), <, until);
      rc_harness_spin (100);
    }
  }

  /* A key is needed (metrics-public is false here). */
  {
    g_autoptr (RcReply) none
        = rc_api_client_request (fx.client, "GET", "/metrics", NULL, NULL, NULL, -1, NULL);

    rc_reply_assert_error (none, 401, "unauthorized");
  }
  text = metrics_text (fx.key);
  g_assert_true (strstr (text, "# TYPE reachcelld_webhook_deliveries gauge") != NULL);
  g_assert_cmpfloat (metric_value (text, "reachcelld_webhook_deliveries{status=\"delivered\"}"), >=,
                     2);
  g_assert_cmpfloat (metric_value (text, "reachcelld_webhook_deliveries{status=\"pending\"}"), >=,
                     0);
  g_assert_cmpfloat (metric_value (text, "reachcelld_webhook_deliveries{status=\"failed\"}"), >=,
                     0);
  g_assert_cmpfloat (metric_value (text, "reachcelld_webhook_backlog"), >=, 0);
  g_assert_cmpfloat (metric_value (text, "reachcelld_webhook_attempts_total{result=\"delivered\"}"),
                     >=, 2);
  g_assert_cmpfloat (metric_value (text, "reachcelld_webhook_attempts_total{result=\"retry\"}"), >=,
                     0);
  g_assert_true (strstr (text, "# TYPE reachcelld_webhook_attempt_duration_seconds histogram")
                 != NULL);
  g_assert_cmpfloat (metric_value (text, "reachcelld_webhook_attempt_duration_seconds_count"), >=,
                     2);
  g_assert_cmpfloat (
      metric_value (text, "reachcelld_webhook_attempt_duration_seconds_bucket{le=\"+Inf\"}"), >=,
      2);
  g_assert_true (strstr (text, "# TYPE reachcelld_http_requests_total counter") != NULL);
  route = g_strdup ("reachcelld_http_requests_total{route=\"/v1/webhooks/{webhook_id}\","
                    "status=\"200\"}");
  g_assert_cmpfloat (metric_value (text, route), >=, 1);
  g_assert_cmpfloat (
      metric_value (text, "reachcelld_http_requests_total{route=\"/v1/webhooks\",status=\"201\"}"),
      >=, 1);
  g_assert_cmpfloat (
      metric_value (text, "reachcelld_http_requests_total{route=\"/metrics\",status=\"401\"}"), >=,
      1);
  g_assert_true (strstr (text, "reachcelld_http_request_duration_seconds_bucket{route=") != NULL);
  delete_hook (hook);

  /* [api] metrics-public=true: no key needed. */
  stop_daemon (SIGTERM);
  start_daemon_with (fx.config_public);
  {
    g_autofree char *open = metrics_text (NULL);

    g_assert_true (strstr (open, "reachcelld_webhook_backlog") != NULL);
  }
  stop_daemon (SIGTERM);
  start_daemon ();
}

typedef struct {
  guint before;
} GrowWait;

static gboolean
crash_grew (gpointer user_data)
{
  return receiver_count ("crash") > ((GrowWait *)user_data)->before;
}

static void
test_crash_safety (void)
{
  g_autoptr (Hook) hook = create_hook ("crash", NULL);
  g_autoptr (GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify)event_ref_free);
  g_autoptr (GPtrArray) got = NULL;
  g_autoptr (GHashTable) bodies = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) expected = g_hash_table_new (g_str_hash, g_str_equal);
  DistinctWait wait = { "crash", 0 };
  guint duplicates = 0;
  gint64 started = g_get_monotonic_time ();

  /* Answers take 0 to 20 ms: kills land before, during and after the answer. */
  receiver_set ("crash", "slow:20");
  for (guint kill = 0; kill < CRASH_KILLS; kill++) {
    GrowWait grow = { receiver_count ("crash") };
    guint pending;

    stop_daemon (SIGKILL);
    /* Keep work in the outbox: more events while the daemon is down. */
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (RcStore) store = rc_store_new (fx.database, &error);
      guint64 counts[3];

      g_assert_no_error (error);
      g_assert_true (rc_store_count_deliveries (store, counts, &error));
      pending = (guint)counts[RC_DELIVERY_PENDING];
    }
    if (pending < 300) {
      g_autoptr (GPtrArray) more = store_events (60, 5);

      while (more->len > 0)
        g_ptr_array_add (events, g_ptr_array_steal_index (more, 0));
    }
    start_daemon ();
    /* During delivery: at least one more request arrived since the restart ... */
    if (!rc_harness_wait_for (crash_grew, &grow, RC_HARNESS_TIMEOUT))
      g_error ("restart %u: nothing was delivered", kill + 1);
    /* ... and then a random moment. */
    rc_harness_spin (g_test_rand_int_range (0, 300));
  }
  stop_daemon (SIGKILL);
  start_daemon ();
  g_test_message ("%u kills in %.1f s, %u events", CRASH_KILLS,
                  (g_get_monotonic_time () - started) / 1e6, events->len);

  wait.count = events->len;
  if (!rc_harness_wait_for (has_distinct, &wait, 60))
    g_error ("events lost or stuck after the crashes");
  {
    gint64 until = g_get_monotonic_time () + RC_HARNESS_TIMEOUT * G_USEC_PER_SEC;

    while (deliveries_total (hook, "pending") > 0) {
      g_assert_cmpint (g_get_monotonic_time (), <, until);
      rc_harness_spin (100);
    }
  }
  g_assert_cmpuint (deliveries_total (hook, "failed"), ==, 0);

  /* Every event at least once; a duplicate only with the same webhook-id and the same bytes. */
  got = receiver_get ("crash");
  for (guint i = 0; i < events->len; i++)
    g_hash_table_add (expected, ((EventRef *)events->pdata[i])->event_id);
  for (guint i = 0; i < got->len; i++) {
    Received *r = g_ptr_array_index (got, i);
    const char *body = g_hash_table_lookup (bodies, r->id);

    g_assert_true (g_hash_table_contains (expected, r->id));
    if (body != NULL) {
      duplicates++;
      g_assert_cmpstr (body, ==, r->body);
    } else {
      g_hash_table_insert (bodies, r->id, r->body);
    }
  }
  g_assert_cmpuint (g_hash_table_size (bodies), ==, events->len);
  g_test_message ("%u requests, %u duplicates", got->len, duplicates);
  assert_call_order_full (got, events->len / 5, 5, TRUE);
  assert_well_formed (hook, got);
  delete_hook (hook);
}

typedef struct {
  const char *tag;
  guint at_least;
} CountAtLeast;

static gboolean
count_at_least (gpointer user_data)
{
  CountAtLeast *wait = user_data;

  return receiver_count (wait->tag) >= wait->at_least;
}

/* Outcomes are written in batches: SIGKILLs in the middle of a fast drain (answers at once, so
 * many successes wait to be written at any moment) lose nothing, and what goes again goes with
 * the same webhook-id and bytes, in each call's order. */
static void
test_crash_mid_drain (void)
{
  const guint n_calls = MID_DRAIN_CALLS;
  const guint per_call = 5;
  const guint total = n_calls * per_call;
  g_autoptr (Hook) hook = create_hook ("middrain", NULL);
  g_autoptr (GPtrArray) events = NULL;
  g_autoptr (GPtrArray) got = NULL;
  g_autoptr (GHashTable) bodies = g_hash_table_new (g_str_hash, g_str_equal);
  DistinctWait wait = { "middrain", total };
  guint duplicates = 0;

  stop_daemon (SIGTERM);
  events = store_events (n_calls, per_call);
  start_daemon ();
  for (guint kill = 0; kill < MID_DRAIN_KILLS; kill++) {
    /* A new share of the backlog arrived since the start, then a random moment. */
    CountAtLeast grow = { "middrain", receiver_count ("middrain") + total / (2 * MID_DRAIN_KILLS) };

    if (!rc_harness_wait_for (count_at_least, &grow, RC_HARNESS_TIMEOUT))
      g_error ("kill %u: the drain stalled at %u requests", kill + 1, receiver_count ("middrain"));
    rc_harness_spin (g_test_rand_int_range (0, 20));
    stop_daemon (SIGKILL);
    start_daemon ();
  }
  if (!rc_harness_wait_for (has_distinct, &wait, 120))
    g_error ("events lost or stuck after the kills: %u of %u",
             g_hash_table_size (distinct_ids ("middrain")), total);
  {
    gint64 until = g_get_monotonic_time () + RC_HARNESS_TIMEOUT * G_USEC_PER_SEC;

    while (deliveries_total (hook, "pending") > 0) {
      g_assert_cmpint (g_get_monotonic_time (), <, until);
      rc_harness_spin (100);
    }
  }
  g_assert_cmpuint (deliveries_total (hook, "delivered"), ==, total);
  g_assert_cmpuint (deliveries_total (hook, "failed"), ==, 0);

  got = receiver_get ("middrain");
  for (guint i = 0; i < got->len; i++) {
    Received *r = g_ptr_array_index (got, i);
    const char *body = g_hash_table_lookup (bodies, r->id);

    if (body != NULL) {
      duplicates++;
      g_assert_cmpstr (body, ==, r->body);
    } else {
      g_hash_table_insert (bodies, r->id, r->body);
    }
  }
  g_assert_cmpuint (g_hash_table_size (bodies), ==, total);
  g_test_message ("%u kills: %u requests, %u duplicates", MID_DRAIN_KILLS, got->len, duplicates);
  assert_call_order_full (got, n_calls, per_call, TRUE);
  assert_well_formed (hook, got);
  delete_hook (hook);
}

typedef struct {
  const char *number;
} LineWait;

static gboolean
line_available (gpointer user_data)
{
  g_autoptr (RcReply) reply = api ("GET", "/v1/numbers", NULL);
  JsonArray *lines;

  if (reply->status != 200)
    return FALSE;
  lines = rc_reply_data_array (reply);
  for (guint i = 0; i < json_array_get_length (lines); i++) {
    JsonObject *line = json_array_get_object_element (lines, i);

    if (g_strcmp0 (json_object_get_string_member (line, "number"), ((LineWait *)user_data)->number)
            == 0
        && g_strcmp0 (json_object_get_string_member (line, "state"), "available") == 0)
      return TRUE;
  }
  return FALSE;
}

static void
test_e2e_missed_call (void)
{
  g_autoptr (Hook) hook = create_hook ("e2e", NULL);
  g_autoptr (GPtrArray) got = NULL;
  RcHarnessSim *sim;
  LineWait line = { LINE0 };
  const char *call_id;

  rc_harness_start_modemmanager (fx.harness);
  sim = rc_harness_add_sim (fx.harness, &rc_harness_sim0);
  if (!rc_harness_wait_for (line_available, &line, 2 * RC_HARNESS_TIMEOUT))
    g_error ("the daemon does not see %s available", LINE0);

  g_free (rc_harness_sim_ctl_ok (fx.harness, sim, "incoming", "+4930123456", NULL));
  wait_count ("e2e", 1, RC_HARNESS_TIMEOUT);
  g_free (rc_harness_sim_ctl_ok (fx.harness, sim, "hangup", NULL));
  wait_count ("e2e", 2, RC_HARNESS_TIMEOUT);
  rc_harness_spin (500);
  got = receiver_get ("e2e");
  g_assert_cmpuint (got->len, ==, 2);
  assert_well_formed (hook, got);
  {
    g_autoptr (JsonNode) first = payload_of (got->pdata[0]);
    g_autoptr (JsonNode) second = payload_of (got->pdata[1]);
    JsonObject *a = json_node_get_object (first);
    JsonObject *b = json_node_get_object (second);
    JsonObject *call = json_object_get_object_member (b, "data");

    g_assert_cmpstr (json_object_get_string_member (a, "type"), ==, "call.ringing");
    g_assert_cmpint (json_object_get_int_member (a, "sequence"), ==, 1);
    g_assert_cmpstr (json_object_get_string_member (b, "type"), ==, "call.missed");
    g_assert_cmpint (json_object_get_int_member (b, "sequence"), ==, 2);
    call_id = json_object_get_string_member (call, "call_id");
    g_assert_cmpstr (
        json_object_get_string_member (json_object_get_object_member (a, "data"), "call_id"), ==,
        call_id);
    g_assert_cmpstr (json_object_get_string_member (call, "status"), ==, "missed");
    g_assert_cmpstr (json_object_get_string_member (call, "direction"), ==, "inbound");
    g_assert_cmpstr (json_object_get_string_member (call, "from"), ==, "+4930123456");
    g_assert_cmpstr (json_object_get_string_member (call, "to"), ==, LINE0);
    g_assert_cmpstr (
        json_object_get_string_member (json_object_get_object_member (a, "data"), "status"), ==,
        "ringing");
  }
  node_verify (hook, got);
  delete_hook (hook);
}

/* A retry is due after the schedule's delay even when later events of the same call wait behind
 * it in the outbox. */
static void
test_retry_with_queued_successors (void)
{
  g_autoptr (Hook) hook = create_hook ("successors", NULL);
  g_autoptr (GPtrArray) events = NULL;
  g_autoptr (GPtrArray) got = NULL;
  const char *first;
  gint64 gap;

  events = store_events (1, 3);
  first = ((EventRef *)events->pdata[0])->event_id;
  receiver_set (first, "500");
  kick (hook);
  wait_count ("successors", 1, RC_HARNESS_TIMEOUT);
  receiver_set (first, "200");
  /* The schedule says 1 s: allow 5. */
  if (!rc_harness_wait_for (has_count, &(CountWait){ "successors", 4 }, 5)) {
    g_autoptr (JsonObject) d = find_delivery (hook, first);
    g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), d);
    g_autofree char *text = json_to_string (node, FALSE);

    g_error ("the retry of sequence 1 (schedule: 1 s) did not come within 5 s while sequences 2 "
             "and 3 of the call were queued behind it: %u request(s) so far; delivery: %s",
             receiver_count ("successors"), text);
  }
  got = receiver_get ("successors");
  gap = ((Received *)got->pdata[1])->at - ((Received *)got->pdata[0])->at;
  g_assert_cmpint (gap, <=, (gint64)(1.1 * G_USEC_PER_SEC) + SLACK_US);
  assert_call_order (got, 1, 3);
  delete_hook (hook);
}

/* failing_since is the start of the current run of failures: an attempt that succeeds ends the
 * run, even when a failure of another attempt in flight at the same time was recorded first. */
static void
test_success_ends_failure_run (void)
{
  g_autoptr (Hook) hook = create_hook ("failure-run", NULL);
  g_autoptr (GPtrArray) events = NULL;
  g_autoptr (JsonObject) ok = NULL;
  g_autoptr (RcReply) reply = NULL;
  const char *failing;
  const char *slow;

  events = store_events (2, 1);
  failing = ((EventRef *)events->pdata[0])->event_id;
  slow = ((EventRef *)events->pdata[1])->event_id;
  receiver_set (failing, "500");
  receiver_set (slow, "delay:300");
  kick (hook);
  /* The 500 is recorded first, the 200 0.3 s later; the retry of the first comes after 1 s. */
  ok = wait_delivery (hook, slow, "delivered", 1, RC_HARNESS_TIMEOUT);
  reply = get_hook (hook);
  receiver_set (failing, "200");
  {
    g_autoptr (JsonObject) failed = find_delivery (hook, failing);

    if (n_attempts (failed) == 1
        && rc_json_string_or_null (rc_reply_data_object (reply), "failing_since") != NULL)
      g_test_fail_printf ("an attempt answered 200 after another one failed, yet the webhook still "
                          "counts as failing since %s (it will be disabled after disable-after "
                          "seconds although deliveries succeed)",
                          rc_json_string_or_null (rc_reply_data_object (reply), "failing_since"));
  }
  delete_hook (hook);
}

/* PATCH while an attempt is in flight: the relay must not write back its old copy of the
 * webhook (url, events, enabled) when it records the attempt's outcome. */
static void
test_patch_during_attempt (void)
{
  g_autoptr (Hook) hook = create_hook ("patch-race", NULL);
  g_autoptr (GPtrArray) events = NULL;
  g_autofree char *path = g_strconcat ("/v1/webhooks/", hook->id, NULL);
  g_autofree char *new_url = receiver_url ("patch-race-new");
  g_autofree char *body
      = g_strdup_printf ("{\"url\":\"%s\",\"events\":[\"call.missed\"]}", new_url);
  g_autoptr (RcReply) patched = NULL;
  g_autoptr (RcReply) after = NULL;
  g_autoptr (JsonObject) d = NULL;
  JsonObject *data;

  receiver_set ("patch-race", "hang");
  events = store_events (1, 1);
  kick (hook);
  wait_count ("patch-race", 1, RC_HARNESS_TIMEOUT);
  /* The attempt hangs (until the deadline); change the URL and the events meanwhile. */
  patched = api_ok ("PATCH", path, body, 200);
  g_assert_cmpstr (json_object_get_string_member (rc_reply_data_object (patched), "url"), ==,
                   new_url);
  d = wait_delivery (hook, ((EventRef *)events->pdata[0])->event_id, "pending", 1, 10);
  assert_timed_out (attempt_at (d, 0));
  after = get_hook (hook);
  data = rc_reply_data_object (after);
  if (g_strcmp0 (json_object_get_string_member (data, "url"), new_url) != 0)
    g_test_fail_printf ("the URL set by PATCH was overwritten when the relay recorded an attempt "
                        "that was in flight: it is %s again, not %s",
                        json_object_get_string_member (data, "url"), new_url);
  else if (!JSON_NODE_HOLDS_ARRAY (json_object_get_member (data, "events")))
    g_test_fail_printf ("the events set by PATCH were overwritten by the relay");
  delete_hook (hook);
}

static void
test_disable_during_attempt (void)
{
  g_autoptr (Hook) hook = create_hook ("disable-race", NULL);
  g_autoptr (GPtrArray) events = NULL;
  g_autofree char *path = g_strconcat ("/v1/webhooks/", hook->id, NULL);
  g_autoptr (RcReply) patched = NULL;
  g_autoptr (JsonObject) d = NULL;

  receiver_set ("disable-race", "hang");
  events = store_events (1, 1);
  kick (hook);
  wait_count ("disable-race", 1, RC_HARNESS_TIMEOUT);
  patched = api_ok ("PATCH", path, "{\"enabled\":false}", 200);
  d = wait_delivery (hook, ((EventRef *)events->pdata[0])->event_id, "pending", 1, 10);
  if (!hook_disabled (hook)) {
    g_test_fail_printf ("a webhook disabled through the API while an attempt was in flight was "
                        "enabled again when the relay recorded the attempt");
  } else {
    rc_harness_spin (2000);
    g_assert_cmpuint (receiver_count ("disable-race"), ==, 1);
  }
  delete_hook (hook);
}

/* DELETE while an attempt that will change the webhook's state (its first failure) is in
 * flight: the daemon must record what it can and go on serving. */
static void
test_delete_during_attempt (void)
{
  g_autoptr (Hook) hook = create_hook ("delete-race", NULL);
  g_autoptr (GPtrArray) events = NULL;
  g_autofree char *path = g_strconcat ("/v1/webhooks/", hook->id, NULL);
  g_autoptr (RcReply) deleted = NULL;

  receiver_set ("delete-race", "hang");
  events = store_events (1, 1);
  kick (hook);
  wait_count ("delete-race", 1, RC_HARNESS_TIMEOUT);
  deleted = api_ok ("DELETE", path, NULL, 200);
  /* The attempt ends by its deadline. */
  rc_harness_spin ((DAEMON_TIMEOUT + 2) * 1000);
  if (g_subprocess_get_identifier (fx.daemon) == NULL || !daemon_answers_within (3))
    g_test_fail_printf ("the daemon died when an attempt in flight for a deleted webhook ended "
                        "(see its log in %s)",
                        rc_harness_get_dir (fx.harness));
}

/* --- main ----------------------------------------------------------------------------------- */

static void
fixture_setup (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RcStore) store = NULL;
  /* The tests poll the API: no per-key rate limit. */
#define CONFIG_TEMPLATE                                                                            \
  "[daemon]\nlog-personal-info=true\n\n[api]\nrate-limit=0\nmetrics-public=%s\n\n"                 \
  "[webhook]\nretry-schedule=" DAEMON_SCHEDULE                                                     \
  "\nattempt-timeout=%u\nmax-connections=%u\ndisable-after=%u\n"
  g_autofree char *config = g_strdup_printf (CONFIG_TEMPLATE, "false", DAEMON_TIMEOUT,
                                             DAEMON_MAX_CONNECTIONS, DAEMON_DISABLE_AFTER);
  g_autofree char *config_public = g_strdup_printf (CONFIG_TEMPLATE, "true", DAEMON_TIMEOUT,
                                                    DAEMON_MAX_CONNECTIONS, DAEMON_DISABLE_AFTER);

  fx.seed = g_test_rand_int ();
  fx.harness = rc_harness_new ("webhooks");
  rc_harness_start_bus (fx.harness);
  receiver_start ();

  /* The database on tmpfs when there is one: every attempt is a synchronous=FULL commit, and
   * on a disk the fsyncs, not the relay, would set the pace of the 10,000-event backlog. The
   * crash test kills the process, not the machine: the page cache keeps what was written. */
  fx.db_dir = g_strdup ("/dev/shm/rc-webhooks-XXXXXX");
  if (g_mkdtemp (fx.db_dir) == NULL)
    g_clear_pointer (&fx.db_dir, g_free);
  fx.database = g_build_filename (fx.db_dir ? fx.db_dir : rc_harness_get_dir (fx.harness),
                                  "reachcelld.db", NULL);
  fx.config = g_build_filename (rc_harness_get_dir (fx.harness), "reachcelld.conf", NULL);
  fx.config_public = g_build_filename (rc_harness_get_dir (fx.harness), "public.conf", NULL);
  g_assert_true (g_file_set_contents (fx.config, config, -1, &error));
  g_assert_true (g_file_set_contents (fx.config_public, config_public, -1, &error));
  store = rc_store_new (fx.database, &error);
  g_assert_no_error (error);
  fx.key = rc_store_create_key (store, "webhooks", NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&store);
  start_daemon ();
}

int
main (int argc, char *argv[])
{
  g_autofree char **args = g_new0 (char *, argc + 2);
  int n_args = argc + 1;
  int status;

  /* Every case runs and reports, even after a failure (the daemon bugs are tests of their
   * own at the end). */
  memcpy (args, argv, argc * sizeof (char *));
  args[argc] = (char *)"--keep-going";
  argv = args;
  argc = n_args;
  g_test_init (&argc, &argv, NULL);
  fixture_setup ();

  g_test_add_func ("/rc/webhooks/known-answer", test_known_answer);
  g_test_add_func ("/rc/webhooks/registration-api", test_registration_api);
  g_test_add_func ("/rc/webhooks/delivered-signed", test_delivered_signed);
  g_test_add_func ("/rc/webhooks/schedule-and-redeliver", test_schedule_and_redeliver);
  g_test_add_func ("/rc/webhooks/retry-after", test_retry_after);
  g_test_add_func ("/rc/webhooks/gone-disables", test_gone_disables);
  g_test_add_func ("/rc/webhooks/redirects-not-followed", test_redirects_not_followed);
  g_test_add_func ("/rc/webhooks/deadline-never-answers", test_deadline_never_answers);
  g_test_add_func ("/rc/webhooks/deadline-drip", test_deadline_drip);
  g_test_add_func ("/rc/webhooks/reset-mid-response", test_reset_mid_response);
  g_test_add_func ("/rc/webhooks/huge-response", test_huge_response);
  g_test_add_func ("/rc/webhooks/listener-down", test_listener_down);
  g_test_add_func ("/rc/webhooks/disable-after", test_disable_after);
  g_test_add_func ("/rc/webhooks/metrics", test_metrics);
  g_test_add_func ("/rc/webhooks/backlog-drains", test_backlog_drains);
  g_test_add_func ("/rc/webhooks/crash-safety", test_crash_safety);
  g_test_add_func ("/rc/webhooks/crash-mid-drain", test_crash_mid_drain);
  g_test_add_func ("/rc/webhooks/e2e-missed-call", test_e2e_missed_call);
  /* Daemon bugs found while writing these (see the report): last. */
  g_test_add_func ("/rc/webhooks/deadline-drip-body", test_deadline_drip_body);
  g_test_add_func ("/rc/webhooks/retry-with-queued-successors", test_retry_with_queued_successors);
  g_test_add_func ("/rc/webhooks/success-ends-failure-run", test_success_ends_failure_run);
  g_test_add_func ("/rc/webhooks/sequence-with-random-500s", test_sequence_with_random_500s);
  g_test_add_func ("/rc/webhooks/patch-during-attempt", test_patch_during_attempt);
  g_test_add_func ("/rc/webhooks/disable-during-attempt", test_disable_during_attempt);
  g_test_add_func ("/rc/webhooks/openapi-documents-webhooks", test_openapi_documents_webhooks);
  g_test_add_func ("/rc/webhooks/delete-during-attempt", test_delete_during_attempt);

  status = g_test_run ();
  g_clear_pointer (&fx.client, rc_api_client_free);
  g_clear_object (&fx.daemon);
  g_clear_pointer (&fx.harness, rc_harness_free);
  receiver_stop ();
  if (fx.db_dir != NULL && status == 0) {
    const char *suffixes[] = { "", "-wal", "-shm", "-journal" };

    for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++) {
      g_autofree char *path = g_strconcat (fx.database, suffixes[i], NULL);

      g_unlink (path);
    }
    g_rmdir (fx.db_dir);
  } else if (fx.db_dir != NULL) {
    g_printerr ("# database kept in %s\n", fx.db_dir);
  }
  g_free (fx.db_dir);
  g_free (fx.base_url);
  g_free (fx.key);
  g_free (fx.database);
  g_free (fx.config);
  g_free (fx.config_public);
  return status;
}
