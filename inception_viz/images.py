"""Image decoding and rendering as pure functions (Pillow + numpy, no TensorFlow).

Decoding (:func:`decode_image`) turns uploaded bytes into an ``H x W x 3`` ``uint8`` RGB
array: JPEG, PNG, WebP, BMP and GIF (first frame); EXIF orientation applied; grayscale,
palette, CMYK, RGBA/LA (composited on white) and 16-bit images converted to 8-bit RGB.
Bad input raises :class:`~inception_viz.spec.SpecError` with one line saying what to change:
empty files, files over :data:`MAX_UPLOAD_BYTES`, non-images, truncated files and images
over :data:`MAX_PIXELS` (checked from the header, *before* any pixel is decoded, so a
decompression bomb is never expanded). Allowed images larger than :data:`MAX_SIDE` are
downscaled.

Resizing to the network input (:func:`resize_to_input`) is a direct resize of the whole
image to the input size (aspect ratio not kept), as in the ONNX Model Zoo's GoogLeNet
README (``Image.fromarray(img).resize((224, 224))``, Pillow's default bicubic filter). A
direct resize also keeps every pixel of the photo in view, so a Grad-CAM heat map lines up
with the whole image. ``method="center_crop"`` (shorter side to the input size, then a
centred crop) is available for comparison.

Rendering: :func:`mosaic` tiles the channels of one activation map into ONE image with one
colour scale, :func:`channel_image` enlarges one channel, :func:`overlay_heatmap` blends a
Grad-CAM map onto the photo, :func:`draw_field` / :func:`draw_unit_field` draw a unit's
theoretical receptive field on the photo.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .spec import SpecError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .counter import FieldBox, Report

#: Largest upload accepted, in bytes (20 MiB).
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
#: Largest image accepted, in pixels (width x height), checked from the header.
MAX_PIXELS = 50_000_000
#: Images with a longer side than this are downscaled after decoding.
MAX_SIDE = 2048
#: Formats accepted (Pillow's format names).
FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF")

# Pillow warns at MAX_IMAGE_PIXELS and raises DecompressionBombError at twice that; our own
# check below refuses anything over MAX_PIXELS before decoding.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

ASSETS = Path(__file__).resolve().parent.parent / "assets"
#: Bundled sample photos (see assets/README for sources and licences).
SAMPLES: dict[str, str] = {
    "cat": "cat.jpg",
    "coffee": "coffee.jpg",
    "astronaut": "astronaut.jpg",
    "rocket": "rocket.jpg",
}


def _fmt_bytes(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MiB" if n >= 1024 * 1024 else f"{n:,} bytes"


def decode_image(data: bytes, name: str = "image") -> np.ndarray:
    """Decode an uploaded image into an ``H x W x 3`` uint8 RGB array (see module docstring).

    ``name`` only appears in error messages."""
    if data is None or len(data) == 0:
        raise SpecError(f"{name} is empty; upload a JPEG, PNG, WebP, BMP or GIF image")
    if len(data) > MAX_UPLOAD_BYTES:
        raise SpecError(
            f"{name} is {_fmt_bytes(len(data))}; the limit is {_fmt_bytes(MAX_UPLOAD_BYTES)}, upload a smaller image"
        )
    try:
        im = Image.open(io.BytesIO(data))  # lazy: reads the header only
    except Image.DecompressionBombError as exc:  # Pillow refuses > 2 x MAX_IMAGE_PIXELS itself
        m = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(m.group(1)):,} pixels" if m else "too many pixels"
        raise SpecError(f"{name} is {size}; the limit is {MAX_PIXELS:,} pixels, upload a smaller image") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise SpecError(f"{name} is not a readable image ({type(exc).__name__}); upload a JPEG, PNG, WebP, BMP or GIF image") from None
    if im.format not in FORMATS:
        raise SpecError(f"{name} is a {im.format} image; upload a JPEG, PNG, WebP, BMP or GIF image")
    w, h = im.size
    if w < 1 or h < 1:
        raise SpecError(f"{name} has no pixels ({h}x{w}, height × width)")
    if w * h > MAX_PIXELS:
        raise SpecError(
            f"{name} is {h}x{w} (height × width) = {w * h:,} pixels; the limit is {MAX_PIXELS:,} pixels, upload a smaller image"
        )
    try:
        if im.format == "GIF":
            im.seek(0)
        if im.format == "JPEG" and max(w, h) > 2 * MAX_SIDE:
            im.draft("RGB", (MAX_SIDE, MAX_SIDE))  # decode a downscaled JPEG directly
        im.load()
        im = ImageOps.exif_transpose(im)
        rgb = _to_rgb8(im)
    except SpecError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, EOFError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SpecError(f"{name} could not be decoded ({msg}); the file may be truncated, upload it again") from None
    if max(rgb.shape[:2]) > MAX_SIDE:
        pil = Image.fromarray(rgb)
        pil.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        rgb = np.asarray(pil)
    return np.ascontiguousarray(rgb, dtype=np.uint8)


def _to_rgb8(im: Image.Image) -> np.ndarray:
    """Any Pillow mode to 8-bit RGB: 16-bit and 32-bit integer grayscale are scaled
    (65535 -> 255), alpha is composited on white, everything else goes through
    Pillow's own conversion (palette, CMYK, YCbCr, 1-bit, L)."""
    mode = im.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        a = np.asarray(im).astype(np.float64)
        if mode == "I" and a.max(initial=0) <= 255:
            pass  # 8-bit values stored as 32-bit ints
        else:
            a = a / 257.0  # 0..65535 -> 0..255
        g = np.clip(np.rint(a), 0, 255).astype(np.uint8)
        return np.repeat(g[:, :, None], 3, axis=2)
    if mode == "F":
        g = np.clip(np.rint(np.asarray(im, dtype=np.float64)), 0, 255).astype(np.uint8)
        return np.repeat(g[:, :, None], 3, axis=2)
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode == "P" and "transparency" in im.info) or (
        mode in ("L", "RGB") and "transparency" in im.info
    )
    if has_alpha:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    return np.asarray(im.convert("RGB"))


