/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A Prometheus histogram of durations in seconds, with fixed buckets (5 ms to 30 s). */
#define RC_HISTOGRAM_N_BUCKETS 12

typedef struct {
  guint64 buckets[RC_HISTOGRAM_N_BUCKETS + 1]; /* cumulative; the last one is +Inf */
  double sum;
  guint64 count;
} RcHistogram;

void rc_histogram_observe (RcHistogram *histogram, double seconds);
/* Appends NAME_bucket{LABELS,le=…}, NAME_sum{LABELS} and NAME_count{LABELS} lines. @labels is
 * "" or label pairs without braces, e.g. "route=\"/v1/calls\"". */
void rc_histogram_format (const RcHistogram *histogram,
                          GString *out,
                          const char *name,
                          const char *labels);

G_END_DECLS
