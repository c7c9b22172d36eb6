"""The reliability suite's fast part with the tiny model: bad batch files, configs, data files and model
directories through the ``voc`` command line, and a batch job killed with SIGKILL and SIGTERM.
(The HTTP cases run in tests/test_serving.py against its server; the soak runs by hand:
``python -m voc.tools.reliability``.)"""

from __future__ import annotations

import pytest

from voc.tools.reliability import Tally
from voc.tools.reliability.cli_cases import batch_cases, config_cases, data_cases, model_cases, run_cases
from voc.tools.reliability.soak import big_rows_memory, killed_batch_job


@pytest.fixture()
def tally() -> Tally:
    return Tally()


def clean(tally: Tally) -> tuple:
    return tally.failures, tally.crashes, tally.rows_lost


def test_bad_batch_files_config_and_data_get_one_line_and_no_row_is_lost(tiny_model_dir, tmp_path, tally):
    run_cases(batch_cases(str(tiny_model_dir), tmp_path), "batch", tally)
    run_cases(config_cases(tmp_path), "config", tally)
    run_cases(data_cases(str(tiny_model_dir), tmp_path), "data", tally)
    assert clean(tally) == ([], 0, 0)
    assert sum(tally.tried.values()) >= 35


def test_every_model_fault_is_one_line_naming_the_file_with_status_2(tiny_model_dir, tmp_path, tally, bentoml_home):
    run_cases(model_cases(tiny_model_dir, tmp_path), "model", tally, subprocesses=True)
    assert clean(tally) == ([], 0, 0)
    assert tally.tried["model"] == 22  # eleven faults through `voc score` and `voc evaluate`


def test_a_killed_batch_job_leaves_nothing_and_the_rerun_loses_no_row(tiny_model_dir, tmp_path, tally):
    note = killed_batch_job(str(tiny_model_dir), tmp_path, 20_000, tally)
    assert clean(tally) == ([], 0, 0), note


def test_a_batch_of_huge_rows_stays_within_its_memory_bound(tiny_model_dir, tmp_path, tally):
    note = big_rows_memory(str(tiny_model_dir), tmp_path, 40, 1_000_000, tally, limit_mb=1500)
    assert clean(tally) == ([], 0, 0), note
