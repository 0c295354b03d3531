"""View encoding: the tabular vocabulary and numeric vectors."""

from __future__ import annotations

import numpy as np
import pytest

from handoffq.router import RouterError
from handoffq.router.views import Vocabulary, encode_vector, view_from_json, view_to_json


def test_vocabulary_grows_and_stores_plain_python_values():
    v = Vocabulary("a", max_views=3)
    assert v.add((np.int64(1), "x")) == 0 and v.get((1, "x")) == 0
    assert v.views[0] == (1, "x") and type(v.views[0][0]) is int
    assert v.add(("y", (None, 2.5))) == 1 and v.add((1, "x")) == 0
    v.add(True)
    with pytest.raises(RouterError, match="vocabulary is full"):
        v.add("z")
    w = Vocabulary("a", 3)
    w.load(v.state())
    assert w.views == v.views and w.get(("y", (None, 2.5))) == 1


@pytest.mark.parametrize(("view", "match"), [({"a": 1}, "unhashable dict"), ([1], "unhashable list")])
def test_unhashable_views_name_the_agent(view, match):
    with pytest.raises(RouterError, match=f"agent 'a'.*{match}"):
        Vocabulary("a", 5).get(view)


@pytest.mark.parametrize("view", [frozenset({1}), float("nan"), (1, object())])
def test_views_that_could_not_be_saved_are_refused(view):
    with pytest.raises(RouterError, match="agent 'a'"):
        Vocabulary("a", 5).add(view)


def test_json_round_trip_keeps_tuples():
    view = ((1, 2), "s", None, True, 0.5)
    assert view_from_json(view_to_json(view)) == view


def test_vectors_are_checked():
    assert encode_vector("m", np.array([1, 2.5]), 2) == (1.0, 2.5)
    for bad, match in (([[1.0]], "1-D"), ([1.0], "expected 2"), (["x", "y"], "not a numeric vector"),
                       ([1.0, float("inf")], "non-finite")):
        with pytest.raises(RouterError, match=match):
            encode_vector("m", bad, 2)
