"""Where the weights come from, how images are preprocessed for them, and how they move
onto a (possibly edited) Keras model.

Sources (:class:`Weights`):

* ``random``: Keras's initialisers with a fixed seed (default). Predictions of an untrained
  network are meaningless; :data:`RANDOM_NOTE` says so wherever predictions are shown.
* ``imagenet``: the BVLC GoogLeNet of the ONNX Model Zoo (``googlenet-12.onnx``, 67.78 % /
  88.34 % top-1 / top-5). :func:`download_zoo` fetches it from :data:`ZOO_URL` into the
  cache folder (:func:`cache_dir`: ``$INCEPTION_VIZ_CACHE`` or ``~/.cache/inception_viz``)
  and checks :data:`ZOO_SHA256`; :func:`install_zoo_file` puts a copy brought on a USB stick
  there after the same check. :func:`load_onnx` reads any ONNX file with the zoo's names
  (``onnx`` parses the protobuf; nothing in the file is executed) and maps every
  initializer onto the ``googlenet`` preset's Keras layers.
* a ``.keras`` model or ``.weights.h5`` file saved by this app (:func:`save_model_file`,
  :func:`save_weights_file`), loaded with ``safe_mode=True``; never pickle.

Every file is size-checked before it is parsed. A file whose names or shapes do not fit is
refused with one line naming the layer.

:func:`transfer` moves weights by layer name onto a new model: a layer keeps the
pretrained weights exactly when all its weight shapes match; every other layer keeps its
fresh initialisation. The :class:`TransferReport` says which layers, blocks and branches
are pretrained.

TensorFlow/Keras are imported inside the functions that need them only.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .i18n import N_, Translator, resolve
from .spec import Inception, ModelSpec, SpecError

# -- the zoo file -----------------------------------------------------------------------------

ZOO_FILENAME = "googlenet-12.onnx"
#: Official download (GitHub serves the Git LFS object behind this address).
ZOO_URL = (
    "https://github.com/onnx/models/raw/main/validated/vision/classification/"
    "inception_and_googlenet/googlenet/model/googlenet-12.onnx"
)
#: SHA-256 and size of googlenet-12.onnx: the Git LFS pointer committed in onnx/models
#: (validated/.../googlenet/model/googlenet-12.onnx at commit b1eeaa1a, "oid sha256:...",
#: "size 28021836"); Git LFS object ids are the SHA-256 of the file's content.
ZOO_SHA256 = "c99c507058eaf41de8723408fdda7db8325cb57f0a89f2ee07a716d6e963e14e"
ZOO_SIZE = 28_021_836

#: Largest ONNX file read (the zoo file is 26.7 MiB).
MAX_ONNX_BYTES = 64 * 1024 * 1024
#: Largest .keras / .weights.h5 read, and the most a .keras zip may expand to.
MAX_KERAS_BYTES = 256 * 1024 * 1024

#: The notes are msgids (English, as the CLI prints them); the app shows ``_(note)``.
RANDOM_NOTE = N_(
    "These weights are random: the network is untrained, so its predictions are meaningless "
    "(the class names are there only to show the mechanics)."
)
PARTIAL_NOTE = N_(
    "Some layers were re-initialised after your edits: these predictions are not those of the "
    "trained network."
)


def cache_dir() -> Path:
    """``$INCEPTION_VIZ_CACHE`` if set, else ``~/.cache/inception_viz``."""
    env = os.environ.get("INCEPTION_VIZ_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "inception_viz"


def zoo_cache_path() -> Path:
    return cache_dir() / ZOO_FILENAME


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path, limit: int | None = None) -> str:
    h = hashlib.sha256()
    n = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            n += len(chunk)
            if limit is not None and n > limit:
                raise SpecError(f"{Path(path).name} is larger than {limit:,} bytes")
            h.update(chunk)
    return h.hexdigest()


_verified: dict[tuple[str, int, int], bool] = {}


def cached_zoo_path() -> Path | None:
    """The cached zoo file if it is there and its SHA-256 is :data:`ZOO_SHA256`
    (the check is remembered per (path, size, mtime))."""
    p = zoo_cache_path()
    try:
        st = p.stat()
    except OSError:
        return None
    key = (str(p), st.st_size, st.st_mtime_ns)
    if key not in _verified:
        _verified[key] = st.st_size == ZOO_SIZE and sha256_file(p) == ZOO_SHA256
    return p if _verified[key] else None


def download_zoo(
    url: str = ZOO_URL,
    progress: Callable[[int, int], None] | None = None,
    opener: Callable | None = None,
    timeout: float = 60.0,
    expected_sha256: str = ZOO_SHA256,
    expected_size: int = ZOO_SIZE,
) -> Path:
    """Download the zoo file into the cache (streamed, at most ``expected_size`` bytes,
    SHA-256 checked, then moved into place atomically). ``progress(done, total)`` is called
    per chunk. ``opener`` defaults to ``urllib.request.urlopen`` (tests pass a fake)."""
    import urllib.request

    opener = opener or urllib.request.urlopen
    with _staged(zoo_cache_path()) as stage:
        try:
            with opener(url, timeout=timeout) as resp:
                for chunk in iter(lambda: resp.read(1 << 20), b""):
                    if stage.size + len(chunk) > expected_size:
                        raise SpecError(f"download from {url} is larger than the expected {expected_size:,} bytes; not the zoo file")
                    stage.write(chunk)
                    if progress:
                        progress(stage.size, expected_size)
        except SpecError:
            raise
        except Exception as exc:  # noqa: BLE001 - network errors of every kind become one line
            raise SpecError(
                f"could not download {ZOO_FILENAME} ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                f"offline? copy the file into {stage.dest.parent} or upload it"
            ) from None
        digest = stage.sha256()
        if digest != expected_sha256:
            raise SpecError(f"downloaded {ZOO_FILENAME} has SHA-256 {digest[:16]}…, expected {expected_sha256[:16]}…; not saved")
        return stage.commit()


class _Stage:
    """Bytes on their way into a cache entry: written to a temporary file next to it and
    hashed as they come (see :func:`_staged`)."""

    def __init__(self, dest: Path, tmp: str, out):
        self.dest, self._tmp, self._out = dest, tmp, out
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self._hash.update(chunk)
        self._out.write(chunk)
        self.size += len(chunk)

    def sha256(self) -> str:
        return self._hash.hexdigest()

    def commit(self) -> Path:
        """Close the temporary file and move it into place (atomically); returns ``dest``."""
        self._out.close()
        os.replace(self._tmp, self.dest)
        return self.dest


@contextmanager
def _staged(dest: Path):
    """A :class:`_Stage` for ``dest`` (its folder is created): nothing replaces ``dest``
    unless the caller checks what was written and calls ``commit()``; on any other way out
    the temporary file is removed. The zoo's download and its install from a local copy
    both write the cache entry through this."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".googlenet-", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            yield _Stage(dest, tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


