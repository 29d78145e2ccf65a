"""Bad input, everywhere it can enter (issue 6): widths, configs (file, upload bytes, URL),
images, weights, DOT labels.

The contract for every bad input: a :class:`SpecError` (a ``ValueError``) whose message is
ONE line that says what to change; on the CLI one line on stderr and exit status 2, no
traceback. Hypothesis feeds the parsers arbitrary JSON and query strings: the only outcomes
allowed are a valid spec or a one-line ``SpecError``.
"""

from __future__ import annotations

import re

import json
import shutil
import os
import string
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from inception_viz import limits
from inception_viz.cli import main
from inception_viz.config import (
    MAX_CONFIG_BYTES,
    dumps_config,
    load_config_file,
    loads_config,
    spec_from_config,
    spec_from_query,
    spec_to_config,
    spec_to_query,
)
from inception_viz.counter import analyze
from inception_viz.edits import apply_table_edits
from inception_viz.presets import PRESET_NAMES, preset
from inception_viz.spec import MAX_WIDTH, WIDTH_KEYS, SpecError
from inception_viz.views import sidebar

ROOT = Path(__file__).resolve().parents[1]
GOOGLENET = preset("googlenet")


def one_line_error(fn, *args, match: str | None = None, **kwargs) -> str:
    """Run ``fn``; it must raise SpecError with a one-line message (containing ``match``)."""
    with pytest.raises(SpecError) as info:
        fn(*args, **kwargs)
    msg = str(info.value)
    assert msg and "\n" not in msg and "\r" not in msg, repr(msg)
    assert len(msg) < 400, f"message too long ({len(msg)} chars): {msg[:100]}..."
    assert "Traceback" not in msg
    if match is not None:
        assert match in msg, msg
    return msg


def cli_bad(capsys, *args: str, match: str | None = None) -> str:
    """The CLI in-process: exit 2, exactly one line on stderr, nothing on stdout."""
    rc = main(list(args))
    out, err = capsys.readouterr()
    assert rc == 2, (rc, err)
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("error: "), repr(err)
    if match is not None:
        assert match in err, err
    return err


# ---------------------------------------------------------------------------------------
# widths


@pytest.mark.parametrize(
    "value, match",
    [
        (-1, "inception_3a 3x3 must be between 0 and 65536; got -1"),
        (1.5, "inception_3a 3x3 must be a whole number"),
        (128.0, "must be a whole number"),  # a float that looks whole is still refused
        ("128", "must be a whole number"),
        (True, "must be a whole number"),  # bool is an int in Python; never a width
        (None, "must be a whole number"),
        (MAX_WIDTH + 1, "must be between 0 and 65536"),
        (10**30, "must be between 0 and 65536"),
    ],
)
def test_bad_width_is_refused_by_the_counter(value, match):
    spec = GOOGLENET.with_block("inception_3a", **{"3x3": value})
    one_line_error(analyze, spec, match=match)


@pytest.mark.parametrize("value, equal_int", [(64.0, 64), (True, 1), (0.0, 0)])
def test_width_equal_to_a_cached_int_is_still_refused(value, equal_int):
    """64.0 == 64 and True == 1 (same hash), so a spec with such a width used to hit the
    counter's cache of the int spec and be accepted (fixed in counter.analyze: validate
    before the cache lookup)."""
    analyze(GOOGLENET.with_block("inception_3a", **{"1x1": equal_int}))
    one_line_error(analyze, GOOGLENET.with_block("inception_3a", **{"1x1": value}), match="whole number")


def test_unknown_width_name_and_block_name():
    one_line_error(GOOGLENET.with_block, "inception_3a", **{"7x7": 3}, match="unknown width '7x7'")
    one_line_error(GOOGLENET.with_block, "inception_9z", **{"3x3": 3}, match="no block named 'inception_9z'")


def test_block_with_every_width_zero_passes_its_input_through():
    """No block can have "no output": with every width 0 the pool branch passes the block's
    input unprojected (spec docstring), so the output has the input's channels.
    inception_3a's input is pool2's output, 28x28x192."""
    spec = GOOGLENET.with_block("inception_3a", **{k: 0 for k in WIDTH_KEYS})
    row = analyze(spec).row("inception_3a")
    assert row.output_shape == (28, 28, 192)
    assert row.params == 0


def test_absurd_widths_are_refused_before_building():
    """Every width of inception_4e at its maximum: the 3x3 conv alone has
    3*3*65536*65536 = 38,654,705,664 weights (155 GB in float32): refused by the estimate,
    in microseconds, without TensorFlow."""
    spec = GOOGLENET.with_block("inception_4e", **{k: MAX_WIDTH for k in WIDTH_KEYS})
    assert analyze(spec).row("inception_4e_3x3").weights == 3 * 3 * 65536 * 65536
    msg = one_line_error(limits.check_buildable, spec, match="MB to build; the limit is 4,096 MB")
    assert limits.ENV_VAR in msg and "reduce widths or the input size" in msg


def test_huge_input_is_refused_before_building():
    spec = GOOGLENET.with_options(input_shape=(4096, 4096, 3))
    one_line_error(limits.check_buildable, spec, match="needs about")


def test_memory_estimate_arithmetic():
    """googlenet: 6,998,552 params -> 27,994,208 weight bytes; every tensor of a forward
    pass (the counter's forward_values: each layer inside the blocks too, issue 18) x 4
    bytes; total = 2 x both."""
    r = analyze(GOOGLENET)
    est = limits.estimate_memory(GOOGLENET)
    assert est.weight_bytes == 4 * 6_998_552 == 27_994_208
    assert est.activation_bytes == 4 * r.forward_values > 4 * r.total_activations
    assert est.total_bytes == 2 * 27_994_208 + 2 * 4 * r.forward_values + 4 * r.conv_workspace_values
    # the largest conv's input + output is conv1's: 224 x 224 x 3 in, 112 x 112 x 64 out
    assert r.conv_workspace_values == 224 * 224 * 3 + 112 * 112 * 64 == 953_344
    assert limits.estimate_memory(GOOGLENET, batch=8).activation_bytes == 8 * est.activation_bytes
    assert limits.check_buildable(GOOGLENET) == est  # the paper's model fits the default


