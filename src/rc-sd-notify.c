/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "rc-sd-notify"

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

/**
 * rc-sd-notify: the service manager notification protocol (sd_notify(3)), without libsystemd.
 *
 * A notification is one datagram on an AF_UNIX SOCK_DGRAM socket named by $NOTIFY_SOCKET: a
 * filesystem path ("/run/systemd/notify") or an abstract name ("@name", the '@' stands for the
 * leading NUL). The payload is newline-separated "KEY=value" lines ("READY=1", "WATCHDOG=1",
 * "STOPPING=1", "STATUS=…"). systemd reads the sender's PID from the socket credentials, so the
 * daemon sends nothing else. The send never blocks: a full receive queue is an error, not a wait,
 * and the main loop goes on.
 *
 * The watchdog interval comes from $WATCHDOG_USEC, meant for this process only when $WATCHDOG_PID
 * is unset or names it (a service manager sets both; a parent that exec'd us may have left them).
 */

#define RC_SD_NOTIFY_SOCKET_ENV "NOTIFY_SOCKET"
#define RC_SD_WATCHDOG_USEC_ENV "WATCHDOG_USEC"
#define RC_SD_WATCHDOG_PID_ENV "WATCHDOG_PID"
#define RC_SD_ABSTRACT_PREFIX '@'
#define RC_SD_DECIMAL 10

static gboolean
build_address (const char *name,
               struct sockaddr_un *address,
               socklen_t *address_length,
               GError **error)
{
  size_t length = strlen (name);

  memset (address, 0, sizeof *address);
  address->sun_family = AF_UNIX;
  if (name[0] == RC_SD_ABSTRACT_PREFIX) {
    /* Abstract: a leading NUL, then the name; the length counts no trailing NUL. */
    if (length < 2 || length > sizeof address->sun_path) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s: abstract socket name of %zu bytes", RC_SD_NOTIFY_SOCKET_ENV, length - 1);
      return FALSE;
    }
    memcpy (address->sun_path + 1, name + 1, length - 1);
    *address_length = (socklen_t)(offsetof (struct sockaddr_un, sun_path) + length);
    return TRUE;
  }
  if (name[0] != '/') {
    /* systemd also knows "vsock:…" (virtual machines); a host service never gets one. */
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                 "%s: only absolute paths and abstract names are supported",
                 RC_SD_NOTIFY_SOCKET_ENV);
    return FALSE;
  }
  if (length >= sizeof address->sun_path) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                 "%s: path of %zu bytes is too long", RC_SD_NOTIFY_SOCKET_ENV, length);
    return FALSE;
  }
  memcpy (address->sun_path, name, length + 1);
  *address_length = (socklen_t)(offsetof (struct sockaddr_un, sun_path) + length + 1);
  return TRUE;
}

static void
set_error_from_errno (GError **error, int saved_errno, const char *what)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "%s: %s: %s",
               RC_SD_NOTIFY_SOCKET_ENV, what, g_strerror (saved_errno));
}

/**
 * rc_sd_notify:
 * @state: the notification, e.g. "READY=1\nSTATUS=Serving the call API"
 *
 * Sends @state to the service manager. Without $NOTIFY_SOCKET (not started as a notify service)
 * there is nothing to do, and that is a success.
 *
 * Returns: %TRUE if sent or not supervised; %FALSE with @error when the send failed.
 */
gboolean
rc_sd_notify (const char *state, GError **error)
{
  const char *name;
  struct sockaddr_un address;
  socklen_t address_length = 0;
  size_t length;
  ssize_t sent;
  int saved_errno;
  int fd;

  g_return_val_if_fail (state != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  name = g_getenv (RC_SD_NOTIFY_SOCKET_ENV);
  if (name == NULL || name[0] == '\0')
    return TRUE;
  if (!build_address (name, &address, &address_length, error))
    return FALSE;

  fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    set_error_from_errno (error, errno, "socket");
    return FALSE;
  }
  length = strlen (state);
  do
    sent = sendto (fd, state, length, MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *)&address,
                   address_length);
  while (sent < 0 && errno == EINTR);
  saved_errno = errno;
  g_close (fd, NULL);
  if (sent < 0) {
    set_error_from_errno (error, saved_errno, "send");
    return FALSE;
  }
  if ((size_t)sent != length) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: sent %zd of %zu bytes",
                 RC_SD_NOTIFY_SOCKET_ENV, sent, length);
    return FALSE;
  }
  return TRUE;
}

/**
 * rc_sd_watchdog_get_usec:
 * @usec: (out): the watchdog timeout in microseconds, 0 when there is no watchdog for us
 *
 * Reads $WATCHDOG_USEC (and $WATCHDOG_PID). The service must send "WATCHDOG=1" more often than
 * every @usec microseconds; half of it is the usual interval.
 *
 * Returns: %FALSE with @error if either variable is malformed (then @usec is 0).
 */
gboolean
rc_sd_watchdog_get_usec (guint64 *usec, GError **error)
{
  const char *usec_value;
  const char *pid_value;
  guint64 timeout = 0;
  guint64 pid = 0;

  g_return_val_if_fail (usec != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  *usec = 0;
  usec_value = g_getenv (RC_SD_WATCHDOG_USEC_ENV);
  if (usec_value == NULL)
    return TRUE;
  if (!g_ascii_string_to_unsigned (usec_value, RC_SD_DECIMAL, 1, G_MAXUINT64, &timeout, error)) {
    g_prefix_error (error, "%s: ", RC_SD_WATCHDOG_USEC_ENV);
    return FALSE;
  }
  pid_value = g_getenv (RC_SD_WATCHDOG_PID_ENV);
  if (pid_value != NULL) {
    if (!g_ascii_string_to_unsigned (pid_value, RC_SD_DECIMAL, 1, G_MAXINT, &pid, error)) {
      g_prefix_error (error, "%s: ", RC_SD_WATCHDOG_PID_ENV);
      return FALSE;
    }
    if ((pid_t)pid != getpid ())
      return TRUE; /* meant for another process */
  }
  *usec = timeout;
  return TRUE;
}
