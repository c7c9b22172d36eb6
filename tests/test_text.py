import unicodedata

import pytest

from voc.models.text import clean_text, detect_language


def test_clean_text_composes_decomposed_korean():
    decomposed = unicodedata.normalize("NFD", "배송이 늦어요")
    assert len(decomposed) > len("배송이 늦어요")
    assert clean_text(decomposed) == "배송이 늦어요"


def test_clean_text_strips_whitespace():
    assert clean_text("  \t환불 해주세요\n ") == "환불 해주세요"


@pytest.mark.parametrize("literal", ["<s>", "</s>", "<mask>", "<pad>", "<unk>", "<MASK>"])
def test_clean_text_neutralises_special_token_literals(literal):
    out = clean_text(f"hello {literal} world")
    assert literal not in out
    assert out.startswith("hello ") and out.endswith(" world")


def test_clean_text_leaves_other_angle_brackets_alone():
    assert clean_text("a <b> c -> 3 < 4") == "a <b> c -> 3 < 4"


def test_special_literals_tokenize_as_text(tiny_backbone):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_backbone)
    ids = tok(clean_text("a <s> b </s>"))["input_ids"]
    assert ids[0] == tok.bos_token_id and ids[-1] == tok.eos_token_id
    assert tok.bos_token_id not in ids[1:-1] and tok.eos_token_id not in ids[1:-1]


@pytest.mark.parametrize(
    "text, lang",
    [
        ("배송이 2주째 안 와요", "ko"),
        ("ㅋㅋㅋ 존맛", "ko"),
        ("The agent hung up on me", "en"),
        ("12345 !!!", "en"),
        ("앱 업데이트 후 로그인 error 계속 떠요", "mixed"),
        ("the rider was so 친절, thanks", "mixed"),
    ],
)
def test_detect_language(text, lang):
    assert detect_language(text) == lang
