"""The ONNX graphs' trimmed vocabulary maps every id of Korean and English text to its own embedding row."""

from __future__ import annotations

import numpy as np
import pytest

from voc.models.backbone import E5_PREFIX
from voc.models.text import clean_text
from voc.models.vocab import bundled_texts, in_ranges, kept_ids, lookup

HANGUL = [chr(c) for c in range(0xAC00, 0xD7A4)]
ASCII = [chr(c) for c in range(0x20, 0x7F)]


def samples() -> list[str]:
    """Every Hangul syllable and printable ASCII character alone, in runs, and a few words."""
    runs = ["".join(HANGUL[i : i + 50]) for i in range(0, len(HANGUL), 50)]
    spaced = [" ".join(HANGUL[i : i + 50]) for i in range(0, len(HANGUL), 50)]
    words = ["The delivery is two weeks late!", "환불 refund 해주세요 ㅠㅠ ㅋㅋ", "café £20 °C · “quoted” — 😀👍"]
    return HANGUL + ASCII + runs + spaced + ["".join(ASCII), " ".join(ASCII), *words]


def test_lookup_maps_kept_ids_to_their_rows_and_the_rest_to_unk():
    kept = np.array([0, 1, 2, 3, 7, 9])
    table = lookup(kept, 12, unk_id=3)
    assert table.tolist() == [0, 1, 2, 3, 3, 3, 3, 4, 3, 5, 3, 3]
    assert in_ranges("▁배송") and in_ranges("▁late") and not in_ranges("の")


@pytest.mark.integration
def test_every_piece_of_korean_and_english_text_is_kept(converted_backbone):
    from tokenizers import Tokenizer

    raw = Tokenizer.from_file(str(converted_backbone / "tokenizer.json"))
    data = [E5_PREFIX + clean_text(t) for t in bundled_texts()]
    assert len(data) > 100_000  # data/voc, data/public/* (and data/real/* when present)
    kept = kept_ids(raw, (e.ids for e in raw.encode_batch(data)))  # as `voc export` computes it
    table = lookup(kept, raw.get_vocab_size(), raw.token_to_id("<unk>"))
    assert len(kept) < 0.45 * raw.get_vocab_size()
    texts = [E5_PREFIX + clean_text(t) for t in samples()] + data
    for text, encoding in zip(texts, raw.encode_batch(texts)):
        ids = np.array(encoding.ids)
        assert (kept[table[ids]] == ids).all(), text  # each id reaches its own embedding row
