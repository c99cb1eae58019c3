# test_noise_dissononce.py: netdb's Noise_IK_25519_ChaChaPoly_SHA256 against
# python3-dissononce, an independent implementation of Noise (its X25519 and
# ChaCha20-Poly1305 come from python3-cryptography, not libsodium).
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# NETDB_NOISE_VECTORS names the tests/noise/noise-vectors helper.  With fixed
# ephemerals both implementations are deterministic, so every handshake and
# transport message must be equal byte for byte; and each implementation
# plays each role against the other.

import os
import subprocess

import pytest

from dissononce.cipher.chachapoly import ChaChaPolyCipher
from dissononce.dh.private import PrivateKey
from dissononce.dh.x25519.x25519 import X25519DH
from dissononce.exceptions.decrypt import DecryptFailedException
from dissononce.extras.dh.dangerous.dh_nogen import NoGenDH
from dissononce.hash.sha256 import SHA256Hash
from dissononce.processing.handshakepatterns.interactive.IK import IKHandshakePattern
from dissononce.processing.impl.cipherstate import CipherState
from dissononce.processing.impl.handshakestate import HandshakeState
from dissononce.processing.impl.symmetricstate import SymmetricState

HELPER = os.environ.get("NETDB_NOISE_VECTORS")
TIMEOUT = 30
# Transport messages each way, nonces 0, 1, 2: as many as noise-vectors sends.
ROUNDS = 3


def unhex(s):
    return bytes.fromhex(s)


# cacophony's keys; the rest random, with payloads of several sizes.
CACOPHONY = dict(
    init_static=unhex("e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1"),
    init_ephemeral=unhex("893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a"),
    resp_static=unhex("4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893"),
    resp_ephemeral=unhex("bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b"),
    prologue=b"John Galt",
    payload1=b"Ludwig von Mises",
    payload2=b"Murray Rothbard",
    transport1=b"F. A. Hayek",
    transport2=b"Carl Menger",
)


def random_case(prologue_len, payload1_len, payload2_len, t1_len, t2_len):
    return dict(
        init_static=os.urandom(32),
        init_ephemeral=os.urandom(32),
        resp_static=os.urandom(32),
        resp_ephemeral=os.urandom(32),
        prologue=os.urandom(prologue_len),
        payload1=os.urandom(payload1_len),
        payload2=os.urandom(payload2_len),
        transport1=os.urandom(t1_len),
        transport2=os.urandom(t2_len),
    )


CASES = {
    "cacophony": CACOPHONY,
    "empty": random_case(0, 0, 0, 0, 0),
    "small": random_case(5, 1, 2, 3, 4),
    "large": random_case(200, 1000, 3000, 1400, 65535 - 16),
    "random-1": random_case(32, 64, 8, 100, 17),
    "random-2": random_case(33, 31, 0, 0, 1),
}


def test_helper_is_given():
    assert HELPER and os.access(HELPER, os.X_OK), "set NETDB_NOISE_VECTORS to noise-vectors"


def helper_args(case, role):
    args = [HELPER, "--role", role]
    for key, value in case.items():
        args += ["--" + key.replace("_", "-"), value.hex()]
    return args


def parse(output):
    out = {}
    for line in output.splitlines():
        name, _, value = line.partition(" ")
        assert name not in out, "printed twice: " + name
        out[name] = unhex(value)
    return out


# --- dissononce ------------------------------------------------------------


def ds_handshake(case, initiator):
    """A dissononce HandshakeState; NoGenDH makes its ephemeral the fixed one
    (its write_message insists on generating e itself)."""
    x = X25519DH()
    if initiator:
        s = x.generate_keypair(PrivateKey(case["init_static"]))
        eph = case["init_ephemeral"]
        rs = x.generate_keypair(PrivateKey(case["resp_static"])).public
    else:
        s = x.generate_keypair(PrivateKey(case["resp_static"]))
        eph = case["resp_ephemeral"]
        rs = None
    hs = HandshakeState(
        SymmetricState(CipherState(ChaChaPolyCipher()), SHA256Hash()),
        NoGenDH(x, PrivateKey(eph)),
    )
    hs.initialize(IKHandshakePattern(), initiator, case["prologue"], s=s, rs=rs)
    assert hs.protocol_name == "Noise_IK_25519_ChaChaPoly_SHA256"
    return hs


