"""nonrecours.isolate: each task in a new child process, its logs, errors and costs brought back."""

from __future__ import annotations

import logging
import os
import pickle
import signal

import pytest

from nonrecours import errors
from nonrecours.errors import ControlError, ExtractError, SchemaError
from nonrecours.isolate import run_each


def _pid_and_square(x: int) -> tuple[int, int]:
    logging.getLogger("nonrecours.test_isolate").warning("task %d in its process", x)
    logging.getLogger("nonrecours.test_isolate").debug("below the run's level: not sent")
    return os.getpid(), x * x


def _extract_fault(line: int) -> None:
    raise ExtractError("a date that is none", file="caf_2026-06.csv", line=line, column="DTNAIS")


def _killed(_: int) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def test_each_task_runs_in_a_new_process_in_order_with_its_costs_and_logs(caplog):
    caplog.set_level(logging.INFO, logger="nonrecours")
    got = list(run_each(_pid_and_square, [(f"task {x}", (x,)) for x in (3, 4, 5)]))
    pids = [pid for (pid, _), _ in got]
    assert [sq for (_, sq), _ in got] == [9, 16, 25]
    assert len(set(pids)) == 3 and os.getpid() not in pids
    for _, usage in got:
        assert usage.peak_rss_mib is not None and usage.peak_rss_mib > 10  # a Python interpreter of its own
        assert usage.wall_s >= 0 and usage.cpu_s >= 0
    sent = [r for r in caplog.records if r.name == "nonrecours.test_isolate"]
    assert [r.getMessage() for r in sent] == [f"task {x} in its process" for x in (3, 4, 5)]
    assert {r.process for r in sent} == set(pids)  # logged by the children, handled here


def test_in_this_process_when_not_fresh():
    got = list(run_each(_pid_and_square, [("a", (2,)), ("b", (7,))], fresh=False))
    assert [out for out, _ in got] == [(os.getpid(), 4), (os.getpid(), 49)]
    assert all(u.peak_rss_mib is None for _, u in got)  # the process's peak is not the task's


def test_an_error_in_a_child_is_raised_here_as_it_was():
    with pytest.raises(ExtractError) as caught:
        list(run_each(_extract_fault, [("part 3", (12,))]))
    assert (caught.value.file, caught.value.line, caught.value.column) == ("caf_2026-06.csv", 12, "DTNAIS")
    assert str(caught.value) == "caf_2026-06.csv, line 12, column DTNAIS: a date that is none"


def test_a_child_that_dies_names_its_task_and_stops_the_run():
    ran = []

    def jobs():
        for k in (0, 1, 2):
            ran.append(k)
            yield f"part {k} of 3", (k,)

    with pytest.raises(ControlError, match="part 0 of 3: its process ended without a result"):
        list(run_each(_killed, jobs()))
    assert ran == [0]  # nothing after the dead task


@pytest.mark.parametrize("name", errors.__all__)
def test_every_error_pickles_with_its_attributes(name):
    cls = getattr(errors, name)
    samples = {
        "SchemaError": lambda: SchemaError("a null key", table="persons", column="person_id", row=4),
        "ExtractError": lambda: cls("bad", file="f.csv", line=2, column="c"),
        "EmptyExtractError": lambda: cls("empty", file="f.csv"),
        "NotModelledError": lambda: cls("not yet", benefit="rsa", month="2019-01", earliest="2023-01"),
        "SituationError": lambda: cls("bad", situation_id="s1", field="age"),
    }
    err = samples.get(name, lambda: cls("a message"))()
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is cls and str(back) == str(err) and back.args == err.args
    assert back.__dict__ == err.__dict__
