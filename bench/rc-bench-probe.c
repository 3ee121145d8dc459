/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rc-bench-probe: the measuring side of the benchmarks that wrk cannot drive.
 *
 *   dial    --api PORT --key K --sim PORTNAME=+NUMBER [--sim ...] --n N
 *           One thread per simulated modem, each a closed loop on its own keep-alive connection:
 *           POST /v1/calls/dial (unique Idempotency-Key) timed to its 202, then the simulator's
 *           remote hangup once the ATD reached it, then the next dial (a 409 line_busy while the
 *           daemon records the end is retried and not counted).
 *   events  --api PORT --key K --recv PORT --sim PORTNAME=+NUMBER --n N [--bus ADDRESS]
 *           Webhook receiver in this process. Alternates (a) an outbound call ended by the remote
 *           side: `hangup` -> NO CARRIER -> the terminal event, and (b) `incoming` -> RING/+CLIP ->
 *           call.ringing (then declined through the API). Two latencies, on CLOCK_MONOTONIC:
 *           event_* = arrival of the webhook at the receiver minus the return of the simulator's
 *           control command; with --bus (the private bus ModemManager is on), event_sig_* =
 *           arrival minus ModemManager's signal as read by this process on that bus
 *           (Call.StateChanged to terminated for (a); Voice.CallAdded, or StateChanged to
 *           ringing-in, for (b)): the figure. event_mm_* = command sent -> that signal.
 *   drain   --recv PORT --expect N [--timeout S]
 *           Webhook receiver answering 200; prints the delivery rate once N distinct events came.
 *   startup --daemon PATH --config FILE --db FILE --api PORT --key K --runs N [--log FILE]
 *           Process start (fork) -> "READY" on stdout -> first 200 of GET /v1/calls?per_page=1.
 *
 * Output: "key=value" lines (times in microseconds) that bench/run reads.
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gio/gio.h>

/* CLOCK_MONOTONIC, like g_get_monotonic_time (): signal and webhook times compare directly. */
static int64_t
now_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Waits on @cond (with @lock held) until signalled or the monotonic deadline @deadline (µs);
 * FALSE when the deadline has already passed. */
static int
wait_until (pthread_cond_t *cond, pthread_mutex_t *lock, int64_t deadline)
{
  struct timespec ts;
  int64_t left = deadline - now_us ();

  if (left <= 0)
    return 0;
  clock_gettime (CLOCK_REALTIME, &ts);
  ts.tv_nsec += (left % 1000000) * 1000;
  ts.tv_sec += left / 1000000 + ts.tv_nsec / 1000000000;
  ts.tv_nsec %= 1000000000;
  pthread_cond_timedwait (cond, lock, &ts);
  return 1;
}

static void
die (const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  fprintf (stderr, "rc-bench-probe: ");
  vfprintf (stderr, fmt, ap);
  fprintf (stderr, "\n");
  va_end (ap);
  exit (1);
}

static void
sleep_us (int64_t us)
{
  struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

  nanosleep (&ts, NULL);
}

/* --- statistics ------------------------------------------------------------------------------ */

static int
cmp_i64 (const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of @n sorted values. */
static int64_t
percentile (const int64_t *sorted, size_t n, double p)
{
  size_t rank;

  if (n == 0)
    return -1;
  rank = (size_t)((p / 100.0) * n + 0.999999);
  if (rank < 1)
    rank = 1;
  if (rank > n)
    rank = n;
  return sorted[rank - 1];
}

static void
print_stats (const char *name, int64_t *values, size_t n)
{
  qsort (values, n, sizeof *values, cmp_i64);
  printf ("%s_n=%zu\n%s_p50_us=%lld\n%s_p90_us=%lld\n%s_p99_us=%lld\n%s_max_us=%lld\n", name, n,
          name, (long long)percentile (values, n, 50), name, (long long)percentile (values, n, 90),
          name, (long long)percentile (values, n, 99), name, (long long)(n ? values[n - 1] : -1));
  fflush (stdout);
}

/* --- a minimal blocking HTTP/1.1 client (keep-alive, Content-Length bodies) ------------------- */

typedef struct {
  int fd;
  int port;
  char buf[1 << 16];
  size_t have;
} Conn;

static int
tcp_connect (int port)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons ((uint16_t)port) };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;

  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (fd < 0)
    return -1;
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect (fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    close (fd);
    return -1;
  }
  return fd;
}

static int
write_all (int fd, const char *data, size_t length)
{
  while (length > 0) {
    ssize_t n = write (fd, data, length);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    data += n;
    length -= (size_t)n;
  }
  return 0;
}

