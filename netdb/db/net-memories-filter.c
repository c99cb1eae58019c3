/* net-memories-filter.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "net-db-items-private.h"
#include "net-enum-types.h"
#include "net-filter-base-private.h"

/**
 * SECTION:net-memories-filter
 * @title: NetMemoriesFilter
 * @short_description: which memories a query returns, and in what order
 *
 * A #NetMemoriesFilter selects memories by source, content, tags, pinned
 * state and time, orders them and cuts a window (@offset, @limit) out of
 * the result.  A new filter selects everything, by id ascending.  Every
 * constraint is a property, so filters can be written inline in every
 * language:
 *
 * |[<!-- language="Python" -->
 * f = Net.MemoriesFilter(any_tags=["work", "home"], pinned=True,
 *                        order_by=Net.OrderBy.UPDATED_DESC, limit=20)
 * ]|
 *
 * The tag constraints combine: a memory must have #NetMemoriesFilter:tag,
 * at least one of #NetMemoriesFilter:any-tags and every one of
 * #NetMemoriesFilter:all-tags.  Tags match case-insensitively, as search
 * text does (net_memory_has_tag()); an empty or %NULL list does not
 * constrain.
 *
 * Setting #NetMemoriesFilter:pinned also sets
 * #NetMemoriesFilter:pinned-set; net_memories_filter_unset_pinned() clears
 * it again.
 *
 * The order, window and time bounds are those of #NetFilterBase, its
 * parent: inclusive, and a lower bound of 0 and an upper bound of
 * %G_MAXINT64 (the defaults) do not constrain.
 *
 * A filter emits #GObject::notify for every property that really changes,
 * so a live query can follow it.
 */

/**
 * NetMemoriesFilter:
 *
 * The selection, order and window of a memories query.
 */

/* The order, window, time bounds and search text (content-contains) are
 * the base's (NetFilterBase). */
struct _NetMemoriesFilter
{
  NetFilterBase  parent_instance;

  char          *source;
  char          *tag;
  char         **any_tags;         /* NULL when empty */
  char         **all_tags;         /* NULL when empty */
  guint          pinned : 1;
  guint          pinned_set : 1;
};

G_DEFINE_FINAL_TYPE (NetMemoriesFilter, net_memories_filter, NET_TYPE_FILTER_BASE)

#define BASE(f) ((NetFilterBase *) (f))

