/* net-identity-private.h: the raw keys of a NetIdentity, for the transport
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "net-identity.h"

G_BEGIN_DECLS

#define NET_IDENTITY_SEED_SIZE 32
#define NET_IDENTITY_X25519_SIZE 32

/* Calls sodium_init() once; aborts if libsodium cannot initialise (there is
 * no safe way to continue without a random source).  Idempotent and
 * thread-safe. */
void         _net_identity_init_sodium             (void);

/* An identity derived from a fixed 32-byte Ed25519 seed: for tests and
 * test vectors.  The caller wipes @seed. */
NetIdentity *_net_identity_new_from_seed           (const guint8 *seed);

/* The raw 32-byte Ed25519 public key. */
const guint8 *_net_identity_get_ed25519_public     (NetIdentity  *self);

/* The X25519 static keypair of the Noise handshake, converted from the
 * Ed25519 keypair (crypto_sign_ed25519_pk_to_curve25519 and
 * crypto_sign_ed25519_sk_to_curve25519).  Both are 32 bytes and live as
 * long as @self.  The secret is in sodium_malloc() memory: use it in
 * place, and sodium_memzero() any copy after use. */
const guint8 *_net_identity_get_x25519_public      (NetIdentity  *self);
const guint8 *_net_identity_get_x25519_secret      (NetIdentity  *self);

/* Converts a peer's 32-byte Ed25519 public key (from an allow-list) into
 * its X25519 static public key.  FALSE if it is not a usable Ed25519 point
 * (small order, not on the curve, not canonical). */
gboolean      _net_identity_ed25519_to_x25519_public (const guint8 *ed25519_public,
                                                      guint8       *x25519_public);

/* The origin of the node whose Ed25519 public key is @ed25519_public: the
 * same value as net_identity_get_origin() of that node. */
guint64       _net_identity_origin_for_public      (const guint8 *ed25519_public);

G_END_DECLS
