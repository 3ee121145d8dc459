/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "fuzz-api-parse"

#include "config.h"

#include "rc-api-parse.h"
#include "rc-e164.h"
#include "rc-error.h"
#include "rc-json.h"

#include "fuzz-common.h"

#include <libsoup/soup.h>
#include <string.h>

/*
 * Input: four lines, "AUTHORIZATION\nIDEMPOTENCY-KEY\nQUERY\nBODY" (the body takes the rest),
 * each run the way the /v1/calls handlers take them from a request, through src/rc-api-parse.c:
 * - Authorization: the bearer key is the header's tail after a case-insensitive "Bearer ";
 * - Idempotency-Key: accepted exactly when 1 to 255 bytes of 0x21-0x7e;
 * - the list query (soup_form_decode ()): an accepted query has page and per_page in bounds,
 *   every date exactly YYYY-MM-DD that round-trips through GDateTime, from before to;
 *   a refusal names a parameter of the query;
 * - the dial body (rc_json_depth () then rc_json_parse_object () as rc_api_read_json_body ()):
 *   an accepted request has two valid E.164 numbers of one country, a timeout of 0 or 5-120
 *   and a client_reference of at most 128 characters; a refusal is a 400 or 422 RC_ERROR naming
 *   the field. Criticals are fatal, so a g_return_if_fail () reached from here is a finding.
 */

#define FUZZ_MAX_JSON_DEPTH 32 /* the default [api] max-json-depth */

static void
check_bearer (const char *authorization)
{
  const char *key = rc_api_parse_bearer (authorization);

  FUZZ_CHECK (rc_api_parse_bearer (NULL) == NULL);
  if (key == NULL) {
    FUZZ_CHECK (g_ascii_strncasecmp (authorization, "Bearer ", 7) != 0);
    return;
  }
  FUZZ_CHECK (key == authorization + 7);
  FUZZ_CHECK (g_ascii_strncasecmp (authorization, "bearer ", 7) == 0);
}

static void
check_idempotency_key (const char *key)
{
  gsize length = strlen (key);
  gboolean printable = length >= 1 && length <= RC_API_MAX_IDEMPOTENCY_KEY;

  for (gsize i = 0; i < length; i++)
    printable = printable && (guchar)key[i] >= 0x21 && (guchar)key[i] <= 0x7e;
  FUZZ_CHECK (rc_api_idempotency_key_valid (key) == printable);
}

static void
check_date (const char *text, gboolean end_of_day, gint64 usec)
{
  g_autoptr (GDateTime) time = NULL;
  g_autofree char *formatted = NULL;

  FUZZ_CHECK (strlen (text) == 10);
  time = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC - (end_of_day ? 86400 : 0));
  FUZZ_CHECK (time != NULL);
  /* Not "%Y": GLib does not pad years before 1000 */
  formatted = g_strdup_printf ("%04d-%02d-%02d", g_date_time_get_year (time),
                               g_date_time_get_month (time), g_date_time_get_day_of_month (time));
  if (!g_str_equal (formatted, text)) {
    fprintf (stderr, "date %s parsed as %" G_GINT64_FORMAT " µs (%s)\n", text, usec, formatted);
    abort ();
  }
}

static void
check_query (const char *text)
{
  g_autoptr (GHashTable) query = soup_form_decode (text);
  g_autoptr (GError) error = NULL;
  const char *field = NULL;
  RcCallListQuery parsed;

  if (!rc_api_parse_call_list_query (query, &parsed, &field, &error)) {
    FUZZ_CHECK (g_error_matches (error, RC_ERROR, RC_ERROR_INVALID_INPUT));
    FUZZ_CHECK (field != NULL);
    FUZZ_CHECK (g_str_equal (field, "to_date") || g_hash_table_contains (query, field));
    return;
  }
  FUZZ_CHECK (error == NULL);
  FUZZ_CHECK (parsed.page >= 1 && parsed.page <= RC_API_MAX_PAGE);
  FUZZ_CHECK (parsed.per_page >= 1 && parsed.per_page <= RC_API_MAX_PER_PAGE);
  FUZZ_CHECK (parsed.filter.number == NULL || rc_e164_is_valid (parsed.filter.number));
  if (g_hash_table_contains (query, "from_date"))
    check_date (g_hash_table_lookup (query, "from_date"), FALSE, parsed.filter.from_time);
  if (g_hash_table_contains (query, "to_date")) {
    /* 0 means "no bound" to the store: a given date must not become one */
    FUZZ_CHECK (parsed.filter.to_time != 0);
    check_date (g_hash_table_lookup (query, "to_date"), TRUE, parsed.filter.to_time);
  }
  if (g_hash_table_contains (query, "from_date") && g_hash_table_contains (query, "to_date"))
    FUZZ_CHECK (parsed.filter.from_time < parsed.filter.to_time);
}

static void
check_dial (const char *body, gsize length)
{
  g_autoptr (JsonObject) object = NULL;
  g_autoptr (GError) error = NULL;
  RcDialRequest request = { 0 };
  const char *field = NULL;

  if (rc_json_depth (body, length, FUZZ_MAX_JSON_DEPTH) > FUZZ_MAX_JSON_DEPTH)
    return;
  object = rc_json_parse_object (body, length, NULL);
  if (object == NULL)
    return;
  if (!rc_api_parse_dial_body (object, &request, &field, &error)) {
    FUZZ_CHECK (error != NULL && error->domain == RC_ERROR);
    FUZZ_CHECK (error->code == RC_ERROR_INVALID_INPUT || error->code == RC_ERROR_INVALID_NUMBER
                || error->code == RC_ERROR_COUNTRY_MISMATCH);
    FUZZ_CHECK (field != NULL);
    FUZZ_CHECK (g_utf8_validate (error->message, -1, NULL));
    return;
  }
  FUZZ_CHECK (error == NULL);
  FUZZ_CHECK (rc_e164_is_valid (request.from) && rc_e164_is_valid (request.to));
  FUZZ_CHECK (rc_e164_same_country (request.from, request.to));
  FUZZ_CHECK (request.timeout_seconds == 0
              || (request.timeout_seconds >= RC_API_MIN_TIMEOUT
                  && request.timeout_seconds <= RC_API_MAX_TIMEOUT));
  FUZZ_CHECK (request.client_reference == NULL
              || g_utf8_strlen (request.client_reference, -1) <= RC_API_MAX_CLIENT_REFERENCE);
  FUZZ_CHECK (json_object_get_size (object) <= 4);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init_glib ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_auto (GStrv) fields = fuzz_split (data, size, 4);
  const char *body = fields[3];

  check_bearer (fields[0]);
  check_idempotency_key (fields[1]);
  check_query (fields[2]);
  /* The body keeps its bytes after a NUL: rc_json_parse_object () takes a length */
  {
    gsize offset = strlen (fields[0]) + strlen (fields[1]) + strlen (fields[2]) + 3;

    if (offset <= size && memchr (data, '\0', offset) == NULL)
      check_dial ((const char *)data + offset, size - offset);
    else
      check_dial (body, strlen (body));
  }
  return 0;
}
