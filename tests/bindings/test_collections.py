# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Collections through PyGObject: a Net.Record subclass whose fields are
# GObject.Property of every kind, opened, written, queried, watched,
# reopened and snapshotted, with the override module of the source tree
# (bindings/python/gi/overrides/Net.py) and with the plain GI API:
#
#   GI_TYPELIB_PATH=build/netdb LD_LIBRARY_PATH=build/netdb \
#     PYTHONPATH=bindings/python \
#     /usr/bin/python3 -m pytest tests/bindings/test_collections.py
#
# The queries are checked against a brute-force evaluation in Python of the
# same conditions and order.

import datetime
import functools
import gc
import os
import subprocess
import sys

import gi
import gi.overrides
import pytest

SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
OVERRIDES_DIR = os.path.join(SOURCE_ROOT, "bindings", "python", "gi",
                             "overrides")
if OVERRIDES_DIR not in gi.overrides.__path__:
    gi.overrides.__path__.insert(0, OVERRIDES_DIR)

gi.require_version("GLib", "2.0")
gi.require_version("GObject", "2.0")
gi.require_version("Net", "1.0")
from gi.repository import GLib, GObject, Net  # noqa: E402

NET_ERROR_DOMAIN = "net-error-quark"
TIMEOUT_SECONDS = 10
UTC = datetime.timezone.utc
MAX_ID = 1 << 53


class Note(Net.Record):
    """A record with a field of each kind a collection stores."""

    __gtype_name__ = "PyTestNote"

    title = GObject.Property(type=str)
    body = GObject.Property(type=str)
    starred = GObject.Property(type=bool, default=False)
    priority = GObject.Property(type=int, default=0,
                                minimum=-1000, maximum=1000)
    small = GObject.Property(type=GObject.TYPE_UINT, default=0)
    big = GObject.Property(type=GObject.TYPE_INT64, default=0)
    size = GObject.Property(type=GObject.TYPE_UINT64, default=0)
    score = GObject.Property(type=float, default=0.0)
    due = GObject.Property(type=GLib.DateTime)
    tags = GObject.Property(type=GObject.TYPE_STRV)
    blob = GObject.Property(type=GLib.Bytes)
    status = GObject.Property(type=Net.TaskStatus,
                              default=Net.TaskStatus.PENDING)
    models = GObject.Property(type=Net.DbModels, default=Net.DbModels.NONE)


class Bad(Net.Record):
    """A field of a type no collection stores."""

    __gtype_name__ = "PyTestBadNote"

    title = GObject.Property(type=str)
    other = GObject.Property(type=GObject.Object)


# --- helpers --------------------------------------------------------------------


def assert_net_error(excinfo, code, *names):
    err = excinfo.value
    assert isinstance(err, GLib.Error), err
    assert err.domain == NET_ERROR_DOMAIN, err
    assert err.code == int(code), err
    assert err.matches(Net.error_quark(), code)
    for name in names:
        assert name in err.message, err.message


def ids(items):
    return [item.props.id for item in items]


def usec(dt):
    """A GLib.DateTime in microseconds since the epoch."""
    return dt.to_unix() * 1000000 + dt.get_microsecond()


def day(n, hour=12, microsecond=0):
    return datetime.datetime(2026, 12, n, hour, 0, 0, microsecond, tzinfo=UTC)


def run_loop(loop, what):
    """Run @loop, failing the test instead of hanging."""
    timed_out = []

    def on_timeout():
        timed_out.append(True)
        loop.quit()
        return GLib.SOURCE_REMOVE

    source = GLib.timeout_add_seconds(TIMEOUT_SECONDS, on_timeout)
    loop.run()
    if not timed_out:
        GLib.source_remove(source)
    assert not timed_out, "timed out waiting for " + what


def wait_until(condition, what):
    """Iterate the main context until @condition() holds, failing the test
    instead of hanging."""
    loop = GLib.MainLoop()

    def check():
        if condition():
            loop.quit()
            return GLib.SOURCE_REMOVE
        return GLib.SOURCE_CONTINUE

    if condition():
        return
    GLib.idle_add(check)
    run_loop(loop, what)