#: What the app shows for any path that is not the zoo file: one message for every case
#: (missing, directory, device, unreadable, other size or content), so the page never says
#: whether a server file exists or how large it is.
INSTALL_REFUSED = (
    f"that path is not a readable copy of {ZOO_FILENAME} (a regular file of {ZOO_SIZE:,} bytes "
    f"with SHA-256 {ZOO_SHA256[:8]}…); nothing was installed"
)


def install_zoo_file(src: str | Path) -> Path:
    """Copy a ``googlenet-12.onnx`` obtained elsewhere into the cache after checking its
    size and SHA-256 (for lecture halls without internet).

    The file is opened once (non-blocking, so a FIFO cannot hang the caller), must be a
    regular file (``fstat``: no directory, device such as ``/dev/zero``, or socket; a
    symlink counts as its target) of exactly :data:`ZOO_SIZE` bytes; it is hashed while it
    is copied into a temporary file next to the cache entry, which replaces the entry only
    if the SHA-256 is :data:`ZOO_SHA256`. Errors never contain the path or the file's own
    size (the CLI puts the path it was given in front; the app shows
    :data:`INSTALL_REFUSED` for every failure)."""
    import stat

    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(os.fspath(src), flags)
    except FileNotFoundError:
        raise SpecError("does not exist") from None
    except (OSError, ValueError, TypeError):
        raise SpecError("cannot be opened (permission, or not a file)") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SpecError(f"is not a regular file; expected a copy of {ZOO_FILENAME}")
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as f:
        if info.st_size != ZOO_SIZE:
            raise SpecError(f"is not the ONNX Model Zoo's {ZOO_FILENAME}: that file is {ZOO_SIZE:,} bytes")
        with _staged(zoo_cache_path()) as stage:
            grew = False  # more bytes than fstat said: the file changed while it was read
            try:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    if stage.size + len(chunk) > ZOO_SIZE:
                        grew = True
                        break
                    stage.write(chunk)
            except OSError:
                raise SpecError("cannot be read") from None
            if grew or stage.size != ZOO_SIZE or stage.sha256() != ZOO_SHA256:
                raise SpecError(f"is not the ONNX Model Zoo's {ZOO_FILENAME}: its SHA-256 is not {ZOO_SHA256[:16]}…")
            return stage.commit()


# -- preprocessing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preprocessing:
    """How an RGB uint8 image becomes the network input, as data the app can show.

    ``mean`` is subtracted per channel (R, G, B order), then the result multiplied by
    ``scale``. The Keras model always reads RGB, NHWC; :meth:`onnx_input` gives what the
    zoo's ONNX graph reads (BGR, NCHW)."""

    name: str
    mean: tuple[float, float, float]
    scale: float
    resize: str
    description: str

    def keras_input(self, rgb: np.ndarray, input_shape: tuple[int, int, int] = (224, 224, 3)) -> np.ndarray:
        """``(1, H, W, C)`` float32 for a Keras model with ``input_shape`` (C = 3, or 1:
        grayscale by ITU-R 601 luma)."""
        from .images import resize_to_input

        h, w, c = input_shape
        if c not in (1, 3):
            raise SpecError(f"this model takes {h}x{w}x{c} inputs, not images; choose a model with 3 input channels")
        x = resize_to_input(rgb, (h, w), self.resize).astype(np.float32)
        x = (x - np.asarray(self.mean, np.float32)) * np.float32(self.scale)
        if c == 1:
            x = x @ np.array([[0.299], [0.587], [0.114]], np.float32)
        return x[None]

    def onnx_input(self, rgb: np.ndarray, size: tuple[int, int] = (224, 224)) -> np.ndarray:
        """``(1, 3, H, W)`` float32 in BGR order, as the zoo README prepares ``data_0``."""
        x = self.keras_input(rgb, (size[0], size[1], 3))[0]
        return np.ascontiguousarray(x[:, :, ::-1].transpose(2, 0, 1)[None])


ZOO_PREPROCESSING = Preprocessing(
    name="caffe-imagenet",
    mean=(123.68, 116.779, 103.939),
    scale=1.0,
    resize="resize",
    description=N_(
        "ImageNet (ONNX Model Zoo GoogLeNet): the whole image resized to 224x224 (bicubic), "
        "pixel values 0-255 minus the ImageNet means R 123.68, G 116.779, B 103.939, "
        "channels in BGR order (the zoo graph reads BGR; the importer reverses conv1's input "
        "channels, so the Keras model is fed RGB with the identical result)."
    ),
)
RANDOM_PREPROCESSING = Preprocessing(
    name="simple",
    mean=(127.5, 127.5, 127.5),
    scale=1 / 127.5,
    resize="resize",
    description=N_("Random weights: the whole image resized to the input size (bicubic), pixel values scaled from 0-255 to -1..1, RGB."),
)
PREPROCESSINGS = {p.name: p for p in (ZOO_PREPROCESSING, RANDOM_PREPROCESSING)}


