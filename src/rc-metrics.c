/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#define G_LOG_DOMAIN "rc-metrics"

#include "config.h"

#include "rc-metrics.h"

static const double bucket_bounds[RC_HISTOGRAM_N_BUCKETS]
    = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10 };

void
rc_histogram_observe (RcHistogram *histogram, double seconds)
{
  for (guint i = 0; i < RC_HISTOGRAM_N_BUCKETS; i++) {
    if (seconds <= bucket_bounds[i])
      histogram->buckets[i]++;
  }
  histogram->buckets[RC_HISTOGRAM_N_BUCKETS]++;
  histogram->sum += seconds;
  histogram->count++;
}

void
rc_histogram_format (const RcHistogram *histogram,
                     GString *out,
                     const char *name,
                     const char *labels)
{
  const char *comma = *labels != '\0' ? "," : "";
  char number[G_ASCII_DTOSTR_BUF_SIZE];

  for (guint i = 0; i <= RC_HISTOGRAM_N_BUCKETS; i++) {
    if (i < RC_HISTOGRAM_N_BUCKETS)
      g_ascii_formatd (number, sizeof number, "%g", bucket_bounds[i]);
    g_string_append_printf (out, "%s_bucket{%s%sle=\"%s\"} %" G_GUINT64_FORMAT "\n", name, labels,
                            comma, i < RC_HISTOGRAM_N_BUCKETS ? number : "+Inf",
                            histogram->buckets[i]);
  }
  g_ascii_formatd (number, sizeof number, "%.6f", histogram->sum);
  if (*labels != '\0') {
    g_string_append_printf (out, "%s_sum{%s} %s\n", name, labels, number);
    g_string_append_printf (out, "%s_count{%s} %" G_GUINT64_FORMAT "\n", name, labels,
                            histogram->count);
  } else {
    g_string_append_printf (out, "%s_sum %s\n", name, number);
    g_string_append_printf (out, "%s_count %" G_GUINT64_FORMAT "\n", name, histogram->count);
  }
}
