/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "rc-webhook-url"

#include "config.h"

#include "rc-webhook-url.h"

#include <string.h>

const char *const rc_webhook_event_types[] = {
  "call.initiating", "call.ringing",  "call.connected", "call.ended",
  "call.missed",     "call.rejected", "call.failed",    NULL,
};

gboolean
rc_webhook_url_check (const char *url, GError **error)
{
  g_autoptr (GUri) uri = NULL;
  const char *scheme;
  const char *host;

  if (url == NULL || *url == '\0' || strlen (url) > RC_WEBHOOK_URL_MAX
      || !g_utf8_validate (url, -1, NULL)) {
    g_set_error_literal (error, G_URI_ERROR, G_URI_ERROR_FAILED,
                         "url must be 1 to 2048 bytes of text");
    return FALSE;
  }
  uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL) {
    g_set_error_literal (error, G_URI_ERROR, G_URI_ERROR_FAILED,
                         "url is not an absolute URL such as https://example.com/hooks");
    return FALSE;
  }
  scheme = g_uri_get_scheme (uri);
  if (g_ascii_strcasecmp (scheme, "http") != 0 && g_ascii_strcasecmp (scheme, "https") != 0) {
    g_set_error_literal (error, G_URI_ERROR, G_URI_ERROR_BAD_SCHEME, "url must use http or https");
    return FALSE;
  }
  host = g_uri_get_host (uri);
  if (host == NULL || *host == '\0') {
    g_set_error_literal (error, G_URI_ERROR, G_URI_ERROR_BAD_HOST, "url has no host");
    return FALSE;
  }
  if (g_uri_get_userinfo (uri) != NULL) {
    g_set_error_literal (error, G_URI_ERROR, G_URI_ERROR_BAD_USER,
                         "url must not carry a user name or password");
    return FALSE;
  }
  return TRUE;
}