# -- weights ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Weights:
    """A set of weights by Keras layer name (``None``: random initialisation).

    ``key`` identifies the weights for caches (source plus SHA-256 or seed); ``trained``
    says whether predictions can mean anything."""

    source: str  # "random" | "imagenet" | "onnx" | "keras"
    label: str
    key: str
    preprocessing: Preprocessing
    by_layer: dict[str, list[np.ndarray]] | None = field(default=None, repr=False)
    trained: bool = False
    seed: int = 0
    ignored: tuple[str, ...] = ()
    #: the network these weights were trained as (``None``: random or unknown);
    #: :func:`training_differences` compares the network they are used in against it
    trained_spec: ModelSpec | None = None

    def __hash__(self):
        return hash(self.key)

    def __eq__(self, other):
        return isinstance(other, Weights) and other.key == self.key


def random_weights(seed: int = 0) -> Weights:
    return Weights("random", f"random initialisation (seed {seed})", f"random:{seed}", RANDOM_PREPROCESSING, None, False, seed)


def _onnx_label(name: str, digest: str, tr: Translator | None = None) -> str:
    """The label of a fitting ONNX file that is not the zoo's own."""
    return resolve(tr).gettext("{name} (ONNX, zoo layout, SHA-256 {digest}…)").format(name=name, digest=digest[:12])


def weights_label(weights: Weights, tr: Translator | None = None) -> str:
    """``weights.label`` in ``tr``'s language for the page (``label`` itself stays English:
    it is written into files and JSON). The random weights' and an ONNX file's labels are
    words of ours; the zoo's and a Keras file's name their source."""
    if weights.source == "random":
        return resolve(tr).gettext("random initialisation (seed {seed})").format(seed=weights.seed)
    if weights.source == "onnx" and weights.key.startswith("sha256:"):
        digest = weights.key.removeprefix("sha256:")
        suffix = _onnx_label("", digest)
        if weights.label.endswith(suffix):
            return _onnx_label(weights.label[: -len(suffix)], digest, tr)
    return weights.label


def _read_limited(path: str | Path, limit: int, what: str) -> bytes:
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"{what} {str(p)!r} " + ("is not a regular file" if p.exists() else "does not exist"))
    size = p.stat().st_size
    if size > limit:
        raise SpecError(f"{p.name} is {size:,} bytes; the limit for {what}s is {limit:,} bytes")
    with open(p, "rb") as f:
        return f.read(limit + 1)


def read_onnx_initializers(data: bytes, name: str = "weights file") -> dict[str, np.ndarray]:
    """Parse an ONNX file (bytes) and return its float initializers as numpy arrays.
    Nothing is executed; external-data tensors are refused (they would read other files)."""
    import onnx
    from onnx import numpy_helper

    if not data:
        raise SpecError(f"{name} is empty; expected an ONNX file such as {ZOO_FILENAME}")
    if len(data) > MAX_ONNX_BYTES:
        raise SpecError(f"{name} is {len(data):,} bytes; the limit for ONNX files is {MAX_ONNX_BYTES:,} bytes")
    try:
        model = onnx.load_model_from_string(data)
    except Exception as exc:  # noqa: BLE001 - protobuf raises several types
        raise SpecError(f"{name} is not a readable ONNX file ({type(exc).__name__}); it may be truncated, download it again") from None
    if not model.graph.initializer:
        raise SpecError(f"{name} has no weights (no ONNX initializers); it may be truncated or not a model file")
    out: dict[str, np.ndarray] = {}
    for t in model.graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            raise SpecError(f"{t.name}: stored in an external file; only self-contained ONNX files are read")
        try:
            arr = numpy_helper.to_array(t)
        except Exception as exc:  # noqa: BLE001
            raise SpecError(f"{t.name}: cannot be read ({type(exc).__name__}); the file may be truncated") from None
        if arr.dtype.kind == "f":
            out[t.name] = arr.astype(np.float32, copy=False)
    return out


def load_onnx(source: str | Path | bytes, name: str | None = None) -> Weights:
    """Weights from an ONNX file with the zoo's initializer names (path or bytes), mapped
    onto the ``googlenet`` preset's Keras layers. The zoo's own file (by SHA-256) is labelled
    ``imagenet``; any other fitting file ``onnx``."""
    from .onnx_zoo import expected_shapes, keras_from_zoo
    from .presets import preset

    if isinstance(source, (bytes, bytearray)):
        data, name = bytes(source), name or "uploaded ONNX file"
    else:
        data, name = _read_limited(source, MAX_ONNX_BYTES, "ONNX file"), name or Path(source).name
    digest = sha256_bytes(data)
    inits = read_onnx_initializers(data, name)
    spec = preset("googlenet")
    by_layer = keras_from_zoo(inits, spec)
    ignored = tuple(sorted(set(inits) - set(expected_shapes(spec))))
    if digest == ZOO_SHA256:
        return Weights("imagenet", "ImageNet (BVLC GoogLeNet, ONNX Model Zoo googlenet-12.onnx)", f"sha256:{digest}",
                       ZOO_PREPROCESSING, by_layer, True, ignored=ignored, trained_spec=spec)
    return Weights("onnx", _onnx_label(name, digest), f"sha256:{digest}",
                   ZOO_PREPROCESSING, by_layer, True, ignored=ignored, trained_spec=spec)


