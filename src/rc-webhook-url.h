/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define RC_WEBHOOK_URL_MAX 2048
/* Longest webhook description, in characters. */
#define RC_WEBHOOK_DESCRIPTION_MAX 256

/* The event types a webhook can list (NULL-terminated); "call.*" alone subscribes to all. */
extern const char *const rc_webhook_event_types[];

/* TRUE if @url can receive webhooks: an absolute http or https URL with a host, no user
 * information (credentials in URLs end up in logs), at most 2048 bytes. Otherwise FALSE with a
 * message (G_URI_ERROR) saying what is wrong; the message never repeats the URL. */
gboolean rc_webhook_url_check (const char *url, GError **error);

G_END_DECLS
