import math

import pytest

from handoffq.core.messages import HandoffMessage, MessageError


def test_message_holds_exactly_three_numbers():
    m = HandoffMessage(1.5, 3, -0.25)
    assert m.as_tuple() == (1.5, 3, -0.25)
    assert len(m.__slots__) == 3
    with pytest.raises(AttributeError):
        m.value = 2.0  # immutable


def test_integral_float_duration_is_accepted():
    assert HandoffMessage(0.0, 2.0, 0.0).duration == 2


@pytest.mark.parametrize(
    "value,duration,reward,field",
    [
        (math.nan, 1, 0.0, "value"),
        (math.inf, 1, 0.0, "value"),
        (0.0, 0, 0.0, "duration"),
        (0.0, -1, 0.0, "duration"),
        (0.0, 1.5, 0.0, "duration"),
        (0.0, math.nan, 0.0, "duration"),
        (0.0, 1, math.nan, "reward"),
        (0.0, 1, -math.inf, "reward"),
        ("1", 1, 0.0, "value"),
        (0.0, True, 0.0, "duration"),
    ],
)
def test_invalid_messages_name_the_field(value, duration, reward, field):
    with pytest.raises(MessageError, match=field):
        HandoffMessage(value, duration, reward)
