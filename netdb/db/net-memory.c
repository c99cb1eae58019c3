/* net-memory.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "net-db-items-private.h"

/**
 * SECTION:net-memory
 * @title: NetMemory
 * @short_description: one memory of a #NetDbMemories model
 *
 * A #NetMemory is a live view of one stored memory: a text, its tags (in
 * the order they were given, each once), where it came from, and whether it
 * is pinned.  There is at most one #NetMemory object per id while anyone
 * holds it, and every query returns that object (the model keeps it until
 * its main context is idle, and makes a new one after the last reference
 * is gone).  When the memory is
 * stored again, retagged, pinned or unpinned, its properties change and
 * #GObject::notify is emitted on the thread-default main context of the
 * model that owns it, from a dispatch of that model's fold.  A deleted
 * memory keeps its last values.
 *
 * All properties are read-only: memories are changed through the model.
 */

/**
 * NetMemory:
 *
 * One memory: a live object, changed in place by the model that owns it.
 */

struct _NetMemory
{
  GObject   parent_instance;

  char     *content;
  char     *folded_content;   /* lazily, NULL until asked for */
  char    **tags;             /* never NULL */
  char     *source;           /* nullable */
  gint64    created_at;
  gint64    updated_at;
  guint     pinned : 1;

  /* Bit (1 << PROP_x) for every property changed since the last flush. */
  guint     pending_notify;

  /* Its model's registry of items (net-table-private.h). */
  NetTableItemLink link;
};

G_DEFINE_FINAL_TYPE (NetMemory, net_memory, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_CONTENT,
  PROP_TAGS,
  PROP_SOURCE,
  PROP_CREATED_AT,
  PROP_UPDATED_AT,
  PROP_PINNED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_STATIC_ASSERT (N_PROPS <= 32);

/* Above this many tags, duplicates are found with a hash table instead of
 * pairwise comparison. */
#define DEDUP_LINEAR_MAX 16

/* A copy of @tags without duplicates, first occurrence first; never NULL. */
static char **
dedup_tags (const char * const *tags)
{
  g_autoptr(GHashTable) seen = NULL;
  GPtrArray *out;
  guint n;

  n = tags != NULL ? g_strv_length ((char **) tags) : 0;
  out = g_ptr_array_sized_new (n + 1);
  if (n > DEDUP_LINEAR_MAX)
    seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < n; i++)
    {
      gboolean dup = FALSE;

      if (seen != NULL)
        dup = !g_hash_table_add (seen, (gpointer) tags[i]);
      else
        {
          for (guint j = 0; j < out->len && !dup; j++)
            dup = strcmp (g_ptr_array_index (out, j), tags[i]) == 0;
        }
      if (!dup)
        g_ptr_array_add (out, g_strdup (tags[i]));
    }
  g_ptr_array_add (out, NULL);

  return (char **) g_ptr_array_free (out, FALSE);
}

static void
net_memory_dispose (GObject *object)
{
  NetMemory *self = (NetMemory *) object;
  _net_table_item_link_release (&self->link);

  G_OBJECT_CLASS (net_memory_parent_class)->dispose (object);
}

NetTableItemLink *
_net_memory_get_link (NetMemory *self)
{
  return &self->link;
}

static void
net_memory_finalize (GObject *object)
{
  NetMemory *self = (NetMemory *) object;

  g_clear_pointer (&self->content, g_free);
  g_clear_pointer (&self->folded_content, g_free);
  g_clear_pointer (&self->tags, g_strfreev);
  g_clear_pointer (&self->source, g_free);

  G_OBJECT_CLASS (net_memory_parent_class)->finalize (object);
}

