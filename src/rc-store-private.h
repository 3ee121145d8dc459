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

#define RC_WEBHOOK_ALL_CALLS "call.*"

/* "dlv_" + 26 lowercase hex digits (104 random bits), made in SQL so the outbox rows of an
 * event are inserted by one statement. */
#define DELIVERY_ID_SQL "'dlv_' || lower (hex (randomblob (13)))"

sqlite3 *rc_store_get_db (RcStore *self);
/* Sets RC_ERROR_STORE "store: <what>: <sqlite message>". */
void rc_store_set_sqlite_error (RcStore *self, GError **error, const char *format, ...)
    G_GNUC_PRINTF (3, 4);
gboolean rc_store_exec_sql (RcStore *self, const char *sql, const char *what, GError **error);
sqlite3_stmt *rc_store_prepare (RcStore *self, const char *sql, const char *what, GError **error);

/* A statement from rc_store_prepare_cached () in use. Declared with g_autoptr, it is reset and
 * its bindings cleared when it goes out of scope, on every path; it is never finalized (the
 * store does that when it closes). */
typedef sqlite3_stmt RcStatementLease;
void rc_statement_lease_release (RcStatementLease *statement);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RcStatementLease, rc_statement_lease_release)

/* Prepared once per distinct @sql (compared by text) and kept for the life of the connection,
 * for the hot paths. Hold it as g_autoptr (RcStatementLease); never two leases of one @sql at
 * once. */
sqlite3_stmt *
rc_store_prepare_cached (RcStore *self, const char *sql, const char *what, GError **error);
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
/* The SQL that takes a database from @from_version to the next (tests build old databases). */
const char *rc_store_migration_sql (guint from_version);
/* @prefix + 26 random Crockford base32 characters. */
char *rc_store_new_id (const char *prefix, GError **error);

G_END_DECLS
