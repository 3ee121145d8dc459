/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "fuzz-json"

#include "config.h"

#include "rc-api-private.h"
#include "rc-error.h"
#include "rc-json.h"

#include "fuzz-common.h"

/*
 * Input: a request body, bytes as received (NULs included). Runs it the way
 * rc_api_read_json_body () does: rc_json_depth () against the largest max-json-depth the config
 * allows, then rc_json_parse_object (). Checks:
 * - rc_json_depth () honours @limit: the result is MIN (depth, limit + 1) for every limit;
 * - the cheap scan never under-counts what the parser builds (else max-json-depth is bypassed);
 * - an accepted body is a JSON object of valid UTF-8 whose string members
 *   rc_api_get_string_member () returns as valid UTF-8; a refusal is an RC_ERROR with a message.
 */

#define FUZZ_JSON_MAX_DEPTH 256 /* [api] max-json-depth upper bound in rc-config.c */

static guint
node_depth (JsonNode *node)
{
  guint deepest = 0;

  if (JSON_NODE_HOLDS_OBJECT (node)) {
    JsonObjectIter iter;
    JsonNode *member;

    json_object_iter_init (&iter, json_node_get_object (node));
    while (json_object_iter_next (&iter, NULL, &member))
      deepest = MAX (deepest, node_depth (member));
    return deepest + 1;
  }
  if (JSON_NODE_HOLDS_ARRAY (node)) {
    JsonArray *array = json_node_get_array (node);

    for (guint i = 0; i < json_array_get_length (array); i++)
      deepest = MAX (deepest, node_depth (json_array_get_element (array, i)));
    return deepest + 1;
  }
  return 0;
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
  /* A copy of exactly @size bytes, so ASan sees any read past the end */
  g_autofree char *body = g_memdup2 (data, size);
  const guint limits[] = { 0, 1, 2, 3, 32, FUZZ_JSON_MAX_DEPTH };
  guint depth = rc_json_depth (body, size, G_MAXUINT - 1);
  g_autoptr (JsonObject) object = NULL;
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (limits); i++)
    FUZZ_CHECK (rc_json_depth (body, size, limits[i]) == MIN (depth, limits[i] + 1));
  if (depth > FUZZ_JSON_MAX_DEPTH)
    return 0; /* refused before any parser runs */

  object = rc_json_parse_object (size > 0 ? body : "", size, &error);
  if (object == NULL) {
    FUZZ_CHECK (error != NULL && error->domain == RC_ERROR
                && error->code == RC_ERROR_INVALID_INPUT);
    FUZZ_CHECK (g_utf8_validate (error->message, -1, NULL));
    return 0;
  }
  FUZZ_CHECK (error == NULL);
  FUZZ_CHECK (g_utf8_validate (body, size, NULL));
  {
    g_autoptr (JsonNode) root = json_node_init_object (json_node_alloc (), object);
    guint built = node_depth (root);

    if (built > depth) {
      fprintf (stderr, "rc_json_depth () says %u, the parsed object is %u deep\n", depth, built);
      abort ();
    }
  }
  {
    JsonObjectIter iter;
    const char *name;

    json_object_iter_init (&iter, object);
    while (json_object_iter_next (&iter, &name, NULL)) {
      gboolean wrong_type = TRUE;
      const char *value = rc_api_get_string_member (object, name, &wrong_type);

      FUZZ_CHECK (g_utf8_validate (name, -1, NULL));
      if (value != NULL)
        FUZZ_CHECK (!wrong_type && g_utf8_validate (value, -1, NULL));
    }
  }
  return 0;
}
