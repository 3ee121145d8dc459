/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "fuzz-api-query"

#include "config.h"

#include "rc-api-private.h"
#include "rc-call.h"
#include "rc-e164.h"
#include "rc-store.h"

#include "fuzz-common.h"

#include <string.h>

/*
 * Input: a query string ("status=ended&page=2"), decoded with soup_form_decode () as SoupServer
 * does. Every value goes through the public parsers the list handlers of /v1/calls and
 * /v1/webhooks/{id}/deliveries use today (rc_api_parse_positive () and the enum parsers), and
 * each must accept exactly the canonical spellings. The handlers' own static code (dates, the
 * dial body, Authorization, Idempotency-Key) waits for src/rc-api-parse.c: fuzz-api-parse.
 */

#define FUZZ_MAX_PAGE 1000000
#define FUZZ_MAX_PER_PAGE 100

static void
check_positive (const char *text, guint max)
{
  guint value = 0;

  if (!rc_api_parse_positive (text, max, &value))
    return;
  FUZZ_CHECK (value >= 1 && value <= max);
  {
    /* Only digits, leading zeros allowed: no sign, space or other base */
    const char *digits = text;
    g_autofree char *canonical = g_strdup_printf ("%u", value);

    while (*digits == '0' && digits[1] != '\0')
      digits++;
    FUZZ_CHECK (g_str_equal (digits, canonical));
  }
}

static void
check_enums (const char *text)
{
  RcCallDirection direction;
  RcCallStatus status;
  RcEndReason reason;
  RcDeliveryStatus delivery;

  if (rc_call_direction_from_string (text, &direction))
    FUZZ_CHECK (g_strcmp0 (rc_call_direction_to_string (direction), text) == 0);
  if (rc_call_status_from_string (text, &status))
    FUZZ_CHECK (g_strcmp0 (rc_call_status_to_string (status), text) == 0);
  if (rc_end_reason_from_string (text, &reason))
    FUZZ_CHECK (g_strcmp0 (rc_end_reason_to_string (reason), text) == 0);
  if (rc_delivery_status_from_string (text, &delivery))
    FUZZ_CHECK (g_strcmp0 (rc_delivery_status_to_string (delivery), text) == 0);
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
  g_autofree char *text = g_strndup ((const char *)data, size);
  g_autoptr (GHashTable) query = soup_form_decode (text);
  GHashTableIter iter;
  const char *name;
  const char *value;

  g_hash_table_iter_init (&iter, query);
  while (g_hash_table_iter_next (&iter, (gpointer *)&name, (gpointer *)&value)) {
    check_positive (value, FUZZ_MAX_PAGE);
    check_positive (value, FUZZ_MAX_PER_PAGE);
    check_positive (value, 1);
    check_enums (value);
    check_enums (name);
    if (rc_e164_is_valid (value))
      FUZZ_CHECK (value[0] == '+');
  }
  return 0;
}