def test_limit_comes_from_the_environment(monkeypatch):
    est = limits.estimate_memory(GOOGLENET)
    monkeypatch.setenv(limits.ENV_VAR, str(est.total_mb - 1))
    one_line_error(limits.check_buildable, GOOGLENET, match=f"the limit is {est.total_mb - 1:,} MB")
    monkeypatch.setenv(limits.ENV_VAR, str(est.total_mb))
    assert limits.check_buildable(GOOGLENET) == est
    monkeypatch.delenv(limits.ENV_VAR)
    assert limits.max_model_mb() == limits.DEFAULT_MAX_MODEL_MB == 4096


@pytest.mark.parametrize("raw", ["abc", "-5", "0", "1.5", "4 GB", "²", "9" * 20])
def test_malformed_limit_in_the_environment_is_an_error(monkeypatch, raw):
    monkeypatch.setenv(limits.ENV_VAR, raw)
    one_line_error(limits.check_buildable, GOOGLENET, match=limits.ENV_VAR)


@pytest.mark.parametrize("batch", [0, -1, 1.5, "2", True])
def test_bad_batch_for_the_estimate(batch):
    one_line_error(limits.estimate_memory, GOOGLENET, batch, match="batch")


def test_build_keras_refuses_over_the_limit(monkeypatch):
    """The builder checks the estimate first: with a 1 MB limit even the block preset is
    refused, and no Keras layer is created (the error comes before TensorFlow work)."""
    keras_model = pytest.importorskip("inception_viz.keras_model")
    monkeypatch.setenv(limits.ENV_VAR, "1")
    one_line_error(keras_model.build_keras, preset("block"), match="the limit is 1 MB")


# ---------------------------------------------------------------------------------------
# configs: JSON text, upload bytes, files, URL query


