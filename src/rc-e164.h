/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define RC_E164_ERROR (rc_e164_error_quark ())

typedef enum {
  RC_E164_ERROR_INVALID,
} RcE164Error;

/* +CLIP / +CLCC type of address (3GPP TS 24.008, 10.5.4.7); 0 when the modem did not say */
#define RC_E164_TOA_NOT_KNOWN 0
#define RC_E164_TOA_UNKNOWN 129
#define RC_E164_TOA_INTERNATIONAL 145
#define RC_E164_TOA_NATIONAL 161

GQuark rc_e164_error_quark (void);

gboolean rc_e164_is_valid (const char *number);
const char *rc_e164_country_code (const char *number);
gboolean rc_e164_same_country (const char *a, const char *b);
const char *rc_e164_country_code_for_mcc (const char *mcc);
char *rc_e164_normalize (const char *raw, int toa, const char *country_code, GError **error);

/* The assigned country calling codes, sorted; for the table tests */
const char *const *rc_e164_get_country_codes (guint *n_codes);

G_END_DECLS
