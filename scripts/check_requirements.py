"""Resolve the requirement files for every platform/Python pair we support, without installing.

For each target (macOS arm64, Windows x64, Linux x86_64, Linux aarch64) and each Python (3.11,
3.12, 3.13) this

1. evaluates the environment markers of the requirement file (following ``-r``) for that target
   with the ``packaging`` library and writes the concrete, marker-free list to a temp file;
2. runs ``pip install --dry-run --only-binary=:all: --platform <every tag the target accepts>
   --python-version X --implementation cp --target <tmp> -r <that file>`` against the registry.

pip evaluates markers for the *running* interpreter even with ``--platform``, which would also
get the markers of transitive dependencies wrong (``colorama; platform_system == "Windows"``
from click and pytest, for example). So pip runs with its vendored
``packaging.markers.default_environment`` replaced by the target's environment: every marker, at
every depth, is then evaluated for the target. Step 1 stays explicit because it is where we check
our own files (exactly one TensorFlow build per target).

Every pinned package must have a wheel for the target: ``--only-binary=:all:`` rejects sdists,
and a lecturer's laptop has no compiler to count on. (All current pins and their dependencies
publish wheels; a pure-Python sdist-only dependency would show here as a failure to decide on.)

Usage::

    python scripts/check_requirements.py                 # dev + GPU files, every target and Python
    python scripts/check_requirements.py --jobs 6 --only linux-x86_64 --python 3.11
    python scripts/check_requirements.py --report DIR    # also keep pip's JSON reports

Output: one line per (file, target, Python): ``ok``/``FAIL``, seconds, packages resolved, the
TensorFlow build chosen; then pip's last lines for each failure. Exit status 0 when every pair
resolves, 1 otherwise, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.tags import mac_platforms

ROOT = Path(__file__).resolve().parent.parent
PYTHONS = ("3.11", "3.12", "3.13")
TENSORFLOW_BUILDS = ("tensorflow", "tensorflow-cpu")

#: The oldest glibc we promise on Linux: tensorflow 2.21 publishes manylinux_2_27 wheels,
#: onnxruntime 1.32 manylinux_2_28 ones (Debian 10+, Ubuntu 20.04+, RHEL 8+ have 2.28 or newer).
LINUX_GLIBC_MINOR = 28
#: The oldest macOS we promise on Apple Silicon: onnxruntime 1.32 (tests) ships macosx_14_0 wheels.
MACOS_VERSION = (14, 0)


def manylinux_tags(arch: str, glibc_minor: int = LINUX_GLIBC_MINOR) -> list[str]:
    """Every manylinux tag a glibc 2.``glibc_minor`` machine of ``arch`` accepts, newest first:
    PEP 600 tags down to the first glibc of the architecture (2.5 for x86_64, 2.17 for aarch64),
    and the legacy aliases (manylinux2014 = 2.17, manylinux2010 = 2.12, manylinux1 = 2.5).
    pip does not widen ``--platform manylinux_2_28_x86_64`` to these by itself."""
    first = 5 if arch in ("x86_64", "i686") else 17
    tags = [f"manylinux_2_{m}_{arch}" for m in range(glibc_minor, first - 1, -1)]
    aliases = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    tags += [f"{alias}_{arch}" for m, alias in aliases.items() if first <= m <= glibc_minor]
    return tags


@dataclass(frozen=True)
class Target:
    name: str
    sys_platform: str
    platform_system: str
    platform_machine: str
    os_name: str
    platforms: tuple[str, ...]

    def environment(self, python: str) -> dict[str, str]:
        """The PEP 508 marker environment of CPython ``python`` (``"3.12"``) on this target."""
        full = f"{python}.0"
        return {
            "implementation_name": "cpython",
            "implementation_version": full,
            "os_name": self.os_name,
            "platform_machine": self.platform_machine,
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": self.platform_system,
            "platform_version": "",
            "python_full_version": full,
            "python_version": python,
            "sys_platform": self.sys_platform,
        }


TARGETS = (
    Target("macos-arm64", "darwin", "Darwin", "arm64", "posix", tuple(mac_platforms(MACOS_VERSION, "arm64"))),
    Target("windows-x64", "win32", "Windows", "AMD64", "nt", ("win_amd64",)),
    Target("linux-x86_64", "linux", "Linux", "x86_64", "posix", tuple(manylinux_tags("x86_64"))),
    Target("linux-aarch64", "linux", "Linux", "aarch64", "posix", tuple(manylinux_tags("aarch64"))),
)
TARGETS_BY_NAME = {t.name: t for t in TARGETS}

#: What each requirement file must resolve on. The GPU file is for Linux with NVIDIA only.
FILES = {
    "requirements.txt": tuple(t.name for t in TARGETS),
    "requirements-dev.txt": tuple(t.name for t in TARGETS),
    "requirements-gpu.txt": ("linux-x86_64", "linux-aarch64"),
}
#: Resolved when no --file is given. requirements-dev.txt includes requirements.txt (``-r``), so
#: resolving it resolves every runtime pin together with the test pins on the same target;
#: resolving requirements.txt again would fetch the same wheels a second time (pip needs each
#: wheel's metadata, and an index without PEP 658 metadata makes that a full download).
DEFAULT_FILES = ("requirements-dev.txt", "requirements-gpu.txt")


def read_requirements(path: Path, _seen: frozenset[Path] = frozenset()) -> list[Requirement]:
    """The requirements of ``path``, following ``-r``/``--requirement`` includes (relative to the
    including file). Comments and blank lines are skipped; any other option is refused, since the
    check could not reproduce what it does to resolution."""
    path = path.resolve()
    if path in _seen:
        raise ValueError(f"{path.name} includes itself through -r")
    out: list[Requirement] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = re.sub(r"(^|\s)#.*", "", raw).strip()  # pip's comment rule
        if not line:
            continue
        for flag in ("-r", "--requirement"):
            if line.startswith(flag + " ") or line.startswith(flag + "="):
                include = line[len(flag) + 1:].strip()
                out += read_requirements(path.parent / include, _seen | {path})
                break
        else:
            if line.startswith("-"):
                raise ValueError(f"{path.name}:{number}: option {line.split()[0]} is not supported by this check")
            out.append(Requirement(line))
    return out


def concrete(requirements: list[Requirement], env: dict[str, str]) -> list[str]:
    """The requirements whose markers hold in ``env``, as marker-free lines (``name[extras]==v``)."""
    lines = []
    for req in requirements:
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
        lines.append(f"{req.name}{extras}{req.specifier}")
    return lines


def tensorflow_builds(lines: list[str]) -> list[str]:
    """The TensorFlow distributions a concrete list asks for (must be exactly one)."""
    return [Requirement(line).name for line in lines if Requirement(line).name in TENSORFLOW_BUILDS]


#: Runs pip with the marker environment of the target (argv[1], JSON); argv[2:] are pip's arguments.
_PIP_UNDER_TARGET = """
import json, runpy, sys
import pip._vendor.packaging.markers as markers
env = json.loads(sys.argv[1])
markers.default_environment = lambda: dict(env)
probe = markers.Marker('sys_platform == "%s" and python_version == "%s"' % (env["sys_platform"], env["python_version"]))
if not probe.evaluate():
    sys.exit("this pip evaluates markers without packaging.markers.default_environment; update the check")
