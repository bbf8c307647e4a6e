"""Property-based tests: random and malformed specs never crash, hang or leave partial output."""

from __future__ import annotations

import json
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from starling_env.builder.failures import FailureKind
from starling_env.builder.verify import Limits
from starling_env.collection import load_manifest
from starling_env.collection.publish import build_and_publish
from starling_env.spec import GameSpec, SpecError

from .conftest import SEED_EXAMPLES

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 200),
    st.text(max_size=30),
    st.sampled_from(["kitchen", "pot", "held(pot)", "state(pot, water) == boiling", '"]; [', "open cupboard", ""]),
)
json_value = st.recursive(
    json_leaf,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
HOSTILE = ['say "x" instead', "[bold type]", "line\nbreak", "\x00\x07", "é ü", "{", "all", "a" * 300, "north"]


@settings(max_examples=200, deadline=None)
@given(json_value)
def test_any_json_value_is_either_a_spec_or_a_spec_error(value):
    try:
        GameSpec.from_data(value)
    except SpecError as exc:
        assert exc.errors and all(path.startswith("$") for path, _ in exc.errors)


def _paths(node, prefix=()):
    """Every (path) to a value inside a JSON document."""
    yield prefix
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _paths(child, prefix + (key,))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from _paths(child, prefix + (i,))


@st.composite
def mutated_specs(draw) -> str:
    data = json.loads(draw(st.sampled_from(SEED_EXAMPLES)).read_text())
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(data) if p]
        path = draw(st.sampled_from(paths))
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        op = draw(st.sampled_from(["delete", "replace", "hostile", "duplicate"]))
        if op == "delete":
            del parent[path[-1]]
        elif op == "replace":
            parent[path[-1]] = draw(json_leaf)
        elif op == "hostile":
            parent[path[-1]] = draw(st.sampled_from(HOSTILE))
        elif isinstance(parent, list):
            parent.append(parent[path[-1]])
    return json.dumps(data)


@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(mutated_specs())
def test_mutated_specs_get_a_report_within_the_limit_and_publish_all_or_nothing(tmp_path_factory, spec_text):
    collection = tmp_path_factory.mktemp("games")
    started = time.monotonic()
    report, entry = build_and_publish(spec_text, collection, Limits(timeout_s=60, walks=1, walk_length=15))
    assert time.monotonic() - started < 60 + 15
    assert report.passed == (entry is not None)
    assert report.passed or report.failures
    assert FailureKind.internal_error not in report.kinds, report.summary()
    games = sorted(p.name for p in collection.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert list((collection / ".staging").iterdir()) == []
    if entry is None:
        assert games == [] and not (collection / "manifest.json").exists()
    else:
        assert games == [entry.id] and [g.id for g in load_manifest(collection).games] == [entry.id]
