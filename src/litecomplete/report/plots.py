"""The report's PNG plots (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

from litecomplete.report.run import Report


def _scatter(
    report: Report, x: list[float], y: list[float], xlabel: str, ylabel: str, path: Path
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    ax.scatter(x, y, color="tab:blue")
    for row, xi, yi in zip(report.rows, x, y, strict=True):
        ax.annotate(row.mode, (xi, yi), textcoords="offset points", xytext=(5, 4), fontsize=9)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(report.model, fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="png")
    plt.close(fig)
    tmp.replace(path)


def write_plots(report: Report, out_dir: Path) -> list[Path]:
    """``size_vs_ppl.png`` and ``decode_vs_size.png`` in ``out_dir``."""
    sizes = [r.size_bytes / 2**20 for r in report.rows]
    ppl = [float(r.eval["perplexity"]) for r in report.rows]
    decode = [r.decode_tokens_per_s for r in report.rows]
    first = out_dir / "size_vs_ppl.png"
    second = out_dir / "decode_vs_size.png"
    _scatter(report, sizes, ppl, "file size (MiB)", "perplexity", first)
    _scatter(report, sizes, decode, "file size (MiB)", "decode tokens/s", second)
    return [first, second]