/* Reads one response; returns the status (0 on a broken connection), body in @out (malloc). */
static int
read_response (Conn *c, char **out)
{
  char *end;
  size_t header_length, body_length = 0;
  int status = 0;
  const char *cl;

  for (;;) {
    c->buf[c->have] = '\0';
    end = strstr (c->buf, "\r\n\r\n");
    if (end != NULL)
      break;
    if (c->have >= sizeof c->buf - 1)
      return 0;
    ssize_t n = read (c->fd, c->buf + c->have, sizeof c->buf - 1 - c->have);
    if (n <= 0)
      return 0;
    c->have += (size_t)n;
  }
  header_length = (size_t)(end - c->buf) + 4;
  if (sscanf (c->buf, "HTTP/1.%*d %d", &status) != 1)
    return 0;
  cl = strcasestr (c->buf, "\r\nContent-Length:");
  if (cl != NULL && cl < end)
    body_length = strtoul (cl + 17, NULL, 10);
  while (c->have < header_length + body_length) {
    if (c->have >= sizeof c->buf - 1)
      return 0;
    ssize_t n = read (c->fd, c->buf + c->have, sizeof c->buf - 1 - c->have);
    if (n <= 0)
      return 0;
    c->have += (size_t)n;
  }
  if (out != NULL)
    *out = strndup (c->buf + header_length, body_length);
  memmove (c->buf, c->buf + header_length + body_length, c->have - header_length - body_length);
  c->have -= header_length + body_length;
  return status;
}

/* One request; reconnects once if the kept-alive connection went away. */
static int
http (Conn *c,
      const char *method,
      const char *path,
      const char *headers,
      const char *body,
      char **out)
{
  char request[8192];
  int length;

  length = snprintf (
      request, sizeof request, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s%s%zu\r\n\r\n%s", method,
      path, c->port, headers ? headers : "",
      body ? "Content-Type: application/json\r\nContent-Length: " : "Content-Length: ",
      body ? strlen (body) : 0, body ? body : "");
  for (int attempt = 0; attempt < 2; attempt++) {
    int status;

    if (c->fd < 0) {
      c->fd = tcp_connect (c->port);
      c->have = 0;
      if (c->fd < 0)
        return 0;
    }
    if (write_all (c->fd, request, (size_t)length) == 0 && (status = read_response (c, out)) > 0)
      return status;
    close (c->fd);
    c->fd = -1;
  }
  return 0;
}

static char *
json_string (const char *json, const char *member, char *out, size_t size)
{
  char pattern[64];
  const char *p;
  size_t i = 0;

  snprintf (pattern, sizeof pattern, "\"%s\":\"", member);
  p = json ? strstr (json, pattern) : NULL;
  if (p == NULL)
    return NULL;
  p += strlen (pattern);
  while (*p && *p != '"' && i + 1 < size)
    out[i++] = *p++;
  out[i] = '\0';
  return out;
}

/* --- simulator control socket ----------------------------------------------------------------- */

typedef struct {
  int fd;
  char buf[8192];
  size_t have;
} Ctl;

static void
ctl_open (Ctl *ctl, const char *port)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  char name[108];
  size_t length;

  snprintf (name, sizeof name, "%s.ctl", port);
  length = strlen (name);
  memcpy (sa.sun_path + 1, name, length); /* abstract: leading NUL, not padded */
  ctl->fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ctl->have = 0;
  if (ctl->fd < 0
      || connect (ctl->fd, (struct sockaddr *)&sa,
                  (socklen_t)(offsetof (struct sockaddr_un, sun_path) + 1 + length))
             < 0)
    die ("cannot reach the simulator control socket %s: %s", name, strerror (errno));
}

/* Sends one command; returns TRUE on OK. @out gets every line of the reply (status). */
static int
ctl_command (Ctl *ctl, const char *command, char *out, size_t out_size)
{
  char line[256];
  size_t used = 0;

  snprintf (line, sizeof line, "%s\n", command);
  if (write_all (ctl->fd, line, strlen (line)) < 0)
    die ("simulator control: write failed");
  if (out && out_size)
    out[0] = '\0';
  for (;;) {
    char *nl;

    ctl->buf[ctl->have] = '\0';
    while ((nl = strchr (ctl->buf, '\n')) != NULL) {
      size_t n = (size_t)(nl - ctl->buf) + 1;
      int ok = strncmp (ctl->buf, "OK", 2) == 0, error = strncmp (ctl->buf, "ERROR", 5) == 0;

      if (out && used + n < out_size) {
        memcpy (out + used, ctl->buf, n);
        used += n;
        out[used] = '\0';
      }
      memmove (ctl->buf, ctl->buf + n, ctl->have - n + 1);
      ctl->have -= n;
      if (ok || error)
        return ok;
    }
    ssize_t r = read (ctl->fd, ctl->buf + ctl->have, sizeof ctl->buf - 1 - ctl->have);
    if (r <= 0)
      die ("simulator control: connection lost");
    ctl->have += (size_t)r;
  }
}

/* Waits (polling "status") until the simulator holds a call; FALSE after @timeout_ms. */
static int
ctl_wait_call (Ctl *ctl, int timeout_ms)
{
  char reply[4096];
  int64_t deadline = now_us () + timeout_ms * 1000LL;

  while (now_us () < deadline) {
    ctl_command (ctl, "status", reply, sizeof reply);
    if (strstr (reply, "call=") != NULL)
      return 1;
    sleep_us (2000);
  }
  return 0;
}

/* --- webhook receiver ------------------------------------------------------------------------- */

#define MAX_ARRIVALS 65536

typedef struct {
  int64_t at;
  char type[32];
  char call_id[40];
  char event_id[40];
  int taken;
} Arrival;

static pthread_mutex_t arrivals_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t arrivals_cond = PTHREAD_COND_INITIALIZER;
static Arrival *arrivals;
static size_t n_arrivals;

