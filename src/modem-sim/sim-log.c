/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "sim-log"

#include "config.h"

#include "sim-log.h"

#include "rc-log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/**
 * sim-log: the AT dialogue log of the modem simulator.
 *
 * One line per command, response, unsolicited line or control command, with a UTC wall-clock
 * timestamp. Numbers appear in ATD commands, in +CLIP, +CLCC, +CCWA and +CNUM lines, in
 * "incoming" control commands and in "number=" status fields; they are masked unless
 * rc_log_set_personal_info (TRUE) was called.
 */

static FILE *log_stream;

gboolean
sim_log_open (const char *path, GError **error)
{
  FILE *stream;

  if (path == NULL || strcmp (path, "-") == 0) {
    log_stream = stderr;
    return TRUE;
  }
  stream = fopen (path, "ae");
  if (stream == NULL) {
    int saved_errno = errno;

    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                 "cannot open log %s: %s", path, g_strerror (saved_errno));
    return FALSE;
  }
  setvbuf (stream, NULL, _IOLBF, 0);
  log_stream = stream;
  return TRUE;
}

void
sim_log_close (void)
{
  if (log_stream != NULL && log_stream != stderr)
    fclose (log_stream);
  log_stream = NULL;
}

static gboolean
is_number_char (char c)
{
  return g_ascii_isdigit (c) || c == '+' || c == '*' || c == '#';
}

/* Masks the contents of every double-quoted string that holds a number. */
static void
mask_quoted (GString *out, const char *text)
{
  const char *p = text;

  while (*p != '\0') {
    const char *open = strchr (p, '"');
    const char *close;
    g_autofree char *content = NULL;
    g_autofree char *masked = NULL;

    if (open == NULL || (close = strchr (open + 1, '"')) == NULL) {
      g_string_append (out, p);
      return;
    }
    g_string_append_len (out, p, open + 1 - p);
    content = g_strndup (open + 1, (gsize)(close - open - 1));
    if (content[0] != '\0' && is_number_char (content[0]))
      masked = rc_log_number (content);
    g_string_append (out, masked != NULL ? masked : content);
    g_string_append_c (out, '"');
    p = close + 1;
  }
}

/* Masks the value of a "key=value" or the word after "incoming". */
static void
mask_words (GString *out, const char *text)
{
  g_auto (GStrv) words = g_strsplit (text, " ", -1);
  gboolean next_is_number = FALSE;

  for (guint i = 0; words[i] != NULL; i++) {
    const char *word = words[i];
    const char *value = NULL;

    if (i > 0)
      g_string_append_c (out, ' ');
    if (g_str_has_prefix (word, "number="))
      value = word + strlen ("number=");
    else if (g_str_has_prefix (word, "own-number="))
      value = word + strlen ("own-number=");

    if (value != NULL && *value != '\0') {
      g_autofree char *masked = rc_log_number (value);

      g_string_append_len (out, word, value - word);
      g_string_append (out, masked);
    } else if (next_is_number && is_number_char (word[0])) {
      g_autofree char *masked = rc_log_number (word);

      g_string_append (out, masked);
    } else {
      g_string_append (out, word);
    }
    next_is_number = i == 0 && strcmp (word, "incoming") == 0;
  }
}

char *
sim_log_mask_numbers (const char *text)
{
  g_autoptr (GString) out = g_string_new (NULL);
  static const char *const quoted_prefixes[] = { "+CLIP", "+CLCC", "+CCWA", "+CNUM" };

  if (rc_log_get_personal_info ())
    return g_strdup (text);

  if (g_ascii_strncasecmp (text, "ATD", 3) == 0) {
    const char *number = text + 3;
    size_t len = strcspn (number, ";");
    g_autofree char *plain = g_strndup (number, len);
    g_autofree char *masked = rc_log_number (plain);

    g_string_append_len (out, text, 3);
    g_string_append (out, len > 0 ? masked : "");
    g_string_append (out, number + len);
    return g_string_free (g_steal_pointer (&out), FALSE);
  }
  for (guint i = 0; i < G_N_ELEMENTS (quoted_prefixes); i++) {
    if (g_ascii_strncasecmp (text, quoted_prefixes[i], strlen (quoted_prefixes[i])) == 0) {
      mask_quoted (out, text);
      return g_string_free (g_steal_pointer (&out), FALSE);
    }
  }
  mask_words (out, text);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* Control characters and non-ASCII bytes as \\xNN, so that one line stays one line. */
static char *
escape_line (const char *text)
{
  g_autoptr (GString) out = g_string_new (NULL);

  for (const char *p = text; *p != '\0'; p++) {
    guchar c = (guchar)*p;

    if (c < 0x20 || c >= 0x7f || c == '\\')
      g_string_append_printf (out, "\\x%02X", c);
    else
      g_string_append_c (out, (char)c);
  }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static char *
format_timestamp (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *base = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S");

  return g_strdup_printf ("%s.%03dZ", base, g_date_time_get_microsecond (now) / 1000);
}

void
sim_log_line (const char *direction, const char *channel, const char *text)
{
  g_autofree char *timestamp = NULL;
  g_autofree char *masked = NULL;
  g_autofree char *escaped = NULL;

  if (log_stream == NULL)
    return;
  timestamp = format_timestamp ();
  escaped = escape_line (text);
  masked = sim_log_mask_numbers (escaped);
  fprintf (log_stream, "%s %s %s%s%s\n", timestamp, direction, channel != NULL ? channel : "",
           channel != NULL ? " " : "", masked);
  fflush (log_stream);
}

void
sim_log_note (const char *format, ...)
{
  g_autofree char *timestamp = NULL;
  g_autofree char *text = NULL;
  va_list args;

  if (log_stream == NULL)
    return;
  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  timestamp = format_timestamp ();
  fprintf (log_stream, "%s -- %s\n", timestamp, text);
  fflush (log_stream);
}