def imagenet_weights() -> Weights:
    """The zoo weights from the cache; a one-line error says how to get them otherwise."""
    p = cached_zoo_path()
    if p is None:
        where = zoo_cache_path()
        raise SpecError(
            f"ImageNet weights are not in {where.parent}: download them "
            f"(python -m inception_viz weights download) or copy {ZOO_FILENAME} there "
            f"(python -m inception_viz weights install FILE)"
        )
    return load_onnx(p)


# -- this app's own files ---------------------------------------------------------------------

_META = "inception_viz.json"


def weights_by_layer(model) -> dict[str, list[np.ndarray]]:
    """``{layer name: [arrays]}`` for every layer of ``model`` that has weights."""
    return {l.name: [np.asarray(v) for v in l.get_weights()] for l in model.layers if l.weights}


def save_model_file(model, path: str | Path, spec: ModelSpec, weights: Weights) -> Path:
    """Save ``model`` as ``.keras`` plus a small JSON entry (spec config, preprocessing)."""
    import keras

    from .config import dumps_config

    path = Path(path)
    if not path.name.endswith(".keras"):
        raise SpecError(f"{path.name}: a model file must end in .keras")
    keras.saving.save_model(model, path)
    meta = {"config": json.loads(dumps_config(spec)), "preprocessing": weights.preprocessing.name,
            "trained": weights.trained, "label": weights.label}
    with zipfile.ZipFile(path, "a") as z:
        z.writestr(_META, json.dumps(meta))
    return path


def save_weights_file(model, path: str | Path, spec: ModelSpec, weights: Weights) -> Path:
    """Save ``model``'s weights as ``.weights.h5`` plus attributes (spec config,
    preprocessing) so :func:`load_keras_file` can rebuild the same architecture."""
    import h5py

    from .config import dumps_config

    path = Path(path)
    if not path.name.endswith(".weights.h5"):
        raise SpecError(f"{path.name}: a weights file must end in .weights.h5")
    model.save_weights(path)
    with h5py.File(path, "a") as f:
        f.attrs["inception_viz_config"] = dumps_config(spec)
        f.attrs["inception_viz_preprocessing"] = weights.preprocessing.name
        f.attrs["inception_viz_trained"] = bool(weights.trained)
        f.attrs["inception_viz_label"] = weights.label
    return path


def load_keras_file(source: str | Path | bytes, name: str | None = None, spec: ModelSpec | None = None) -> Weights:
    """Weights from a ``.keras`` model or a ``.weights.h5`` file saved by this app.

    Only what this app writes is read, and it is checked before Keras sees it
    (:func:`check_keras_archive`, :func:`check_h5_shapes`): the declared architecture must
    be the one the file's own spec config gives, and that spec must fit the memory limit;
    then ``.keras`` loads with ``safe_mode=True``. A ``.weights.h5`` without this app's
    attributes is loaded into ``spec``'s model (default ``googlenet``) and must fit it
    exactly. Every refusal is one :class:`SpecError` line."""
    if isinstance(source, (bytes, bytearray)):
        data, name = bytes(source), name or "uploaded weights file"
    else:
        name = name or Path(source).name
        data = _read_limited(source, MAX_KERAS_BYTES, "Keras file")
    if len(data) > MAX_KERAS_BYTES:
        raise SpecError(f"{name} is {len(data):,} bytes; the limit for Keras files is {MAX_KERAS_BYTES:,} bytes")
    if not data:
        raise SpecError(f"{name} is empty")
    digest = sha256_bytes(data)
    with tempfile.TemporaryDirectory() as d:
        if name.endswith(".keras"):
            by_layer, meta, saved_spec = _load_keras_zip(data, Path(d), name)
        elif name.endswith(".weights.h5"):
            path = Path(d) / "model.weights.h5"
            path.write_bytes(data)
            by_layer, meta, saved_spec = _load_weights_h5(path, name, spec)
        else:
            raise SpecError(f"{name}: weights files must end in .onnx, .keras or .weights.h5")
    pre = PREPROCESSINGS[meta["preprocessing"]] if "preprocessing" in meta else RANDOM_PREPROCESSING
    label = f"{name} ({meta.get('label', 'Keras file')})"
    trained = bool(meta.get("trained", False))
    return Weights("keras", label, f"sha256:{digest}", pre, by_layer, trained,
                   trained_spec=saved_spec if trained else None)


# -- reading only what this app wrote --------------------------------------------------------