static void *
serve_connection (void *data)
{
  Conn *c = calloc (1, sizeof *c);
  static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

  c->fd = (int)(intptr_t)data;
  for (;;) {
    char *end, *cl;
    size_t header_length, body_length = 0;

    c->buf[c->have] = '\0';
    end = strstr (c->buf, "\r\n\r\n");
    if (end == NULL) {
      ssize_t n = read (c->fd, c->buf + c->have, sizeof c->buf - 1 - c->have);
      if (n <= 0)
        break;
      c->have += (size_t)n;
      continue;
    }
    header_length = (size_t)(end - c->buf) + 4;
    cl = strcasestr (c->buf, "\r\nContent-Length:");
    if (cl != NULL && cl < end)
      body_length = strtoul (cl + 17, NULL, 10);
    while (c->have < header_length + body_length) {
      ssize_t n = read (c->fd, c->buf + c->have, sizeof c->buf - 1 - c->have);
      if (n <= 0)
        goto out;
      c->have += (size_t)n;
    }
    {
      int64_t at = now_us ();
      char *body = strndup (c->buf + header_length, body_length);
      Arrival a = { .at = at };

      json_string (body, "type", a.type, sizeof a.type);
      json_string (body, "call_id", a.call_id, sizeof a.call_id);
      json_string (body, "id", a.event_id, sizeof a.event_id);
      free (body);
      pthread_mutex_lock (&arrivals_lock);
      if (n_arrivals < MAX_ARRIVALS)
        arrivals[n_arrivals++] = a;
      pthread_cond_broadcast (&arrivals_cond);
      pthread_mutex_unlock (&arrivals_lock);
    }
    memmove (c->buf, c->buf + header_length + body_length, c->have - header_length - body_length);
    c->have -= header_length + body_length;
    if (write_all (c->fd, reply, sizeof reply - 1) < 0)
      break;
  }
out:
  close (c->fd);
  free (c);
  return NULL;
}

static void *
accept_loop (void *data)
{
  int listener = (int)(intptr_t)data;

  for (;;) {
    int fd = accept4 (listener, NULL, NULL, SOCK_CLOEXEC);
    int one = 1;
    pthread_t thread;

    if (fd < 0)
      continue;
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pthread_create (&thread, NULL, serve_connection, (void *)(intptr_t)fd);
    pthread_detach (thread);
  }
  return NULL;
}

static void
start_receiver (int port)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons ((uint16_t)port) };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  pthread_t thread;

  arrivals = calloc (MAX_ARRIVALS, sizeof *arrivals);
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind (fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen (fd, 128) < 0)
    die ("receiver: cannot listen on 127.0.0.1:%d: %s", port, strerror (errno));
  pthread_create (&thread, NULL, accept_loop, (void *)(intptr_t)fd);
  pthread_detach (thread);
}

/* Takes the first untaken arrival of @type (and @call_id when given); its time, or -1. */
static int64_t
wait_arrival (const char *type, const char *call_id, int timeout_ms, char *out_call_id)
{
  int64_t deadline = now_us () + timeout_ms * 1000LL;
  int64_t at = -1;

  pthread_mutex_lock (&arrivals_lock);
  while (at < 0) {
    for (size_t i = 0; i < n_arrivals; i++) {
      Arrival *a = &arrivals[i];

      int type_ok
          = strcmp (type, "terminal") == 0
                ? (!strcmp (a->type, "call.missed") || !strcmp (a->type, "call.ended")
                   || !strcmp (a->type, "call.failed") || !strcmp (a->type, "call.rejected"))
                : strcmp (a->type, type) == 0;

      if (a->taken || !type_ok || (call_id && strcmp (a->call_id, call_id) != 0))
        continue;
      a->taken = 1;
      at = a->at;
      if (out_call_id)
        strcpy (out_call_id, a->call_id);
      break;
    }
    if (at >= 0)
      break;
    if (!wait_until (&arrivals_cond, &arrivals_lock, deadline))
      break;
  }
  pthread_mutex_unlock (&arrivals_lock);
  return at;
}

/* --- dial ------------------------------------------------------------------------------------- */

typedef struct {
  int api_port;
  const char *key;
  char port[128];
  char number[32];
  int n;
  int64_t *latencies;
  int done;
  int retries;
  int errors;
} DialWorker;

static void *
dial_worker (void *data)
{
  DialWorker *w = data;
  Conn *c = calloc (1, sizeof *c);
  Ctl ctl;
  char headers[512], body[256];

  c->fd = -1;
  c->port = w->api_port;
  ctl_open (&ctl, w->port);
  ctl_command (&ctl, "alert-after -1", NULL, 0);
  snprintf (body, sizeof body, "{\"from\":\"%s\",\"to\":\"+4915712345678\"}", w->number);
  for (int i = 0; i < w->n; i++) {
    int status = 0;
    int64_t started = 0, took = 0;

    snprintf (headers, sizeof headers,
              "Authorization: Bearer %s\r\nIdempotency-Key: bench-%d-%s-%d\r\n", w->key,
              (int)getpid (), w->number, i);
    for (int attempt = 0; attempt < 2000; attempt++) {
      char *reply = NULL;

      started = now_us ();
      status = http (c, "POST", "/v1/calls/dial", headers, body, &reply);
      took = now_us () - started;
      free (reply);
      if (status != 409)
        break;
      w->retries++;
      sleep_us (2000);
    }
    if (status != 202) {
      w->errors++;
      fprintf (stderr, "rc-bench-probe: dial from %s: HTTP %d\n", w->number, status);
      sleep_us (100000);
      continue;
    }
    w->latencies[w->done++] = took;
    /* Hang up as we go: the remote side ends the call once the ATD reached the simulator. */
    if (ctl_wait_call (&ctl, 5000))
      ctl_command (&ctl, "hangup", NULL, 0);
  }
  ctl_command (&ctl, "alert-after 300", NULL, 0);
  return NULL;
}

