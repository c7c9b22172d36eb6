"""One tokenisation and one clean_text per text on the scoring path; long texts read whole in windows, and
``truncated`` true only when some of a text was left unread."""

from __future__ import annotations

import numpy as np
import pytest

from voc.models import ngram, predictor
from voc.models.predictor import Predictor
from voc.models.results import score_texts
from voc.models.tokens import MAX_WINDOWS, READ_LENGTH, TextTokenizer, window_length, window_starts

SHORT, LONG = "배송이 늦어요", " ".join(["the order was late and the agent was rude"] * 20)
# The tiny encoder has 128 positions, so it reads windows of 128 tokens (``window_length``): MEDIUM needs 3
# (its character-level tokenizer makes ~250 tokens), LONG more than MAX_WINDOWS.
MEDIUM = " ".join(["the order was late and the agent was rude"] * 6)


class Counting:
    """A stand-in for the Rust tokenizer that counts the texts it is asked to encode."""

    def __init__(self, inner) -> None:
        self.inner, self.texts = inner, 0

    def encode_batch(self, texts):
        self.texts += len(texts)
        return self.inner.encode_batch(texts)


@pytest.fixture()
def scorer(tiny_model_dir) -> Predictor:
    return Predictor.load(tiny_model_dir, backend="torch")


def test_each_text_is_tokenised_and_cleaned_once(scorer, monkeypatch):
    counter = Counting(scorer.tokenizer.tokenizer)
    monkeypatch.setattr(scorer.tokenizer, "tokenizer", counter)
    cleaned = []

    def counting_clean(text: str) -> str:
        cleaned.append(text)
        return text.strip()

    monkeypatch.setattr(predictor, "clean_text", counting_clean)
    monkeypatch.setattr(ngram, "clean_text", counting_clean)
    results = score_texts(scorer, [SHORT, LONG, "ok"])
    assert len(results) == 3 and counter.texts == 3 and len(cleaned) == 3


