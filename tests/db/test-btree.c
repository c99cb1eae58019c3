/* test-btree.c: the counted B+tree behind the models' indexes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "net-btree-private.h"
#include "net-id-table-private.h"

/* Values are ids; the tiebreak reads them, as the models read an entry. */
typedef struct
{
  guint64 key;
  guint64 id;
} Val;

static guint64
val_tiebreak (gconstpointer value)
{
  return ((const Val *) value)->id;
}

static int
val_cmp (gconstpointer a,
         gconstpointer b)
{
  const Val *x = *(Val * const *) a, *y = *(Val * const *) b;

  if (x->key != y->key)
    return x->key < y->key ? -1 : 1;
  return (x->id > y->id) - (x->id < y->id);
}

/* The reference: a sorted array of the values. */
static void
assert_equal (NetBTree  *tree,
              GPtrArray *ref)
{
  NetBTreeIter it;
  guint i = 0;

  _net_btree_check (tree);
  g_assert_cmpuint (_net_btree_size (tree), ==, ref->len);

  for (gboolean ok = _net_btree_iter_first (tree, &it); ok; ok = _net_btree_iter_next (&it), i++)
    {
      NetBTreeItem *item = _net_btree_iter_get (&it);

      g_assert_cmpuint (i, <, ref->len);
      g_assert_true (item->value == g_ptr_array_index (ref, i));
      g_assert_cmpuint (item->key, ==, ((Val *) item->value)->key);
    }
  g_assert_cmpuint (i, ==, ref->len);

  i = ref->len;
  for (gboolean ok = _net_btree_iter_last (tree, &it); ok; ok = _net_btree_iter_prev (&it))
    g_assert_true (_net_btree_iter_get (&it)->value == g_ptr_array_index (ref, --i));
  g_assert_cmpuint (i, ==, 0);
}

static void
test_btree_empty (void)
{
  NetBTree *tree = _net_btree_new (val_tiebreak);
  NetBTreeIter it;
  Val v = { 1, 1 };

  g_assert_cmpuint (_net_btree_size (tree), ==, 0);
  g_assert_false (_net_btree_iter_first (tree, &it));
  g_assert_false (_net_btree_iter_last (tree, &it));
  g_assert_false (_net_btree_iter_nth (tree, 0, &it));
  g_assert_false (_net_btree_remove (tree, 1, &v));
  g_assert_cmpint (_net_btree_position (tree, 1, &v), ==, -1);
  g_assert_cmpuint (_net_btree_lower_bound (tree, 5, 0), ==, 0);
  _net_btree_check (tree);

  _net_btree_insert (tree, 1, &v);
  g_assert_true (_net_btree_remove (tree, 1, &v));
  g_assert_cmpuint (_net_btree_size (tree), ==, 0);
  _net_btree_check (tree);
  _net_btree_free (tree);
}

/* In-order appends fill the leaves; removing everything collapses the
 * tree back to one empty leaf. */
static void
test_btree_append (void)
{
  NetBTree *tree = _net_btree_new (val_tiebreak);
  g_autoptr(GPtrArray) ref = g_ptr_array_new ();
  guint n = 100000;
  Val *vals = g_new (Val, n);

  for (guint i = 0; i < n; i++)
    {
      vals[i] = (Val) { i / 3, i };   /* equal keys: the id breaks ties */
      _net_btree_insert (tree, vals[i].key, &vals[i]);
      g_ptr_array_add (ref, &vals[i]);
    }
  assert_equal (tree, ref);

  for (guint i = 0; i < n; i += 97)
    {
      NetBTreeIter it;

      g_assert_true (_net_btree_iter_nth (tree, i, &it));
      g_assert_true (_net_btree_iter_get (&it)->value == &vals[i]);
      g_assert_cmpint (_net_btree_position (tree, vals[i].key, &vals[i]), ==, i);
      g_assert_cmpuint (_net_btree_lower_bound (tree, vals[i].key, vals[i].id), ==, i);
    }

  /* From the front, then what is left from the back. */
  for (guint i = 0; i < n / 2; i++)
    g_assert_true (_net_btree_remove (tree, vals[i].key, &vals[i]));
  g_ptr_array_remove_range (ref, 0, n / 2);
  assert_equal (tree, ref);
  for (guint i = n; i > n / 2; i--)
    g_assert_true (_net_btree_remove (tree, vals[i - 1].key, &vals[i - 1]));
  g_ptr_array_set_size (ref, 0);
  assert_equal (tree, ref);

  _net_btree_free (tree);
  g_free (vals);
}

/* A bulk load of sorted items makes the tree the same inserts would,
 * for sizes around the leaf and inner capacities (64) and their squares;
 * the tree then takes inserts and removes anywhere. */
