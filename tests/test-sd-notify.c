/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "test-sd-notify"

#include "config.h"

#include "rc-sd-notify.h"

#include <gio/gio.h>
#include <glib/gstdio.h>

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* The service manager's side: a datagram socket bound where $NOTIFY_SOCKET points. */
typedef struct {
  int fd;
  char *directory;
} Fixture;

#define TEST_DATAGRAM_MAX 4096
#define TEST_MAX_SENDS 100000 /* far above net.unix.max_dgram_qlen (10 by default) */

static int
bind_datagram (const struct sockaddr_un *address, socklen_t length)
{
  int fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (bind (fd, (const struct sockaddr *)address, length), ==, 0);
  return fd;
}

/* Binds an abstract socket and points $NOTIFY_SOCKET at it ("@name"). */
static void
fixture_set_up_abstract (Fixture *fixture, gconstpointer data)
{
  struct sockaddr_un address = { .sun_family = AF_UNIX };
  g_autofree char *name
      = g_strdup_printf ("reachcelld-test-sd-notify-%d-%08x", (int)getpid (), g_random_int ());
  g_autofree char *variable = g_strconcat ("@", name, NULL);

  memcpy (address.sun_path + 1, name, strlen (name));
  fixture->fd = bind_datagram (
      &address, (socklen_t)(offsetof (struct sockaddr_un, sun_path) + 1 + strlen (name)));
  g_setenv ("NOTIFY_SOCKET", variable, TRUE);
}

/* Binds a socket in a temporary directory and points $NOTIFY_SOCKET at its path. */
static void
fixture_set_up_path (Fixture *fixture, gconstpointer data)
{
  struct sockaddr_un address = { .sun_family = AF_UNIX };
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;

  fixture->directory = g_dir_make_tmp ("test-sd-notify-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (fixture->directory, "notify", NULL);
  g_assert_cmpuint (strlen (path), <, sizeof address.sun_path);
  strcpy (address.sun_path, path);
  fixture->fd = bind_datagram (&address, sizeof address);
  g_setenv ("NOTIFY_SOCKET", path, TRUE);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_unsetenv ("NOTIFY_SOCKET");
  if (fixture->fd >= 0)
    g_close (fixture->fd, NULL);
  if (fixture->directory != NULL) {
    g_autofree char *path = g_build_filename (fixture->directory, "notify", NULL);

    g_unlink (path);
    g_rmdir (fixture->directory);
    g_free (fixture->directory);
  }
}

/* The next datagram, exactly; the send is synchronous, so it is queued already. */
static char *
receive (Fixture *fixture)
{
  char buffer[TEST_DATAGRAM_MAX];
  ssize_t n = recv (fixture->fd, buffer, sizeof buffer, MSG_DONTWAIT);

  g_assert_cmpint (n, >=, 0);
  return g_strndup (buffer, (gsize)n);
}

static void
assert_queue_empty (Fixture *fixture)
{
  char buffer[TEST_DATAGRAM_MAX];

  g_assert_cmpint (recv (fixture->fd, buffer, sizeof buffer, MSG_DONTWAIT), ==, -1);
  g_assert_cmpint (errno, ==, EAGAIN);
}

static guint
count_open_fds (void)
{
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint count = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    count++;
  return count;
}

static void
assert_notify_sends (Fixture *fixture, const char *state)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *received = NULL;

  g_assert_true (rc_sd_notify (state, &error));
  g_assert_no_error (error);
  received = receive (fixture);
  g_assert_cmpstr (received, ==, state);
}

/* What the daemon sends, in its order, byte for byte; no descriptor left open. */
static void
test_notify_messages (Fixture *fixture, gconstpointer data)
{
  guint fds_before = count_open_fds ();

  assert_notify_sends (fixture, "READY=1\nSTATUS=Serving the call API");
  assert_notify_sends (fixture, "WATCHDOG=1");
  assert_notify_sends (fixture, "WATCHDOG=1");
  assert_notify_sends (fixture, "STOPPING=1");
  assert_queue_empty (fixture);
  g_assert_cmpuint (count_open_fds (), ==, fds_before);
}

/* Without $NOTIFY_SOCKET the daemon was not started as a notify service: nothing to do. */
static void
test_notify_unset (void)
{
  g_autoptr (GError) error = NULL;

  g_unsetenv ("NOTIFY_SOCKET");
  g_assert_true (rc_sd_notify ("READY=1", &error));
  g_assert_no_error (error);
  g_setenv ("NOTIFY_SOCKET", "", TRUE);
  g_assert_true (rc_sd_notify ("READY=1", &error));
  g_assert_no_error (error);
  g_unsetenv ("NOTIFY_SOCKET");
}

static void
assert_notify_fails (const char *variable, int code)
{
  g_autoptr (GError) error = NULL;

  g_setenv ("NOTIFY_SOCKET", variable, TRUE);
  g_assert_false (rc_sd_notify ("READY=1", &error));
  g_assert_error (error, G_IO_ERROR, code);
  g_unsetenv ("NOTIFY_SOCKET");
}