BAD_CONFIGS = [
    ("", "not valid JSON"),
    ("{", "not valid JSON"),
    ("{'preset': 'googlenet'}", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ("null", "must be a JSON object"),
    ('"googlenet"', "must be a JSON object"),
    ("{}", 'needs a "preset"'),
    ('{"preset": "resnet"}', "preset must be one of googlenet, simplified, block, naive"),
    ('{"preset": 5}', "preset must be one of"),
    ('{"preset": "googlenet", "colour": "red"}', "unknown config key \"colour\""),
    ('{"preset": "googlenet", "blocks": []}', "blocks must be an object"),
    ('{"preset": "googlenet", "blocks": {"inception_9z": {}}}', "no block \"inception_9z\""),
    ('{"preset": "googlenet", "blocks": {"inception_3a": 5}}', "blocks.inception_3a must be an object"),
    ('{"preset": "googlenet", "blocks": {"inception_3a": {"7x7": 5}}}', "unknown width \"7x7\""),
    ('{"preset": "googlenet", "blocks": {"inception_3a": {"3x3": -1}}}', "blocks.inception_3a.3x3 must be from 0 to 65536"),
    ('{"preset": "googlenet", "blocks": {"inception_3a": {"3x3": "wide"}}}', "must be a whole number"),
    ('{"preset": "googlenet", "blocks": {"inception_3a": {"3x3": 2.5}}}', "must be a whole number"),
    ('{"preset": "googlenet", "blocks": {"inception_3a": {"3x3": 1e400}}}', "must be a whole number"),
    ('{"preset": "googlenet", "blocks": {"inception_3a": {"3x3": NaN}}}', "must be a whole number"),
    ('{"preset": "googlenet", "input_shape": [224, 224]}', "input_shape must be a list of 3 numbers"),
    ('{"preset": "googlenet", "input_shape": [224, 224, 3, 1]}', "input_shape must be a list of 3 numbers"),
    ('{"preset": "googlenet", "input_shape": 224}', "input_shape must be a list of 3 numbers"),
    ('{"preset": "googlenet", "input_shape": "224x224x3"}', "input_shape must be a list of 3 numbers"),
    ('{"preset": "googlenet", "input_shape": [224, 224, 0]}', "input_shape channels must be from 1 to 64"),
    ('{"preset": "googlenet", "input_shape": [0, 224, 3]}', "input_shape height must be from 1 to 4096"),
    ('{"preset": "googlenet", "input_shape": [5000, 224, 3]}', "input_shape height must be from 1 to 4096"),
    # the stem cannot take it: the layer where the size reaches 0 is named
    ('{"preset": "googlenet", "input_shape": [8, 8, 3]}', "input 8x8 is too small for googlenet"),
    ('{"preset": "googlenet", "classes": 0}', "classes must be from 1 to 100000"),
    ('{"preset": "googlenet", "classes": "ten"}', "classes must be a whole number"),
    ('{"preset": "googlenet", "lrn": "yes"}', "lrn must be true or false"),
    ('{"preset": "googlenet", "aux": 1}', "aux must be true or false"),
    # found while writing these tests (fixed in config.py): used to escape as
    # RecursionError / ValueError (no SpecError, a traceback on the CLI)
    ("[" * 100_000, "nested too deeply"),
    ('{"preset": "googlenet", "classes": ' + "9" * 5000 + "}", "number too long"),
]


@pytest.mark.parametrize("text, match", BAD_CONFIGS, ids=[f"c{i}" for i in range(len(BAD_CONFIGS))])
def test_bad_config_text(text, match):
    one_line_error(loads_config, text, match=match)


@pytest.mark.parametrize("text, match", BAD_CONFIGS, ids=[f"c{i}" for i in range(len(BAD_CONFIGS))])
def test_bad_config_upload_bytes(text, match):
    one_line_error(loads_config, text.encode(), match=match)


def test_too_small_input_names_the_layer():
    msg = one_line_error(loads_config, '{"preset": "googlenet", "input_shape": [8, 8, 3]}')
    assert "at layer '" in msg and "the smallest square input it takes is" in msg


def test_upload_bytes_that_are_not_text_or_too_big():
    one_line_error(loads_config, b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", match="not UTF-8 text")
    one_line_error(loads_config, b" " * (MAX_CONFIG_BYTES + 1), match="the limit is 262,144")
    one_line_error(loads_config, " " * (MAX_CONFIG_BYTES + 1), match="the limit is 262,144")


def test_config_with_a_byte_order_mark_is_read():
    """Windows editors save UTF-8 with a BOM; such a file used to be refused as 'not valid
    JSON' (fixed in config.py: decode as utf-8-sig)."""
    assert loads_config(b"\xef\xbb\xbf" + b'{"preset": "block"}') == preset("block")


def test_messages_stay_short_whatever_was_uploaded():
    """An uploaded key or value of 200,000 characters gives a short one-line message."""
    one_line_error(loads_config, '{"' + "k" * 200_000 + '": 1}', match="unknown config key")
    one_line_error(loads_config, '{"preset": "googlenet", "input_shape": [' + "1," * 50_000 + "1]}")


def test_values_json_cannot_show_still_give_a_message():
    """A Python caller (the app's editor) may pass values JSON cannot encode; the message
    used to crash with TypeError inside json.dumps (fixed in config.py)."""
    one_line_error(spec_from_config, {"preset": "googlenet", "classes": {1, 2}}, match="classes")
    one_line_error(spec_from_config, {"preset": "googlenet", "lrn": object()}, match="lrn")


@pytest.mark.parametrize("text, match", BAD_CONFIGS[:31:3], ids=[f"c{i}" for i in range(0, 31, 3)])
def test_bad_config_file(tmp_path, text, match):
    path = tmp_path / "model.json"
    path.write_text(text)
    one_line_error(load_config_file, path, match=match)


def test_config_file_missing_directory_or_too_big(tmp_path):
    one_line_error(load_config_file, tmp_path / "nope.json", match="cannot read config file")
    one_line_error(load_config_file, tmp_path, match="cannot read config file")
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (MAX_CONFIG_BYTES + 1))
    one_line_error(load_config_file, big, match="the limit is 262,144")


BAD_QUERIES = [
    ({"preset": "resnet"}, "URL parameter preset must be one of"),
    ({"inception_5c": "1-1-1-1-1-1"}, "no such block in preset googlenet"),
    ({"inception_3a": "64-96-128"}, "needs 6 widths"),
    ({"inception_3a": "64-96-128-16-32-32-1"}, "needs 6 widths"),
    ({"inception_3a": "64-96-x-16-32-32"}, "inception_3a 3x3 must be a whole number"),
    ({"inception_3a": "64-96--1-16-32-32"}, "needs 6 widths"),
    ({"inception_3a": "64-96-99999-16-32-32"}, "must be from 0 to 65536"),
    ({"inception_3a": "64-96-1.5-16-32-32"}, "must be a whole number"),
    ({"input": "224x224"}, "input must look like 224x224x3"),
    ({"input": "224x224x3x1"}, "input must look like 224x224x3"),
    ({"input": "8x8x3"}, "input 8x8 is too small for googlenet"),
    ({"input": "224x224x0"}, "channels must be from 1 to 64"),
    ({"classes": "-5"}, "classes must be a whole number"),
    ({"classes": "1e3"}, "classes must be a whole number"),
    ({"classes": "9" * 30}, "classes must be a whole number"),
    ({"lrn": "yes"}, "lrn must be 0 or 1"),
    ({"aux": "2"}, "aux must be 0 or 1"),
    # unicode digits: "²".isdigit() is True but int("²") raised ValueError (fixed in config.py)
    ({"classes": "²"}, "classes must be a whole number"),
    ({"inception_3a": "64-96-128-16-32-³"}, "pool_proj must be a whole number"),
    # a parameter given with no value at all (st.query_params.get_all style list)
    ({"preset": []}, "URL parameter preset must be one of"),
]


@pytest.mark.parametrize("params, match", BAD_QUERIES, ids=[f"q{i}" for i in range(len(BAD_QUERIES))])
def test_bad_url_query(params, match):
    one_line_error(spec_from_query, params, match=match)


def test_repeated_url_parameter_last_one_wins():
    assert spec_from_query({"preset": ["googlenet", "block"]}) == preset("block")


@pytest.mark.parametrize(
    "args, match",
    [
        (("table", "--preset", "resnet"), "unknown preset"),
        (("table", "--config", "/nonexistent/model.json"), "cannot read config file"),
    ],
)
def test_cli_one_line_errors(capsys, args, match):
    err = cli_bad(capsys, *args)
    assert err.strip()


@pytest.mark.parametrize("text, match", BAD_CONFIGS, ids=[f"c{i}" for i in range(len(BAD_CONFIGS))])
def test_cli_bad_config_files(capsys, tmp_path, text, match):
    path = tmp_path / "model.json"
    path.write_text(text)
    cli_bad(capsys, "table", "--config", str(path), match=match)


def test_cli_bad_config_on_stdin_has_no_traceback():
    """The whole program, as a lecturer runs it: one line, exit 2, no traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "inception_viz", "table", "--config", "-"],
        cwd=ROOT, input="[" * 100_000, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr[-500:]
    assert "nested too deeply" in proc.stderr


# ---------------------------------------------------------------------------------------
# hypothesis: config parsing and spec validation accept or refuse, never crash

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True)
    | st.text(max_size=12) | st.sampled_from([*PRESET_NAMES, *GOOGLENET.block_names, *WIDTH_KEYS]),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(
        st.sampled_from(["preset", "blocks", "input_shape", "classes", "lrn", "aux", *GOOGLENET.block_names, *WIDTH_KEYS])
        | st.text(max_size=8),
        children,
        max_size=6,
    ),
    max_leaves=25,
)

widths = st.integers(0, 512)
edits = st.dictionaries(st.sampled_from(WIDTH_KEYS), widths, max_size=6)
config_dicts = st.fixed_dictionaries(
    {"preset": st.sampled_from(PRESET_NAMES)},
    optional={
        "blocks": st.dictionaries(st.sampled_from(GOOGLENET.block_names), edits, max_size=3),
        "input_shape": st.lists(st.integers(-5, 5000), min_size=3, max_size=3) | st.lists(st.integers(1, 300), max_size=5),
        "classes": st.integers(-3, 200_000),
        "lrn": st.booleans(),
        "aux": st.booleans() | st.integers(0, 1),
    },
)


def accepts_or_refuses(fn, *args):
    """``fn(*args)`` returns a spec that analyzes, or raises a one-line SpecError."""
    try:
        spec = fn(*args)
        analyze(spec)
    except SpecError as exc:
        assert "\n" not in str(exc) and 0 < len(str(exc)) < 400, str(exc)[:200]
        return None
    return spec


@given(json_values)
def test_hypothesis_any_json_value_as_config(value):
    accepts_or_refuses(spec_from_config, value)
    accepts_or_refuses(loads_config, json.dumps(value))
    accepts_or_refuses(loads_config, json.dumps(value).encode())


@given(config_dicts)
def test_hypothesis_config_dicts_round_trip(cfg):
    """Every accepted config survives save -> load through the file format and the URL."""
    spec = accepts_or_refuses(spec_from_config, cfg)
    if spec is None:
        return
    assert loads_config(dumps_config(spec)) == spec
    assert spec_from_config(spec_to_config(spec)) == spec
    assert spec_from_query(spec_to_query(spec)) == spec


@given(st.text(max_size=300))
def test_hypothesis_any_text_as_config(text):
    accepts_or_refuses(loads_config, text)


query_keys = st.sampled_from(["preset", "input", "classes", "lrn", "aux", *GOOGLENET.block_names]) | st.text(max_size=6)
query_values = (
    st.text(max_size=20)
    | st.lists(st.integers(-3, 70_000).map(str) | st.text(string.digits + "x-²", max_size=4), min_size=1, max_size=7).map("-".join)
    | st.lists(st.integers(0, 300).map(str), min_size=1, max_size=4).map("x".join)
)


@given(st.dictionaries(query_keys, query_values, max_size=5))
def test_hypothesis_any_url_query(params):
    accepts_or_refuses(spec_from_query, params)


@given(
    st.sampled_from(GOOGLENET.block_names),
    st.sampled_from(WIDTH_KEYS),
    st.integers(-(2**40), 2**40) | st.floats() | st.text(max_size=5) | st.none() | st.booleans(),
)
def test_hypothesis_spec_validation(block, key, value):
    """Any value typed into any width: the counter accepts it (and then the counts are
    non-negative ints) or refuses it with one line; the memory check never crashes."""
    spec = GOOGLENET.with_block(block, **{key: value})
    spec = accepts_or_refuses(lambda: spec)
    if spec is not None:
        r = analyze(spec)
        assert isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_WIDTH
        assert r.total_params >= 0 and r.total_macs >= 0
        try:
            est = limits.check_buildable(spec)
            assert est.total_bytes > 0
        except SpecError as exc:
            assert "MB to build" in str(exc)


# ---------------------------------------------------------------------------------------
# images (inception_viz.images): every bad upload is a one-line SpecError, never a crash,
# never a decoded bomb

images = pytest.importorskip("inception_viz.images")
np = pytest.importorskip("numpy")
from PIL import Image  # noqa: E402


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_header_only(width: int, height: int, depth: int = 8, colour: int = 2) -> bytes:
    """A PNG whose signature and IHDR (with a correct CRC) are valid and claim
    ``width`` x ``height`` pixels, followed by a tiny IDAT and IEND: a decompression bomb's
    header without the bomb."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + png_chunk(b"IEND", b"")
    )


