"""Feature visualisation: the recipe works (the objective rises, planted features come back),
is deterministic, is not pixel noise, and what it draws drives an independent
implementation (onnxruntime on a zoo-layout ONNX file) of the same network; the CLI keeps
its contract.

Kept fast: small images (32-64 px; the network runs fully convolutionally at that size),
early targets and few steps, except the onnxruntime check, which needs the zoo file's
224x224 input.
"""

import json

import numpy as np
import onnxruntime as ort
import pytest

from inception_viz import featurevis as fv
from inception_viz import images, inference, onnx_zoo
from inception_viz.presets import preset
from inception_viz.spec import SpecError
from inception_viz.weights import ZOO_PREPROCESSING, load_onnx, random_weights

from test_cli_images import run  # the CLI in a subprocess, as its tests run it

SPEC = preset("googlenet")

FAST = fv.Settings(steps=24, size=48)


@pytest.fixture(scope="module")
def runner():
    """The app's cached runner: googlenet, random weights (seed 0), as the CLI's default."""
    return inference.get_runner(SPEC, random_weights(0))


def test_objective_rises_for_every_kind(runner):
    cases = [("inception_3a:70", None), ("conv2:5", "neuron"), ("inception_3a:3x3", None), ("pool2", "layer")]
    for text, objective in cases:
        target = fv.parse_target(SPEC, text, objective)
        frames = list(fv.visualize_steps(runner, target, FAST, every=8))
        assert [f.step for f in frames] == [8, 16, 24] and [f.done for f in frames] == [False, False, True]
        last = frames[-1]
        assert last.images.shape == (1, 48, 48, 3) and last.images.dtype == np.uint8
        start, end = last.objective_start[0], last.objective_end[0]
        # random weights: the start is ~0 (a grey-ish noise image); the ascent multiplies it
        assert end > 5 * max(start, 1e-6), (text, start, end)


def test_class_objective_reads_the_logit_not_the_softmax(runner):
    target = fv.parse_target(SPEC, "linear:281")
    assert (target.layer, target.objective, target.channel) == ("linear", "class", 281)
    frame = fv.visualize(runner, target, fv.Settings(steps=8, size=32))
    # the logit, recomputed here from the final image through the full model's linear layer
    import keras

    x = runner.preprocessing.keras_input(frame.images[0], (32, 32, 3))
    sub = keras.Model(runner.model.inputs[0], runner.model.get_layer("linear").output)
    sub.input_spec = keras.InputSpec(ndim=4)
    logit = float(np.asarray(sub(x, training=False))[0, 281])
    assert frame.objective_end[0] == pytest.approx(logit, rel=1e-4, abs=1e-5)
    assert frame.objective_end[0] > frame.objective_start[0]
    # a Dense with softmax inside (the simplified preset): its pre-activation x @ W + b
    simple = preset("simplified")
    t = fv.parse_target(simple, "predictions:3")
    assert t.objective == "class"
    f = fv.visualize(inference.get_runner(simple), t, fv.Settings(steps=6, size=64))
    assert f.objective_end[0] > f.objective_start[0]


def test_same_seed_same_png_and_a_batch_is_independent_images(runner):
    target = fv.parse_target(SPEC, "conv2:7")
    a = fv.visualize(runner, target, fv.Settings(steps=10, size=40, seed=3))
    b = fv.visualize(runner, target, fv.Settings(steps=10, size=40, seed=3))
    c = fv.visualize(runner, target, fv.Settings(steps=10, size=40, seed=4))
    assert a.png() == b.png()
    assert a.png() != c.png()
    # the grid: first N channels in one batch, one image per channel, each for its own channel
    grid = fv.visualize(runner, fv.channel_targets(SPEC, "conv2", 3), fv.Settings(steps=10, size=40))
    assert grid.images.shape == (3, 40, 40, 3) and [t.channel for t in grid.targets] == [0, 1, 2]
    assert len({g.tobytes() for g in grid.images}) == 3
    assert all(e > s for s, e in zip(grid.objective_start, grid.objective_end))


