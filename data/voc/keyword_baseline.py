"""Keyword-rule baseline on data/voc/test.jsonl: shows how far hand-written Korean/English keywords get.

Why: the issue requires that keyword rules do not solve the set. The rules below were written from the
guideline (LABELS.md) and general knowledge of customer-feedback wording, not fitted to the data. Matching
is case-insensitive substring search, which suits Korean (no tokenizer needed for 조사-attached words).

- sentiment: positive-word hits vs negative-word hits; more of one wins, a tie or no hit is neutral.
- themes: a theme is predicted when any of its keywords occurs.
- escalation: high when a high trigger occurs (cancel/switch, legal/regulator, going public, fraud, abuse,
  exasperation); otherwise medium for a negative prediction or a demand word; otherwise low.

Run: python data/voc/keyword_baseline.py [path]   (default data/voc/test.jsonl)
"""

import json
import sys
from pathlib import Path

from sklearn.metrics import accuracy_score, f1_score, recall_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # data/: label_schema, read from data/labels.yaml
from label_schema import SCHEMA, THEMES  # noqa: E402

HERE = Path(__file__).parent

POSITIVE = (
    "감사",
    "고마",
    "좋아",
    "좋았",
    "좋네",
    "좋음",
    "최고",
    "친절",
    "만족",
    "추천",
    "빠르",
    "빨라",
    "빨랐",
    "편해",
    "편하",
    "훌륭",
    "굿",
    "짱",
    "👍",
    "😊",
    "❤",
    "thank",
    "thx",
    "great",
    "good",
    "love",
    "awesome",
    "excellent",
    "amazing",
    "helpful",
    "friendly",
    "fast",
    "quick",
    "perfect",
    "recommend",
    "best",
    "happy",
    "nice",
    "smooth",
    "easy",
    "appreciate",
    "well done",
)
NEGATIVE = (
    "최악",
    "별로",
    "실망",
    "화나",
    "짜증",
    "불친절",
    "느려",
    "느림",
    "늦",
    "안 됨",
    "안됨",
    "안 돼",
    "안돼",
    "안 와",
    "안와",
    "못 ",
    "없음",
    "아직",
    "환불",
    "문제",
    "오류",
    "에러",
    "ㅡㅡ",
    "ㅠ",
    "어이없",
    "황당",
    "개판",
    "엉망",
    "불만",
    "답답",
    "bad",
    "worst",
    "terrible",
    "awful",
    "horrible",
    "slow",
    "late",
    "rude",
    "never",
    "still",
    "not ",
    "n't",
    "no one",
    "nobody",
    "disappoint",
    "annoy",
    "frustrat",
    "useless",
    "ridiculous",
    "broken",
    "wrong",
    "problem",
    "issue",
    "waste",
    "angry",
    "scam",
    "unacceptable",
)
THEME_WORDS = {
    "speed": (
        "빠르",
        "빨라",
        "빨랐",
        "빠른",
        "느려",
        "느림",
        "늦",
        "지연",
        "기다",
        "대기",
        "시간",
        "분 ",
        "분째",
        "며칠",
        "일째",
        "주째",
        "언제",
        "바로",
        "금방",
        "배송",
        "fast",
        "quick",
        "slow",
        "late",
        "wait",
        "hold",
        "queue",
        "delay",
        "hours",
        "minutes",
        "days",
        "weeks",
        "still",
        "when",
        "asap",
        "took",
        "shipping",
        "delivery",
    ),
    "empathy": (
        "친절",
        "불친절",
        "상담원",
        "직원",
        "기사님",
        "태도",
        "말투",
        "무시",
        "들어주",
        "공감",
        "예의",
        "싸가지",
        "반말",
        "kind",
        "rude",
        "friendly",
        "polite",
        "attitude",
        "agent",
        "staff",
        "listen",
        "understand",
        "respect",
        "hung up",
        "care",
        "patient",
        "empath",
        "ignored",
        "condescend",
    ),
    "resolution": (
        "해결",
        "처리",
        "환불",
        "교환",
        "반품",
        "취소",
        "다시 문의",
        "재문의",
        "돌려",
        "답변",
        "안내",
        "연결",
        "복구",
        "solved",
        "resolved",
        "fixed",
        "fix",
        "refund",
        "exchange",
        "return",
        "transferred",
        "sorted",
        "answer",
        "again",
        "claim",
        "replace",
        "cancel",
        "help",
    ),
    "trust": (
        "개인정보",
        "유출",
        "보안",
        "해킹",
        "수수료",
        "요금",
        "청구",
        "결제",
        "이중",
        "두 번",
        "사기",
        "약속",
        "거짓",
        "말이 다르",
        "숨은",
        "정책",
        "투명",
        "privacy",
        "data",
        "leak",
        "security",
        "hack",
        "fee",
        "charge",
        "billing",
        "bill",
        "twice",
        "fraud",
        "scam",
        "promise",
        "lied",
        "lie ",
        "hidden",
        "policy",
        "honest",
        "transparen",
        "trust",
    ),
}
HIGH = (
    "해지",
    "탈퇴",
    "갈아",
    "다른 곳",
    "다른 데",
    "딴 데",
    "다신",
    "다시는",
    "소송",
    "변호사",
    "소비자원",
    "신고",
    "고소",
    "금감원",
    "민원",
    "공정위",
    "언론",
    "기사",
    "커뮤",
    "올릴",
    "사기",
    "유출",
    "해킹",
    "도용",
    "다쳤",
    "부상",
    "씨발",
    "시발",
    "ㅅㅂ",
    "개새",
    "미친",
    "세 번째",
    "몇 번째",
    "지친다",
    "cancel",
    "switch",
    "leaving",
    "never again",
    "lawyer",
    "lawsuit",
    "sue",
    "legal",
    "ombudsman",
    "regulator",
    "chargeback",
    "bbb",
    "report you",
    "twitter",
    "review",
    "press",
    "fraud",
    "unauthori",
    "stolen",
    "leak",
    "hacked",
    "injur",
    "hospital",
    "wtf",
    "fuck",
    "shit",
    "third time",
    "fourth time",
    "fed up",
    "sick of",
    "can't keep",
)
DEMAND = (
    "환불",
    "보상",
    "해주세요",
    "해 주세요",
    "요청",
    "연락 주",
    "전화 주",
    "책임자",
    "매니저",
    "refund",
    "compensat",
    "callback",
    "call me",
    "call back",
    "manager",
    "supervisor",
    "escalate",
    "want my",
)