def encoded(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = __import__("io").BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def gradient(w: int = 64, h: int = 48) -> Image.Image:
    x = np.linspace(0, 255, w, dtype=np.uint8)[None, :].repeat(h, 0)
    y = np.linspace(0, 255, h, dtype=np.uint8)[:, None].repeat(w, 1)
    return Image.fromarray(np.stack([x, y, 255 - x], axis=2))


def test_png_header_claiming_billions_of_pixels_is_refused_before_decoding(monkeypatch):
    """IHDR says 100,000 x 100,000 = 10,000,000,000 pixels (30 GB as RGB). It must be
    refused from the header: Image.load (which would allocate) is never reached."""
    data = png_header_only(100_000, 100_000)
    assert len(data) < 100

    def no_load(self, *a, **k):
        raise AssertionError("pixels decoded")

    monkeypatch.setattr(Image.Image, "load", no_load)
    monkeypatch.setattr(Image.core, "new", no_load, raising=False)
    msg = one_line_error(images.decode_image, data, "bomb.png", match="the limit is 50,000,000 pixels")
    assert "10,000,000,000 pixels" in msg


@pytest.mark.parametrize("w, h", [(2**31 - 1, 2**31 - 1), (50_000_001, 1), (7072, 7072)])
def test_png_headers_just_over_or_far_over_the_pixel_limit(w, h):
    """7072 x 7072 = 50,013,184 pixels: just over the 50,000,000 limit (Pillow's own bomb
    guard would only warn here); 2^31-1 squared: far over (Pillow raises its own
    DecompressionBombError, which must still become a SpecError)."""
    one_line_error(images.decode_image, png_header_only(w, h), "big.png", match="50,000,000 pixels")


@pytest.mark.parametrize(
    "data, name, match",
    [
        (b"", "empty.png", "is empty"),
        (b"hello, I am text pretending to be an image\n" * 5, "notes.png", "not a readable image"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "vector.jpg", "not a readable image"),
        (b"\x89PNG\r\n\x1a\n", "signature-only.png", "not a readable image"),
        (b"\xff\xd8\xff", "jpeg-start.jpg", "not a readable image"),
        (b"GIF89a", "gif-start.gif", "not a readable image"),
    ],
)
def test_unreadable_uploads(data, name, match):
    one_line_error(images.decode_image, data, name, match=match)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "BMP", "GIF"])
@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9])
def test_truncated_files_are_refused_or_decoded_never_crash(fmt, keep):
    """A file cut short: a one-line SpecError (or, where the format tolerates it, an RGB
    array of the full size). Never an exception that is not a SpecError."""
    full = encoded(gradient(), fmt)
    data = full[: max(1, int(len(full) * keep))]
    try:
        rgb = images.decode_image(data, f"cut.{fmt.lower()}")
    except SpecError as exc:
        assert "\n" not in str(exc)
        return
    assert rgb.shape == (48, 64, 3) and rgb.dtype == np.uint8


