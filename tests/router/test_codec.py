"""The no-pickle codec."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from handoffq.router.codec import CodecError, from_npz, pack, to_npz_dict, unpack


def test_round_trip_of_nested_state():
    state = {"t": np.arange(6.0).reshape(2, 3), "tu": (1, "a"), "ik": {3: [1, 2]}, "tk": {(1, 2): 5},
             "tensor": torch.ones(2), "n": None, "big": 2**70, "f": 0.5, "lst": [np.int64(4)]}
    buf = io.BytesIO()
    np.savez(buf, **to_npz_dict(state))
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as z:
        back = from_npz(z, "buf")
    assert np.array_equal(back["t"], state["t"]) and back["tu"] == (1, "a") and back["ik"] == {3: [1, 2]}
    assert back["tk"] == {(1, 2): 5} and torch.equal(back["tensor"], torch.ones(2)) and back["big"] == 2**70
    assert back["lst"] == [4] and back["n"] is None


def test_unstorable_values_are_named():
    with pytest.raises(CodecError, match=r"\$\.x: a set cannot be stored"):
        pack({"x": {1}})
    with pytest.raises(CodecError, match="object arrays"):
        pack(np.array([None]))
    tree, arrays = pack({"__weird": 1})
    assert unpack(tree, arrays) == {"__weird": 1}
