"""DOT source: golden text, content of the overview and block views, escaping, rendering.

Golden files live in tests/golden/*.dot; regenerate on purpose with REGEN_GOLDEN=1.
"""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from _golden import check_golden
from inception_viz import counter, graph, presets, render
from inception_viz.spec import BRANCH_KEYS, Inception

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed (apt-get install graphviz)")


@pytest.mark.parametrize(
    "preset,view,block",
    [
        ("googlenet", "overview", None),
        ("googlenet", "block", "inception_3a"),
        ("naive", "block", "inception_4c"),
        ("block", "overview", None),
        ("block", "block", "inception_3a"),
    ],
)
def test_golden_dot(preset, view, block):
    report = counter.analyze(presets.preset(preset))
    if view == "overview":
        check_golden(f"overview_{preset}.dot", graph.overview_dot(report))
    else:
        check_golden(f"block_{preset}_{block}.dot", graph.block_dot(report, block))


def test_overview_shows_every_block_with_shape_and_params():
    report = counter.analyze(presets.preset("googlenet"))
    src = graph.overview_dot(report)
    for row in report.blocks:
        assert f"<B>{row.name}</B>" in src
        assert f'<TD COLSPAN="4">{graph.shape_str(row.output_shape)}</TD></TR><TR><TD COLSPAN="4">{counter.fmt_k(row.params)} params' in src
    # the title carries the exact totals
    assert "6,998,552 params" in src and "1,582,671,872 MACs" in src
    # each block's strip shows each branch's channels in the branch colour: 3a = 64 128 32 32
    for key, ch in zip(BRANCH_KEYS, (64, 128, 32, 32)):
        assert f'<TD BGCOLOR="{graph.BRANCH_COLORS[key]}"><FONT COLOR="white"><B>{ch}</B>' in src


def test_overview_marks_edited_blocks_and_draws_aux_heads():
    spec = presets.preset("googlenet").with_block("inception_4a", **{"3x3": 100}).with_options(aux=True)
    src = graph.overview_dot(counter.analyze(spec), rankdir="LR", edited={"inception_4a"})
    assert "<B>inception_4a</B> ✎" in src and "<B>inception_4b</B> ✎" not in src
    assert "rankdir=LR" in src
    assert "aux1 (auxiliary, training only)" in src and "aux2 (auxiliary, training only)" in src


def test_block_detail_has_kernel_filters_and_shapes():
    report = counter.analyze(presets.preset("googlenet"))
    src = graph.block_dot(report, "inception_3a")
    # every conv: kernel, filters, its params; the edge leaving it carries its output shape
    for text in (
        "1x1 conv, 64 filters",
        "1x1 reduce, 96 filters",
        "3x3 conv, 128 filters",
        "1x1 reduce, 16 filters",
        "5x5 conv, 32 filters",
        "1x1 proj, 32 filters",
        "3x3/1 max pool",
    ):
        assert text in src, text
    for edge in ('n_inception_3a_3x3 -> concat [label="28x28x128"', 'n_inception_3a_3x3_reduce -> n_inception_3a_3x3 [label="28x28x96"'):
        assert edge in src, edge
    # concat: 64 + 128 + 32 + 32 = 256
    assert "64 + 128 + 32 + 32 = 256 maps" in src
    # one header per branch in its colour, in concat order left to right
    heads = ["branch_1x_1", "branch_3x_3", "branch_5x_5", "branch_pool_proj"]
    for head, (key, color) in zip(heads, graph.BRANCH_COLORS.items()):
        assert f'{head} [label="{graph.BRANCH_LABELS[key]} branch' in src and f'fillcolor="{color}"' in src
    assert "\t\t" + "\n\t\t".join(heads) + "\n" in src  # the rank=same subgraph
    for a, b in zip(heads, heads[1:]):
        assert f"{a} -> {b} [style=invis]" in src
    # branch totals: 3x3 = 18,528 + 110,720 = 129,248
    assert "3x3 conv branch\n129,248 params" in src