def hits(text: str, words: tuple[str, ...]) -> int:
    return sum(w in text for w in words)


def predict(text: str) -> tuple[str, list[str], str]:
    t = text.lower()
    pos, neg = hits(t, POSITIVE), hits(t, NEGATIVE)
    sentiment = "positive" if pos > neg else "negative" if neg > pos else "neutral"
    themes = [theme for theme in THEMES if hits(t, THEME_WORDS.get(theme, ()))]  # a theme without words: never
    if hits(t, HIGH):
        escalation = "high"
    elif sentiment == "negative" or hits(t, DEMAND):
        escalation = "medium"
    else:
        escalation = "low"
    return sentiment, themes, escalation


def main(path: str) -> None:
    rows = [json.loads(line) for line in Path(path).open(encoding="utf-8")]
    preds = [predict(r["text"]) for r in rows]
    gold_s, pred_s = [r["sentiment"] for r in rows], [p[0] for p in preds]
    gold_e, pred_e = [r["escalation"] for r in rows], [p[2] for p in preds]
    gold_t = [[theme in r["themes"] for theme in THEMES] for r in rows]
    pred_t = [[theme in p[1] for theme in THEMES] for p in preds]
    print(f"{path}: {len(rows)} rows")
    print(
        f"sentiment   accuracy {accuracy_score(gold_s, pred_s):.3f}  "
        f"macro-F1 {f1_score(gold_s, pred_s, average='macro'):.3f}"
    )
    print(
        f"themes      micro-F1 {f1_score(gold_t, pred_t, average='micro', zero_division=0):.3f}  "
        f"macro-F1 {f1_score(gold_t, pred_t, average='macro', zero_division=0):.3f}"
    )
    for theme, f1 in zip(THEMES, f1_score(gold_t, pred_t, average=None, zero_division=0)):
        print(f"  {theme:<11} F1 {f1:.3f}")
    alert = SCHEMA.alert[1]  # the label that routes to a human: its recall matters most
    high_recall = recall_score(gold_e, pred_e, labels=[alert], average="macro", zero_division=0)
    print(
        f"escalation  accuracy {accuracy_score(gold_e, pred_e):.3f}  "
        f"macro-F1 {f1_score(gold_e, pred_e, average='macro'):.3f}  {alert} recall {high_recall:.3f}"
    )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(HERE / "test.jsonl"))
