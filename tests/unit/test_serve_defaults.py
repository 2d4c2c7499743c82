"""How many gunicorn workers `ecm serve` starts when it is not told."""

from __future__ import annotations

from connector.cli.serve import default_workers


def test_sqlite_gets_two_workers_whatever_the_cores():
    assert [default_workers("sqlite", cores) for cores in (1, 2, 16)] == [2, 2, 2]


def test_postgresql_gets_one_worker_per_core_from_two_to_eight():
    assert [default_workers("postgresql", cores) for cores in (1, 2, 4, 6, 32)] == [2, 2, 4, 6, 8]
