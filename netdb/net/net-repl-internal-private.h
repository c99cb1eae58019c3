/* net-repl-internal-private.h: what the parts of net-repl share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The replication state (struct _NetRepl, its leader's Follower, its
 * follower's FollowLog and Forward, the SyncJob of a log) and the limits
 * that net-repl.c (the NetRepl, syncing, timers), net-repl-leader.c,
 * net-repl-follower.c, net-repl-forward.c and net-repl-snapshot.c share,
 * with the functions they call across files (prefixed _net_repl_).
 */

#pragma once

#include <glib.h>

#include "net-db-private.h"
#include "net-event-meta-private.h"
#include "net-redex-private.h"
#include "net-repl-msg-private.h"
#include "net-repl-private.h"

G_BEGIN_DECLS

/* Logs a NetRepl replicates: the wire names them by a u8.  0 and 1 are
 * the tasks' and the memories' (NetDbLog), the leader numbers the
 * collections' logs from 2 on, the follower learns those numbers by name
 * (LOGS) per session. */
#define MAX_LOGS                    256

#define DEFAULT_HEARTBEAT_MS        1000
#define DEFAULT_PULL_TIMEOUT_MS     500
#define DEFAULT_FORWARD_TIMEOUT_MS  10000

/* Follower: PULLs in flight and at most how many events per PULL; the
 * ranges are shorter for larger events, so that what is in flight stays
 * within PULL_WINDOW_BYTES (and the socket buffers: a datagram lost to a
 * full buffer costs a pull timeout). */
#define PULL_WINDOW          8
#define PULL_RANGE           512
#define PULL_WINDOW_BYTES    (1024 * 1024)
/* A leader that announces events it does not send: after this many
 * re-requests in a row, a pull timeout apart and each after an ANNOUNCE
 * that claimed more than we hold, with nothing of that log received, the
 * follower stops.  Losses do not get there: 0.51^32 with 30% of the
 * messages lost each way. */
#define PULL_EMPTY_MAX       32
/* Out-of-order events kept until the gap before them is filled. */
#define REORDER_MAX_EVENTS   (PULL_WINDOW * PULL_RANGE)
#define REORDER_MAX_BYTES    (64 * 1024 * 1024)
/* Events that do not fit in a message, reassembled at once per log. */
#define FRAGMENTS_MAX        2
/* An event is never larger than a log accepts. */
#define EVENT_MAX_BYTES      NET_REDEX_DEFAULT_MAX_PAYLOAD
/* Events appended with one write. */
#define APPEND_BATCH         4096

/* Leader: how many new events it pushes to a follower that has the rest. */
#define PUSH_MAX_EVENTS      256
/* Leader: how much one PULL may make it read and send. */
#define PULL_MAX_EVENTS      4096
#define PULL_MAX_BYTES       (8 * 1024 * 1024)
/* Snapshots kept per follower, and for how long after their last use. */
#define SNAPSHOT_KEEP_US     (60 * G_TIME_SPAN_SECOND)
/* A snapshot request (id 0) within this long of the last snapshot made
 * gets that one, whatever changed since (the follower pulls the rest): a
 * follower asking again and again cannot make the leader snapshot its
 * whole database each time. */
#define SNAPSHOT_MIN_INTERVAL_US (5 * G_TIME_SPAN_SECOND)
#define SNAPSHOT_MAX_BYTES   ((guint64) 1 << 30)
/* Bytes of snapshot one SNAPSHOT_REQUEST asks for, and requests in flight. */
#define SNAPSHOT_REQUEST_LEN (64 * 1024)
#define SNAPSHOT_WINDOW      4
/* Forwarded events reassembled at once per follower. */
#define FORWARD_PARTS_MAX    4
/* Leader: the forwarded events it remembers per follower (to tell a
 * retransmission from another event with the same app_seq), and how far
 * back from its tail it looks for one it forgot. */
#define FORWARD_RECENT       64
#define FORWARD_SEARCH_MAX   65536
#define FORWARD_SEARCH_CHUNK 256

/* Follower: FORWARDs in flight. */
#define FORWARD_WINDOW       8
/* Follower: while the leader says nothing, a FORWARD is sent again after
 * the pull timeout, twice that, … up to 2^FORWARD_BACKOFF_MAX times it,
 * but at least four times per forward timeout. */
#define FORWARD_BACKOFF_MAX  4
/* Queued forwards a follower keeps (a mutation beyond fails at once). */
#define FORWARD_QUEUE_MAX    65536

