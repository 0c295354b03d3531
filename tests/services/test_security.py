"""Keys from files and the environment, HMAC signatures and the replay guard."""

from __future__ import annotations

import logging
import os

import pytest

from handoffq.services.security import (
    KeyError_,
    KeyRing,
    ReplayGuard,
    SecurityError,
    env_var,
    new_key,
    sign,
    verify,
)


def test_sign_verify_rejects_any_change_and_other_keys():
    k1, k2 = bytes.fromhex(new_key()), bytes.fromhex(new_key())
    body = b'{"v":1}'
    sig = sign(k1, body)
    verify(k1, body, sig)
    for key, data, s in [(k2, body, sig), (k1, b'{"v":2}', sig), (k1, body, None), (k1, body, "00" * 32)]:
        with pytest.raises(SecurityError) as err:
            verify(key, data, s)
        assert err.value.reason == "bad_signature"


def test_key_file_and_environment(tmp_path, caplog):
    a, b = new_key(), new_key()
    path = tmp_path / "keys.toml"
    path.write_text(f'[keys]\nalice = "{a}"\n')
    os.chmod(path, 0o644)
    with caplog.at_level(logging.WARNING):
        ring = KeyRing.from_file(path)
    assert "chmod 600" in caplog.text and a not in caplog.text
    env = {env_var("bob.x-1"): b}
    ring = ring.merged(KeyRing.from_env(["bob.x-1", "carol"], env))
    assert ring.peers() == ["alice", "bob.x-1"] and ring.key("bob.x-1") == bytes.fromhex(b)
    assert env_var("bob.x-1") == "HANDOFFQ_KEY__BOB_X_1"
    assert a not in repr(ring) and b not in repr(ring) and "alice" in repr(ring)
    with pytest.raises(SecurityError) as err:
        ring.key("carol")
    assert err.value.reason == "unknown_peer"


@pytest.mark.parametrize("text", ['[keys]\nx = "abc"', '[keys]\nx = "00"', "[other]\n", "[keys\n"])
def test_bad_key_files_say_where(tmp_path, text):
    path = tmp_path / "k.toml"
    path.write_text(text)
    with pytest.raises(KeyError_, match=str(path)):
        KeyRing.from_file(path)


def test_replay_guard_window_nonce_and_restart():
    now = [1000.0]
    guard = ReplayGuard(window_s=10, clock=lambda: now[0], not_before=995.0)
    guard.check("a" * 32, 999.0)
    with pytest.raises(SecurityError, match="seen before") as err:
        guard.check("a" * 32, 999.0)
    assert err.value.reason == "replay"
    for ts, reason in [(989.0, "stale"), (994.0, "stale"), (1011.0, "future")]:
        with pytest.raises(SecurityError) as err:
            guard.check("b" * 32, ts)
        assert err.value.reason == reason
    now[0] = 1020.0  # the old nonce left the window: forgotten, and its timestamp is stale anyway
    with pytest.raises(SecurityError, match="outside"):
        guard.check("a" * 32, 999.0)
    guard.check("c" * 32, 1019.0)
    assert "a" * 32 not in guard._seen