def test_modes_animated_gif_cmyk_16bit_palette():
    base = gradient()
    frames = [base.convert("P"), Image.new("RGB", base.size, (255, 0, 0)).convert("P")]
    gif = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert Image.open(__import__("io").BytesIO(gif)).n_frames == 2
    first = images.decode_image(gif, "anim.gif")
    assert first.shape == (48, 64, 3)
    assert not (first == [255, 0, 0]).all()  # the first frame, not the red second one

    cmyk = images.decode_image(encoded(base.convert("CMYK"), "JPEG", quality=95), "cmyk.jpg")
    assert cmyk.shape == (48, 64, 3)
    assert np.abs(cmyk.astype(int) - np.asarray(base).astype(int)).mean() < 20

    g16 = Image.fromarray((np.arange(64 * 48, dtype=np.uint16).reshape(48, 64) * 21).astype(np.uint16))
    assert g16.mode.startswith("I;16")
    arr16 = images.decode_image(encoded(g16, "PNG"), "deep.png")
    # 16-bit value v becomes round(v / 257): the last pixel 3071 * 21 = 64491 -> 251
    assert arr16.shape == (48, 64, 3) and arr16[-1, -1, 0] == round(64491 / 257) == 251

    pal = images.decode_image(encoded(base.convert("P", palette=Image.Palette.ADAPTIVE), "PNG"), "pal.png")
    assert pal.shape == (48, 64, 3) and pal.dtype == np.uint8


def test_huge_dimensions_within_the_pixel_limit_are_downscaled():
    """6000 x 400 = 2,400,000 pixels is allowed, but the longer side is cut to MAX_SIDE
    (2048) keeping the aspect ratio: 400 * 2048 / 6000 = 136.5 -> 136 or 137."""
    im = Image.new("RGB", (6000, 400), (10, 200, 30))
    rgb = images.decode_image(encoded(im, "PNG"), "wide.png")
    assert rgb.shape[1] == images.MAX_SIDE == 2048
    assert rgb.shape[0] in (136, 137)


def test_upload_over_the_byte_limit_is_refused_before_opening():
    data = b"\x89PNG\r\n\x1a\n" + b"\x00" * images.MAX_UPLOAD_BYTES
    one_line_error(images.decode_image, data, "huge.png", match="the limit is 20.0 MiB")


@given(st.binary(max_size=600))
def test_hypothesis_random_bytes_as_image(data):
    try:
        rgb = images.decode_image(data, "fuzz.bin")
    except SpecError as exc:
        assert "\n" not in str(exc)
        return
    assert rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.dtype == np.uint8


_SEEDS = {fmt: encoded(gradient(16, 12), fmt) for fmt in ("PNG", "JPEG", "GIF", "BMP", "WEBP")}


@given(
    st.sampled_from(sorted(_SEEDS)),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=8),
    st.integers(0, 10_000),
)
def test_hypothesis_corrupted_images(fmt, flips, cut):
    """Valid small images with some bytes overwritten and the tail cut: a SpecError or an
    RGB array, never another exception (Pillow raises many kinds on corrupt data)."""
    data = bytearray(_SEEDS[fmt])
    for pos, value in flips:
        data[pos % len(data)] = value
    data = bytes(data[: max(1, len(data) - cut % len(data))])
    try:
        rgb = images.decode_image(data, f"fuzz.{fmt.lower()}")
    except SpecError as exc:
        assert "\n" not in str(exc)
        return
    assert rgb.ndim == 3 and rgb.shape[2] == 3 and max(rgb.shape[:2]) <= images.MAX_SIDE


# ---------------------------------------------------------------------------------------
# weights: ONNX files and this app's .keras / .weights.h5 files

W = pytest.importorskip("inception_viz.weights")
onnx = pytest.importorskip("onnx")
from onnx import helper as onnx_helper, numpy_helper  # noqa: E402

from inception_viz import onnx_zoo  # noqa: E402


def initializers_only_onnx(arrays: dict) -> bytes:
    """An ONNX model that holds only initializers (what the importer reads), built here
    independently of the project's zoo builder."""
    graph = onnx_helper.make_graph([], "weights", [], [], initializer=[numpy_helper.from_array(a, n) for n, a in arrays.items()])
    return onnx_helper.make_model(graph).SerializeToString()


@pytest.fixture(scope="module")
def zoo_arrays():
    rng = np.random.default_rng(0)
    return {n: rng.normal(0, 0.01, s).astype(np.float32) for n, s in onnx_zoo.expected_shapes(GOOGLENET).items()}


@pytest.fixture(scope="module")
def zoo_file(zoo_arrays):
    return initializers_only_onnx(zoo_arrays)


def test_a_fitting_onnx_file_is_read(zoo_file):
    w = W.load_onnx(zoo_file, "fits.onnx")
    assert w.trained and w.source == "onnx"
    assert sorted(w.by_layer) == sorted(n for n, *_ in onnx_zoo.weighted_layers(GOOGLENET))


@pytest.mark.parametrize("fraction", [0.001, 0.25, 0.5, 0.999])
def test_truncated_onnx(zoo_file, fraction):
    msg = one_line_error(W.load_onnx, zoo_file[: int(len(zoo_file) * fraction)], "cut.onnx")
    assert any(w in msg for w in ("truncated", "missing", "expected shape", "no weights")), msg


@pytest.mark.parametrize(
    "data, match",
    [
        (b"", "is empty"),
        (b"this is a text file, not an ONNX model\n" * 10, "cut.onnx"),
        (b"PK\x03\x04" + bytes(200), "cut.onnx"),  # a zip (.keras) renamed .onnx
        (png_header_only(10, 10), "cut.onnx"),
    ],
)
def test_non_onnx_bytes(data, match):
    one_line_error(W.load_onnx, data, "cut.onnx", match=match)


def test_wrong_shape_names_the_initializer(zoo_arrays):
    arrays = dict(zoo_arrays)
    arrays["inception_4c/3x3_w_0"] = np.zeros((255, 128, 3, 3), np.float32)
    one_line_error(W.load_onnx, initializers_only_onnx(arrays), match="inception_4c/3x3_w_0: expected shape (256, 128, 3, 3), got (255, 128, 3, 3)")
    arrays = dict(zoo_arrays)
    arrays["loss3/classifier_w_0"] = arrays["loss3/classifier_w_0"].T.copy()  # (1024, 1000) instead of (1000, 1024)
    one_line_error(W.load_onnx, initializers_only_onnx(arrays), match="loss3/classifier_w_0: expected shape (1000, 1024)")


def test_missing_or_non_float_initializer_names_it(zoo_arrays):
    arrays = {k: v for k, v in zoo_arrays.items() if k != "inception_5b/pool_proj_b_0"}
    one_line_error(W.load_onnx, initializers_only_onnx(arrays), match="inception_5b/pool_proj_b_0: missing")
    arrays = dict(zoo_arrays)
    arrays["conv1/7x7_s2_b_0"] = np.zeros(64, np.int64)  # right shape, not a float tensor
    one_line_error(W.load_onnx, initializers_only_onnx(arrays), match="conv1/7x7_s2_b_0")


