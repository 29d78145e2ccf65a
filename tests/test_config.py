"""Config JSON and URL query: round trips, and every rejection is one line that names the
field. Arbitrary input either loads or raises SpecError, never another exception."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from inception_viz.config import (
    CONFIG_KEYS,
    MAX_CONFIG_BYTES,
    QUERY_KEYS,
    dumps_config,
    load_config_file,
    loads_config,
    spec_from_config,
    spec_from_query,
    spec_to_config,
    spec_to_query,
)
from inception_viz.counter import analyze, min_input_side
from inception_viz.presets import PRESET_NAMES, googlenet, preset
from inception_viz.spec import WIDTH_KEYS, ModelSpec, SpecError

BLOCK_NAMES = googlenet().block_names


def assert_one_line(exc: BaseException) -> str:
    msg = str(exc)
    assert msg and "\n" not in msg and len(msg) < 400, msg
    assert "Traceback" not in msg
    return msg


# ---------------------------------------------------------------------------------------
# strategies


@st.composite
def valid_specs(draw):
    """A preset with some blocks edited (zeros included), and options changed."""
    spec = preset(draw(st.sampled_from(PRESET_NAMES)))
    for b in spec.blocks:
        if draw(st.integers(0, 3)) == 0:
            keys = draw(st.lists(st.sampled_from(WIDTH_KEYS), min_size=1, max_size=6, unique=True))
            spec = spec.with_block(b.name, **{k: draw(st.integers(0, 512)) for k in keys})
    opts = {}
    if draw(st.booleans()):
        lo = min_input_side(spec) or 1
        opts["input_shape"] = (
            draw(st.integers(lo, 300)),
            draw(st.integers(lo, 300)),
            draw(st.integers(1, 64)),
        )
    if spec.classes and draw(st.booleans()):
        opts["classes"] = draw(st.integers(1, 100_000))
    if draw(st.booleans()):
        opts["lrn"] = draw(st.booleans())
    if draw(st.booleans()):
        opts["aux"] = draw(st.booleans())
    spec = spec.with_options(**opts) if opts else spec
    try:
        analyze(spec)
    except SpecError:
        assume(False)
    return spec


json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.integers(-2, 5000)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_leaf,
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=12,
)


def _near(keys):
    """Mostly the real keys, sometimes anything."""
    return st.sampled_from(keys) | st.text(max_size=10)


@st.composite
def mutated_configs(draw):
    """Config-shaped dicts whose values are sometimes anything: reaches every check."""
    cfg = {}
    if draw(st.integers(0, 9)):
        cfg["preset"] = draw(st.sampled_from(PRESET_NAMES) | json_values)
    if draw(st.booleans()):
        blocks = draw(
            st.dictionaries(
                _near(BLOCK_NAMES),
                st.dictionaries(_near(WIDTH_KEYS), st.integers(-3, 600) | json_values, max_size=6)
                | json_values,
                max_size=3,
            )
            | json_values
        )
        cfg["blocks"] = blocks
    if draw(st.booleans()):
        cfg["input_shape"] = draw(st.lists(st.integers(-2, 5000) | json_values, max_size=4) | json_values)
    if draw(st.booleans()):
        cfg["classes"] = draw(st.integers(-2, 200_000) | json_values)
    for flag in ("lrn", "aux"):
        if draw(st.booleans()):
            cfg[flag] = draw(st.booleans() | json_values)
    if draw(st.integers(0, 9)) == 0:
        cfg[draw(st.text(max_size=8))] = draw(json_values)
    return cfg


# ---------------------------------------------------------------------------------------
# round trips


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_preset_round_trips(name):
    spec = preset(name)
    assert spec_to_config(spec) == {"preset": name}  # minimal: nothing differs
    assert spec_to_query(spec) == {"preset": name}
    assert spec_from_config(spec_to_config(spec)) == spec
    assert spec_from_query(spec_to_query(spec)) == spec
    assert loads_config(dumps_config(spec)) == spec
    assert loads_config(dumps_config(spec).encode()) == spec
    assert dumps_config(spec) == dumps_config(preset(name))  # stable text


def test_dumps_is_complete():
    cfg = json.loads(dumps_config(googlenet()))
    assert cfg["preset"] == "googlenet"
    assert cfg["blocks"]["inception_3a"] == dict(zip(WIDTH_KEYS, (64, 96, 128, 16, 32, 32)))
    assert len(cfg["blocks"]) == 9
    assert cfg["input_shape"] == [224, 224, 3] and cfg["classes"] == 1000
    assert cfg["lrn"] is True and cfg["aux"] is False
    assert set(cfg) <= set(CONFIG_KEYS)


def test_issue_example_config():
    text = (
        '{"preset": "googlenet", "blocks": {"inception_3a": {"3x3": 256, "5x5_reduce": 0}},'
        ' "input_shape": [224, 224, 3], "classes": 1000}'
    )
    spec = loads_config(text)
    assert spec.block("inception_3a").widths == {
        "1x1": 64, "3x3_reduce": 96, "3x3": 256, "5x5_reduce": 0, "5x5": 32, "pool_proj": 32,
    }  # fmt: skip
    assert spec_to_config(spec) == {"preset": "googlenet", "blocks": {"inception_3a": {"3x3": 256, "5x5_reduce": 0}}}
    q = spec_to_query(spec)
    assert q == {"preset": "googlenet", "inception_3a": "64-96-256-0-32-32"}
    assert spec_from_query(q) == spec


def test_query_format():
    spec = googlenet().with_options(input_shape=(160, 128, 1), classes=10, lrn=False, aux=True)
    q = spec_to_query(spec)
    assert q == {"preset": "googlenet", "input": "160x128x1", "classes": "10", "lrn": "0", "aux": "1"}
    assert spec_from_query(q) == spec
    # repeated parameters arrive as lists: the last wins
    assert spec_from_query({"preset": ["block", "googlenet"], "classes": ["5", "10"]}) == googlenet().with_options(
        classes=10
    )
    assert spec_from_query({}) == googlenet()


@settings(max_examples=25, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(valid_specs())
def test_round_trips_edited_specs(spec):
    cfg = spec_to_config(spec)
    assert spec_from_config(cfg) == spec
    assert spec_from_config(json.loads(json.dumps(cfg))) == spec
    assert loads_config(dumps_config(spec)) == spec
    assert spec_from_query(spec_to_query(spec)) == spec
    assert all(isinstance(v, str) for v in spec_to_query(spec).values())
    # minimal: every block listed differs from the preset in every width listed
    base = preset(spec.preset)
    for name, widths in cfg.get("blocks", {}).items():
        assert widths and all(base.block(name).widths[k] != v for k, v in widths.items())


def test_load_config_file(tmp_path):
    p = tmp_path / "m.json"
    spec = googlenet().with_block("inception_4c", **{"1x1": 0})
    p.write_text(dumps_config(spec), encoding="utf-8")
    assert load_config_file(p) == spec
    assert load_config_file(str(p)) == spec
    # a BOM from a Windows editor is not an error
    p.write_bytes(b"\xef\xbb\xbf" + json.dumps({"preset": "block"}).encode())
    assert load_config_file(p) == preset("block")
    for path, field in (
        (tmp_path / "missing.json", "cannot read"),
        (tmp_path, "cannot read"),
    ):
        with pytest.raises(SpecError, match=field) as info:
            load_config_file(path)
        assert_one_line(info.value)
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (MAX_CONFIG_BYTES + 1))
    with pytest.raises(SpecError, match="limit") as info:
        load_config_file(big)
    assert_one_line(info.value)


# ---------------------------------------------------------------------------------------
# rejections


G = {"preset": "googlenet"}

REJECTIONS = [
    ([], "JSON object"),
    ("googlenet", "JSON object"),
    ({}, "preset"),
    ({"preset": "resnet"}, "preset must be one of googlenet, simplified, block, naive"),
    ({"preset": 3}, "preset"),
    ({**G, "model": 1}, "unknown config key \"model\"; allowed: preset, blocks"),
    ({**G, "blocks": []}, "blocks must be an object"),
    ({**G, "blocks": {"inception_9z": {}}}, "inception_9z"),
    ({"preset": "block", "blocks": {"inception_3b": {}}}, "allowed: inception_3a"),
    ({**G, "blocks": {"inception_3a": 5}}, "blocks.inception_3a must be an object"),
    ({**G, "blocks": {"inception_3a": {"7x7": 1}}}, "unknown width \"7x7\"; allowed: 1x1, 3x3_reduce"),
    ({**G, "blocks": {"inception_3a": {"3x3": -1}}}, "blocks.inception_3a.3x3 must be from 0 to 65536"),
    ({**G, "blocks": {"inception_3a": {"3x3": 70000}}}, "blocks.inception_3a.3x3"),
    ({**G, "blocks": {"inception_3a": {"3x3": 1.5}}}, "blocks.inception_3a.3x3 must be a whole number"),
    ({**G, "blocks": {"inception_3a": {"3x3": "64"}}}, "blocks.inception_3a.3x3"),
    ({**G, "blocks": {"inception_3a": {"3x3": True}}}, "blocks.inception_3a.3x3"),
    ({**G, "blocks": {"inception_3a": {"3x3": None}}}, "blocks.inception_3a.3x3"),
    ({**G, "input_shape": [224, 224]}, "input_shape must be a list of 3 numbers"),
    ({**G, "input_shape": "224x224x3"}, "input_shape"),
    ({**G, "input_shape": [0, 224, 3]}, "input_shape height"),
    ({**G, "input_shape": [224, 224.0, 3]}, "input_shape width"),
    ({**G, "input_shape": [224, 224, 65]}, "input_shape channels"),
    ({**G, "input_shape": [224, 5000, 3]}, "input_shape width"),
    ({**G, "input_shape": [8, 8, 3]}, "pool3"),
    ({**G, "input_shape": [8, 8, 3]}, "31x31"),
    ({**G, "classes": 0}, "classes"),
    ({**G, "classes": "10"}, "classes"),
    ({**G, "classes": 10**6}, "classes must be from 1 to 100000"),
    ({**G, "lrn": "yes"}, "lrn must be true or false"),
    ({**G, "aux": 1}, "aux must be true or false"),
    ({**G, "aux": None}, "aux"),
]


@pytest.mark.parametrize("cfg, field", REJECTIONS, ids=[str(i) for i in range(len(REJECTIONS))])
def test_rejections_name_the_field(cfg, field):
    with pytest.raises(SpecError) as info:
        spec_from_config(cfg)
    assert field in assert_one_line(info.value)
    # the same through JSON text
    with pytest.raises(SpecError) as info:
        loads_config(json.dumps(cfg))
    assert field in assert_one_line(info.value)


@pytest.mark.parametrize(
    "text, field",
    [
        ("{", "not valid JSON"),
        ("", "not valid JSON"),
        ('{"preset": "googlenet",}', "line 1"),
        (b"\xff\xfe{}", "UTF-8"),
        ("[" * 100_000, "nested too deeply"),
        ('{"preset": "googlenet", "classes": ' + "9" * 5000 + "}", "too long"),
        (" " * (MAX_CONFIG_BYTES + 1), "limit"),
        (b" " * (MAX_CONFIG_BYTES + 1), "limit"),
        ('{"preset": "googlenet", "classes": NaN}', "classes"),
        ('{"preset": "googlenet", "classes": 1e3}', "classes"),
    ],
)
def test_text_rejections(text, field):
    with pytest.raises(SpecError) as info:
        loads_config(text)
    assert field in assert_one_line(info.value)


@pytest.mark.parametrize(
    "params, field",
    [
        ({"preset": "resnet"}, "preset"),
        ({"inception_9z": "1-1-1-1-1-1"}, "URL parameter 'inception_9z': no such block in preset googlenet"),
        ({"inception_3a": "1-2-3"}, "inception_3a needs 6 widths"),
        ({"inception_3a": "1-2-3-4-5-x"}, "inception_3a pool_proj"),
        ({"inception_3a": "1-2-3-4-5-\u00b2"}, "inception_3a pool_proj"),  # "²".isdigit() is True
        ({"inception_3a": "1-2-3-4-5--1"}, "inception_3a"),
        ({"inception_3a": "1-2-3-4-5-99999999999"}, "inception_3a pool_proj"),
        ({"inception_3a": "1-2-3-4-5-70000"}, "blocks.inception_3a.pool_proj"),
        ({"input": "224x224"}, "input must look like 224x224x3"),
        ({"input": "8x8x3"}, "pool3"),
        ({"input": "axbxc"}, "input"),
        ({"classes": "0"}, "classes"),
        ({"classes": "-3"}, "classes"),
        ({"lrn": "true"}, "lrn must be 0 or 1"),
        ({"aux": "2"}, "aux must be 0 or 1"),
        ({"preset": "block", "inception_4a": "1-1-1-1-1-1"}, "inception_4a"),
    ],
)
def test_query_rejections(params, field):
    with pytest.raises(SpecError) as info:
        spec_from_query(params)
    assert field in assert_one_line(info.value)


# ---------------------------------------------------------------------------------------
# fuzzing: load or SpecError, nothing else


def _loads_or_spec_error(fn, arg):
    try:
        spec = fn(arg)
    except SpecError as exc:
        assert_one_line(exc)
        return None
    assert isinstance(spec, ModelSpec)
    analyze(spec)  # whatever loads can be analysed
    return spec


@settings(max_examples=150)
@given(json_values)
def test_arbitrary_json_values(value):
    _loads_or_spec_error(spec_from_config, value)
    try:
        text = json.dumps(value)
    except ValueError:
        return
    _loads_or_spec_error(loads_config, text)


@settings(max_examples=200)
@given(mutated_configs())
def test_mutated_configs(cfg):
    spec = _loads_or_spec_error(spec_from_config, cfg)
    if spec is not None:  # what loaded saves and reloads to the same spec
        assert spec_from_config(spec_to_config(spec)) == spec
    _loads_or_spec_error(loads_config, json.dumps(cfg, allow_nan=True))


@settings(max_examples=100)
@given(st.text(max_size=60) | st.binary(max_size=60))
def test_arbitrary_text(text):
    _loads_or_spec_error(loads_config, text)


@settings(max_examples=150)
@given(
    st.dictionaries(
        _near((*QUERY_KEYS, *BLOCK_NAMES)),
        st.text(max_size=24)
        | st.sampled_from(PRESET_NAMES)
        | st.builds(lambda ws: "-".join(map(str, ws)), st.lists(st.integers(-1, 300), min_size=5, max_size=7))
        | st.lists(st.text(max_size=6), max_size=2),
        max_size=4,
    )
)
def test_arbitrary_query(params):
    spec = _loads_or_spec_error(spec_from_query, params)
    if spec is not None:
        assert spec_from_query(spec_to_query(spec)) == spec


def test_the_apps_view_parameter_is_not_part_of_the_model():
    """The app adds ``&view=<key>`` to the address; the model's parser ignores it (any
    value), and ``spec_to_query`` never writes it."""
    spec = googlenet().with_block("inception_3a", **{"3x3": 256})
    q = spec_to_query(spec)
    assert "view" not in q
    for view in ("graph", "nonsense", ["graph", "paper"]):
        assert spec_from_query({**q, "view": view}) == spec


def test_file_stem_names_the_model_and_its_edit():
    """The config download was always googlenet.json, edited or not."""
    import hashlib
    import json

    from inception_viz.config import file_stem, spec_to_config

    g = preset("googlenet")
    assert file_stem(g) == "googlenet" and file_stem(preset("naive")) == "naive"
    a = g.with_block("inception_3a", **{"3x3": 256})
    b = g.with_block("inception_3a", **{"3x3": 255})
    digest = hashlib.sha256(json.dumps(spec_to_config(a), sort_keys=True).encode()).hexdigest()[:8]
    assert file_stem(a) == f"googlenet-edited-{digest}"
    assert file_stem(a) != file_stem(b) and file_stem(a) == file_stem(g.with_block("inception_3a", **{"3x3": 256}))
    assert file_stem(g.with_options(input_shape=(200, 300, 3))).startswith("googlenet-edited-")
