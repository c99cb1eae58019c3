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

/* The leaves of the "arena" layout's trees. */
static NetArena leaf_arena;

/* Each tree test runs on both layouts: data is "stored" (keys in the
 * leaves) or "derived" (keys read from the values: Val.key), or "arena"
 * (derived, its leaves from leaf_arena, as a table's trees). */
static NetBTree *
tree_new (gconstpointer data)
{
  if (g_str_equal (data, "derived") || g_str_equal (data, "arena"))
    {
      NetBTree *tree = _net_btree_new_derived (G_STRUCT_OFFSET (Val, key), FALSE, val_tiebreak);

      g_assert_true (_net_btree_is_derived (tree));
      if (g_str_equal (data, "arena"))
        _net_btree_set_leaf_arena (tree, &leaf_arena);
      return tree;
    }
  g_assert_cmpstr (data, ==, "stored");
  return _net_btree_new (val_tiebreak);
}

/* The values of @tree from @it in runs (backwards with @desc), as a walk
 * reads them, into @out. */
static void
collect_runs (NetBTree     *tree,
              NetBTreeIter *it,
              gboolean      desc,
              GPtrArray    *out)
{
  gboolean derived = _net_btree_is_derived (tree);

  do
    {
      if (derived)
        {
          gpointer const *run;
          guint n = _net_btree_iter_run_values (it, desc, &run);

          g_assert_cmpuint (n, >, 0);
          for (guint k = 0; k < n; k++)
            g_ptr_array_add (out, desc ? run[-(gssize) k] : run[k]);
        }
      else
        {
          const NetBTreeItem *run;
          guint n = _net_btree_iter_run (it, desc, &run);

          g_assert_cmpuint (n, >, 0);
          for (guint k = 0; k < n; k++)
            {
              const NetBTreeItem *item = desc ? run - k : run + k;

              g_assert_cmpuint (item->key, ==, ((Val *) item->value)->key);
              g_ptr_array_add (out, item->value);
            }
        }
    }
  while (_net_btree_iter_next_leaf (it, desc));
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
      g_assert_cmpuint (i, <, ref->len);
      g_assert_true (_net_btree_iter_value (&it) == g_ptr_array_index (ref, i));
      if (!_net_btree_is_derived (tree))
        {
          NetBTreeItem *item = _net_btree_iter_get (&it);

          g_assert_true (item->value == g_ptr_array_index (ref, i));
          g_assert_cmpuint (item->key, ==, ((Val *) item->value)->key);
        }
    }
  g_assert_cmpuint (i, ==, ref->len);

  i = ref->len;
  for (gboolean ok = _net_btree_iter_last (tree, &it); ok; ok = _net_btree_iter_prev (&it))
    g_assert_true (_net_btree_iter_value (&it) == g_ptr_array_index (ref, --i));
  g_assert_cmpuint (i, ==, 0);

  /* The same in runs, both ways, from the ends and from the middle. */
  if (ref->len > 0)
    {
      g_autoptr(GPtrArray) got = g_ptr_array_new ();
      guint mid = ref->len / 2;

      g_assert_true (_net_btree_iter_first (tree, &it));
      collect_runs (tree, &it, FALSE, got);
      g_assert_cmpuint (got->len, ==, ref->len);
      for (i = 0; i < ref->len; i++)
        g_assert_true (got->pdata[i] == ref->pdata[i]);

      g_ptr_array_set_size (got, 0);
      g_assert_true (_net_btree_iter_last (tree, &it));
      collect_runs (tree, &it, TRUE, got);
      g_assert_cmpuint (got->len, ==, ref->len);
      for (i = 0; i < ref->len; i++)
        g_assert_true (got->pdata[i] == ref->pdata[ref->len - 1 - i]);

      g_ptr_array_set_size (got, 0);
      g_assert_true (_net_btree_iter_nth (tree, mid, &it));
      collect_runs (tree, &it, FALSE, got);
      g_assert_cmpuint (got->len, ==, ref->len - mid);
      for (i = 0; i < got->len; i++)
        g_assert_true (got->pdata[i] == ref->pdata[mid + i]);

      g_ptr_array_set_size (got, 0);
      g_assert_true (_net_btree_iter_nth (tree, mid, &it));
      collect_runs (tree, &it, TRUE, got);
      g_assert_cmpuint (got->len, ==, mid + 1);
      for (i = 0; i < got->len; i++)
        g_assert_true (got->pdata[i] == ref->pdata[mid - i]);
    }
}

