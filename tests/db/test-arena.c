/* test-arena.c: NetArena, and the tasks' entries that live in one
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "netdb.h"
#include "net-arena-private.h"

typedef struct
{
  guint8 *block;
  gsize   size;
  guint8  fill;
} Block;

static void
check_block (const Block *b)
{
  for (gsize i = 0; i < b->size; i++)
    if (b->block[i] != (guint8) (b->fill + i))
      g_error ("a block of %" G_GSIZE_FORMAT " bytes was overwritten at byte %" G_GSIZE_FORMAT,
               b->size, i);
}

/* Blocks of every size, taken and given back at random, never overlap
 * (each keeps the bytes written into it), are 8-byte aligned, and the
 * arena counts what is in use; a freed block is the next one of its
 * size. */
static void
test_arena_random (void)
{
  NetArena arena;
  g_autoptr(GArray) live = g_array_new (FALSE, FALSE, sizeof (Block));
  GRand *rand = g_rand_new_with_seed (15);
  gsize in_use = 0;

  _net_arena_init (&arena);
  for (guint step = 0; step < 200000; step++)
    {
      if (live->len > 0 && g_rand_int_range (rand, 0, 100) < 45)
        {
          guint i = g_rand_int_range (rand, 0, live->len);
          Block b = g_array_index (live, Block, i);

          check_block (&b);
          _net_arena_free (&arena, b.block, b.size);
          if (b.size <= NET_ARENA_MAX_SIZE)
            {
              in_use -= (b.size + 7) & ~(gsize) 7;
              /* The next block of that size class is the one just freed. */
              if (step % 7 == 0)
                {
                  gsize again = ((b.size + 7) & ~(gsize) 7) - g_rand_int_range (rand, 0, 8);
                  guint8 *p;

                  again = MAX (again, 1);
                  p = _net_arena_alloc (&arena, again);
                  g_assert_true (p == b.block);
                  b.size = again;
                  in_use += (again + 7) & ~(gsize) 7;
                  b.fill = (guint8) step;
                  for (gsize k = 0; k < b.size; k++)
                    b.block[k] = (guint8) (b.fill + k);
                  g_array_index (live, Block, i) = b;
                  continue;
                }
            }
          g_array_remove_index_fast (live, i);
        }
      else
        {
          Block b;

          /* Mostly small, as entries are; sometimes past the largest
           * class (malloc's). */
          b.size = g_rand_int_range (rand, 0, 100) < 97 ? g_rand_int_range (rand, 1, 200)
                                                        : g_rand_int_range (rand, 1, 2000);
          b.block = _net_arena_alloc (&arena, b.size);
          g_assert_cmpuint ((guintptr) b.block % 8, ==, 0);
          b.fill = (guint8) step;
          for (gsize k = 0; k < b.size; k++)
            b.block[k] = (guint8) (b.fill + k);
          if (b.size <= NET_ARENA_MAX_SIZE)
            in_use += (b.size + 7) & ~(gsize) 7;
          g_array_append_val (live, b);
        }
      g_assert_cmpuint (arena.in_use, ==, in_use);
    }

  for (guint i = 0; i < live->len; i++)
    check_block (&g_array_index (live, Block, i));

  /* Large blocks are freed one by one, then the arena all at once; a
   * move leaves the source empty and usable. */
  for (guint i = 0; i < live->len; i++)
    {
      Block *b = &g_array_index (live, Block, i);

      _net_arena_free_large (b->block, b->size);
    }
  {
    NetArena other;

    _net_arena_init (&other);
    _net_arena_move (&other, &arena);
    g_assert_cmpuint (arena.in_use, ==, 0);
    g_assert_null (arena.slabs);
    g_assert_cmpuint (other.in_use, ==, in_use);
    g_assert_nonnull (_net_arena_alloc (&arena, 24));
    _net_arena_clear (&other);
  }
  _net_arena_clear (&arena);
  g_assert_cmpuint (arena.in_use, ==, 0);
  g_rand_free (rand);
}

/* A large arena takes large slabs (each a huge page): 8 MiB of blocks
 * are 2 MiB of 64 KiB slabs, then slabs of 2 MiB, not 128 of 64 KiB;
 * every block keeps its bytes; and the large slabs are given back at the
 * clear. */
static void
test_arena_large (void)
{
  NetArena arena;
  const gsize size = 64, n = 8 * 1024 * 1024 / 64;
  guint8 **blocks = g_new (guint8 *, n);
  guint n_small = 0;
  gsize small_bytes = 0;

  /* 64 KiB slabs up to 2 MiB. */
  while (small_bytes < NET_ARENA_BIG_AFTER)
    {
      small_bytes += NET_ARENA_SLAB_SIZE;
      n_small++;
    }
  g_assert_cmpuint (n_small, ==, 32);

  _net_arena_init (&arena);
  for (gsize i = 0; i < n; i++)
    {
      blocks[i] = _net_arena_alloc (&arena, size);
      memset (blocks[i], (int) (i & 0xff), size);
    }
  g_assert_cmpuint (arena.slabs->len, ==, n_small);
  g_assert_cmpuint (arena.huge->len, ==, (n * size - small_bytes + NET_ARENA_BIG_SLAB_SIZE - 1) / NET_ARENA_BIG_SLAB_SIZE);
  g_assert_cmpuint (arena.slab_bytes, ==, small_bytes + arena.huge->len * NET_ARENA_BIG_SLAB_SIZE);
  g_assert_cmpuint (_net_pages_get_mapped (), >=, arena.huge->len * NET_PAGES_HUGE_BLOCK);
  for (gsize i = 0; i < n; i++)
    for (gsize k = 0; k < size; k++)
      g_assert_cmpuint (blocks[i][k], ==, i & 0xff);
  _net_arena_clear (&arena);
  g_assert_cmpuint (_net_pages_get_mapped (), ==, 0);
  g_free (blocks);
}

