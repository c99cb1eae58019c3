/* net-redex-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "net-redex.h"
#include "net-redex-config-private.h"
#include "net-redex-event-private.h"

G_BEGIN_DECLS

struct _NetRedexTail
{
  GObject        parent_instance;

  /* Owner thread only. */
  NetRedexFile  *file;
  GMainContext  *context;
  GSource       *source;
  GQueue         queue;       /* fetched, not yet handed out */
  guint64        position;    /* seq after the last event handed out */
  GTask         *pending;
  gulong         cancelled_id;
  GCancellable  *cancellable;

  /* Guarded by the file's mutex. */
  guint64        cursor;      /* next seq to fetch from the file */
  guint64        live_start;  /* next_seq when the tail was created */
  guint          waiting : 1;
  guint          lagged : 1;
  guint          closed : 1;
};

NetRedexFile *_net_redex_file_new           (NetRedex          *redex,
                                             const char        *name,
                                             const char        *dir,
                                             gboolean           persistent,
                                             gboolean           read_only,
                                             NetRedexConfig    *config,
                                             GError           **error);
gboolean      _net_redex_file_is_closed     (NetRedexFile      *self);
void          _net_redex_file_hold_sync     (NetRedexFile      *self,
                                             gboolean           hold);
gboolean      _net_redex_file_verify_full   (NetRedexFile      *self,
                                             GPtrArray         *problems,
                                             GPtrArray         *incomplete,
                                             GError           **error);
GPtrArray    *_net_redex_file_tail_fetch    (NetRedexFile      *self,
                                             NetRedexTail      *tail,
                                             guint              max_events,
                                             gboolean           arm,
                                             GError           **error);
void          _net_redex_file_remove_tail   (NetRedexFile      *self,
                                             NetRedexTail      *tail);
void          _net_redex_file_close_tail    (NetRedexFile      *self,
                                             NetRedexTail      *tail);
void          _net_redex_file_add_watch     (NetRedexFile      *self,
                                             GSource           *source);
void          _net_redex_file_remove_watch  (NetRedexFile      *self,
                                             GSource           *source);
gboolean      _net_redex_file_restart_at    (NetRedexFile      *self,
                                             guint64            next_seq,
                                             GError           **error);
gboolean      _net_redex_file_reset         (NetRedexFile      *self,
                                             guint64            next_seq,
                                             GError           **error);
guint64       _net_redex_file_get_restarts  (NetRedexFile      *self);
void          _net_redex_file_follow_by_polling (NetRedexFile  *self,
                                                 guint          interval_ms);
gboolean      _net_redex_file_arm_watch     (NetRedexFile      *self,
                                             GSource           *source,
                                             guint64            seen_seq);
/* A payload to append, where it is. */
typedef struct
{
  const guint8 *data;
  gsize         len;
} NetRedexSpan;

guint64       _net_redex_file_append_spans  (NetRedexFile        *self,
                                             const NetRedexSpan  *payloads,
                                             const gint64        *timestamps,
                                             guint                n_payloads,
                                             guint64              expected_seq,
                                             GError             **error);
/* Appends one payload, copied (an in-memory log keeps no GBytes). */
guint64       _net_redex_file_append_data   (NetRedexFile      *self,
                                             const guint8      *data,
                                             gsize              len,
                                             GError           **error);
guint64       _net_redex_file_append_full   (NetRedexFile      *self,
                                             GBytes           **payloads,
                                             const gint64      *timestamps,
                                             guint              n_payloads,
                                             guint64            expected_seq,
                                             GError           **error);
/* An event that _net_redex_file_visit_range() visits: its payload is
 * valid during the call only. */
typedef void (*NetRedexVisitFunc)           (guint64            seq,
                                             gint64             timestamp,
                                             const guint8      *data,
                                             gsize              len,
                                             gpointer           user_data);
gboolean      _net_redex_file_visit_range   (NetRedexFile      *self,
                                             guint64            start,
                                             guint64            end,
                                             NetRedexVisitFunc  func,
                                             gpointer           user_data,
                                             GError           **error);
NetRedexTail *_net_redex_tail_new           (NetRedexFile      *file,
                                             guint64            from_seq,
                                             guint64            next_seq);
void          _net_redex_tail_wake          (NetRedexTail      *tail);
void          _net_redex_forget_file        (NetRedex          *self,
                                             NetRedexFile      *file);
gboolean      _net_redex_check_name         (const char        *name,
                                             GError           **error);

G_END_DECLS
