"""Import the contract's CSV lists (GBK too) and export them back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import Response

from matcher.errors import DataError, RowError
from matcher.sources import workbook_files

from ..audit import record
from ..deps import EngineDep, PrincipalDep, SessionDep, SettingsDep, WriterDep
from ..engine import bump
from ..errors import ApiError
from ..imports import FILES, export_csv, import_files
from ..schemas import ImportOut

router = APIRouter(tags=["data"])


@router.post("/imports", response_model=ImportOut,
             summary="导入清单（communities/needs/actors/feedback/assignments.csv，或一个 .xlsx 工作簿，全部成功才写入）")
def import_lists(s: SessionDep, p: WriterDep, cache: EngineDep, settings: SettingsDep,
                 files: Annotated[list[UploadFile], File(description="合同格式的 CSV 文件，或每张清单一个工作表的 .xlsx 工作簿", min_length=1)],
                 dry_run: Annotated[bool, Query(description="只校验，不写入")] = False,
                 skip_bad_rows: bool = False) -> ImportOut:
    limit = int(settings.max_upload_mb * 1_000_000)
    got: dict[str, bytes] = {}
    places: dict[str, str] = {}
    for f in files:
        shown = (f.filename or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
        name = shown.lower()
        if name.endswith(".xlsx"):  # a workbook: its sheets are the lists
            data = f.file.read(limit + 1)
            if len(data) > limit:
                raise ApiError(413, "file_too_large", f"{shown} 超过上限 {settings.max_upload_mb:g} MB",
                               f"{shown} exceeds {settings.max_upload_mb:g} MB")
            book = workbook_files(data, shown, FILES)
            if isinstance(book, RowError):
                raise DataError([book])
            clash = sorted(set(book[0]) & set(got))
            if clash:
                raise ApiError(422, "duplicate_list", f"{'、'.join(clash)} 上传了两次",
                               f"{', '.join(clash)} uploaded twice")
            got.update(book[0])
            places.update(book[1])
            continue
        if name not in FILES:
            raise ApiError(422, "unknown_file",
                           f"不认识的文件名：{name or '（空）'}（应为 {', '.join(FILES)}，"
                           "或一个 .xlsx 工作簿）",
                           f"unknown file name {name!r} (expected one of {', '.join(FILES)}, "
                           "or an .xlsx workbook)")
        data = f.file.read(limit + 1)
        if len(data) > limit:
            raise ApiError(413, "file_too_large", f"{name} 超过上限 {settings.max_upload_mb:g} MB",
                           f"{name} exceeds {settings.max_upload_mb:g} MB")
        got[name] = data
    res = import_files(s, got, p, skip_bad_rows=skip_bad_rows, dry_run=dry_run,
                       max_file_bytes=limit, places=places)
    if not dry_run:
        bump(s, "data_version")
        bump(s, "load_version")
        record(s, p, "import", "dataset", ",".join(sorted(got)),
               {"added": res.added, "updated": res.updated, "skipped": len(res.skipped)},
               cache.model_version())
    cache.commit(s)
    return ImportOut(dry_run=dry_run, added=res.added, updated=res.updated, skipped=res.skipped,
                     warnings=res.warnings)


@router.get("/exports/{what}.csv", summary="导出清单为 CSV（电话、证件号已脱敏）",
            response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def export(what: str, s: SessionDep, p: PrincipalDep,
           encoding: Annotated[str, Query(pattern="^(utf-8|gbk)$")] = "utf-8") -> Response:
    text = export_csv(s, what, p)
    record(s, p, "export", "list", what)
    body = ("\ufeff" + text).encode("utf-8") if encoding == "utf-8" else text.encode(
        "gb18030", errors="replace")
    return Response(body, media_type=f"text/csv; charset={encoding}",
                    headers={"Content-Disposition": f'attachment; filename="{what}.csv"'})