def test_diversity_pushes_a_batch_of_one_target_apart(runner):
    """Three images of one channel: the diversity term lowers the summed cosine similarity
    of their Gram matrices at the target layer (computed here in numpy from the PNGs'
    activations; 2.0 = three identical styles)."""
    import keras

    t = fv.parse_target(SPEC, "inception_3a:70")
    sub = keras.Model(runner.model.inputs[0], runner.model.get_layer("inception_3a").output)
    sub.input_spec = keras.InputSpec(ndim=4)

    def similarity(imgs):
        x = np.concatenate([runner.preprocessing.keras_input(i, (40, 40, 3)) for i in imgs])
        y = np.asarray(sub(x, training=False)).reshape(len(imgs), -1, 256).astype(np.float64)
        g = np.einsum("bpc,bpd->bcd", y, y).reshape(len(imgs), -1)
        g /= np.linalg.norm(g, axis=1, keepdims=True)
        s = g @ g.T
        return (s.sum() - np.trace(s)) / len(imgs)

    plain = fv.visualize(runner, [t, t, t], fv.Settings(steps=24, size=40))
    diverse = fv.visualize(runner, [t, t, t], fv.Settings(steps=24, size=40, diversity=1.0))
    assert similarity(diverse.images) < 0.7 * similarity(plain.images)


def test_stop_ends_early_with_a_finished_frame(runner):
    target = fv.parse_target(SPEC, "conv1:0")
    calls = []

    def stop():
        calls.append(1)
        return len(calls) > 5

    frames = list(fv.visualize_steps(runner, target, fv.Settings(steps=100, size=32), every=2, should_stop=stop))
    last = frames[-1]
    assert last.done and last.stopped and last.step == 5
    assert last.objective_end is not None and last.images.shape == (1, 32, 32, 3)


def _gradient_energy(img: np.ndarray, border: int = 6) -> tuple[float, float]:
    """(energy of d/dx, energy of d/dy) of the grey image without a ``border`` (where the
    transforms' grey fill makes edges in both directions): vertical stripes vary along x."""
    g = img.astype(np.float64).mean(axis=2)[border:-border, border:-border]
    return float((np.diff(g, axis=1) ** 2).sum()), float((np.diff(g, axis=0) ** 2).sum())


def test_planted_grating_comes_back_in_its_orientation():
    """conv1's channel 0 set to a grating (period 3.5 px, zero mean, the same for R, G, B):
    its visualisation is that grating. Vertical stripes (the kernel varies along x) -> far
    more horizontal (d/dx) than vertical (d/dy) gradient energy; a horizontal grating the
    other way round. Measured: 5.4 and 1 / 5.0 (stripes curve a little: the rotations of
    the robustness transforms and Adam's low-frequency blobs leave some d/dy)."""
    r = inference.Runner(SPEC, random_weights(0))  # its own model: the weights are edited
    conv1 = r.model.get_layer("conv1")
    kernel, bias = conv1.get_weights()
    wave = np.cos(2 * np.pi * np.arange(-3, 4) / 3.5)  # two periods over the 7 taps: zero mean
    target = fv.parse_target(SPEC, "conv1:0")
    ratios = {}
    for name, k in (("vertical", np.tile(wave[None, :], (7, 1))), ("horizontal", np.tile(wave[:, None], (1, 7)))):
        kernel[..., 0] = (k / np.abs(k).sum())[:, :, None]
        bias[0] = 0.0
        conv1.set_weights([kernel, bias])
        frame = fv.visualize(r, target, fv.Settings(steps=48, size=48))
        gx, gy = _gradient_energy(frame.images[0])
        ratios[name] = gx / gy
    assert ratios["vertical"] > 3, ratios
    assert ratios["horizontal"] < 1 / 3, ratios


def test_fourier_image_is_not_pixel_noise_unlike_pixel_space_ascent(runner):
    target = fv.parse_target(SPEC, "inception_3a:70")
    fourier = fv.visualize(runner, target, fv.Settings(steps=32, size=64))
    # plain gradient ascent on pixels (sigmoid of a pixel array, no transforms)
    plain = fv.Settings(steps=32, size=64, fourier=False, decorrelate=False, jitter=0, scale=0, rotate_deg=0)
    pixel = fv.visualize(runner, target, plain)
    share_f = fv.high_frequency_share(fourier.images[0])
    share_p = fv.high_frequency_share(pixel.images[0])
    # white noise: 1 - pi * 0.25**2 / 1 = 0.80 of the power lies above half Nyquist
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3))
    assert fv.high_frequency_share(noise) == pytest.approx(1 - np.pi / 16, abs=0.03)
    assert share_p > 0.5, (share_p, share_f)
    assert share_f < 0.3, (share_p, share_f)
    assert share_f < share_p / 2
    # both did rise: the difference is in what the image looks like, not in failing
    assert pixel.objective_end[0] > pixel.objective_start[0] and fourier.objective_end[0] > fourier.objective_start[0]