class Recorder:
    """Records a model's items-changed as "-removed+added@position", and
    replays them onto a plain list that must always equal the model."""

    def __init__(self, model):
        self.changes = []
        self.mirror = list(model)
        self.empty_emissions = 0
        model.connect("items-changed", self.on_items_changed)

    def on_items_changed(self, model, position, removed, added):
        if not removed and not added:
            self.empty_emissions += 1
        self.changes.append("-%d+%d@%d" % (removed, added, position))
        self.mirror[position:position + removed] = \
            [model.get_item(i) for i in range(position, position + added)]

    def check(self, model):
        assert self.empty_emissions == 0, "items-changed (p, 0, 0)"
        assert ids(self.mirror) == ids(model)
        assert len(self.mirror) == model.props.n_items


@pytest.fixture
def db():
    handle = Net.Db.new(None, Net.DbModels.TASKS)
    yield handle
    handle.close()


@pytest.fixture
def notes(db):
    return db.open_collection("notes", Note, indexes=["due", "priority"],
                              search=["title"])


def full_note(**fields):
    values = dict(title="Ünïcode title", body=None, starred=True,
                  priority=-12, small=4000000000, big=-(1 << 62),
                  size=(1 << 64) - 1, score=-2.5,
                  due=day(24, 18, 250001), tags=["a", "Bé"],
                  blob=b"\0\1\2", status="completed",
                  models=Net.DbModels.TASKS | Net.DbModels.MEMORIES)
    values.update(fields)
    return Note(**values)


def assert_full_note(note):
    assert note.props.title == "Ünïcode title"
    assert note.props.body is None
    assert note.props.starred is True
    assert note.props.priority == -12
    assert note.props.small == 4000000000
    assert note.props.big == -(1 << 62)
    assert note.props.size == (1 << 64) - 1
    assert note.props.score == -2.5
    assert usec(note.props.due) == \
        (day(24, 18, 250001) - datetime.datetime(1970, 1, 1, tzinfo=UTC)) \
        // datetime.timedelta(microseconds=1)
    assert list(note.props.tags) == ["a", "Bé"]
    assert note.props.blob.get_data() == b"\0\1\2"
    assert note.props.status == Net.TaskStatus.COMPLETED
    assert note.props.models == Net.DbModels.TASKS | Net.DbModels.MEMORIES


# --- open -----------------------------------------------------------------------


def test_override_is_loaded():
    module = sys.modules["gi.overrides.Net"]
    assert os.path.realpath(module.__file__) == \
        os.path.realpath(os.path.join(OVERRIDES_DIR, "Net.py"))
    assert issubclass(Note, Net.Record)
    plain = gi.module.get_introspection_module("Net")
    assert Net.Collection.find_many is not plain.Collection.find_many


def test_open(db):
    notes = db.open_collection("notes", Note)
    assert notes.get_name() == "notes"
    assert notes.get_record_type() == Note.__gtype__
    # The same object on a second call, plain GI too.
    assert db.open_collection("notes", Note) is notes
    assert Net.Db.open_collection(db, "notes", Note.__gtype__) is notes
    assert db.list_collections() == ["notes"]
    assert notes.count() == 0


def test_open_errors(db):
    with pytest.raises(GLib.Error) as excinfo:
        db.open_collection("Not a name!", Note)
    assert_net_error(excinfo, Net.Error.INVALID_ARGUMENT, "Not a name!")
    with pytest.raises(GLib.Error) as excinfo:
        db.open_collection("bad", Bad)
    assert_net_error(excinfo, Net.Error.INVALID_ARGUMENT, "other")
    # A search index of a field that is not a string.
    with pytest.raises(GLib.Error) as excinfo:
        db.open_collection("more", Note, search=["priority"])
    assert_net_error(excinfo, Net.Error.INVALID_ARGUMENT, "priority")
    with pytest.raises(GLib.Error) as excinfo:
        db.open_collection("others", Note, indexes=["nope"])
    assert_net_error(excinfo, Net.Error.INVALID_ARGUMENT, "nope")


# --- mutations ------------------------------------------------------------------


def test_insert_random_id(notes):
    seen = set()
    for i in range(20):
        note = Note(title="n%d" % i)
        assert note.props.id == 0
        seq = notes.insert(note)
        assert seq == i + 1
        assert 0 < note.props.id < MAX_ID
        assert note.props.created_at > 0
        assert note.props.updated_at == note.props.created_at
        seen.add(note.props.id)
        # The record is the live item of its id.
        assert notes.get(note.props.id) is note
    assert len(seen) == 20
    assert notes.count() == 20


def test_insert_every_type(notes):
    note = full_note(id=(1 << 53) - 1)
    notes.insert(note)
    assert note.props.id == (1 << 53) - 1
    assert_full_note(notes.get((1 << 53) - 1))


