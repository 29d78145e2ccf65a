"""The requirement files: markers pick one TensorFlow build per platform, every pin is exact, and
(in CI, against the package registry) both files resolve on every platform/Python pair.
scripts/check_requirements.py does the work; these tests check its pieces and run it."""

import importlib.util
import os
import sys
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("check_requirements", ROOT / "scripts" / "check_requirements.py")
check = importlib.util.module_from_spec(_spec)
sys.modules["check_requirements"] = check  # dataclasses look their module up there
_spec.loader.exec_module(check)

ALL_PAIRS = [(t, py) for t in check.TARGETS for py in check.PYTHONS]


def _concrete(file, target, python):
    return check.concrete(check.read_requirements(ROOT / file), target.environment(python))


@pytest.mark.parametrize("target,python", ALL_PAIRS, ids=[f"{t.name}-py{py}" for t, py in ALL_PAIRS])
def test_one_tensorflow_build_per_target(target, python):
    # tensorflow-cpu publishes wheels for Linux x86_64 and Windows x64 only (2.21.0);
    # elsewhere the markers must pick tensorflow, and never both.
    expected = "tensorflow-cpu" if target.name in ("linux-x86_64", "windows-x64") else "tensorflow"
    for file in ("requirements.txt", "requirements-dev.txt"):
        assert check.tensorflow_builds(_concrete(file, target, python)) == [expected], file
    gpu = _concrete("requirements-gpu.txt", target, python)
    assert check.tensorflow_builds(gpu) == ["tensorflow"]
    assert "tensorflow[and-cuda]==2.21.0" in gpu


def test_linux_x86_64_py311_keeps_todays_pins():
    # The install CI and the lab machines use must not move: the pins of requirements.txt
    # before the markers were added, plus the ones added on purpose since.
    linux = check.TARGETS_BY_NAME["linux-x86_64"]
    assert sorted(_concrete("requirements.txt", linux, "3.11")) == sorted([
        "tensorflow-cpu==2.21.0", "keras==3.15.1", "numpy==2.4.6", "streamlit==1.67.0",
        "plotly==7.1.0", "graphviz==0.21", "pillow==13.0.0", "onnx==1.23.2", "psutil==7.2.2",
        "babel==2.19.0",  # issue 15: the gettext catalogues and number formats
    ])


@pytest.mark.parametrize("file", sorted(check.FILES))
def test_every_requirement_is_pinned(file):
    for req in check.read_requirements(ROOT / file):
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"{file}: {req} is not pinned with =="


def test_concrete_lines_carry_no_markers():
    mac = check.TARGETS_BY_NAME["macos-arm64"]
    for line in _concrete("requirements-dev.txt", mac, "3.13"):
        assert Requirement(line).marker is None, line


def test_target_environment_names_every_marker_variable():
    # A marker variable missing from a target's environment would raise at evaluation time.
    for target in check.TARGETS:
        assert set(target.environment("3.12")) == set(default_environment())


def test_manylinux_tags_cover_every_glibc_the_target_accepts():
    # glibc 2.28 on x86_64 accepts manylinux_2_28 ... manylinux_2_5: 24 PEP 600 tags, plus the
    # legacy names manylinux2014 (2.17), manylinux2010 (2.12), manylinux1 (2.5).
    x86 = check.manylinux_tags("x86_64")
    assert len(x86) == 24 + 3
    assert x86[0] == "manylinux_2_28_x86_64" and "manylinux_2_5_x86_64" in x86
    assert {"manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"} <= set(x86)
    # aarch64 starts at glibc 2.17: 2_28 ... 2_17 is 12 tags, plus manylinux2014.
    arm = check.manylinux_tags("aarch64")
    assert len(arm) == 12 + 1 and arm[-1] == "manylinux2014_aarch64"
    assert "manylinux_2_16_aarch64" not in arm


def test_unsupported_option_is_refused_with_one_line(tmp_path):
    f = tmp_path / "r.txt"
    f.write_text("numpy==2.4.6  # comment\n--index-url https://example.invalid/simple\n")
    with pytest.raises(ValueError, match=r"r.txt:2: option --index-url is not supported"):
        check.read_requirements(f)


def test_includes_follow_relative_paths_and_refuse_loops(tmp_path):
    (tmp_path / "a.txt").write_text("-r b.txt\nnumpy==2.4.6\n")
    (tmp_path / "b.txt").write_text("# only a comment\npsutil==7.2.2 ; sys_platform == 'linux'\n")
    reqs = check.read_requirements(tmp_path / "a.txt")
    assert [r.name for r in reqs] == ["psutil", "numpy"]
    windows = check.TARGETS_BY_NAME["windows-x64"].environment("3.11")
    assert check.concrete(reqs, windows) == ["numpy==2.4.6"]
    (tmp_path / "b.txt").write_text("-r a.txt\n")
    with pytest.raises(ValueError, match="includes itself"):
        check.read_requirements(tmp_path / "a.txt")


def test_default_check_covers_every_pair():
    # 4 platforms x 3 Pythons for the dev file (which includes requirements.txt, so its
    # resolution covers every runtime pin), Linux x86_64/aarch64 x 3 Pythons for the GPU file.
    runtime = {str(r) for r in check.read_requirements(ROOT / "requirements.txt")}
    assert runtime <= {str(r) for r in check.read_requirements(ROOT / "requirements-dev.txt")}
    work = {(file, target.name, python) for file, target, python in check.pairs()}
    assert len(work) == 4 * 3 + 2 * 1  # requirements-dev on every pair; the GPU file once per Linux arch
    assert {(t.name, py) for t, py in ALL_PAIRS} == {(t, py) for f, t, py in work if f == "requirements-dev.txt"}


@pytest.mark.registry
@pytest.mark.skipif(os.environ.get("INCEPTION_REGISTRY_CHECK") != "1",
                    reason="resolves against the package registry; .ci/run sets INCEPTION_REGISTRY_CHECK=1")
def test_every_pair_resolves_against_the_registry():
    lines = []
    results = check.run_all(check.pairs(), jobs=6, log=lines.append)
    failed = [f"{r.file} on {r.target} py{r.python}:\n{r.detail}" for r in results if not r.ok]
    assert not failed, "\n".join(lines + failed)
