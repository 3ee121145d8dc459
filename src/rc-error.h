/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Each code maps to exactly one HTTP status and error code in rc_api_status_for_error (). */
typedef enum {
  RC_ERROR_FAILED,                 /* 500 internal_error */
  RC_ERROR_INVALID_INPUT,          /* 400 invalid_parameter */
  RC_ERROR_NOT_FOUND,              /* 404 not_found */
  RC_ERROR_STORE,                  /* 503 internal_error: the database refused (disk full, I/O) */
  RC_ERROR_NO_MODEM,               /* 503 number_unavailable */
  RC_ERROR_NO_MODEMMANAGER,        /* 503 modemmanager_unavailable */
  RC_ERROR_MODEM,                  /* 502 modem_error */
  RC_ERROR_INVALID_STATE,          /* 409 invalid_state */
  RC_ERROR_LINE_BUSY,              /* 409 line_busy */
  RC_ERROR_INVALID_NUMBER,         /* 422 invalid_number */
  RC_ERROR_COUNTRY_MISMATCH,       /* 422 country_mismatch */
  RC_ERROR_NOT_PROVISIONED,        /* 422 number_not_provisioned */
  RC_ERROR_IDEMPOTENCY_KEY_REUSED, /* 422 idempotency_key_reused */
  RC_ERROR_NOT_SUPPORTED, /* 409 invalid_state (e.g. slot switching on a single-SIM modem) */
  RC_ERROR_RATE_LIMITED,  /* 429 rate_limited */
} RcError;

#define RC_ERROR (rc_error_quark ())
GQuark rc_error_quark (void);

G_END_DECLS
