/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#pragma once

/* Request validation of the /v1 API, free of libsoup and the store, so tests/fuzz reaches it. */

#include <json-glib/json-glib.h>

#include "rc-calls.h"
#include "rc-store.h"

G_BEGIN_DECLS

#define RC_API_MAX_IDEMPOTENCY_KEY 255
#define RC_API_MAX_CLIENT_REFERENCE 128
#define RC_API_MIN_TIMEOUT 5
#define RC_API_MAX_TIMEOUT 120
#define RC_API_DEFAULT_PER_PAGE 20
#define RC_API_MAX_PER_PAGE 100
#define RC_API_MAX_PAGE 1000000

/* The key of "Authorization: Bearer <key>" (scheme case-insensitive), borrowed from
 * @authorization; NULL when absent or another scheme (401). */
const char *rc_api_parse_bearer (const char *authorization);

/* 1 to 255 printable ASCII characters (0x21-0x7e). */
gboolean rc_api_idempotency_key_valid (const char *key);

/* "YYYY-MM-DD" exactly, a real date from 1970 to 9998: its first µs (UTC), or with @end_of_day
 * the next day's. */
gboolean rc_api_parse_date (const char *text, gboolean end_of_day, gint64 *out);

/* A whole number from 1 to @max, digits only (no sign, no white space). */
gboolean rc_api_parse_positive (const char *text, guint max, guint *out);

/* A string member; @wrong_type is set when present but not a string (null counts as absent). */
const char *rc_api_get_string_member (JsonObject *object, const char *name, gboolean *wrong_type);

/* The first member of @object not in @known, or NULL. */
const char *rc_api_find_unknown_member (JsonObject *object, const char *const *known);

/* POST /v1/calls/dial: fills from, to, timeout_seconds and client_reference of @request
 * (borrowed from @body). FALSE with RC_ERROR_INVALID_INPUT (400), _INVALID_NUMBER or
 * _COUNTRY_MISMATCH (422) and the offending field in @out_field (static or borrowed from @body). */
gboolean rc_api_parse_dial_body (JsonObject *body,
                                 RcDialRequest *request,
                                 const char **out_field,
                                 GError **error);

typedef struct {
  RcCallFilter filter; /* strings borrowed from the query table */
  guint page;
  guint per_page;
} RcCallListQuery;

/* GET /v1/calls: @query as SoupServer decodes it (nullable). FALSE with RC_ERROR_INVALID_INPUT
 * and the parameter in @out_field (borrowed from @query). */
gboolean rc_api_parse_call_list_query (GHashTable *query,
                                       RcCallListQuery *out,
                                       const char **out_field,
                                       GError **error);

G_END_DECLS
