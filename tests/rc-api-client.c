/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "rc-api-client"

#include "rc-api-client.h"

#include <string.h>

struct _RcApiClient {
  char *base_url;
  char *openapi_path;
  SoupSession *session;
  GString *queued; /* JSON lines for the batch validator */
  guint n_queued;
};

/* Imports check-openapi.py as a module and validates one JSON line per response. */
static const char batch_validator[]
    = "import importlib.util, json, sys\n"
      "spec = importlib.util.spec_from_file_location('check_openapi', sys.argv[1])\n"
      "mod = importlib.util.module_from_spec(spec)\n"
      "spec.loader.exec_module(mod)\n"
      "doc = mod.load_document(sys.argv[2])\n"
      "bad = 0\n"
      "n = 0\n"
      "for line in sys.stdin:\n"
      "    entry = json.loads(line)\n"
      "    n += 1\n"
      "    try:\n"
      "        problems = mod.validate_body(doc, entry['method'], entry['path'],\n"
      "                                     entry['status'], entry['body'])\n"
      "    except mod.UsageError as e:\n"
      "        problems = ['usage: %s' % e]\n"
      "    for p in problems:\n"
      "        bad += 1\n"
      "        print('invalid: %s %s %s: %s\\n  body: %s' % (entry['method'], entry['path'],\n"
      "              entry['status'], p, entry['body'][:400]))\n"
      "print('checked %d response(s), %d problem(s)' % (n, bad))\n"
      "sys.exit(1 if bad else 0)\n";

void
rc_reply_free (RcReply *reply)
{
  if (reply == NULL)
    return;
  g_clear_pointer (&reply->root, json_node_unref);
  g_clear_pointer (&reply->headers, soup_message_headers_unref);
  g_free (reply->body);
  g_free (reply);
}

RcApiClient *
rc_api_client_new (const char *base_url, const char *openapi_path)
{
  RcApiClient *self = g_new0 (RcApiClient, 1);

  self->base_url = g_strdup (base_url);
  self->openapi_path = g_strdup (openapi_path);
  self->session = soup_session_new_with_options ("timeout", 60, NULL);
  self->queued = g_string_new (NULL);
  return self;
}

void
rc_api_client_free (RcApiClient *self)
{
  if (self == NULL)
    return;
  if (self->n_queued > 0)
    g_printerr ("# rc-api-client: %u queued response(s) never validated\n", self->n_queued);
  g_clear_object (&self->session);
  g_string_free (self->queued, TRUE);
  g_free (self->base_url);
  g_free (self->openapi_path);
  g_free (self);
}

void
rc_api_client_set_base_url (RcApiClient *self, const char *base_url)
{
  g_free (self->base_url);
  self->base_url = g_strdup (base_url);
}

const char *
rc_api_client_get_base_url (RcApiClient *self)
{
  return self->base_url;
}

SoupSession *
rc_api_client_get_session (RcApiClient *self)
{
  return self->session;
}

RcReply *
rc_api_client_request (RcApiClient *self,
                       const char *method,
                       const char *path,
                       const char *key,
                       const char *content_type,
                       const char *body,
                       gssize body_length,
                       const char *const *extra_headers)
{
  g_autofree char *url = NULL;
  g_autoptr (SoupMessage) msg = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;
  SoupMessageHeaders *request_headers;
  RcReply *reply = g_new0 (RcReply, 1);

  g_assert_true (path[0] == '/');
  url = g_strconcat (self->base_url, path + 1, NULL);
  msg = soup_message_new (method, url);
  if (msg == NULL)
    g_error ("cannot make a %s request for %s", method, url);
  request_headers = soup_message_get_request_headers (msg);
  if (key != NULL) {
    g_autofree char *authorization = g_strconcat ("Bearer ", key, NULL);

    soup_message_headers_replace (request_headers, "Authorization", authorization);
  }
  for (guint i = 0; extra_headers != NULL && extra_headers[i] != NULL; i += 2)
    soup_message_headers_replace (request_headers, extra_headers[i], extra_headers[i + 1]);
  if (body != NULL) {
    g_autoptr (GBytes) payload
        = g_bytes_new (body, body_length < 0 ? strlen (body) : (gsize)body_length);

    soup_message_set_request_body_from_bytes (msg, content_type, payload);
  } else if (content_type != NULL) {
    soup_message_headers_replace (request_headers, "Content-Type", content_type);
  }
  bytes = soup_session_send_and_read (self->session, msg, NULL, &error);
  if (error != NULL)
    g_error ("%s %s: %s", method, path, error->message);
  reply->status = soup_message_get_status (msg);
  reply->body_length = g_bytes_get_size (bytes);
  reply->body = g_strndup (g_bytes_get_data (bytes, NULL), reply->body_length);
  reply->headers = soup_message_headers_ref (soup_message_get_response_headers (msg));
  reply->root = json_from_string (reply->body, NULL);
  if (soup_message_headers_get_one (reply->headers, "X-Request-Id") == NULL)
    g_error ("%s %s → %u without X-Request-Id", method, path, reply->status);
  return reply;
}