/* Message sizes. */
#define EVENTS_HEADER        (1 + 1 + 8 + 2)
#define EVENTS_ENTRY_HEADER  (8 + 4)
#define FRAGMENT_HEADER      (1 + 1 + 8 + 8 + 4 + 4)
#define FORWARD_HEADER       (1 + 1 + 8 + 8 + 8 + 4 + 4)
#define SNAPSHOT_PART_HEADER (1 + 4 + 8)
#define ACK_HEADER           (1 + 1 + 8 + 8 + 1 + 8 + 4 + 2)
#define SUBSCRIBE_HEADER     (1 + 8 + 4 + 1)
#define SUBSCRIBE_ENTRY      (1 + 8 + 8)
#define ANNOUNCE_HEADER      (1 + 1 + 4)
#define ANNOUNCE_ENTRY       (1 + 8 + 8 + 8)
#define LOGS_HEADER          (1 + 1)
#define LOGS_ENTRY_HEADER    (1 + 1 + 1)
/* A collection's log name is at most this long (NET_COLLECTION_LOG_PREFIX
 * and a name of 200 bytes): one LOGS entry fits in any message. */
#define LOG_NAME_MAX         255
#define MIN_MESSAGE          (LOGS_HEADER + LOGS_ENTRY_HEADER + LOG_NAME_MAX)

/* LOGS statuses: the log's number, or why there is none for this
 * follower (a log it asked for by name, to forward to). */
enum
{
  LOGS_NUMBERED    = 0,
  LOGS_READ_ONLY   = 1,  /* a reader may not create a collection */
  LOGS_UNAVAILABLE = 2,  /* too many logs, or it cannot be created */
};

/* FORWARD_ACK statuses. */
enum
{
  ACK_APPENDED     = NET_DB_FORWARD_APPENDED,
  ACK_DUPLICATE    = NET_DB_FORWARD_DUPLICATE,
  ACK_OUT_OF_ORDER = NET_DB_FORWARD_OUT_OF_ORDER,
  ACK_REFUSED      = 3,
  ACK_CONFLICT     = 4,
};

/* State ------------------------------------------------------------------- */

/* Leader: a forwarded event it holds. */
typedef struct
{
  guint8  log;
  guint64 origin;
  guint64 app_seq;
  guint64 seq;
  guint64 digest;
} Recent;

/* Leader: what it keeps of a peer that follows it. */
typedef struct
{
  gpointer    peer;
  gboolean    subscribed;
  guint64     origin;
  guint32     snapshot_id;
  GBytes     *snapshot;
  guint64     snapshot_seqs[MAX_LOGS];  /* the logs' next seqs then */
  gint64      snapshot_used;
  GPtrArray  *forwards;     /* NetReplParts: forwarded events, by app_seq,
                             * tagged with their digests */
  Recent      recent[FORWARD_RECENT];  /* a ring of what it forwarded */
  guint       n_recent;
  GArray     *durable_acks; /* DurableAck: answers waiting for a sync */
  guint64     pulled[MAX_LOGS];  /* the seq after what it was sent */
  /* Its last SUBSCRIBE showed a tail we do not have: nothing of that log
   * is sent to it until one shows a tail we have. */
  gboolean    diverged[MAX_LOGS];
  guint32     token;        /* of its last SUBSCRIBE, in every ANNOUNCE */
} Follower;

/* Leader: the answer to a forwarded event, sent once the event is
 * durable: an acknowledged event must survive a crash of the leader, or
 * the follower's later events would follow one the leader lost. */
typedef struct
{
  guint8  log;
  guint8  status;
  guint64 app_seq;
  guint64 digest;
  guint64 seq;
} DurableAck;

/* Follower: one PULL in flight. */
typedef struct
{
  guint64 from;
  guint64 end;
  gint64  sent_at;
} PullRange;

typedef struct
{
  gint64  timestamp;
  GBytes *payload;
} Pending;

/* One sync of a log, on a worker thread: the main loop never waits for
 * the disk.  At most one is in flight per log; what is appended while it
 * runs waits for the next one (a group commit). */
typedef struct
{
  NetRepl      *repl;       /* NULL once the repl is freed; owner thread only */
  NetRedexFile *file;
  GMainContext *context;
  guint         log;
  guint64       upto;       /* durable up to at least this seq once it is done */
  guint64       hash;       /* follower: of the event at upto, 0 if unknown */
  guint64       restarts;   /* of the file when it started */
  gboolean      ok;
  GError       *error;
} SyncJob;

