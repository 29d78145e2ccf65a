"""Decoding every accepted format and mode to 224x224x3 with the right orientation, refusing
bad files before decoding, and the numpy mosaics."""

import io

import numpy as np
import pytest
from PIL import Image

from inception_viz import images
from inception_viz.images import decode_image, mosaic, resize_to_input
from inception_viz.spec import SpecError

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def quadrants(h=60, w=80) -> np.ndarray:
    """Displayed orientation marker: red top-left, green top-right, blue bottom-left,
    white bottom-right."""
    a = np.zeros((h, w, 3), np.uint8)
    a[: h // 2, : w // 2] = RED
    a[: h // 2, w // 2 :] = GREEN
    a[h // 2 :, : w // 2] = BLUE
    a[h // 2 :, w // 2 :] = WHITE
    return a


def assert_quadrants(rgb: np.ndarray, tol=40):
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
    h, w = rgb.shape[:2]
    # sample the centre of each quadrant (away from resampling and JPEG edges)
    for (y, x), colour in zip(
        [(h // 4, w // 4), (h // 4, 3 * w // 4), (3 * h // 4, w // 4), (3 * h // 4, 3 * w // 4)],
        [RED, GREEN, BLUE, WHITE],
    ):
        got = rgb[y, x].astype(int)
        assert np.all(np.abs(got - colour) <= tol), f"pixel ({y},{x}) is {got.tolist()}, expected {colour}"


def encode(pil: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    pil.save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP", "GIF"])
def test_every_format_decodes_to_224_with_orientation(fmt):
    kw = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    data = encode(Image.fromarray(quadrants()), fmt, **kw)
    rgb = decode_image(data)
    assert rgb.shape == (60, 80, 3)
    x = resize_to_input(rgb, (224, 224))
    assert x.shape == (224, 224, 3)
    assert_quadrants(x)


def test_gif_first_frame_is_used():
    first = Image.fromarray(quadrants())
    second = Image.fromarray(np.zeros((60, 80, 3), np.uint8))
    buf = io.BytesIO()
    first.save(buf, format="GIF", save_all=True, append_images=[second], duration=100)
    assert_quadrants(resize_to_input(decode_image(buf.getvalue())))


# stored pixels such that the EXIF tag turns them back into the displayed marker:
# 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 CW to display, 7 transverse, 8 rotate 90 CCW
STORED = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, 1),  # stored CCW, displayed after a CW turn
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: np.rot90(a, -1),
}


@pytest.mark.parametrize("orientation", sorted(STORED))
def test_exif_orientation_is_respected(orientation):
    stored = np.ascontiguousarray(STORED[orientation](quadrants()))
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(Image.fromarray(stored), "JPEG", quality=95, exif=exif.tobytes())
    rgb = decode_image(data)
    assert rgb.shape == (60, 80, 3)  # displayed size, not stored size
    assert_quadrants(resize_to_input(rgb))


def test_grayscale_palette_cmyk_and_1bit():
    q = quadrants()
    gray = Image.fromarray(q).convert("L")
    out = decode_image(encode(gray, "PNG"))
    assert out.shape == (60, 80, 3)
    # L = 0.299 R + 0.587 G + 0.114 B (ITU-R 601-2): red 76, green 150, blue 29, white 255
    assert out[15, 20].tolist() == [76, 76, 76] and out[45, 60].tolist() == [255, 255, 255]
    pal = Image.fromarray(q).convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    assert_quadrants(resize_to_input(decode_image(encode(pal, "PNG"))), tol=0)
    cmyk = Image.fromarray(q).convert("CMYK")
    assert_quadrants(resize_to_input(decode_image(encode(cmyk, "JPEG", quality=95))))
    one = Image.fromarray(q).convert("L").point(lambda v: 255 if v > 200 else 0).convert("1")
    out = decode_image(encode(one, "PNG"))
    assert out[45, 60].tolist() == [255, 255, 255] and out[15, 20].tolist() == [0, 0, 0]


def test_rgba_and_la_composite_on_white():
    q = quadrants()
    rgba = np.dstack([q, np.full(q.shape[:2], 255, np.uint8)])
    rgba[:30, :40, 3] = 0  # top-left fully transparent -> white
    rgba[30:, :40, 3] = 128  # bottom-left blue at 50 % -> (127, 127, 255)
    out = decode_image(encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert out[15, 20].tolist() == [255, 255, 255]
    assert out[15, 60].tolist() == [0, 255, 0]
    # alpha_composite: 0*128/255 + 255*127/255 = 127
    assert np.abs(out[45, 20].astype(int) - [127, 127, 255]).max() <= 1
    la = Image.fromarray(np.dstack([np.zeros((10, 10), np.uint8), np.zeros((10, 10), np.uint8)]), "LA")
    assert decode_image(encode(la, "PNG"))[0, 0].tolist() == [255, 255, 255]
    assert_quadrants(resize_to_input(decode_image(encode(Image.fromarray(q).convert("RGBA"), "WEBP", lossless=True))), tol=0)


def test_16_bit_grayscale_scaled_to_8_bit():
    g = np.zeros((60, 80), np.uint16)
    g[:30, :40] = 65535
    g[30:, 40:] = 257 * 100  # -> 100
    im = Image.fromarray(g)  # mode I;16
    assert im.mode.startswith("I")
    out = decode_image(encode(im, "PNG"))
    assert out[15, 20].tolist() == [255, 255, 255]
    assert out[45, 60].tolist() == [100, 100, 100]
    assert out[45, 20].tolist() == [0, 0, 0]
    # mode "I" (32-bit ints) with 16-bit values
    out = images._to_rgb8(Image.fromarray(g.astype(np.int32), "I"))
    assert out[15, 20].tolist() == [255, 255, 255] and out[45, 60].tolist() == [100, 100, 100]


def test_bad_files_are_refused_with_one_line():
    for data, words in [
        (b"", "empty"),
        (b"this is not an image at all" * 10, "not a readable image"),
    ]:
        with pytest.raises(SpecError, match=words) as e:
            decode_image(data, "upload.jpg")
        assert "\n" not in str(e.value)
    png = encode(Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8)), "PNG")
    with pytest.raises(SpecError, match="truncated"):
        decode_image(png[: len(png) // 2])
    jpg = encode(Image.fromarray(quadrants(400, 400)), "JPEG")
    with pytest.raises(SpecError, match="truncated"):
        decode_image(jpg[: len(jpg) // 2])
    tiff = encode(Image.fromarray(quadrants()), "TIFF")
    with pytest.raises(SpecError, match="TIFF"):
        decode_image(tiff)


def test_upload_byte_limit(monkeypatch):
    monkeypatch.setattr(images, "MAX_UPLOAD_BYTES", 1000)
    with pytest.raises(SpecError, match="limit is 1,000 bytes"):
        decode_image(b"\x89PNG" + b"0" * 2000)


def test_decompression_bomb_refused_from_header_before_decoding(monkeypatch):
    # A PNG header that claims 20000 x 20000 = 400 M pixels; only the header is read.
    bomb = Image.new("1", (20000, 20000))
    data = encode(bomb, "PNG")  # a few kB: all-zero rows compress extremely well
    assert len(data) < 200_000
    mid = encode(Image.new("1", (8000, 7000)), "PNG")
    calls = []
    monkeypatch.setattr(Image.Image, "load", lambda self: calls.append(1))
    with pytest.raises(SpecError, match="400,000,000 pixels"):
        decode_image(data)
    # between our limit (50 M) and Pillow's own refusal (2 x 50 M): our header check
    data = mid
    with pytest.warns(Image.DecompressionBombWarning), pytest.raises(SpecError, match="56,000,000 pixels"):
        decode_image(data)
    assert calls == []  # refused before any pixel was decoded


def test_large_allowed_image_is_downscaled():
    big = Image.fromarray(quadrants(1500, 3000))
    out = decode_image(encode(big, "PNG"))
    assert max(out.shape[:2]) == images.MAX_SIDE and out.shape[:2] == (1024, 2048)
    assert_quadrants(out)


def test_center_crop_keeps_orientation_and_middle():
    a = np.zeros((100, 300, 3), np.uint8)
    a[:, 100:200] = quadrants(100, 100)  # marker in the middle third
    out = resize_to_input(a, (224, 224), method="center_crop")
    assert out.shape == (224, 224, 3)
    assert_quadrants(out)
    with pytest.raises(SpecError, match="resize method"):
        resize_to_input(a, method="stretch")


def test_samples_decode():
    for name in images.SAMPLES:
        rgb = images.load_sample(name)
        assert rgb.dtype == np.uint8 and rgb.shape[2] == 3 and 200 <= max(rgb.shape[:2]) <= 512
    with pytest.raises(SpecError, match="samples are"):
        images.load_sample("dog")


def test_mosaic_layout_scale_and_sorting():
    # 3 channels of 2x2: channel c holds the constant c * 10, channel 1 has one 100
    act = np.zeros((2, 2, 3), np.float32)
    act[..., 0], act[..., 1], act[..., 2] = 0, 10, 20
    act[0, 0, 1] = 100  # mean of channel 1 = (100 + 30) / 4 = 32.5 > 20 > 0
    m = mosaic(act, sort="index", pad=1)
    assert m.grid == (2, 2) and m.tile == (2, 2)  # ceil(sqrt(3)) = 2 columns
    assert m.image.shape == (2 * 3 - 1, 2 * 3 - 1, 3)
    assert (m.vmin, m.vmax) == (0.0, 100.0)  # one scale for the whole mosaic
    assert m.order == (0, 1, 2)
    assert m.image[4, 4].tolist() == [255, 255, 255]  # empty 4th tile and gaps are white
    assert m.image[2, 0].tolist() == [255, 255, 255]
    assert m.image[0, 3].tolist() == images.colorize(np.array(100.0), 0, 100).tolist()
    s = mosaic(act, sort="mean")
    assert s.order == (1, 2, 0) and s.channel_at(0, 0) == 1 and s.channel_at(1, 1) is None
    big = mosaic(act, scale=3, pad=0)
    assert big.image.shape == (12, 12, 3) and big.tile == (6, 6)


def test_channel_image_and_overlay():
    act = np.arange(7 * 7 * 2, dtype=np.float32).reshape(7, 7, 2)
    img = images.channel_image(act, 1, size=224)
    assert img.shape == (224, 224, 3)  # 7 * 32 = 224, nearest neighbour
    with pytest.raises(SpecError, match="channels 0..1"):
        images.channel_image(act, 2)
    rgb = np.full((50, 60, 3), 200, np.uint8)
    out = images.overlay_heatmap(rgb, np.zeros((7, 7)), alpha=0.0)
    assert np.array_equal(out, rgb)
    out = images.overlay_heatmap(rgb, np.ones((7, 7)), alpha=1.0)
    assert out.shape == (50, 60, 3) and out[0, 0].tolist() == [252, 255, 164]


def test_draw_unit_field_outlines_the_clipped_box():
    from inception_viz.counter import analyze
    from inception_viz.images import FIELD_COLOR, draw_field, draw_unit_field
    from inception_viz.presets import preset

    report = analyze(preset("googlenet"))
    rgb = np.full((224, 224, 3), 200, np.uint8)
    # inception_3a unit (0, 0): field -23..35, clipped to rows/cols 0..35
    out = draw_unit_field(rgb, report, "inception_3a", 0, 0, line=1)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    assert (out[36:, 36:] == 90).all()  # outside: 200 * (1 - 0.55) = 90
    assert (out[0, 0:36] == FIELD_COLOR).all() and (out[35, 0:36] == FIELD_COLOR).all()
    assert (out[0:36, 35] == FIELD_COLOR).all()
    assert (out[10, 10] == 200).all()  # inside, away from the centre cross, untouched
    # the unit's centre: 6 + 0*8 = 6, marked with a cross
    assert (out[6, 6] == FIELD_COLOR).all()
    # on a 2x enlarged photo the same box covers 0..71
    big = draw_unit_field(np.full((448, 448, 3), 200, np.uint8), report, "inception_3a", 0, 0, line=1)
    assert (big[71, 0:72] == FIELD_COLOR).all() and (big[72:, 72:] == 90).all()
    # inception_5b's centre unit sees the whole image
    whole = draw_unit_field(rgb, report, "inception_5b", 3, 3, line=1, dim=0.5)
    assert not (whole == 100).any()
    with pytest.raises(SpecError, match="outside"):
        draw_unit_field(rgb, report, "inception_3a", 0, 28)
    # a field wholly in the padding: everything darkened, nothing outlined
    assert (draw_field(rgb, None, dim=0.5) == 100).all()
