"""Config files and URLs: how a lecturer saves, shares and restores a model.

JSON config (every field but ``preset`` optional; ``blocks`` overrides some widths)::

    {"preset": "googlenet",
     "blocks": {"inception_3a": {"3x3": 256, "5x5_reduce": 0}},
     "input_shape": [224, 224, 3],
     "classes": 1000,
     "lrn": true,
     "aux": false}

URL query (``st.query_params``), only what differs from the preset::

    ?preset=googlenet&input=224x224x3&classes=10&lrn=0&aux=1&inception_3a=64-96-256-0-32-32

A block's value is its six widths in the paper's order (1x1, 3x3_reduce, 3x3, 5x5_reduce,
5x5, pool_proj) joined by ``-``. The app adds ``&view=<key>`` (the open view) and
``&lang=<en|es>`` (the page's language); keys in
:data:`APP_QUERY_KEYS` are the app's, not the model's: the parser ignores them.

Loading validates everything and raises :class:`SpecError` with one line that names the
field and the allowed values. Nothing here executes or unpickles anything.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Mapping

from .counter import analyze
from .presets import PRESET_NAMES, preset
from .spec import MAX_CLASSES, MAX_WIDTH, WIDTH_KEYS, ModelSpec, SpecError

_ALL_BLOCK_NAMES = frozenset(n for p in PRESET_NAMES for n in preset(p).block_names)
CONFIG_KEYS = ("preset", "blocks", "input_shape", "classes", "lrn", "aux")
QUERY_KEYS = ("preset", "input", "classes", "lrn", "aux")
#: URL parameters the app keeps beside the model (``view``: the open view; ``lang``: the
#: page's language); not part of it.
APP_QUERY_KEYS = ("view", "lang")
#: Config files and uploads larger than this are refused before parsing.
MAX_CONFIG_BYTES = 256 * 1024


def _show(value: Any, limit: int = 60) -> str:
    """``value`` as JSON for an error message, cut to ``limit`` characters (a message stays
    one short line whatever was uploaded; values JSON cannot show fall back to repr)."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _int_field(value: Any, field: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{field} must be a whole number from {lo} to {hi}; got {_show(value)}")
    if not lo <= value <= hi:
        raise SpecError(f"{field} must be from {lo} to {hi}; got {value}")
    return value


