/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#pragma once

#include <json-glib/json-glib.h>

#include "rc-call.h"

G_BEGIN_DECLS

/* RFC 3339 UTC with 'Z', whole seconds ("2026-06-08T13:30:06Z"); NULL for 0. */
char *rc_json_format_time (gint64 usec);

/* The call object of SPEC §4. @status_override replaces "status" (the response-only
 * "answering"); NULL keeps the stored one. @now counts duration_seconds of a connected call. */
JsonNode *rc_json_call_node (const RcCall *call, const char *status_override, gint64 now);
char *rc_json_call_to_string (const RcCall *call, gint64 now);

char *rc_json_node_to_string (JsonNode *node);

/* Maximum nesting of objects and arrays in @data, scanning outside strings, stopping as soon as
 * @limit is exceeded (returns limit + 1). Cheap enough to run before any parser. */
guint rc_json_depth (const char *data, gsize length, guint limit);

/* Parses a JSON object. FALSE with a message in @error when it is not valid UTF-8, not JSON, or
 * not an object. */
JsonObject *rc_json_parse_object (const char *data, gsize length, GError **error);

G_END_DECLS