def test_window_starts_cover_the_text_with_half_overlap():
    assert window_starts(50, 59, 8) == ([0], False)
    starts, cut = window_starts(200, 59, 8)
    assert not cut and starts[0] == 0 and starts[-1] + 59 == 200  # the last window ends with the text
    assert all(0 < b - a <= 59 // 2 + 1 for a, b in zip(starts, starts[1:]))  # at least half a window overlaps
    assert window_starts(59 * 8, 59, 8) == ([59 * i for i in range(8)], False)  # side by side: still all read
    assert window_starts(59 * 8 + 1, 59, 8) == ([59 * i for i in range(8)], True)  # one piece more: cut
    assert window_starts(200, 59, 1) == ([0], True)  # one window: plain truncation


def test_long_texts_are_read_whole_in_windows(tiny_model_dir, scorer):
    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(str(tiny_model_dir / "encoder"))
    texts = [SHORT, MEDIUM, "ok", "환불 refund please"]
    full = hf(texts)["input_ids"]
    tokens = scorer.tokenizer(texts)
    window = scorer.tokenizer.window
    assert window == window_length(scorer.max_length, 128) == 128 > scorer.max_length  # longer than training's
    assert len(full[1]) > window and len(tokens.windows[1]) > 1
    assert [w[0] for w in tokens.windows] == hf(texts, truncation=True, max_length=window)["input_ids"]
    assert tokens.truncated == [False, False, False, False]
    for ids, windows in zip(full, tokens.windows):
        body = [i for w in windows for i in w[1:-1]]
        assert all(len(w) <= window and w[0] == ids[0] and w[-1] == ids[-1] for w in windows)
        assert set(body) == set(ids[1:-1]) and body[-1] == ids[-2]  # every piece read, up to the last
    assert scorer.tokenizer.pad_id == hf.pad_token_id


def test_the_prefix_starts_every_window(tiny_model_dir):
    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(str(tiny_model_dir / "encoder"))
    prefixed = TextTokenizer.from_hf(hf, "ab: ", 16)
    prefix = hf("ab: x")["input_ids"][:-2]  # <s> and the prefix's pieces
    windows = prefixed(["abcdefghijklmnopqrstuvwxyz 0123456789"]).windows[0]
    assert len(windows) > 2 and all(w[: len(prefix)] == prefix and len(w) <= 16 for w in windows)


def test_truncated_only_past_the_window_cap(scorer):
    per_window = scorer.tokenizer.window - 2
    fits, over = "a" * (per_window * MAX_WINDOWS), "a" * (per_window * MAX_WINDOWS + 5)
    tokens = scorer.tokenizer([fits, over])
    assert tokens.truncated == [False, True] and [len(w) for w in tokens.windows] == [MAX_WINDOWS, MAX_WINDOWS]
    assert score_texts(scorer, [SHORT, LONG, over])[2]["truncated"] is True
    with scorer.tokenizer.reading(1, scorer.max_length):  # one window of max_length: the truncation of before
        tokens = scorer.tokenizer([SHORT, LONG])
    assert tokens.truncated == [False, True] and [len(w) for w in tokens.windows] == [1, 1]
    assert len(tokens.windows[1][0]) == scorer.max_length and scorer.tokenizer.window == 128
    assert window_length(64, 512) == READ_LENGTH and window_length(64, 32) == 64


def test_a_long_text_scores_the_mean_of_its_windows(scorer):
    windows = scorer.tokenizer([MEDIUM]).windows[0]
    each = scorer.run_encoder(windows)
    whole = scorer.part_logits([MEDIUM])[0]
    for task, logits in whole.items():
        np.testing.assert_allclose(logits[0], each[task].mean(axis=0), atol=1e-6)


def test_a_self_check_made_before_windows_still_verifies(tiny_model_dir, tmp_path):
    import json
    import shutil

    from voc.models.errors import ModelFileError
    from voc.models.selfcheck import FILE

    old = tmp_path / "old"
    shutil.copytree(tiny_model_dir, old)
    check = json.loads((old / FILE).read_text())
    reference = Predictor.load(old, backend="torch")
    with reference.tokenizer.reading(1, reference.max_length):
        check["probs"] = {t: p.tolist() for t, p in reference.predict_proba(check["texts"]).items()}
    check["max_windows"] = MAX_WINDOWS  # probabilities of the first max_length tokens, claimed to be windows: refused
    (old / FILE).write_text(json.dumps(check))
    with pytest.raises(ModelFileError, match="no longer scores"):
        Predictor.load(old, backend="torch")
    del check["max_windows"], check["window_tokens"]  # as written before windows: replayed as it was read then
    (old / FILE).write_text(json.dumps(check))
    assert Predictor.load(old, backend="torch").tokenizer.max_windows == MAX_WINDOWS


def test_words_past_the_first_window_count_and_evidence_offsets_hold(scorer):
    from voc.models.evidence import delete, explain, words

    text = MEDIUM + " 환불 refund now!"
    start, end = words(text)[-1]
    encoder_only = Predictor(scorer.encoder, scorer.tokenizer, scorer.meta)  # no n-gram part: the encoder alone
    whole = encoder_only.predict_proba([text, delete(text, start, end)])
    assert any(not np.allclose(p[0], p[1], atol=1e-6) for p in whole.values())  # the last word is read
    with encoder_only.tokenizer.reading(1, encoder_only.max_length):
        cut = encoder_only.predict_proba([text, delete(text, start, end)])
    assert all(np.allclose(p[0], p[1], atol=1e-6) for p in cut.values())  # truncated, it was not
    results = scorer.predict([text])
    for value in explain(scorer, [text], results)[0].values():
        for span in [s for v in value.values() for s in v] if isinstance(value, dict) else value:
            assert text[span["start"] : span["end"]] == span["text"]