def read_image_file(path: str | Path) -> np.ndarray:
    """:func:`decode_image` on a file, reading at most the upload limit (+1 byte to detect
    larger files)."""
    p = Path(path)
    if not p.is_file():  # a FIFO or a device (/dev/zero) is refused too: st_size would lie
        raise SpecError(f"image file {str(p)!r} " + ("is not a regular file" if p.exists() else "does not exist"))
    with open(p, "rb") as f:
        data = f.read(MAX_UPLOAD_BYTES + 1)
    return decode_image(data, name=p.name)


def sample_path(name: str) -> Path:
    if name not in SAMPLES:
        raise SpecError(f"no sample image {name!r}; samples are: {', '.join(SAMPLES)}")
    return ASSETS / SAMPLES[name]


def load_sample(name: str) -> np.ndarray:
    """A bundled sample photo (``cat``, ``coffee``, ``astronaut``, ``rocket``) as RGB uint8."""
    return read_image_file(sample_path(name))


def resize_to_input(rgb: np.ndarray, size: tuple[int, int] = (224, 224), method: str = "resize") -> np.ndarray:
    """``rgb`` (H x W x 3 uint8) to ``size`` = (height, width).

    ``method="resize"`` (default): the whole image resized directly (bicubic), as the ONNX
    Model Zoo GoogLeNet README does. ``"center_crop"``: shorter side to the target, then a
    centred crop. Orientation is kept: row 0 stays the top, column 0 the left."""
    th, tw = int(size[0]), int(size[1])
    pil = Image.fromarray(np.asarray(rgb, dtype=np.uint8))
    if method == "resize":
        out = pil.resize((tw, th), Image.Resampling.BICUBIC)
    elif method == "center_crop":
        w, h = pil.size
        scale = max(th / h, tw / w)
        nw, nh = max(tw, round(w * scale)), max(th, round(h * scale))
        pil = pil.resize((nw, nh), Image.Resampling.BICUBIC)
        left, top = (nw - tw) // 2, (nh - th) // 2
        out = pil.crop((left, top, left + tw, top + th))
    else:
        raise SpecError(f"unknown resize method {method!r}; allowed: resize, center_crop")
    return np.asarray(out, dtype=np.uint8)


def encode_png(image: np.ndarray) -> bytes:
    """A uint8 array (H x W or H x W x 3) as PNG bytes."""
    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


# -- colour maps and mosaics ---------------------------------------------------------------

