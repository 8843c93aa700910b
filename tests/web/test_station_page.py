"""End to end: what a station worker does on the page, in a real browser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .conftest import Site, shot, sign_in


def test_sign_in_shows_only_the_stations_needs_then_filter(page: Any, site: Site) -> None:
    sign_in(page, site, site.station)
    assert "翠苑街道社工站" in page.inner_text("#who")
    communities = page.locator("#needs-table tbody td[data-label='社区']").all_inner_texts()
    assert communities and set(communities) <= {"翠苑一区社区", "翠苑二区社区"}
    shot(page, "01-needs-list")
    page.select_option("#filters [name=urgency]", "4")
    page.click("#filters button[type=submit]")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#needs-table tbody td[data-label=紧急]')]"
        ".every(td => td.textContent.includes('急难愁盼'))")
    assert page.locator("#needs-table tbody tr").count() >= 1
    shot(page, "02-needs-urgent")


def test_open_a_need_and_accept_a_suggestion(page: Any, site: Site) -> None:
    sign_in(page, site, site.station)
    page.click("a[href='#need/N0001']")
    section = page.locator("section[aria-label='社会工作者']")
    section.locator(".sugg").first.wait_for()
    first = section.locator(".sugg").first
    assert first.locator("li").count() >= 1  # reasons in plain Chinese
    name = first.locator(".head strong").inner_text()
    shot(page, "03-need-detail")
    first.locator("button[data-act=accept]").click()
    page.wait_for_selector("section[aria-label='社会工作者'] .badge.ok")
    assert "已采纳" in page.inner_text("section[aria-label='社会工作者']")
    assert name in page.inner_text("section[aria-label='社会工作者']")
    assert "采纳" in page.inner_text(".timeline")
    shot(page, "04-need-accepted")


def test_reject_without_a_reason_is_refused_on_the_page(page: Any, site: Site) -> None:
    sign_in(page, site, site.station)
    page.goto(site.url + "/#need/N0002")
    card = page.locator("section[aria-label='社区志愿者'] .sugg").first
    card.wait_for()
    card.locator("button[data-act=reject]").click()
    page.wait_for_selector("#toast:not([hidden])")
    assert "拒绝原因" in page.inner_text("#toast")
    card.locator("input").fill("家长希望找女性志愿者")
    card.locator("button[data-act=reject]").click()
    page.wait_for_selector(".timeline li:has-text('拒绝')")


def _first_import_error(page: Any, site: Site, upload: Path) -> str:
    """Sign in as the station, validate ``upload`` on the import page, return the
    first error row's text."""
    sign_in(page, site, site.station)
    page.click("a[data-view=data]")
    page.set_input_files("#import-files", str(upload))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-errors")
    return str(page.locator("#import-errors tbody tr").first.inner_text())


def test_import_with_a_bad_row_shows_the_error_and_saves_nothing(page: Any, site: Site,
                                                                 tmp_path: Path) -> None:
    bad = tmp_path / "needs.csv"
    bad.write_bytes("need_id,community_id,text,urgency\nW1,C001,想找人陪我去医院,2\n"
                    "W2,C001,家里水管坏了,9\n".encode("gbk"))
    row = _first_import_error(page, site, bad)
    assert "needs.csv" in row and "3" in row and "urgency" in row
    assert page.is_disabled("#import-confirm")
    shot(page, "05-import-error")
    page.goto(site.url + "/#need/W1")
    page.wait_for_selector("#need-detail .error")
    assert "不存在" in page.inner_text("#need-detail")


