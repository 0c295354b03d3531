"""Envelopes: exactly the protocol's fields, types and sizes, or a named rejection."""

from __future__ import annotations

import json
import time

import pytest

from handoffq.services.protocol import (
    HANDOFF_FIELDS,
    REPLY_FIELDS,
    ProtocolError,
    decode_handoff,
    decode_json,
    decode_reply,
    encode,
    handoff_id,
)
from handoffq.services.security import new_nonce


def _reply(**kw):
    base = {"kind": "reply", "from": "b", "to": "a", "task": "t1", "handoff": "t1#1", "ts": time.time(),
            "nonce": new_nonce(), "v": 0.5, "tau": 2, "R": -0.1}
    return {**base, **kw}


def _handoff(**kw):
    base = {"kind": "handoff", "from": "a", "to": "b", "task": "t1", "handoff": "t1#1", "hop": 1, "mode": "train",
            "reply_to": "http://127.0.0.1:8000", "ts": time.time(), "nonce": new_nonce(),
            "artifact": {"x": [1, 2**60, "é"]}}
    return {**base, **kw}


def test_reply_round_trip_is_exactly_three_numbers_plus_ids():
    r = decode_reply(decode_json(encode(_reply()), 2048))
    assert (r.v, r.tau, r.R) == (0.5, 2, -0.1)
    assert set(r.to_wire()) == REPLY_FIELDS
    assert REPLY_FIELDS - {"kind", "from", "to", "task", "handoff", "ts", "nonce"} == {"v", "tau", "R"}


def test_handoff_keeps_the_artifact_verbatim():
    env = _handoff()
    h = decode_handoff(decode_json(encode(env), 1 << 20))
    assert h.artifact == {"x": [1, 2**60, "é"]} and isinstance(h.artifact["x"][1], int)
    assert set(h.to_wire()) == HANDOFF_FIELDS and h.handoff == handoff_id("t1", 1)


@pytest.mark.parametrize(("change", "reason"), [
    ({"obs": [1]}, "extra_field"),
    ({"params": {"w": 1}}, "extra_field"),
    ({"v": None}, "schema"),
    ({"v": True}, "schema"),
    ({"v": "1"}, "schema"),
    ({"tau": 0}, "schema"),
    ({"tau": 1.5}, "schema"),
    ({"R": 1e400}, "schema"),
    ({"kind": "handoff"}, "wrong_kind"),
    ({"from": "a b"}, "schema"),
    ({"nonce": "xyz"}, "schema"),
    ({"task": ""}, "schema"),
])
def test_bad_replies_name_their_field(change, reason):
    obj = _reply(**change)
    with pytest.raises(ProtocolError) as err:
        decode_reply(obj)
    assert err.value.reason == reason


def test_missing_field_duplicate_key_nan_and_size_are_rejected():
    obj = _reply()
    del obj["R"]
    with pytest.raises(ProtocolError, match="lacks field"):
        decode_reply(obj)
    with pytest.raises(ProtocolError, match="twice"):
        decode_json(b'{"v": 1, "v": 2}', 100)
    with pytest.raises(ProtocolError) as err:
        decode_json(b'{"v": NaN}', 100)
    assert err.value.reason == "schema"
    with pytest.raises(ProtocolError) as err:
        decode_json(b"{}" + b" " * 100, 50)
    assert err.value.reason == "oversize"
    with pytest.raises(ProtocolError) as err:
        decode_json(b"[1]", 50)
    assert err.value.reason == "schema"
    with pytest.raises(ProtocolError) as err:
        decode_json(b"{", 50)
    assert err.value.reason == "bad_json"


@pytest.mark.parametrize("change", [{"reply_to": "ftp://x"}, {"mode": "learn"}, {"hop": -1}, {"hop": True}])
def test_bad_handoffs_are_rejected(change):
    with pytest.raises(ProtocolError):
        decode_handoff(_handoff(**change))


def test_canonical_encoding_is_stable_and_finite():
    a = encode({"b": 1, "a": [1.5, "x"]})
    assert a == b'{"a":[1.5,"x"],"b":1}'
    assert json.loads(a) == {"a": [1.5, "x"], "b": 1}
    with pytest.raises(ValueError):
        encode({"v": float("nan")})
