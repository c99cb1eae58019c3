/* test-id-table.c: NetIdTable, its dense part and its hash
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "net-id-table-private.h"

static void
check_against (NetIdTable *table,
               GHashTable *oracle,
               guint64     max_id)
{
  GHashTableIter iter;
  gpointer k, v;
  guint64 pos = 0;
  guint n = 0;
  gpointer e;

  g_assert_cmpuint (_net_id_table_size (table), ==, g_hash_table_size (oracle));
  g_hash_table_iter_init (&iter, oracle);
  while (g_hash_table_iter_next (&iter, &k, &v))
    g_assert_true (_net_id_table_lookup (table, *(guint64 *) v) == v);
  /* Iteration gives each entry once. */
  while ((e = _net_id_table_next (table, &pos)) != NULL)
    {
      g_assert_true (g_hash_table_lookup (oracle, e) == e);
      n++;
    }
  g_assert_cmpuint (n, ==, g_hash_table_size (oracle));
  /* No id below the dense part's end is in the hash. */
  for (guint i = 0; i <= table->mask; i++)
    if (table->slots[i] != NULL)
      g_assert_cmpuint (*(guint64 *) table->slots[i], >=, table->dense_cap);
  (void) max_id;
}

/* Ids in sequence go to the dense part, which stays at most an eighth
 * (plus its smallest size) larger than the ids; ids at random stay in the
 * hash; an id put in the hash early moves to the dense part when it
 * grows past it; removals and re-inserts of both kinds are found (an
 * oracle says what the table must hold). */
static void
test_id_table_dense (void)
{
  const guint64 n = 200000;
  guint64 *ids = g_new (guint64, 3 * n);
  GHashTable *oracle = g_hash_table_new (NULL, NULL);   /* the entries, by address */
  GRand *rand = g_rand_new_with_seed (42);
  NetIdTable table;

  _net_id_table_init (&table);

  /* One id far ahead, and one just ahead, first: the hash takes them. */
  ids[2 * n] = 150000;
  ids[2 * n + 1] = n + 5000000;
  _net_id_table_insert (&table, &ids[2 * n]);
  _net_id_table_insert (&table, &ids[2 * n + 1]);
  g_hash_table_add (oracle, &ids[2 * n]);
  g_hash_table_add (oracle, &ids[2 * n + 1]);
  g_assert_cmpuint (table.size, ==, 2);

  /* 1..n in sequence, but 150000, which is there already. */
  _net_id_table_reserve (&table, n);
  for (guint64 i = 1; i <= n; i++)
    {
      if (i == 150000)
        continue;
      ids[i] = i;
      _net_id_table_insert (&table, &ids[i]);
      g_hash_table_add (oracle, &ids[i]);
    }
  check_against (&table, oracle, n);
  g_assert_cmpuint (table.dense_size, ==, n);         /* 150000 moved too */
  g_assert_cmpuint (table.size, ==, 1);               /* only the far one */
  g_assert_cmpuint (table.dense_cap, <=, n + n / 8 + 1);

  /* Random 64-bit ids: the hash. */
  for (guint64 i = n + 1; i < 2 * n; i++)
    {
      ids[i] = ((guint64) g_rand_int (rand) << 32 | g_rand_int (rand)) | G_GUINT64_CONSTANT (1) << 40;
      _net_id_table_insert (&table, &ids[i]);
      g_hash_table_add (oracle, &ids[i]);
    }
  check_against (&table, oracle, n);
  g_assert_cmpuint (table.dense_cap, <=, n + n / 8 + 1);
  g_assert_cmpuint (table.size, ==, n);

  /* Remove and put back at random, of both kinds; replacing an entry of
   * the same id replaces it. */
  for (guint step = 0; step < 300000; step++)
    {
      guint64 i = 1 + g_rand_int_range (rand, 0, 2 * n - 1);
      gpointer in = g_hash_table_lookup (oracle, &ids[i]);

      if (i == 150000)
        continue;
      if (in != NULL && g_rand_boolean (rand))
        {
          g_assert_true (_net_id_table_remove (&table, ids[i]) == &ids[i]);
          g_hash_table_remove (oracle, &ids[i]);
          g_assert_null (_net_id_table_lookup (&table, ids[i]));
          g_assert_null (_net_id_table_remove (&table, ids[i]));
        }
      else
        {
          _net_id_table_insert (&table, &ids[i]);
          g_hash_table_add (oracle, &ids[i]);
        }
    }
  check_against (&table, oracle, n);

  /* Ids that are not there: below, within and past both parts. */
  g_assert_null (_net_id_table_lookup (&table, 0));
  g_assert_null (_net_id_table_lookup (&table, table.dense_cap));
  g_assert_null (_net_id_table_lookup (&table, G_MAXUINT64));

  _net_id_table_clear (&table);
  g_assert_cmpuint (_net_id_table_size (&table), ==, 0);
  {
    guint64 pos = 0;

    g_assert_null (_net_id_table_next (&table, &pos));
  }
  _net_id_table_init (&table);
  g_assert_null (_net_id_table_lookup (&table, 5));
  _net_id_table_clear (&table);

  g_rand_free (rand);
  g_hash_table_unref (oracle);
  g_free (ids);
}

/* Sparse small ids (every 5th) do not make a dense part that is mostly
 * empty: it stays at least half full, and the others go to the hash. */
static void
test_id_table_sparse (void)
{
  const guint n = 100000;
  guint64 *ids = g_new (guint64, n);
  NetIdTable table;

  _net_id_table_init (&table);
  for (guint i = 0; i < n; i++)
    {
      ids[i] = (guint64) (i + 1) * 5;
      _net_id_table_insert (&table, &ids[i]);
    }
  g_assert_true (table.dense_cap <= 256 || table.dense_size * 2 >= table.dense_cap);
  g_assert_cmpuint (_net_id_table_size (&table), ==, n);
  for (guint i = 0; i < n; i++)
    {
      g_assert_true (_net_id_table_lookup (&table, ids[i]) == &ids[i]);
      g_assert_null (_net_id_table_lookup (&table, ids[i] + 1));
    }
  _net_id_table_clear (&table);
  g_free (ids);
}

/* The order a snapshot lists tasks in: the pending ones by id (two ids
 * in three), then the completed ones (the third): all of them go to the
 * dense part, and the hash stays empty (it used to take the pending ones,
 * then give them over to the dense part a few at a time, reading the
 * whole hash each time). */
static void
test_id_table_gaps (void)
{
  const guint n = 300000;
  guint64 *ids = g_new (guint64, n + 1);
  NetIdTable table;

  _net_id_table_init (&table);
  _net_id_table_reserve (&table, n);
  for (guint pass = 0; pass < 2; pass++)
    for (guint i = 1; i <= n; i++)
      if ((i % 3 == 0) == (pass == 1))
        {
          ids[i] = i;
          _net_id_table_insert (&table, &ids[i]);
        }
  g_assert_cmpuint (_net_id_table_size (&table), ==, n);
  g_assert_cmpuint (table.size, ==, 0);
  g_assert_cmpuint (table.dense_size, ==, n);
  for (guint i = 1; i <= n; i++)
    g_assert_true (_net_id_table_lookup (&table, i) == &ids[i]);
  _net_id_table_clear (&table);
  g_free (ids);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/id-table/dense", test_id_table_dense);
  g_test_add_func ("/id-table/sparse", test_id_table_sparse);
  g_test_add_func ("/id-table/gaps", test_id_table_gaps);

  return g_test_run ();
}
