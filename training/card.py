"""The model card (README.md inside the saved model): what it is, how it was trained, how well it does."""

from __future__ import annotations

import json

from models.schema import LabelSchema


def _contribution_table(contributions: dict) -> str:
    lines = ["| split | part | task | accuracy | macro-F1 | micro-F1 | n |", "|---|---|---|---|---|---|---|"]
    for split, parts in contributions.items():
        for part, tasks in parts.items():
            for task, m in tasks.items():
                lines.append(
                    f"| {split} | {part} | {task} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} "
                    f"| {m['micro_f1']:.3f} | {m['n']} |"
                )
    return "\n".join(lines)


def model_card(meta: dict, schema: LabelSchema) -> str:
    from evaluation import metrics_table

    stats, cfg = meta["train_stats"], meta["training"]
    tasks = "\n".join(f"- **{t.name}** ({t.type}): {', '.join(t.labels)}" for t in schema.tasks)
    test = metrics_table(meta["metrics"]) if meta.get("metrics") else "_No test files were configured._"
    return f"""# voc-classifier — {meta["name"]}

Tags customer feedback in Korean, English or a mix with a sentiment, service themes and an escalation
risk (definitions: the label guideline v1.1). Fine-tuned from `{meta["base_model"]}` with mean pooling
and one head per task; a hashed character/word n-gram model sits beside the encoder and their logits are
combined with weights fitted on the validation split.

## Tasks
{tasks}

## Training
- rows: {stats["train_rows"]} for the encoder, {stats["ngram_rows"]} for the n-gram part, {stats["validation_rows"]}
  for calibration; {stats["steps"]} steps, final loss {stats["final_loss"]:.3f}, {stats["train_seconds"]} s of
  fine-tuning, {stats["total_seconds"]} s in all.
- seed {meta["seed"]}; max length {cfg["max_length"]} tokens; batch {cfg["batch_size"]}; epochs {cfg["epochs"]};
  encoder lr {cfg["learning_rate"]}; word embeddings frozen: {cfg["freeze_embeddings"]}.
- calibration: temperature per head {json.dumps({k: round(v, 3) for k, v in meta["temperatures"].items()})};
  n-gram weight per head {json.dumps({k: round(v, 3) for k, v in meta["ngram_weights"].items()})};
  decision thresholds (per theme; the escalation alert) {json.dumps(meta["thresholds"])}.
- data files (sha256) and package versions: `voc.json`.

## Evaluation (test files)
{test}

## What each part contributes
Probabilities at temperature 1 for the single parts; themes decided at the tuned thresholds.

{_contribution_table(meta["contributions"])}

## Limits
- The themes and escalation labels come from a hand-written bilingual set (data/voc); real traffic from
  other industries or channels may differ. Public sentiment data is movie reviews (NSMC) and airline
  tweets, used for the sentiment head only.
- Texts are truncated to {cfg["max_length"]} tokens.
- Escalation is a triage aid: a human decides.
"""
