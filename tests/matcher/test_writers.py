import csv
from pathlib import Path

from matcher.writers import write_assignments_csv, write_unassigned_csv


def test_assignments_csv_exact_columns(tmp_path: Path) -> None:
    p = tmp_path / "out" / "assignments.csv"
    n = write_assignments_csv(p, [{"need_id": "007", "role": "volunteer", "actor_id": "V1",
                                   "score": 0.8312, "run_id": "r1", "extra": "dropped"}])
    assert n == 1
    assert p.read_text("utf-8") == "need_id,role,actor_id,score,run_id\n007,volunteer,V1,0.8312,r1\n"


def test_unassigned_csv_and_no_temp_left(tmp_path: Path) -> None:
    p = tmp_path / "unassigned.csv"
    write_unassigned_csv(p, [{"need_id": "N1", "role": "fund", "reason": "no_fund_admits"}])
    rows = list(csv.DictReader(p.open(encoding="utf-8")))
    assert rows == [{"need_id": "N1", "role": "fund", "reason": "no_fund_admits"}]
    assert [x.name for x in tmp_path.iterdir()] == ["unassigned.csv"]