static int
cmd_dial (int argc, char **argv)
{
  DialWorker workers[16];
  pthread_t threads[16];
  int n_workers = 0, api = 0, n = 100;
  const char *key = NULL;
  int64_t *all;
  size_t total = 0;
  int retries = 0, errors = 0;
  int64_t started;

  for (int i = 0; i < argc; i++) {
    if (!strcmp (argv[i], "--api") && i + 1 < argc)
      api = atoi (argv[++i]);
    else if (!strcmp (argv[i], "--key") && i + 1 < argc)
      key = argv[++i];
    else if (!strcmp (argv[i], "--n") && i + 1 < argc)
      n = atoi (argv[++i]);
    else if (!strcmp (argv[i], "--sim") && i + 1 < argc && n_workers < 16) {
      char *eq = strchr (argv[++i], '=');
      if (!eq)
        die ("--sim PORTNAME=+NUMBER");
      memset (&workers[n_workers], 0, sizeof workers[0]);
      snprintf (workers[n_workers].port, sizeof workers[0].port, "%.*s", (int)(eq - argv[i]),
                argv[i]);
      snprintf (workers[n_workers].number, sizeof workers[0].number, "%s", eq + 1);
      n_workers++;
    }
  }
  if (!api || !key || !n_workers)
    die ("dial: --api, --key and --sim are required");
  started = now_us ();
  for (int i = 0; i < n_workers; i++) {
    workers[i].api_port = api;
    workers[i].key = key;
    workers[i].n = n;
    workers[i].latencies = calloc ((size_t)n, sizeof (int64_t));
    pthread_create (&threads[i], NULL, dial_worker, &workers[i]);
  }
  all = calloc ((size_t)n * n_workers, sizeof (int64_t));
  for (int i = 0; i < n_workers; i++) {
    pthread_join (threads[i], NULL);
    memcpy (all + total, workers[i].latencies, workers[i].done * sizeof (int64_t));
    total += (size_t)workers[i].done;
    retries += workers[i].retries;
    errors += workers[i].errors;
  }
  printf ("dial_errors=%d\ndial_busy_retries=%d\ndial_elapsed_us=%lld\n", errors, retries,
          (long long)(now_us () - started));
  print_stats ("dial", all, total);
  return errors > 0;
}

/* --- ModemManager's signals on the bench's bus ------------------------------------------------ */

/*
 * The event latency starts at ModemManager's D-Bus signal, not at the simulator's control
 * command (which adds ModemManager's own AT parsing). A GMainLoop in its own thread connects to the
 * bus (asynchronously), subscribes to Call.StateChanged for every call object and to
 * Modem.Voice.CallAdded (1.20.4 creates an incoming call already ringing-in: CallAdded, no
 * StateChanged), and records each one. The time is taken in a connection filter, which runs in
 * GDBus's worker thread as soon as the message is read from the socket: no hop to the loop's
 * thread inflates it. Same clock as the receiver (CLOCK_MONOTONIC, g_get_monotonic_time).
 */

#define MM_CALL_INTERFACE "org.freedesktop.ModemManager1.Call"
#define MM_VOICE_INTERFACE "org.freedesktop.ModemManager1.Modem.Voice"
#define MM_CALL_STATE_RINGING_IN 3
#define MM_CALL_STATE_TERMINATED 7
#define MAX_SIGNALS 65536

typedef enum { SIGNAL_STATE_CHANGED, SIGNAL_CALL_ADDED } SignalKind;

typedef struct {
  int64_t at;
  SignalKind kind;
  int old_state;
  int new_state;
  char path[96];
} MmSignal;

static pthread_mutex_t signals_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t signals_cond = PTHREAD_COND_INITIALIZER;
static MmSignal *mm_signals;
static size_t n_mm_signals;
static int bus_state; /* 0 connecting, 1 subscribed, -1 failed */

static void
set_bus_state (int state)
{
  pthread_mutex_lock (&signals_lock);
  bus_state = state;
  pthread_cond_broadcast (&signals_cond);
  pthread_mutex_unlock (&signals_lock);
}

