# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The RedEX log through PyGObject, against the uninstalled build
# (GI_TYPELIB_PATH and LD_LIBRARY_PATH point at build/netdb).  Only the plain
# GI API is used: no override module.
#
# Run with Debian's interpreter, which has `gi`:
#   GI_TYPELIB_PATH=build/netdb LD_LIBRARY_PATH=build/netdb \
#     /usr/bin/python3 -m pytest tests/bindings/test_redex.py

import gc

import gi
import pytest

gi.require_version("GLib", "2.0")
gi.require_version("Gio", "2.0")
gi.require_version("Net", "1.0")
from gi.repository import Gio, GLib, Net  # noqa: E402

NET_ERROR_DOMAIN = "net-error-quark"
TIMEOUT_SECONDS = 10


def payload(text):
    return GLib.Bytes.new(text.encode())


def data(event):
    return event.get_payload().get_data()


def assert_net_error(excinfo, code):
    err = excinfo.value
    assert err.domain == NET_ERROR_DOMAIN, err
    assert err.code == int(code), err
    assert err.matches(GLib.quark_from_string(NET_ERROR_DOMAIN), code)
    assert err.message


@pytest.fixture
def memory_redex():
    redex = Net.Redex.new(None)
    yield redex
    redex.close()


@pytest.fixture
def dir_redex(tmp_path):
    path = str(tmp_path / "db")
    redex = Net.Redex.new(path)
    yield path, redex
    redex.close()


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


# --- appending and reading -------------------------------------------------


def check_append_and_read(redex):
    log = redex.open_file("demo", None)
    assert log.get_name() == "demo"
    assert log.get_next_seq() == 1
    assert log.get_length() == 0

    before = GLib.get_real_time()
    assert log.append(payload("one")) == 1
    assert log.append(payload("two")) == 2
    assert log.append(GLib.Bytes.new(b"\x00\xffbinary")) == 3
    after = GLib.get_real_time()

    assert log.get_first_seq() == 1
    assert log.get_next_seq() == 4
    assert log.get_length() == 3

    event = log.read_one(2)
    assert event.get_seq() == 2
    assert data(event) == b"two"
    assert before <= event.get_timestamp() <= after

    events = log.read_range(1, 4)
    assert [e.get_seq() for e in events] == [1, 2, 3]
    assert [data(e) for e in events] == [b"one", b"two", b"\x00\xffbinary"]
    timestamps = [e.get_timestamp() for e in events]
    assert timestamps == sorted(timestamps)

    # The end is exclusive.
    assert [e.get_seq() for e in log.read_range(2, 3)] == [2]

    # Opening the same name again is idempotent.
    again = redex.open_file("demo", None)
    assert again.get_next_seq() == 4
    return log


def test_memory_append_read(memory_redex):
    check_append_and_read(memory_redex)


def test_dir_append_read_reopen(dir_redex):
    path, redex = dir_redex
    check_append_and_read(redex)
    assert "demo" in redex.list_files()
    assert redex.get_path() == path
    redex.close()

    reopened = Net.Redex.new(path)
    try:
        log = reopened.open_file("demo", None)
        assert log.get_next_seq() == 4
        assert [data(e) for e in log.read_range(1, 4)] == [
            b"one",
            b"two",
            b"\x00\xffbinary",
        ]
        # Sequence numbers continue after a reopen.
        assert log.append(payload("four")) == 4
    finally:
        reopened.close()


def test_append_batch(memory_redex):
    log = memory_redex.open_file("batch", None)
    assert log.append(payload("zero")) == 1
    first = log.append_batch([payload("a"), payload("b"), payload("c")])
    assert first == 2
    assert [data(e) for e in log.read_range(2, 5)] == [b"a", b"b", b"c"]


def test_config(memory_redex):
    config = Net.RedexConfig.new()
    config.set_max_payload(8)
    config.set_fsync_policy(Net.FsyncPolicy.EVERY_N, 10)
    assert config.get_fsync_policy() == Net.FsyncPolicy.EVERY_N
    assert config.get_fsync_param() == 10

    log = memory_redex.open_file("small", config)
    assert log.append(payload("12345678")) == 1
    with pytest.raises(GLib.Error) as excinfo:
        log.append(payload("123456789"))
    assert_net_error(excinfo, Net.Error.PAYLOAD_TOO_LARGE)
    # A refused append uses no seq.
    assert log.get_next_seq() == 2


# --- errors -------------------------------------------------------------------


def test_invalid_name(memory_redex):
    for name in ["", "../escape", "/abs", "a//b", "UPPER", "a/./b"]:
        with pytest.raises(GLib.Error) as excinfo:
            memory_redex.open_file(name, None)
        assert_net_error(excinfo, Net.Error.INVALID_ARGUMENT)


def test_read_missing_seq(memory_redex):
    log = memory_redex.open_file("demo", None)
    log.append(payload("one"))
    with pytest.raises(GLib.Error) as excinfo:
        log.read_one(5)
    assert_net_error(excinfo, Net.Error.NOT_FOUND)


def test_second_writer_is_locked(dir_redex):
    path, _redex = dir_redex
    with pytest.raises(GLib.Error) as excinfo:
        Net.Redex.new(path)
    assert_net_error(excinfo, Net.Error.LOCKED)
    assert path in excinfo.value.message