@pytest.mark.parametrize("kernel, stride, padding, size, cin", [
    (7, 2, "valid", 230, 3),  # googlenet's conv1 after its 3-pixel pad, 224 px
    (7, 2, "valid", 61, 3),   # odd size: the last row and column are in no window
    (7, 2, "same", 45, 3),    # the simplified preset's c1
    (6, 2, "valid", 21, 1),   # even kernel, a grey input; the taps reach past the phases
    (3, 3, "same", 20, 3),
    (5, 1, "same", 17, 2),
    (1, 2, "valid", 9, 3),
])
def test_conv_input_gradient_equals_tensorflows(kernel, stride, padding, size, cin):
    """The featurevis stem's input gradient (one stride-1 conv + depth_to_space) against
    TensorFlow's Conv2DBackpropInput, for strides 1-3, both paddings, odd sizes and
    kernels that the stride does not divide."""
    import tensorflow as tf

    rng = np.random.default_rng(kernel * 100 + size)
    w = tf.constant(rng.normal(size=(kernel, kernel, cin, 8)).astype("float32"))
    out = (size - kernel) // stride + 1 if padding == "valid" else -(-size // stride)
    dy = tf.constant(rng.normal(size=(2, out, out, 8)).astype("float32"))
    ref = tf.raw_ops.Conv2DBackpropInput(input_sizes=[2, size, size, cin], filter=w, out_backprop=dy,
                                         strides=[1, stride, stride, 1], padding=padding.upper()).numpy()
    got = np.asarray(fv.conv_input_gradient(dy, w, stride, padding, (size, size)))
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())


@pytest.mark.parametrize("preset_name, layer", [("googlenet", "inception_3a"), ("simplified", "c2_3x3")])
def test_stem_gives_the_sub_models_values_and_input_gradient(preset_name, layer):
    """The compiled step runs the image-side pad + conv itself (for its fast input
    gradient) and the rest as a sub-model: the same activations, bit for bit, and the same
    gradient to the image as the plain sub-model from the input; a target inside the stem
    uses the plain sub-model."""
    import keras
    import tensorflow as tf

    model = inference.get_runner(preset(preset_name)).model
    out = model.get_layer(layer).output
    pads, conv = fv._image_stem(model, out)
    assert type(conv) is keras.layers.Conv2D and conv is model.layers[1 + len(pads)]
    assert fv._image_stem(model, conv.output) is None
    rest = keras.Model(conv.output, out)
    rest.input_spec = keras.InputSpec(ndim=4)
    plain = keras.Model(model.inputs, out)
    plain.input_spec = keras.InputSpec(ndim=4)
    x = tf.constant(np.random.default_rng(0).normal(size=(2, 45, 45, 3)).astype("float32") * 50)
    weights = tf.cast(tf.range(out.shape[-1]) % 7, tf.float32)
    results = []
    for fn in (plain, lambda v: rest(fv._stem_call(pads, conv, v))):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
            loss = tf.reduce_sum(y * weights)
        results.append((y.numpy(), tape.gradient(loss, x).numpy()))
    (y0, g0), (y1, g1) = results
    np.testing.assert_array_equal(y0, y1)
    assert np.abs(g0).max() > 0
    np.testing.assert_allclose(g1, g0, rtol=1e-4, atol=1e-5 * np.abs(g0).max())


@pytest.fixture(scope="module")
def zoo_file(tmp_path_factory):
    """A zoo-layout ONNX file (random zoo weights) with conv2's output as an extra output,
    as tests/test_inference.py builds it."""
    model = onnx_zoo.build_onnx(onnx_zoo.random_zoo_weights(SPEC, seed=7), SPEC, extra_outputs=("conv2",))
    path = tmp_path_factory.mktemp("zoo") / "googlenet-fv.onnx"
    path.write_bytes(model.SerializeToString())
    return path


def test_png_drives_its_channel_in_onnxruntime_far_harder_than_photos(zoo_file, tmp_path):
    """Caffe means, BGR and the zoo's preprocessing inside the graph are right: the PNG,
    read back and prepared exactly as the zoo README prepares a photo, drives the target
    channel in onnxruntime (an independent implementation of conv1, the ceil-mode pool,
    LRN and conv2) far harder than the photos (measured: 3.4 times the best photo)."""
    r = inference.Runner(SPEC, load_onnx(zoo_file))
    target = fv.parse_target(SPEC, "conv2:70")
    frame = fv.visualize(r, target, fv.Settings(steps=40, size=224))
    png = tmp_path / "vis.png"
    png.write_bytes(frame.png())
    sess = ort.InferenceSession(str(zoo_file), providers=["CPUExecutionProvider"])
    tap = onnx_zoo.tap_name("conv2")

    def channel_mean(rgb):
        out = sess.run([tap], {"data_0": ZOO_PREPROCESSING.onnx_input(rgb)})[0]
        return float(out[0, 70].mean())

    vis = channel_mean(images.read_image_file(png))
    photos = [channel_mean(images.load_sample(n)) for n in images.SAMPLES]
    # the PNG needs no resizing at 224: onnxruntime sees the pixels Keras optimised
    assert vis == pytest.approx(frame.objective_end[0], rel=1e-3)
    assert vis > 2.5 * max(photos), (vis, photos)