static GDBusMessage *
on_bus_message (GDBusConnection *connection,
                GDBusMessage *message,
                gboolean incoming,
                gpointer user_data)
{
  int64_t at = g_get_monotonic_time ();
  const char *interface, *member;
  GVariant *body;
  MmSignal sig = { .at = at };

  if (!incoming || g_dbus_message_get_message_type (message) != G_DBUS_MESSAGE_TYPE_SIGNAL)
    return message;
  interface = g_dbus_message_get_interface (message);
  member = g_dbus_message_get_member (message);
  body = g_dbus_message_get_body (message);
  if (interface == NULL || member == NULL || body == NULL)
    return message;
  if (!strcmp (interface, MM_CALL_INTERFACE) && !strcmp (member, "StateChanged")
      && g_variant_is_of_type (body, G_VARIANT_TYPE ("(iiu)"))) {
    sig.kind = SIGNAL_STATE_CHANGED;
    g_variant_get (body, "(iiu)", &sig.old_state, &sig.new_state, NULL);
    snprintf (sig.path, sizeof sig.path, "%s", g_dbus_message_get_path (message));
  } else if (!strcmp (interface, MM_VOICE_INTERFACE) && !strcmp (member, "CallAdded")
             && g_variant_is_of_type (body, G_VARIANT_TYPE ("(o)"))) {
    const char *path;

    sig.kind = SIGNAL_CALL_ADDED;
    g_variant_get (body, "(&o)", &path);
    snprintf (sig.path, sizeof sig.path, "%s", path);
  } else {
    return message;
  }
  pthread_mutex_lock (&signals_lock);
  if (n_mm_signals < MAX_SIGNALS)
    mm_signals[n_mm_signals++] = sig;
  pthread_cond_broadcast (&signals_cond);
  pthread_mutex_unlock (&signals_lock);
  return message;
}

static void
on_signal (GDBusConnection *connection,
           const char *sender,
           const char *path,
           const char *interface,
           const char *member,
           GVariant *parameters,
           gpointer user_data)
{
  /* Recorded by on_bus_message; the subscriptions only route the signals here (match rules). */
}

static void
on_barrier_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GError *error = NULL;
  GVariant *reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);

  if (reply == NULL) {
    fprintf (stderr, "rc-bench-probe: bus: %s\n", error->message);
    g_error_free (error);
    set_bus_state (-1);
    return;
  }
  g_variant_unref (reply);
  set_bus_state (1); /* the bus answers in order: both AddMatch are in effect */
}

static void
on_bus_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GError *error = NULL;
  GDBusConnection *connection = g_dbus_connection_new_for_address_finish (result, &error);

  if (connection == NULL) {
    fprintf (stderr, "rc-bench-probe: bus: %s\n", error->message);
    g_error_free (error);
    set_bus_state (-1);
    return;
  }
  g_dbus_connection_add_filter (connection, on_bus_message, NULL, NULL);
  g_dbus_connection_signal_subscribe (connection, NULL, MM_CALL_INTERFACE, "StateChanged", NULL,
                                      NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_signal, NULL, NULL);
  g_dbus_connection_signal_subscribe (connection, NULL, MM_VOICE_INTERFACE, "CallAdded", NULL, NULL,
                                      G_DBUS_SIGNAL_FLAGS_NONE, on_signal, NULL, NULL);
  g_dbus_connection_call (connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "GetId", NULL, G_VARIANT_TYPE ("(s)"),
                          G_DBUS_CALL_FLAGS_NONE, 10000, NULL, on_barrier_ready, NULL);
  /* the connection lives as long as the process */
}

static void *
bus_thread (void *data)
{
  const char *address = data;
  GMainContext *context = g_main_context_new ();
  GMainLoop *loop = g_main_loop_new (context, FALSE);

  g_main_context_push_thread_default (context);
  g_dbus_connection_new_for_address (address,
                                     G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
                                         | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                     NULL, NULL, on_bus_ready, NULL);
  g_main_loop_run (loop);
  return NULL;
}

/* Connects and subscribes; returns once the subscriptions are in effect (0) or failed (-1). */
static int
start_bus_watch (const char *address)
{
  pthread_t thread;
  int state;

  mm_signals = calloc (MAX_SIGNALS, sizeof *mm_signals);
  pthread_create (&thread, NULL, bus_thread, (void *)address);
  pthread_detach (thread);
  pthread_mutex_lock (&signals_lock);
  while (bus_state == 0)
    pthread_cond_wait (&signals_cond, &signals_lock);
  state = bus_state;
  pthread_mutex_unlock (&signals_lock);
  return state > 0 ? 0 : -1;
}

/* The first signal received at or after @since that ends a call (StateChanged to terminated) or,
 * with @ringing, announces an incoming one (CallAdded, or StateChanged to ringing-in). Waits up
 * to @timeout_ms: the probe may read the signal after the daemon acted on it. Its time, or -1;
 * @how says which signal matched. */
static int64_t
wait_signal (int64_t since, int ringing, int timeout_ms, const char **how)
{
  int64_t deadline = now_us () + timeout_ms * 1000LL;
  int64_t at = -1;

  pthread_mutex_lock (&signals_lock);
  while (at < 0) {
    for (size_t i = 0; i < n_mm_signals && at < 0; i++) {
      MmSignal *sig = &mm_signals[i];

      if (sig->at < since)
        continue;
      if (ringing && sig->kind == SIGNAL_CALL_ADDED) {
        at = sig->at;
        *how = "CallAdded";
      } else if (sig->kind == SIGNAL_STATE_CHANGED
                 && sig->new_state
                        == (ringing ? MM_CALL_STATE_RINGING_IN : MM_CALL_STATE_TERMINATED)) {
        at = sig->at;
        *how = "StateChanged";
      }
    }
    if (at >= 0)
      break;
    if (!wait_until (&signals_cond, &signals_lock, deadline))
      break;
  }
  pthread_mutex_unlock (&signals_lock);
  return at;
}