/* Follower: one log. */
typedef struct
{
  NetRedexFile *file;
  int           wire;           /* its number this session, -1: unknown */
  guint32       check_token;    /* the SUBSCRIBE of this session that had
                                 * our whole tail (0: none yet)… */
  gboolean      checked;        /* …and an ANNOUNCE that answers it (or a
                                 * later one) came: the leader checked it */
  gboolean      announced;      /* the leader has it */
  guint64       leader_first;
  guint64       leader_next;
  guint64       leader_app_seq; /* of our origin, as last announced */
  guint64       last_hash;      /* of our last event, 0 when empty */
  guint64       hash_seq;       /* the seq last_hash is of */
  PullRange     pulls[PULL_WINDOW];
  guint         n_pulls;
  GHashTable   *pending;        /* seq (guint64*) → Pending* */
  guint64       pending_bytes;
  GPtrArray    *fragments;      /* NetReplParts: events by seq, tagged with
                                 * their timestamps */
  guint64       own_app_seq;    /* the last app_seq we assigned */
  gint64        name_asked;     /* when we last asked the leader to number
                                 * it (to forward to it), 0: never */
  gboolean      conflicted;     /* a FORWARD was in conflict: number
                                 * anew once the earlier ones are
                                 * answered */
  guint64       synced_upto;    /* the last sync made this durable… */
  guint64       synced_hash;    /* …and this is its hash (0: unknown) */
  guint64       synced_restarts;
  guint64       avg_event;      /* bytes on the wire per event, averaged */
  gboolean      received;       /* EVENTS, FRAGMENT or GONE since the last
                                 * round of re-requests… */
  gboolean      claimed;        /* …an ANNOUNCE beyond what we hold */
  guint         empty_rounds;   /* rounds in a row with neither */
  gint64        round_at;       /* monotonic: the last round */
  GPtrArray    *batch;          /* GBytes*: received in order, to append */
  GArray       *batch_stamps;   /* their timestamps */
} FollowLog;

/* Follower: one queued local mutation. */
typedef struct
{
  guint     log;          /* our number of its log (NetRepl.logs) */
  GBytes   *event;        /* with app_seq once assigned */
  guint64   app_seq;      /* 0: not yet sent */
  guint64   digest;       /* of event, once app_seq is assigned */
  guint64   prev;         /* the digest of ours it follows, or 0 */
  gint64    queued;       /* monotonic: when the mutation was made */
  gint64    last_sent;    /* 0: to be sent */
  gboolean  reported;     /* forward-failed emitted for its timeout */
} Forward;

struct _NetRepl
{
  NetDb          *db;
  NetReplLink    *link;
  GMainContext   *context;
  gboolean        leader;
  NetReplCounters counters;

  guint           heartbeat_ms;
  guint           pull_timeout_ms;
  guint           forward_timeout_ms;
  GSource        *heartbeat_source;
  GSource        *tick_source;

  /* The logs, by our number: the leader's are its wire numbers, a
   * follower maps the wire's to its own per session (wire_log). */
  NetRedexFile   *logs[MAX_LOGS];
  char           *log_names[MAX_LOGS];
  guint           n_logs;
  SyncJob        *syncing[MAX_LOGS];  /* the sync in flight, or NULL */

  /* Leader. */
  GHashTable     *followers;       /* peer → Follower* */
  GSource        *watch_source;    /* woken by appends to the logs, and
                                    * by the db opening a collection */
  guint           logs_generation; /* the db's, when the logs were listed */
  GHashTable     *logs_refused;    /* names of logs beyond MAX_LOGS, warned of */
  guint64         announced[MAX_LOGS];
  guint64         announced_tail[MAX_LOGS];  /* durable, last announced */
  guint32         last_snapshot_id;
  /* Leader: (log, origin, app_seq) → Recent of the events of the logs'
   * last FORWARD_SEARCH_MAX seqs, built as leader_find_forwarded() first
   * needs them: each event is decoded once, not once per FORWARD. */
  GHashTable     *forward_index;
  guint64         indexed_lo[MAX_LOGS];   /* the index covers [lo, hi) */
  guint64         indexed_hi[MAX_LOGS];
  GBytes         *last_snapshot;   /* the newest made, for any follower */
  guint64         last_snapshot_seqs[MAX_LOGS];
  gint64          last_snapshot_made;

  /* Follower. */
  gpointer        leader_peer;       /* NULL once the link removed it */
  guint8          leader_key[32];    /* to know it again when re-added */
  gboolean        have_leader_key;
  gboolean        forward_writes;
  gboolean        leader_up;
  gboolean        session_announced;  /* an ANNOUNCE since peer-up */
  guint32         sub_token;          /* of our last SUBSCRIBE message */
  gboolean        diverged;
  FollowLog      *follow[MAX_LOGS];  /* by our number */
  int             wire_log[MAX_LOGS];  /* this session: the wire's number
                                        * → ours, -1: unknown */
  gint64          wire_asked[MAX_LOGS];  /* when we last asked its name */
  gboolean        wire_refused[MAX_LOGS];  /* a name we could not open */
  GSource        *pump_source;       /* send queued forwards */
  GSource        *flush_source;      /* append the batch received in order */
  GQueue          forwards;          /* Forward* */
  gint64          last_resend;       /* after an out-of-order answer */
  gint64          leader_heard;      /* monotonic: the last message of the
                                      * leader, or its session coming up */
  guint           forward_backoff;   /* retransmissions unanswered in a row */
  gint64          last_tick;