def test_insert_errors(notes):
    notes.insert(Note(id=7, title="seven"))
    with pytest.raises(GLib.Error) as excinfo:
        notes.insert(Note(id=7, title="again"))
    assert_net_error(excinfo, Net.Error.EXISTS)
    assert notes.get(7).props.title == "seven"
    # A record a collection holds cannot be inserted twice.
    with pytest.raises(GLib.Error) as excinfo:
        notes.insert(notes.get(7))
    assert_net_error(excinfo, Net.Error.INVALID_ARGUMENT)
    # Python values a field cannot hold are refused before anything is
    # written.
    with pytest.raises(TypeError):
        Note(title="x", due="tomorrow")
    with pytest.raises(ValueError):
        Note(title="x", due=datetime.datetime(2026, 1, 1))   # naive
    with pytest.raises(ValueError):
        Note(title="x", status="no-such-status")
    assert notes.count() == 1


def test_update(notes):
    note = Note(title="Write", priority=3)
    notes.insert(note)
    note_id = note.props.id
    notified = []
    note.connect("notify::title", lambda n, p: notified.append(n.props.title))

    seq = notes.update(note_id, title="Write more", starred=True,
                       due=day(3, 9, 123456), tags=["x", "y"], blob=b"zz",
                       status="completed", models="tasks|memories",
                       big=1 << 40, score=3, small=7, size=1 << 63)
    assert seq > 0
    # Read your writes at once; notify from the dispatch.
    assert note.props.title == "Write more"
    assert note.props.starred is True
    assert usec(note.props.due) == usec(
        GLib.DateTime.new_utc(2026, 12, 3, 9, 0, 0)) + 123456
    assert list(note.props.tags) == ["x", "y"]
    assert note.props.blob.get_data() == b"zz"
    assert note.props.status == Net.TaskStatus.COMPLETED
    assert note.props.models == Net.DbModels.TASKS | Net.DbModels.MEMORIES
    assert note.props.big == 1 << 40
    assert note.props.score == 3.0
    assert note.props.size == 1 << 63
    assert notified == []
    assert notes.wait_for_seq(seq, TIMEOUT_SECONDS * 1000)
    assert notified == ["Write more"]
    assert note.props.updated_at >= note.props.created_at

    # GLib values, and None for a nullable field.
    seq = notes.update(note_id, due=GLib.DateTime.new_utc(2027, 1, 2, 3, 4, 5),
                       blob=GLib.Bytes.new(b"g"), body=None,
                       status=Net.TaskStatus.PENDING)
    assert note.props.due.get_year() == 2027
    assert note.props.blob.get_data() == b"g"
    assert note.props.status == Net.TaskStatus.PENDING

    # The plain GI form: names and GObject.Values, converted by the
    # collection (a string into an int field is not).
    assert Net.Collection.update(notes, note_id, ["priority", "title"],
                                 [GObject.Value(GObject.TYPE_INT64, 9),
                                  GObject.Value(str, "Plain")]) > seq
    assert note.props.priority == 9
    assert note.props.title == "Plain"
    applied = notes.get_applied_seq()

    # Nothing is written on an error.
    with pytest.raises(GLib.Error) as excinfo:
        notes.update(note_id, nope=1)
    assert_net_error(excinfo, Net.Error.INVALID_ARGUMENT, "nope")
    with pytest.raises(GLib.Error) as excinfo:
        Net.Collection.update(notes, note_id, ["title", "priority"],
                              [GObject.Value(str, "lost"),
                               GObject.Value(str, "nine")])
    assert_net_error(excinfo, Net.Error.INVALID_ARGUMENT, "priority")
    with pytest.raises(GLib.Error) as excinfo:
        notes.update(424242, title="x")
    assert_net_error(excinfo, Net.Error.NOT_FOUND)
    with pytest.raises(TypeError) as excinfo:
        notes.update(note_id, tags="not a list")
    assert "tags" in str(excinfo.value)
    with pytest.raises(OverflowError):
        notes.update(note_id, small=-1)
    with pytest.raises(TypeError):
        notes.update(note_id)
    with pytest.raises(ValueError) as excinfo:
        notes.update(note_id, models="tasks|nope")
    assert "nope" in str(excinfo.value) and "memories" in str(excinfo.value)
    with pytest.raises(ValueError) as excinfo:
        notes.update(note_id, status="nope")
    assert "completed" in str(excinfo.value)
    assert notes.get_applied_seq() == applied
    assert note.props.title == "Plain"


