"""One tokenisation and one clean_text per text on the scoring path; ``truncated`` from that same encoding."""

from __future__ import annotations

import pytest

from models import ngram, predictor
from models.predictor import Predictor
from serving.contract import score_texts

SHORT, LONG = "배송이 늦어요", " ".join(["the order was late and the agent was rude"] * 20)


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


def test_truncated_comes_from_the_scoring_encoding(scorer):
    short, long = score_texts(scorer, [SHORT, LONG])
    assert short["truncated"] is False and long["truncated"] is True
    tokens = scorer.tokenizer([SHORT, LONG])
    assert tokens.truncated == [False, True] and len(tokens.ids[1]) == scorer.max_length


def test_ids_equal_the_transformers_tokenizer(tiny_model_dir, scorer):
    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(str(tiny_model_dir / "encoder"))
    texts = [SHORT, LONG, "ok", "환불 refund please"]
    want = hf(texts, truncation=True, max_length=scorer.max_length)["input_ids"]
    full = hf(texts)["input_ids"]
    tokens = scorer.tokenizer(texts)
    assert tokens.ids == want
    assert tokens.truncated == [len(ids) > scorer.max_length for ids in full]
    assert scorer.tokenizer.pad_id == hf.pad_token_id
