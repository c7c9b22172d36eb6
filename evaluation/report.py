"""The evaluation report: Markdown and HTML built from the metrics dict, with PNG figures beside them.

The report is a list of blocks (headings, paragraphs, tables, images) rendered twice, so the two
formats always say the same thing. :func:`metrics_table` gives the compact Markdown table that training
puts in the model card.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

from voc.models.atomic import write_text
from voc.models.metrics import HEADLINE, MAIN_METRIC

from .plots import confusion_plot, reliability_plot

METRIC_NAMES = {"accuracy": "accuracy", "macro_f1": "macro F1", "micro_f1": "micro F1"}
ERROR_TEXT_CHARS = 240
CSS = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;margin:0.6em 0 1.2em}th,td{border:1px solid #ccc;padding:3px 8px;"
    "text-align:left;vertical-align:top}th{background:#f3f3f3}img{max-width:100%;margin:0.4em 1em 0.4em 0}"
)


def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def points(x: float) -> str:
    return f"{100 * x:+.1f}"


def with_ci(head: dict, metric: str) -> str:
    """A metric in percent with its 95% bootstrap interval when the metrics carry one: ``84.1 [81.0, 87.0]``."""
    ci = head.get("ci", {}).get(metric)
    return pct(head[metric]) + (f" [{pct(ci[0])}, {pct(ci[1])}]" if ci else "")


def ece_with_ci(head: dict) -> str:
    ci = head.get("ci", {}).get("ece")
    value = head["calibration"]["ece"]
    return f"{value:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def margin_with_ci(cmp: dict) -> str:
    ci = cmp.get("margin_ci")
    return points(cmp["margin"]) + (f" [{points(ci[0])}, {points(ci[1])}]" if ci else "")


@dataclass
class Doc:
    """Report blocks: ``("h", level, text)``, ``("p", text)``, ``("table", header, rows)``, ``("img", file, alt)``."""

    blocks: list[tuple] = field(default_factory=list)

    def h(self, level: int, text: str) -> None:
        self.blocks.append(("h", level, text))

    def p(self, text: str) -> None:
        self.blocks.append(("p", text))

    def table(self, header: list[str], rows: list[list]) -> None:
        self.blocks.append(("table", header, [[str(c) for c in row] for row in rows]))

    def img(self, file: str, alt: str) -> None:
        self.blocks.append(("img", file, alt))

    def markdown(self) -> str:
        out = []
        for kind, *args in self.blocks:
            if kind == "h":
                out.append("#" * args[0] + " " + args[1])
            elif kind == "p":
                out.append(args[0])
            elif kind == "table":
                out.append(markdown_table(*args))
            else:
                out.append(f"![{args[1]}]({args[0]})")
        return "\n\n".join(out) + "\n"

    def html(self, title: str) -> str:
        out = [
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{CSS}</style></head><body>"
        ]
        for kind, *args in self.blocks:
            if kind == "h":
                out.append(f"<h{args[0]}>{html.escape(args[1])}</h{args[0]}>")
            elif kind == "p":
                out.append(f"<p>{html.escape(args[0])}</p>")
            elif kind == "table":
                head = "".join(f"<th>{html.escape(c)}</th>" for c in args[0])
                body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in args[1])
                out.append(f"<table><tr>{head}</tr>{body}</table>")
            else:
                out.append(f"<img src='{html.escape(args[0])}' alt='{html.escape(args[1])}'>")
        return "\n".join(out) + "\n</body></html>\n"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    def cell(text: str) -> str:
        return " ".join(str(text).split()).replace("|", "\\|")

    lines = ["| " + " | ".join(cell(c) for c in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def metrics_table(metrics: dict) -> str:
    """A Markdown table of the model's headline numbers per head (for the model card); percentages, ECE as is."""
    rows = [
        [task, head["n"], *(with_ci(head, m) for m in HEADLINE), ece_with_ci(head)]
        for task, head in metrics["systems"]["model"].items()
    ]
    table = markdown_table(["head", "rows", "accuracy", "macro F1", "micro F1", "ECE"], rows)
    table += "\n\nIn brackets: 95% bootstrap intervals (rows resampled 1,000 times, seeded)."
    alert = metrics.get("alert", {}).get("model")
    if alert:
        table += (
            f"\n\n{alert['task']} = {alert['label']}: precision {pct(alert['precision'])}, "
            f"recall {pct(alert['recall'])} ({alert['support']} in the data)."
        )
    return table