static void
test_notify_bad_socket (void)
{
  g_autofree char *long_path = g_strnfill (200, 'a');
  g_autofree char *long_abstract = g_strnfill (200, 'a');
  g_autofree char *name = g_strdup_printf ("@reachcelld-test-sd-notify-nobody-%d-%08x",
                                           (int)getpid (), g_random_int ());

  long_path[0] = '/';
  long_abstract[0] = '@';
  assert_notify_fails ("vsock:2:1234", G_IO_ERROR_NOT_SUPPORTED);
  assert_notify_fails ("relative/notify", G_IO_ERROR_NOT_SUPPORTED);
  assert_notify_fails ("@", G_IO_ERROR_INVALID_ARGUMENT);
  assert_notify_fails (long_path, G_IO_ERROR_INVALID_ARGUMENT);
  assert_notify_fails (long_abstract, G_IO_ERROR_INVALID_ARGUMENT);
  assert_notify_fails (name, G_IO_ERROR_CONNECTION_REFUSED); /* nobody bound it */
  assert_notify_fails ("/nonexistent/reachcelld/notify", G_IO_ERROR_NOT_FOUND);
}

/* A receiver that does not read fills up; the send then fails at once instead of blocking. */
static void
test_notify_never_blocks (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  guint sent = 0;

  while (sent < TEST_MAX_SENDS && rc_sd_notify ("WATCHDOG=1", &error))
    sent++;
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
  g_assert_cmpuint (sent, >, 0);
  g_test_message ("%u datagrams queued before the receiver was full", sent);
}

typedef struct {
  const char *usec;
  const char *pid; /* "self" is this process, "other" another one */
  gboolean ok;
  guint64 expected;
} WatchdogCase;

static void
test_watchdog (void)
{
  const WatchdogCase cases[] = {
    { NULL, NULL, TRUE, 0 },
    { NULL, "self", TRUE, 0 },
    { "30000000", NULL, TRUE, 30000000 },
    { "30000000", "self", TRUE, 30000000 },
    { "30000000", "other", TRUE, 0 }, /* WATCHDOG_PID names another process: not ours */
    { "1", NULL, TRUE, 1 },
    { "18446744073709551615", NULL, TRUE, G_MAXUINT64 },
    { "0", NULL, FALSE, 0 },
    { "", NULL, FALSE, 0 },
    { "-5", NULL, FALSE, 0 },
    { "12x", NULL, FALSE, 0 },
    { " 12", NULL, FALSE, 0 },
    { "18446744073709551616", NULL, FALSE, 0 },
    { "30000000", "", FALSE, 0 },
    { "30000000", "abc", FALSE, 0 },
    { "30000000", "0", FALSE, 0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GError) error = NULL;
    g_autofree char *pid = NULL;
    guint64 usec = 12345;
    gboolean ok;

    if (g_strcmp0 (cases[i].pid, "self") == 0)
      pid = g_strdup_printf ("%d", (int)getpid ());
    else if (g_strcmp0 (cases[i].pid, "other") == 0)
      pid = g_strdup_printf ("%d", (int)getpid () + 1);
    else
      pid = g_strdup (cases[i].pid);
    if (cases[i].usec != NULL)
      g_setenv ("WATCHDOG_USEC", cases[i].usec, TRUE);
    else
      g_unsetenv ("WATCHDOG_USEC");
    if (pid != NULL)
      g_setenv ("WATCHDOG_PID", pid, TRUE);
    else
      g_unsetenv ("WATCHDOG_PID");

    ok = rc_sd_watchdog_get_usec (&usec, &error);
    g_test_message ("WATCHDOG_USEC=%s WATCHDOG_PID=%s -> %s %" G_GUINT64_FORMAT,
                    cases[i].usec ? cases[i].usec : "(unset)", pid ? pid : "(unset)",
                    ok ? "ok" : error->message, usec);
    g_assert_cmpint (ok, ==, cases[i].ok);
    if (ok)
      g_assert_no_error (error);
    else
      g_assert_nonnull (error);
    g_assert_cmpuint (usec, ==, cases[i].expected);
  }
  g_unsetenv ("WATCHDOG_USEC");
  g_unsetenv ("WATCHDOG_PID");
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/rc/sd-notify/abstract", Fixture, NULL, fixture_set_up_abstract,
              test_notify_messages, fixture_tear_down);
  g_test_add ("/rc/sd-notify/path", Fixture, NULL, fixture_set_up_path, test_notify_messages,
              fixture_tear_down);
  g_test_add_func ("/rc/sd-notify/unset", test_notify_unset);
  g_test_add_func ("/rc/sd-notify/bad-socket", test_notify_bad_socket);
  g_test_add ("/rc/sd-notify/never-blocks", Fixture, NULL, fixture_set_up_abstract,
              test_notify_never_blocks, fixture_tear_down);
  g_test_add_func ("/rc/sd-notify/watchdog", test_watchdog);
  return g_test_run ();
}