def test_block_detail_naive_and_dropped_branches():
    spec = presets.preset("googlenet").with_block("inception_3a", **{"1x1": 0, "3x3_reduce": 0, "pool_proj": 0})
    src = graph.block_dot(counter.analyze(spec), "inception_3a")
    assert "1x1 conv branch\ndropped (width 0)" in src
    assert "n_inception_3a_3x3_reduce" not in src  # the 3x3 reads the input directly
    assert "branch_3x_3 -> n_inception_3a_3x3" in src
    # unprojected pool: its 192 input channels go to the concat; 0 + 128 + 32 + 192 = 352
    assert "28x28x192 (unprojected)" in src and "0 + 128 + 32 + 192 = 352 maps" in src
    with pytest.raises(ValueError, match="not an Inception block"):
        graph.block_dot(counter.analyze(spec), "conv1")


def _weird_spec():
    """A block whose name has every character that could break DOT or HTML labels."""
    name = 'in"ce<p>&t\\nion {x}'
    spec = presets.preset("block")
    b = spec.blocks[0]
    return dataclasses.replace(spec, name='my "model" <b>', layers=(Inception(name, *b.width_tuple),)), name


def test_labels_are_escaped():
    spec, name = _weird_spec()
    report = counter.analyze(spec)
    overview = graph.overview_dot(report)
    # HTML-like labels (the block node): entities, never raw markup
    assert "<B>in&quot;ce&lt;p&gt;&amp;t\\nion {x}</B>" in overview
    # plain labels: quotes escaped, the backslash doubled so "\n" stays two characters
    detail = graph.block_dot(report, name)
    assert 'in\\"ce<p>&t\\\\nion {x}' in detail


@needs_dot
def test_escaped_labels_render_literally():
    spec, name = _weird_spec()
    report = counter.analyze(spec)
    for src in (graph.overview_dot(report), graph.block_dot(report, name)):
        svg = render.render(src, "svg").decode()
        assert "<svg" in svg
        # the name comes out as text (escaped for XML), its backslash-n not a line break
        assert "in&quot;ce&lt;p&gt;&amp;t\\nion {x}" in svg or 'in"ce&lt;p&gt;&amp;t\\nion {x}' in svg


@needs_dot
def test_control_characters_are_shown_not_passed_to_xml():
    spec, _ = _weird_spec()
    name = "unit\x1fsep\x00end"
    spec = dataclasses.replace(spec, layers=(Inception(name, *spec.blocks[0].width_tuple),))
    report = counter.analyze(spec)
    for src in (graph.overview_dot(report), graph.block_dot(report, name)):
        assert "\x1f" not in src and "\x00" not in src
        svg = render.render(src, "svg").decode()
        assert "unit\\x1fsep\\x00end" in svg