static JsonObject *
success_root (RcReply *reply)
{
  JsonObject *root;

  if (reply->root == NULL || !JSON_NODE_HOLDS_OBJECT (reply->root))
    g_error ("expected a JSON object, got %u: %s", reply->status, reply->body);
  root = json_node_get_object (reply->root);
  if (!json_object_has_member (root, "success")
      || !json_object_get_boolean_member (root, "success"))
    g_error ("expected success, got %u: %s", reply->status, reply->body);
  return root;
}

JsonObject *
rc_reply_data_object (RcReply *reply)
{
  JsonNode *data = json_object_get_member (success_root (reply), "data");

  if (data == NULL || !JSON_NODE_HOLDS_OBJECT (data))
    g_error ("data is not an object: %s", reply->body);
  return json_node_get_object (data);
}

JsonArray *
rc_reply_data_array (RcReply *reply)
{
  JsonNode *data = json_object_get_member (success_root (reply), "data");

  if (data == NULL || !JSON_NODE_HOLDS_ARRAY (data))
    g_error ("data is not an array: %.400s", reply->body);
  return json_node_get_array (data);
}

JsonObject *
rc_reply_meta (RcReply *reply)
{
  JsonNode *meta = json_object_get_member (success_root (reply), "meta");

  if (meta == NULL || !JSON_NODE_HOLDS_OBJECT (meta))
    g_error ("meta is not an object: %.400s", reply->body);
  return json_node_get_object (meta);
}

JsonObject *
rc_reply_assert_error (RcReply *reply, guint status, const char *code)
{
  JsonObject *root;
  JsonObject *error;
  JsonNode *node;
  g_autoptr (GList) members = NULL;

  if (reply->status != status || reply->root == NULL || !JSON_NODE_HOLDS_OBJECT (reply->root))
    g_error ("expected %u %s, got %u: %.400s", status, code, reply->status, reply->body);
  root = json_node_get_object (reply->root);
  g_assert_cmpuint (json_object_get_size (root), ==, 2);
  node = json_object_get_member (root, "success");
  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_BOOLEAN);
  g_assert_false (json_node_get_boolean (node));
  node = json_object_get_member (root, "error");
  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  error = json_node_get_object (node);
  if (g_strcmp0 (json_object_get_string_member_with_default (error, "code", NULL), code) != 0)
    g_error ("expected %u %s, got %u: %s", status, code, reply->status, reply->body);
  g_assert_cmpuint (strlen (json_object_get_string_member_with_default (error, "message", "")), >,
                    0);
  members = json_object_get_members (error);
  for (GList *l = members; l != NULL; l = l->next)
    if (!g_str_equal (l->data, "code") && !g_str_equal (l->data, "message")
        && !g_str_equal (l->data, "field"))
      g_error ("unexpected member error.%s: %s", (const char *)l->data, reply->body);
  if (json_object_has_member (error, "field"))
    g_assert_cmpuint (strlen (json_object_get_string_member_with_default (error, "field", "")), >,
                      0);
  return error;
}

const char *
rc_json_string_or_null (JsonObject *object, const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL)
    g_error ("member %s is missing", member);
  if (JSON_NODE_HOLDS_NULL (node))
    return NULL;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    g_error ("member %s is neither a string nor null", member);
  return json_node_get_string (node);
}

void
rc_api_client_queue_documented (RcApiClient *self,
                                const char *method,
                                const char *path,
                                RcReply *reply)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *line = NULL;

  if (!g_utf8_validate (reply->body, reply->body_length, NULL))
    g_error ("%s %s %u: the body is not UTF-8", method, path, reply->status);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "method");
  json_builder_add_string_value (builder, method);
  json_builder_set_member_name (builder, "path");
  json_builder_add_string_value (builder, path);
  json_builder_set_member_name (builder, "status");
  json_builder_add_int_value (builder, reply->status);
  json_builder_set_member_name (builder, "body");
  json_builder_add_string_value (builder, reply->body);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  line = json_to_string (root, FALSE);
  g_string_append (self->queued, line);
  g_string_append_c (self->queued, '\n');
  self->n_queued++;
}

void
rc_api_client_flush_documented (RcApiClient *self)
{
  g_autofree char *script = g_test_build_filename (G_TEST_DIST, "check-openapi.py", NULL);
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GBytes) input = NULL;
  g_autoptr (GBytes) output = NULL;
  g_autoptr (GError) error = NULL;

  if (self->n_queued == 0)
    return;
  input = g_bytes_new (self->queued->str, self->queued->len);
  g_string_truncate (self->queued, 0);
  self->n_queued = 0;
  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                  | G_SUBPROCESS_FLAGS_STDERR_MERGE,
                              &error, "/usr/bin/python3", "-c", batch_validator, script,
                              self->openapi_path, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate (process, input, NULL, &output, NULL, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_if_exited (process) || g_subprocess_get_exit_status (process) != 0)
    g_error ("responses do not match the OpenAPI document:\n%.*s", (int)g_bytes_get_size (output),
             (const char *)g_bytes_get_data (output, NULL));
}

void
rc_api_client_assert_documented (RcApiClient *self,
                                 const char *method,
                                 const char *path,
                                 RcReply *reply)
{
  rc_api_client_queue_documented (self, method, path, reply);
  rc_api_client_flush_documented (self);
}