#: The members a .keras file of this app holds (Keras writes three, save_model_file one).
KERAS_MEMBERS = ("metadata.json", "config.json", "model.weights.h5", _META)
#: Largest JSON member of a .keras file (googlenet with aux heads: ~120 kB of config.json).
MAX_JSON_MEMBER_BYTES = 4 * 1024 * 1024
#: Most arrays read from an .h5 file (googlenet with aux heads has 132).
MAX_H5_ARRAYS = 4096
#: The (module, class_name, registered_name) triples a config.json of this app contains:
#: anything else (Lambda, another module, a nested model) is refused before Keras
#: deserialises it.
KERAS_CLASSES = frozenset({
    *(("keras.layers", c, None) for c in (
        "InputLayer", "Conv2D", "Dense", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
        "GlobalMaxPooling2D", "ZeroPadding2D", "Concatenate", "Identity", "Flatten", "Dropout", "Softmax")),
    ("inception_viz.keras_model", "CeilMaxPool2D", "inception_viz>CeilMaxPool2D"),
    ("inception_viz.keras_model", "LocalResponseNorm", "inception_viz>LocalResponseNorm"),
    ("keras", "DTypePolicy", None),
    ("keras.initializers", "GlorotUniform", None),
    ("keras.initializers", "Zeros", None),
    ("keras.src.models.functional", "Functional", "Functional"),
    (None, "__keras_tensor__", None),
})


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def parse_metadata(raw: bytes | str, name: str, where: str = _META) -> dict:
    """This app's metadata (``inception_viz.json`` in a ``.keras``; the attributes of a
    ``.weights.h5``), checked field by field: ``config`` (a spec config object),
    ``preprocessing`` (one of :data:`PREPROCESSINGS`), ``trained`` (true/false), ``label``
    (text). Anything else -> one :class:`SpecError` line."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SpecError(f"{name}: {where} is not UTF-8 text; not a file saved by this app") from None
    try:
        meta = json.loads(raw)
    except RecursionError:
        raise SpecError(f"{name}: {where} is nested too deeply; not a file saved by this app") from None
    except ValueError as exc:
        raise SpecError(f"{name}: {where} is not valid JSON ({_one_line(exc)[:80]}); not a file saved by this app") from None
    return check_metadata(meta, name, where)


def check_metadata(meta, name: str, where: str = _META) -> dict:
    """The field checks of :func:`parse_metadata` on an already decoded object."""
    if not isinstance(meta, dict):
        raise SpecError(f"{name}: {where} must be a JSON object; got {type(meta).__name__}")
    out: dict = {}
    if "config" in meta:
        if not isinstance(meta["config"], dict):
            raise SpecError(f"{name}: {where} config must be a JSON object; got {type(meta['config']).__name__}")
        out["config"] = meta["config"]
    if "preprocessing" in meta:
        pre = meta["preprocessing"]
        if not isinstance(pre, str) or pre not in PREPROCESSINGS:
            raise SpecError(f"{name}: {where} preprocessing must be one of {', '.join(PREPROCESSINGS)}; got {str(pre)[:40]!r}")
        out["preprocessing"] = pre
    if "trained" in meta:
        if not isinstance(meta["trained"], (bool, np.bool_)):
            raise SpecError(f"{name}: {where} trained must be true or false; got {str(meta['trained'])[:40]!r}")
        out["trained"] = bool(meta["trained"])
    if "label" in meta:
        if not isinstance(meta["label"], str):
            raise SpecError(f"{name}: {where} label must be text; got {type(meta['label']).__name__}")
        out["label"] = " ".join(meta["label"].split())[:120]
    return out


def _spec_of_metadata(meta: dict, name: str) -> ModelSpec:
    from .config import spec_from_config
    from .limits import check

    try:
        spec = spec_from_config(meta["config"])
    except SpecError as exc:
        raise SpecError(f"{name}: its model config is invalid: {exc}") from None
    check(spec, purpose="build")  # a file naming a model too large is refused before building it
    return spec


def _read_members(data: bytes, name: str) -> dict[str, bytes]:
    """The members of a .keras zip, each read with a bound (declared sizes are checked and
    never trusted: a member that inflates past its declared size is refused)."""
    import io
    import zlib

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            if len(infos) > len(KERAS_MEMBERS):
                raise SpecError(f"{name} holds {len(infos):,} files; a .keras file of this app holds {len(KERAS_MEMBERS)}")
            names = [i.filename for i in infos]
            odd = [n for n in names if n not in KERAS_MEMBERS]
            if odd or len(set(names)) != len(names):
                shown = (odd or names)[0][:60]
                raise SpecError(f"{name} holds {shown!r}; not a .keras file saved by this app (it holds only {', '.join(KERAS_MEMBERS)})")
            total = sum(i.file_size for i in infos)
            if total > MAX_KERAS_BYTES:
                raise SpecError(f"{name} expands to {total:,} bytes; the limit is {MAX_KERAS_BYTES:,} bytes")
            out = {}
            for info in infos:
                limit = MAX_KERAS_BYTES if info.filename == "model.weights.h5" else MAX_JSON_MEMBER_BYTES
                if info.file_size > limit:
                    raise SpecError(f"{name}: {info.filename} is {info.file_size:,} bytes; the limit is {limit:,}")
                with z.open(info) as f:
                    body = f.read(info.file_size + 1)
                if len(body) != info.file_size:
                    raise SpecError(f"{name}: {info.filename} does not have its declared size; the file is damaged or hostile")
                out[info.filename] = body
            return out
    except SpecError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError, ValueError) as exc:
        raise SpecError(f"{name} is not a .keras file (not a zip archive, or damaged: {_one_line(exc)[:80]}); it may be truncated") from None


def _walk_classes(cfg, name: str) -> None:
    """Every object with a ``class_name`` in the config must be one this app writes."""
    stack, seen = [cfg], 0
    while stack:
        x = stack.pop()
        seen += 1
        if seen > 2_000_000:
            raise SpecError(f"{name}: config.json is too large to be a model of this app")
        if isinstance(x, dict):
            if "class_name" in x:
                triple = (x.get("module"), x.get("class_name"), x.get("registered_name"))
                if not all(v is None or isinstance(v, str) for v in triple) or triple not in KERAS_CLASSES:
                    raise SpecError(f"{name}: config.json declares {str(triple[1])[:40]!r} from {str(triple[0])[:40]!r}; "
                                    "only the layers this app builds are loaded")
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)


def check_keras_config(cfg, spec: ModelSpec, name: str) -> None:
    """Refuse (one line) a ``config.json`` that declares anything but ``spec``'s network:
    the classes (:data:`KERAS_CLASSES`), the input shape, the layer names, and the weight
    shape of every Conv2D and Dense (from ``filters``/``units``, ``kernel_size`` and the
    declared input shape), compared with the counter's shapes (nothing is built)."""
    from .counter import analyze

    if not isinstance(cfg, dict) or cfg.get("class_name") != "Functional" or not isinstance(cfg.get("config"), dict):
        raise SpecError(f"{name}: config.json does not describe a functional Keras model; not a file saved by this app")
    _walk_classes(cfg, name)
    layers = cfg["config"].get("layers")
    if not isinstance(layers, list) or not layers:
        raise SpecError(f"{name}: config.json lists no layers")
    report = analyze(spec)
    want = report.weight_shapes()
    allowed = {"input", *report.by_name}
    for r in report.leaf_rows():
        allowed.update({f"{r.name}_pad", f"{r.name}_flatten", f"{r.name}_dropout", f"{r.name}_softmax"})
    got: dict[str, list[tuple[int, ...]]] = {}
    names = set()
    for layer in layers:
        lcfg = layer.get("config") if isinstance(layer, dict) else None
        lname = lcfg.get("name") if isinstance(lcfg, dict) else None
        if not isinstance(lname, str) or lname not in allowed or lname in names:
            raise SpecError(f"{name}: config.json declares a layer {str(lname)[:60]!r} that the {spec.name} "
                            "model of its own inception_viz.json does not have")
        names.add(lname)
        kind = layer.get("class_name")
        try:
            if kind == "InputLayer":
                if list(lcfg.get("batch_shape") or []) != [None, *spec.input_shape]:
                    raise SpecError(f"{name}: config.json's input is {lcfg.get('batch_shape')}, not {list(spec.input_shape)}")
            elif kind in ("Conv2D", "Dense"):
                cin = _declared_int(layer["build_config"]["input_shape"][-1])
                if kind == "Conv2D":
                    k = [_declared_int(v) for v in lcfg["kernel_size"]]
                    if lcfg.get("groups", 1) != 1 or not lcfg.get("use_bias", True):
                        raise SpecError(f"{name}: {lname} declares groups or no bias; this app builds neither")
                    out = _declared_int(lcfg["filters"])
                    got[lname] = [(*k, cin, out), (out,)]
                else:
                    out = _declared_int(lcfg["units"])
                    got[lname] = [(cin, out), (out,)]
                if got[lname] != want.get(lname):
                    raise SpecError(f"{name}: {lname} declares weights {got[lname][0]}; the {spec.name} model of its "
                                    f"inception_viz.json has {want.get(lname, [None])[0]}")
        except (KeyError, IndexError, TypeError, AttributeError):
            raise SpecError(f"{name}: config.json's layer {lname} is malformed") from None
    missing = sorted(set(want) - set(got))
    if missing:
        raise SpecError(f"{name}: config.json lacks {missing[0]} of the {spec.name} model ({len(missing)} layers missing)")


