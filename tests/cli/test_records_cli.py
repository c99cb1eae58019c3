# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `netdb collections` and `netdb records list|get|count|watch` on a database
# that a Python program wrote through the plain GI API (a Net.Record
# subclass with fields of every kind): the command has none of its classes
# and reads the collections untyped.
#
#   NETDB_CLI=build/netdb-cli/netdb GI_TYPELIB_PATH=build/netdb \
#     /usr/bin/python3 -m pytest tests/cli/test_records_cli.py

import base64
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading

import pytest

NETDB = os.environ.get("NETDB_CLI")
if not NETDB:
    pytest.skip("NETDB_CLI (the path of the built netdb) is not set",
                allow_module_level=True)

# Bounds a wait that should never happen, so a bug fails instead of hanging.
HANG_TIMEOUT = 30

# The program that writes the test databases, through the plain GI API
# (not the override's sugar).  It inserts the fixed records, then reads
# commands from stdin, one JSON object a line, answering "ok SEQ" to each:
# it is also the writer that holds the database while `netdb` reads it.
WRITER = r'''
import json
import sys

import gi
gi.require_version("Net", "1.0")
from gi.repository import GLib, GObject, Net


class Note(Net.Record):
    __gtype_name__ = "CliTestNote"
    title = GObject.Property(type=str)
    body = GObject.Property(type=str)
    starred = GObject.Property(type=bool, default=False)
    rank = GObject.Property(type=int, default=0)
    size = GObject.Property(type=GObject.TYPE_UINT64, default=0)
    big = GObject.Property(type=GObject.TYPE_INT64, default=0)
    score = GObject.Property(type=float, default=0.0)
    tags = GObject.Property(type=GObject.TYPE_STRV)
    data = GObject.Property(type=GLib.Bytes)
    due = GObject.Property(type=GLib.DateTime)
    kind = GObject.Property(type=Net.FilterOp, default=Net.FilterOp.EQ)
    mask = GObject.Property(type=Net.IndexFlags, default=Net.IndexFlags.NONE)


class Person(Net.Record):
    __gtype_name__ = "CliTestPerson"
    name = GObject.Property(type=str)
    age = GObject.Property(type=int, default=0)
    birth_year = GObject.Property(type=int, default=0)  # "birth-year"


def when(text):
    return GLib.DateTime.new_from_iso8601(text, GLib.TimeZone.new_utc())


def note(spec):
    n = Note()
    n.set_id(spec["id"])
    for key, value in spec.items():
        if key == "id":
            continue
        if key == "data":
            value = GLib.Bytes.new(bytes(value)) if value is not None else None
        elif key == "due":
            value = when(value) if value is not None else None
        elif key == "kind":
            value = Net.FilterOp(value)
        elif key == "mask":
            value = Net.IndexFlags(value)
        n.set_property(key, value)
    return n


db = Net.Db.new(sys.argv[1], Net.DbModels.NONE)
notes = Net.Db.open_collection(db, "notes", Note.__gtype__)
people = Net.Db.open_collection(db, "people", Person.__gtype__)
for spec in json.loads(sys.argv[2]):
    notes.insert(note(spec))
for pid, name, age, year in ((1, "Ada", 36, 1815), (2, "Alan", 41, 1912)):
    p = Person()
    p.set_id(pid)
    p.props.name = name
    p.props.age = age
    p.props.birth_year = year
    people.insert(p)
print("ready", flush=True)

for line in sys.stdin:
    cmd = json.loads(line)
    if cmd["op"] == "insert":
        seq = notes.insert(note(cmd["note"]))
    elif cmd["op"] == "update":
        names = list(cmd["fields"].keys())
        values = []
        for name in names:
            pspec = Note.find_property(name)
            v = GObject.Value(pspec.value_type)
            v.set_value(cmd["fields"][name])
            values.append(v)
        # net_collection_updatev(), which GI names update.
        seq = notes.update(cmd["id"], names, values)
    elif cmd["op"] == "delete":
        seq = notes.delete(cmd["id"])
    print("ok %d" % seq, flush=True)

db.close()
'''

LONG_BODY = "x" * 300

