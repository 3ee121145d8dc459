/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/*
 * RcApiClient: the test side of the /v1 API. Synchronous requests with a real libsoup client,
 * envelope assertions, and validation of real responses against data/openapi.json with
 * tests/check-openapi.py.
 *
 * Validation can be immediate (rc_api_client_assert_documented) or queued
 * (rc_api_client_queue_documented) and run in one Python process by
 * rc_api_client_flush_documented (), which fails the test on the first problem and names every
 * failing response. Queued responses are kept as copies, so replies may be freed meanwhile.
 */

typedef struct {
  guint status;
  char *body; /* NUL-terminated copy; body_length bytes before the NUL */
  gsize body_length;
  JsonNode *root; /* NULL when the body is not JSON */
  SoupMessageHeaders *headers;
} RcReply;

void rc_reply_free (RcReply *reply);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcReply, rc_reply_free)

typedef struct _RcApiClient RcApiClient;

/* @base_url ends with "/" (as printed by `reachcelld --print-ready`); @openapi_path is the
 * document responses are validated against. */
RcApiClient *rc_api_client_new (const char *base_url, const char *openapi_path);
void rc_api_client_free (RcApiClient *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcApiClient, rc_api_client_free)

void rc_api_client_set_base_url (RcApiClient *self, const char *base_url);
const char *rc_api_client_get_base_url (RcApiClient *self);
SoupSession *rc_api_client_get_session (RcApiClient *self);

/* @path starts with "/" and may carry a query. @key: sent as "Authorization: Bearer KEY" unless
 * NULL. @body of @body_length bytes (-1: strlen) with @content_type (NULL: no Content-Type).
 * @extra_headers: NULL-terminated name, value pairs (replacing earlier ones, Authorization
 * included). Asserts that the transport worked and that the answer carries X-Request-Id. */
RcReply *rc_api_client_request (RcApiClient *self,
                                const char *method,
                                const char *path,
                                const char *key,
                                const char *content_type,
                                const char *body,
                                gssize body_length,
                                const char *const *extra_headers);

/* { "success": true, "data": … }: the data member. */
JsonObject *rc_reply_data_object (RcReply *reply);
JsonArray *rc_reply_data_array (RcReply *reply);
/* The meta object of a list. */
JsonObject *rc_reply_meta (RcReply *reply);
/* Status and the error envelope: success false, error {code, message (non-empty), field?}, no
 * other members. Returns the error object. */
JsonObject *rc_reply_assert_error (RcReply *reply, guint status, const char *code);
/* A member that is a string or null (asserts which). */
const char *rc_json_string_or_null (JsonObject *object, const char *member);

void rc_api_client_queue_documented (RcApiClient *self,
                                     const char *method,
                                     const char *path,
                                     RcReply *reply);
void rc_api_client_flush_documented (RcApiClient *self);
void rc_api_client_assert_documented (RcApiClient *self,
                                      const char *method,
                                      const char *path,
                                      RcReply *reply);

G_END_DECLS
