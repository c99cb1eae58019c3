/* net-db-snapshot-private.h: the whole-database snapshot bundle
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A bundle holds one section per model (its name and the model's own
 * snapshot, which carries its applied seq) in a zstd-compressed,
 * self-describing body, framed by a magic, a format version, exact
 * lengths and an XXH3-64 checksum over the whole.  net_db_snapshot() and
 * the checkpoints write it.  See docs/snapshot-format.md.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define NET_DB_BUNDLE_MAGIC          "NETDBSNP"
#define NET_DB_BUNDLE_MAGIC_LEN      8
#define NET_DB_BUNDLE_VERSION        1
#define NET_DB_BUNDLE_HEADER_LEN     32
#define NET_DB_BUNDLE_TRAILER_LEN    8

/* Fields of the body, and of each section in it. */
enum
{
  NET_DB_BUNDLE_F_CREATED_AT = 1,
  NET_DB_BUNDLE_F_ORIGIN = 2,
  NET_DB_BUNDLE_F_SECTION = 3,
};

enum
{
  NET_DB_SECTION_F_NAME = 1,
  NET_DB_SECTION_F_DATA = 2,
  NET_DB_SECTION_F_APPLIED_SEQ = 3,
  NET_DB_SECTION_F_EVENT_DIGEST = 4,
};

typedef struct
{
  char    *name;
  guint64  applied_seq;  /* as the writer recorded it; 0 when absent */
  GBytes  *data;         /* the model's own snapshot */
  /* Which history the section belongs to: the digest of the event at
   * applied_seq in the writer's log (see _net_db_event_digest()). */
  gboolean has_event_digest;
  guint64  event_digest;
} NetDbSection;

typedef struct
{
  gint64      created_at;  /* µs since the epoch; 0 when absent */
  guint64     origin;      /* of the writer; 0 when absent */
  GPtrArray  *sections;    /* NetDbSection*, in order */
} NetDbBundle;

NetDbBundle   *_net_db_bundle_new        (void);
void           _net_db_bundle_free       (NetDbBundle   *self);
NetDbSection  *_net_db_bundle_add        (NetDbBundle   *self,
                                          const char    *name,
                                          guint64        applied_seq,
                                          GBytes        *data);
NetDbSection  *_net_db_bundle_find       (NetDbBundle   *self,
                                          const char    *name);
GBytes        *_net_db_bundle_write      (NetDbBundle   *self,
                                          GError       **error);
NetDbBundle   *_net_db_bundle_read       (GBytes        *bundle,
                                          GError       **error);
/* @max_body_len: the largest decompressed body accepted, or 0 for the
 * default limits (see net-db-snapshot.c). */
NetDbBundle   *_net_db_bundle_read_full  (GBytes        *bundle,
                                          guint64        max_body_len,
                                          GError       **error);

/* The digest of one logged event, as sections record it. */
guint64        _net_db_event_digest      (gint64         timestamp,
                                          GBytes        *payload);

/* Frames an already encoded body: header, zstd, checksum. */
GBytes        *_net_db_bundle_seal       (const guint8  *body,
                                          gsize          body_len,
                                          GError       **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NetDbBundle, _net_db_bundle_free)

G_END_DECLS
