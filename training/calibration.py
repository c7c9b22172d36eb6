"""Fitted on the validation split after training: how to mix the encoder with the n-gram part, a
temperature per head, a decision threshold per multi-label class, per-language prior offsets of the
single-label heads, and the alert's operating point.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def fit_combination(
    encoder: np.ndarray, ngram: np.ndarray | None, target: np.ndarray, multi: bool
) -> tuple[float, float]:
    """Fit ``(temperature, ngram_weight)`` so that ``(encoder + w * ngram) / T`` minimises log loss.

    Without an n-gram part this is plain temperature scaling. ``target`` holds class indices for a
    single-label head and a 0/1 matrix for a multi-label one.
    """
    enc = torch.tensor(encoder, dtype=torch.float64)
    ng = torch.tensor(ngram, dtype=torch.float64) if ngram is not None else torch.zeros_like(enc)
    y = torch.tensor(target, dtype=torch.float64 if multi else torch.long)
    log_a = torch.zeros((), dtype=torch.float64, requires_grad=True)  # a = 1/T, kept positive
    b = torch.zeros((), dtype=torch.float64, requires_grad=ngram is not None)
    params = [log_a, b] if ngram is not None else [log_a]
    optimizer = torch.optim.LBFGS(params, lr=0.5, max_iter=200, line_search_fn="strong_wolfe")

    def loss() -> torch.Tensor:
        optimizer.zero_grad()
        z = log_a.exp() * enc + b * ng
        value = F.binary_cross_entropy_with_logits(z, y) if multi else F.cross_entropy(z, y)
        value.backward()
        return value

    optimizer.step(loss)
    a = log_a.exp().item()
    return 1.0 / a, b.item() / a


def tune_thresholds(probs: np.ndarray, target: np.ndarray, labels: tuple[str, ...]) -> dict[str, float]:
    """Per label, the probability threshold in [0.05, 0.95] with the best F1 on validation (ties: lowest)."""
    grid = np.round(np.arange(0.05, 0.951, 0.01), 2)
    out = {}
    for j, label in enumerate(labels):
        y = target[:, j].astype(bool)
        best, best_f1 = float(grid[0]), -1.0
        for thr in grid:
            pred = probs[:, j] >= thr
            tp = float((pred & y).sum())
            f1 = 2 * tp / max(1.0, float(pred.sum() + y.sum()))
            if f1 > best_f1 + 1e-12:
                best, best_f1 = float(thr), f1
        out[label] = best
    return out


def alert_threshold(
    probs: np.ndarray, gold: np.ndarray, label: int, recall: float, min_precision: float = 0.0
) -> float | None:
    """The highest probability threshold for ``label`` whose decisions recall at least ``recall`` of it on
    validation, never going below the threshold where its precision falls under ``min_precision`` (alerts
    that are mostly wrong teach people to ignore them). ``None`` when argmax alone already recalls enough,
    when the label never occurs, or when no threshold keeps the precision."""
    from voc.models.predictor import single_decisions

    positive = gold == label
    if not positive.any() or (probs.argmax(axis=1)[positive] == label).mean() >= recall:
        return None
    overrides = np.full(probs.shape[1], np.inf)
    best, best_recall = None, (probs.argmax(axis=1)[positive] == label).mean()
    for thr in np.round(np.arange(0.95, 0.0, -0.01), 2):
        overrides[label] = thr
        flagged = single_decisions(probs, overrides) == label
        if flagged.any() and positive[flagged].mean() < min_precision:
            break
        reached = flagged[positive].mean()
        if reached > best_recall:  # the highest threshold for each gain in recall
            best, best_recall = float(thr), reached
        if reached >= recall:
            break
    return best


def fit_language_offsets(
    probs: np.ndarray, gold: np.ndarray, languages: list[str], seed: int, min_rows: int = 100, folds: int = 5
) -> dict[str, list[float]]:
    """Per language, log-prior offsets for a single-label head (``voc.models.predictor.shift_priors``) that
    minimise log loss on that language's validation rows; kept only where they lower the log loss of rows they
    were not fitted on (``folds``-fold cross-validation), so a few rows cannot talk a language into a bias.

    Why: one temperature per head is fitted on all languages together; Korean shop reviews are neutral 15% of
    the time, yet the shared calibration never lets Korean text reach neutral (docs/training.md)."""
    languages = np.asarray(languages)
    out = {}
    for lang in sorted(set(languages.tolist())):
        rows = np.flatnonzero(languages == lang)
        if len(rows) < min_rows:
            continue
        logp, y = np.log(np.clip(probs[rows], 1e-12, None)), gold[rows]
        order = np.random.default_rng(seed).permutation(len(rows))
        before = after = 0.0
        for part in np.array_split(order, folds):
            fit = np.setdiff1d(order, part)
            b = _prior_offsets(logp[fit], y[fit])
            before += _log_loss(logp[part], y[part])
            after += _log_loss(logp[part] + b, y[part])
        if after < before:
            out[lang] = [round(float(v), 4) for v in _prior_offsets(logp, y)]
    return out


def _log_loss(logp: np.ndarray, y: np.ndarray) -> float:
    """Summed negative log-likelihood of ``y`` under ``softmax(logp)``."""
    return float(-torch.log_softmax(torch.tensor(logp), dim=1)[torch.arange(len(y)), torch.tensor(y)].sum())


def _prior_offsets(logp: np.ndarray, y: np.ndarray, l2: float = 0.01) -> np.ndarray:
    """Offsets added to the log-probabilities (the last label's fixed at 0) that minimise the mean log loss,
    with a small L2 pull towards no offset."""
    z = torch.tensor(logp, dtype=torch.float64)
    target = torch.tensor(y, dtype=torch.long)
    b = torch.zeros(z.shape[1] - 1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([b], lr=0.5, max_iter=200, line_search_fn="strong_wolfe")

    def loss() -> torch.Tensor:
        optimizer.zero_grad()
        full = torch.cat([b, torch.zeros(1, dtype=torch.float64)])
        value = F.cross_entropy(z + full, target) + l2 * (b**2).sum()
        value.backward()
        return value

    optimizer.step(loss)
    return np.append(b.detach().numpy(), 0.0)
