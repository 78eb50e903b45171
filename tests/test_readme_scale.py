"""README's "Past one machine" numbers are the ones the scale benchmarks printed.

The benchmarks' printed output is kept in ``benchmarks/results/``; every measured number of the
README section, and the worked estimate made from them, is checked against it here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
IMAGENET = 1_281_167


@pytest.fixture(scope="module")
def section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("## Past one machine")
    return text[start:text.index("\n## ", start + 5)]


def _row(path: str, pattern: str) -> list[str]:
    for line in (RESULTS / path).read_text().splitlines():
        if re.match(pattern, line.strip()):
            return line.split()
    raise AssertionError(f"no line matching {pattern!r} in {path}")


def test_engine_numbers_are_the_benchmarks(section):
    local = _row("scale_engines.txt", r"local \(reference\)")
    ray = _row("scale_engines.txt", r"ray, 2 CPU actors")
    assert f"| {local[3]} images/s (wall) |" in section
    assert f"| {ray[5]} images/s: {ray[6]}x local" in section
    diff = float(_row("scale_engines.txt", r"largest \|local - ray\|")[-1])
    assert diff == 0 and "largest difference 0" in section


def test_memory_numbers_are_the_benchmarks(section):
    cheap = _row("scale_memory.txt", r"60000\s+6\.0")
    real0, real = _row("scale_memory_real.txt", r"10000\s+1\.0"), _row("scale_memory_real.txt", r"60000\s+6\.0")
    assert f"x{real[3]} with EfficientNet-Lite0 ({real0[2]} -> {real[2]} MB; a cheap stand-in network: x{cheap[3]})" \
        in section
    ondisk = (RESULTS / "scale_index_memory.txt").read_text()
    total, anon = re.search(r"ondisk: data x6\.0 -> peak RSS x([\d.]+) .*peak anonymous RSS x([\d.]+)", ondisk).groups()
    inmem = re.search(r"inmemory: data x6\.0 -> peak RSS x([\d.]+)", ondisk).group(1)
    assert f"x{total} in all (x{anon} anonymous memory;" in section and f"in-memory IVF x{inmem}" in section
    for n in ("10000", "60000"):
        d = re.search(rf"recall@10 at {n}: on-disk minus in-memory ([+-][\d.]+)", ondisk).group(1)
        assert d == "+0.0000"
    assert "+0.0000 at 10k and at 60k" in section


def test_notebook_04_memory_budget_numbers_are_the_benchmark(section):
    text = (RESULTS / "scale_nb04.txt").read_text()
    ram = re.search(r"ram: data x6\.0 -> peak anonymous RSS above imports x([\d.]+)", text).group(1)
    disk = re.search(r"disk: data x6\.0 -> peak anonymous RSS above imports x([\d.]+)", text).group(1)
    assert f"peak anonymous RSS x{disk} (gallery in RAM: x{ram})" in section
    diffs = [re.search(rf"at {n}: on disk minus in RAM: exact p@10 ([+-][\d.]+), IVF p@10 [+-][\d.]+, "
                       rf"IVF recall@10 ([+-][\d.]+)", text).groups() for n in (10000, 60000)]
    assert {d[0] for d in diffs} == {"+0.00"} and "exact precision@10 equal (+0.00)" in section
    assert f"IVF recall@10 {diffs[0][1]} and {diffs[1][1]} points" in section
    assert "sample of 3,900 vectors" in section  # 39 per list x 100 lists: a 5 MB budget holds fewer


def test_bliss_numbers_are_the_benchmarks(section):
    def ratio(enc, n, method):
        return float(_row("scale_index.txt", rf"{enc}\s+{n}\s+\d+\s+{method}\b")[4 + 1])

    r = {(e, n, m): ratio(e, n, m) for e in ("resnet56-cifar10",) for n in (9000, 59000) for m in ("fast", "fixed")}
    assert f"fast {r['resnet56-cifar10', 9000, 'fast']:.1f}x -> {r['resnet56-cifar10', 59000, 'fast']:.1f}x" in section
    assert f"fixed\n{r['resnet56-cifar10', 9000, 'fixed']:.0f}x -> {r['resnet56-cifar10', 59000, 'fixed']:.0f}x" in section
    e1, e2 = ratio("efficientnet-lite0", 9000, "fast"), ratio("efficientnet-lite0", 59000, "fast")
    assert f"({e1:.1f}x -> {e2:.1f}x)" in section
    diffs = {(e, n, m): _row("scale_index.txt", rf"{e}\s+{n}\s+\d+\s+{m}\b")[-1]
             for e in ("resnet56-cifar10", "efficientnet-lite0") for n in (9000, 59000) for m in ("fast", "fixed")
             if not (e == "efficientnet-lite0" and m == "fixed")}
    assert f"(+{float(diffs['resnet56-cifar10', 9000, 'fixed']):.3f}, +{float(diffs['resnet56-cifar10', 59000, 'fixed']):.3f})" \
        in section
    res = {round(float(diffs["resnet56-cifar10", n, "fast"]), 2) for n in (9000, 59000)}
    eff = {round(float(diffs["efficientnet-lite0", n, "fast"]), 2) for n in (9000, 59000)}
    assert res == {-0.03} and eff == {-0.16, -0.17}
    assert "(-0.03 on ResNet-56, -0.16 and -0.17 on EfficientNet-Lite0" in section


def test_the_worked_estimate_follows_from_the_measured_rate(section):
    rate = float(_row("scale_engines.txt", r"local \(reference\)")[3])
    a100 = 2500
    hours = IMAGENET / rate / 3600
    row = next(line for line in section.splitlines() if line.startswith("| ImageNet-1k"))
    assert row == (f"| ImageNet-1k ({IMAGENET:,} images) | {hours:.1f} h | {hours * 60 / 100:.0f} min | "
                   f"{IMAGENET / a100 / 60:.1f} min | {IMAGENET / a100 / 8 / 60:.1f} min |")
    row = next(line for line in section.splitlines() if line.startswith("| 100M images"))
    assert row == (f"| 100M images | {1e8 / rate / 86400:.0f} days | {1e8 / rate / 3600 / 100:.1f} h | "
                   f"{1e8 / a100 / 3600:.1f} h | {1e8 / a100 / 3600 / 8:.1f} h |")
    assert f"one worker like this one ({rate} images/s)" in section