static void
test_btree_empty (gconstpointer data)
{
  NetBTree *tree = tree_new (data);
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
test_btree_append (gconstpointer data)
{
  NetBTree *tree = tree_new (data);
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
      g_assert_true (_net_btree_iter_value (&it) == &vals[i]);
      g_assert_cmpint (_net_btree_position (tree, vals[i].key, &vals[i]), ==, i);
      g_assert_cmpuint (_net_btree_lower_bound (tree, vals[i].key, vals[i].id), ==, i);
    }

  /* The last item under another key is not removed. */
  g_assert_false (_net_btree_remove (tree, vals[n - 1].key + 1, &vals[n - 1]));
  g_assert_cmpint (_net_btree_position (tree, vals[n - 1].key + 1, &vals[n - 1]), ==, -1);

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
test_btree_build (gconstpointer data)
{
  static const guint sizes[] = { 0, 1, 2, 63, 64, 65, 127, 128, 129, 4095, 4096, 4097,
                                 64 * 64 * 2 + 1, 300000 };

  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      guint n = sizes[s];
      NetBTree *tree = tree_new (data);
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
          g_assert_true (_net_btree_iter_value (&it) == &vals[i]);
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
test_btree_random (gconstpointer data)
{
  NetBTree *tree = tree_new (data);
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
              g_assert_true (_net_btree_iter_value (&it) == v);
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
  vals[0].key = 7;
  _net_btree_insert (tree, 7, &vals[0]);
  _net_btree_clear (tree);
  assert_equal (tree, ref);
  _net_btree_insert (tree, 7, &vals[0]);
  g_ptr_array_add (ref, &vals[0]);
  assert_equal (tree, ref);

  g_rand_free (rand);
  g_free (in);
  g_free (vals);
  _net_btree_free (tree);
}

/* A derived tree of signed keys (as the entries' times): the keys read
 * from the values order as the integers, negative ones first, against
 * a sorted array; inserts in the middle and at both ends, removes,
 * positions and bounds by the transformed keys. */
typedef struct
{
  guint64 id;
  gint64  when;
} Timed;

static guint64
timed_tiebreak (gconstpointer value)
{
  return ((const Timed *) value)->id;
}

static int
timed_cmp (gconstpointer a,
           gconstpointer b)
{
  const Timed *x = *(Timed * const *) a, *y = *(Timed * const *) b;

  if (x->when != y->when)
    return x->when < y->when ? -1 : 1;
  return (x->id > y->id) - (x->id < y->id);
}

static void
test_btree_derived_signed (void)
{
  NetBTree *tree = _net_btree_new_derived (G_STRUCT_OFFSET (Timed, when), TRUE, timed_tiebreak);
  g_autoptr(GPtrArray) ref = g_ptr_array_new ();
  guint n = 30000;
  Timed *vals = g_new0 (Timed, n);
  gboolean *in = g_new0 (gboolean, n);
  GRand *rand = g_rand_new_with_seed (g_test_rand_int ());

  for (guint round = 0; round < 60000; round++)
    {
      guint i = g_rand_int_range (rand, 0, n);

      if (!in[i])
        {
          /* Around zero, with ties, and now and then beyond every other. */
          if (round % 101 == 0)
            vals[i] = (Timed) { i, round % 202 == 0 ? G_MININT64 + round : G_MAXINT64 - round };
          else
            vals[i] = (Timed) { i, (gint64) g_rand_int_range (rand, -2000, 2000) * 1000003 };
          _net_btree_insert (tree, _net_btree_key_from_int (vals[i].when), &vals[i]);
          in[i] = TRUE;
        }
      else
        {
          /* The unsigned reading of the key finds nothing. */
          if (vals[i].when != 0)
            g_assert_false (_net_btree_remove (tree, (guint64) vals[i].when, &vals[i]));
          g_assert_true (_net_btree_remove (tree, _net_btree_key_from_int (vals[i].when), &vals[i]));
          in[i] = FALSE;
        }

      if (round % 7001 == 0 || round == 59999)
        {
          NetBTreeIter it;
          guint k = 0;

          _net_btree_check (tree);
          g_ptr_array_set_size (ref, 0);
          for (guint j = 0; j < n; j++)
            if (in[j])
              g_ptr_array_add (ref, &vals[j]);
          g_ptr_array_sort (ref, timed_cmp);
          g_assert_cmpuint (_net_btree_size (tree), ==, ref->len);
          for (gboolean ok = _net_btree_iter_first (tree, &it); ok; ok = _net_btree_iter_next (&it))
            g_assert_true (_net_btree_iter_value (&it) == ref->pdata[k++]);
          g_assert_cmpuint (k, ==, ref->len);

          for (guint q = 0; q < 50 && ref->len > 0; q++)
            {
              guint p = g_rand_int_range (rand, 0, ref->len);
              Timed *v = ref->pdata[p];
              guint64 key = _net_btree_key_from_int (v->when);

              g_assert_cmpint (_net_btree_position (tree, key, v), ==, p);
              g_assert_cmpuint (_net_btree_lower_bound (tree, key, v->id), ==, p);
              g_assert_cmpuint (_net_btree_lower_bound (tree, key, v->id + 1), ==, p + 1);
              g_assert_true (_net_btree_iter_nth (tree, p, &it));
              g_assert_true (_net_btree_iter_value (&it) == v);
            }
        }
    }

  /* A bulk load of what is left, sorted, makes the same order. */
  {
    NetBTree *built = _net_btree_new_derived (G_STRUCT_OFFSET (Timed, when), TRUE, timed_tiebreak);
    g_autofree NetBTreeItem *items = g_new (NetBTreeItem, MAX (ref->len, 1));
    NetBTreeIter it;
    guint k = 0;

    for (guint j = 0; j < ref->len; j++)
      items[j] = (NetBTreeItem) { _net_btree_key_from_int (((Timed *) ref->pdata[j])->when), ref->pdata[j] };
    _net_btree_build (built, items, ref->len);
    _net_btree_check (built);
    for (gboolean ok = _net_btree_iter_first (built, &it); ok; ok = _net_btree_iter_next (&it))
      g_assert_true (_net_btree_iter_value (&it) == ref->pdata[k++]);
    g_assert_cmpuint (k, ==, ref->len);
    _net_btree_free (built);
  }

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

/* A tree test on the "arena" layout: every leaf goes back to the arena
 * when the tree is freed (the arena still has slabs: they are reused). */
typedef struct
{
  const char    *path;
  GTestDataFunc  func;
} ArenaTest;

static void
test_in_arena (gconstpointer data)
{
  const ArenaTest *t = data;

  _net_arena_init (&leaf_arena);
  t->func ("arena");
  g_assert_nonnull (leaf_arena.slabs);
  g_assert_cmpuint (leaf_arena.in_use, ==, 0);
  _net_arena_clear (&leaf_arena);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_data_func ("/btree/empty", "stored", test_btree_empty);
  g_test_add_data_func ("/btree/append", "stored", test_btree_append);
  g_test_add_data_func ("/btree/build", "stored", test_btree_build);
  g_test_add_data_func ("/btree/random", "stored", test_btree_random);
  g_test_add_data_func ("/btree/derived/empty", "derived", test_btree_empty);
  g_test_add_data_func ("/btree/derived/append", "derived", test_btree_append);
  g_test_add_data_func ("/btree/derived/build", "derived", test_btree_build);
  g_test_add_data_func ("/btree/derived/random", "derived", test_btree_random);
  {
    static const ArenaTest arena_tests[] = {
      { "/btree/arena/empty", test_btree_empty },
      { "/btree/arena/append", test_btree_append },
      { "/btree/arena/build", test_btree_build },
      { "/btree/arena/random", test_btree_random },
    };

    for (guint i = 0; i < G_N_ELEMENTS (arena_tests); i++)
      g_test_add_data_func (arena_tests[i].path, &arena_tests[i], test_in_arena);
  }
  g_test_add_func ("/btree/derived/signed", test_btree_derived_signed);
  g_test_add_func ("/btree/signed-keys", test_btree_signed_keys);
  g_test_add_func ("/id-table/random", test_id_table_random);

  return g_test_run ();
}
