"""Map the Bitext customer-service intent set to this project's labels: neutral, low-escalation requests.

Why: NSMC has no neutral class and the airline tweets' neutral rows are few and mostly about flights, so the
sentiment head sees few plain service requests. LABELS.md says "a question, request or report with no
evaluative tone" is sentiment neutral, and "neutral questions and requests" are escalation low. Bitext's
information and transaction requests are exactly that, so those two labels are assigned; themes are not
(boundary rule 1 would need a reading of every row: generic questions take none, specific ones a theme).

Kept: the 17 intents in KEEP, minus rows tagged W (offensive wording). Left out: complaint and review
(evaluative), contact_human_agent and get_refund/track_refund (demands: medium by rule 9 or low only when
under way), cancel_order and delete_account (cancellation intent), payment_issue, recover_password and
registration_problems (problem reports whose escalation the text does not settle). Exact repeats after
lower-casing and whitespace normalisation are dropped (first kept); the source's splits are kept.

Run: python data/public/bitext_neutral_en/build.py SOURCE_DIR  (train/validation/test.jsonl with id, text, intent and
offensive, converted from the Bitext CSV files: see README.md; the repository does not carry them)
"""

import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).parent
KEEP = (
    "change_order",
    "change_shipping_address",
    "check_cancellation_fee",
    "check_invoice",
    "check_payment_methods",
    "check_refund_policy",
    "contact_customer_service",
    "create_account",
    "delivery_options",
    "delivery_period",
    "edit_account",
    "get_invoice",
    "newsletter_subscription",
    "place_order",
    "set_up_shipping_address",
    "switch_account",
    "track_order",
)


def main(source: Path) -> None:
    seen: set[str] = set()
    for split in ("train", "validation", "test"):
        kept, dropped = [], Counter()
        for line in (source / f"{split}.jsonl").open(encoding="utf-8"):
            row = json.loads(line)
            key = " ".join(row["text"].lower().split())
            if row["intent"] not in KEEP:
                dropped["intent not kept"] += 1
            elif row["offensive"]:
                dropped["offensive (tag W)"] += 1
            elif key in seen:
                dropped["repeat"] += 1
            else:
                seen.add(key)
                kept.append(
                    {
                        "id": row["id"],
                        "text": row["text"],
                        "lang": "en",
                        "sentiment": "neutral",
                        "escalation": "low",
                        "intent": row["intent"],
                    }
                )
        with (HERE / f"{split}.jsonl").open("w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in kept)
        print(f"{split}: {len(kept)} kept; dropped {dict(dropped)}")


if __name__ == "__main__":
    splits = ("train", "validation", "test")
    if len(sys.argv) != 2 or not all((Path(sys.argv[1]) / f"{s}.jsonl").is_file() for s in splits):
        sys.exit(f"usage: python {sys.argv[0]} SOURCE_DIR (holding {', '.join(splits)} .jsonl; see README.md)")
    main(Path(sys.argv[1]))
