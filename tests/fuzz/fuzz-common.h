/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#pragma once

/* Shared by the libFuzzer targets in tests/fuzz: fatal criticals, input splitting, checks. */

#include <glib.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* A broken invariant is a finding: say which and abort, so libFuzzer keeps the input. */
#define FUZZ_CHECK(condition)                                                                      \
  G_STMT_START                                                                                     \
  {                                                                                                \
    if (!(condition)) {                                                                            \
      fprintf (stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #condition);           \
      abort ();                                                                                    \
    }                                                                                              \
  }                                                                                                \
  G_STMT_END

/* A g_return_if_fail () reached from fuzz input is a bug in our code, as is a g_warning: both
 * abort (), so libFuzzer keeps the input and prints the stack. GLib's own fatal path (G_DEBUG=
 * fatal-criticals, which tools/fuzz also sets) raises SIGTRAP, which libFuzzer does not catch. */
static inline GLogWriterOutput
fuzz_log_writer (GLogLevelFlags log_level,
                 const GLogField *fields,
                 gsize n_fields,
                 gpointer user_data)
{
  if (log_level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)) {
    g_autofree char *line = g_log_writer_format_fields (log_level, fields, n_fields, FALSE);

    fprintf (stderr, "%s\nfuzz: a critical or warning is a finding\n", line);
    abort ();
  }
  return g_log_writer_default (log_level, fields, n_fields, user_data);
}

static inline void
fuzz_init_glib (void)
{
  g_log_set_writer_func (fuzz_log_writer, NULL, NULL);
  g_setenv ("LC_ALL", "C.UTF-8", TRUE);
}

/* The fuzz input as up to @n_fields NUL-terminated strings, split at '\n'; the last field
 * takes the rest (newlines included). Missing fields are "". Embedded NULs end a field where
 * a C string would: the functions under test take C strings. Free with g_strfreev (). */
static inline char **
fuzz_split (const uint8_t *data, size_t size, guint n_fields)
{
  char **fields = g_new0 (char *, n_fields + 1);
  size_t start = 0;

  for (guint i = 0; i < n_fields; i++) {
    size_t end = start;

    if (i + 1 < n_fields) {
      while (end < size && data[end] != '\n')
        end++;
    } else {
      end = size;
    }
    fields[i] = g_strndup (start < size ? (const char *)data + start : "", end - MIN (start, end));
    start = MIN (end + 1, size);
  }
  return fields;
}