def _overview(doc: Doc, metrics: dict) -> None:
    files = ", ".join(f"{f['path']} ({f['rows']} rows)" for f in metrics["data"])
    doc.p(f"Model {metrics['model']} on {metrics['rows']} rows: {files}.")
    if metrics.get("empty_texts"):
        doc.p(f"{metrics['empty_texts']} rows have empty text; they are scored like any other, for comparability.")
    for task, labels in metrics.get("restricted", {}).items():
        doc.p(
            f"{task} is evaluated on {', '.join(labels)} only: every system's {task} probabilities are reduced to "
            f"these labels and renormalised, so the decision compares P({labels[0]}) with "
            + " and ".join(f"P({x})" for x in labels[1:])
            + "."
        )
    heads = metrics["heads"]
    rows = [[t, "evaluated", n, ""] for t, n in heads["evaluated"].items()]
    rows += [[t, "skipped", 0, reason] for t, reason in heads["skipped"].items()]
    doc.h(2, "Heads")
    doc.table(["head", "status", "rows", "why skipped"], rows)


def _summary(doc: Doc, metrics: dict) -> None:
    doc.h(2, "Model against baselines")
    baselines = [name for name in metrics["systems"] if name != "model"]
    if not baselines:
        doc.p("Baselines were not run (--no-baselines).")
        return
    rows = []
    for task, head in metrics["systems"]["model"].items():
        metric = MAIN_METRIC[head["type"]]
        row = [task, METRIC_NAMES[metric], pct(head[metric])]
        for name in baselines:
            cmp = metrics["comparison"].get(task, {}).get(name)
            row.append(f"{pct(cmp['baseline'])} ({margin_with_ci(cmp)})" if cmp else "–")
        rows.append(row)
    doc.p(
        "Main metric per head (percent); in brackets the model's margin over the other system in points, with its "
        "paired 95% bootstrap interval (an interval that includes 0 is no evidence either way)."
    )
    doc.table(["head", "metric", "model"] + baselines, rows)
    doc.p(comparison_sentence(metrics))
    _baseline_sources(doc, metrics.get("baselines", {}))


def verdict(cmp: dict) -> str:
    """``better`` / ``worse`` when the paired 95% interval of the margin lies above / below 0, else ``no clear
    difference``; without an interval, only the sign: ``ahead`` / ``behind`` / ``level`` (no evidence)."""
    ci = cmp.get("margin_ci")
    if ci:
        return "better" if ci[0] > 0 else "worse" if ci[1] < 0 else "no clear difference"
    return "ahead" if cmp["margin"] > 0 else "behind" if cmp["margin"] < 0 else "level"


def comparison_sentence(metrics: dict) -> str:
    """What the comparison table shows, and nothing more: the model beats every baseline only when every
    paired interval lies above 0; otherwise which differences are clear and which are not."""
    groups: dict[str, list[str]] = {}
    for task, per in metrics["comparison"].items():
        for name, cmp in per.items():
            groups.setdefault(verdict(cmp), []).append(f"{name} on {task} ({margin_with_ci(cmp)})")
    if not groups:
        return "No baseline was compared on any head."
    if set(groups) == {"better"}:
        return "The model beats every baseline on every head: every paired 95% interval lies above 0."
    titles = {
        "better": "Clearly better than (interval above 0)",
        "worse": "Clearly worse than (interval below 0)",
        "no clear difference": "No clear difference from (interval includes 0)",
        "ahead": "Ahead of (no interval to tell whether it is real)",
        "behind": "Behind (no interval to tell whether it is real)",
        "level": "Level with (no interval)",
    }
    return " ".join(f"{titles[v]}: {', '.join(groups[v])}." for v in titles if v in groups)


def _baseline_sources(doc: Doc, record: dict) -> None:
    train = record.get("train")
    if train:
        files = ", ".join(f"{f['path']} ({f['rows']} rows)" for f in train["files"])
        per_task = ", ".join(f"{t}: {n}" for t, n in train["rows_per_task"].items())
        source = record.get("train_source", "default")
        doc.p(
            f"majority and tfidf are trained on ({source}): {files}; labelled rows per head: {per_task}. "
            "zero-shot uses no training data."
        )
    for name, why in record.get("skipped", {}).items():
        reasons = "; ".join(f"{'all heads' if t == '*' else t}: {r}" for t, r in why.items())
        doc.p(f"{name} skipped for {reasons}.")


def _alert_section(doc: Doc, metrics: dict) -> None:
    if not metrics.get("alert"):
        return
    first = next(iter(metrics["alert"].values()))
    doc.h(2, f"{first['task']} = {first['label']} at the operating point")
    doc.p(
        "The decision that sends feedback to a senior human: recall is the share of real cases caught, "
        "precision the share of alerts that are real."
    )
    rows = [
        [name, pct(a["precision"]), pct(a["recall"]), pct(a["f1"]), a["support"], a["predicted"]]
        for name, a in metrics["alert"].items()
    ]
    doc.table(["system", "precision", "recall", "F1", "in the data", "flagged"], rows)