/* The tasks keep their entries in their table's arena: titles of every
 * length (a task's entry is 25 bytes and its title: some past the
 * arena's largest class), renamed to other lengths, deleted and made
 * again, read back the same, through a snapshot and a restore (whose
 * entries come from an arena of its own, which the model then takes),
 * and a failed restore leaves the state as it was. */
static char *
title_of (guint64 id,
          guint   round)
{
  gsize len = (id * 37 + round * 11) % 700;
  GString *s = g_string_new (NULL);

  g_string_printf (s, "t%" G_GUINT64_FORMAT "-%u-", id, round);
  while (s->len < len)
    g_string_append_c (s, 'a' + (char) (s->len % 26));
  return g_string_free (s, FALSE);
}

static void
check_tasks (NetDbTasks *tasks,
             guint64     n,
             guint      *rounds)
{
  g_assert_cmpuint (net_db_tasks_count (tasks, NULL), ==, n - n / 5);
  for (guint64 id = 1; id <= n; id++)
    {
      g_autoptr(NetTask) task = net_db_tasks_get (tasks, id);

      if (rounds[id] == G_MAXUINT)
        g_assert_null (task);
      else
        {
          g_autofree char *title = title_of (id, rounds[id]);

          g_assert_nonnull (task);
          g_assert_cmpstr (net_task_get_title (task), ==, title);
        }
    }
}

static void
test_tasks_entries (void)
{
  g_autoptr(GError) error = NULL;
  const guint64 n = 2000;
  g_autofree guint *rounds = g_new0 (guint, n + 1);
  g_autoptr(GBytes) snapshot = NULL;
  NetDb *db = net_db_new (NULL, NET_DB_MODELS_TASKS, &error);
  NetDb *copy;
  NetDbTasks *tasks;

  g_assert_no_error (error);
  tasks = net_db_get_tasks (db);
  for (guint64 id = 1; id <= n; id++)
    {
      g_autofree char *title = title_of (id, 0);

      g_assert_cmpuint (net_db_tasks_create (tasks, id, title, 0, &error), >, 0);
      g_assert_no_error (error);
    }
  /* Renames to other lengths (other size classes, or malloc's), deletes,
   * and creates again, so freed blocks are taken again. */
  for (guint round = 1; round <= 3; round++)
    for (guint64 id = 1; id <= n; id++)
      {
        if (id % 5 == 0 && round == 2)
          {
            g_assert_cmpuint (net_db_tasks_delete (tasks, id, &error), >, 0);
            rounds[id] = G_MAXUINT;
          }
        else if (id % 5 == 0 && round == 3)
          continue;
        else if (id % 3 == round % 3)
          {
            g_autofree char *title = title_of (id, round);

            g_assert_cmpuint (net_db_tasks_rename (tasks, id, title, 0, &error), >, 0);
            rounds[id] = round;
          }
        g_assert_no_error (error);
      }
  check_tasks (tasks, n, rounds);

  snapshot = net_db_tasks_snapshot (tasks, &error);
  g_assert_no_error (error);

  copy = net_db_new (NULL, NET_DB_MODELS_TASKS, &error);
  g_assert_no_error (error);
  g_assert_true (net_db_tasks_restore (net_db_get_tasks (copy), snapshot, &error));
  g_assert_no_error (error);
  check_tasks (net_db_get_tasks (copy), n, rounds);

  /* A snapshot cut short fails to restore and changes nothing; the
   * records read before the cut (from the restore's arena) are freed. */
  {
    g_autoptr(GBytes) cut = g_bytes_new_from_bytes (snapshot, 0, g_bytes_get_size (snapshot) * 2 / 3);

    g_assert_false (net_db_tasks_restore (net_db_get_tasks (copy), cut, &error));
    g_assert_nonnull (error);
    g_clear_error (&error);
    check_tasks (net_db_get_tasks (copy), n, rounds);
  }

  /* The restored entries go on changing in the model's arena. */
  for (guint64 id = 1; id <= n; id += 2)
    if (rounds[id] != G_MAXUINT)
      {
        g_autofree char *title = title_of (id, 9);

        g_assert_cmpuint (net_db_tasks_rename (net_db_get_tasks (copy), id, title, 0, &error), >, 0);
        g_assert_no_error (error);
        rounds[id] = 9;
      }
  check_tasks (net_db_get_tasks (copy), n, rounds);

  g_assert_true (net_db_close (copy, &error));
  g_assert_no_error (error);
  g_object_unref (copy);
  g_assert_true (net_db_close (db, &error));
  g_assert_no_error (error);
  g_object_unref (db);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/arena/random", test_arena_random);
  g_test_add_func ("/arena/large", test_arena_large);
  g_test_add_func ("/arena/tasks-entries", test_tasks_entries);

  return g_test_run ();
}