static void
test_btree_build (void)
{
  static const guint sizes[] = { 0, 1, 2, 63, 64, 65, 127, 128, 129, 4095, 4096, 4097,
                                 64 * 64 * 2 + 1, 300000 };

  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      guint n = sizes[s];
      NetBTree *tree = _net_btree_new (val_tiebreak);
      g_autoptr(GPtrArray) ref = g_ptr_array_new ();
      g_autofree NetBTreeItem *items = g_new (NetBTreeItem, MAX (n, 1));
      Val *vals = g_new (Val, n + 2);
      GRand *rand = g_rand_new_with_seed (n);

      for (guint i = 0; i < n; i++)
        {
          vals[i] = (Val) { i / 3, i + 1 };   /* equal keys: the id breaks ties */
          items[i] = (NetBTreeItem) { vals[i].key, &vals[i] };
          g_ptr_array_add (ref, &vals[i]);
        }
      _net_btree_build (tree, items, n);
      assert_equal (tree, ref);

      for (guint i = 0; i < n; i += 1 + n / 50)
        {
          NetBTreeIter it;

          g_assert_true (_net_btree_iter_nth (tree, i, &it));
          g_assert_true (_net_btree_iter_get (&it)->value == &vals[i]);
          g_assert_cmpint (_net_btree_position (tree, vals[i].key, &vals[i]), ==, i);
          g_assert_cmpuint (_net_btree_lower_bound (tree, vals[i].key, vals[i].id), ==, i);
        }

      /* One insert before all and one after all, then removes at random
       * positions: the built tree splits and merges like any other. */
      vals[n] = (Val) { 0, 0 };
      vals[n + 1] = (Val) { G_MAXUINT64, 1 };
      _net_btree_insert (tree, vals[n].key, &vals[n]);
      _net_btree_insert (tree, vals[n + 1].key, &vals[n + 1]);
      g_ptr_array_insert (ref, 0, &vals[n]);
      g_ptr_array_add (ref, &vals[n + 1]);
      assert_equal (tree, ref);
      for (guint i = 0; i < MIN (n, 5000); i++)
        {
          guint at = g_rand_int_range (rand, 0, ref->len);
          Val *v = g_ptr_array_index (ref, at);

          g_assert_true (_net_btree_remove (tree, v->key, v));
          g_ptr_array_remove_index (ref, at);
        }
      assert_equal (tree, ref);

      g_rand_free (rand);
      _net_btree_free (tree);
      g_free (vals);
    }
}

/* Random inserts and removes against a sorted array, checking every
 * invariant along the way. */
static void
test_btree_random (void)
{
  NetBTree *tree = _net_btree_new (val_tiebreak);
  g_autoptr(GPtrArray) ref = g_ptr_array_new ();
  guint n = 20000;
  Val *vals = g_new0 (Val, n);
  gboolean *in = g_new0 (gboolean, n);
  GRand *rand = g_rand_new_with_seed (g_test_rand_int ());

  for (guint round = 0; round < 100000; round++)
    {
      guint i = g_rand_int_range (rand, 0, n);

      if (!in[i])
        {
          /* Few distinct keys: many ties. */
          vals[i] = (Val) { g_rand_int_range (rand, 0, 500), i };
          _net_btree_insert (tree, vals[i].key, &vals[i]);
          in[i] = TRUE;
        }
      else
        {
          /* A wrong key finds nothing and changes nothing. */
          g_assert_false (_net_btree_remove (tree, vals[i].key + 1000, &vals[i]));
          g_assert_true (_net_btree_remove (tree, vals[i].key, &vals[i]));
          g_assert_false (_net_btree_remove (tree, vals[i].key, &vals[i]));
          in[i] = FALSE;
        }

      if (round % 20000 == 0 || round % 2999 == 0)
        {
          g_ptr_array_set_size (ref, 0);
          for (guint j = 0; j < n; j++)
            if (in[j])
              g_ptr_array_add (ref, &vals[j]);
          g_ptr_array_sort (ref, val_cmp);
          assert_equal (tree, ref);

          for (guint k = 0; k < 50 && ref->len > 0; k++)
            {
              guint p = g_rand_int_range (rand, 0, ref->len);
              Val *v = g_ptr_array_index (ref, p);
              NetBTreeIter it;

              g_assert_cmpint (_net_btree_position (tree, v->key, v), ==, p);
              g_assert_true (_net_btree_iter_nth (tree, p, &it));
              g_assert_true (_net_btree_iter_get (&it)->value == v);
              g_assert_cmpuint (_net_btree_lower_bound (tree, v->key, v->id), ==, p);
              /* The next pair up is after v and not after the next item. */
              g_assert_cmpuint (_net_btree_lower_bound (tree, v->key, v->id + 1), ==, p + 1);
            }
        }
    }

  /* Drain it completely. */
  for (guint j = 0; j < n; j++)
    if (in[j])
      g_assert_true (_net_btree_remove (tree, vals[j].key, &vals[j]));
  g_ptr_array_set_size (ref, 0);
  assert_equal (tree, ref);

  /* A cleared tree is usable again. */
  _net_btree_insert (tree, 7, &vals[0]);
  _net_btree_clear (tree);
  assert_equal (tree, ref);

  g_rand_free (rand);
  g_free (in);
  g_free (vals);
  _net_btree_free (tree);
}