NOTES = [
    {"id": 1, "title": "Buy milk", "body": "two litres", "starred": True,
     "rank": 3, "size": 10, "big": -5, "score": 1.5, "tags": ["home", "shop"],
     "data": [0, 1], "due": "2026-01-05T10:00:00Z", "kind": 0, "mask": 3},
    {"id": 2, "title": "Call Alice", "body": LONG_BODY, "starred": False,
     "rank": -2, "size": 2 ** 40, "big": 1 << 50, "score": 0.25,
     "tags": ["work"], "data": list(b"hello"), "due": "2026-03-01T00:00:00Z",
     "kind": 4, "mask": 1},
    {"id": 3, "title": "alpha release", "body": "", "starred": True,
     "rank": 3, "size": 7, "score": -4.0, "tags": []},
    {"id": 4, "title": "Älter Eintrag", "starred": False, "rank": 10,
     "size": 0, "score": 2.5, "tags": ["home"],
     "due": "2025-12-31T23:59:59.500000Z", "kind": 1},
    {"id": 5, "title": "buy bread", "starred": False, "rank": 3, "size": 3,
     "score": 1.5, "tags": ["shop"]},
]

NOTE_TYPES = {
    "title": "string", "body": "string", "starred": "boolean", "rank": "int",
    "size": "uint64", "big": "int64", "score": "double", "tags": "strv",
    "data": "bytes", "due": "datetime", "kind": "enum", "mask": "flags",
}


def have_net_typelib():
    r = subprocess.run([sys.executable, "-c",
                        "import gi; gi.require_version('Net', '1.0')"],
                       capture_output=True, timeout=HANG_TIMEOUT)
    return r.returncode == 0


if not have_net_typelib():
    pytest.skip("the Net typelib is not on GI_TYPELIB_PATH",
                allow_module_level=True)


# --- helpers --------------------------------------------------------------------


def base_env(tmp):
    e = dict(os.environ)
    e["XDG_DATA_HOME"] = str(tmp / "xdg-data")
    e["LC_ALL"] = "C.UTF-8"
    e["TZ"] = "UTC"
    e.pop("G_DEBUG", None)
    return e


class Lines:
    """The stdout of a running process, line by line, with timeouts."""

    def __init__(self, stream):
        self.queue = queue.Queue()
        self.thread = threading.Thread(target=self._read, args=(stream,),
                                       daemon=True)
        self.thread.start()

    def _read(self, stream):
        for line in stream:
            self.queue.put(line.rstrip("\n"))
        self.queue.put(None)

    def next(self, timeout=HANG_TIMEOUT):
        try:
            line = self.queue.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no output within {timeout} s")
        assert line is not None, "the process ended its output"
        return line

    def rest(self):
        self.thread.join(HANG_TIMEOUT)
        out = []
        while True:
            line = self.queue.get_nowait()
            if line is None:
                return out
            out.append(line)


