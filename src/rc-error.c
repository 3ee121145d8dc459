/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "rc-error"

#include "config.h"

#include "rc-error.h"

/* clang-format off */
G_DEFINE_QUARK (rc-error-quark, rc_error)
/* clang-format on */