def test_targets_name_the_valid_range(runner):
    def msg(text, objective=None, spec=SPEC):
        with pytest.raises(SpecError) as e:
            fv.parse_target(spec, text, objective)
        assert "\n" not in str(e.value)
        return str(e.value)

    assert "0 to 511" in msg("inception_4c:512")
    assert "0 to 999" in msg("linear:1000")
    assert "conv1" in msg("mixed4c:3") and "inception_4c" in msg("mixed4c:3")
    assert "linear:K" in msg("softmax:3")
    assert "linear:K" in msg("conv1:0", "class")
    assert "1x1, 3x3, 5x5, pool_proj" in msg("inception_4c:7x7")
    assert "0 to 511" in msg("inception_4c")  # the channel objective needs an index
    t = fv.parse_target(SPEC, "inception_4c_3x3", "branch")
    assert (t.layer, t.objective, t.channel) == ("inception_4c_3x3", "branch", None)
    assert fv.parse_target(SPEC, "inception_4c:3x3") == t
    # a dropped branch and an unprojected pool branch: the branch's actual last layer
    edited = SPEC.with_block("inception_4c", **{"5x5": 0, "pool_proj": 0})
    assert fv.parse_target(edited, "inception_4c:pool_proj").layer == "inception_4c_pool"
    assert "5x5" not in msg("inception_4c:5x5", spec=edited).split("branches")[1].split(";")[0]
    block = preset("block")  # the lecture's one-block demo reads 32x32x64 maps, not images
    with pytest.raises(SpecError, match="takes 32x32x64 inputs"):
        fv.check_size(block, fv.parse_target(block, "inception_3a:0"), 32)
    with pytest.raises(SpecError, match="from 16 to 1024"):
        fv.Settings(size=8).validated(SPEC)
    with pytest.raises(SpecError, match="pixels per batch"):
        next(fv.visualize_steps(runner, fv.channel_targets(SPEC, "conv1", 64), fv.Settings(size=224)))


def test_cli_json_contract_and_same_png_as_in_process(runner, tmp_path):
    out = tmp_path / "v.png"
    res = run("visualize", "--target", "conv2:9", "--size", 40, "--steps", 10, "--seed", 5, "--out", out, "--format", "json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert list(doc) == ["target", "layer", "channel", "objective", "steps", "size", "seed",
                         "objective_start", "objective_end", "seconds", "out"]
    assert doc["target"] == "conv2:9" and doc["layer"] == "conv2" and doc["channel"] == 9
    assert (doc["objective"], doc["steps"], doc["size"], doc["seed"], doc["out"]) == ("channel", 10, 40, 5, str(out))
    assert doc["objective_end"] > doc["objective_start"] and doc["seconds"] > 0
    assert "random" in res.stderr
    from PIL import Image

    with Image.open(out) as im:
        assert (im.format, im.mode, im.size) == ("PNG", "RGB", (40, 40))
    # another process, same seed: the same bytes
    frame = fv.visualize(runner, fv.parse_target(SPEC, "conv2:9"), fv.Settings(steps=10, size=40, seed=5))
    assert out.read_bytes() == frame.png()
    assert doc["objective_end"] == pytest.approx(frame.objective_end[0], rel=1e-6)


@pytest.mark.parametrize("args, expected", [
    (("--target", "inception_4c:512"), "0 to 511"),
    (("--target", "nope:1"), "no layer named 'nope'"),
    (("--target", "linear:1000"), "0 to 999"),
    (("--target", "conv1:0", "--steps", 0), "steps must be from 1"),
    (("--target", "conv1:0", "--size", 4000), "size must be from 16 to 1024"),
])
def test_cli_bad_target_is_one_line_exit_2(args, expected, tmp_path):
    res = run("visualize", *args, "--out", tmp_path / "x.png")
    assert res.returncode == 2
    assert res.stdout == ""
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and expected in lines[0], res.stderr
    assert not (tmp_path / "x.png").exists()
