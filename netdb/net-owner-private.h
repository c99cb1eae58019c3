/* net-owner-private.h: which main context and thread own new objects
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every netdb object belongs to the thread whose thread-default main
 * context was current when it was created (DESIGN.md §1).  An async open
 * (net_db_new_async() and friends) builds the database on a worker thread
 * for a caller on another thread: it opens a scope on the worker that
 * names the caller's context and thread as the owner.  Within the scope,
 * sources are not attached and owner-thread work is not run at once: both
 * wait, in order, until the caller's thread finishes the scope, so nothing
 * dispatches on the owner context while the worker still builds.
 * Outside a scope, everything happens at once, as before.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _NetOwnerScope NetOwnerScope;

/* Worker thread: objects created from now on belong to @context and
 * @thread.  Scopes do not nest. */
NetOwnerScope *_net_owner_scope_begin   (GMainContext   *context,
                                         GThread        *thread);
/* Worker thread: leaves the scope (what it deferred still waits). */
void           _net_owner_scope_end     (NetOwnerScope  *scope);
/* Owner thread: attaches the deferred sources and runs the deferred
 * work, in order, then frees the scope. */
void           _net_owner_scope_finish  (NetOwnerScope  *scope);
/* Any thread: drops what was deferred without running it. */
void           _net_owner_scope_free    (NetOwnerScope  *scope);

/* The owner context of an object created now (transfer full). */
GMainContext  *_net_owner_context_ref   (void);
/* The owner thread of an object created now. */
GThread       *_net_owner_thread        (void);
/* g_source_attach(), deferred within a scope. */
void           _net_owner_attach        (GSource        *source,
                                         GMainContext   *context);
/* Runs @func (@data) on the owner thread: now, or when the scope is
 * finished (or @destroy only, if the scope is dropped). */
void           _net_owner_defer         (GFunc           func,
                                         gpointer        data,
                                         GDestroyNotify  destroy);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NetOwnerScope, _net_owner_scope_free)

G_END_DECLS