static void
test_btree_signed_keys (void)
{
  g_assert_cmpuint (_net_btree_key_from_int (-1), <, _net_btree_key_from_int (0));
  g_assert_cmpuint (_net_btree_key_from_int (G_MININT64), <, _net_btree_key_from_int (-1));
  g_assert_cmpuint (_net_btree_key_from_int (0), <, _net_btree_key_from_int (1));
  g_assert_cmpuint (_net_btree_key_from_int (1), <, _net_btree_key_from_int (G_MAXINT64));
}

/* Random inserts, replacements and removes against a presence array,
 * with clustered ids (the hash must spread them) and a full drain. */
static void
test_id_table_random (void)
{
  NetIdTable table;
  guint n = 50000, present = 0;
  guint64 *ids = g_new (guint64, n);
  gboolean *in = g_new0 (gboolean, n);
  GRand *rand = g_rand_new_with_seed (g_test_rand_int ());

  for (guint i = 0; i < n; i++)
    ids[i] = (guint64) i << (i % 2 ? 32 : 0);   /* dense and strided */

  _net_id_table_init (&table);
  g_assert_null (_net_id_table_lookup (&table, 1));
  g_assert_null (_net_id_table_remove (&table, 1));

  /* Reserving keeps what is in, and the hash makes room for the rest at
   * once, the first time it grows (the strided ids are its). */
  _net_id_table_insert (&table, &ids[0]);
  _net_id_table_reserve (&table, n / 2);
  for (guint i = 1; i < 40; i += 2)
    _net_id_table_insert (&table, &ids[i]);
  g_assert_cmpuint ((table.mask + 1) * 3 / 4, >=, n / 2);
  g_assert_true (_net_id_table_lookup (&table, ids[0]) == &ids[0]);
  g_assert_null (_net_id_table_remove (&table, ids[41]));
  g_assert_true (_net_id_table_remove (&table, ids[0]) == &ids[0]);
  for (guint i = 1; i < 40; i += 2)
    g_assert_true (_net_id_table_remove (&table, ids[i]) == &ids[i]);

  for (guint round = 0; round < 300000; round++)
    {
      guint i = g_rand_int_range (rand, 0, n);

      if (g_rand_boolean (rand))
        {
          _net_id_table_insert (&table, &ids[i]);
          present += !in[i];
          in[i] = TRUE;
        }
      else
        {
          gpointer got = _net_id_table_remove (&table, ids[i]);

          g_assert_true (got == (in[i] ? (gpointer) &ids[i] : NULL));
          present -= in[i];
          in[i] = FALSE;
        }

      if (round % 30000 == 0)
        {
          guint seen = 0;

          g_assert_cmpuint (_net_id_table_size (&table), ==, present);
          for (guint k = 0; k < n; k++)
            g_assert_true (_net_id_table_lookup (&table, ids[k]) == (in[k] ? (gpointer) &ids[k] : NULL));
          for (guint64 pos = 0; _net_id_table_next (&table, &pos) != NULL;)
            seen++;
          g_assert_cmpuint (seen, ==, present);
        }
    }

  for (guint i = 0; i < n; i++)
    _net_id_table_remove (&table, ids[i]);
  g_assert_cmpuint (_net_id_table_size (&table), ==, 0);
  for (guint i = 0; i < n; i++)
    g_assert_null (_net_id_table_lookup (&table, ids[i]));

  _net_id_table_clear (&table);
  g_rand_free (rand);
  g_free (in);
  g_free (ids);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/btree/empty", test_btree_empty);
  g_test_add_func ("/btree/append", test_btree_append);
  g_test_add_func ("/btree/build", test_btree_build);
  g_test_add_func ("/btree/random", test_btree_random);
  g_test_add_func ("/btree/signed-keys", test_btree_signed_keys);
  g_test_add_func ("/id-table/random", test_id_table_random);

  return g_test_run ();
}