def test_delete(notes):
    note = Note(title="gone soon")
    notes.insert(note)
    other = Note(id=5, title="stays")
    notes.insert(other)
    seq = notes.delete(note.props.id)
    assert seq == 3
    assert notes.get(note.props.id) is None
    # The record keeps its last values.
    assert note.props.title == "gone soon"
    with pytest.raises(GLib.Error) as excinfo:
        notes.delete(note.props.id)
    assert_net_error(excinfo, Net.Error.NOT_FOUND)
    assert ids(notes.find_many()) == [5]


def test_closed(db, notes):
    notes.insert(Note(id=1, title="before"))
    assert db.close()
    with pytest.raises(GLib.Error) as excinfo:
        notes.insert(Note(id=2, title="after"))
    assert_net_error(excinfo, Net.Error.CLOSED)
    with pytest.raises(GLib.Error) as excinfo:
        notes.update(1, title="after")
    assert_net_error(excinfo, Net.Error.CLOSED)


# --- queries --------------------------------------------------------------------


TITLES = ["Alpha", "beta", "Gamma ray", "alphabet", "Delta", "épée", "ÉPÉE two",
          "zeta", "Beta max", "gamma"]


@pytest.fixture
def filled(notes):
    """Ten notes whose fields repeat, so that order keys tie."""
    for i, title in enumerate(TITLES):
        notes.insert(Note(id=100 + i, title=title, starred=i % 3 == 0,
                          body="body %d" % i if i % 4 == 2 else None,
                          priority=i % 4, score=i / 2.0, big=(1 << 33) * i,
                          due=day(1 + i % 5, 8 + i), tags=["t%d" % (i % 3)]
                          + (["all"] if i % 2 else []),
                          status="completed" if i % 4 == 1 else "pending"))
    return notes


def matches(note, conditions):
    for field, op, value in conditions:
        actual = getattr(note.props, field)
        if field == "due":
            actual = usec(actual)
            value = (value - datetime.datetime(1970, 1, 1, tzinfo=UTC)) \
                // datetime.timedelta(microseconds=1)
        if op == "eq" and not actual == value:
            return False
        if op == "ne" and not actual != value:
            return False
        if op == "lt" and not actual < value:
            return False
        if op == "le" and not actual <= value:
            return False
        if op == "gt" and not actual > value:
            return False
        if op == "ge" and not actual >= value:
            return False
        if op == "contains":
            if isinstance(actual, str):
                if value.casefold() not in actual.casefold():
                    return False
            elif value not in list(actual):
                return False
        if op == "prefix" and not actual.casefold().startswith(
                value.casefold()):
            return False
    return True


def brute_force(notes, conditions, order, limit=None, offset=0):
    """The ids find_many must return, computed in Python."""
    selected = [n for n in notes.find_many() if matches(n, conditions)]

    def key_value(note, field):
        value = getattr(note.props, field.replace("-", "_"))
        return usec(value) if field == "due" else value

    def compare(a, b):
        for field, descending in order:
            x, y = key_value(a, field), key_value(b, field)
            if x != y:
                return (-1 if x < y else 1) * (-1 if descending else 1)
        first_descending = bool(order) and order[0][1]
        return (a.props.id - b.props.id) * (-1 if first_descending else 1)

    selected.sort(key=functools.cmp_to_key(compare))
    end = None if limit is None else offset + limit
    return [n.props.id for n in selected][offset:end]


QUERIES = [
    # (keywords, conditions, order)
    (dict(starred=True), [("starred", "eq", True)], []),
    (dict(starred=True, order_by="-due"),
     [("starred", "eq", True)], [("due", True)]),
    (dict(priority__ne=2, order_by=["priority", "-score"]),
     [("priority", "ne", 2)], [("priority", False), ("score", True)]),
    (dict(priority__lt=2), [("priority", "lt", 2)], []),
    (dict(priority__le=2, order_by="-priority"),
     [("priority", "le", 2)], [("priority", True)]),
    (dict(score__gt=1.5, score__le=4), [("score", "gt", 1.5), ("score", "le", 4)],
     []),
    (dict(big__ge=1 << 35, order_by="-big"),
     [("big", "ge", 1 << 35)], [("big", True)]),
    (dict(due__lt=day(3), order_by=["due", "-id"]),
     [("due", "lt", day(3))], [("due", False), ("id", True)]),
    (dict(due__ge=day(2, 12), due__le=day(4, 23)),
     [("due", "ge", day(2, 12)), ("due", "le", day(4, 23))], []),
    (dict(title__prefix="alpha"), [("title", "prefix", "alpha")], []),
    (dict(title__prefix="ÉP", order_by="title"),
     [("title", "prefix", "ÉP")], [("title", False)]),
    (dict(title__contains="ETA", order_by="-title"),
     [("title", "contains", "ETA")], [("title", True)]),
    (dict(title__contains="amm"), [("title", "contains", "amm")], []),
    (dict(tags__contains="all", order_by=["starred", "priority"]),
     [("tags", "contains", "all")], [("starred", False), ("priority", False)]),
    (dict(status="completed"), [("status", "eq", Net.TaskStatus.COMPLETED)],
     []),
    (dict(status__ne=Net.TaskStatus.COMPLETED, starred=False,
          order_by="-score"),
     [("status", "ne", Net.TaskStatus.COMPLETED), ("starred", "eq", False)],
     [("score", True)]),
    (dict(title="Delta"), [("title", "eq", "Delta")], []),
    (dict(body=None, order_by="-title"), [("body", "eq", None)],
     [("title", True)]),
    (dict(body__ne=None), [("body", "ne", None)], []),
    (dict(id__gt=104, order_by="-id"), [("id", "gt", 104)], [("id", True)]),
]


