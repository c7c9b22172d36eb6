import numpy as np
import pytest

from voc.models.errors import ModelFileError
from voc.models.predictor import Predictor, calibrated_probs

TEXTS = ["배송이 늦어요", "great support, thanks", "환불 해주세요 refund please", "ok"]


def test_predict_follows_the_contract(tiny_model_dir):
    predictor = Predictor.load(tiny_model_dir)
    results = predictor.predict(TEXTS)
    assert len(results) == len(TEXTS)
    assert [r["language"] for r in results] == ["ko", "en", "mixed", "en"]
    for r in results:
        for task in predictor.schema.tasks:
            assert list(r[task.name]["scores"]) == list(task.labels)
            if task.multi:
                assert set(r[task.name]["labels"]) <= set(task.labels)
            else:
                assert r[task.name]["label"] in task.labels
                assert abs(sum(r[task.name]["scores"].values()) - 1) < 1e-3


def test_predictions_do_not_depend_on_batching(tiny_model_dir):
    one = Predictor.load(tiny_model_dir, batch_size=1).predict_proba(TEXTS)
    many = Predictor.load(tiny_model_dir, batch_size=8).predict_proba(TEXTS)
    for task in one:
        np.testing.assert_allclose(one[task], many[task], atol=1e-5)


def test_thresholds_pick_themes(tiny_model_dir):
    predictor = Predictor.load(tiny_model_dir)
    first, *rest = predictor.schema["themes"].labels
    predictor.thresholds = {"themes": {first: 0.0, **dict.fromkeys(rest, 1.01)}}
    assert all(r["themes"]["labels"] == [first] for r in predictor.predict(TEXTS))


def test_language_offsets_shift_only_their_language_and_head(tiny_model_dir):
    """Per-language calibration: the offsets of a language move its texts' probabilities (and so decisions),
    renormalised, and leave other languages and heads exactly as they were."""
    plain = Predictor.load(tiny_model_dir)
    shifted = Predictor.load(tiny_model_dir)
    labels = shifted.schema["sentiment"].labels
    neutral = labels.index("neutral")
    shifted.language_offsets = {"ko": {"sentiment": np.where(np.arange(len(labels)) == neutral, 30.0, 0.0)}}
    texts = ["배송이 너무 늦어요", "The delivery is late"]
    before, after = plain.predict_proba(texts), shifted.predict_proba(texts)
    assert after["sentiment"][0, neutral] > 0.99 and after["sentiment"][0].sum() == pytest.approx(1.0)
    np.testing.assert_allclose(after["sentiment"][1], before["sentiment"][1])  # English: no offsets
    np.testing.assert_allclose(after["escalation"], before["escalation"])  # no offsets for this head
    ko, en = shifted.predict(texts)
    assert (ko["language"], ko["sentiment"]["label"]) == ("ko", "neutral")
    assert en["sentiment"] == plain.predict(texts)[1]["sentiment"]


def test_temperature_softens_probabilities():
    logits = np.array([[2.0, 0.0, -2.0]])
    sharp = calibrated_probs(logits, multi=False, temperature=1.0)
    soft = calibrated_probs(logits, multi=False, temperature=4.0)
    assert soft.max() < sharp.max() and np.isclose(soft.sum(), 1.0)
    assert np.allclose(calibrated_probs(np.zeros((1, 2)), multi=True, temperature=2.0), 0.5)


def test_saved_model_is_safetensors_only(tiny_model_dir):
    files = {p.name for p in tiny_model_dir.rglob("*") if p.is_file()}
    assert {"heads.safetensors", "model.safetensors", "voc.json", "labels.yaml", "README.md"} <= files
    assert not [f for f in files if f.endswith((".bin", ".pt", ".pkl", ".pickle"))]


def test_loading_a_non_model_directory_says_what_to_do(tmp_path):
    with pytest.raises(ModelFileError, match="voc train"):
        Predictor.load(tmp_path)


def test_register_and_resolve_from_store(tiny_model_dir):
    from voc.models.store import ModelNotFoundError, register, resolve_model

    tag = register(tiny_model_dir, metadata={"note": "test"})
    assert tag.startswith("voc-classifier:")
    path, resolved = resolve_model("voc-classifier:latest")
    assert resolved == tag and (path / "voc.json").is_file()
    with pytest.raises(ModelNotFoundError, match="voc-classifier:nope: not a model directory and not in the BentoML"):
        resolve_model("voc-classifier:nope")
    with pytest.raises(ModelNotFoundError, match="no such model directory; check the path"):
        resolve_model("models/nope")