def _declared_int(v) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(v)
    return v


def check_keras_archive(data: bytes, name: str) -> tuple[dict[str, bytes], dict, ModelSpec]:
    """Everything checked about a ``.keras`` file before Keras opens it: bounded reads of
    at most :data:`KERAS_MEMBERS`, this app's metadata (:func:`parse_metadata`), its spec
    within the memory limit, and ``config.json`` declaring exactly that spec's network
    (:func:`check_keras_config`). Returns ``(members, metadata, spec)``."""
    members = _read_members(data, name)
    if _META not in members:
        raise SpecError(f"{name} has no {_META}: only .keras files saved by this app are loaded (Download the built model)")
    meta = parse_metadata(members[_META], name)
    if "config" not in meta:
        raise SpecError(f"{name}: {_META} has no model config; only .keras files saved by this app are loaded")
    spec = _spec_of_metadata(meta, name)
    for member in ("config.json", "metadata.json", "model.weights.h5"):
        if member not in members:
            raise SpecError(f"{name} has no {member}; it is not a complete .keras file")
    try:
        cfg = json.loads(members["config.json"].decode("utf-8"))
        json.loads(members["metadata.json"].decode("utf-8"))
    except RecursionError:
        raise SpecError(f"{name}: config.json is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise SpecError(f"{name}: config.json or metadata.json is not JSON text ({_one_line(exc)[:80]})") from None
    check_keras_config(cfg, spec, name)
    return members, meta, spec


def _load_keras_zip(data: bytes, tmp: Path, name: str):
    from .counter import analyze

    members, meta, spec = check_keras_archive(data, name)  # before TensorFlow is even imported
    from .keras_model import CUSTOM_OBJECTS  # first: imports TensorFlow quietly

    import keras

    # Keras reads a fresh archive of exactly the members checked above
    path = tmp / "model.keras"
    with zipfile.ZipFile(path, "w") as z:
        for member in ("metadata.json", "config.json", "model.weights.h5"):
            z.writestr(member, members[member])
    del members
    try:
        model = keras.saving.load_model(path, safe_mode=True, custom_objects=CUSTOM_OBJECTS, compile=False)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types; one line for the user
        raise SpecError(f"{name} could not be loaded as a Keras model: {_one_line(exc)}") from None
    # Layers without weights were checked by class only: their symbolic output shapes
    # (no allocation yet) must add up to the spec's tensors, so a padding or pooling
    # layer declared with other arguments cannot make the first forward pass explode.
    report = analyze(spec)
    values = sum(int(np.prod([d or 0 for d in l.output.shape[1:]])) for l in model.layers)
    if model.count_params() != report.total_params or values != report.forward_values:
        raise SpecError(f"{name}: the loaded model has {model.count_params():,} params and {values:,} activation "
                        f"values; its config says {report.total_params:,} and {report.forward_values:,}")
    return weights_by_layer(model), meta, spec


def _h5_text(value, name: str, key: str) -> str:
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise SpecError(f"{name}: attribute {key} is not UTF-8 text; not a file saved by this app") from None
    if isinstance(value, str):
        return value
    raise SpecError(f"{name}: attribute {key} must be text; got {type(value).__name__}")


def _read_h5(path: Path, name: str) -> tuple[dict, dict[str, list[tuple[int, ...]]], list[tuple[int, ...]]]:
    """This app's attributes (checked) and the shapes of every array in the file, read
    without loading the arrays (at most :data:`MAX_H5_ARRAYS`)."""
    import h5py

    shapes: list[tuple[int, ...]] = []

    def visit(_n, obj):
        if isinstance(obj, h5py.Dataset):
            shapes.append(tuple(int(v) for v in obj.shape))
            if len(shapes) > MAX_H5_ARRAYS:
                return True  # stop: far more arrays than any model of this app has
        return None

    try:
        with h5py.File(path, "r") as f:
            raw = {}
            for k in list(f.attrs.keys())[:64]:
                if isinstance(k, str) and k.startswith("inception_viz_"):
                    try:
                        raw[k.removeprefix("inception_viz_")] = f.attrs[k]
                    except Exception as exc:  # noqa: BLE001 - h5py raises OSError/TypeError on odd types
                        raise SpecError(f"{name}: attribute {k} cannot be read ({type(exc).__name__})") from None
            f.visititems(visit)
    except SpecError:
        raise
    except Exception as exc:  # noqa: BLE001 - h5py raises OSError, KeyError, RuntimeError ... on damaged files
        raise SpecError(f"{name} is not an HDF5 weights file ({type(exc).__name__}); it may be truncated") from None
    if len(shapes) > MAX_H5_ARRAYS:
        raise SpecError(f"{name} holds more than {MAX_H5_ARRAYS:,} arrays; not a weights file of this app")
    meta: dict = {}
    for key in ("config", "preprocessing", "label"):
        if key in raw:
            meta[key] = _h5_text(raw[key], name, f"inception_viz_{key}")
    if "trained" in raw:
        meta["trained"] = raw["trained"]
    if "config" in meta:
        if len(meta["config"]) > MAX_JSON_MEMBER_BYTES:
            raise SpecError(f"{name}: attribute inception_viz_config is longer than {MAX_JSON_MEMBER_BYTES:,} characters")
        try:
            meta["config"] = json.loads(meta["config"])
        except (ValueError, RecursionError):
            raise SpecError(f"{name}: attribute inception_viz_config is not a JSON config") from None
    return check_metadata(meta, name, "its attributes"), shapes


def check_h5_shapes(shapes: list[tuple[int, ...]], spec: ModelSpec, name: str) -> None:
    """The arrays of a ``.weights.h5`` must be exactly the weight shapes of ``spec``'s
    model, computed by the counter (:meth:`~inception_viz.counter.Report.weight_shapes`)
    without building it: an empty, short or foreign file is refused before the build."""
    from .counter import analyze

    want = sorted(s for pair in analyze(spec).weight_shapes().values() for s in pair)
    if sorted(shapes) != want:
        what = "no arrays" if not shapes else f"{len(shapes):,} arrays"
        raise SpecError(
            f"{name} does not fit the {spec.name} model: it holds {what}, the model has {len(want)} (or their shapes differ)"
        )


def _load_weights_h5(path: Path, name: str, spec: ModelSpec | None):
    from .presets import preset

    meta, shapes = _read_h5(path, name)
    saved_spec = _spec_of_metadata(meta, name) if "config" in meta else (spec or preset("googlenet"))
    check_h5_shapes(shapes, saved_spec, name)  # before building: nothing is allocated for a file that cannot fit
    from .keras_model import build_keras  # imports TensorFlow

    model = build_keras(saved_spec, seed=0)
    try:
        model.load_weights(path)
    except Exception as exc:  # noqa: BLE001
        raise SpecError(f"{name} does not fit the {saved_spec.name} model: {_one_line(exc)}") from None
    return weights_by_layer(model), meta, saved_spec


def load_weights_file(source: str | Path | bytes, name: str | None = None, spec: ModelSpec | None = None) -> Weights:
    """Dispatch on the file name: ``.onnx`` -> :func:`load_onnx`; ``.keras`` /
    ``.weights.h5`` -> :func:`load_keras_file`."""
    fname = name or (Path(source).name if not isinstance(source, (bytes, bytearray)) else "")
    if fname.endswith(".onnx"):
        return load_onnx(source, name)
    if fname.endswith((".keras", ".weights.h5")):
        return load_keras_file(source, name, spec)
    raise SpecError(f"{fname or 'weights file'}: weights files must end in .onnx, .keras or .weights.h5")


def resolve_weights(choice: str | None, seed: int = 0, spec: ModelSpec | None = None) -> Weights:
    """The CLI's ``--weights``: ``random`` (default), ``imagenet`` (the cached zoo file) or a
    path to an ``.onnx`` / ``.keras`` / ``.weights.h5`` file."""
    if not choice or choice == "random":
        return random_weights(seed)
    if choice == "imagenet":
        return imagenet_weights()
    return load_weights_file(choice, spec=spec)


# -- transfer ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TransferReport:
    """Which layers of a model got pretrained weights.

    ``pretrained``: layers whose every weight shape matched and were set; ``fresh``: layers
    with weights that kept their new initialisation; ``mismatched``: the subset of
    ``fresh`` that had pretrained weights of another shape, with the shapes."""

    pretrained: tuple[str, ...]
    fresh: tuple[str, ...]
    mismatched: dict[str, str] = field(default_factory=dict)
    source: str = "random"

    @property
    def all_pretrained(self) -> bool:
        return bool(self.pretrained) and not self.fresh

    def _status(self, names: list[str]) -> str:
        names = [n for n in names if n in self.pretrained or n in self.fresh]
        if not names:
            return "no weights"
        k = sum(n in self.pretrained for n in names)
        return "pretrained" if k == len(names) else ("fresh" if k == 0 else "partly pretrained")

    def layer_status(self, spec: ModelSpec) -> dict[str, str]:
        """Top-level row name (``conv1``, ``inception_3a``, ``linear``, …) -> ``pretrained``,
        ``partly pretrained``, ``fresh`` or ``no weights``."""
        out = {}
        for layer in spec.active_layers:
            if isinstance(layer, Inception):
                out[layer.name] = self._status([n for n in self.pretrained + self.fresh if n.startswith(layer.name + "_")])
            else:
                out[layer.name] = self._status([layer.name])
        return out

    def branch_status(self, spec: ModelSpec) -> dict[str, dict[str, str]]:
        """Block -> {branch key -> status}: ``1x1``, ``3x3`` (with its reduce), ``5x5``,
        ``pool_proj``."""
        out = {}
        for b in spec.blocks:
            n = b.name
            out[b.name] = {
                "1x1": self._status([f"{n}_1x1"]),
                "3x3": self._status([f"{n}_3x3_reduce", f"{n}_3x3"]),
                "5x5": self._status([f"{n}_5x5_reduce", f"{n}_5x5"]),
                "pool_proj": self._status([f"{n}_pool_proj"]),
            }
        return out


def transfer(pretrained_by_layer: dict[str, list[np.ndarray]] | None, new_model, source: str = "pretrained") -> TransferReport:
    """Set every layer of ``new_model`` whose weight shapes all match the pretrained
    layer of the same name; leave every other layer as initialised."""
    pretrained, fresh, mismatched = [], [], {}
    for layer in new_model.layers:
        if not layer.weights:
            continue
        src = (pretrained_by_layer or {}).get(layer.name)
        want = [tuple(v.shape) for v in layer.weights]
        if src is not None and [tuple(np.shape(a)) for a in src] == want:
            layer.set_weights([np.asarray(a) for a in src])
            pretrained.append(layer.name)
        else:
            fresh.append(layer.name)
            if src is not None:
                mismatched[layer.name] = f"model {want} vs pretrained {[tuple(np.shape(a)) for a in src]}"
    return TransferReport(tuple(pretrained), tuple(fresh), mismatched, source if pretrained_by_layer else "random")


def apply_weights(model, weights: Weights) -> TransferReport:
    """:func:`transfer` of ``weights`` onto ``model`` (random weights: nothing changes)."""
    return transfer(weights.by_layer, model, weights.source)


def model_with_weights(spec: ModelSpec, weights: Weights, device: str | None = None):
    """``(model, TransferReport)``: ``spec`` built with ``weights.seed``, then ``weights``
    transferred onto it; the model ``predict`` runs and every model export saves."""
    from .keras_model import build_keras

    model = build_keras(spec, device=device, seed=weights.seed)
    return model, apply_weights(model, weights)


def prediction_note(weights: Weights, report: TransferReport | None) -> str | None:
    """What to say above any prediction: random weights are meaningless, partly transferred
    weights are not the trained network's; ``None`` when the whole network is trained."""
    if not weights.trained or not report or not report.pretrained:
        return RANDOM_NOTE
    # auxiliary classifiers (aux1_*, aux2_*) do not feed the main output
    if any(not n.startswith(("aux1_", "aux2_")) for n in report.fresh):
        return PARTIAL_NOTE
    return None



def training_differences(spec: ModelSpec, weights: Weights, tr: Translator | None = None) -> tuple[str, ...]:
    """Notes for every way the network ``spec`` differs from the one ``weights`` were
    trained as (LRN switched off or on, another input size, another number of classes);
    empty for random weights or when nothing differs. Edited widths are :func:`transfer`'s
    business (:data:`PARTIAL_NOTE`), the auxiliary classifiers do not change the output.
    ``tr``: the language of the notes (English, as the CLI prints them)."""
    tr = resolve(tr)
    base = weights.trained_spec
    if not weights.trained or base is None:
        return ()
    notes = []
    if spec.lrn != base.lrn and any(l.kind == "lrn" for l in base.layers):
        notes.append(tr.gettext("LRN is off, but these weights were trained with LRN on: every layer after conv1 "
                                "sees other values than in training, so these are not the trained network's "
                                "predictions.") if base.lrn else
                     tr.gettext("LRN is on, but these weights were trained with LRN off: every layer after conv1 "
                                "sees other values than in training, so these are not the trained network's "
                                "predictions."))
    if tuple(spec.input_shape) != tuple(base.input_shape):
        shape = "x".join(map(str, spec.input_shape))
        trained = "x".join(map(str, base.input_shape))
        notes.append(tr.gettext("The input is {shape}, but these weights were trained on {trained}: the feature maps "
                                "have other sizes than in training, so accuracy is not the trained network's.").format(
                                    shape=shape, trained=trained))
    if spec.classes != base.classes:
        notes.append(tr.gettext("The model has {classes} classes, but these weights were trained for {trained}: the "
                                "classifier is freshly initialised, so its outputs are meaningless.").format(
                                    classes=tr.int(spec.classes), trained=tr.int(base.classes)))
    return tuple(notes)


def prediction_notes(spec: ModelSpec, weights: Weights, report: TransferReport | None,
                     tr: Translator | None = None) -> tuple[str, ...]:
    """Everything to say above a prediction: :func:`prediction_note` (random or partly
    re-initialised weights) and then :func:`training_differences`, without repeats.
    ``tr``: the language of the notes (English, as the CLI prints them)."""
    first = prediction_note(weights, report)
    out = [resolve(tr).gettext(first)] if first else []
    if first != RANDOM_NOTE:  # random weights: the differences to training do not matter
        out.extend(training_differences(spec, weights, tr))
    return tuple(out)