@pytest.mark.parametrize("keywords,conditions,order", QUERIES)
def test_find_many(filled, keywords, conditions, order):
    expected = brute_force(filled, conditions, order)
    assert ids(filled.find_many(**keywords)) == expected
    assert filled.count(**keywords) == len(expected)
    assert filled.exists(**keywords) == bool(expected)
    first = filled.find_first(**keywords)
    assert (first.props.id if first else None) == \
        (expected[0] if expected else None)
    # Windows: limit and offset; count and exists ignore them.
    for offset, limit in ((0, 1), (1, 2), (2, 50), (len(expected), 3)):
        window = dict(keywords, limit=limit, offset=offset)
        assert ids(filled.find_many(**window)) == \
            expected[offset:offset + limit]
        assert filled.count(**window) == len(expected)


def test_queries_return_live_items(filled):
    a = filled.find_first(title="Delta")
    assert filled.get(a.props.id) is a
    assert filled.find_many(title="Delta")[0] is a


def test_plain_gi_filter(filled):
    f = Net.Filter.new()
    # The plain where() takes a GObject.Value; the override also takes an
    # operator name or symbol and a Python value.
    Net.Filter.where(f, "priority", Net.FilterOp.GE,
                     GObject.Value(GObject.TYPE_INT, 2))
    f.where("title", "contains", "a").order_by("priority", True)
    f.props.limit = 3
    expected = brute_force(filled, [("priority", "ge", 2),
                                    ("title", "contains", "a")],
                           [("priority", True)], limit=3)
    assert ids(filled.find_many(f)) == expected
    assert ids(Net.Collection.find_many(filled, f)) == expected
    assert filled.count(filter=f) == len(brute_force(
        filled, [("priority", "ge", 2), ("title", "contains", "a")], []))
    g = Net.Filter.new().where("due", "<", day(2)).where("starred", "!=", True)
    assert ids(filled.find_many(g)) == brute_force(
        filled, [("due", "lt", day(2)), ("starred", "ne", True)], [])
    with pytest.raises(ValueError):
        Net.Filter.new().where("title", "~", "x")


def test_keyword_errors(filled):
    with pytest.raises(TypeError) as excinfo:
        filled.find_many(titel="x")
    assert "titel" in str(excinfo.value) and "title" in str(excinfo.value)
    with pytest.raises(TypeError) as excinfo:
        filled.count(title__like="x")
    assert "like" in str(excinfo.value)
    with pytest.raises(TypeError):
        filled.find_many(order_by="-nope")
    with pytest.raises(TypeError):
        filled.find_many(title__contains=3)
    with pytest.raises(TypeError):
        filled.find_many(Net.Filter.new(), starred=True)
    with pytest.raises(TypeError):
        filled.exists(due__lt="yesterday")


# --- live queries ---------------------------------------------------------------