def test_interrupted_registration_leaves_nothing_in_store(tiny_model_dir, monkeypatch):
    import bentoml

    from voc.models import store

    def entries() -> list[str]:
        return [str(m.tag) for m in bentoml.models.list() if m.tag.name == "voc-classifier"]

    def broken_copy(*args, **kwargs):
        raise KeyboardInterrupt

    before = entries()
    monkeypatch.setattr(store.shutil, "copy2", broken_copy)
    with pytest.raises(KeyboardInterrupt):
        store.register(tiny_model_dir)
    assert entries() == before


def test_alert_decision_is_monotonic_in_its_probability():
    """The issue's pair: P(high) 0.363 was `high` (the argmax) and 0.3785 `medium` (under the 0.38 threshold,
    outvoted); now `high` iff P(high) >= 0.38, else the likelier of the rest, so sorting by P(high) never
    puts a `medium` above a `high`."""
    from voc.models.predictor import single_decisions

    overrides = np.array([np.inf, np.inf, 0.38])
    probs = np.array([[0.300, 0.337, 0.363], [0.2215, 0.40, 0.3785], [0.1, 0.5, 0.4], [0.5, 0.2, 0.3]])
    assert single_decisions(probs, overrides).tolist() == [1, 1, 2, 0]
    rng = np.random.default_rng(0)
    many = rng.dirichlet(np.ones(3), size=2000)
    decided = single_decisions(many, overrides)
    assert ((decided == 2) == (many[:, 2] >= 0.38)).all()
    assert single_decisions(many, np.full(3, np.inf)).tolist() == many.argmax(axis=1).tolist()


def test_length_batches_pay_for_their_own_texts():
    from voc.models.predictor import length_batches

    lengths = [5] * 10 + [60] * 3
    runs = length_batches(lengths, max_rows=32, pass_cost=16)
    assert runs == [(0, 10), (10, 13)]  # not one pass padded to 60 for all 13
    assert length_batches(lengths, max_rows=4, pass_cost=16) == [(0, 2), (2, 6), (6, 10), (10, 13)]
    assert length_batches([7] * 5, max_rows=32, pass_cost=0) in ([(0, 5)], [(i, i + 1) for i in range(5)])
    assert length_batches([], max_rows=8) == []
    capped = length_batches([200] * 5, max_rows=32, max_tokens=400)  # at most 400 padded tokens a pass
    assert len(capped) == 3 and all(b - a <= 2 for a, b in capped)
    assert length_batches([900], max_rows=32, max_tokens=400) == [(0, 1)]  # one long text still runs
    for n in (1, 7, 40):
        runs = length_batches(sorted(np.random.default_rng(n).integers(3, 64, n).tolist()), max_rows=8)
        assert runs[0][0] == 0 and runs[-1][1] == n and all(a < b <= a + 8 for a, b in runs)
        assert all(b == c for (_, b), (c, _) in zip(runs, runs[1:]))


class Passes:
    """An encoder wrapper that records the shape of every forward pass."""

    def __init__(self, inner) -> None:
        self.inner, self.shapes = inner, []

    def __call__(self, ids, mask):
        self.shapes.append(ids.shape)
        return self.inner(ids, mask)


def test_length_bucketing_leaves_probabilities_as_they_were(tiny_model_dir):
    texts = TEXTS + ["a " * 300, "배송 " * 20, "b", "great " * 9] * 3
    predictor = Predictor.load(tiny_model_dir, batch_size=64)
    predictor.encoder = passes = Passes(predictor.encoder)
    bucketed = predictor.predict_proba(texts)
    assert len(passes.shapes) > 1  # passes of similar lengths, not one padded to the longest
    predictor.pass_cost, passes.shapes = np.inf, []
    one_pass = predictor.predict_proba(texts)  # the unbucketed path: one pass padded to the longest
    assert len(passes.shapes) == 1
    alone = Predictor.load(tiny_model_dir, batch_size=1).predict_proba(texts)
    for task in bucketed:
        np.testing.assert_allclose(bucketed[task], alone[task], atol=1e-5)
        np.testing.assert_allclose(bucketed[task], one_pass[task], atol=1e-5)