def test_import_of_an_excel_workbook_names_the_sheet_of_a_bad_row(page: Any, site: Site,
                                                                   tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "需求清单"
    for row in (["need_id", "community_id", "text", "urgency"],
                ["X1", "C001", "想找人陪我去医院", 2], ["X2", "C001", "家里水管坏了", 9]):
        ws.append(row)
    book = tmp_path / "本站清单.xlsx"
    wb.save(book)
    row = _first_import_error(page, site, book)
    assert "本站清单.xlsx[需求清单]" in row and "3" in row and "urgency" in row
    assert page.is_disabled("#import-confirm")


def test_import_with_the_stations_own_numbers(page: Any, site: Site, tmp_path: Path) -> None:
    """A station's numbers are kept as its reference; an id another station uses is no issue."""
    own = tmp_path / "needs.csv"
    own.write_bytes("need_id,community_id,text,urgency\nN0011,C002,楼道灯坏了好几天了,2\n"
                    .encode("gbk"))  # N0011 is also a need of 朝晖街道's
    sign_in(page, site, site.station)
    page.click("a[data-view=data]")
    page.set_input_files("#import-files", str(own))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-result .badge.ok")
    page.click("#import-confirm")
    page.wait_for_selector("#import-result:has-text('已导入')")
    page.click("a[data-view=needs]")
    page.fill("#filters [name=q]", "N0011")
    page.click("#filters button[type=submit]")
    page.wait_for_function(  # the filtered list, not the one before it
        "() => { const r = [...document.querySelectorAll('#needs-table tbody tr')];"
        " return r.length > 0 && r.every(tr => tr.textContent.includes('N0011')); }")
    cell = page.locator("#needs-table tbody td[data-label='编号']").first
    assert cell.locator("a").inner_text().startswith("W")
    cell.locator("a").click()
    page.wait_for_selector("#need-detail h1:has-text('本站编号 N0011')")
    assert "楼道灯坏了" in page.inner_text("#need-detail")


def test_a_funds_unstated_restriction_is_a_warning_on_import_and_resources(
        page: Any, site: Site, tmp_path: Path) -> None:
    funds = tmp_path / "actors.csv"
    funds.write_text("actor_id,kind,name,text,city,scope,budget_yuan,categories,target_groups\n"
                     "FW1,fund,银龄专项基金,仅限资助辖区高龄老人助餐,杭州市,city,5000,,\n",
                     encoding="utf-8")
    sign_in(page, site, site.admin)
    page.click("a[data-view=data]")
    page.set_input_files("#import-files", str(funds))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-result .warn")
    assert "仅限资助辖区高龄老人助餐" in page.inner_text("#import-result .warn")
    page.click("#import-confirm")
    page.wait_for_selector("#import-result:has-text('已导入')")
    page.click("a[data-view=actors]")
    page.wait_for_selector("#actors-table tbody tr:has-text('FW1') .warn")
    shot(page, "14-fund-warning")


def test_enter_a_need_with_inference_then_rematch_and_read_the_summary(page: Any,
                                                                       site: Site) -> None:
    sign_in(page, site, site.station)
    page.click("a[data-view=new]")
    page.fill("#new-text", "我妈88岁一个人住，做不了饭，想找人每天送饭")
    page.click("#infer-btn")
    page.wait_for_selector("#infer-result:not([hidden])")
    assert "养老服务" in page.inner_text("#infer-summary")
    assert page.is_checked("#new-groups input[value='老年人']")
    shot(page, "06-new-need")
    page.click("#new-form button[type=submit]")
    page.wait_for_selector("#need-detail h1")
    assert "做不了饭" in page.inner_text("#need-detail")
    page.click("a[data-view=runs]")
    page.click("#run-start")
    page.wait_for_selector("#run-result", timeout=120_000)
    text = page.inner_text("#run-result")
    assert "紧急需求完全满足" in text and "未能满足的原因" in text
    shot(page, "07-rematch-summary")


def test_dashboard_draws_charts(page: Any, site: Site) -> None:
    sign_in(page, site, site.admin)
    page.click("a[data-view=dashboard]")
    page.wait_for_function("() => window.Chart && document.querySelector('#dash-kpis .kpi')")
    for cid in ("chart-category", "chart-shortage", "chart-load", "chart-funds"):
        painted = page.evaluate(
            """id => { const c = document.getElementById(id);
                       const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                       let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }""",
            cid)
        assert painted > 500, cid
    shot(page, "08-dashboard")


def test_another_station_cannot_see_the_need(page: Any, site: Site) -> None:
    sign_in(page, site, site.other_station)
    ids = page.locator("#needs-table tbody td[data-label='编号']").all_inner_texts()
    assert "N0001" not in ids
    page.goto(site.url + "/#need/N0001")
    page.wait_for_selector("#need-detail .error")
    assert "不存在" in page.inner_text("#need-detail")
    assert "送饭" not in page.inner_text("#need-detail")
    shot(page, "09-other-station")


def test_phone_width_is_usable(browser: Any, site: Site) -> None:
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN",
                              is_mobile=True)
    pg = ctx.new_page()
    try:
        sign_in(pg, site, site.station)
        width = pg.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 400  # no sideways scrolling
        assert pg.locator("#needs-table tbody td[data-label='需求']").first.is_visible()
        shot(pg, "10-phone-needs")
        pg.click("a[href='#need/N0001']")
        pg.locator(".sugg").first.wait_for()
        shot(pg, "11-phone-need")
    finally:
        ctx.close()