def test_watch(filled):
    loop = GLib.MainLoop()
    model = filled.watch(starred=True, order_by="-due")
    recorder = Recorder(model)
    assert ids(model) == brute_force(filled, [("starred", "eq", True)],
                                     [("due", True)])
    before = len(model)

    def wait_for_change(what):
        handler = model.connect("items-changed",
                                lambda *args: loop.quit())
        run_loop(loop, what)
        model.disconnect(handler)
        recorder.check(model)

    # An insert that matches.
    note = Note(id=999, title="new", starred=True, due=day(30))
    filled.insert(note)
    wait_for_change("the insert")
    assert len(model) == before + 1
    assert model.get_item(0) is note
    assert recorder.changes[-1] == "-0+1@0"

    # A field change that moves it out of the filter.
    filled.update(999, starred=False)
    wait_for_change("the update")
    assert len(model) == before
    assert 999 not in ids(model)
    assert recorder.changes[-1] == "-1+0@0"

    # A change of order.
    last = model.get_item(len(model) - 1)
    filled.update(last.props.id, due=day(31))
    wait_for_change("the reorder")
    assert model.get_item(0) is last

    # A delete.
    filled.delete(last.props.id)
    wait_for_change("the delete")
    assert last.props.id not in ids(model)
    assert ids(model) == brute_force(filled, [("starred", "eq", True)],
                                     [("due", True)])

    # A new filter by keywords, typed from the record class.
    expected = brute_force(filled, [("title", "prefix", "gam")],
                           [("title", False)])
    assert expected and expected != ids(model)
    model.set_filter(title__prefix="gam", order_by="title")
    wait_until(lambda: ids(model) == expected, "the new filter")
    recorder.check(model)
    with pytest.raises(TypeError):
        model.set_filter(titel="x")


@pytest.mark.parametrize("order_by,move", [
    ("id", None),
    ("-due", dict(due=day(31))),
    (["-starred", "title"], dict(starred=True, title="0 first")),
])
def test_watch_notify_in_place(filled, order_by, move):
    """A field change that keeps an item in place is a notify on the item,
    not an items-changed, also in a model ordered by fields, and also
    after another item moved next to it."""
    loop = GLib.MainLoop()
    context = GLib.MainContext.default()
    model = filled.watch(order_by=order_by)
    recorder = Recorder(model)
    if move is not None:
        # The last item moves first: the first one gets a new neighbour.
        last = model.get_item(len(model) - 1)
        filled.update(last.props.id, **move)
        while context.iteration(False):
            pass
        assert model.get_item(0) is last
        recorder.check(model)
        del recorder.changes[:]
    item = model.get_item(1)
    notified = []

    def on_notify(note, pspec):
        notified.append(note.props.body)
        loop.quit()

    item.connect("notify::body", on_notify)
    filled.update(item.props.id, body="edited")
    run_loop(loop, "the notify")
    # Whatever else the dispatch delivers, delivered.
    while context.iteration(False):
        pass
    assert notified == ["edited"]
    assert model.get_item(1) is item
    assert recorder.changes == []
    recorder.check(model)


def test_records_collected_come_back_whole(notes):
    """Records Python no longer holds, collected, come back with their
    fields (a Python class keeps its property values in the wrapper)."""
    for i in range(1, 51):
        notes.insert(Note(id=i, title="t%d" % i, tags=[str(i)], due=day(1 + i % 28)))
    context = GLib.MainContext.default()
    gc.collect()
    while context.iteration(False):
        pass
    notes.update(5, title="changed")
    gc.collect()
    for i in range(1, 51):
        note = notes.get(i)
        assert isinstance(note, Note)
        assert note.props.title == ("changed" if i == 5 else "t%d" % i)
        assert list(note.props.tags) == [str(i)]
        assert note.props.due.get_day_of_month() == 1 + i % 28


# --- persistence ----------------------------------------------------------------


def test_reopen(tmp_path):
    path = str(tmp_path / "db")
    with Net.Db.new(path, Net.DbModels.NONE) as db:
        notes = db.open_collection("notes", Note, indexes=["due"],
                                   search=["title"])
        note = full_note()
        notes.insert(note)
        first_id = note.props.id
        notes.insert(Note(id=1 << 40, title="forty"))
        notes.insert(Note(id=3, title="three"))
        notes.update(3, title="three again", priority=7)
        notes.delete(1 << 40)

    with Net.Db.new(path, Net.DbModels.NONE) as db:
        assert db.list_collections() == ["notes"]
        notes = db.open_collection("notes", Note, indexes=["due"],
                                   search=["title"])
        assert sorted(ids(notes.find_many())) == sorted([3, first_id])
        assert_full_note(notes.get(first_id))
        assert isinstance(notes.get(3), Note)
        assert notes.get(3).props.priority == 7
        assert notes.count(title__contains="again") == 1
        assert notes.get(1 << 40) is None
        # It goes on after the reopen.
        notes.insert(Note(id=4, title="four"))

    # Untyped: the fields read by name, from the log's schema.
    with Net.Db.new(path, Net.DbModels.NONE) as db:
        records = db.open_collection("notes", Net.Record)
        assert records.get_record_type() == Net.Record.__gtype__
        assert "title" in records.list_fields()
        assert records.count() == 3
        three = records.get(3)
        assert type(three) is Net.Record
        assert three["title"] == "three again"
        assert three["priority"] == 7
        assert three.get_field("title") == (True, "three again")   # plain GI
        assert three["id"] == 3
        with pytest.raises(KeyError):
            three["nope"]
        assert records.count(priority__gt=5) == 1
        assert records.count(title__prefix="fo") == 1
        assert ids(records.find_many(order_by="-id", limit=2)) == \
            sorted([3, 4, first_id], reverse=True)[:2]
        # An untyped update types the value from Python.
        records.update(3, title="untyped")
        assert three["title"] == "untyped"