# Anchor colours of matplotlib's "viridis" (0, 1/8, ..., 1), linearly interpolated.
_VIRIDIS = np.array(
    [
        [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
        [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
    ],
    dtype=np.float64,
)
# Anchor colours of "inferno" for heat maps.
_INFERNO = np.array(
    [
        [0, 0, 4], [31, 12, 72], [85, 15, 109], [136, 34, 106], [186, 54, 85],
        [227, 89, 51], [249, 140, 10], [249, 201, 50], [252, 255, 164],
    ],
    dtype=np.float64,
)
COLORMAPS = {"viridis": _VIRIDIS, "inferno": _INFERNO}


def colorize(values: np.ndarray, vmin: float, vmax: float, cmap: str = "viridis") -> np.ndarray:
    """Map ``values`` linearly from [vmin, vmax] onto a colour map; returns uint8 (..., 3).
    NaN (used for the gaps of a mosaic) becomes white."""
    anchors = COLORMAPS[cmap]
    v = np.asarray(values, dtype=np.float64)
    span = vmax - vmin
    t = np.zeros_like(v) if span <= 0 else (v - vmin) / span
    nan = np.isnan(t)
    t = np.clip(np.nan_to_num(t), 0.0, 1.0) * (len(anchors) - 1)
    lo = np.floor(t).astype(int)
    hi = np.minimum(lo + 1, len(anchors) - 1)
    frac = (t - lo)[..., None]
    rgb = anchors[lo] * (1 - frac) + anchors[hi] * frac
    rgb[nan] = 255.0
    return np.rint(rgb).astype(np.uint8)


@dataclass(frozen=True)
class Mosaic:
    """All channels of one activation map tiled into one image.

    ``image``: uint8 (H', W', 3); ``vmin``/``vmax``: the single colour scale of the whole
    mosaic (activation units); ``order``: channel indices in tile order (row-major);
    ``grid``: (rows, cols); ``tile``: (h, w) of one channel in pixels (after ``scale``);
    ``pad``: pixels of white between tiles."""

    image: np.ndarray
    vmin: float
    vmax: float
    order: tuple[int, ...]
    grid: tuple[int, int]
    tile: tuple[int, int]
    pad: int

    def channel_at(self, row: int, col: int) -> int | None:
        i = row * self.grid[1] + col
        return self.order[i] if 0 <= i < len(self.order) else None


def channel_order(act: np.ndarray, sort: str = "index") -> tuple[int, ...]:
    """Channel indices of ``act`` (H x W x C): ``"index"`` as they are, ``"mean"`` by
    decreasing mean activation (ties keep index order)."""
    c = act.shape[-1]
    if sort == "index":
        return tuple(range(c))
    if sort == "mean":
        means = act.reshape(-1, c).mean(axis=0)
        return tuple(int(i) for i in np.argsort(-means, kind="stable"))
    raise SpecError(f"unknown channel sort {sort!r}; allowed: index, mean")


def most_active_channel(act: np.ndarray) -> int:
    """The channel of ``act`` (… x H x W x C) with the largest mean activation, ties broken
    by the largest maximum, then the lowest index: where an enlarged view should start
    (channel 0 of a photo's map can be all dark)."""
    flat = np.asarray(act).reshape(-1, act.shape[-1])
    means, maxes = flat.mean(axis=0), flat.max(axis=0)
    return int(np.lexsort((np.arange(len(means)), -maxes, -means))[0])


def mosaic(
    act: np.ndarray,
    sort: str = "index",
    cols: int | None = None,
    pad: int = 1,
    scale: int = 1,
    cmap: str = "viridis",
) -> Mosaic:
    """Tile the channels of ``act`` (H x W x C, or 1 x H x W x C) into ONE image with one
    colour scale (the min and max over all channels). ``cols`` defaults to
    ``ceil(sqrt(C))``; ``scale`` enlarges each pixel to ``scale x scale`` (nearest)."""
    a = np.asarray(act, dtype=np.float32)
    if a.ndim == 4:
        a = a[0]
    if a.ndim != 3:
        raise SpecError(f"mosaic needs an H x W x C activation map, got shape {a.shape}")
    h, w, c = a.shape
    order = channel_order(a, sort)
    cols = cols or int(np.ceil(np.sqrt(c)))
    rows = int(np.ceil(c / cols))
    vmin, vmax = float(a.min()), float(a.max())
    if scale > 1:
        a = a.repeat(scale, axis=0).repeat(scale, axis=1)
        h, w = h * scale, w * scale
    grid = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad), np.nan, dtype=np.float32)
    # Place every tile with one reshaped assignment per row of tiles.
    tiles = a[:, :, list(order)].transpose(2, 0, 1)  # C x h x w in tile order
    for i in range(c):
        r, q = divmod(i, cols)
        grid[r * (h + pad) : r * (h + pad) + h, q * (w + pad) : q * (w + pad) + w] = tiles[i]
    return Mosaic(colorize(grid, vmin, vmax, cmap), vmin, vmax, order, (rows, cols), (h, w), pad)


def channel_image(act: np.ndarray, channel: int, size: int = 224, vmin: float | None = None,
                  vmax: float | None = None, cmap: str = "viridis") -> np.ndarray:
    """One channel of ``act`` enlarged (nearest neighbour, so each activation stays a
    visible square) to at least ``size`` pixels on its longer side; colour scale
    [vmin, vmax] (defaults: the channel's own min and max)."""
    a = np.asarray(act, dtype=np.float32)
    if a.ndim == 4:
        a = a[0]
    if not 0 <= channel < a.shape[-1]:
        raise SpecError(f"channel {channel} does not exist; this map has channels 0..{a.shape[-1] - 1}")
    ch = a[:, :, channel]
    lo = float(ch.min()) if vmin is None else vmin
    hi = float(ch.max()) if vmax is None else vmax
    k = max(1, int(np.ceil(size / max(ch.shape))))
    return colorize(ch.repeat(k, axis=0).repeat(k, axis=1), lo, hi, cmap)