def ds_write(hs, payload):
    buf = bytearray()
    result = hs.write_message(payload, buf)
    return bytes(buf), result


def ds_read(hs, message):
    buf = bytearray()
    result = hs.read_message(message, buf)
    return bytes(buf), result


def ds_run(case):
    """The whole exchange, both sides in dissononce."""
    ini = ds_handshake(case, True)
    res = ds_handshake(case, False)
    out = {}
    out["message1"], _ = ds_write(ini, case["payload1"])
    out["payload1"], _ = ds_read(res, out["message1"])
    out["initiator_static"] = res.rs.data
    out["message2"], (r_c1, r_c2) = ds_write(res, case["payload2"])
    out["payload2"], (i_c1, i_c2) = ds_read(ini, out["message2"])
    assert ini.symmetricstate.get_handshake_hash() == res.symmetricstate.get_handshake_hash()
    out["hash"] = ini.symmetricstate.get_handshake_hash()
    # Split (): c1 carries initiator to responder, c2 the other way.
    for r in range(ROUNDS):
        t1 = out["transport1.%d" % r] = i_c1.encrypt_with_ad(b"", case["transport1"])
        out["transport1_plaintext.%d" % r] = r_c1.decrypt_with_ad(b"", t1)
        t2 = out["transport2.%d" % r] = r_c2.encrypt_with_ad(b"", case["transport2"])
        out["transport2_plaintext.%d" % r] = i_c2.decrypt_with_ad(b"", t2)
    return out


def test_dissononce_reproduces_cacophony():
    """Checks this harness: dissononce, set up as here, gives the published
    vector (cacophony's vectors/cacophony.txt)."""
    out = ds_run(CACOPHONY)
    assert out["message1"].hex() == (
        "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944"
        "718da798efbcd91528520204f904b9bd6c7413dccdc214d951e15253e39987f1"
        "8146e8cd0873654207148333479d4d16c289f0294b29960a72f48e0b7bba2e89"
        "083169825e59642148d492020664ccf7")
    assert out["message2"].hex() == (
        "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843"
        "5361e70b2ed446e6c9ec387d1d6b3b840f194e373979d241b203c4acafccf5")
    assert out["hash"].hex() == "0b0f68fb0c27e03ce9b97565995ed4838cc0581b762ef72b062f6a546419fad7"
    assert out["transport1.0"].hex() == "050e9f3c8fac16b68dbce8f8c4bfbf6617c897f9ada4aa29aa19c8"
    assert out["transport2.0"].hex() == "344233a6cabb7141d80f3da2fedc311d9646bbb0f505afe403a667"


# --- C both sides vs dissononce both sides ---------------------------------


@pytest.mark.parametrize("name", CASES)
def test_c_matches_dissononce(name):
    case = CASES[name]
    proc = subprocess.run(helper_args(case, "both"), capture_output=True,
                          text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    c = parse(proc.stdout)
    ds = ds_run(case)
    assert sorted(c) == sorted(ds)
    for key in ds:
        assert c[key].hex() == ds[key].hex(), key
    assert c["payload1"] == case["payload1"]
    assert c["payload2"] == case["payload2"]
    for r in range(ROUNDS):
        assert c["transport1_plaintext.%d" % r] == case["transport1"]
        assert c["transport2_plaintext.%d" % r] == case["transport2"]
    # The same plaintext encrypts differently under each nonce.
    assert len({c["transport1.%d" % r] for r in range(ROUNDS)}) == ROUNDS
    assert len(c["message1"]) == 96 + len(case["payload1"])
    assert len(c["message2"]) == 48 + len(case["payload2"])


# --- one side each ----------------------------------------------------------


class Helper:
    """noise-vectors playing one role, fed the peer's messages line by line."""

    def __init__(self, case, role):
        self.proc = subprocess.Popen(helper_args(case, role), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)

    def expect(self, name):
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=TIMEOUT)
            pytest.fail("helper ended (status %s) before %s: %s"
                        % (self.proc.returncode, name, self.proc.stderr.read()))
        got, _, value = line.strip().partition(" ")
        assert got == name
        return unhex(value)

    def send(self, name, data):
        self.proc.stdin.write("%s %s\n" % (name, data.hex()))
        self.proc.stdin.flush()

    def finish(self):
        self.proc.stdin.close()
        status = self.proc.wait(timeout=TIMEOUT)
        err = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return status, err


