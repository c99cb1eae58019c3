/* net-owner.c: which main context and thread own new objects
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * See net-owner-private.h.
 */

#include "config.h"

#include "net-owner-private.h"

typedef struct
{
  GSource        *source;   /* to attach, or NULL */
  GMainContext   *context;
  GFunc           func;     /* or work to run */
  gpointer        data;
  GDestroyNotify  destroy;
} Deferred;

struct _NetOwnerScope
{
  GMainContext *context;
  GThread      *thread;
  GArray       *deferred;   /* Deferred, in order */
};

static GPrivate current_scope;

static void
deferred_clear (Deferred *d)
{
  g_clear_pointer (&d->source, g_source_unref);
  g_clear_pointer (&d->context, g_main_context_unref);
  if (d->destroy != NULL)
    d->destroy (d->data);
  d->destroy = NULL;
  d->data = NULL;
}

NetOwnerScope *
_net_owner_scope_begin (GMainContext *context,
                        GThread      *thread)
{
  NetOwnerScope *scope = g_new0 (NetOwnerScope, 1);

  g_assert (g_private_get (&current_scope) == NULL);

  scope->context = context != NULL ? g_main_context_ref (context) : g_main_context_ref (g_main_context_default ());
  scope->thread = g_thread_ref (thread);
  scope->deferred = g_array_new (FALSE, TRUE, sizeof (Deferred));
  g_array_set_clear_func (scope->deferred, (GDestroyNotify) deferred_clear);
  g_private_set (&current_scope, scope);
  return scope;
}

void
_net_owner_scope_end (NetOwnerScope *scope)
{
  g_assert (g_private_get (&current_scope) == scope);
  g_private_set (&current_scope, NULL);
}

void
_net_owner_scope_finish (NetOwnerScope *scope)
{
  g_assert (g_private_get (&current_scope) != scope);

  /* Each in turn: the work may defer nothing more (the scope is over), and
   * a source is attached before the work that came after it runs. */
  for (guint i = 0; i < scope->deferred->len; i++)
    {
      Deferred *d = &g_array_index (scope->deferred, Deferred, i);

      if (d->source != NULL)
        {
          if (!g_source_is_destroyed (d->source))
            g_source_attach (d->source, d->context);
        }
      else
        d->func (d->data, NULL);
    }

  _net_owner_scope_free (scope);
}

void
_net_owner_scope_free (NetOwnerScope *scope)
{
  if (scope == NULL)
    return;
  if (g_private_get (&current_scope) == scope)
    g_private_set (&current_scope, NULL);
  g_array_unref (scope->deferred);
  g_main_context_unref (scope->context);
  g_thread_unref (scope->thread);
  g_free (scope);
}

GMainContext *
_net_owner_context_ref (void)
{
  NetOwnerScope *scope = g_private_get (&current_scope);

  return scope != NULL ? g_main_context_ref (scope->context) : g_main_context_ref_thread_default ();
}

GThread *
_net_owner_thread (void)
{
  NetOwnerScope *scope = g_private_get (&current_scope);

  return scope != NULL ? scope->thread : g_thread_self ();
}

void
_net_owner_attach (GSource      *source,
                   GMainContext *context)
{
  NetOwnerScope *scope = g_private_get (&current_scope);
  Deferred d = { 0 };

  if (scope == NULL)
    {
      g_source_attach (source, context);
      return;
    }

  d.source = g_source_ref (source);
  d.context = context != NULL ? g_main_context_ref (context) : g_main_context_ref (g_main_context_default ());
  g_array_append_val (scope->deferred, d);
}

void
_net_owner_defer (GFunc          func,
                  gpointer       data,
                  GDestroyNotify destroy)
{
  NetOwnerScope *scope = g_private_get (&current_scope);
  Deferred d = { 0 };

  if (scope == NULL)
    {
      func (data, NULL);
      if (destroy != NULL)
        destroy (data);
      return;
    }

  d.func = func;
  d.data = data;
  d.destroy = destroy;
  g_array_append_val (scope->deferred, d);
}
