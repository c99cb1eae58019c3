# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Three nodes in three processes: `netdb node serve` on a leader database
# of 100 000 mixed task and memory events, and two `netdb node follow`
# catching up on it at once.  Every follower must end with the leader's
# tails, the same bytes in its logs (every event's seq, timestamp and
# payload) and the same answer to every filter.  In the 'slow' suite: it
# takes about a minute.
#
#   NETDB_CLI=build/netdb-cli/netdb \
#   NETDB_CLI_HELPER=build/tests/cli/netdb-cli-helper \
#   /usr/bin/python3 -m pytest tests/cli/test_node_cluster_cli.py

import itertools
import os

import pytest

from test_node_cli import (CONVERGE_TIMEOUT, env, helper, jsonof, keygen,  # noqa: F401
                           log_tails, nodes, ok, wait_until)

N_EVENTS = int(os.environ.get("NETDB_CLUSTER_CLI_EVENTS", "100000"))
SEED = int(os.environ.get("NETDB_CLUSTER_CLI_SEED", "20261126"))

TASK_FILTERS = [
    list(itertools.chain(status, search, order, window))
    for status in ([], ["--status", "pending"], ["--status", "completed"])
    for search in ([], ["--search", "ALPHA"], ["--search", "café 1"])
    for order, window in [(["--order", "id"], []),
                          (["--order", "-updated"], ["--limit", "50"]),
                          (["--order", "created"], ["--limit", "20", "--offset", "1000"]),
                          (["--order", "-id"], ["--offset", "5"])]
]

MEMORY_FILTERS = [
    list(itertools.chain(match, order, window))
    for match in ([], ["--tag", "work"], ["--any-tag", "idea", "--any-tag", "read"],
                  ["--all-tag", "home", "--all-tag", "todo"], ["--source", "mail"],
                  ["--pinned"], ["--unpinned", "--tag", "home"], ["--search", "omega"],
                  ["--pinned", "--source", "chat", "--search", "beta"])
    for order, window in [(["--order", "id"], []),
                          (["--order", "-updated"], ["--limit", "30"]),
                          (["--order", "-created"], ["--limit", "10", "--offset", "200"]),
                          (["--order", "updated"], [])]
]


def log_bytes(env, db, name):
    """Every event of a log as `log tail --json` prints it: seq, timestamp
    and the payload's bytes (and what is derived from them)."""
    return ok(env, "--db", db, "--json", "log", "tail", name)


def test_three_nodes_converge_on_100k_mixed_events(env, tmp_path, nodes):
    ids = {n: str(tmp_path / f"id-{n}") for n in "abc"}
    keys = {n: keygen(env, path) for n, path in ids.items()}
    dbs = {n: str(tmp_path / n) for n in "abc"}

    seqs = [int(s) for s in helper(env, "fill-mixed", dbs["a"], SEED, N_EVENTS).split()]
    assert sum(seqs) == N_EVENTS, seqs
    tails = log_tails(env, dbs["a"])
    assert tails == {"tasks": seqs[0] + 1, "memories": seqs[1] + 1}, tails

    leader = nodes(env, "--db", dbs["a"], "node", "serve", "--identity", ids["a"],
                   "--listen", "127.0.0.1:0", "--allow", keys["b"], "--allow", keys["c"])
    address, key = leader.listening()
    assert key == keys["a"]
    followers = []
    for n in "bc":
        follower = nodes(env, "--db", dbs[n], "node", "follow", "--identity", ids[n],
                         "--listen", "127.0.0.1:0", address, keys["a"])
        assert follower.listening()[1] == keys[n]
        followers.append(follower)

    for n in "bc":
        def probe(db=dbs[n]):
            got = log_tails(env, db)
            return got == tails, got
        wait_until(f"follower {n} reaches the leader's tails", probe,
                   timeout=CONVERGE_TIMEOUT, alive=[leader] + followers)

    for follower in followers:
        status, out, err = follower.stop()
        assert status == 0, (out, err)
    status, out, err = leader.stop()
    assert status == 0, (out, err)

    for name in ("tasks", "memories"):
        expected = log_bytes(env, dbs["a"], name)
        assert expected.count("\n") == tails[name] - 1
        for n in "bc":
            # Not assert ==: a 30 MB diff would drown the report.
            got = log_bytes(env, dbs[n], name)
            assert got == expected, f"the {name} log of {n} differs from the leader's"

    for what, filters in (("tasks", TASK_FILTERS), ("memories", MEMORY_FILTERS)):
        nonempty = 0
        for args in filters:
            expected = jsonof(env, "--db", dbs["a"], what, "list", *args)
            nonempty += bool(expected)
            for n in "bc":
                assert jsonof(env, "--db", dbs[n], what, "list", *args) == expected, \
                    (n, what, args)
        # The filters must select something, or the comparison proves little.
        assert nonempty >= len(filters) * 3 // 4, (what, nonempty, len(filters))
        for n in "abc":
            ok(env, "--db", dbs[n], "log", "verify")
