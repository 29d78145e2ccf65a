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
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

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

RANDOM_NOTE = (
    "These weights are random: the network is untrained, so its predictions are meaningless "
    "(the class names are there only to show the mechanics)."
)
PARTIAL_NOTE = (
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
    dest = zoo_cache_path()
    dest.parent.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    done = 0
    fd, tmp = tempfile.mkstemp(prefix=".googlenet-", suffix=".part", dir=dest.parent)
    try:
        try:
            with os.fdopen(fd, "wb") as out, opener(url, timeout=timeout) as resp:
                while True:
                    chunk = resp.read(1 << 20)
                    if not chunk:
                        break
                    done += len(chunk)
                    if done > expected_size:
                        raise SpecError(f"download from {url} is larger than the expected {expected_size:,} bytes; not the zoo file")
                    h.update(chunk)
                    out.write(chunk)
                    if progress:
                        progress(done, expected_size)
        except SpecError:
            raise
        except Exception as exc:  # noqa: BLE001 - network errors of every kind become one line
            raise SpecError(
                f"could not download {ZOO_FILENAME} ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                f"offline? copy the file into {dest.parent} or upload it"
            ) from None
        digest = h.hexdigest()
        if digest != expected_sha256:
            raise SpecError(f"downloaded {ZOO_FILENAME} has SHA-256 {digest[:16]}…, expected {expected_sha256[:16]}…; not saved")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


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
        dest = zoo_cache_path()
        dest.parent.mkdir(parents=True, exist_ok=True)
        h = hashlib.sha256()
        n = 0
        tmp_fd, tmp = tempfile.mkstemp(prefix=".googlenet-", suffix=".part", dir=dest.parent)
        try:
            with os.fdopen(tmp_fd, "wb") as out:
                try:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        n += len(chunk)
                        if n > ZOO_SIZE:
                            break
                        h.update(chunk)
                        out.write(chunk)
                except OSError:
                    raise SpecError("cannot be read") from None
            if n != ZOO_SIZE or h.hexdigest() != ZOO_SHA256:
                raise SpecError(f"is not the ONNX Model Zoo's {ZOO_FILENAME}: its SHA-256 is not {ZOO_SHA256[:16]}…")
            os.replace(tmp, dest)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return dest


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
    description=(
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
    description="Random weights: the whole image resized to the input size (bicubic), pixel values scaled from 0-255 to -1..1, RGB.",
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

    def __hash__(self):
        return hash(self.key)

    def __eq__(self, other):
        return isinstance(other, Weights) and other.key == self.key


def random_weights(seed: int = 0) -> Weights:
    return Weights("random", f"random initialisation (seed {seed})", f"random:{seed}", RANDOM_PREPROCESSING, None, False, seed)


def _read_limited(path: str | Path, limit: int, what: str) -> bytes:
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"{what} {str(p)!r} does not exist")
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
                       ZOO_PREPROCESSING, by_layer, True, ignored=ignored)
    return Weights("onnx", f"{name} (ONNX, zoo layout, SHA-256 {digest[:12]}…)", f"sha256:{digest}",
                   ZOO_PREPROCESSING, by_layer, True, ignored=ignored)


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
    """Weights from a ``.keras`` model (``safe_mode=True``) or a ``.weights.h5`` file saved by
    this app. A ``.weights.h5`` without this app's attributes is loaded into ``spec``'s
    model (default ``googlenet``) and must fit it exactly."""
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
            path = Path(d) / "model.keras"
            path.write_bytes(data)
            by_layer, meta = _load_keras_zip(path, name)
        elif name.endswith(".weights.h5"):
            path = Path(d) / "model.weights.h5"
            path.write_bytes(data)
            by_layer, meta = _load_weights_h5(path, name, spec)
        else:
            raise SpecError(f"{name}: weights files must end in .onnx, .keras or .weights.h5")
    pre = PREPROCESSINGS.get(meta.get("preprocessing"), RANDOM_PREPROCESSING)
    label = f"{name} ({meta.get('label', 'Keras file')})"
    return Weights("keras", label, f"sha256:{digest}", pre, by_layer, bool(meta.get("trained", False)))


def _load_keras_zip(path: Path, name: str):
    import keras

    from .keras_model import CUSTOM_OBJECTS

    try:
        with zipfile.ZipFile(path) as z:
            total = sum(i.file_size for i in z.infolist())
            if total > MAX_KERAS_BYTES:
                raise SpecError(f"{name} expands to {total:,} bytes; the limit is {MAX_KERAS_BYTES:,} bytes")
            meta = json.loads(z.read(_META)) if _META in z.namelist() else {}
    except zipfile.BadZipFile:
        raise SpecError(f"{name} is not a .keras file (not a zip archive); it may be truncated") from None
    try:
        model = keras.saving.load_model(path, safe_mode=True, custom_objects=CUSTOM_OBJECTS, compile=False)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types; one line for the user
        msg = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise SpecError(f"{name} could not be loaded as a Keras model: {msg}") from None
    return weights_by_layer(model), meta


def _load_weights_h5(path: Path, name: str, spec: ModelSpec | None):
    import h5py

    from .config import loads_config
    from .keras_model import build_keras
    from .presets import preset

    try:
        with h5py.File(path, "r") as f:
            meta = {k.removeprefix("inception_viz_"): (v.decode() if isinstance(v, bytes) else v)
                    for k, v in f.attrs.items() if k.startswith("inception_viz_")}
    except OSError:
        raise SpecError(f"{name} is not an HDF5 weights file; it may be truncated") from None
    saved_spec = loads_config(meta["config"]) if "config" in meta else (spec or preset("googlenet"))
    model = build_keras(saved_spec, seed=0)
    # Keras may skip groups it cannot match with only a warning: require that the file
    # holds exactly the model's weight shapes before loading, so nothing stays random.
    shapes: list[tuple[int, ...]] = []
    with h5py.File(path, "r") as f:
        f.visititems(lambda _n, obj: shapes.append(tuple(obj.shape)) if isinstance(obj, h5py.Dataset) else None)
    want = sorted(tuple(v.shape) for v in model.weights)
    if sorted(shapes) != want:
        raise SpecError(
            f"{name} does not fit the {saved_spec.name} model: it holds {len(shapes)} arrays, "
            f"the model has {len(want)} (or their shapes differ)"
        )
    try:
        model.load_weights(path)
    except Exception as exc:  # noqa: BLE001
        msg = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise SpecError(f"{name} does not fit the {saved_spec.name} model: {msg}") from None
    if "trained" in meta:
        meta["trained"] = bool(meta["trained"])
    return weights_by_layer(model), meta


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


def prediction_note(weights: Weights, report: TransferReport | None) -> str | None:
    """What to say above any prediction: random weights are meaningless, partly transferred
    weights are not the trained network's; ``None`` when the whole network is trained."""
    if not weights.trained or not report or not report.pretrained:
        return RANDOM_NOTE
    # auxiliary classifiers (aux1_*, aux2_*) do not feed the main output
    if any(not n.startswith(("aux1_", "aux2_")) for n in report.fresh):
        return PARTIAL_NOTE
    return None