/* --- events ----------------------------------------------------------------------------------- */

static int
cmd_events (int argc, char **argv)
{
  int api = 0, recv = 0, n = 50, failures = 0, signal_missing = 0;
  int ring_by_call_added = 0, ring_by_state_changed = 0;
  const char *key = NULL, *bus = NULL, *how = "";
  char port[128] = "", number[32] = "";
  Conn *c = calloc (1, sizeof *c);
  Ctl ctl;
  int64_t *hangup, *ring, *both;
  int64_t *sig_hangup, *sig_ring, *sig_both, *mm_hangup, *mm_ring;
  size_t n_hangup = 0, n_ring = 0, n_sig_hangup = 0, n_sig_ring = 0;
  char headers[512], body[256], call_id[64], path[256];

  for (int i = 0; i < argc; i++) {
    if (!strcmp (argv[i], "--api") && i + 1 < argc)
      api = atoi (argv[++i]);
    else if (!strcmp (argv[i], "--recv") && i + 1 < argc)
      recv = atoi (argv[++i]);
    else if (!strcmp (argv[i], "--key") && i + 1 < argc)
      key = argv[++i];
    else if (!strcmp (argv[i], "--n") && i + 1 < argc)
      n = atoi (argv[++i]);
    else if (!strcmp (argv[i], "--bus") && i + 1 < argc)
      bus = argv[++i];
    else if (!strcmp (argv[i], "--sim") && i + 1 < argc) {
      char *eq = strchr (argv[++i], '=');
      if (!eq)
        die ("--sim PORTNAME=+NUMBER");
      snprintf (port, sizeof port, "%.*s", (int)(eq - argv[i]), argv[i]);
      snprintf (number, sizeof number, "%s", eq + 1);
    }
  }
  if (!api || !recv || !key || !port[0])
    die ("events: --api, --recv, --key and --sim are required");
  if (bus != NULL && start_bus_watch (bus) < 0)
    die ("events: cannot watch ModemManager's signals on %s", bus);
  start_receiver (recv);
  printf ("READY\n");
  fflush (stdout);
  c->fd = -1;
  c->port = api;
  ctl_open (&ctl, port);
  ctl_command (&ctl, "alert-after -1", NULL, 0);
  ctl_command (&ctl, "ring-period 0", NULL, 0);
  hangup = calloc ((size_t)n, sizeof (int64_t));
  ring = calloc ((size_t)n, sizeof (int64_t));
  sig_hangup = calloc ((size_t)n, sizeof (int64_t));
  sig_ring = calloc ((size_t)n, sizeof (int64_t));
  mm_hangup = calloc ((size_t)n, sizeof (int64_t));
  mm_ring = calloc ((size_t)n, sizeof (int64_t));
  snprintf (headers, sizeof headers, "Authorization: Bearer %s\r\n", key);
  snprintf (body, sizeof body, "{\"from\":\"%s\",\"to\":\"+4915712345678\"}", number);

  for (int i = 0; i < n; i++) {
    char *reply = NULL;
    int status = 0;
    int64_t sent, t0, t1, signalled;

    /* (a) outbound call, remote hangup: NO CARRIER */
    for (int attempt = 0; attempt < 1000; attempt++) {
      free (reply);
      reply = NULL;
      status = http (c, "POST", "/v1/calls/dial", headers, body, &reply);
      if (status != 409)
        break;
      sleep_us (5000);
    }
    if (status != 202 || !json_string (reply, "call_id", call_id, sizeof call_id)) {
      fprintf (stderr, "rc-bench-probe: events: dial: HTTP %d %s\n", status, reply ? reply : "");
      free (reply);
      failures++;
      continue;
    }
    free (reply);
    if (wait_arrival ("call.initiating", call_id, 5000, NULL) < 0 || !ctl_wait_call (&ctl, 5000)) {
      fprintf (stderr, "rc-bench-probe: events: call %s never reached the modem\n", call_id);
      failures++;
      continue;
    }
    sleep_us (100000); /* let ModemManager finish the dial before the line drops */
    sent = now_us ();
    ctl_command (&ctl, "hangup", NULL, 0);
    t0 = now_us ();
    t1 = wait_arrival ("terminal", call_id, 5000, NULL);
    if (t1 < 0) {
      fprintf (stderr, "rc-bench-probe: events: no terminal event for %s\n", call_id);
      failures++;
    } else {
      hangup[n_hangup++] = t1 - t0;
      if (bus != NULL && (signalled = wait_signal (sent, 0, 2000, &how)) >= 0) {
        mm_hangup[n_sig_hangup] = signalled - sent;
        sig_hangup[n_sig_hangup++] = t1 - signalled;
      } else if (bus != NULL) {
        fprintf (stderr, "rc-bench-probe: events: no StateChanged to terminated for %s\n", call_id);
        signal_missing++;
      }
    }

    /* (b) incoming call: RING + CLIP */
    for (int attempt = 0; attempt < 1000; attempt++) {
      char numbers[256];

      snprintf (path, sizeof path, "/v1/numbers/%%2B%s", number + 1);
      reply = NULL;
      status = http (c, "GET", path, headers, NULL, &reply);
      snprintf (numbers, sizeof numbers, "%s", reply ? reply : "");
      free (reply);
      if (strstr (numbers, "\"state\":\"available\"") != NULL)
        break;
      sleep_us (5000);
    }
    sent = now_us ();
    ctl_command (&ctl, "incoming +4930123456", NULL, 0);
    t0 = now_us ();
    t1 = wait_arrival ("call.ringing", NULL, 5000, call_id);
    if (t1 < 0) {
      fprintf (stderr, "rc-bench-probe: events: no call.ringing for an incoming call\n");
      failures++;
      ctl_command (&ctl, "hangup", NULL, 0);
      continue;
    }
    ring[n_ring++] = t1 - t0;
    if (bus != NULL && (signalled = wait_signal (sent, 1, 2000, &how)) >= 0) {
      mm_ring[n_sig_ring] = signalled - sent;
      sig_ring[n_sig_ring++] = t1 - signalled;
      if (!strcmp (how, "CallAdded"))
        ring_by_call_added++;
      else
        ring_by_state_changed++;
    } else if (bus != NULL) {
      fprintf (stderr, "rc-bench-probe: events: no CallAdded/StateChanged for an incoming call\n");
      signal_missing++;
    }
    snprintf (path, sizeof path, "/v1/calls/%s/hangup", call_id);
    reply = NULL;
    status = http (c, "POST", path, headers, "", &reply);
    free (reply);
    if (status != 200) {
      fprintf (stderr, "rc-bench-probe: events: decline: HTTP %d\n", status);
      ctl_command (&ctl, "hangup", NULL, 0);
    }
    wait_arrival ("terminal", call_id, 5000, NULL);
  }
  ctl_command (&ctl, "alert-after 300", NULL, 0);
  ctl_command (&ctl, "ring-period 3000", NULL, 0);
  both = calloc (n_hangup + n_ring, sizeof (int64_t));
  memcpy (both, hangup, n_hangup * sizeof (int64_t));
  memcpy (both + n_hangup, ring, n_ring * sizeof (int64_t));
  printf ("events_failures=%d\n", failures);
  print_stats ("event_nocarrier", hangup, n_hangup);
  print_stats ("event_ring", ring, n_ring);
  print_stats ("event_all", both, n_hangup + n_ring);
  if (bus != NULL) {
    sig_both = calloc (n_sig_hangup + n_sig_ring, sizeof (int64_t));
    memcpy (sig_both, sig_hangup, n_sig_hangup * sizeof (int64_t));
    memcpy (sig_both + n_sig_hangup, sig_ring, n_sig_ring * sizeof (int64_t));
    printf ("events_signal_missing=%d\nevents_ring_by_call_added=%d\n"
            "events_ring_by_state_changed=%d\n",
            signal_missing, ring_by_call_added, ring_by_state_changed);
    print_stats ("event_sig_nocarrier", sig_hangup, n_sig_hangup);
    print_stats ("event_sig_ring", sig_ring, n_sig_ring);
    print_stats ("event_sig_all", sig_both, n_sig_hangup + n_sig_ring);
    /* ModemManager's share: control command sent -> its signal read by the probe */
    print_stats ("event_mm_nocarrier", mm_hangup, n_sig_hangup);
    print_stats ("event_mm_ring", mm_ring, n_sig_ring);
  }
  return failures > 0 || signal_missing > 0;
}

