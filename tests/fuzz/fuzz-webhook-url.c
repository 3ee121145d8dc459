/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "fuzz-webhook-url"

#include "config.h"

#include "rc-webhook-url.h"

#include "fuzz-common.h"

#include <libsoup/soup.h>

#include <string.h>

/*
 * Input: a URL (up to the first NUL). rc_webhook_url_check () must accept only what its header
 * promises (absolute http/https with a host, no user information, at most 2048 bytes of UTF-8),
 * always explain a refusal in G_URI_ERROR, and never repeat the URL in that message. An accepted
 * URL must also be one the relay can use: it parses with SOUP_HTTP_URI_FLAGS as rc-relay.c does,
 * and soup_message_new_from_uri () takes it (a critical there is fatal here).
 */

#define FUZZ_URL_MIN_PRIVATE 12 /* shorter URLs may be a word of the message by chance */

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init_glib ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *url = g_strndup ((const char *)data, size);
  g_autoptr (GError) error = NULL;
  gboolean ok = rc_webhook_url_check (url, &error);

  FUZZ_CHECK (ok == rc_webhook_url_check (url, NULL));
  if (!ok) {
    FUZZ_CHECK (error != NULL && error->domain == G_URI_ERROR);
    if (strlen (url) >= FUZZ_URL_MIN_PRIVATE && strstr (error->message, url) != NULL) {
      fprintf (stderr, "error message repeats the URL: %s\n", error->message);
      abort ();
    }
    return 0;
  }

  FUZZ_CHECK (error == NULL);
  FUZZ_CHECK (*url != '\0' && strlen (url) <= RC_WEBHOOK_URL_MAX);
  FUZZ_CHECK (g_utf8_validate (url, -1, NULL));
  {
    /* What the relay does with it (soup_message_new_from_uri () takes a GUri) */
    g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
    g_autoptr (GUri) encoded = g_uri_parse (url, G_URI_FLAGS_ENCODED, NULL);
    const char *scheme;

    FUZZ_CHECK (uri != NULL);
    scheme = g_uri_get_scheme (uri);
    FUZZ_CHECK (g_ascii_strcasecmp (scheme, "http") == 0
                || g_ascii_strcasecmp (scheme, "https") == 0);
    FUZZ_CHECK (g_uri_get_host (uri) != NULL && *g_uri_get_host (uri) != '\0');
    FUZZ_CHECK (g_uri_get_userinfo (uri) == NULL);
    FUZZ_CHECK (g_uri_get_user (uri) == NULL && g_uri_get_password (uri) == NULL);
    if (encoded != NULL)
      FUZZ_CHECK (g_uri_get_userinfo (encoded) == NULL);
  }
  {
    g_autoptr (GUri) uri = g_uri_parse (url, SOUP_HTTP_URI_FLAGS, NULL);
    g_autoptr (SoupMessage) msg = NULL;

    if (uri == NULL) {
      fprintf (stderr, "accepted URL does not parse with SOUP_HTTP_URI_FLAGS (rc-relay.c)\n");
      abort ();
    }
    FUZZ_CHECK (g_uri_get_user (uri) == NULL && g_uri_get_password (uri) == NULL);
    msg = soup_message_new_from_uri (SOUP_METHOD_POST, uri);
    FUZZ_CHECK (msg != NULL);
    {
      g_autofree char *text = g_uri_to_string (uri);

      FUZZ_CHECK (text != NULL);
    }
  }
  return 0;
}