enum {
  PROP_0,
  PROP_SOURCE,
  PROP_CONTENT_CONTAINS,
  PROP_TAG,
  PROP_ANY_TAGS,
  PROP_ALL_TAGS,
  PROP_PINNED,
  PROP_PINNED_SET,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* NULL equals NULL; the lists are stored NULL when empty. */
static gboolean
tags_equal (char **a,
            char **b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return g_strv_equal ((const char * const *) a, (const char * const *) b);
}

static void
set_tags (NetMemoriesFilter   *self,
          char              ***field,
          const char * const  *tags,
          guint                prop_id)
{
  char **copy = NULL;

  if (tags != NULL && tags[0] != NULL)
    copy = g_strdupv ((char **) tags);

  if (tags_equal (*field, copy))
    {
      g_strfreev (copy);
      return;
    }

  g_strfreev (*field);
  *field = copy;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
set_string (NetMemoriesFilter  *self,
            char              **field,
            const char         *value,
            guint               prop_id)
{
  if (g_strcmp0 (*field, value) == 0)
    return;

  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
net_memories_filter_finalize (GObject *object)
{
  NetMemoriesFilter *self = (NetMemoriesFilter *) object;

  g_clear_pointer (&self->source, g_free);
  g_clear_pointer (&self->tag, g_free);
  g_clear_pointer (&self->any_tags, g_strfreev);
  g_clear_pointer (&self->all_tags, g_strfreev);

  G_OBJECT_CLASS (net_memories_filter_parent_class)->finalize (object);
}

static void
net_memories_filter_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  NetMemoriesFilter *self = NET_MEMORIES_FILTER (object);

  switch (prop_id)
    {
    case PROP_SOURCE:
      g_value_set_string (value, self->source);
      break;
    case PROP_CONTENT_CONTAINS:
      g_value_set_string (value, _net_filter_base_get_search (BASE (self)));
      break;
    case PROP_TAG:
      g_value_set_string (value, self->tag);
      break;
    case PROP_ANY_TAGS:
      g_value_set_boxed (value, self->any_tags);
      break;
    case PROP_ALL_TAGS:
      g_value_set_boxed (value, self->all_tags);
      break;
    case PROP_PINNED:
      g_value_set_boolean (value, self->pinned);
      break;
    case PROP_PINNED_SET:
      g_value_set_boolean (value, self->pinned_set);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
net_memories_filter_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  NetMemoriesFilter *self = NET_MEMORIES_FILTER (object);

  switch (prop_id)
    {
    case PROP_SOURCE:
      net_memories_filter_set_source (self, g_value_get_string (value));
      break;
    case PROP_CONTENT_CONTAINS:
      net_memories_filter_set_content_contains (self, g_value_get_string (value));
      break;
    case PROP_TAG:
      net_memories_filter_set_tag (self, g_value_get_string (value));
      break;
    case PROP_ANY_TAGS:
      net_memories_filter_set_any_tags (self, g_value_get_boxed (value));
      break;
    case PROP_ALL_TAGS:
      net_memories_filter_set_all_tags (self, g_value_get_boxed (value));
      break;
    case PROP_PINNED:
      net_memories_filter_set_pinned (self, g_value_get_boolean (value));
      break;
    case PROP_PINNED_SET:
      if (g_value_get_boolean (value))
        net_memories_filter_set_pinned (self, self->pinned);
      else
        net_memories_filter_unset_pinned (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
net_memories_filter_class_init (NetMemoriesFilterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = net_memories_filter_finalize;
  object_class->get_property = net_memories_filter_get_property;
  object_class->set_property = net_memories_filter_set_property;

  /* None of the properties is G_PARAM_CONSTRUCT: construction would then
   * set #NetMemoriesFilter:pinned to its default and, with it, pinned-set.
   * Any of them can still be given to g_object_new(). */

  /**
   * NetMemoriesFilter:source:
   *
   * Only memories with exactly this source match; "" selects the memories
   * stored without one (whose #NetMemory:source is %NULL), and %NULL does
   * not constrain.
   */
  properties[PROP_SOURCE] =
    g_param_spec_string ("source", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetMemoriesFilter:content-contains:
   *
   * Only memories whose content contains this text match, compared
   * without regard to case or Unicode normalization.  %NULL or empty does
   * not constrain.
   */
  properties[PROP_CONTENT_CONTAINS] =
    g_param_spec_string ("content-contains", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetMemoriesFilter:tag:
   *
   * Only memories with this tag match; %NULL does not constrain.  Tags
   * match case-insensitively, like search text (net_memory_has_tag()).
   */
  properties[PROP_TAG] =
    g_param_spec_string ("tag", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetMemoriesFilter:any-tags:
   *
   * Only memories with at least one of these tags match (case-insensitively);
   * %NULL or empty does not constrain.
   */
  properties[PROP_ANY_TAGS] =
    g_param_spec_boxed ("any-tags", NULL, NULL,
                        G_TYPE_STRV,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetMemoriesFilter:all-tags:
   *
   * Only memories with every one of these tags match (case-insensitively);
   * %NULL or empty does not constrain.
   */
  properties[PROP_ALL_TAGS] =
    g_param_spec_boxed ("all-tags", NULL, NULL,
                        G_TYPE_STRV,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetMemoriesFilter:pinned:
   *
   * Only memories whose pinned state is this match, if
   * #NetMemoriesFilter:pinned-set is %TRUE.  Setting it sets
   * #NetMemoriesFilter:pinned-set.
   */
  properties[PROP_PINNED] =
    g_param_spec_boolean ("pinned", NULL, NULL,
                          FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetMemoriesFilter:pinned-set:
   *
   * Whether #NetMemoriesFilter:pinned constrains the result.
   */
  properties[PROP_PINNED_SET] =
    g_param_spec_boolean ("pinned-set", NULL, NULL,
                          FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
net_memories_filter_init (NetMemoriesFilter *self)
{
}

gboolean
_net_memories_filter_is_single_index (NetMemoriesFilter *filter)
{
  guint n;

  g_return_val_if_fail (filter == NULL || NET_IS_MEMORIES_FILTER (filter), FALSE);

  if (filter == NULL)
    return FALSE;
  if (filter->any_tags != NULL || _net_filter_base_get_folded_search (BASE (filter)) != NULL ||
      (filter->pinned_set && !filter->pinned) ||
      !_net_filter_base_time_unbounded (BASE (filter)))
    return FALSE;

  n = (filter->tag != NULL) + (filter->source != NULL) + (filter->pinned_set && filter->pinned) +
      (filter->all_tags != NULL ? g_strv_length (filter->all_tags) : 0);
  return n == 1;
}

gboolean
_net_memories_filter_matches (NetMemoriesFilter *filter,
                              NetMemory         *memory)
{
  g_return_val_if_fail (filter == NULL || NET_IS_MEMORIES_FILTER (filter), FALSE);
  g_return_val_if_fail (NET_IS_MEMORY (memory), FALSE);

  if (filter == NULL)
    return TRUE;
  return _net_memories_filter_matches_fields (filter, net_memory_get_content (memory),
                                              _net_memory_get_folded_content (memory),
                                              net_memory_get_tags (memory),
                                              net_memory_get_source (memory),
                                              net_memory_get_created_at (memory),
                                              net_memory_get_updated_at (memory),
                                              net_memory_get_pinned (memory));
}

/* As net_memory_has_tag(), of a tag list. */
static gboolean
tags_have (const char * const *tags,
           const char         *tag)
{
  g_autofree char *owned = NULL;
  const char *key = _net_memory_tag_key (tag, &owned);

  for (guint i = 0; tags[i] != NULL; i++)
    if (_net_memory_tag_has_key (tags[i], key))
      return TRUE;
  return FALSE;
}

gboolean
_net_db_text_contains_folded (const char *text,
                              const char *needle)
{
  g_autofree char *folded = NULL;
  char buf[256];
  gsize i;

  /* Plain ASCII folds to lower case (as _net_db_fold_text() does it),
   * here without an allocation (nor a call per character: this is the
   * check of every candidate of a search). */
  for (i = 0; text[i] != '\0' && i < sizeof buf - 1; i++)
    {
      guchar c = (guchar) text[i];

      if (c >= 0x80)
        break;
      buf[i] = (char) (c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    }
  if (text[i] == '\0')
    {
      buf[i] = '\0';
      return strstr (buf, needle) != NULL;
    }

  folded = _net_db_fold_text (text);
  return strstr (folded, needle) != NULL;
}

gboolean
_net_memories_filter_matches_fields (NetMemoriesFilter  *filter,
                                     const char         *content,
                                     const char         *folded_content,
                                     const char * const *tags,
                                     const char         *source,
                                     gint64              created_at,
                                     gint64              updated_at,
                                     gboolean            pinned)
{
  const char *folded;

  if (filter == NULL)
    return TRUE;

  if (filter->pinned_set && !pinned != !filter->pinned)
    return FALSE;
  if (!_net_filter_base_in_time (BASE (filter), created_at, updated_at))
    return FALSE;
  if (filter->source != NULL && strcmp (filter->source, source != NULL ? source : "") != 0)
    return FALSE;
  if (filter->tag != NULL && !tags_have (tags, filter->tag))
    return FALSE;
  if (filter->all_tags != NULL)
    {
      for (guint i = 0; filter->all_tags[i] != NULL; i++)
        {
          if (!tags_have (tags, filter->all_tags[i]))
            return FALSE;
        }
    }
  if (filter->any_tags != NULL)
    {
      gboolean any = FALSE;

      for (guint i = 0; filter->any_tags[i] != NULL && !any; i++)
        any = tags_have (tags, filter->any_tags[i]);
      if (!any)
        return FALSE;
    }
  folded = _net_filter_base_get_folded_search (BASE (filter));
  if (folded != NULL)
    {
      if (folded_content != NULL)
        return strstr (folded_content, folded) != NULL;
      return _net_db_text_contains_folded (content, folded);
    }

  return TRUE;
}

const char *
_net_memories_filter_get_folded_content (NetMemoriesFilter *filter)
{
  g_return_val_if_fail (filter == NULL || NET_IS_MEMORIES_FILTER (filter), NULL);

  return _net_filter_base_get_folded_search (BASE (filter));
}

gboolean
_net_memories_filter_same_selection (NetMemoriesFilter *a,
                                     NetMemoriesFilter *b)
{
  g_autoptr(NetMemoriesFilter) all = NULL;

  g_return_val_if_fail (a == NULL || NET_IS_MEMORIES_FILTER (a), FALSE);
  g_return_val_if_fail (b == NULL || NET_IS_MEMORIES_FILTER (b), FALSE);

  if (a == b)
    return TRUE;
  if (a == NULL || b == NULL)
    {
      all = net_memories_filter_new ();
      if (a == NULL)
        a = all;
      else
        b = all;
    }

  return a->pinned_set == b->pinned_set &&
         (!a->pinned_set || a->pinned == b->pinned) &&
         g_strcmp0 (a->source, b->source) == 0 &&
         g_strcmp0 (a->tag, b->tag) == 0 &&
         tags_equal (a->any_tags, b->any_tags) &&
         tags_equal (a->all_tags, b->all_tags) &&
         _net_filter_base_same_selection (BASE (a), BASE (b));
}

void
_net_memories_filter_get_window (NetMemoriesFilter *filter,
                                 NetOrderBy        *order_by,
                                 guint             *offset,
                                 guint             *limit)
{
  g_return_if_fail (filter == NULL || NET_IS_MEMORIES_FILTER (filter));

  _net_filter_base_get_window (BASE (filter), order_by, offset, limit);
}

/**
 * net_memories_filter_new:
 *
 * Creates a filter that selects every memory, ordered by id ascending.
 *
 * Returns: (transfer full): a new #NetMemoriesFilter
 */
NetMemoriesFilter *
net_memories_filter_new (void)
{
  return g_object_new (NET_TYPE_MEMORIES_FILTER, NULL);
}

/**
 * net_memories_filter_copy:
 * @self: a #NetMemoriesFilter
 *
 * Copies @self, so that a query can keep a filter that its caller goes on
 * changing.
 *
 * Returns: (transfer full): a new #NetMemoriesFilter with the same values
 */
NetMemoriesFilter *
net_memories_filter_copy (NetMemoriesFilter *self)
{
  NetMemoriesFilter *copy;

  g_return_val_if_fail (NET_IS_MEMORIES_FILTER (self), NULL);

  copy = net_memories_filter_new ();
  _net_filter_base_copy_into (BASE (self), BASE (copy));
  copy->source = g_strdup (self->source);
  copy->tag = g_strdup (self->tag);
  copy->any_tags = g_strdupv (self->any_tags);
  copy->all_tags = g_strdupv (self->all_tags);
  copy->pinned = self->pinned;
  copy->pinned_set = self->pinned_set;

  return copy;
}

/**
 * net_memories_filter_equal:
 * @self: a #NetMemoriesFilter
 * @other: another #NetMemoriesFilter
 *
 * Checks whether two filters make the same query: they select the same
 * memories, in the same order and window.  The pinned state of a filter
 * whose #NetMemoriesFilter:pinned-set is %FALSE is not compared, a %NULL
 * #NetMemoriesFilter:content-contains equals an empty one, and %NULL tag
 * lists equal empty ones.
 *
 * Returns: %TRUE if @self and @other are equivalent
 */
gboolean
net_memories_filter_equal (NetMemoriesFilter *self,
                           NetMemoriesFilter *other)
{
  g_return_val_if_fail (NET_IS_MEMORIES_FILTER (self), FALSE);
  g_return_val_if_fail (NET_IS_MEMORIES_FILTER (other), FALSE);

  return _net_memories_filter_same_selection (self, other) &&
         _net_filter_base_same_window (BASE (self), BASE (other));
}

/**
 * net_memories_filter_get_source:
 * @self: a #NetMemoriesFilter
 *
 * Gets the source that matching memories must have.
 *
 * Returns: (transfer none) (nullable): the source, or %NULL
 */
const char *
net_memories_filter_get_source (NetMemoriesFilter *self)
{
  g_return_val_if_fail (NET_IS_MEMORIES_FILTER (self), NULL);

  return self->source;
}

/**
 * net_memories_filter_set_source:
 * @self: a #NetMemoriesFilter
 * @source: (nullable): the exact source, or %NULL for any
 *
 * Makes the filter select only memories whose source is @source.  ""
 * selects the memories stored without a source.
 */
void
net_memories_filter_set_source (NetMemoriesFilter *self,
                                const char        *source)
{
  g_return_if_fail (NET_IS_MEMORIES_FILTER (self));

  set_string (self, &self->source, source, PROP_SOURCE);
}

/**
 * net_memories_filter_get_content_contains:
 * @self: a #NetMemoriesFilter
 *
 * Gets the text that the content of matching memories must contain.
 *
 * Returns: (transfer none) (nullable): the text, or %NULL
 */
const char *
net_memories_filter_get_content_contains (NetMemoriesFilter *self)
{
  g_return_val_if_fail (NET_IS_MEMORIES_FILTER (self), NULL);

  return _net_filter_base_get_search (BASE (self));
}

/**
 * net_memories_filter_set_content_contains:
 * @self: a #NetMemoriesFilter
 * @needle: (nullable): the text to search for, or %NULL
 *
 * Makes the filter select only memories whose content contains @needle,
 * compared without regard to case or Unicode normalization.  %NULL or an
 * empty string selects memories with any content.
 */
void
net_memories_filter_set_content_contains (NetMemoriesFilter *self,
                                          const char        *needle)
{
  g_return_if_fail (NET_IS_MEMORIES_FILTER (self));

  if (_net_filter_base_set_search (BASE (self), needle))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONTENT_CONTAINS]);
}

/**
 * net_memories_filter_get_tag:
 * @self: a #NetMemoriesFilter
 *
 * Gets the tag that matching memories must have.
 *
 * Returns: (transfer none) (nullable): the tag, or %NULL
 */
const char *
net_memories_filter_get_tag (NetMemoriesFilter *self)
{
  g_return_val_if_fail (NET_IS_MEMORIES_FILTER (self), NULL);

  return self->tag;
}

/**
 * net_memories_filter_set_tag:
 * @self: a #NetMemoriesFilter
 * @tag: (nullable): a tag, or %NULL for any
 *
 * Makes the filter select only memories that have @tag.
 */
void
net_memories_filter_set_tag (NetMemoriesFilter *self,
                             const char        *tag)
{
  g_return_if_fail (NET_IS_MEMORIES_FILTER (self));

  set_string (self, &self->tag, tag, PROP_TAG);
}

/**
 * net_memories_filter_get_any_tags:
 * @self: a #NetMemoriesFilter
 *
 * Gets the tags of which matching memories must have at least one.
 *
 * Returns: (transfer none) (nullable) (array zero-terminated=1): the tags,
 *   or %NULL if the filter does not select by them
 */
const char * const *
net_memories_filter_get_any_tags (NetMemoriesFilter *self)
{
  g_return_val_if_fail (NET_IS_MEMORIES_FILTER (self), NULL);

  return (const char * const *) self->any_tags;
}

/**
 * net_memories_filter_set_any_tags:
 * @self: a #NetMemoriesFilter
 * @tags: (nullable) (array zero-terminated=1): the tags, or %NULL
 *
 * Makes the filter select only memories that have at least one of @tags.
 * %NULL or an empty list selects memories with any tags (or none).
 */
void
net_memories_filter_set_any_tags (NetMemoriesFilter  *self,
                                  const char * const *tags)
{
  g_return_if_fail (NET_IS_MEMORIES_FILTER (self));

  set_tags (self, &self->any_tags, tags, PROP_ANY_TAGS);
}

/**
 * net_memories_filter_get_all_tags:
 * @self: a #NetMemoriesFilter
 *
 * Gets the tags that matching memories must all have.
 *
 * Returns: (transfer none) (nullable) (array zero-terminated=1): the tags,
 *   or %NULL if the filter does not select by them
 */
const char * const *
net_memories_filter_get_all_tags (NetMemoriesFilter *self)
{
  g_return_val_if_fail (NET_IS_MEMORIES_FILTER (self), NULL);

  return (const char * const *) self->all_tags;
}

/**
 * net_memories_filter_set_all_tags:
 * @self: a #NetMemoriesFilter
 * @tags: (nullable) (array zero-terminated=1): the tags, or %NULL
 *
 * Makes the filter select only memories that have every one of @tags.
 * %NULL or an empty list selects memories with any tags (or none).
 */
void
net_memories_filter_set_all_tags (NetMemoriesFilter  *self,
                                  const char * const *tags)
{
  g_return_if_fail (NET_IS_MEMORIES_FILTER (self));

  set_tags (self, &self->all_tags, tags, PROP_ALL_TAGS);
}

/**
 * net_memories_filter_get_pinned:
 * @self: a #NetMemoriesFilter
 *
 * Gets the pinned state that matching memories must have, when
 * net_memories_filter_get_pinned_set() is %TRUE.
 *
 * Returns: whether matching memories are pinned
 */
gboolean
net_memories_filter_get_pinned (NetMemoriesFilter *self)
{
  g_return_val_if_fail (NET_IS_MEMORIES_FILTER (self), FALSE);

  return self->pinned;
}

/**
 * net_memories_filter_set_pinned:
 * @self: a #NetMemoriesFilter
 * @pinned: whether matching memories are pinned
 *
 * Makes the filter select only pinned memories, or only unpinned ones,
 * and sets #NetMemoriesFilter:pinned-set.
 */
void
net_memories_filter_set_pinned (NetMemoriesFilter *self,
                                gboolean           pinned)
{
  g_return_if_fail (NET_IS_MEMORIES_FILTER (self));

  pinned = !!pinned;

  g_object_freeze_notify (G_OBJECT (self));
  if (self->pinned != (guint) pinned)
    {
      self->pinned = pinned;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PINNED]);
    }
  if (!self->pinned_set)
    {
      self->pinned_set = TRUE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PINNED_SET]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

/**
 * net_memories_filter_get_pinned_set:
 * @self: a #NetMemoriesFilter
 *
 * Gets whether the filter selects memories by pinned state.
 *
 * Returns: %TRUE if #NetMemoriesFilter:pinned constrains the result
 */
gboolean
net_memories_filter_get_pinned_set (NetMemoriesFilter *self)
{
  g_return_val_if_fail (NET_IS_MEMORIES_FILTER (self), FALSE);

  return self->pinned_set;
}

/**
 * net_memories_filter_unset_pinned:
 * @self: a #NetMemoriesFilter
 *
 * Makes the filter select pinned and unpinned memories again.
 */
void
net_memories_filter_unset_pinned (NetMemoriesFilter *self)
{
  g_return_if_fail (NET_IS_MEMORIES_FILTER (self));

  if (self->pinned_set)
    {
      self->pinned_set = FALSE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PINNED_SET]);
    }
}

/**
 * net_memories_filter_get_created_after:
 * @self: a #NetMemoriesFilter
 *
 * Gets the inclusive lower bound of the creation time.
 *
 * Returns: microseconds since the Unix epoch, or 0 for no bound
 */
gint64
net_memories_filter_get_created_after (NetMemoriesFilter *self)
{
  g_return_val_if_fail (NET_IS_MEMORIES_FILTER (self), 0);

  return _net_filter_base_get_time_bound (BASE (self), NET_FILTER_CREATED_AFTER);
}

/**
 * net_memories_filter_set_created_after:
 * @self: a #NetMemoriesFilter
 * @created_after: microseconds since the Unix epoch, or 0 for no bound
 *
 * Makes the filter select only memories first stored at or after
 * @created_after.
 */
void
net_memories_filter_set_created_after (NetMemoriesFilter *self,
                                       gint64             created_after)
{
  g_return_if_fail (NET_IS_MEMORIES_FILTER (self));

  _net_filter_base_set_time_bound (BASE (self), NET_FILTER_CREATED_AFTER, created_after);
}

/**
 * net_memories_filter_get_created_before:
 * @self: a #NetMemoriesFilter
 *
 * Gets the inclusive upper bound of the creation time.
 *
 * Returns: microseconds since the Unix epoch, or %G_MAXINT64 for no bound
 */
gint64
net_memories_filter_get_created_before (NetMemoriesFilter *self)
{
  g_return_val_if_fail (NET_IS_MEMORIES_FILTER (self), G_MAXINT64);

  return _net_filter_base_get_time_bound (BASE (self), NET_FILTER_CREATED_BEFORE);
}

/**
 * net_memories_filter_set_created_before:
 * @self: a #NetMemoriesFilter
 * @created_before: microseconds since the Unix epoch, or %G_MAXINT64 for
 *   no bound
 *
 * Makes the filter select only memories first stored at or before
 * @created_before.
 */
void
net_memories_filter_set_created_before (NetMemoriesFilter *self,
                                        gint64             created_before)
{
  g_return_if_fail (NET_IS_MEMORIES_FILTER (self));

  _net_filter_base_set_time_bound (BASE (self), NET_FILTER_CREATED_BEFORE, created_before);
}

/**
 * net_memories_filter_get_updated_after:
 * @self: a #NetMemoriesFilter
 *
 * Gets the inclusive lower bound of the modification time.
 *
 * Returns: microseconds since the Unix epoch, or 0 for no bound
 */
gint64
net_memories_filter_get_updated_after (NetMemoriesFilter *self)
{
  g_return_val_if_fail (NET_IS_MEMORIES_FILTER (self), 0);

  return _net_filter_base_get_time_bound (BASE (self), NET_FILTER_UPDATED_AFTER);
}

/**
 * net_memories_filter_set_updated_after:
 * @self: a #NetMemoriesFilter
 * @updated_after: microseconds since the Unix epoch, or 0 for no bound
 *
 * Makes the filter select only memories last changed at or after
 * @updated_after.
 */
void
net_memories_filter_set_updated_after (NetMemoriesFilter *self,
                                       gint64             updated_after)
{
  g_return_if_fail (NET_IS_MEMORIES_FILTER (self));

  _net_filter_base_set_time_bound (BASE (self), NET_FILTER_UPDATED_AFTER, updated_after);
}

/**
 * net_memories_filter_get_updated_before:
 * @self: a #NetMemoriesFilter
 *
 * Gets the inclusive upper bound of the modification time.
 *
 * Returns: microseconds since the Unix epoch, or %G_MAXINT64 for no bound
 */
gint64
net_memories_filter_get_updated_before (NetMemoriesFilter *self)
{
  g_return_val_if_fail (NET_IS_MEMORIES_FILTER (self), G_MAXINT64);

  return _net_filter_base_get_time_bound (BASE (self), NET_FILTER_UPDATED_BEFORE);
}

/**
 * net_memories_filter_set_updated_before:
 * @self: a #NetMemoriesFilter
 * @updated_before: microseconds since the Unix epoch, or %G_MAXINT64 for
 *   no bound
 *
 * Makes the filter select only memories last changed at or before
 * @updated_before.
 */
void
net_memories_filter_set_updated_before (NetMemoriesFilter *self,
                                        gint64             updated_before)
{
  g_return_if_fail (NET_IS_MEMORIES_FILTER (self));

  _net_filter_base_set_time_bound (BASE (self), NET_FILTER_UPDATED_BEFORE, updated_before);
}

/**
 * net_memories_filter_get_order_by:
 * @self: a #NetMemoriesFilter
 *
 * Gets the order of the result.
 *
 * Returns: the #NetOrderBy
 */
NetOrderBy
net_memories_filter_get_order_by (NetMemoriesFilter *self)
{
  g_return_val_if_fail (NET_IS_MEMORIES_FILTER (self), NET_ORDER_BY_ID_ASC);

  return _net_filter_base_get_order_by (BASE (self));
}

/**
 * net_memories_filter_set_order_by:
 * @self: a #NetMemoriesFilter
 * @order_by: a #NetOrderBy
 *
 * Sets the order of the result.
 */
void
net_memories_filter_set_order_by (NetMemoriesFilter *self,
                                  NetOrderBy         order_by)
{
  g_return_if_fail (NET_IS_MEMORIES_FILTER (self));
  g_return_if_fail (order_by <= NET_ORDER_BY_UPDATED_DESC);

  _net_filter_base_set_order_by (BASE (self), order_by);
}

/**
 * net_memories_filter_get_limit:
 * @self: a #NetMemoriesFilter
 *
 * Gets the largest number of memories a query returns.
 *
 * Returns: the limit, or 0 for none
 */
guint
net_memories_filter_get_limit (NetMemoriesFilter *self)
{
  g_return_val_if_fail (NET_IS_MEMORIES_FILTER (self), 0);

  return _net_filter_base_get_limit (BASE (self));
}

/**
 * net_memories_filter_set_limit:
 * @self: a #NetMemoriesFilter
 * @limit: the largest number of memories, or 0 for no limit
 *
 * Sets the largest number of memories a query returns.  Counting queries
 * ignore it.
 */
void
net_memories_filter_set_limit (NetMemoriesFilter *self,
                               guint              limit)
{
  g_return_if_fail (NET_IS_MEMORIES_FILTER (self));

  _net_filter_base_set_limit (BASE (self), limit);
}

/**
 * net_memories_filter_get_offset:
 * @self: a #NetMemoriesFilter
 *
 * Gets how many ordered matches a query skips.
 *
 * Returns: the offset
 */
guint
net_memories_filter_get_offset (NetMemoriesFilter *self)
{
  g_return_val_if_fail (NET_IS_MEMORIES_FILTER (self), 0);

  return _net_filter_base_get_offset (BASE (self));
}

/**
 * net_memories_filter_set_offset:
 * @self: a #NetMemoriesFilter
 * @offset: the number of ordered matches to skip
 *
 * Sets how many ordered matches a query skips before the first one it
 * returns.  Counting queries ignore it.
 */
void
net_memories_filter_set_offset (NetMemoriesFilter *self,
                                guint              offset)
{
  g_return_if_fail (NET_IS_MEMORIES_FILTER (self));

  _net_filter_base_set_offset (BASE (self), offset);
}