def test_weights_file_kinds_and_paths(tmp_path):
    one_line_error(W.load_weights_file, tmp_path / "model.pkl", match="must end in .onnx, .keras or .weights.h5")
    one_line_error(W.load_weights_file, tmp_path / "missing.onnx", match="does not exist")
    (tmp_path / "empty.keras").write_bytes(b"")
    one_line_error(W.load_weights_file, tmp_path / "empty.keras", match="empty")
    one_line_error(W.load_weights_file, b"not a zip", name="x.keras", match="not a .keras file")
    one_line_error(W.load_weights_file, b"not hdf5", name="x.weights.h5", match="not an HDF5 weights file")


def test_keras_files_are_loaded_with_safe_mode(monkeypatch, tmp_path):
    """Every .keras load goes through keras.saving.load_model(..., safe_mode=True), and only
    after the archive was checked (issue 18): a Lambda layer (Python bytecode) is refused
    before Keras sees it, with or without this app's entry; a file this app saved loads,
    and the call is recorded to check the flag."""
    import zipfile

    keras = pytest.importorskip("keras")
    from inception_viz.config import dumps_config
    from inception_viz.keras_model import build_keras

    inp = keras.Input((3,))
    keras.Model(inp, keras.layers.Lambda(lambda x: x + 1, name="code")(inp)).save(tmp_path / "lambda.keras")
    seen = []
    real = keras.saving.load_model

    def spy(*a, **k):
        seen.append(k.get("safe_mode"))
        return real(*a, **k)

    monkeypatch.setattr(keras.saving, "load_model", spy)
    one_line_error(W.load_weights_file, tmp_path / "lambda.keras", match="only .keras files saved by this app")
    with zipfile.ZipFile(tmp_path / "lambda.keras", "a") as z:  # this app's entry grafted on
        z.writestr("inception_viz.json", json.dumps({"config": json.loads(dumps_config(preset("block")))}))
    one_line_error(W.load_weights_file, tmp_path / "lambda.keras", match="'Lambda'")
    assert seen == []
    spec = preset("block")
    W.save_model_file(build_keras(spec, seed=0), tmp_path / "ok.keras", spec, W.random_weights(0))
    assert W.load_weights_file(tmp_path / "ok.keras").by_layer
    assert seen == [True]


def test_no_module_unpickles_or_loads_unsafely():
    """Static guard over the package and the app: no pickle / marshal / dill / joblib /
    torch.load, no allow_pickle=True, no eval/exec, and every Keras load_model call passes
    safe_mode=True."""
    import re

    sources = {p: p.read_text() for p in [*sorted((ROOT / "inception_viz").rglob("*.py")), ROOT / "app.py"] if p.exists()}
    assert len(sources) > 10
    banned = re.compile(r"\b(import pickle|from pickle|import marshal|import dill|import joblib|import cloudpickle|"
                        r"torch\.load|allow_pickle\s*=\s*True|pickle\.loads?|[^.\w]eval\(|[^.\w]exec\()")
    for path, text in sources.items():
        for m in banned.finditer(text):
            line = text[: m.start()].count("\n") + 1
            pytest.fail(f"{path.name}:{line}: {m.group(0).strip()}")
        for m in re.finditer(r"load_model\(([^)]*)\)", text):
            if "def " in text[max(0, m.start() - 4): m.start()]:
                continue
            assert "safe_mode=True" in m.group(1), f"{path.name}: load_model without safe_mode=True: {m.group(0)}"


@given(st.binary(max_size=400))
def test_hypothesis_random_bytes_as_onnx(data):
    try:
        W.load_onnx(data, "fuzz.onnx")
    except SpecError as exc:
        assert "\n" not in str(exc)
    else:  # pragma: no cover - random bytes cannot hold 116 fitting initializers
        pytest.fail("random bytes accepted as weights")


_SMALL_ONNX = initializers_only_onnx({"conv1/7x7_s2_w_0": np.ones((64, 3, 7, 7), np.float32),
                                      "conv1/7x7_s2_b_0": np.ones(64, np.float32)})


@given(st.lists(st.tuples(st.integers(0, 100_000), st.integers(0, 255)), min_size=1, max_size=10), st.integers(0, 100_000))
def test_hypothesis_corrupted_onnx(flips, cut):
    """A valid ONNX file with bytes overwritten and the tail cut: always a one-line
    SpecError (protobuf and numpy raise many kinds on corrupt data)."""
    data = bytearray(_SMALL_ONNX)
    for pos, value in flips:
        data[pos % len(data)] = value
    data = bytes(data[: max(1, len(data) - cut % len(data))])
    try:
        W.load_onnx(data, "fuzz.onnx")
    except SpecError as exc:
        assert "\n" not in str(exc)
    else:  # pragma: no cover
        pytest.fail("a two-initializer file was accepted as googlenet weights")


# ---------------------------------------------------------------------------------------
# the CLI's image commands: bad images and weights are one line, exit 2, before TensorFlow


@pytest.mark.parametrize(
    "make, args, match",
    [
        (lambda d: d / "notes.png", ("predict", "{f}"), "does not exist"),
        (lambda d: (d / "notes.png").write_text("not an image") and d / "notes.png", ("predict", "{f}"), "not a readable image"),
        (lambda d: (d / "bomb.png").write_bytes(png_header_only(100_000, 100_000)) and d / "bomb.png", ("predict", "{f}"), "50,000,000 pixels"),
        (lambda d: (d / "w.onnx").write_bytes(b"garbage") and d / "w.onnx", ("predict", "cat", "--weights", "{f}"), "w.onnx"),
        (lambda d: d / "w.pkl", ("predict", "cat", "--weights", "{f}"), "must end in .onnx, .keras or .weights.h5"),
        (lambda d: d / "x", ("predict", "cat", "--top", "0"), "--top must be at least 1"),
        (lambda d: d / "x", ("activations", "cat", "--block", "inception_9z", "--out", "{d}"), "inception_9z"),
    ],
    ids=["missing", "text-as-png", "png-bomb", "garbage-onnx", "pickle", "top0", "bad-block"],
)
def test_cli_image_commands_bad_input(capsys, tmp_path, make, args, match):
    if "predict" not in __import__("inception_viz.cli", fromlist=["x"]).build_parser().format_help():
        pytest.skip("the predict command is not registered")
    f = make(tmp_path)
    cli_bad(capsys, *(a.format(f=f, d=tmp_path / "out") for a in args), match=match)


