/* net-redex-config.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "net-enum-types.h"
#include "net-redex-config-private.h"
#include "net-redex-format-private.h"

/**
 * SECTION:net-redex-config
 * @title: NetRedexConfig
 * @short_description: how a log stores, syncs and evicts its events
 *
 * A #NetRedexConfig is passed to net_redex_open_file() when a log is first
 * opened; the log copies its values then, so changing the config later does
 * not affect logs that are already open.
 *
 * Retention limits are applied by net_redex_file_sweep_retention(), by
 * in-memory logs on every append, and by persistent logs whenever a sealed
 * segment has been made durable (in the background).  A persistent log
 * evicts by whole sealed segments for the byte and age limits, and
 * exactly for the event-count limit.
 */

/**
 * NetRedexConfig:
 *
 * The storage, durability and retention settings of a log.
 */

struct _NetRedexConfig
{
  GObject         parent_instance;
  NetRedexLimits  limits;
};

G_DEFINE_FINAL_TYPE (NetRedexConfig, net_redex_config, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_FSYNC_POLICY,
  PROP_FSYNC_PARAM,
  PROP_SEGMENT_SIZE,
  PROP_RETENTION_MAX_EVENTS,
  PROP_RETENTION_MAX_BYTES,
  PROP_RETENTION_MAX_AGE,
  PROP_TAIL_BUFFER,
  PROP_MAX_PAYLOAD,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

void
_net_redex_limits_init (NetRedexLimits *limits)
{
  limits->fsync_policy = NET_FSYNC_POLICY_NEVER;
  limits->fsync_param = 0;
  limits->segment_size = NET_REDEX_DEFAULT_SEGMENT_SIZE;
  limits->retention_max_events = 0;
  limits->retention_max_bytes = 0;
  limits->retention_max_age = 0;
  limits->tail_buffer = NET_REDEX_DEFAULT_TAIL_BUFFER;
  limits->max_payload = NET_REDEX_DEFAULT_MAX_PAYLOAD;
}

void
_net_redex_config_get_limits (NetRedexConfig *self,
                              NetRedexLimits *limits)
{
  if (self == NULL)
    _net_redex_limits_init (limits);
  else
    *limits = self->limits;
}

static void
net_redex_config_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  NetRedexConfig *self = NET_REDEX_CONFIG (object);

  switch (prop_id)
    {
    case PROP_FSYNC_POLICY:
      g_value_set_enum (value, self->limits.fsync_policy);
      break;
    case PROP_FSYNC_PARAM:
      g_value_set_uint (value, self->limits.fsync_param);
      break;
    case PROP_SEGMENT_SIZE:
      g_value_set_uint64 (value, self->limits.segment_size);
      break;
    case PROP_RETENTION_MAX_EVENTS:
      g_value_set_uint64 (value, self->limits.retention_max_events);
      break;
    case PROP_RETENTION_MAX_BYTES:
      g_value_set_uint64 (value, self->limits.retention_max_bytes);
      break;
    case PROP_RETENTION_MAX_AGE:
      g_value_set_int64 (value, self->limits.retention_max_age);
      break;
    case PROP_TAIL_BUFFER:
      g_value_set_uint (value, self->limits.tail_buffer);
      break;
    case PROP_MAX_PAYLOAD:
      g_value_set_uint (value, self->limits.max_payload);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
net_redex_config_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  NetRedexConfig *self = NET_REDEX_CONFIG (object);

  switch (prop_id)
    {
    case PROP_FSYNC_POLICY:
      net_redex_config_set_fsync_policy (self, g_value_get_enum (value), self->limits.fsync_param);
      break;
    case PROP_FSYNC_PARAM:
      net_redex_config_set_fsync_policy (self, self->limits.fsync_policy, g_value_get_uint (value));
      break;
    case PROP_SEGMENT_SIZE:
      net_redex_config_set_segment_size (self, g_value_get_uint64 (value));
      break;
    case PROP_RETENTION_MAX_EVENTS:
      net_redex_config_set_retention_max_events (self, g_value_get_uint64 (value));
      break;
    case PROP_RETENTION_MAX_BYTES:
      net_redex_config_set_retention_max_bytes (self, g_value_get_uint64 (value));
      break;
    case PROP_RETENTION_MAX_AGE:
      net_redex_config_set_retention_max_age (self, g_value_get_int64 (value));
      break;
    case PROP_TAIL_BUFFER:
      net_redex_config_set_tail_buffer (self, g_value_get_uint (value));
      break;
    case PROP_MAX_PAYLOAD:
      net_redex_config_set_max_payload (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
net_redex_config_class_init (NetRedexConfigClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = net_redex_config_get_property;
  object_class->set_property = net_redex_config_set_property;

  /**
   * NetRedexConfig:fsync-policy:
   *
   * When appends are forced to stable storage.
   */
  properties[PROP_FSYNC_POLICY] =
    g_param_spec_enum ("fsync-policy", NULL, NULL,
                       NET_TYPE_FSYNC_POLICY, NET_FSYNC_POLICY_NEVER,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetRedexConfig:fsync-param:
   *
   * The number of events for %NET_FSYNC_POLICY_EVERY_N, or the interval in
   * milliseconds for %NET_FSYNC_POLICY_INTERVAL.
   */
  properties[PROP_FSYNC_PARAM] =
    g_param_spec_uint ("fsync-param", NULL, NULL,
                       0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetRedexConfig:segment-size:
   *
   * The size in bytes after which the active segment is sealed and a new
   * one is started.
   */
  properties[PROP_SEGMENT_SIZE] =
    g_param_spec_uint64 ("segment-size", NULL, NULL,
                         NET_REDEX_MIN_SEGMENT_SIZE, G_MAXUINT64, NET_REDEX_DEFAULT_SEGMENT_SIZE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetRedexConfig:retention-max-events:
   *
   * Keep at most this many of the newest events; 0 means unlimited.
   */
  properties[PROP_RETENTION_MAX_EVENTS] =
    g_param_spec_uint64 ("retention-max-events", NULL, NULL,
                         0, G_MAXUINT64, 0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetRedexConfig:retention-max-bytes:
   *
   * Keep at most this many bytes of events; 0 means unlimited.
   */
  properties[PROP_RETENTION_MAX_BYTES] =
    g_param_spec_uint64 ("retention-max-bytes", NULL, NULL,
                         0, G_MAXUINT64, 0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetRedexConfig:retention-max-age:
   *
   * Evict events older than this many microseconds; 0 means unlimited.
   */
  properties[PROP_RETENTION_MAX_AGE] =
    g_param_spec_int64 ("retention-max-age", NULL, NULL,
                        0, G_MAXINT64, 0,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetRedexConfig:tail-buffer:
   *
   * How many live events a #NetRedexTail may fall behind before it fails
   * with %NET_ERROR_LAGGED.
   */
  properties[PROP_TAIL_BUFFER] =
    g_param_spec_uint ("tail-buffer", NULL, NULL,
                       1, G_MAXUINT, NET_REDEX_DEFAULT_TAIL_BUFFER,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetRedexConfig:max-payload:
   *
   * The largest payload an append accepts, in bytes.
   */
  properties[PROP_MAX_PAYLOAD] =
    g_param_spec_uint ("max-payload", NULL, NULL,
                       0, NET_REDEX_MAX_PAYLOAD_HARD, NET_REDEX_DEFAULT_MAX_PAYLOAD,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
net_redex_config_init (NetRedexConfig *self)
{
  _net_redex_limits_init (&self->limits);
}

/**
 * net_redex_config_new:
 *
 * Creates a config with the defaults: %NET_FSYNC_POLICY_NEVER, 64 MiB
 * segments, no retention limits, a tail buffer of 65536 events and a
 * maximum payload of 16 MiB.
 *
 * Returns: (transfer full): a new #NetRedexConfig
 */
NetRedexConfig *
net_redex_config_new (void)
{
  return g_object_new (NET_TYPE_REDEX_CONFIG, NULL);
}

/**
 * net_redex_config_copy:
 * @self: a #NetRedexConfig
 *
 * Copies @self.
 *
 * Returns: (transfer full): a new #NetRedexConfig with the same values
 */
NetRedexConfig *
net_redex_config_copy (NetRedexConfig *self)
{
  NetRedexConfig *copy;

  g_return_val_if_fail (NET_IS_REDEX_CONFIG (self), NULL);

  copy = net_redex_config_new ();
  copy->limits = self->limits;
  return copy;
}

/**
 * net_redex_config_get_fsync_policy:
 * @self: a #NetRedexConfig
 *
 * Gets the fsync policy.
 *
 * Returns: the #NetFsyncPolicy
 */
NetFsyncPolicy
net_redex_config_get_fsync_policy (NetRedexConfig *self)
{
  g_return_val_if_fail (NET_IS_REDEX_CONFIG (self), NET_FSYNC_POLICY_NEVER);

  return self->limits.fsync_policy;
}

/**
 * net_redex_config_get_fsync_param:
 * @self: a #NetRedexConfig
 *
 * Gets the parameter of the fsync policy.
 *
 * Returns: the event count or interval in milliseconds
 */
guint
net_redex_config_get_fsync_param (NetRedexConfig *self)
{
  g_return_val_if_fail (NET_IS_REDEX_CONFIG (self), 0);

  return self->limits.fsync_param;
}

/**
 * net_redex_config_set_fsync_policy:
 * @self: a #NetRedexConfig
 * @policy: a #NetFsyncPolicy
 * @n_or_ms: the event count for %NET_FSYNC_POLICY_EVERY_N or the interval in
 *   milliseconds for %NET_FSYNC_POLICY_INTERVAL; ignored otherwise
 *
 * Sets when appends are made durable. A count or interval of 0 is taken
 * as 1.
 */
void
net_redex_config_set_fsync_policy (NetRedexConfig *self,
                                   NetFsyncPolicy  policy,
                                   guint           n_or_ms)
{
  g_return_if_fail (NET_IS_REDEX_CONFIG (self));
  g_return_if_fail (policy <= NET_FSYNC_POLICY_ALWAYS);

  if (self->limits.fsync_policy != policy)
    {
      self->limits.fsync_policy = policy;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FSYNC_POLICY]);
    }
  if (self->limits.fsync_param != n_or_ms)
    {
      self->limits.fsync_param = n_or_ms;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FSYNC_PARAM]);
    }
}

/**
 * net_redex_config_get_segment_size:
 * @self: a #NetRedexConfig
 *
 * Gets the segment size.
 *
 * Returns: the size in bytes
 */
guint64
net_redex_config_get_segment_size (NetRedexConfig *self)
{
  g_return_val_if_fail (NET_IS_REDEX_CONFIG (self), 0);

  return self->limits.segment_size;
}

/**
 * net_redex_config_set_segment_size:
 * @self: a #NetRedexConfig
 * @segment_size: the size in bytes, at least 4096
 *
 * Sets the size after which a segment is sealed. A single batch larger
 * than this still goes into one segment.
 */
void
net_redex_config_set_segment_size (NetRedexConfig *self,
                                   guint64         segment_size)
{
  g_return_if_fail (NET_IS_REDEX_CONFIG (self));
  g_return_if_fail (segment_size >= NET_REDEX_MIN_SEGMENT_SIZE);

  if (self->limits.segment_size != segment_size)
    {
      self->limits.segment_size = segment_size;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SEGMENT_SIZE]);
    }
}

/**
 * net_redex_config_get_retention_max_events:
 * @self: a #NetRedexConfig
 *
 * Gets the event-count retention limit.
 *
 * Returns: the limit, or 0 for none
 */
guint64
net_redex_config_get_retention_max_events (NetRedexConfig *self)
{
  g_return_val_if_fail (NET_IS_REDEX_CONFIG (self), 0);

  return self->limits.retention_max_events;
}

/**
 * net_redex_config_set_retention_max_events:
 * @self: a #NetRedexConfig
 * @max_events: the number of newest events to keep, or 0 for no limit
 *
 * Sets the event-count retention limit.
 */
void
net_redex_config_set_retention_max_events (NetRedexConfig *self,
                                           guint64         max_events)
{
  g_return_if_fail (NET_IS_REDEX_CONFIG (self));

  if (self->limits.retention_max_events != max_events)
    {
      self->limits.retention_max_events = max_events;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RETENTION_MAX_EVENTS]);
    }
}

/**
 * net_redex_config_get_retention_max_bytes:
 * @self: a #NetRedexConfig
 *
 * Gets the byte retention limit.
 *
 * Returns: the limit, or 0 for none
 */
guint64
net_redex_config_get_retention_max_bytes (NetRedexConfig *self)
{
  g_return_val_if_fail (NET_IS_REDEX_CONFIG (self), 0);

  return self->limits.retention_max_bytes;
}

/**
 * net_redex_config_set_retention_max_bytes:
 * @self: a #NetRedexConfig
 * @max_bytes: the number of bytes to keep, or 0 for no limit
 *
 * Sets the byte retention limit. Persistent logs evict whole sealed
 * segments, oldest first, while they hold more than this.
 */
void
net_redex_config_set_retention_max_bytes (NetRedexConfig *self,
                                          guint64         max_bytes)
{
  g_return_if_fail (NET_IS_REDEX_CONFIG (self));

  if (self->limits.retention_max_bytes != max_bytes)
    {
      self->limits.retention_max_bytes = max_bytes;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RETENTION_MAX_BYTES]);
    }
}

/**
 * net_redex_config_get_retention_max_age:
 * @self: a #NetRedexConfig
 *
 * Gets the age retention limit.
 *
 * Returns: the limit in microseconds, or 0 for none
 */
GTimeSpan
net_redex_config_get_retention_max_age (NetRedexConfig *self)
{
  g_return_val_if_fail (NET_IS_REDEX_CONFIG (self), 0);

  return self->limits.retention_max_age;
}

/**
 * net_redex_config_set_retention_max_age:
 * @self: a #NetRedexConfig
 * @max_age: the age in microseconds, or 0 for no limit
 *
 * Sets the age retention limit. Persistent logs evict a sealed segment
 * once its newest event is older than this.
 */
void
net_redex_config_set_retention_max_age (NetRedexConfig *self,
                                        GTimeSpan       max_age)
{
  g_return_if_fail (NET_IS_REDEX_CONFIG (self));
  g_return_if_fail (max_age >= 0);

  if (self->limits.retention_max_age != max_age)
    {
      self->limits.retention_max_age = max_age;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RETENTION_MAX_AGE]);
    }
}

/**
 * net_redex_config_get_tail_buffer:
 * @self: a #NetRedexConfig
 *
 * Gets the tail buffer size.
 *
 * Returns: the number of events
 */
guint
net_redex_config_get_tail_buffer (NetRedexConfig *self)
{
  g_return_val_if_fail (NET_IS_REDEX_CONFIG (self), 0);

  return self->limits.tail_buffer;
}

/**
 * net_redex_config_set_tail_buffer:
 * @self: a #NetRedexConfig
 * @tail_buffer: the number of events, at least 1
 *
 * Sets how many live events a tail may fall behind before it fails with
 * %NET_ERROR_LAGGED.
 */
void
net_redex_config_set_tail_buffer (NetRedexConfig *self,
                                  guint           tail_buffer)
{
  g_return_if_fail (NET_IS_REDEX_CONFIG (self));
  g_return_if_fail (tail_buffer > 0);

  if (self->limits.tail_buffer != tail_buffer)
    {
      self->limits.tail_buffer = tail_buffer;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TAIL_BUFFER]);
    }
}

/**
 * net_redex_config_get_max_payload:
 * @self: a #NetRedexConfig
 *
 * Gets the largest accepted payload.
 *
 * Returns: the size in bytes
 */
guint
net_redex_config_get_max_payload (NetRedexConfig *self)
{
  g_return_val_if_fail (NET_IS_REDEX_CONFIG (self), 0);

  return self->limits.max_payload;
}

/**
 * net_redex_config_set_max_payload:
 * @self: a #NetRedexConfig
 * @max_payload: the size in bytes
 *
 * Sets the largest payload an append accepts; larger ones fail with
 * %NET_ERROR_PAYLOAD_TOO_LARGE.
 */
void
net_redex_config_set_max_payload (NetRedexConfig *self,
                                  guint           max_payload)
{
  g_return_if_fail (NET_IS_REDEX_CONFIG (self));
  g_return_if_fail (max_payload <= NET_REDEX_MAX_PAYLOAD_HARD);

  if (self->limits.max_payload != max_payload)
    {
      self->limits.max_payload = max_payload;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_PAYLOAD]);
    }
}