  /* Follower: re-bootstrapping from a snapshot. */
  gboolean        snapshotting;
  guint32         snap_id;
  gint64          snap_asked;        /* when id 0 was last asked for */
  guint64         snap_total;
  NetReplParts   *snap;              /* once its total is known */
  NetReplSpan     snap_reqs[SNAPSHOT_WINDOW];
  gint64          snap_req_sent[SNAPSHOT_WINDOW];
};

/* Shared helpers ----------------------------------------------------------- */

gboolean
_net_repl_send_message (NetRepl     *self,
                        gpointer     peer,
                        GByteArray  *msg);

gboolean
_net_repl_peer_is_up (NetRepl  *self,
                      gpointer  peer);

gint64
_net_repl_now_us (void);

void
_net_repl_sync_start (NetRepl *self,
                      guint    log,
                      guint64  hash);

void
_net_repl_follower_free (gpointer data);

gboolean
_net_repl_leader_watch_cb (gpointer data);

guint
_net_repl_recent_hash (gconstpointer key);

gboolean
_net_repl_recent_equal (gconstpointer a,
                        gconstpointer b);

gboolean
_net_repl_leader_receive (NetRepl      *self,
                          gpointer      peer,
                          const guint8 *message,
                          gsize         len);

gboolean
_net_repl_leader_heartbeat_cb (gpointer data);

void
_net_repl_leader_sync_done (NetRepl *self,
                            SyncJob *job);

extern GSourceFuncs _net_repl_watch_source_funcs;

void
_net_repl_snapshot_reset (NetRepl *self);

void
_net_repl_follower_snapshot_step (NetRepl *self);

void
_net_repl_follower_clear_pulls (NetRepl *self);

gboolean
_net_repl_follower_on_gone (NetRepl       *self,
                            NetReplReader *r);

gboolean
_net_repl_follower_on_diverged (NetRepl       *self,
                                NetReplReader *r);

gboolean
_net_repl_follower_on_snapshot_info (NetRepl       *self,
                                     NetReplReader *r);

gboolean
_net_repl_follower_on_snapshot_part (NetRepl       *self,
                                     NetReplReader *r);

void
_net_repl_follower_send_subscribe (NetRepl *self);

void
_net_repl_follower_load_hash (NetRepl  *self,
                              guint     log);

void
_net_repl_follower_fill_pulls (NetRepl *self,
                               guint    log);

void
_net_repl_follower_stop (NetRepl      *self,
                         const GError *error);

void
_net_repl_follower_pump (NetRepl *self);

void
_net_repl_forward_cb (const char *log,
                      GBytes     *event,
                      gpointer    user_data);

/* Our number of the log @name, or -1 (net-repl.c). */
int
_net_repl_find_log (NetRepl    *self,
                    const char *name);

/* Follower: makes @file (named @name) one of our logs; its number, or -1
 * when there are too many. */
int
_net_repl_follower_add_log (NetRepl      *self,
                            const char   *name,
                            NetRedexFile *file);

/* Leader: takes in the collections the db opened since we last looked. */
void
_net_repl_leader_refresh_logs (NetRepl *self);

gboolean
_net_repl_follower_on_logs (NetRepl       *self,
                            NetReplReader *r);

/* Follower: fails (forward-failed with @error) and drops the queued
 * forwards of our log @log. */
void
_net_repl_follower_fail_forwards (NetRepl      *self,
                                  guint         log,
                                  const GError *error);

/* Whether @name is a collection's log name (what LOGS may carry). */
gboolean
_net_repl_is_collection_log (const char *name,
                             gsize       len);

gboolean
_net_repl_follower_on_forward_ack (NetRepl       *self,
                                   NetReplReader *r);

void
_net_repl_follower_check_forward_timeouts (NetRepl *self);

guint64
_net_repl_follower_origin (NetRepl *self);

void
_net_repl_forward_free (Forward *fw);

void
_net_repl_pending_free (gpointer data);

void
_net_repl_follower_advertise (NetRepl *self);

void
_net_repl_follower_sync_done (NetRepl *self,
                              SyncJob *job);

void
_net_repl_follower_flush_all (NetRepl *self);

gboolean
_net_repl_follower_receive (NetRepl      *self,
                            gpointer      peer,
                            const guint8 *message,
                            gsize         len);

gboolean
_net_repl_follower_heartbeat_cb (gpointer data);

gboolean
_net_repl_follower_tick_cb (gpointer data);

gboolean
_net_repl_is_leader_peer (NetRepl  *self,
                          gpointer  peer);

G_END_DECLS