/* --- drain ------------------------------------------------------------------------------------ */

static int
cmd_drain (int argc, char **argv)
{
  int recv = 0, expect = 0, timeout = 120;
  int64_t deadline;
  size_t distinct = 0, seen = 0;
  int64_t first = -1, last = -1;
  char **ids;

  for (int i = 0; i < argc; i++) {
    if (!strcmp (argv[i], "--recv") && i + 1 < argc)
      recv = atoi (argv[++i]);
    else if (!strcmp (argv[i], "--expect") && i + 1 < argc)
      expect = atoi (argv[++i]);
    else if (!strcmp (argv[i], "--timeout") && i + 1 < argc)
      timeout = atoi (argv[++i]);
  }
  if (!recv || expect <= 0 || expect > MAX_ARRIVALS)
    die ("drain: --recv PORT --expect N (N <= %d)", MAX_ARRIVALS);
  start_receiver (recv);
  printf ("READY\n");
  fflush (stdout);
  ids = calloc ((size_t)expect * 2 + 1, sizeof (char *));
  deadline = now_us () + timeout * 1000000LL;
  pthread_mutex_lock (&arrivals_lock);
  while ((int)distinct < expect && now_us () < deadline) {
    struct timespec ts;

    for (; seen < n_arrivals; seen++) {
      int duplicate = 0;

      /* distinct event ids: a small open-addressing set */
      size_t h = 0;
      for (const char *p = arrivals[seen].event_id; *p; p++)
        h = h * 131 + (unsigned char)*p;
      for (size_t slot = h % ((size_t)expect * 2 + 1);;
           slot = (slot + 1) % ((size_t)expect * 2 + 1)) {
        if (ids[slot] == NULL) {
          ids[slot] = arrivals[seen].event_id;
          break;
        }
        if (!strcmp (ids[slot], arrivals[seen].event_id)) {
          duplicate = 1;
          break;
        }
      }
      if (!duplicate) {
        distinct++;
        if (first < 0)
          first = arrivals[seen].at;
        last = arrivals[seen].at;
      }
    }
    clock_gettime (CLOCK_REALTIME, &ts);
    ts.tv_nsec += 50 * 1000000;
    ts.tv_sec += ts.tv_nsec / 1000000000;
    ts.tv_nsec %= 1000000000;
    pthread_cond_timedwait (&arrivals_cond, &arrivals_lock, &ts);
  }
  pthread_mutex_unlock (&arrivals_lock);
  printf ("drain_received=%zu\ndrain_distinct=%zu\ndrain_first_to_last_us=%lld\n", n_arrivals,
          distinct, (long long)(last - first));
  if (distinct > 1 && last > first)
    printf ("drain_rate=%.0f\n", (double)(distinct - 1) * 1e6 / (double)(last - first));
  return (int)distinct < expect;
}