static void
net_memory_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  NetMemory *self = NET_MEMORY (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_uint64 (value, net_memory_get_id (self));
      break;
    case PROP_CONTENT:
      g_value_set_string (value, net_memory_get_content (self));
      break;
    case PROP_TAGS:
      g_value_set_boxed (value, net_memory_get_tags (self));
      break;
    case PROP_SOURCE:
      g_value_set_string (value, net_memory_get_source (self));
      break;
    case PROP_CREATED_AT:
      g_value_set_int64 (value, net_memory_get_created_at (self));
      break;
    case PROP_UPDATED_AT:
      g_value_set_int64 (value, net_memory_get_updated_at (self));
      break;
    case PROP_PINNED:
      g_value_set_boolean (value, net_memory_get_pinned (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
net_memory_class_init (NetMemoryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = net_memory_dispose;
  object_class->finalize = net_memory_finalize;
  object_class->get_property = net_memory_get_property;

  /**
   * NetMemory:id:
   *
   * The id of the memory, chosen by whoever stored it.
   */
  properties[PROP_ID] =
    g_param_spec_uint64 ("id", NULL, NULL,
                         0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetMemory:content:
   *
   * The text of the memory, valid UTF-8.
   */
  properties[PROP_CONTENT] =
    g_param_spec_string ("content", NULL, NULL,
                         "",
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetMemory:tags:
   *
   * The tags of the memory, each once, in the order they were given.
   */
  properties[PROP_TAGS] =
    g_param_spec_boxed ("tags", NULL, NULL,
                        G_TYPE_STRV,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetMemory:source:
   *
   * Where the memory came from, or %NULL.
   */
  properties[PROP_SOURCE] =
    g_param_spec_string ("source", NULL, NULL,
                         NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetMemory:created-at:
   *
   * When the memory was first stored, in microseconds since the Unix epoch.
   */
  properties[PROP_CREATED_AT] =
    g_param_spec_int64 ("created-at", NULL, NULL,
                        G_MININT64, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetMemory:updated-at:
   *
   * When the memory last changed, in microseconds since the Unix epoch.
   */
  properties[PROP_UPDATED_AT] =
    g_param_spec_int64 ("updated-at", NULL, NULL,
                        G_MININT64, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetMemory:pinned:
   *
   * Whether the memory is pinned.
   */
  properties[PROP_PINNED] =
    g_param_spec_boolean ("pinned", NULL, NULL,
                          FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
net_memory_init (NetMemory *self)
{
  self->tags = g_new0 (char *, 1);
}

NetMemory *
_net_memory_new_take (guint64    id,
                      char      *content,
                      GPtrArray *tags,
                      char      *source,
                      gint64     created_at,
                      gint64     updated_at,
                      gboolean   pinned)
{
  NetMemory *self;

  g_return_val_if_fail (content != NULL, NULL);

  self = g_object_new (NET_TYPE_MEMORY, NULL);
  self->link.id = id;
  self->content = content;
  self->source = source;
  self->created_at = created_at;
  self->updated_at = updated_at;
  self->pinned = !!pinned;

  if (tags != NULL)
    {
      g_strfreev (self->tags);
      self->tags = _net_memory_take_tags (tags);
    }

  return self;
}

char **
_net_memory_take_tags (GPtrArray *tags)
{
  g_autoptr(GHashTable) seen = NULL;
  guint n = 0;

  /* The tags as given, first occurrences kept, without a copy (as
   * dedup_tags() does: a scan for a few tags, a set for many). */
  if (tags->len > DEDUP_LINEAR_MAX + 1)
    seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_ptr_array_set_free_func (tags, NULL);
  for (guint i = 0; i < tags->len && g_ptr_array_index (tags, i) != NULL; i++)
    {
      char *tag = g_ptr_array_index (tags, i);
      gboolean dup = FALSE;

      if (seen != NULL)
        dup = !g_hash_table_add (seen, tag);
      else
        for (guint j = 0; j < n && !dup; j++)
          dup = strcmp (g_ptr_array_index (tags, j), tag) == 0;
      if (dup)
        g_free (tag);
      else
        g_ptr_array_index (tags, n++) = tag;
    }
  g_ptr_array_set_size (tags, n);
  g_ptr_array_add (tags, NULL);
  return (char **) g_ptr_array_free (tags, FALSE);
}

char **
_net_memory_dedup_tags (const char * const *tags)
{
  return dedup_tags (tags);
}

NetMemory *
_net_memory_new (guint64             id,
                 const char         *content,
                 const char * const *tags,
                 const char         *source,
                 gint64              created_at,
                 gint64              updated_at,
                 gboolean            pinned)
{
  NetMemory *self;

  g_return_val_if_fail (content != NULL, NULL);

  self = g_object_new (NET_TYPE_MEMORY, NULL);
  self->link.id = id;
  self->content = g_strdup (content);
  g_strfreev (self->tags);
  self->tags = dedup_tags (tags);
  self->source = g_strdup (source);
  self->created_at = created_at;
  self->updated_at = updated_at;
  self->pinned = !!pinned;

  return self;
}

void
_net_memory_update (NetMemory          *self,
                    const char         *content,
                    const char * const *tags,
                    const char         *source,
                    gint64              created_at,
                    gint64              updated_at,
                    gboolean            pinned)
{
  g_auto(GStrv) new_tags = NULL;

  g_return_if_fail (NET_IS_MEMORY (self));
  g_return_if_fail (content != NULL);

  if (g_strcmp0 (self->content, content) != 0)
    {
      g_free (self->content);
      self->content = g_strdup (content);
      g_clear_pointer (&self->folded_content, g_free);
      self->pending_notify |= 1u << PROP_CONTENT;
    }

  new_tags = dedup_tags (tags);
  if (!g_strv_equal ((const char * const *) self->tags, (const char * const *) new_tags))
    {
      g_strfreev (self->tags);
      self->tags = g_steal_pointer (&new_tags);
      self->pending_notify |= 1u << PROP_TAGS;
    }

  if (g_strcmp0 (self->source, source) != 0)
    {
      g_free (self->source);
      self->source = g_strdup (source);
      self->pending_notify |= 1u << PROP_SOURCE;
    }
  if (self->created_at != created_at)
    {
      self->created_at = created_at;
      self->pending_notify |= 1u << PROP_CREATED_AT;
    }
  if (self->updated_at != updated_at)
    {
      self->updated_at = updated_at;
      self->pending_notify |= 1u << PROP_UPDATED_AT;
    }
  if (self->pinned != !!pinned)
    {
      self->pinned = !!pinned;
      self->pending_notify |= 1u << PROP_PINNED;
    }
}

gboolean
_net_memory_has_pending_notify (NetMemory *self)
{
  g_return_val_if_fail (NET_IS_MEMORY (self), FALSE);

  return self->pending_notify != 0;
}

void
_net_memory_flush_notify (NetMemory *self)
{
  guint pending;

  g_return_if_fail (NET_IS_MEMORY (self));

  /* Cleared first: a handler may update the memory again and queue
   * another flush. */
  pending = self->pending_notify;
  self->pending_notify = 0;
  if (pending == 0)
    return;

  g_object_ref (self);
  g_object_freeze_notify (G_OBJECT (self));
  for (guint i = PROP_0 + 1; i < N_PROPS; i++)
    {
      if (pending & (1u << i))
        g_object_notify_by_pspec (G_OBJECT (self), properties[i]);
    }
  g_object_thaw_notify (G_OBJECT (self));
  g_object_unref (self);
}

const char *
_net_memory_get_folded_content (NetMemory *self)
{
  g_return_val_if_fail (NET_IS_MEMORY (self), NULL);

  if (self->folded_content == NULL)
    self->folded_content = _net_db_fold_text (net_memory_get_content (self));

  return self->folded_content;
}

int
_net_memory_compare (NetOrderBy  order,
                     NetMemory  *a,
                     NetMemory  *b)
{
  /* Hot path of sorting: no type checks. */
  g_assert (a != NULL);
  g_assert (b != NULL);

  return _net_db_order_compare (order,
                                a->link.id, a->created_at, a->updated_at,
                                b->link.id, b->created_at, b->updated_at);
}

/**
 * net_memory_get_id:
 * @self: a #NetMemory
 *
 * Gets the id of the memory.
 *
 * Returns: the id
 */
guint64
net_memory_get_id (NetMemory *self)
{
  g_return_val_if_fail (NET_IS_MEMORY (self), 0);

  return self->link.id;
}

/**
 * net_memory_get_content:
 * @self: a #NetMemory
 *
 * Gets the text of the memory.
 *
 * Returns: (transfer none): the content; it is freed when the memory is
 *   stored again (copy it to keep it)
 */
const char *
net_memory_get_content (NetMemory *self)
{
  g_return_val_if_fail (NET_IS_MEMORY (self), NULL);

  return self->content != NULL ? self->content : "";
}

/**
 * net_memory_get_tags:
 * @self: a #NetMemory
 *
 * Gets the tags of the memory, each once, in the order they were given.
 *
 * Returns: (transfer none) (array zero-terminated=1): the tags, possibly
 *   empty but never %NULL; they are freed when the memory is retagged
 *   (copy them to keep them)
 */
const char * const *
net_memory_get_tags (NetMemory *self)
{
  g_return_val_if_fail (NET_IS_MEMORY (self), NULL);

  return (const char * const *) self->tags;
}

/**
 * net_memory_has_tag:
 * @self: a #NetMemory
 * @tag: a tag
 *
 * Checks whether @tag is one of the tags of the memory.  Tags match as
 * search text does: case-insensitively and Unicode-aware ("Work" matches
 * "work", "ÉTÉ" matches "été"); the memory keeps each tag as it was
 * written.  Tag filters (#NetMemoriesFilter:tag, :any-tags, :all-tags)
 * match the same way.
 *
 * Returns: %TRUE if the memory has @tag
 */
gboolean
net_memory_has_tag (NetMemory  *self,
                    const char *tag)
{
  g_autofree char *owned = NULL;
  const char *key;

  g_return_val_if_fail (NET_IS_MEMORY (self), FALSE);
  g_return_val_if_fail (tag != NULL, FALSE);

  key = _net_memory_tag_key (tag, &owned);
  for (guint i = 0; self->tags[i] != NULL; i++)
    if (_net_memory_tag_has_key (self->tags[i], key))
      return TRUE;
  return FALSE;
}

const char *
_net_memory_tag_key (const char  *tag,
                     char       **owned)
{
  const char *p;

  for (p = tag; *p != '\0'; p++)
    if ((guchar) *p >= 0x80 || g_ascii_isupper (*p))
      break;
  if (*p == '\0')
    {
      *owned = NULL;
      return tag;
    }
  return *owned = _net_db_fold_text (tag);
}

gboolean
_net_memory_tag_has_key (const char *tag,
                         const char *key)
{
  g_autofree char *folded = NULL;
  const char *p;

  /* Plain ASCII folds to lower case (_net_db_fold_text()): no copy. */
  for (p = tag; *p != '\0'; p++)
    if ((guchar) *p >= 0x80)
      break;
  if (*p == '\0')
    {
      const char *q = key;

      for (p = tag; *p != '\0'; p++, q++)
        if (g_ascii_tolower (*p) != *q)
          return FALSE;
      return *q == '\0';
    }

  folded = _net_db_fold_text (tag);
  return strcmp (folded, key) == 0;
}

/**
 * net_memory_get_source:
 * @self: a #NetMemory
 *
 * Gets where the memory came from.
 *
 * Returns: (transfer none) (nullable): the source, or %NULL if none was
 *   given
 */
const char *
net_memory_get_source (NetMemory *self)
{
  g_return_val_if_fail (NET_IS_MEMORY (self), NULL);

  return self->source;
}

/**
 * net_memory_get_created_at:
 * @self: a #NetMemory
 *
 * Gets when the memory was first stored.
 *
 * Returns: microseconds since the Unix epoch
 */
gint64
net_memory_get_created_at (NetMemory *self)
{
  g_return_val_if_fail (NET_IS_MEMORY (self), 0);

  return self->created_at;
}

/**
 * net_memory_get_updated_at:
 * @self: a #NetMemory
 *
 * Gets when the memory last changed.
 *
 * Returns: microseconds since the Unix epoch
 */
gint64
net_memory_get_updated_at (NetMemory *self)
{
  g_return_val_if_fail (NET_IS_MEMORY (self), 0);

  return self->updated_at;
}

/**
 * net_memory_get_pinned:
 * @self: a #NetMemory
 *
 * Gets whether the memory is pinned.
 *
 * Returns: %TRUE if the memory is pinned
 */
gboolean
net_memory_get_pinned (NetMemory *self)
{
  g_return_val_if_fail (NET_IS_MEMORY (self), FALSE);

  return self->pinned;
}
