"""Service settings: bad values are one-line errors; the reply quota's default."""

from __future__ import annotations

import pytest

from handoffq.services.settings import ServiceSettings


@pytest.mark.parametrize(("kw", "match"), [
    ({"role": "boss"}, "role must be"),
    ({"mode": "eval"}, "mode must be"),
    ({"outbox_size": 0}, "outbox-size must be >= 1"),
    ({"max_magnitude": float("inf")}, "max-magnitude must be a positive finite number"),
    ({"max_magnitude": 0.0}, "max-magnitude must be a positive finite number"),
])
def test_bad_settings_fail_with_one_line(kw, match):
    with pytest.raises(ValueError, match=match):
        ServiceSettings("a", "http://a", **kw)


def test_replies_per_peer_defaults_to_half_the_outbox():
    assert ServiceSettings("a", "http://a", outbox_size=10).replies_per_peer == 5
    assert ServiceSettings("a", "http://a", outbox_size=10, reply_quota=3).replies_per_peer == 3
    assert ServiceSettings("a", "http://a", outbox_size=1).replies_per_peer == 1