# ---------------------------------------------------------------------------------------
# DOT: names and user text never break the graph

graph = pytest.importorskip("inception_viz.graph")
HOSTILE = [
    'a"b',
    "x\"]; evil [label=\"pwned\"]; y [label=\"",
    "<b>bold</b> & <i>",
    "back\\slash\\n\\l\\N",
    "line\nbreak",
    "{record|field}",
    "<<html>>",
    "ünïcødé → ✓",
    "}",
]


def renamed(spec, block: str, new: str):
    import dataclasses

    from inception_viz.spec import Inception

    layers = tuple(dataclasses.replace(l, name=new) if isinstance(l, Inception) and l.name == block else l for l in spec.layers)
    return dataclasses.replace(spec, layers=layers, name=new, aux_heads=())


def _dot_parses(source: str) -> None:
    import graphviz

    if shutil.which("dot") is None:
        pytest.skip("Graphviz dot is not installed")
    graphviz.Source(source).pipe(format="svg")  # raises CalledProcessError on a syntax error


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_block_and_model_names_are_escaped(name):
    spec = renamed(preset("block"), preset("block").block_names[0], name)
    report = analyze(spec)
    for source in (graph.overview_dot(report), graph.block_dot(report, name)):
        _dot_parses(source)
        assert "pwned\"]" not in source.replace('\\"', "")  # the injected attribute never becomes syntax


def test_control_characters_in_a_name_give_valid_dot():
    spec = renamed(preset("block"), preset("block").block_names[0], "unit\x1fsep")
    _dot_parses(graph.overview_dot(analyze(spec)))


@pytest.mark.parametrize("name", ["", "\t", "\n", "\r", "]", "]]"], ids=["empty", "tab", "newline", "cr", "bracket", "brackets"])
def test_blank_block_names_give_valid_dot(name):
    spec = renamed(preset("block"), preset("block").block_names[0], name)
    _dot_parses(graph.overview_dot(analyze(spec)))


@given(st.text(st.characters(exclude_categories=("Cs",)), min_size=0, max_size=30))
def test_hypothesis_any_block_name_gives_valid_dot(name):
    spec = renamed(preset("block"), preset("block").block_names[0], name)
    report = analyze(spec)
    _dot_parses(graph.block_dot(report, name))
    _dot_parses(graph.overview_dot(report))


# ---------------------------------------------------------------------------------------
# the app: the same bad inputs through the URL, the config upload and the builder
# (AppTest; each shows one st.error and keeps the last good model)

APP = str(ROOT / "app.py")


def _app(query=None):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=240)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.session_state[sidebar.SHARE_KEY] = True  # the sidebar's folded config upload, open
    return at.run()


def _total(at) -> str:
    return next(m.value for m in at.metric if m.label.startswith("Parameters (weights"))


APP_QUERIES = [BAD_QUERIES[i] for i in (1, 2, 4, 6, 9, 10, 14, 17, 18)]


@pytest.mark.parametrize("params, match", APP_QUERIES, ids=[f"q{i}" for i in (1, 2, 4, 6, 9, 10, 14, 17, 18)])
def test_app_malformed_url_shows_one_error_and_the_preset(params, match):
    """Including '²' as a number, which used to escape as ValueError (an exception on the
    page instead of an error and the preset)."""
    at = _app(params)
    assert not at.exception, at.exception
    errs = [e.value for e in at.error]
    assert len(errs) == 1 and match in errs[0], errs
    assert _total(at) == "6,998,552"


def test_app_bad_config_uploads_keep_the_last_good_model():
    """Every bad config of BAD_CONFIGS uploaded in turn after a good one: one error each,
    the good model's total stays (deep nesting and 5000-digit numbers used to raise
    RecursionError / ValueError inside the upload callback)."""
    spec = preset("googlenet").with_block("inception_4b", **{"5x5": 80})
    want = f"{analyze(spec).total_params:,}"
    at = _app()
    at.sidebar.file_uploader[0].upload("good.json", dumps_config(spec).encode(), "application/json").run()
    assert _total(at) == want
    for i, (text, match) in enumerate(BAD_CONFIGS):
        data = text.encode()
        if len(data) > MAX_CONFIG_BYTES:
            continue
        at.sidebar.file_uploader[0].upload(f"bad{i}.json", data, "application/json").run()
        assert not at.exception, (i, text[:60], at.exception)
        errs = [e.value for e in at.error]
        assert len(errs) == 1 and match in errs[0], (i, errs)
        assert _total(at) == want, i


def test_app_refuses_to_build_an_absurd_model_and_keeps_the_page():
    """Every width of inception_4e at 65,536 is a valid spec to count (the page shows its
    numbers) but the builder refuses it from the memory estimate, with one st.error."""
    pytest.importorskip("inception_viz.keras_model")
    q = {"preset": "googlenet", "inception_4e": "-".join(["65536"] * 6), "view": "instantiate"}
    at = _app(q)
    assert not at.exception and not at.error
    spec = spec_from_query(q)  # the parser leaves the app's own `view` alone
    assert _total(at) == f"{analyze(spec).total_params:,}"
    at.toggle(key="tf-on").set_value(True).run()
    next(b for b in at.button if b.label == "Build").click().run()
    assert not at.exception, at.exception
    errs = [e.value for e in at.error]
    assert len(errs) == 1 and "MB to build; the limit is" in errs[0], errs


def test_streamlit_upload_limit_is_set_and_small():
    """.streamlit/config.toml caps uploads (server.maxUploadSize, in MB) so a huge upload
    is refused by the server before the app sees it; every image the decoder accepts still
    fits under it."""
    import tomllib

    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    limit_mb = cfg["server"]["maxUploadSize"]
    assert isinstance(limit_mb, int) and 1 <= limit_mb <= 64
    assert images.MAX_UPLOAD_BYTES <= limit_mb * 1024 * 1024


# the block table's edits (edits.apply_table_edits: what the data editor sends, as data)


