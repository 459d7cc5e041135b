"""A run's results as JSON (everything, raw samples included) and as a markdown table."""

from __future__ import annotations

from typing import Any

from figures import Figure, fmt_stats, verdict_text


def markdown(run: dict[str, Any], figures: list[Figure]) -> str:
    m, load = run["machine"], run["load_average"]
    lines = [
        f"# devstack benchmarks, {run['started']}",
        "",
        f"- Machine: {m['cpu_model']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, {m['os']}, "
        f"kernel {m['kernel']}",
        f"- Tools: Python {m['python']}, Docker {m['docker_server'] or 'absent'}, "
        f"docker-compose {m['docker_compose'] or 'absent'}, {m['honcho'] or 'honcho absent'}; "
        f"devstack {m['devstack_commit'] or 'unknown commit'}"
        + (f", bytecode {run['bytecode']}" if run.get("bytecode") else ""),
        f"- Load average (1/5/15 min): before {fmt_load(load['before'])}, "
        f"after {fmt_load(load['after'])}"
        + ("  **(busy machine: treat absolute figures as upper bounds)**" if busy(run) else ""),
        f"- Run: {run['mode']}, scales N = {', '.join(map(str, run['scales']))}, "
        f"{run['reps']} repetition(s), {run['duration_s']:.0f} s, {run['state']}",
        "",
        "p50 / p95 (n samples). Ratio: devstack / baseline at p50 (below 1: devstack is "
        "faster or smaller). Ready = every service's HTTP port answers `GET /health`, polled "
        "the same way for devstack and every baseline.",
        "",
        "| figure | N | devstack | baselines, same run | ratio p50 | target |",
        "|---|---|---|---|---|---|",
    ]
    for fig in figures:
        bases = "<br>".join(f"{b.label}: {fmt_stats(b, fig.unit)}" for b in fig.baselines)
        ratios = "<br>".join(f"{r['p50']:.2f}× {label}" for label, r in fig.ratios().items() if "p50" in r)  # fmt: skip
        lines.append(f"| {fig.title} | {fig.scale if fig.scale is not None else ''} | "
                     f"{fmt_stats(fig.devstack, fig.unit)} | {bases or '—'} | {ratios or '—'} | "
                     f"{verdict_text(fig)} |")  # fmt: skip
    notes = [(fig, note) for fig in figures for note in fig.notes]
    if notes:
        lines += ["", "Notes:", ""]
        lines += [f"- {fig.title}{f' (N={fig.scale})' if fig.scale else ''}: {note}" for fig, note in notes]  # fmt: skip
    for key, title in (("skipped", "Skipped"), ("failed", "Failed")):
        if run[key]:
            lines += ["", f"{title}:", ""]
            lines += [f"- {name}: {why}" for name, why in run[key].items()]
    return "\n".join(lines) + "\n"


def fmt_load(values: list[float]) -> str:
    return "/".join(f"{v:.2f}" for v in values)


def busy(run: dict[str, Any]) -> bool:
    """Busier than half the cores on average, before or after: other work moved the figures."""
    cores = int(run["machine"]["cores"] or 1)
    return bool(max(run["load_average"]["before"][0], run["load_average"]["after"][0]) > cores / 2)
