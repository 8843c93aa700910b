import csv
import json
from pathlib import Path

import pytest

from tests.matcher.test_cli import run


def test_match_writes_contract_files_and_summary(capsys: pytest.CaptureFixture[str],
                                                 sample_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "run1"
    code, text, _ = run(capsys, "match", "--data", str(sample_path), "--out", str(out),
                        "--solver", "ortools")
    assert code == 0 and "待匹配需求" in text
    with (out / "assignments.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["need_id", "role", "actor_id", "score", "run_id"]
    with (out / "unassigned.csv").open(encoding="utf-8") as fh:
        un = list(csv.DictReader(fh))
    assert un and list(un[0]) == ["need_id", "role", "reason"]
    assert {u["reason"] for u in un} <= {"no_actor_in_scope", "no_time_overlap",
                                         "no_fund_admits", "funds_exhausted", "all_at_capacity"}
    s = json.loads((out / "summary.json").read_text("utf-8"))
    assert set(s["timings"]) == {"load", "fit", "candidates", "solve", "write"}
    assert {"slots", "urgent_needs", "shortage_by_category_community", "actor_load",
            "objective", "diff", "fund_allocation"} <= set(s)
    # same input and solver, same files; the reference solver reaches the same optimum
    out2 = tmp_path / "run2"
    run(capsys, "match", "--data", str(sample_path), "--out", str(out2), "--solver", "ortools")
    assert (out / "assignments.csv").read_bytes() == (out2 / "assignments.csv").read_bytes()
    ref = tmp_path / "ref"
    run(capsys, "match", "--data", str(sample_path), "--out", str(ref), "--solver", "networkx")
    assert json.loads((ref / "summary.json").read_text("utf-8"))["objective"] == s["objective"]
    # the next night, with this run as previous: nothing changes
    out3 = tmp_path / "run3"
    run(capsys, "match", "--data", str(sample_path), "--out", str(out3), "--previous",
        str(out / "assignments.csv"))
    s3 = json.loads((out3 / "summary.json").read_text("utf-8"))
    assert s3["diff"]["changed"] == 0 and s3["diff"]["dropped"] == 0
    assert s3["diff"]["kept"] > 0


def test_match_bad_inputs_are_clear_errors(capsys: pytest.CaptureFixture[str],
                                           sample_path: Path, tmp_path: Path) -> None:
    pins = tmp_path / "pins.csv"
    pins.write_text("need_id,role,actor_id\nN0001,volunteer,V999\n", "utf-8")
    code, _, err = run(capsys, "match", "--data", str(sample_path), "--out", str(tmp_path / "o"),
                       "--pins", str(pins))
    assert code == 3 and "pins.csv:2: [actor_id]" in err and "V999" in err
    other = tmp_path / "prev.csv"
    other.write_text("need_id,role,actor_id,score,run_id\nX1,volunteer,Y1,0.5,r\n"
                     "X2,fund,Y2,0.5,r\n", "utf-8")
    code, _, err = run(capsys, "match", "--data", str(sample_path), "--out", str(tmp_path / "o"),
                       "--previous", str(other))
    assert code == 3 and "another dataset" in err
    assert not (tmp_path / "o").exists()  # nothing written on error


def test_match_reports_infeasible_pin(capsys: pytest.CaptureFixture[str], sample_path: Path,
                                      tmp_path: Path) -> None:
    pins = tmp_path / "pins.csv"
    pins.write_text("need_id,role,actor_id\nN0001,volunteer,V005\n", "utf-8")
    code, _, err = run(capsys, "match", "--data", str(sample_path), "--out", str(tmp_path / "o"),
                       "--pins", str(pins))
    assert code == 0 and "infeasible pin" in err and "out_of_scope" in err
    s = json.loads((tmp_path / "o" / "summary.json").read_text("utf-8"))
    assert s["infeasible_pins"][0]["actor_id"] == "V005"


@pytest.mark.parametrize(
    ("name", "content", "flag", "expect"),
    [
        ("pins.csv", "need_id,role,actor_id\nN0001,mayor,V001\n", "--pins", "invalid role"),
        ("pins.csv", "need_id,role,actor_id\nN0001,fund,V001\n", "--pins", "is not a fund"),
        ("pins.csv", "need,actor\nN0001,V001\n", "--pins", "header lacks"),
        ("forbid.csv", "need_id,actor_id\nN9999,V001\n", "--forbid", "N9999"),
        ("prev.csv", "need_id,role,actor_id,score\nN0001,volunteer,V001,high\n", "--previous",
         "score must be a number"),
        ("prev.csv", "need_id,role,actor_id\nN0001,boss,V001\n", "--previous", "invalid role"),
    ],
)
def test_match_run_file_errors(capsys: pytest.CaptureFixture[str], sample_path: Path,
                               tmp_path: Path, name: str, content: str, flag: str,
                               expect: str) -> None:
    f = tmp_path / name
    f.write_text(content, "utf-8")
    code, _, err = run(capsys, "match", "--data", str(sample_path), "--out",
                       str(tmp_path / "o"), flag, str(f))
    assert code in (2, 3) and expect in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_match_forbid_file_is_respected(capsys: pytest.CaptureFixture[str], sample_path: Path,
                                        tmp_path: Path) -> None:
    f = tmp_path / "forbid.csv"
    f.write_text("need_id,actor_id,role\nN0001,O001,organization\nN0003,S004,\n", "utf-8")
    code, _, _ = run(capsys, "match", "--data", str(sample_path), "--out", str(tmp_path / "o"),
                     "--forbid", str(f))
    rows = (tmp_path / "o" / "assignments.csv").read_text("utf-8")
    assert code == 0 and "N0001,organization,O001" not in rows and "N0003,social_worker,S004" not in rows


def _noisy(sample_path: Path, tmp_path: Path) -> Path:
    """The sample with one bad need row and one fund whose text implies a restriction."""
    import shutil

    folder = tmp_path / "noisy"
    shutil.copytree(sample_path, folder)
    with (folder / "needs.csv").open("a", encoding="utf-8") as fh:
        fh.write("N9999,C001,需要帮忙,,,9,1,volunteer,1,,,,open,,\n")
    with (folder / "actors.csv").open("a", encoding="utf-8") as fh:
        fh.write("F099,fund,助学专项金,本基金仅限资助困境儿童助学,,,,杭州市,city,,5000,,,,,,,true\n")
    return folder


def test_match_prints_what_it_skipped_and_warned(capsys: pytest.CaptureFixture[str],
                                                 sample_path: Path, tmp_path: Path) -> None:
    folder = _noisy(sample_path, tmp_path)
    code, _, err = run(capsys, "match", "--data", str(folder), "--out", str(tmp_path / "o"),
                       "--skip-bad-rows")
    assert code == 0
    assert "skipped rows with 1 error(s)" in err and "needs.csv:27: [urgency]" in err
    assert "warning" in err and "F099" in err


def test_a_plan_failing_the_checker_writes_nothing(capsys: pytest.CaptureFixture[str],
                                                   sample_path: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("matcher.pipeline.validate_assignment", lambda *a, **k: ["N0001 broken"])
    out = tmp_path / "o"
    code, _, err = run(capsys, "match", "--data", str(sample_path), "--out", str(out))
    assert code != 0 and "未通过校验" in err and "nothing written" in err
    assert "Traceback" not in err and not (out / "assignments.csv").exists()