sys.argv = ["pip"] + sys.argv[2:]
runpy.run_module("pip", run_name="__main__", alter_sys=True)
"""


@dataclass
class Result:
    file: str
    target: str
    python: str
    ok: bool
    seconds: float
    packages: int
    tensorflow: str
    detail: str


#: pip's words for "this does not resolve" (as opposed to a download that broke off).
_NO_MATCH = ("No matching distribution", "ResolutionImpossible", "conflicting dependencies", "requires a different Python")


def resolve(file: str, target: Target, python: str, python_exe: str = sys.executable,
            report_dir: Path | None = None) -> Result:
    """Resolve ``file`` for ``target``/``python`` with pip, without installing anything."""
    env = target.environment(python)
    lines = concrete(read_requirements(ROOT / file), env)
    builds = tensorflow_builds(lines)
    tf = ",".join(builds) or "none"
    if len(builds) != 1:
        return Result(file, target.name, python, False, 0.0, 0, tf, f"expected exactly one TensorFlow build, got {tf}")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="check-req-") as tmp:
        req_file = Path(tmp) / "requirements.txt"
        req_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        report = Path(tmp) / "report.json"
        cmd = [python_exe, "-c", _PIP_UNDER_TARGET, json.dumps(env),
               "install", "--dry-run", "--quiet", "--no-input", "--disable-pip-version-check",
               "--only-binary=:all:", "--python-version", python, "--implementation", "cp",
               "--target", str(Path(tmp) / "target"), "--report", str(report), "-r", str(req_file)]
        for platform in target.platforms:
            cmd += ["--platform", platform]
        for attempt in range(2):  # a second try only after a download failed, never after "no match"
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
            except subprocess.TimeoutExpired:
                proc = subprocess.CompletedProcess(cmd, 1, "", "pip did not finish within 900 s")
            out = proc.stdout + proc.stderr
            if proc.returncode == 0 or any(word in out for word in _NO_MATCH):
                break
        seconds = time.perf_counter() - start
        if proc.returncode != 0 or not report.exists():
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-8:])
            return Result(file, target.name, python, False, seconds, 0, tf, tail)
        installed = json.loads(report.read_text(encoding="utf-8"))["install"]
        if report_dir is not None:
            report_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy(report, report_dir / f"{Path(file).stem}-{target.name}-py{python}.json")
    return Result(file, target.name, python, True, seconds, len(installed), tf, "")


#: Pythons each file is resolved for by default. The GPU file pins exactly what
#: requirements.txt pins (through requirements-base.txt) plus TensorFlow's CUDA build, whose
#: wheels are the same for every Python but several GB each to download (no PEP 658 metadata
#: here): one Python per platform shows it resolves; the runtime pins are resolved for every
#: Python through requirements-dev.txt. ``--python`` still asks for any.
FILE_PYTHONS = {"requirements-gpu.txt": ("3.11",)}


def pairs(files=None, targets=None, pythons=None) -> list[tuple[str, Target, str]]:
    """Every (file, target, Python) the check covers, narrowed by the optional filters."""
    out = []
    for file in files or DEFAULT_FILES:
        names = FILES[file]
        for name in names:
            if targets and name not in targets:
                continue
            for python in (PYTHONS if pythons else FILE_PYTHONS.get(file, PYTHONS)):
                if not pythons or python in pythons:
                    out.append((file, TARGETS_BY_NAME[name], python))
    return out


def run_all(work, jobs: int = 4, report_dir: Path | None = None, log=print) -> list[Result]:
    """Resolve every pair in ``work`` with ``jobs`` pips at a time; ``log`` gets one line each."""
    def one(item):
        result = resolve(*item, report_dir=report_dir)
        status = "ok  " if result.ok else "FAIL"
        log(f"{status} {result.file:22} {result.target:14} py{result.python}  {result.seconds:6.1f} s  "
            f"{result.packages:3d} packages  {result.tensorflow}")
        return result
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, work))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", action="append", choices=sorted(FILES),
                        help=f"resolve this requirement file (repeatable; default: {' and '.join(DEFAULT_FILES)})")
    parser.add_argument("--only", action="append", choices=sorted(TARGETS_BY_NAME), help="only this target (repeatable)")
    parser.add_argument("--python", action="append", choices=PYTHONS, help="only this Python (repeatable)")
    parser.add_argument("--jobs", type=int, default=6, help="pips run at once (default 6: the time is mostly waiting on the registry)")
    parser.add_argument("--report", type=Path, help="keep pip's JSON install reports in this folder")
    args = parser.parse_args(argv)
    work = pairs(args.file, args.only, args.python)
    start = time.perf_counter()
    results = run_all(work, args.jobs, args.report)
    failed = [r for r in results if not r.ok]
    for r in failed:
        print(f"\n{r.file} on {r.target} py{r.python}:\n{r.detail}")
    print(f"\n{len(results) - len(failed)}/{len(results)} resolved in {time.perf_counter() - start:.1f} s "
          f"({args.jobs} at a time)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
