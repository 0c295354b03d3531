import numpy as np
import pytest

from handoffq.core.channel import Channel, MessageBatch, deliver_replies
from handoffq.core.messages import HandoffMessage, MessageError


def test_channel_audits_and_rejects_other_payloads():
    seen = []
    ch = Channel(lambda s, d, p: seen.append((s, d, p)))
    msg = HandoffMessage(1.0, 2, 0.5)
    assert ch.send(1, 0, msg) is msg
    assert seen == [(1, 0, msg)]
    with pytest.raises(TypeError):
        ch.send(1, 0, {"obs": (3,)})
    with pytest.raises(TypeError):
        ch.send(1, 0, (1.0, 2, 0.5))
    assert ch.n_messages == 1


def test_message_batch_validates_like_messages():
    b = MessageBatch(np.array([1.0, 2.0]), np.array([1, 3]), np.array([0.0, -1.0]))
    assert len(b) == 2
    with pytest.raises(MessageError, match="duration"):
        MessageBatch(np.array([1.0]), np.array([0]), np.array([0.0]))
    with pytest.raises(MessageError, match="value"):
        MessageBatch(np.array([np.nan]), np.array([1]), np.array([0.0]))
    with pytest.raises(MessageError, match="reward"):
        MessageBatch(np.array([1.0]), np.array([1]), np.array([np.inf]))
    with pytest.raises(MessageError):
        MessageBatch(np.array([1.0, 2.0]), np.array([1]), np.array([0.0]))


def test_message_batch_keeps_checks_on_float_durations_and_concatenates():
    with pytest.raises(MessageError, match="duration"):
        MessageBatch(np.array([1.0]), np.array([1.5]), np.array([0.0]))
    with pytest.raises(MessageError, match="duration"):
        MessageBatch(np.array([1.0]), np.array([np.nan]), np.array([0.0]))
    ok = MessageBatch(np.array([1.0]), np.array([2.0]), np.array([0.0]))
    assert ok.duration.dtype == np.int64 and ok.duration[0] == 2
    a = MessageBatch(np.array([1.0, 2.0]), np.array([1, 2]), np.array([0.1, 0.2]))
    b = MessageBatch(np.array([3.0]), np.array([3]), np.array([0.3]))
    joined = MessageBatch.concatenate([a, b])
    assert type(joined) is MessageBatch and joined.value.tolist() == [1.0, 2.0, 3.0]
    assert joined.duration.tolist() == [1, 2, 3] and joined.reward.tolist() == [0.1, 0.2, 0.3]
    assert MessageBatch.concatenate([a]) is a


def _reference_deliveries(receivers, senders, keys, value):
    """What the loop must deliver: per receiver, its replies grouped by sender (ascending),
    each group in round order."""
    out = {}
    for i in sorted(set(receivers.tolist())):
        rows = [r for j in sorted(set(senders[receivers == i].tolist()))
                for r in np.flatnonzero((receivers == i) & (senders == j))]
        out[i] = (keys[rows].tolist(), value[rows].tolist())
    return out


def test_deliver_replies_sends_one_batch_per_pair_in_a_fixed_order():
    rng = np.random.default_rng(0)
    n, m = 4, 500
    receivers, senders = rng.integers(n, size=m), rng.integers(n, size=m)
    keys = rng.permutation(m)
    value, duration, reward = rng.standard_normal(m), rng.integers(1, 9, size=m), rng.standard_normal(m)
    seen = []
    ch = Channel(lambda s, d, p: seen.append((s, d, len(p))))
    got = deliver_replies(ch, receivers, senders, keys, value, duration, reward)
    assert ch.n_messages == m and sum(c for _, _, c in seen) == m
    pairs = [(s, d) for s, d, _ in seen]
    assert len(pairs) == len(set(pairs)) == len(set(zip(senders.tolist(), receivers.tolist())))
    want = _reference_deliveries(receivers, senders, keys, value)
    assert [d.agent for d in got] == sorted(want)
    for d in got:
        assert (d.keys.tolist(), d.messages.value.tolist()) == want[d.agent]
        assert np.array_equal(d.messages.duration, duration[d.rows])
        assert np.array_equal(d.keys, keys[d.rows])
    assert deliver_replies(ch, np.zeros(0, int), np.zeros(0, int), keys[:0], value[:0], duration[:0],
                           reward[:0]) == []