def test_snapshot_round_trip(tmp_path):
    db = Net.Db.new(None, Net.DbModels.TASKS)
    notes = db.open_collection("notes", Note)
    db.tasks.create(1, "a task", 0)
    notes.insert(full_note(id=9))
    for i in range(5):
        notes.insert(Note(title="more %d" % i, priority=i))
    blob = db.snapshot()
    assert isinstance(blob, GLib.Bytes)
    db.close()

    # Built with the collection, in memory.
    built = Net.DbBuilder.new().with_tasks() \
        .with_collection("notes", Note).build_from_snapshot(blob)
    copy = built.open_collection("notes", Note)
    assert copy.count() == 6
    assert_full_note(copy.get(9))
    assert [n.props.priority for n in copy.find_many(
        priority__ge=3, order_by="-priority")] == [4, 3]
    built.close()

    # Into a directory, opened later, continuing the log.
    path = str(tmp_path / "restored")
    restored = Net.Db.open_from_snapshot(blob, path, Net.DbModels.TASKS)
    assert restored.list_collections() == ["notes"]
    notes = restored.open_collection("notes", Note)
    assert notes.count() == 6
    assert_full_note(notes.get(9))
    # A collection's seqs are its own log's: 6 inserts, then the delete.
    assert notes.delete(9) == 7
    restored.close()
    with Net.Db.new(path, Net.DbModels.TASKS) as again:
        assert again.open_collection("notes", Note).count() == 5


# --- schema evolution, read-only opens, bad classes -------------------------------


class NoteV1(Net.Record):
    __gtype_name__ = "PyTestNoteV1"
    title = GObject.Property(type=str)
    body = GObject.Property(type=str)
    priority = GObject.Property(type=int, default=0)


class NoteV2(Net.Record):
    """body removed, extra added, priority now a double."""
    __gtype_name__ = "PyTestNoteV2"
    title = GObject.Property(type=str)
    priority = GObject.Property(type=float, default=0.0)
    extra = GObject.Property(type=int, default=7)


class NoteV3(Net.Record):
    """title can no longer hold what the log stores."""
    __gtype_name__ = "PyTestNoteV3"
    title = GObject.Property(type=GLib.DateTime)


def test_schema_evolution(tmp_path):
    path = str(tmp_path / "db")
    with Net.Db.new(path, Net.DbModels.NONE) as db:
        db.open_collection("notes", NoteV1).insert(
            NoteV1(id=1, title="old", body="the body", priority=4))

    with Net.Db.new(path, Net.DbModels.NONE) as db:
        notes = db.open_collection("notes", NoteV2)
        old = notes.get(1)
        assert isinstance(old, NoteV2)
        assert old.props.title == "old"
        assert old.props.priority == 4.0
        assert old.props.extra == 7            # the property's default
        with pytest.raises(KeyError):
            old["body"]                        # kept in the log, skipped
        notes.insert(NoteV2(id=2, title="new", priority=2.5, extra=11))
        assert notes.count(priority__gt=3) == 1

    with Net.Db.new(path, Net.DbModels.NONE) as db:
        with pytest.raises(GLib.Error) as excinfo:
            db.open_collection("notes", NoteV3)
        assert_net_error(excinfo, Net.Error.SCHEMA_MISMATCH, "title")

    with Net.Db.new(path, Net.DbModels.NONE) as db:
        records = db.open_collection("notes", Net.Record)
        assert {"body", "extra", "priority", "title"} <= \
            set(records.list_fields())
        assert records.get(1)["body"] == "the body"
        assert records.get(2)["extra"] == 11
        with pytest.raises(KeyError):
            records.get(2)["body"]
        assert records.get(2)["priority"] == 2.5