/* --- startup ---------------------------------------------------------------------------------- */

static int
cmd_startup (int argc, char **argv)
{
  const char *daemon = NULL, *db = NULL, *key = NULL, *log = "/dev/null", *config = "/dev/null";
  int api = 0, runs = 5;
  int64_t *ready, *first;
  char headers[512];

  for (int i = 0; i < argc; i++) {
    if (!strcmp (argv[i], "--daemon") && i + 1 < argc)
      daemon = argv[++i];
    else if (!strcmp (argv[i], "--db") && i + 1 < argc)
      db = argv[++i];
    else if (!strcmp (argv[i], "--api") && i + 1 < argc)
      api = atoi (argv[++i]);
    else if (!strcmp (argv[i], "--key") && i + 1 < argc)
      key = argv[++i];
    else if (!strcmp (argv[i], "--runs") && i + 1 < argc)
      runs = atoi (argv[++i]);
    else if (!strcmp (argv[i], "--log") && i + 1 < argc)
      log = argv[++i];
    else if (!strcmp (argv[i], "--config") && i + 1 < argc)
      config = argv[++i];
  }
  if (!daemon || !db || !api || !key)
    die ("startup: --daemon, --db, --api and --key are required");
  ready = calloc ((size_t)runs, sizeof (int64_t));
  first = calloc ((size_t)runs, sizeof (int64_t));
  snprintf (headers, sizeof headers, "Authorization: Bearer %s\r\n", key);
  for (int r = 0; r < runs; r++) {
    int pipefd[2];
    char listen_arg[64], line[512];
    size_t used = 0;
    int64_t started;
    pid_t pid;
    int status;
    Conn *c = calloc (1, sizeof *c);

    snprintf (listen_arg, sizeof listen_arg, "127.0.0.1:%d", api);
    if (pipe2 (pipefd, O_CLOEXEC) < 0)
      die ("pipe");
    started = now_us ();
    pid = fork ();
    if (pid == 0) {
      FILE *err = fopen (log, "a");
      dup2 (pipefd[1], 1);
      if (err)
        dup2 (fileno (err), 2);
      execl (daemon, daemon, "--config", config, "--database", db, "--listen", listen_arg,
             "--print-ready", (char *)NULL);
      _exit (127);
    }
    close (pipefd[1]);
    for (;;) {
      ssize_t n = read (pipefd[0], line + used, sizeof line - 1 - used);
      if (n <= 0)
        die ("startup: the daemon exited before READY (see %s)", log);
      used += (size_t)n;
      line[used] = '\0';
      if (strstr (line, "READY") != NULL)
        break;
    }
    ready[r] = now_us () - started;
    c->fd = -1;
    c->port = api;
    for (int attempt = 0;; attempt++) {
      char *reply = NULL;
      int code = http (c, "GET", "/v1/calls?per_page=1", headers, NULL, &reply);
      free (reply);
      if (code == 200)
        break;
      if (attempt > 10000)
        die ("startup: GET /v1/calls never answered 200 (last %d)", code);
      sleep_us (200);
    }
    first[r] = now_us () - started;
    if (c->fd >= 0)
      close (c->fd);
    free (c);
    kill (pid, SIGTERM);
    waitpid (pid, &status, 0);
    close (pipefd[0]);
    sleep_us (200000);
  }
  print_stats ("startup_ready", ready, (size_t)runs);
  print_stats ("startup_first_list", first, (size_t)runs);
  return 0;
}

int
main (int argc, char **argv)
{
  signal (SIGPIPE, SIG_IGN);
  setvbuf (stdout, NULL, _IOLBF, 0);
  if (argc >= 2 && !strcmp (argv[1], "dial"))
    return cmd_dial (argc - 2, argv + 2);
  if (argc >= 2 && !strcmp (argv[1], "events"))
    return cmd_events (argc - 2, argv + 2);
  if (argc >= 2 && !strcmp (argv[1], "drain"))
    return cmd_drain (argc - 2, argv + 2);
  if (argc >= 2 && !strcmp (argv[1], "startup"))
    return cmd_startup (argc - 2, argv + 2);
  fprintf (stderr, "usage: rc-bench-probe dial|events|drain|startup ...\n");
  return 2;
}