def _head_section(doc: Doc, metrics: dict, task: str, out_dir: Path) -> None:
    model = metrics["systems"]["model"][task]
    doc.h(2, f"Head: {task}")
    rows = []
    for name, per_head in metrics["systems"].items():
        if task in per_head:
            head = per_head[task]
            rows.append([name, head["n"], *(with_ci(head, m) for m in HEADLINE), ece_with_ci(head)])
    accuracy = "exact-match accuracy" if model["type"] == "multi" else "accuracy"
    doc.table(["system", "rows", accuracy, "macro F1", "micro F1", "ECE"], rows)
    header = ["label", "precision", "recall", "F1", "support", "predicted"]
    per_label = []
    for label, m in model["per_label"].items():
        row = [label, pct(m["precision"]), pct(m["recall"]), pct(m["f1"]), m["support"], m["predicted"]]
        per_label.append(row + ([f"{model['thresholds'][label]:.2f}"] if model["type"] == "multi" else []))
    if model["type"] == "multi":
        doc.p("Per label, the model (a label is predicted when its probability reaches its threshold):")
        header.append("threshold")
    else:
        doc.p("Per label, the model:")
    doc.table(header, per_label)
    confusion_plot(model, f"{task}: confusion", out_dir / f"confusion_{task}.png")
    reliability_plot(model, f"{task}: reliability", out_dir / f"reliability_{task}.png")
    doc.img(f"confusion_{task}.png", f"{task} confusion matrix")
    doc.img(f"reliability_{task}.png", f"{task} reliability diagram")


def _language_section(doc: Doc, metrics: dict) -> None:
    doc.h(2, "By language")
    doc.p("Language from each row's lang field, else detected from its script. Main metric per head, percent.")
    for task, per_lang in metrics["by_language"].items():
        metric = MAIN_METRIC[metrics["systems"]["model"][task]["type"]]
        systems = list(next(iter(per_lang.values())))
        rows = [
            [lang, scores["model"]["n"]] + [pct(scores[name][metric]) if name in scores else "–" for name in systems]
            for lang, scores in per_lang.items()
        ]
        doc.p(f"{task} ({METRIC_NAMES[metric]}):")
        doc.table(["language", "rows"] + systems, rows)


def _labels(value: str | list[str]) -> str:
    """A single label as is; a multi-label decision as a comma list, ``(none)`` when empty."""
    return value if isinstance(value, str) else ", ".join(value) or "(none)"


def _errors_section(doc: Doc, metrics: dict) -> None:
    doc.h(2, "Worst errors")
    doc.p(
        "The model's most confident wrong predictions per head: where the model is sure and wrong, "
        "the label or the model needs a look."
    )
    for task, errors in metrics["worst_errors"].items():
        doc.h(3, task)
        if not errors:
            doc.p("No errors.")
            continue
        rows = []
        for e in errors:
            text = e["text"] if len(e["text"]) <= ERROR_TEXT_CHARS else e["text"][:ERROR_TEXT_CHARS] + "…"
            gold, predicted = _labels(e["gold"]), _labels(e["predicted"])
            rows.append([f"{e['confidence']:.3f}", gold, predicted, e["lang"], text, e["where"]])
        doc.table(["confidence", "gold", "predicted", "lang", "text", "where"], rows)


def _throughput(doc: Doc, metrics: dict) -> None:
    doc.h(2, "Throughput")
    rows = [
        [name, f"{t['seconds']:.1f}", "–" if t["rows_per_s"] is None else f"{t['rows_per_s']:,.0f}"]
        for name, t in metrics["throughput"].items()
    ]
    doc.table(["system", "scoring seconds", "rows per second"], rows)


def build_report(metrics: dict, out_dir: Path) -> Doc:
    """The report's blocks; writes the figures into ``out_dir`` on the way."""
    doc = Doc()
    doc.h(1, f"Evaluation: {metrics['model']}")
    _overview(doc, metrics)
    _summary(doc, metrics)
    _alert_section(doc, metrics)
    for task in metrics["systems"]["model"]:
        _head_section(doc, metrics, task, out_dir)
    _language_section(doc, metrics)
    _errors_section(doc, metrics)
    _throughput(doc, metrics)
    return doc


def write_report(metrics: dict, out_dir: str | Path) -> Path:
    """Write report.md, report.html and the PNGs into ``out_dir``, each atomically; returns the Markdown path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = build_report(metrics, out_dir)
    write_text(out_dir / "report.html", doc.html(f"Evaluation: {metrics['model']}"))
    write_text(out_dir / "report.md", doc.markdown())
    return out_dir / "report.md"