@pytest.mark.parametrize("name", CASES)
def test_c_initiator_dissononce_responder(name):
    case = CASES[name]
    expected = ds_run(case)
    c = Helper(case, "initiator")
    res = ds_handshake(case, False)

    m1 = c.expect("message1")
    assert m1 == expected["message1"]
    payload1, _ = ds_read(res, m1)
    assert payload1 == case["payload1"]
    assert res.rs.data == X25519DH().generate_keypair(PrivateKey(case["init_static"])).public.data

    m2, (c1, c2) = ds_write(res, case["payload2"])
    assert m2 == expected["message2"]
    c.send("message2", m2)
    assert c.expect("payload2") == case["payload2"]
    assert c.expect("hash") == res.symmetricstate.get_handshake_hash()

    for r in range(ROUNDS):
        t1 = c.expect("transport1.%d" % r)
        assert t1 == expected["transport1.%d" % r]
        assert c1.decrypt_with_ad(b"", t1) == case["transport1"]
        t2 = c2.encrypt_with_ad(b"", case["transport2"])
        c.send("transport2.%d" % r, t2)
        assert c.expect("transport2_plaintext.%d" % r) == case["transport2"]

    status, err = c.finish()
    assert status == 0, err


@pytest.mark.parametrize("name", CASES)
def test_dissononce_initiator_c_responder(name):
    case = CASES[name]
    expected = ds_run(case)
    ini = ds_handshake(case, True)
    c = Helper(case, "responder")

    m1, _ = ds_write(ini, case["payload1"])
    assert m1 == expected["message1"]
    c.send("message1", m1)
    assert c.expect("payload1") == case["payload1"]
    assert c.expect("initiator_static") == ini.s.public.data

    m2 = c.expect("message2")
    assert m2 == expected["message2"]
    payload2, (c1, c2) = ds_read(ini, m2)
    assert payload2 == case["payload2"]
    assert c.expect("hash") == ini.symmetricstate.get_handshake_hash()

    for r in range(ROUNDS):
        t1 = c1.encrypt_with_ad(b"", case["transport1"])
        c.send("transport1.%d" % r, t1)
        assert c.expect("transport1_plaintext.%d" % r) == case["transport1"]
        t2 = c.expect("transport2.%d" % r)
        assert t2 == expected["transport2.%d" % r]
        assert c2.decrypt_with_ad(b"", t2) == case["transport2"]

    status, err = c.finish()
    assert status == 0, err


# --- failures across implementations ---------------------------------------


@pytest.mark.parametrize("index", [0, 31, 32, 79, 80, 95, 96])
def test_c_responder_refuses_tampered_dissononce_message1(index):
    case = CASES["small"]
    m1, _ = ds_write(ds_handshake(case, True), case["payload1"])
    bad = bytearray(m1)
    bad[index] ^= 0x01
    c = Helper(case, "responder")
    c.send("message1", bytes(bad))
    status, err = c.finish()
    assert status == 1
    assert "message 1" in err and "authentication" in err


def test_c_initiator_refuses_tampered_dissononce_message2():
    case = CASES["small"]
    c = Helper(case, "initiator")
    res = ds_handshake(case, False)
    ds_read(res, c.expect("message1"))
    m2, _ = ds_write(res, case["payload2"])
    bad = bytearray(m2)
    bad[-1] ^= 0x80
    c.send("message2", bytes(bad))
    status, err = c.finish()
    assert status == 1
    assert "message 2" in err


def test_dissononce_refuses_c_message1_for_another_responder():
    case = CASES["small"]
    proc = subprocess.run(helper_args(case, "both"), capture_output=True,
                          text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    other = dict(case, resp_static=os.urandom(32))
    with pytest.raises(DecryptFailedException):
        ds_read(ds_handshake(other, False), parse(proc.stdout)["message1"])