class Writer:
    """The Python writer: holds the database open until closed."""

    def __init__(self, db, env):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, db, json.dumps(NOTES)],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, bufsize=1)
        self.lines = Lines(self.proc.stdout)
        assert self.lines.next() == "ready", self.proc.stderr.read()

    def send(self, **cmd):
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.lines.next()
        assert line.startswith("ok "), line
        return int(line[3:])

    def close(self):
        self.proc.stdin.close()
        try:
            status = self.proc.wait(HANG_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail("the writer did not exit")
        err = self.proc.stderr.read()
        assert status == 0, err


class Netdb:
    def __init__(self, db, env):
        self.db = db
        self.env = env

    def run(self, *args, check=None):
        argv = [NETDB, "--db", self.db] + list(args)
        r = subprocess.run(argv, env=self.env, capture_output=True, text=True,
                           timeout=HANG_TIMEOUT)
        if check is not None:
            assert r.returncode == check, (argv, r.returncode, r.stdout, r.stderr)
        return r

    def ok(self, *args):
        r = self.run(*args, check=0)
        assert r.stderr == "", r.stderr
        return r.stdout

    def json(self, *args):
        return json.loads(self.ok("--json", *args))

    def ids(self, *args):
        return [r["id"] for r in self.json("records", "list", "notes", *args)]

    def fails(self, status, *args):
        r = self.run(*args, check=status)
        assert r.stderr.startswith("netdb: "), r.stderr
        assert r.stdout == "", r.stdout
        return r.stderr

    def popen(self, *args):
        argv = [NETDB, "--db", self.db] + list(args)
        return subprocess.Popen(argv, env=self.env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, bufsize=1)


def stop(proc, sig=signal.SIGINT):
    proc.send_signal(sig)
    try:
        return proc.wait(HANG_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail("watch did not exit after the signal")


def table(text):
    """A human table as a list of rows of cells (split on 2+ blanks)."""
    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines()]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """A database the writer made and closed: (db, env)."""
    tmp = tmp_path_factory.mktemp("records")
    env = base_env(tmp)
    db = str(tmp / "db")
    Writer(db, env).close()
    return db, env


@pytest.fixture
def netdb(written):
    return Netdb(*written)


# --- collections ----------------------------------------------------------------


def test_collections_json(netdb):
    got = netdb.json("collections")
    assert [c["name"] for c in got] == ["notes", "people"]
    notes, people = got
    assert notes["count"] == len(NOTES)
    assert {f["name"]: f["type"] for f in notes["fields"]} == NOTE_TYPES
    assert len(notes["fields"]) == len(NOTE_TYPES)
    assert people["count"] == 2
    assert sorted((f["name"], f["type"]) for f in people["fields"]) == \
        [("age", "int"), ("birth-year", "int"), ("name", "string")]


def test_collections_human(netdb):
    rows = table(netdb.ok("collections"))
    assert rows[0] == ["NAME", "RECORDS", "FIELDS"]
    assert [r[:2] for r in rows[1:]] == [["notes", "5"], ["people", "2"]]
    assert set(rows[1][2].split(" ")) == {f"{n}:{t}" for n, t in NOTE_TYPES.items()}
    assert set(rows[2][2].split(" ")) == {"name:string", "age:int", "birth-year:int"}


def test_collections_of_a_database_without_any(tmp_path):
    env = base_env(tmp_path)
    empty = Netdb(str(tmp_path / "empty"), env)
    assert empty.ok("collections") == ""
    assert empty.json("collections") == []
    r = subprocess.run([NETDB, "--memory", "--json", "collections"], env=env,
                       capture_output=True, text=True, timeout=HANG_TIMEOUT)
    assert (r.returncode, r.stdout, r.stderr) == (0, "[]\n", "")


# --- records list -----------------------------------------------------------------


def test_list_json_values_whole(netdb):
    got = {r["id"]: r for r in netdb.json("records", "list", "notes")}
    assert sorted(got) == [1, 2, 3, 4, 5]
    one, two, three = got[1], got[2], got[3]
    assert set(one) == set(NOTE_TYPES) | {"id", "created_at", "updated_at"}
    assert one["title"] == "Buy milk" and one["starred"] is True
    assert one["rank"] == 3 and one["big"] == -5 and one["score"] == 1.5
    assert one["tags"] == ["home", "shop"]
    assert base64.b64decode(one["data"]) == b"\x00\x01"
    assert one["due"] == "2026-01-05T10:00:00Z"
    # Untyped: the enum and flags types are the app's; their numbers.
    assert one["kind"] == 0 and one["mask"] == 3
    assert isinstance(one["created_at"], int) and one["created_at"] > 0
    assert two["body"] == LONG_BODY
    assert two["size"] == 2 ** 40 and two["big"] == 1 << 50
    assert base64.b64decode(two["data"]) == b"hello"
    assert two["kind"] == 4
    assert three["tags"] == [] and three["data"] is None and three["due"] is None
    assert got[4]["title"] == "Älter Eintrag"
    assert got[4]["due"] == "2025-12-31T23:59:59.500000Z"


def test_list_human_table(netdb):
    rows = table(netdb.ok("records", "list", "notes"))
    header = rows[0]
    assert header[0] == "ID" and header[-2:] == ["CREATED", "UPDATED"]
    assert set(header[1:-2]) == {n.upper() for n in NOTE_TYPES}
    by_id = {r[0]: dict(zip(header, r)) for r in rows[1:]}
    assert list(by_id) == ["1", "2", "3", "4", "5"]
    one = by_id["1"]
    assert one["TITLE"] == "Buy milk" and one["STARRED"] == "true"
    assert one["TAGS"] == "home,shop" and one["DATA"] == "AAE="
    assert one["DUE"] == "2026-01-05T10:00:00Z" and one["SCORE"] == "1.5"
    assert one["KIND"] == "0" and one["MASK"] == "3"


def test_list_human_shortens_long_values(netdb):
    out = netdb.ok("records", "get", "notes", "2")
    body = [line for line in out.splitlines() if line.startswith("body:")]
    assert len(body) == 1
    assert body[0].endswith(" " + "x" * 200 +
                            "… (100 more bytes; --json prints it whole)"), body
    assert netdb.json("records", "get", "notes", "2")["body"] == LONG_BODY


WHERE_CASES = [
    (["starred=true"], [1, 3]),
    (["starred=no"], [2, 4, 5]),
    (["rank=3"], [1, 3, 5]),
    (["title=Buy milk"], [1]),
    (["rank!=3"], [2, 4]),
    (["rank<3"], [2]),
    (["rank<=3"], [1, 2, 3, 5]),
    (["score>1.5"], [4]),
    (["score>=1.5"], [1, 4, 5]),
    (["title~buy"], [1, 5]),
    (["title~TER EIN"], [4]),
    (["tags~home"], [1, 4]),
    (["title^BU"], [1, 5]),
    (["title^al"], [3]),
    (["tags^wo"], [2]),
    (["tags=home,shop"], [1]),
    (["size>1000000"], [2]),
    (["big<0"], [1]),
    (["id>=4"], [4, 5]),
    (["data=aGVsbG8="], [2]),
    (["kind=4"], [2]),
    (["mask=0x3"], [1]),
    (["due>=2026-01-05T10:00:00Z"], [1, 2]),
    (["due>2026-01-05T11:00:00+02:00"], [1, 2]),
    (["due>2026-02-01"], [2]),
    (["starred=false", "rank>=3"], [4, 5]),
    (["title~buy", "starred=true"], [1]),
    (["created-at>0"], [1, 2, 3, 4, 5]),
    (["created<0"], []),
    (["updated_at>=2000-01-01"], [1, 2, 3, 4, 5]),
]


@pytest.mark.parametrize("where,expected", WHERE_CASES,
                         ids=lambda c: " ".join(c) if isinstance(c, list) and
                         c and isinstance(c[0], str) else None)
def test_list_where(netdb, where, expected):
    args = []
    for w in where:
        args += ["--where", w]
    assert netdb.ids(*args) == expected
    count = netdb.json("records", "count", "notes", *args)["count"]
    assert count == len(expected)


def test_list_where_human_output_is_the_same_records(netdb):
    rows = table(netdb.ok("records", "list", "notes", "--where", "rank=3"))
    assert [r[0] for r in rows[1:]] == ["1", "3", "5"]


def test_list_order_keys(netdb):
    assert netdb.ids("--order", "rank", "--order", "-score") == [2, 1, 5, 3, 4]
    assert netdb.ids("--order", "-rank", "--order", "title") == [4, 1, 3, 5, 2]
    assert netdb.ids("--order", "-id") == [5, 4, 3, 2, 1]
    assert netdb.ids("--order", "score") == [3, 2, 1, 5, 4]
    # Ties on a descending first key: by id, descending.
    assert netdb.ids("--order", "-score") == [4, 5, 1, 2, 3]


def test_list_limit_offset(netdb):
    assert netdb.ids("--order", "-id", "--limit", "2") == [5, 4]
    assert netdb.ids("--order", "-id", "--limit", "2", "--offset", "1") == [4, 3]
    assert netdb.ids("--offset", "4") == [5]
    assert netdb.ids("--offset", "9") == []
    assert netdb.ids("--where", "rank=3", "--order", "-id", "--limit", "1",
                     "--offset", "1") == [3]


# --- get and count --------------------------------------------------------------


def test_get(netdb):
    lines = netdb.ok("records", "get", "notes", "1").splitlines()
    fields = {}
    for line in lines:
        label, _, value = line.partition(":")
        fields[label] = value.strip()
    assert fields["id"] == "1" and fields["title"] == "Buy milk"
    assert fields["tags"] == "home,shop" and fields["due"] == "2026-01-05T10:00:00Z"
    assert "created" in fields and "updated" in fields
    one = netdb.json("records", "get", "notes", "1")
    assert one["id"] == 1 and one["title"] == "Buy milk"


def test_get_missing_id(netdb):
    err = netdb.fails(1, "records", "get", "notes", "99")
    assert err == "netdb: no record with id 99 in collection “notes”\n"


def test_get_bad_id(netdb):
    err = netdb.fails(2, "records", "get", "notes", "x1")
    assert "Invalid id “x1”" in err


def test_count(netdb):
    assert netdb.ok("records", "count", "notes") == "5\n"
    assert netdb.ok("records", "count", "notes", "--where", "starred=true") == "2\n"
    assert netdb.json("records", "count", "people") == {"count": 2}


def test_other_collection_and_dashed_names(netdb):
    def people(*args):
        return [p["name"] for p in netdb.json("records", "list", "people", *args)]

    ada, alan = netdb.json("records", "list", "people")
    assert (ada["name"], ada["age"], ada["birth-year"]) == ("Ada", 36, 1815)
    assert alan["birth-year"] == 1912
    # A Python property birth_year is the field birth-year: either spelling.
    assert people("--where", "birth_year>1900") == ["Alan"]
    assert people("--where", "birth-year<1900") == ["Ada"]
    assert people("--order", "-birth_year") == ["Alan", "Ada"]
    assert people("--where", "created>0", "--order", "-name") == ["Alan", "Ada"]


# --- errors -----------------------------------------------------------------------


def test_unknown_collection(netdb):
    for args in (["records", "list", "nope"], ["records", "count", "nope"],
                 ["records", "get", "nope", "1"], ["records", "watch", "nope"]):
        err = netdb.fails(1, *args)
        assert "No collection named “nope”" in err, err
        assert "notes, people" in err, err
    # And looking never creates it.
    assert [c["name"] for c in netdb.json("collections")] == ["notes", "people"]


@pytest.mark.parametrize("args", [
    ["--where", "colour=red"],
    ["--order", "colour"],
    ["--order", "-colour"],
])
def test_unknown_field(netdb, args):
    err = netdb.fails(1, "records", "list", "notes", *args)
    assert "no field “colour”" in err, err
    assert "title" in err, err


@pytest.mark.parametrize("where,words", [
    ("rank=abc", ["“abc”", "“rank”", "int"]),
    ("rank=99999999999", ["“rank”", "int"]),
    ("size=-1", ["“size”", "uint64"]),
    ("starred=maybe", ["“starred”", "boolean", "true or false"]),
    ("score<pi", ["“score”", "double"]),
    ("due>yesterday", ["“due”", "datetime", "ISO 8601"]),
    ("data=not base64!", ["“data”", "bytes", "base64"]),
    ("id=-3", ["“id”"]),
    ("rank~3", ["“rank”", "int", "~"]),
    ("starred^t", ["“starred”", "boolean", "^"]),
])
def test_bad_value(netdb, where, words):
    err = netdb.fails(2, "records", "list", "notes", "--where", where)
    for word in words:
        assert word in err, (word, err)


@pytest.mark.parametrize("args", [
    ["--where", "rank"],
    ["--where", "=3"],
    ["--where", "rank!3"],
    ["--order", "-"],
    ["--limit", "-1"],
])
def test_usage_errors(netdb, args):
    err = netdb.fails(2, "records", "list", "notes", *args)
    assert "Try “netdb records list --help”" in err, err


def test_help(netdb):
    for path in (["collections"], ["records"], ["records", "list"],
                 ["records", "get"], ["records", "count"], ["records", "watch"]):
        out = netdb.ok(*path, "--help")
        assert out.startswith("Usage:\n  " + " ".join(["netdb"] + path)), out
    assert "--where" in netdb.ok("records", "list", "--help")
    out = netdb.ok("--help")
    assert "collections" in out and "records" in out


# --- a database held by a running writer -----------------------------------------


@pytest.fixture
def live(tmp_path):
    env = base_env(tmp_path)
    db = str(tmp_path / "db")
    writer = Writer(db, env)
    yield writer, Netdb(db, env)
    writer.close()


def test_reads_a_database_a_writer_holds(live):
    writer, netdb = live
    assert netdb.ids() == [1, 2, 3, 4, 5]
    assert [c["count"] for c in netdb.json("collections")] == [5, 2]
    writer.send(op="insert", note={"id": 7, "title": "late", "rank": 1,
                                   "size": 2 ** 64 - 1})
    assert netdb.ids("--where", "title=late") == [7]
    seven = netdb.json("records", "get", "notes", "7")
    assert seven["rank"] == 1
    # Past what a JSON integer holds exactly: its digits, as a string.
    assert seven["size"] == str(2 ** 64 - 1)
    assert netdb.ids("--where", f"size={2 ** 64 - 1}") == [7]
    assert netdb.ids("--where", "size>1000000") == [2, 7]


def test_watch_follows_the_writer(live):
    writer, netdb = live
    proc = netdb.popen("records", "watch", "notes", "--where", "starred=true")
    lines = Lines(proc.stdout)
    try:
        header = table(lines.next())[0]
        assert header[0] == "ID" and "TITLE" in header
        title = header.index("TITLE")
        assert table(lines.next())[0][title] == "Buy milk"
        assert table(lines.next())[0][title] == "alpha release"
        assert re.fullmatch(r"-- seq \d+: watching for changes .*", lines.next())

        seq = writer.send(op="insert", note={"id": 6, "title": "new one",
                                             "starred": True, "tags": ["a", "b"]})
        line = lines.next()
        assert line.startswith(f"+ seq {seq}  6  "), line
        assert "  new one  " in line and "  a,b  " in line, line

        seq = writer.send(op="update", id=6, fields={"title": "renamed"})
        line = lines.next()
        assert line.startswith(f"~ seq {seq}  6  "), line
        assert "  renamed  " in line, line

        # No longer starred: it leaves the result.
        seq = writer.send(op="update", id=1, fields={"starred": False})
        line = lines.next()
        assert line.startswith(f"- seq {seq}  1  "), line

        # Not starred: nothing to report.
        writer.send(op="insert", note={"id": 8, "title": "unstarred"})
        seq = writer.send(op="delete", id=6)
        line = lines.next()
        assert line.startswith(f"- seq {seq}  6  "), line
    finally:
        status = stop(proc, signal.SIGINT)
    assert status == 0
    assert lines.rest() == []
    assert proc.stderr.read() == ""


def test_watch_json(live):
    writer, netdb = live
    proc = netdb.popen("--json", "records", "watch", "notes", "--order", "-id",
                       "--limit", "2")
    lines = Lines(proc.stdout)
    try:
        first = json.loads(lines.next())
        assert [r["id"] for r in first["items"]] == [5, 4]
        seq = writer.send(op="insert", note={"id": 9, "title": "nine",
                                             "data": [255]})
        got = [json.loads(lines.next()) for _ in range(2)]
        assert sorted((c["change"], c["item"]["id"]) for c in got) == \
            [("added", 9), ("removed", 4)]
        assert all(c["seq"] == seq for c in got)
        added = next(c for c in got if c["change"] == "added")
        assert added["position"] == 0
        assert base64.b64decode(added["item"]["data"]) == b"\xff"
    finally:
        status = stop(proc, signal.SIGTERM)
    assert status == 0


def test_watch_stops_on_signal_without_changes(live):
    _writer, netdb = live
    proc = netdb.popen("records", "watch", "people", "--where", "name=Ada")
    lines = Lines(proc.stdout)
    header = lines.next().split()
    assert header[0] == "ID" and set(header[1:4]) == {"NAME", "AGE", "BIRTH-YEAR"}
    row = dict(zip(header, table(lines.next())[0]))
    assert (row["ID"], row["NAME"], row["AGE"]) == ("1", "Ada", "36")
    assert lines.next().startswith("-- seq ")
    assert stop(proc) == 0
    assert proc.stderr.read() == ""
