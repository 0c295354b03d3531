import numpy as np
import pytest

from handoffq.core.channel import Channel, MessageBatch
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