def overlay_heatmap(rgb: np.ndarray, heat: np.ndarray, alpha: float = 0.45, cmap: str = "inferno") -> np.ndarray:
    """Blend ``heat`` (values in [0, 1], any size) onto ``rgb`` (H x W x 3 uint8): the heat
    map is resized (bilinear) to the image, coloured, and mixed with weight ``alpha``."""
    rgb = np.asarray(rgb, dtype=np.uint8)
    h, w = rgb.shape[:2]
    hm = np.asarray(heat, dtype=np.float32)
    if hm.shape != (h, w):
        hm = np.asarray(Image.fromarray(hm, mode="F").resize((w, h), Image.Resampling.BILINEAR))
    colour = colorize(np.clip(hm, 0, 1), 0.0, 1.0, cmap).astype(np.float32)
    out = (1 - alpha) * rgb.astype(np.float32) + alpha * colour
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


# -- receptive fields ----------------------------------------------------------------------

#: Outline colour of a drawn receptive field (Okabe-Ito vermillion).
FIELD_COLOR = (213, 94, 0)


def draw_field(rgb: np.ndarray, box: "FieldBox | None", input_hw: tuple[int, int] | None = None,
               centre: tuple[float, float] | None = None, color: tuple[int, int, int] = FIELD_COLOR,
               dim: float = 0.55, line: int | None = None) -> np.ndarray:
    """``rgb`` (H x W x 3 uint8, the photo as the network sees it, at any scale) with a
    field drawn on it: everything outside ``box`` darkened by ``dim`` (0 = not at all),
    the box outlined in ``color`` and the unit's ``centre`` marked with a cross.

    ``box`` and ``centre`` are in input pixels (a clipped
    :class:`~inception_viz.counter.FieldBox`, e.g. from ``Report.unit_box``; ``None``
    darkens the whole image: the field lies in the padding only); ``input_hw`` is the
    network input's (height, width), by default the image's own size; input pixel ``i``
    covers image rows ``[i * H / h, (i + 1) * H / h)``. Returns a new uint8 array."""
    img = np.asarray(rgb, dtype=np.uint8)
    if img.ndim != 3 or img.shape[2] != 3:
        raise SpecError(f"draw_field needs an H x W x 3 RGB image, got shape {img.shape}")
    if not 0.0 <= dim <= 1.0:
        raise SpecError(f"dim must be between 0 and 1, got {dim}")
    H, W = img.shape[:2]
    ih, iw = input_hw or (H, W)
    sy, sx = H / ih, W / iw
    out = img.astype(np.float32)
    inside = np.zeros((H, W), bool)
    if box is not None:
        t, l = int(np.floor(box.top * sy)), int(np.floor(box.left * sx))
        b, r = int(np.ceil((box.bottom + 1) * sy)), int(np.ceil((box.right + 1) * sx))
        t, l, b, r = max(t, 0), max(l, 0), min(b, H), min(r, W)
        inside[t:b, l:r] = True
    out[~inside] *= 1.0 - dim
    out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    lw = line or max(1, round(min(H, W) / 150))
    col = np.array(color, dtype=np.uint8)
    if box is not None and b > t and r > l:
        out[t : min(t + lw, b), l:r] = col
        out[max(b - lw, t) : b, l:r] = col
        out[t:b, l : min(l + lw, r)] = col
        out[t:b, max(r - lw, l) : r] = col
    if centre is not None:
        cy, cx = (centre[0] + 0.5) * sy, (centre[1] + 0.5) * sx
        if 0 <= cy < H and 0 <= cx < W:
            arm = max(3, 4 * lw)
            y, x = int(cy), int(cx)
            half = max(lw // 2, 0)
            out[max(y - half, 0) : y + half + 1, max(x - arm, 0) : x + arm + 1] = col
            out[max(y - arm, 0) : y + arm + 1, max(x - half, 0) : x + half + 1] = col
    return out


def draw_unit_field(rgb: np.ndarray, report: "Report", layer: str, row: int, col: int, **kwargs) -> np.ndarray:
    """Unit ``(row, col)`` of ``layer``'s map (a row or block part name of ``report``,
    e.g. ``inception_4c`` or ``inception_4c_3x3``): its theoretical field, clipped at the
    borders, drawn on ``rgb`` (the photo as the network sees it, at any scale) with
    :func:`draw_field`. A unit outside the map is a :class:`SpecError`."""
    box = report.unit_box(layer, row, col)
    centre = report.row(layer).receptive_field.centre(row, col)
    return draw_field(rgb, box, tuple(report.spec.input_shape[:2]), centre=centre, **kwargs)
