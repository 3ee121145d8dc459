/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copyright (C) 2026 reachcelld developers
 */

#pragma once

/* Shared by rc-store.c and rc-store-webhooks.c only: the one connection and the helpers that
 * turn SQLite failures into RC_ERROR_STORE errors. Nothing else includes this. */

#include "rc-store.h"

#include <sqlite3.h>

G_BEGIN_DECLS

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

sqlite3 *rc_store_get_db (RcStore *self);
/* Sets RC_ERROR_STORE "store: <what>: <sqlite message>". */
void rc_store_set_sqlite_error (RcStore *self, GError **error, const char *format, ...)
    G_GNUC_PRINTF (3, 4);
gboolean rc_store_exec_sql (RcStore *self, const char *sql, const char *what, GError **error);
sqlite3_stmt *rc_store_prepare (RcStore *self, const char *sql, const char *what, GError **error);
/* Steps a statement that returns no rows. */
gboolean
rc_store_step_done (RcStore *self, sqlite3_stmt *statement, const char *what, GError **error);
/* NULL binds SQL NULL; bound values must outlive the step. */
void rc_store_bind_text (sqlite3_stmt *statement, int index, const char *text);
/* 0 ("not set") binds NULL. */
void rc_store_bind_time (sqlite3_stmt *statement, int index, gint64 time);
char *rc_store_column_dup_text (sqlite3_stmt *statement, int column);
gint64 rc_store_column_time (sqlite3_stmt *statement, int column); /* NULL reads as 0 */
gboolean rc_store_fill_random (guint8 *buffer, gsize length, GError **error);
/* @prefix + 26 random Crockford base32 characters. */
char *rc_store_new_id (const char *prefix, GError **error);

/* rc-store-webhooks.c: the outbox rows for an event, inside the caller's transaction. */
gboolean rc_store_enqueue_deliveries (
    RcStore *self, const char *event_id, const char *type, gint64 now, GError **error);

G_END_DECLS
