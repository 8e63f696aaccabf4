"""The report's PNG plots (matplotlib, no display needed)."""

from __future__ import annotations

import math
from pathlib import Path

from litecomplete.report.llamacpp import ROW_PREFIX
from litecomplete.report.run import ModeRow, Report


def _near(a: tuple[float, float], b: tuple[float, float], log_y: bool) -> bool:
    """Whether two points' labels would overlap (5 % apart in x and in y)."""
    (xa, ya), (xb, yb) = a, b
    if log_y:
        ya, yb = math.log(max(ya, 1e-12)), math.log(max(yb, 1e-12))
        return abs(xa - xb) <= 0.05 * max(xa, xb) and abs(ya - yb) <= 0.05
    return abs(xa - xb) <= 0.05 * max(xa, xb) and abs(ya - yb) <= 0.05 * max(abs(ya), abs(yb))


def _scatter(
    report: Report,
    rows: list[ModeRow],
    x: list[float],
    y: list[float],
    labels: tuple[str, str],
    path: Path,
    log_y: bool = False,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    peer = [r.mode.startswith(ROW_PREFIX) for r in rows]
    for is_peer, color, name in (
        (False, "tab:blue", "litecomplete"),
        (True, "tab:orange", "llama.cpp"),
    ):
        xs = [a for a, p in zip(x, peer, strict=True) if p == is_peer]
        ys = [b for b, p in zip(y, peer, strict=True) if p == is_peer]
        if xs:
            ax.scatter(xs, ys, color=color, label=name)
    if any(peer):
        ax.legend(fontsize=8)
    placed: list[tuple[float, float]] = []
    for row, point in zip(rows, zip(x, y, strict=True), strict=True):
        crowd = sum(_near(point, other, log_y) for other in placed)  # stack close labels
        ax.annotate(
            row.mode.removeprefix(ROW_PREFIX),
            point,
            textcoords="offset points",
            xytext=(5, 4 - 11 * crowd),
            fontsize=9,
        )
        placed.append(point)
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title(report.model, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="png")
    plt.close(fig)
    tmp.replace(path)


def write_plots(report: Report, out_dir: Path) -> list[Path]:
    """``size_vs_ppl.png``, ``size_vs_kld.png`` and ``decode_vs_size.png`` in ``out_dir``
    (llama.cpp's rows in orange)."""
    rows = report.rows
    sizes = [r.size_bytes / 2**20 for r in rows]
    ppl = [float(r.eval["perplexity"]) for r in rows]
    decode = [r.decode_tokens_per_s for r in rows]
    # KLD against float32: the reference itself (0) has no place on a log scale.
    compared = [r for r in rows if ((r.eval.get("comparison") or {}).get("kld_mean") or 0) > 0]
    kld = [float(r.eval["comparison"]["kld_mean"]) for r in compared]
    paths = [out_dir / n for n in ("size_vs_ppl.png", "size_vs_kld.png", "decode_vs_size.png")]
    log_ppl = ("file size (MiB)", "perplexity (log scale)")
    _scatter(report, rows, sizes, ppl, log_ppl, paths[0], log_y=True)
    compared_sizes = [r.size_bytes / 2**20 for r in compared]
    log_kld = ("file size (MiB)", "mean KLD against float32 (log scale)")
    _scatter(report, compared, compared_sizes, kld, log_kld, paths[1], log_y=True)
    _scatter(report, rows, sizes, decode, ("file size (MiB)", "decode tokens/s"), paths[2])
    return paths
