/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "fuzz-e164"

#include "config.h"

#include "rc-e164.h"

#include "fuzz-common.h"

#include <string.h>

/*
 * Input: three lines, "TOA\nCOUNTRY-CODE-OR-MCC\nRAW-NUMBER" (the last takes the rest).
 * Checks the documented contracts of every public rc-e164 function, that rc_e164_normalize ()
 * only ever returns numbers that rc_e164_country_code () accepts, that it is idempotent and that
 * the UCS2 hex form of a number normalises to the same number; and that error messages never
 * repeat the number.
 */

#define FUZZ_E164_MIN_PRIVATE 7 /* digits from which a number in a message counts as a leak */

static gboolean
is_assigned_code (const char *code)
{
  guint n_codes = 0;
  const char *const *codes = rc_e164_get_country_codes (&n_codes);

  for (guint i = 0; i < n_codes; i++) {
    if (g_str_equal (codes[i], code))
      return TRUE;
  }
  return FALSE;
}

static void
check_valid (const char *number)
{
  gsize length;

  if (!rc_e164_is_valid (number))
    return;
  length = strlen (number);
  FUZZ_CHECK (number[0] == '+' && number[1] >= '1' && number[1] <= '9');
  FUZZ_CHECK (length >= 1 + 7 && length <= 1 + 15);
  for (gsize i = 1; i < length; i++)
    FUZZ_CHECK (g_ascii_isdigit (number[i]));
}

static void
check_country_code (const char *number)
{
  const char *code = rc_e164_country_code (number);

  FUZZ_CHECK (rc_e164_same_country (number, number) == (code != NULL));
  if (code == NULL)
    return;
  FUZZ_CHECK (rc_e164_is_valid (number));
  FUZZ_CHECK (g_str_has_prefix (number + 1, code));
  FUZZ_CHECK (is_assigned_code (code));
}

static char *
to_ucs2_hex (const char *text)
{
  GString *hex = g_string_new (NULL);

  for (const char *p = text; *p != '\0'; p++)
    g_string_append_printf (hex, "%04X", (guint)(guchar)*p);
  return g_string_free (hex, FALSE);
}

static void
check_message_private (const char *message, const char *raw, const char *country_code)
{
  g_autofree char *digits = g_strdup (raw);
  char *out = digits;

  /* The number as digits only, so a reformatted copy in the message is found too */
  for (const char *p = raw; *p != '\0'; p++) {
    if (g_ascii_isdigit (*p))
      *out++ = *p;
  }
  *out = '\0';
  if (strlen (digits) < FUZZ_E164_MIN_PRIVATE || strstr (country_code, digits) != NULL)
    return;
  if (strstr (message, digits) != NULL) {
    fprintf (stderr, "error message repeats the number: %s\n", message);
    abort ();
  }
}

static void
check_normalize (const char *raw, int toa, const char *country_code)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *number = rc_e164_normalize (raw, toa, country_code, &error);

  if (number == NULL) {
    FUZZ_CHECK (error != NULL && error->domain == RC_E164_ERROR);
    FUZZ_CHECK (error->message != NULL && *error->message != '\0');
    check_message_private (error->message, raw, country_code != NULL ? country_code : "");
    FUZZ_CHECK (rc_e164_normalize (raw, toa, country_code, NULL) == NULL);
    return;
  }
  FUZZ_CHECK (error == NULL);
  FUZZ_CHECK (rc_e164_is_valid (number));
  FUZZ_CHECK (rc_e164_country_code (number) != NULL);

  {
    g_autofree char *again = rc_e164_normalize (number, toa, country_code, NULL);
    g_autofree char *bare = rc_e164_normalize (number, RC_E164_TOA_NOT_KNOWN, NULL, NULL);
    g_autofree char *hex = to_ucs2_hex (number);
    g_autofree char *decoded = rc_e164_normalize (hex, toa, country_code, NULL);

    FUZZ_CHECK (g_strcmp0 (again, number) == 0);
    FUZZ_CHECK (g_strcmp0 (bare, number) == 0);
    FUZZ_CHECK (g_strcmp0 (decoded, number) == 0);
  }
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
  g_auto (GStrv) fields = fuzz_split (data, size, 3);
  const char *code_or_mcc = fields[1];
  const char *raw = fields[2];
  gint64 toa = g_ascii_strtoll (fields[0], NULL, 10);
  const char *mcc_code;

  check_valid (raw);
  check_valid (code_or_mcc);
  check_country_code (raw);
  check_country_code (code_or_mcc);
  FUZZ_CHECK (rc_e164_same_country (raw, code_or_mcc) == rc_e164_same_country (code_or_mcc, raw));
  FUZZ_CHECK (!rc_e164_same_country (raw, NULL) && !rc_e164_same_country (NULL, raw));

  mcc_code = rc_e164_country_code_for_mcc (code_or_mcc);
  if (mcc_code != NULL) {
    FUZZ_CHECK (strlen (code_or_mcc) >= 3);
    for (const char *p = code_or_mcc; *p != '\0'; p++)
      FUZZ_CHECK (g_ascii_isdigit (*p));
    FUZZ_CHECK (is_assigned_code (mcc_code));
  }

  check_normalize (raw, (int)CLAMP (toa, G_MININT, G_MAXINT), code_or_mcc);
  check_normalize (raw, (int)CLAMP (toa, G_MININT, G_MAXINT), NULL);
  if (mcc_code != NULL)
    check_normalize (raw, (int)CLAMP (toa, G_MININT, G_MAXINT), mcc_code);
  return 0;
}