def _bool_field(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise SpecError(f"{field} must be true or false; got {_show(value)}")
    return value


def spec_from_config(data: Any) -> ModelSpec:
    """The spec a config dict describes (validated, including spatial sizes)."""
    if not isinstance(data, Mapping):
        raise SpecError(f"a config must be a JSON object like {{\"preset\": \"googlenet\"}}; got {type(data).__name__}")
    unknown = [k for k in data if k not in CONFIG_KEYS]
    if unknown:
        raise SpecError(f"unknown config key {_show(unknown[0])}; allowed: {', '.join(CONFIG_KEYS)}")
    if "preset" not in data:
        raise SpecError(f"config needs a \"preset\"; allowed: {', '.join(PRESET_NAMES)}")
    name = data["preset"]
    if not isinstance(name, str) or name not in PRESET_NAMES:
        raise SpecError(f"preset must be one of {', '.join(PRESET_NAMES)}; got {_show(name)}")
    spec = preset(name)

    blocks = data.get("blocks", {})
    if not isinstance(blocks, Mapping):
        raise SpecError("blocks must be an object like {\"inception_3a\": {\"3x3\": 128}}")
    for block_name, widths in blocks.items():
        if block_name not in spec.block_names:
            raise SpecError(
                f"blocks: no block {_show(block_name)} in preset {name}; allowed: {', '.join(spec.block_names)}"
            )
        if not isinstance(widths, Mapping):
            raise SpecError(f"blocks.{block_name} must be an object like {{\"3x3\": 128}}; got {_show(widths)}")
        for key, value in widths.items():
            if key not in WIDTH_KEYS:
                raise SpecError(f"blocks.{block_name}: unknown width {_show(key)}; allowed: {', '.join(WIDTH_KEYS)}")
            _int_field(value, f"blocks.{block_name}.{key}", 0, MAX_WIDTH)
        spec = spec.with_block(block_name, **dict(widths))

    options: dict[str, Any] = {}
    if "input_shape" in data:
        shape = data["input_shape"]
        if not isinstance(shape, list) or len(shape) != 3:
            raise SpecError(
                f"input_shape must be a list of 3 numbers [height, width, channels]; got {_show(shape)}"
            )
        h = _int_field(shape[0], "input_shape height", 1, 4096)
        w = _int_field(shape[1], "input_shape width", 1, 4096)
        c = _int_field(shape[2], "input_shape channels", 1, 64)
        options["input_shape"] = (h, w, c)
    if "classes" in data:
        options["classes"] = _int_field(data["classes"], "classes", 1, MAX_CLASSES)
    for flag in ("lrn", "aux"):
        if flag in data:
            options[flag] = _bool_field(data[flag], flag)
    if options:
        spec = spec.with_options(**options)
    analyze(spec)  # spatial sizes, block outputs: raises SpecError naming the layer
    return spec


def spec_to_config(spec: ModelSpec) -> dict:
    """The smallest config that restores ``spec``: the preset plus what differs from it."""
    base = preset(spec.preset)
    out: dict[str, Any] = {"preset": spec.preset}
    blocks = {}
    for b in spec.blocks:
        ref = base.block(b.name).widths
        diff = {k: v for k, v in b.widths.items() if ref[k] != v}
        if diff:
            blocks[b.name] = diff
    if blocks:
        out["blocks"] = blocks
    if tuple(spec.input_shape) != tuple(base.input_shape):
        out["input_shape"] = list(spec.input_shape)
    if spec.classes != base.classes:
        out["classes"] = spec.classes
    if spec.lrn != base.lrn:
        out["lrn"] = spec.lrn
    if spec.aux != base.aux:
        out["aux"] = spec.aux
    return out


def dumps_config(spec: ModelSpec) -> str:
    """The config JSON of ``spec``, complete (every block's six widths) so the file reads
    on its own, and stable (same spec, same text)."""
    cfg = spec_to_config(spec)
    cfg["blocks"] = {b.name: b.widths for b in spec.blocks}
    cfg["input_shape"] = list(spec.input_shape)
    if spec.classes:
        cfg["classes"] = spec.classes
    cfg["lrn"], cfg["aux"] = spec.lrn, spec.aux
    return json.dumps(cfg, indent=2) + "\n"


def loads_config(text: str | bytes) -> ModelSpec:
    """Parse config JSON (a string or the bytes of an upload)."""
    if isinstance(text, bytes):
        if len(text) > MAX_CONFIG_BYTES:
            raise SpecError(f"config is {len(text):,} bytes; the limit is {MAX_CONFIG_BYTES:,}")
        try:
            text = text.decode("utf-8-sig")  # a BOM (Windows editors) is not an error
        except UnicodeDecodeError:
            raise SpecError("config is not UTF-8 text; save it as a .json file") from None
    if len(text) > MAX_CONFIG_BYTES:
        raise SpecError(f"config is {len(text):,} characters; the limit is {MAX_CONFIG_BYTES:,}")
    text = text.removeprefix("\ufeff")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"config is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:  # thousands of nested [ or {: json's parser recurses
        raise SpecError("config is nested too deeply to be a model config; see README for the format") from None
    except ValueError as exc:  # e.g. an integer with more than 4300 digits
        raise SpecError(
            f"config has a number too long to read ({str(exc)[:50]}); widths go up to {MAX_WIDTH}"
        ) from None
    return spec_from_config(data)


def read_bounded(stream, limit: int, what: str) -> bytes:
    """At most ``limit`` bytes from a binary ``stream`` (a file, a FIFO, stdin,
    ``/dev/zero``): reads ``limit + 1`` and refuses with one line if there is more, so an
    endless source never grows the process. ``st_size`` is not trusted (it is 0 for pipes
    and devices)."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise SpecError(f"{what} is larger than {limit:,} bytes; the limit is {limit:,}")
    return data


def load_config_file(path: str | Path) -> ModelSpec:
    """Parse a config file (or FIFO, or device): at most :data:`MAX_CONFIG_BYTES` are read."""
    path = Path(path)
    try:
        if path.is_dir():
            raise SpecError(f"cannot read config file {path}: it is a folder; give a .json file")
        with open(path, "rb") as f:
            data = read_bounded(f, MAX_CONFIG_BYTES, f"config file {path}")
    except OSError as exc:
        raise SpecError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    return loads_config(data)


# ---------------------------------------------------------------------------------------
# URL query parameters


def file_stem(spec: ModelSpec) -> str:
    """A download's file name (without extension) that says which model it holds: the
    preset's name unchanged (``googlenet``), or the preset, ``-edited`` and the first 8
    hex digits of the SHA-256 of the minimal config (``googlenet-edited-1a2b3c4d``), so two
    different edits never share a name and the same edit always gets the same one."""
    cfg = spec_to_config(spec)
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in spec.preset) or "model"
    if cfg == {"preset": spec.preset}:
        return stem
    digest = hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:8]
    return f"{stem}-edited-{digest}"


def spec_to_query(spec: ModelSpec) -> dict[str, str]:
    """Query parameters that restore ``spec`` (only what differs from its preset)."""
    cfg = spec_to_config(spec)
    q = {"preset": spec.preset}
    if "input_shape" in cfg:
        q["input"] = "x".join(str(v) for v in cfg["input_shape"])
    if "classes" in cfg:
        q["classes"] = str(cfg["classes"])
    if "lrn" in cfg:
        q["lrn"] = "1" if cfg["lrn"] else "0"
    if "aux" in cfg:
        q["aux"] = "1" if cfg["aux"] else "0"
    for name in cfg.get("blocks", {}):
        q[name] = "-".join(str(v) for v in spec.block(name).width_tuple)
    return q


def _query_int(text: str, field: str) -> int:
    text = text.strip()
    # isdecimal + isascii: "²".isdigit() is True but int("²") fails
    if not (text.isascii() and text.isdecimal()) or len(text) > 9:
        raise SpecError(f"URL parameter {field} must be a whole number; got {text[:40]!r}")
    return int(text)


def is_model_key(key: str) -> bool:
    """Whether a URL parameter is about the model: one of :data:`QUERY_KEYS`, or a block
    name (``inception_...``, of any preset or not). Everything else (``utm_source``,
    ``fbclid``, ``view``, ``lang``, ...: what course platforms, mail clients and the app's
    own navigation add) is not the model's business and is ignored."""
    return key in QUERY_KEYS or key.startswith("inception_") or key in _ALL_BLOCK_NAMES


def model_query(params: Mapping[str, str]) -> dict:
    """``params`` without the keys that are not model keys (:func:`is_model_key`)."""
    return {k: v for k, v in params.items() if is_model_key(str(k))}


def merge_query(current: Mapping[str, Any], spec: ModelSpec) -> dict:
    """The query to put in the address bar for ``spec``: :func:`spec_to_query` plus the
    keys of ``current`` that are not model keys (``utm_source``, ``view``, ...), kept as
    they were, so syncing the URL never drops what the link came with."""
    out = {str(k): v for k, v in current.items() if not is_model_key(str(k))}
    out.update(spec_to_query(spec))
    return out


def spec_from_query(params: Mapping[str, str]) -> ModelSpec:
    """The spec that URL query parameters describe; :class:`SpecError` if a model key is
    malformed. Keys that are not model keys are ignored (:func:`is_model_key`)."""
    # a repeated parameter arrives as a list: the last one wins; anything else as text
    params = {str(k): str((v or [""])[-1] if isinstance(v, list) else v) for k, v in params.items()}
    params = model_query(params)
    name = params.get("preset", "googlenet")
    if name not in PRESET_NAMES:
        raise SpecError(f"URL parameter preset must be one of {', '.join(PRESET_NAMES)}; got {name[:40]!r}")
    base = preset(name)
    cfg: dict[str, Any] = {"preset": name}
    blocks = {}
    for key, value in params.items():
        if key in QUERY_KEYS or key in APP_QUERY_KEYS:
            continue
        if key not in base.block_names:
            raise SpecError(f"URL parameter {key[:40]!r}: no such block in preset {name}; blocks: {', '.join(base.block_names)}")
        parts = value.split("-")
        if len(parts) != len(WIDTH_KEYS):
            raise SpecError(
                f"URL parameter {key} needs 6 widths ({'-'.join(WIDTH_KEYS)}) joined by '-'; got {value[:60]!r}"
            )
        blocks[key] = {k: _query_int(p, f"{key} {k}") for k, p in zip(WIDTH_KEYS, parts)}
    if blocks:
        cfg["blocks"] = blocks
    if "input" in params:
        parts = params["input"].lower().split("x")
        if len(parts) != 3:
            raise SpecError(f"URL parameter input must look like 224x224x3; got {params['input'][:40]!r}")
        cfg["input_shape"] = [_query_int(p, "input") for p in parts]
    if "classes" in params:
        cfg["classes"] = _query_int(params["classes"], "classes")
    for flag in ("lrn", "aux"):
        if flag in params:
            if params[flag] not in ("0", "1"):
                raise SpecError(f"URL parameter {flag} must be 0 or 1; got {params[flag][:20]!r}")
            cfg[flag] = params[flag] == "1"
    return spec_from_config(cfg)
