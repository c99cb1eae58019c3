# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `netdb log verify` on what a crash leaves at the end of a log: a torn last
# record or a batch without its last record is reported as incomplete, with
# exit status 3, apart from damage (status 1).
#
#   NETDB_CLI=build/netdb-cli/netdb /usr/bin/python3 -m pytest tests/cli/test_verify_cli.py

import json
import os
import re
import struct
import subprocess

import pytest

NETDB = os.environ.get("NETDB_CLI")
if not NETDB:
    pytest.skip("NETDB_CLI (the path of the built netdb) is not set",
                allow_module_level=True)

HANG_TIMEOUT = 30
SEG_HEADER = 32
REC_HEADER = 32


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "db")


@pytest.fixture
def netdb(tmp_path, db):
    env = dict(os.environ)
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg-data")
    env["LC_ALL"] = "C.UTF-8"
    env.pop("G_DEBUG", None)

    def run(*args, check=None):
        argv = [NETDB, "--db", db] + list(args)
        r = subprocess.run(argv, env=env, capture_output=True, text=True,
                           timeout=HANG_TIMEOUT)
        if check is not None:
            assert r.returncode == check, (argv, r.returncode, r.stdout, r.stderr)
        return r

    return run


def segment_of(db):
    segments = []
    for root, _, files in os.walk(db):
        segments += [os.path.join(root, f) for f in files if f.endswith(".seg")]
    assert len(segments) == 1, segments
    return segments[0]


def record_offsets(path):
    """Offsets of the records of a segment, by walking their headers."""
    data = open(path, "rb").read()
    offsets = []
    p = SEG_HEADER
    while p + REC_HEADER <= len(data):
        marker, length = struct.unpack_from("<4sI", data, p)
        assert marker in (b"REC1", b"REC+"), (p, marker)
        offsets.append((p, marker))
        p += REC_HEADER + length
    assert p == len(data)
    return offsets


def truncate(path, size):
    with open(path, "r+b") as f:
        f.truncate(size)


def test_verify_torn_last_record(netdb, db):
    netdb("log", "append", "demo", "one", check=0)
    netdb("log", "append", "demo", "two", check=0)
    netdb("log", "append", "demo", "three" * 20, check=0)
    assert netdb("log", "verify", check=0).stdout == "demo: ok\n"

    seg = segment_of(db)
    last, _ = record_offsets(seg)[-1]
    truncate(seg, last + 40)

    r = netdb("log", "verify", check=3)
    assert re.fullmatch(r"demo: 0*1\.seg at offset %d: the last record is incomplete "
                        r"\(40 bytes; the next writer truncates it\)\n" % last,
                        r.stdout), r.stdout
    assert "incomplete write" in r.stderr
    # verify opens read-only: it truncated nothing.
    assert os.path.getsize(seg) == last + 40

    r = netdb("--json", "log", "verify", "demo", check=3)
    report = json.loads(r.stdout)
    assert report["ok"] is False and report["problems"] == []
    assert len(report["incomplete"]) == 1
    assert "the last record is incomplete (40 bytes;" in report["incomplete"][0]

    # The next writer truncates it; then all is well and the first two
    # events are there.
    netdb("log", "append", "demo", "four", check=0)
    assert netdb("log", "verify", check=0).stdout == "demo: ok\n"
    out = netdb("--json", "log", "tail", "demo", check=0).stdout
    assert "four" in out and "three" not in out


def test_verify_partial_batch(netdb, db):
    netdb("log", "append", "demo", "single", check=0)
    # Arguments of one `log append` are one batch.
    netdb("log", "append", "demo", "b1" * 10, "b2" * 10, "b3" * 10, check=0)
    seg = segment_of(db)
    offsets = record_offsets(seg)
    assert [m for _, m in offsets] == [b"REC1", b"REC+", b"REC+", b"REC1"]

    # Two records of the batch whole, the last one never written: what a
    # kill in the middle of the batch's write leaves.
    truncate(seg, offsets[3][0])
    r = netdb("log", "verify", check=3)
    assert re.fullmatch(r"demo: 0*1\.seg at offset %d: the last batch is incomplete "
                        r"\(seqs 2 to 3 without its last record, \d+ bytes; "
                        r"the next writer truncates it\)\n" % offsets[1][0],
                        r.stdout), r.stdout

    # Readers see none of it.
    out = netdb("--json", "log", "tail", "demo", check=0).stdout
    assert "single" in out and "b1" not in out

    # Damage elsewhere wins: status 1, both reported.
    data = bytearray(open(seg, "rb").read())
    at = data.find(b"single")
    data[at] ^= 0x20
    open(seg, "wb").write(data)
    r = netdb("log", "verify", check=1)
    assert "seq 1" in r.stdout and "the last batch is incomplete" in r.stdout
    assert "netdb: 1 problem found in 1 log" in r.stderr