def test_closed_file_keeps_no_lock(tmp_path):
    # Closing every log and dropping the Redex releases the directory lock,
    # even while a variable still holds a closed log (issue 14, item 5).
    path = str(tmp_path / "db")
    redex = Net.Redex.new(path)
    log = redex.open_file("demo", None)
    log.append(payload("one"))
    log.close()
    del redex
    gc.collect()

    second = Net.Redex.new(path)
    assert second.open_file("demo", None).get_next_seq() == 2
    with pytest.raises(GLib.Error) as excinfo:
        log.append(payload("two"))
    assert_net_error(excinfo, Net.Error.CLOSED)
    second.close()


def test_read_only(dir_redex):
    path, redex = dir_redex
    log = redex.open_file("shared", None)
    log.append(payload("from the writer"))
    log.sync()

    reader = Net.Redex.new_read_only(path)
    try:
        assert reader.get_read_only()
        rlog = reader.open_file("shared", None)
        assert rlog.get_read_only()
        assert [data(e) for e in rlog.read_range(1, rlog.get_next_seq())] == [
            b"from the writer"
        ]
        with pytest.raises(GLib.Error) as excinfo:
            rlog.append(payload("refused"))
        assert_net_error(excinfo, Net.Error.READ_ONLY)
    finally:
        reader.close()


def test_closed(memory_redex):
    log = memory_redex.open_file("demo", None)
    log.append(payload("one"))
    log.close()
    with pytest.raises(GLib.Error) as excinfo:
        log.append(payload("late"))
    assert_net_error(excinfo, Net.Error.CLOSED)


# --- tailing ------------------------------------------------------------------


def test_tail_history_then_live(memory_redex):
    log = memory_redex.open_file("tailed", None)
    log.append(payload("h1"))
    log.append(payload("h2"))

    tail = log.tail(1)
    loop = GLib.MainLoop()
    seen = []
    errors = []

    def on_next(source, result):
        try:
            event = source.next_finish(result)
        except GLib.Error as e:
            errors.append(e)
            loop.quit()
            return
        seen.append((event.get_seq(), data(event)))
        if len(seen) == 2:
            # History delivered: append live events from the main loop.
            GLib.idle_add(append_live)
        if len(seen) == 4:
            loop.quit()
            return
        source.next_async(None, on_next)

    def append_live():
        log.append(payload("l3"))
        log.append(payload("l4"))
        return GLib.SOURCE_REMOVE

    tail.next_async(None, on_next)
    run_loop(loop, "tail events")

    assert not errors, errors
    assert seen == [(1, b"h1"), (2, b"h2"), (3, b"l3"), (4, b"l4")]
    assert tail.get_position() == 5
    tail.close()


def test_tail_closed_log(memory_redex):
    log = memory_redex.open_file("closing", None)
    tail = log.tail(log.get_next_seq())
    loop = GLib.MainLoop()
    outcome = []

    def on_next(source, result):
        try:
            outcome.append(source.next_finish(result))
        except GLib.Error as e:
            outcome.append(e)
        loop.quit()

    def close_log():
        log.close()
        return GLib.SOURCE_REMOVE

    tail.next_async(None, on_next)
    GLib.idle_add(close_log)
    run_loop(loop, "the tail to report the close")

    assert len(outcome) == 1
    err = outcome[0]
    assert isinstance(err, GLib.Error), err
    assert err.domain == NET_ERROR_DOMAIN
    assert err.code == Net.Error.CLOSED


def test_tail_cancelled(memory_redex):
    log = memory_redex.open_file("cancel", None)
    tail = log.tail(1)
    cancellable = Gio.Cancellable.new()
    loop = GLib.MainLoop()
    outcome = []

    def on_next(source, result):
        try:
            outcome.append(source.next_finish(result))
        except GLib.Error as e:
            outcome.append(e)
        loop.quit()

    tail.next_async(cancellable, on_next)
    def cancel():
        cancellable.cancel()
        return GLib.SOURCE_REMOVE

    GLib.idle_add(cancel)
    run_loop(loop, "the cancelled tail")

    assert len(outcome) == 1
    assert isinstance(outcome[0], GLib.Error)
    assert outcome[0].matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED)


def test_append_durable_already_cancelled(dir_redex):
    # An already-cancelled cancellable answers CANCELLED and appends nothing
    # (issue 14, item 2).
    _path, redex = dir_redex
    log = redex.open_file("cancel", None)
    cancellable = Gio.Cancellable.new()
    cancellable.cancel()
    loop = GLib.MainLoop()
    outcome = []

    def on_done(source, result):
        try:
            outcome.append(source.append_durable_finish(result))
        except GLib.Error as e:
            outcome.append(e)
        loop.quit()

    log.append_durable_async(payload("never"), cancellable, on_done)
    assert outcome == []  # never synchronously
    run_loop(loop, "the cancelled durable append")

    assert len(outcome) == 1
    assert isinstance(outcome[0], GLib.Error)
    assert outcome[0].matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED)
    assert log.get_next_seq() == 1


def test_event_boxed():
    event = Net.RedexEvent.new(7, 1234, payload("boxed"))
    assert event.get_seq() == 7
    assert event.get_timestamp() == 1234
    assert data(event) == b"boxed"


def test_error_enum_is_registered():
    assert Net.Error.LOCKED != Net.Error.CLOSED
    assert GLib.quark_to_string(Net.error_quark()) == NET_ERROR_DOMAIN


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-v"]))