table_values = (
    st.integers(-(2**40), 2**40) | st.floats(allow_nan=True, allow_infinity=False) | st.none() | st.booleans()
    | st.text(max_size=6)
)
table_edits = st.dictionaries(
    st.sampled_from([str(i) for i in range(9)]) | st.integers(0, 8) | st.text(string.ascii_letters, min_size=1, max_size=3),
    st.dictionaries(st.sampled_from([*WIDTH_KEYS, "naive", "params", "input"]), table_values, max_size=4),
    max_size=3,
)


@given(table_edits)
def test_hypothesis_block_table_edits(edits):
    """Whatever the data editor sends: a spec the counter accepts or refuses with one
    line, never another exception (the page would show a traceback)."""
    accepts_or_refuses(apply_table_edits, GOOGLENET, edits, list(GOOGLENET.block_names))


@pytest.mark.parametrize("edits", [{0: {"1x1": float("inf")}}, {None: {"1x1": 5}}, {-1: {"1x1": 5}}],
                         ids=["inf", "row-None", "row-minus-1"])
def test_block_table_edits_out_of_range(edits):
    one_line_error(apply_table_edits, GOOGLENET, edits, list(GOOGLENET.block_names))


def test_cli_predict_refuses_an_absurd_model_before_building(capsys, tmp_path):
    """A config with every width of inception_4e at 65,536 counts fine (``table``) but
    ``predict`` refuses to build it, from the memory estimate: one line, exit 2."""
    if "predict" not in __import__("inception_viz.cli", fromlist=["x"]).build_parser().format_help():
        pytest.skip("the predict command is not registered")
    path = tmp_path / "absurd.json"
    path.write_text(json.dumps({"preset": "googlenet", "blocks": {"inception_4e": {k: MAX_WIDTH for k in WIDTH_KEYS}}}))
    assert main(["table", "--config", str(path), "--format", "csv"]) == 0
    capsys.readouterr()
    cli_bad(capsys, "predict", "cat", "--config", str(path), match="MB to build; the limit is")


# ---------------------------------------------------------------------------------------
# server paths a visitor types (issue 16): the Predictions view's "path of a copy on this
# machine" exists only for the lecturer's own browser, and even there says nothing about
# the file it was given: not whether it exists, not its size


SECRET_TEXT = b"root:x:0:0:root:/root:/bin/bash\n" * 41  # 1,353 bytes, like /etc/passwd


@pytest.fixture
def probe_targets(tmp_path):
    d = tmp_path / "server"
    d.mkdir()
    (d / "passwd").write_bytes(SECRET_TEXT)
    (d / "photo.png").write_bytes(png_header_only(4, 4) + bytes(500))  # a file that is not ONNX
    (d / "link").symlink_to(d / "passwd")
    (d / "dangling").symlink_to(d / "nowhere")
    os.mkfifo(d / "fifo")  # opening it for reading must not hang
    return {
        "existing file": d / "passwd",
        "missing file": d / "missing.onnx",
        "directory": d,
        "device file": Path("/dev/zero"),
        "symlink": d / "link",
        "dangling symlink": d / "dangling",
        "FIFO": d / "fifo",
        "not ONNX": d / "photo.png",
    }


def test_path_probe_reveals_nothing_about_server_files(monkeypatch, tmp_path, probe_targets):
    from _visitor import LOOPBACK, STUDENT, as_visitor, imagenet_missing, open_view, page_text

    monkeypatch.setenv("INCEPTION_VIZ_CACHE", str(tmp_path / "cache"))
    as_visitor(monkeypatch, LOOPBACK, shared=False)  # trusted: the field is there
    at = imagenet_missing(open_view("predictions"))
    messages = set()
    for what, path in probe_targets.items():
        at.text_input(key="pred-zoo-path").set_value(str(path)).run()
        assert not at.exception, (what, at.exception)
        errors = [e.value for e in at.error]
        assert len(errors) == 1, (what, errors)
        messages.add(errors[0])
        text = page_text(at, skip=("text_input",))  # the field holds what was typed
        size = path.stat().st_size if path.is_file() else None
        for leak in (str(path), path.name, *([f"{size:,}", str(size)] if size else [])):
            # a whole token: widget ids and media URLs are hex hashes that may hold the digits
            assert not re.search(rf"(?<![0-9A-Za-z]){re.escape(leak)}(?![0-9A-Za-z])", text), (what, leak)
    assert messages == {f"{W.INSTALL_REFUSED[0].upper()}{W.INSTALL_REFUSED[1:]}."}  # one message for all
    assert not (tmp_path / "cache" / W.ZOO_FILENAME).exists()
    for connection, shared in ((LOOPBACK, True), (STUDENT, False)):
        as_visitor(monkeypatch, connection, shared=shared)
        at = imagenet_missing(open_view("predictions"))
        assert not at.text_input, [t.label for t in at.text_input]  # no field to probe with


def test_install_zoo_file_checks_before_copying_and_names_nothing(monkeypatch, tmp_path, probe_targets):
    monkeypatch.setenv("INCEPTION_VIZ_CACHE", str(tmp_path / "cache"))
    for what, path in probe_targets.items():
        msg = one_line_error(W.install_zoo_file, path)
        assert str(path) not in msg and path.name not in msg and "1,353" not in msg, (what, msg)
    # a file of the right size and hash is installed (a stand-in zoo file: patch the expectation)
    good = tmp_path / "copy.onnx"
    good.write_bytes(b"onnx" * 1000)
    monkeypatch.setattr(W, "ZOO_SIZE", 4000)
    monkeypatch.setattr(W, "ZOO_SHA256", W.sha256_bytes(good.read_bytes()))
    dest = W.install_zoo_file(good)
    assert dest.read_bytes() == good.read_bytes() and [p.name for p in dest.parent.iterdir()] == [W.ZOO_FILENAME]
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"x" * 4000)  # right size, wrong content: nothing half-copied is left
    one_line_error(W.install_zoo_file, bad, match="SHA-256")
    assert [p.name for p in dest.parent.iterdir()] == [W.ZOO_FILENAME] and dest.read_bytes() == good.read_bytes()


def test_cli_weights_install_names_the_path_it_was_given(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("INCEPTION_VIZ_CACHE", str(tmp_path / "cache"))
    cli_bad(capsys, "weights", "install", str(tmp_path / "none.onnx"), match=f"{tmp_path / 'none.onnx'}: does not exist")
    cli_bad(capsys, "weights", "install", str(tmp_path), match="is not a regular file")
