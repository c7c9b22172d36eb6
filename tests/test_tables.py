"""One table reader and writer (voc.models.tables) with one label separator: what ``voc score`` writes, what
the research tools write and what training reads agree, in every format the reader knows."""

from __future__ import annotations

import pyarrow as pa
import pytest

from voc.models import tables
from voc.models.data import DataError, iter_labelled
from voc.models.schema import LabelSchema

SCHEMA = LabelSchema.load()
ROWS = [
    {"text": "배송이 너무 늦어요", "sentiment": "negative", "themes": ["speed", "trust"], "escalation": None},
    {"text": "=1+1 looks like a formula", "sentiment": None, "themes": [], "escalation": "low"},
]


def write(path, rows=ROWS, **options) -> None:
    import pandas as pd

    types = {"themes": pa.list_(pa.string()), "sentiment": pa.string(), "escalation": pa.string()}
    writer = tables.TableWriter(path, tables.file_format(path), types, ["themes"], **options)
    try:
        writer.write(pd.DataFrame(rows))
    finally:
        writer.close()


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_what_the_writer_writes_training_reads_back(tmp_path, suffix):
    """Multi-label cells joined with the one SEPARATOR (and ``[]`` for none) come back as the same lists."""
    path = tmp_path / f"labelled{suffix}"
    write(path, empty=tables.NO_LABELS, excel_safe=False)
    read = [{k: r[k] for k in ("text", *SCHEMA.names)} for r in iter_labelled(path, SCHEMA)]
    assert read == ROWS


def test_the_separator_joins_and_splits_alike():
    assert tables.join_labels(["speed", "trust"]) == f"speed{tables.SEPARATOR}trust"
    assert tables.split_labels(tables.join_labels(["speed", "trust"])) == ["speed", "trust"]
    assert tables.join_labels([], tables.NO_LABELS) == "[]" and tables.join_labels("negative") == "negative"


def test_a_semicolon_csv_is_training_data_too(tmp_path):
    """The training reader detects the delimiter as ``voc score`` does (Excel writes ``;`` in many locales)."""
    path = tmp_path / "labelled.csv"
    path.write_text("text;sentiment;themes\nslow delivery;negative;speed|trust\n", encoding="utf-8")
    (row,) = iter_labelled(path, SCHEMA)
    assert (row["sentiment"], row["themes"]) == ("negative", ["speed", "trust"])


def test_a_table_the_reader_cannot_read_is_a_data_error_naming_the_file(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_bytes(b"text,sentiment\n\xff\xfe bad,negative\n")
    with pytest.raises(DataError, match=r"broken\.csv: not utf-8 text"):
        list(iter_labelled(path, SCHEMA))
    path.write_text('text,sentiment\n"unclosed,negative\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"broken\.csv: malformed CSV"):
        list(iter_labelled(path, SCHEMA))


def test_a_file_that_is_not_utf8_gets_the_utf8_hint(tmp_path):
    """The message names the encoding as given (not the BOM-skipping codec read with) and suggests cp949."""
    path = tmp_path / "excel.csv"
    path.write_bytes("text\n배송\n".encode("cp949"))
    with pytest.raises(tables.TableError, match=r"not utf-8 text .*add --encoding cp949"):
        list(tables.read_chunks(path))