def test_override_with_another_actor_from_the_list(page: Any, site: Site) -> None:
    sign_in(page, site, site.station)
    page.goto(site.url + "/#need/N0012")
    box = page.locator("input[data-override=organization]")
    box.wait_for()
    options = page.locator("#actors-organization option")
    assert options.count() >= 1
    box.fill("O009")  # inactive (停用): the engine refuses it with the reason
    page.locator("button[data-act=override][data-role=organization]").click()
    page.wait_for_selector("#toast.error:not([hidden])")
    assert "不能安排" in page.inner_text("#toast")
    choice = options.nth(0).get_attribute("value")
    box.fill(choice)
    page.locator("button[data-act=override][data-role=organization]").click()
    page.wait_for_selector("section[aria-label='社会组织'] .badge.ok")
    assert choice in page.inner_text("section[aria-label='社会组织']")


def _enter_need(page: Any, site: Site, text: str, budget: str = "") -> None:
    """Sign in as the station and register a need (urgency left to the system)."""
    sign_in(page, site, site.station)
    page.click("a[data-view=new]")
    page.fill("#new-text", text)
    if budget:
        page.fill("#new-form [name=budget_yuan]", budget)
    page.click("#new-form button[type=submit]")
    page.wait_for_selector("#need-detail h1")


def test_confirm_an_inferred_category_to_get_the_withheld_fund(page: Any, site: Site) -> None:
    # 病了 pulls the text towards health as well as elderly care; urgency left blank
    _enter_need(page, site, "老人病了下不了楼，吃饭也成问题", budget="2000")
    assert "系统推断，置信度" in page.inner_text("#need-detail dl.facts")  # urgency too
    hint = page.locator("section[aria-label='社会慈善资源'] [data-pending-funds]")
    hint.wait_for()
    assert "F001" in hint.inner_text() and "系统推断" in hint.inner_text()
    cards = page.locator("section[aria-label='社会慈善资源'] .sugg")
    assert "F001" not in " ".join(cards.all_inner_texts())
    shot(page, "12-fund-awaiting-category")
    hint.locator("button[data-act=confirm-category]").click()
    page.wait_for_selector("section[aria-label='社会慈善资源'] .sugg:has-text('F001')")
    assert page.locator("section[aria-label='社会慈善资源'] [data-pending-funds]").count() == 0
    shot(page, "13-fund-after-confirming-category")


def test_the_list_marks_an_urgency_inferred_from_the_text(page: Any, site: Site) -> None:
    _enter_need(page, site, "我爸心脏病的药明天就吃完了，家里一个人都没有，他走不动路")
    page.click("a[data-view=needs]")
    mark = page.locator("#needs-table [data-inferred-urgency]:has-text('推断紧急')").first
    mark.wait_for()
    assert "系统从描述推断" in (mark.get_attribute("title") or "")
    shot(page, "15-inferred-urgency-in-list")


def test_an_unsure_category_is_said_and_both_are_covered(page: Any, site: Site) -> None:
    _enter_need(page, site, "中风后下不了楼")
    hint = page.locator("#need-detail [data-unsure-category]")
    hint.wait_for()
    assert "把握不足" in hint.inner_text() and "推荐同时覆盖" in hint.inner_text()
    assert hint.locator("button[data-act=confirm-category]").count() == 2
    shot(page, "16-unsure-category")


def test_groups_not_sure_enough_for_a_fund_are_said_on_the_need_page(page: Any,
                                                                     site: Site) -> None:
    # 老人 and 孩子 are named only where the noise is heard: shown, not enough for a fund
    _enter_need(page, site, "隔壁装修天天吵，家里有老人和孩子")
    note = page.locator("#need-detail [data-unsure-groups]")
    note.wait_for()
    assert "老年人" in note.inner_text() and "确认服务对象前不开放" in note.inner_text()
    shot(page, "17-unsure-groups")
