"""Edits as pure functions (``inception_viz.edits``): the Figure 2(a)/(b) switch and the
block table's cell edits, without Streamlit."""

from __future__ import annotations

import pytest

from inception_viz import presets
from inception_viz.edits import apply_table_edits, edited_blocks, edited_widths, with_form
from inception_viz.spec import SpecError


def test_forms_switch_and_back():
    g = presets.preset("googlenet")
    n = with_form(g, "inception_4c", True)
    assert n.block("inception_4c").is_naive
    assert with_form(n, "inception_4c", False) == g
    # the naive preset goes back to the paper's widths
    naive = presets.preset("naive")
    assert with_form(naive, "inception_3a", False).block("inception_3a").width_tuple == (64, 96, 128, 16, 32, 32)


def test_edited_blocks_in_network_order():
    g = presets.preset("googlenet")
    assert edited_blocks(g) == []
    s = g.with_block("inception_5b", **{"1x1": 1}).with_block("inception_3b", **{"5x5": 1})
    assert edited_blocks(s) == ["inception_3b", "inception_5b"]
    assert edited_blocks(with_form(g, "inception_4a", True)) == ["inception_4a"]


def test_apply_table_edits_rules():
    g = presets.preset("googlenet")
    names = list(g.block_names)
    assert apply_table_edits(g, {}, names) == g
    # ticking naive then typing a reduce width in the same edit: the width wins
    s = apply_table_edits(g, {"0": {"naive": True, "5x5_reduce": 8}}, names)
    assert s.block("inception_3a").width_tuple == (64, 0, 128, 8, 32, 0)
    # a float that is a whole number is accepted, 1.5 or text is not
    assert apply_table_edits(g, {0: {"1x1": 65.0}}, names).block("inception_3a").w1x1 == 65
    for bad in (1.5, "12", True):
        with pytest.raises(SpecError, match="whole number"):
            apply_table_edits(g, {0: {"1x1": bad}}, names)
    with pytest.raises(SpecError, match="no row"):
        apply_table_edits(g, {99: {"1x1": 1}}, names)


def test_edited_widths_name_each_changed_width_with_both_values():
    g = presets.preset("googlenet")
    assert edited_widths(g) == {}
    s = g.with_block("inception_4c", **{"5x5": 70, "1x1": 128}).with_block("inception_3a", **{"3x3": 1})
    # 4c's 1x1 is its preset value (128): not an edit
    assert edited_widths(s) == {"inception_3a": {"3x3": (128, 1)}, "inception_4c": {"5x5": (64, 70)}}
    assert list(edited_widths(s)) == edited_blocks(s)
