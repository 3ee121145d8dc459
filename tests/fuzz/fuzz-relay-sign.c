/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "fuzz-relay-sign"

#include "config.h"

#include "rc-json.h"
#include "rc-relay.h"

#include "fuzz-common.h"

#include <string.h>

/*
 * Input: four lines, "SECRET\nID\nTIMESTAMP\nBODY" (the body takes the rest).
 *
 * A Standard Webhooks round trip: rc_relay_sign () must refuse exactly the malformed secrets
 * (no "whsec_", or nothing after base64 decoding), and its "v1,<base64>" must verify with an
 * independent GHmac over "id.timestamp.body" as a receiver computes it. Any change to the body,
 * the id or the timestamp must break verification (unless the signed text is byte for byte the
 * same, which only '.' inside an id can arrange: Standard Webhooks' own ambiguity).
 *
 * Then the payload: an event made from the input (ids as rc_store_new_id () makes them, the
 * body as the event's data when it is a JSON object) must give a payload that is one JSON object
 * carrying exactly those values, and that signs and verifies like any body.
 */

#define FUZZ_SIGNATURE_PREFIX "v1,"
#define FUZZ_SECRET_PREFIX "whsec_"
#define FUZZ_DIGEST_LENGTH 32
#define FUZZ_ID_CHARS 26
#define FUZZ_MAX_SECONDS G_GINT64_CONSTANT (253402300799) /* 9999-12-31T23:59:59Z */

static const char *const event_types[] = {
  "call.initiating", "call.ringing",  "call.connected", "call.ended",
  "call.missed",     "call.rejected", "call.failed",    "webhook.test",
};

static char *
signed_content (const char *id, gint64 timestamp, const char *body)
{
  return g_strdup_printf ("%s.%" G_GINT64_FORMAT ".%s", id, timestamp, body);
}

/* What a receiver does: its own HMAC over the content, compared with each v1 signature. */
static gboolean
verify (
    const char *signature, const char *secret, const char *id, gint64 timestamp, const char *body)
{
  g_autofree guint8 *key = NULL;
  g_autofree guint8 *presented = NULL;
  g_autofree char *content = signed_content (id, timestamp, body);
  g_autoptr (GHmac) hmac = NULL;
  guint8 digest[FUZZ_DIGEST_LENGTH];
  gsize digest_length = sizeof digest;
  gsize key_length = 0;
  gsize presented_length = 0;
  guint8 difference = 0;

  if (!g_str_has_prefix (signature, FUZZ_SIGNATURE_PREFIX))
    return FALSE;
  key = g_base64_decode (secret + strlen (FUZZ_SECRET_PREFIX), &key_length);
  hmac = g_hmac_new (G_CHECKSUM_SHA256, key, key_length);
  g_hmac_update (hmac, (const guchar *)content, strlen (content));
  g_hmac_get_digest (hmac, digest, &digest_length);
  presented = g_base64_decode (signature + strlen (FUZZ_SIGNATURE_PREFIX), &presented_length);
  if (presented_length != sizeof digest)
    return FALSE;
  for (gsize i = 0; i < sizeof digest; i++)
    difference |= digest[i] ^ presented[i];
  return difference == 0;
}

/* Verification of (id, timestamp, body) against @signature of the original must fail unless
 * the signed content is the same text. */
static void
check_changed (const char *signature,
               const char *secret,
               const char *id,
               gint64 timestamp,
               const char *body,
               const char *changed_id,
               gint64 changed_timestamp,
               const char *changed_body)
{
  g_autofree char *original = signed_content (id, timestamp, body);
  g_autofree char *changed = signed_content (changed_id, changed_timestamp, changed_body);

  if (g_str_equal (original, changed))
    return;
  if (verify (signature, secret, changed_id, changed_timestamp, changed_body)) {
    fprintf (stderr, "a changed %s still verifies\n",
             !g_str_equal (id, changed_id)    ? "id"
             : timestamp != changed_timestamp ? "timestamp"
                                              : "body");
    abort ();
  }
}

/* @text with one byte changed (never to NUL) and with one byte more */
static void
variants (const char *text, guint seed, char **flipped, char **longer)
{
  gsize length = strlen (text);

  *flipped = g_strdup (text);
  if (length > 0) {
    gsize at = seed % length;

    (*flipped)[at] = (*flipped)[at] == 'A' ? 'B' : 'A';
  }
  *longer = g_strconcat (text, "x", NULL);
}