@needs_dot
@pytest.mark.parametrize("preset", presets.PRESET_NAMES)
def test_every_preset_renders(preset):
    report = counter.analyze(presets.preset(preset))
    svg = render.render(graph.overview_dot(report), "svg")
    assert svg.startswith(b"<?xml") and b"</svg>" in svg
    png = render.render(graph.block_dot(report, report.blocks[0].name), "png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_render_without_dot_says_how_to_install(monkeypatch):
    monkeypatch.setattr(render.shutil, "which", lambda name: None)
    with pytest.raises(render.RenderError, match="apt-get install graphviz"):
        render.render("digraph { a }", "svg")
    with pytest.raises(render.RenderError, match="format must be one of svg, png"):
        render.render("digraph { a }", "pdf")


def test_bad_rankdir_is_refused():
    with pytest.raises(ValueError, match="rankdir"):
        graph.overview_dot(counter.analyze(presets.preset("block")), rankdir="XY")



def test_overview_marks_pretrained_and_fresh_layers():
    """With weights loaded after an edit, the overview says which layers carry them."""
    report = counter.analyze(presets.preset("googlenet").with_block("inception_4c", **{"3x3": 200}))
    status = {"conv1": "pretrained", "inception_4c": "partly pretrained", "inception_4d": "partly pretrained",
              "inception_4e": "pretrained", "linear": "fresh"}
    source = graph.overview_dot(report, status=status)
    _, green, _ = graph.WEIGHT_STATUS_STYLE["pretrained"]
    _, orange, dashed = graph.WEIGHT_STATUS_STYLE["partly pretrained"]

    def node(name):
        return next(line for line in source.splitlines() if line.strip().startswith(graph._node_id(name) + " "))

    assert f'color="{orange}"' in node("inception_4c") and "partly pretrained" in node("inception_4c")
    assert f'style="{dashed}"' in node("inception_4d")
    assert f'color="{green}"' in node("inception_4e") and ">pretrained<" in node("inception_4e")
    assert "pretrained" not in node("inception_3a") and "fresh" not in node("inception_3a")  # no status given
    # conv1, in the stem group: its status in a cell of its own beside the line (appended
    # to the line, the browser drew a dangling "· … pretrained")
    assert f'112x112x64 · 9.47 K</TD><TD ALIGN="LEFT"><FONT COLOR="{green}"><B>pretrained</B>' in source
    assert "· <FONT" not in source
    assert "fresh init" in source  # the head's linear layer, in the head group
    assert "pretrained" not in graph.overview_dot(report)  # without weights nothing is claimed
    if shutil.which("dot"):
        assert render.render(source, "svg").lstrip().startswith(b"<")


def test_untrained_loaded_weights_are_never_called_pretrained():
    """A .keras file saved from random weights carries them, but they are not "pretrained"."""
    report = counter.analyze(presets.preset("googlenet").with_block("inception_4c", **{"3x3": 200}))
    status = {"conv1": "pretrained", "inception_4c": "partly pretrained", "linear": "fresh"}
    source = graph.overview_dot(report, status=status, trained=False)
    assert "pretrained" not in source
    assert ">loaded<" in source and ">partly loaded<" in source and "fresh init" in source
    assert graph.status_text("partly pretrained", trained=True) == "partly pretrained"


def test_labels_use_one_arrow():
    """The head read "linear 1024 -> 1000 → 1x1x1000": two arrows for one idea."""
    for name in presets.PRESET_NAMES:
        report = counter.analyze(presets.preset(name).with_options(aux=True))
        for source in [graph.overview_dot(report)] + [graph.block_dot(report, b) for b in report.spec.block_names[:1]]:
            labels = "".join(part.split("]")[0] for part in source.split("label=")[1:])
            assert "-&gt;" not in labels and "->" not in labels, name
    assert "linear 1024 → 1000 → 1x1x1000" in graph.overview_dot(counter.analyze(presets.preset("googlenet")))


def test_block_detail_marks_edited_convs():
    """The legend explained ✎ although the block detail drew none."""
    spec = presets.preset("googlenet").with_block("inception_3a", **{"3x3": 256, "pool_proj": 40})
    source = graph.block_dot(counter.analyze(spec), "inception_3a", edited={"3x3", "pool_proj"})
    assert source.count("✎") == 2
    assert "3x3 conv, 256 filters ✎" in source and "1x1 proj, 40 filters ✎" in source
    assert "✎" not in graph.block_dot(counter.analyze(spec), "inception_3a")


def test_receptive_fields_in_labels():
    report = counter.analyze(presets.preset("googlenet"))
    over = graph.overview_dot(report)
    for name, px in (("inception_3a", 59), ("inception_4e", 427), ("inception_5b", 715)):
        label = over.split(f"<B>{name}</B>", 1)[1].split("</TABLE>", 1)[0]
        assert f"field {px} px" in label
    detail = graph.block_dot(report, "inception_3a")
    # pool2's field is 27 px with jump 8: 1x1 keeps 27, 3x3 and pool add 2*8, 5x5 adds 4*8
    for key, px in (("1x_1", 27), ("3x_3", 43), ("5x_5", 59), ("pool_proj", 43)):
        node = detail.split(f"branch_{key} [label=", 1)[1].split("]", 1)[0]
        assert f"field {px} px" in node, (key, node)
    dropped = graph.block_dot(counter.analyze(presets.preset("googlenet").with_block("inception_3a", **{"5x5": 0})), "inception_3a")
    node = dropped.split("branch_5x_5 [label=", 1)[1].split("]", 1)[0]
    assert "dropped" in node and "field" not in node
