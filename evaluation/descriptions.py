"""Short bilingual descriptions of each label, the zero-shot baseline's only knowledge of the task.

They paraphrase the guideline, ``docs/LABELS.md``. A label missing here (a theme added later) is described by its
own name, so a model with a new schema still gets a zero-shot baseline. ``NONE`` describes "no label"
for a multi-label head: each label's probability comes from its similarity against this one.
"""

from __future__ import annotations

DESCRIPTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "sentiment": {
        "negative": (
            "A dissatisfied customer complaining about a bad experience.",
            "불만족한 고객의 부정적인 불만 후기",
        ),
        "neutral": (
            "A neutral question or request with no praise or complaint.",
            "칭찬이나 불만 없는 중립적인 문의나 요청",
        ),
        "positive": ("A satisfied customer giving praise and thanks.", "만족한 고객의 긍정적인 칭찬과 감사 인사"),
    },
    "themes": {
        "speed": (
            "Waiting time, slow or fast replies, delivery and shipping delays.",
            "대기 시간, 느리거나 빠른 응답, 배송 지연",
        ),
        "empathy": ("How kindly or rudely the staff treated the customer.", "상담원과 직원의 친절하거나 불친절한 태도"),
        "resolution": (
            "Whether the problem got solved: fixes, refunds, exchanges, repeated contacts.",
            "문제 해결 여부: 수리, 환불, 교환, 반복 문의",
        ),
        "trust": (
            "Privacy, security, hidden fees, billing errors and broken promises.",
            "개인정보, 보안, 숨은 수수료, 결제 오류, 지켜지지 않은 약속",
        ),
    },
    "escalation": {
        "low": (
            "Positive feedback, a simple question or a mild suggestion.",
            "긍정적인 후기, 간단한 문의나 가벼운 제안",
        ),
        "medium": (
            "An unresolved problem and a demand for a refund, compensation or a callback.",
            "해결되지 않은 문제와 환불, 보상, 회신 요구",
        ),
        "high": (
            "A threat to cancel, sue, report or go public; fraud, a data leak or a furious customer.",
            "해지, 소송, 신고, 공개 위협; 사기, 개인정보 유출, 격분한 고객",
        ),
    },
}

NONE: dict[str, tuple[str, ...]] = {
    "themes": (
        "A comment about the product itself: taste, size, colour or features.",
        "제품 자체에 대한 의견: 맛, 크기, 색상, 기능",
    ),
}


def describe(task: str, label: str) -> tuple[str, ...]:
    """The descriptions of one label; its name when none is written."""
    return DESCRIPTIONS.get(task, {}).get(label, (label,))


def describe_none(task: str) -> tuple[str, ...]:
    """What "none of the labels" looks like for a multi-label head."""
    return NONE.get(task, ("Other feedback.", "기타 의견"))