static void
check_round_trip (const char *secret, const char *id, gint64 timestamp, const char *body)
{
  g_autofree char *signature = rc_relay_sign (secret, id, timestamp, body);
  g_autofree char *flipped_id = NULL;
  g_autofree char *longer_id = NULL;
  g_autofree char *flipped_body = NULL;
  g_autofree char *longer_body = NULL;
  gboolean usable = FALSE;
  guint seed = g_str_hash (secret) ^ g_str_hash (body);

  if (g_str_has_prefix (secret, FUZZ_SECRET_PREFIX)) {
    gsize key_length = 0;
    g_autofree guint8 *key = g_base64_decode (secret + strlen (FUZZ_SECRET_PREFIX), &key_length);

    usable = key != NULL && key_length > 0;
  }
  if (!usable) {
    FUZZ_CHECK (signature == NULL);
    return;
  }
  FUZZ_CHECK (signature != NULL);
  FUZZ_CHECK (g_str_has_prefix (signature, FUZZ_SIGNATURE_PREFIX));
  FUZZ_CHECK (strlen (signature) == strlen (FUZZ_SIGNATURE_PREFIX) + 44);
  FUZZ_CHECK (verify (signature, secret, id, timestamp, body));
  {
    g_autofree char *again = rc_relay_sign (secret, id, timestamp, body);

    FUZZ_CHECK (g_strcmp0 (again, signature) == 0);
  }

  variants (id, seed, &flipped_id, &longer_id);
  variants (body, seed, &flipped_body, &longer_body);
  check_changed (signature, secret, id, timestamp, body, flipped_id, timestamp, body);
  check_changed (signature, secret, id, timestamp, body, longer_id, timestamp, body);
  check_changed (signature, secret, id, timestamp, body, id, timestamp, flipped_body);
  check_changed (signature, secret, id, timestamp, body, id, timestamp, longer_body);
  if (timestamp < G_MAXINT64)
    check_changed (signature, secret, id, timestamp, body, id, timestamp + 1, body);
  if (timestamp > G_MININT64)
    check_changed (signature, secret, id, timestamp, body, id, timestamp - 1, body);
  check_changed (signature, secret, id, timestamp, body, id,
                 timestamp ^ (G_GINT64_CONSTANT (1) << (seed % 62)), body);
}

/* An id as rc_store_new_id () makes them, taking its characters from @text */
static char *
event_id_from (const char *prefix, const char *text)
{
  static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";
  GString *id = g_string_new (prefix);
  gsize length = strlen (text);

  for (guint i = 0; i < FUZZ_ID_CHARS; i++)
    g_string_append_c (id, alphabet[(length > 0 ? (guchar)text[i % length] + i : i) & 0x1f]);
  return g_string_free (id, FALSE);
}

static void
check_payload (const char *secret, const char *id_text, gint64 timestamp, const char *body)
{
  g_autoptr (JsonObject) data = rc_json_parse_object (body, strlen (body), NULL);
  g_autofree char *data_text = NULL;
  g_autofree char *event_id = event_id_from ("evt_", id_text);
  g_autofree char *call_id = g_uuid_string_random ();
  g_autofree char *payload = NULL;
  g_autofree char *created_at = NULL;
  g_autoptr (JsonObject) parsed = NULL;
  g_autoptr (GError) error = NULL;
  RcEvent event = { 0 };
  guint64 magnitude = timestamp < 0 ? -(guint64)timestamp : (guint64)timestamp;

  event.event_id = event_id;
  event.type = (char *)event_types[magnitude % G_N_ELEMENTS (event_types)];
  event.call_id = timestamp & 1 ? call_id : NULL;
  event.sequence = (guint)(magnitude >> 8);
  /* Any time a stored event can have: after the epoch, before year 10000 */
  event.created_at = (gint64)(1 + magnitude % FUZZ_MAX_SECONDS) * G_USEC_PER_SEC;
  data_text = g_strdup (data != NULL ? body : "{}");
  event.data = data_text;

  payload = rc_relay_build_payload (&event);
  FUZZ_CHECK (payload != NULL);
  parsed = rc_json_parse_object (payload, strlen (payload), &error);
  if (parsed == NULL) {
    fprintf (stderr, "payload is not one JSON object: %s\n", error->message);
    abort ();
  }
  created_at = rc_json_format_time (event.created_at);
  FUZZ_CHECK (
      g_strcmp0 (json_object_get_string_member_with_default (parsed, "id", NULL), event.event_id)
      == 0);
  FUZZ_CHECK (
      g_strcmp0 (json_object_get_string_member_with_default (parsed, "type", NULL), event.type)
      == 0);
  FUZZ_CHECK (g_strcmp0 (json_object_get_string_member_with_default (parsed, "created_at", NULL),
                         created_at)
              == 0);
  FUZZ_CHECK (json_object_has_member (parsed, "sequence") == (event.call_id != NULL));
  if (event.call_id != NULL)
    FUZZ_CHECK (json_object_get_int_member_with_default (parsed, "sequence", -1) == event.sequence);
  FUZZ_CHECK (json_object_get_size (parsed) == (event.call_id != NULL ? 5u : 4u));
  {
    JsonNode *embedded = json_object_get_member (parsed, "data");
    g_autoptr (JsonObject) expected = rc_json_parse_object (data_text, strlen (data_text), NULL);
    g_autoptr (JsonNode) expected_node = json_node_init_object (json_node_alloc (), expected);

    FUZZ_CHECK (embedded != NULL && JSON_NODE_HOLDS_OBJECT (embedded));
    FUZZ_CHECK (json_node_equal (embedded, expected_node));
  }
  check_round_trip (secret, event.event_id, timestamp, payload);
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
  const char *secret = fields[0];
  const char *id = fields[1];
  gint64 timestamp = g_ascii_strtoll (fields[2], NULL, 10);
  const char *body = fields[3];

  check_round_trip (secret, id, timestamp, body);
  if (g_utf8_validate (body, -1, NULL) && rc_json_depth (body, strlen (body), 32) <= 32)
    check_payload (secret, id, timestamp, body);
  return 0;
}
