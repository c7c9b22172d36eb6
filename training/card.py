"""The model card (README.md inside the saved model): what it is, how it was trained, how well it does."""

from __future__ import annotations

import json

from voc.models.schema import LabelSchema


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


def model_card(meta: dict, schema: LabelSchema, test_tables: dict[str, str]) -> str:
    """The card of a trained model from its ``voc.json`` contents; ``test_tables``: per test file, the table of its
    metrics (``voc.training.train.MeasureFile``)."""
    stats, cfg = meta["train_stats"], meta["training"]
    tasks = "\n".join(f"- **{t.name}** ({t.type}): {', '.join(t.labels)}" for t in schema.tasks)
    test = "\n\n".join(f"### {name}\n\n{table}" for name, table in test_tables.items())
    test = test or "_No test files were configured._"
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
  fine-tuning (on {stats.get("train_device", "cpu")}), {stats["total_seconds"]} s in all.
- seed {meta["seed"]}; max length {cfg["max_length"]} tokens; batch {cfg["batch_size"]}; epochs {cfg["epochs"]};
  encoder lr {cfg["learning_rate"]}; word embeddings frozen: {cfg["freeze_embeddings"]}.
- calibration: temperature per head {json.dumps({k: round(v, 3) for k, v in meta["temperatures"].items()})};
  n-gram weight per head {json.dumps({k: round(v, 3) for k, v in meta["ngram_weights"].items()})};
  decision thresholds (per theme; the escalation alert) {json.dumps(meta["thresholds"])}.
- data files (sha256) and package versions: `voc.json`.

## Evaluation (test files; measured on this directory as reloaded from disk)
Each file on its own; `voc evaluate --model <this model> --data FILE` prints the same figures.

{test}

## What each part contributes
Probabilities at temperature 1 for the single parts; themes decided at the tuned thresholds.

{_contribution_table(meta["contributions"])}

## Intended use
Triage and analysis of customer feedback (reviews, tickets, chats, social posts) in Korean, English or a
mix: what customers feel (sentiment), what they talk about (themes) and who needs a senior human now
(escalation). Label definitions: the guideline `docs/LABELS.md` in the voc repository. Escalation is a
triage aid with its operating point set for recall of `high` on validation: a human decides.

```python
from voc.models.predictor import Predictor
clf = Predictor.load("path/to/this/model")   # or `voc score` / `voc serve --model voc-classifier:<tag>`
clf.predict(["배송이 2주째 안 와요", "great support, thanks"])
```

## Data and licences
Training files and their sha256 are in `voc.json` (`data`). The default recipe uses the project's
hand-written set (CC BY 4.0), NSMC (CC0), real airline tweets (Twitter US Airline Sentiment, **CC BY-NC-SA
4.0: non-commercial**) with our theme/escalation labels, and KOTE shop reviews (MIT) with our labels. A model
trained on the airline tweets inherits their non-commercial term: for commercial use train
`training/configs/commercial.yaml`, which leaves them out. Measured cost (README, Quality): no clear
difference on the hand-written and Korean test sets, but 13–14 points lower on every head on real English
tweets.

## Limits
- Themes and escalation are learnt from a few thousand labelled texts: the hand-written set and about
  1,400 real tweets and shop reviews; other industries and channels may differ. Compare the in-domain and
  the real-text figures above.
- Texts are truncated to {cfg["max_length"]} tokens (the service flags `truncated`).
- Language detection is by script (Hangul vs Latin); other languages are scored but were not trained on.
"""