def test_read_only(tmp_path):
    path = str(tmp_path / "db")
    with Net.Db.new(path, Net.DbModels.NONE) as db:
        notes = db.open_collection("notes", Note)
        notes.insert(Note(id=1, title="written", tags=["x"]))
    reader = Net.Db.open_read_only(path, Net.DbModels.NONE)
    assert reader.list_collections() == ["notes"]
    notes = reader.open_collection("notes", Note, search=["title"])
    assert notes.get(1).props.title == "written"
    assert notes.count(title__contains="writ") == 1
    with pytest.raises(GLib.Error) as excinfo:
        notes.insert(Note(id=2, title="refused"))
    assert_net_error(excinfo, Net.Error.READ_ONLY)
    with pytest.raises(GLib.Error) as excinfo:
        notes.update(1, title="refused")
    assert_net_error(excinfo, Net.Error.READ_ONLY)
    assert notes.get(1).props.title == "written"
    reader.close()


def test_not_a_record_class(db):
    with pytest.raises(GLib.Error) as excinfo:
        db.open_collection("notes", GObject.Object)
    assert_net_error(excinfo, Net.Error.INVALID_ARGUMENT)
    assert db.list_collections() == []


def test_wait_for_seq_async(notes):
    loop = GLib.MainLoop()
    results = []

    def on_done(source, result):
        results.append(source.wait_for_seq_finish(result))
        loop.quit()

    seq = notes.insert(Note(title="wait for me"))
    notes.wait_for_seq_async(seq, None, on_done)
    assert results == []                 # never synchronous
    run_loop(loop, "wait_for_seq_async")
    assert results == [True]
    assert notes.get_applied_seq() >= seq


# --- the plain GI API, without the override -------------------------------------


PLAIN_SCRIPT = r'''
import sys
import gi
gi.require_version("Net", "1.0")
from gi.repository import GLib, GObject, Net

assert "gi.overrides.Net" not in sys.modules, "the override is loaded"

class Note(Net.Record):
    __gtype_name__ = "PlainNote"
    title = GObject.Property(type=str)
    priority = GObject.Property(type=int, default=0)
    due = GObject.Property(type=GLib.DateTime)
    tags = GObject.Property(type=GObject.TYPE_STRV)

db = Net.Db.new(None, Net.DbModels.NONE)
notes = db.open_collection("notes", Note.__gtype__)
assert notes.add_index("due", Net.IndexFlags.ORDERED)
assert notes.add_index("title", Net.IndexFlags.SEARCH)
ids = []
for i in range(5):
    note = Note(title="note %d" % i, priority=i, tags=["t%d" % (i % 2)],
                due=GLib.DateTime.new_utc(2026, 12, 1 + i, 0, 0, 0))
    assert notes.insert(note) == i + 1
    assert 0 < note.props.id < 1 << 53
    ids.append(note.props.id)
assert notes.update(ids[0], ["title", "priority"],
                    [GObject.Value(str, "first"),
                     GObject.Value(GObject.TYPE_INT64, 10)]) == 6
assert notes.get(ids[0]).props.priority == 10
f = Net.Filter.new()
f.where("priority", Net.FilterOp.GE, GObject.Value(GObject.TYPE_INT, 2))
f.where("tags", Net.FilterOp.CONTAINS, GObject.Value(str, "t0"))
f.order_by("priority", True)
assert [n.props.id for n in notes.find_many(f)] == [ids[0], ids[4], ids[2]]
assert notes.count(f) == 3 and notes.exists(f)
assert notes.find_first(f).props.title == "first"
prefix = Net.Filter.new().where("title", Net.FilterOp.PREFIX,
                                GObject.Value(str, "NOTE"))
assert notes.count(prefix) == 4
model = notes.watch(prefix)
assert model.get_n_items() == 4
assert notes.delete(ids[1]) == 7
assert notes.get(ids[1]) is None
found, value = notes.get(ids[0]).get_field("title")
assert found and value == "first"
db.close()
print("plain ok")
'''


def test_plain_gi_without_override(tmp_path):
    """The GI API alone (no override module on the path) covers a
    collection: a subclass, open, indexes, insert, update, filters, watch,
    delete."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    script = tmp_path / "plain.py"
    script.write_text(PLAIN_SCRIPT)
    result = subprocess.run([sys.executable, str(script)], env=env,
                            capture_output=True, text=True,
                            timeout=TIMEOUT_SECONDS * 6)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "plain ok"
