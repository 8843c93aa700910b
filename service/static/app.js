/* wushe station page. Plain JavaScript, no build step, no network but this server. */
"use strict";

const state = { key: sessionStorage.getItem("wushe-key") || "", me: null, vocab: null,
  charts: {}, runTimer: null };

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
const esc = (v) => String(v ?? "").replace(/[&<>"']/g,
  (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
// Bar widths are set through the DOM, not inline style attributes, so the page
// runs under a Content-Security-Policy that allows no inline style or script.
const applyWidths = (root) => root.querySelectorAll("[data-w]").forEach((e) => {
  e.style.width = `${Number(e.dataset.w) || 0}%`;
});
const yuan = (x) => "¥" + Number(x || 0).toLocaleString("zh-CN", { maximumFractionDigits: 2 });

function toast(msg, isError = false) {
  const t = $("#toast");
  t.textContent = msg;
  t.className = isError ? "error" : "";
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, isError ? 8000 : 3500);
}

class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `请求失败（${status}）`);
    this.status = status; this.code = e.code; this.rows = e.rows || [];
  }
}

async function api(path, opts = {}) {
  const headers = Object.assign({ "X-API-Key": state.key }, opts.headers || {});
  let body = opts.body;
  if (body && !(body instanceof FormData)) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(body);
  }
  const r = await fetch("/api/v1" + path, { method: opts.method || "GET", headers, body });
  if (opts.raw && r.ok) return r;
  const data = r.headers.get("content-type")?.includes("json") ? await r.json() : null;
  if (!r.ok) {
    if (r.status === 401 && path !== "/me") signOut();
    throw new ApiError(r.status, data);
  }
  return data;
}

const label = {
  category: (c) => state.vocab.categories.find((x) => x.code === c)?.zh || c || "未识别",
  role: (r) => state.vocab.roles.find((x) => x.code === r)?.zh || r,
  status: (s) => state.vocab.need_statuses.find((x) => x.code === s)?.zh || s,
  astatus: (s) => state.vocab.assignment_statuses.find((x) => x.code === s)?.zh || s,
  reason: (s) => state.vocab.unserved_reasons.find((x) => x.code === s)?.zh || s,
  slot: (s) => state.vocab.time_slots.find((x) => x.code === s)?.zh || s,
};

function fillSelect(sel, items, keepFirst = true) {
  const first = keepFirst ? sel.options[0] : null;
  sel.innerHTML = "";
  if (first) sel.appendChild(first);
  for (const [value, text] of items) {
    const o = document.createElement("option");
    o.value = value; o.textContent = text;
    sel.appendChild(o);
  }
}

function chips(container, name, items, checked = []) {
  container.innerHTML = items.map(([v, t]) =>
    `<label class="check"><input type="checkbox" name="${name}" value="${esc(v)}" ${checked.includes(v) ? "checked" : ""}> ${esc(t)}</label>`).join("");
}

/* ---------- sign in / out ---------- */

async function signIn(key) {
  state.key = key;
  try {
    state.me = await api("/me");
  } catch (e) {
    state.key = "";
    throw e;
  }
  sessionStorage.setItem("wushe-key", key);
  state.vocab = state.vocab || await (await fetch("/api/v1/vocab")).json();
  setupForms();
  const who = state.me.role === "station" ? state.me.station_name
    : state.me.role === "admin" ? "管理员" : "研究人员（只读，个人信息已脱敏）";
  $("#who").textContent = who;
  $("#nav").hidden = false; $("#signout").hidden = false;
  if (!location.hash || location.hash === "#signin") location.hash = "#needs";
  else route();
}

function signOut() {
  state.key = ""; state.me = null;
  sessionStorage.removeItem("wushe-key");
  $("#nav").hidden = true; $("#signout").hidden = true; $("#who").textContent = "";
  location.hash = "#signin";
  show("signin");
}

function setupForms() {
  const v = state.vocab;
  const comms = state.me.communities.map((c) => [c.community_id, `${c.name}（${c.street}）`]);
  fillSelect($("#filters [name=community_id]"), comms);
  fillSelect($("#filters [name=status]"), v.need_statuses.map((s) => [s.code, s.zh]));
  fillSelect($("#filters [name=category]"), v.categories.map((c) => [c.code, c.zh]));
  fillSelect($("#filters [name=target_group]"), v.groups.map((g) => [g, g]));
  fillSelect($("#new-form [name=community_id]"), comms, false);
  fillSelect($("#new-form [name=category]"), v.categories.map((c) => [c.code, c.zh]));
  fillSelect($("#actor-filters [name=kind]"), v.roles.map((r) => [r.code, r.zh]));
  chips($("#new-roles"), "roles", v.roles.map((r) => [r.code, r.zh]), v.roles.map((r) => r.code));
  chips($("#new-slots"), "time_slots", v.time_slots.map((s) => [s.code, s.zh]));
  chips($("#new-groups"), "target_groups", v.groups.map((g) => [g, g]));
  const ro = state.me.role === "researcher";
  for (const el of $$('[data-view="new"], [data-view="data"]')) el.hidden = ro;
}

/* ---------- routing ---------- */

function show(view) {
  for (const s of $$(".view")) s.hidden = s.id !== "view-" + view;
  for (const a of $$("#nav a")) {
    if (a.dataset.view === view) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

async function route() {
  if (!state.me) { show("signin"); return; }
  const [view, arg] = location.hash.replace(/^#/, "").split("/");
  try {
    switch (view) {
      case "need": show("need"); await renderNeed(decodeURIComponent(arg || "")); break;
      case "new": show("new"); break;
      case "actors": show("actors"); await loadActors(); break;
      case "data": show("data"); break;
      case "runs": show("runs"); await loadLatestRun(); break;
      case "dashboard": show("dashboard"); await renderDashboard(); break;
      default: show("needs"); await loadNeeds();
    }
    $("#main").focus({ preventScroll: true });
  } catch (e) { toast(e.message, true); }
}

/* ---------- needs list ---------- */

async function loadNeeds() {
  const params = new URLSearchParams();
  for (const [k, v] of new FormData($("#filters"))) if (v) params.set(k, v);
  params.set("limit", "200");
  const page = await api("/needs?" + params);
  $("#needs-count").textContent = `共 ${page.total} 条` + (page.total > page.items.length ? `，显示前 ${page.items.length} 条` : "");
  const rows = page.items.map((n) => {
    const cat = n.category || n.inferred_category;
    const inferred = !n.category && n.inferred_category;
    const groups = n.target_groups.length ? n.target_groups : n.inferred_groups;
    return `<tr class="clickable ${n.urgency >= 4 && n.status === "open" ? "urgent" : ""}" tabindex="0" data-id="${esc(n.need_id)}">
      <td data-label="编号"><a href="#need/${encodeURIComponent(n.need_id)}">${esc(n.need_id)}</a>${n.ref ? `<br><span class="muted">本站编号 ${esc(n.ref)}</span>` : ""}</td>
      <td data-label="社区">${esc(n.community_name)}</td>
      <td data-label="需求">${esc(n.text)}</td>
      <td data-label="类别"><span class="badge ${inferred ? "inferred" : ""}" title="${inferred ? "系统推断" : "已填写"}">${esc(label.category(cat))}</span></td>
      <td data-label="对象">${esc(groups.join("、"))}</td>
      <td data-label="紧急">${urgencyCell(n)}</td>
      <td data-label="状态">${esc(label.status(n.status))} ${n.unserved ? '<span class="badge unserved">未满足</span>' : ""}</td></tr>`;
  });
  $("#needs-table tbody").innerHTML = rows.join("") || '<tr><td colspan="7">没有符合条件的需求</td></tr>';
}

// an urgency the system inferred from the text is marked, with its confidence
function urgencyCell(n) {
  const text = n.urgency >= 4 ? "4 急难愁盼" : String(n.urgency);
  if (n.urgency_given) return n.urgency >= 4 ? `<span class="badge urgent">${text}</span>` : esc(text);
  const title = `系统从描述推断，置信度 ${n.inferred_urgency_confidence.toFixed(2)}，请核实`;
  return `<span class="badge inferred ${n.urgency >= 3 ? "urgent" : ""}" title="${esc(title)}" data-inferred-urgency>${esc(text)}${n.urgency >= 3 ? " 推断紧急" : "（推断）"}</span>`;
}

/* ---------- one need ---------- */


const COMPONENT_ZH = { text: "文本相似", concept: "服务词", category: "类别", group: "对象",
  proximity: "距离", capacity: "余量", quality: "资质" };

function suggestionCard(needId, role, s, canWrite) {
  const bars = Object.entries(s.breakdown).map(([k, v]) =>
    `<span>${esc(COMPONENT_ZH[k] || k)}</span><span class="bar"><span data-w="${Math.round(Math.max(0, Math.min(1, v)) * 100)}"></span></span><span>${Number(v).toFixed(2)}</span>`).join("");
  const remaining = role === "fund" ? `余额 ${yuan(s.remaining)}` : `剩余容量 ${s.remaining}`;
  return `<div class="sugg" data-actor="${esc(s.actor_id)}">
    <div class="head"><strong>${esc(s.name)}</strong><span class="score" title="综合得分">${s.score.toFixed(2)}</span></div>
    <div class="muted">${esc(s.actor_id)} · ${esc(remaining)}</div>
    <ul>${s.reasons.map((r) => `<li>${esc(r)}</li>`).join("")}</ul>
    <details><summary>得分构成与已核对的条件</summary><div class="bars">${bars}</div>
      <p class="checks">✔ ${s.checks.map(esc).join(" ✔ ")}</p></details>
    ${canWrite ? `<div class="actions">
      <button type="button" data-act="accept" data-role="${role}" data-actor="${esc(s.actor_id)}">采纳</button>
      <input type="text" maxlength="200" placeholder="拒绝原因" aria-label="拒绝原因（${esc(s.name)}）">
      <button type="button" class="danger" data-act="reject" data-role="${role}" data-actor="${esc(s.actor_id)}">拒绝</button>
    </div>` : ""}</div>`;
}

async function renderNeed(id) {
  const box = $("#need-detail");
  box.innerHTML = '<p class="muted">加载中…</p>';
  let n;
  try {
    n = await api("/needs/" + encodeURIComponent(id));
  } catch (e) {
    box.innerHTML = `<div class="card"><h1>需求 ${esc(id)}</h1><p class="error">${esc(e.message)}</p></div>`;
    return;
  }
  const canWrite = state.me.role !== "researcher" && !["done", "cancelled"].includes(n.status);
  const cat = n.category || n.inferred_category;
  const groups = n.target_groups.length ? n.target_groups : n.inferred_groups;
  const held = n.assignments.filter((a) => ["accepted", "in_service", "completed"].includes(a.status));
  let sugg = { suggestions: {}, unserved_reasons: {}, unconfirmed_funds: [] };
  // the top five as cards; every other feasible actor, best first, for the override box
  try { sugg = await api(`/needs/${encodeURIComponent(id)}/suggestions?k=30`); } catch (e) { toast(e.message, true); }
  const roles = n.roles.map((role) => {
    const mine = held.filter((a) => a.role === role);
    const feasible = sugg.suggestions[role] || [];
    const items = feasible.slice(0, 5);
    const why = sugg.unserved_reasons[role];
    const pending = role === "fund" ? sugg.unconfirmed_funds || [] : [];
    // funds withheld only because the category is inferred: name them, offer to confirm
    const pendingHtml = pending.length ? `<p class="hint" data-pending-funds>${pending.map((f) => `${esc(f.name)}（${esc(f.actor_id)}）`).join("、")}
      限定资助「${esc(label.category(pending[0].category))}」；本需求的类别是系统推断的（置信度 ${pending[0].confidence.toFixed(2)}），确认后即可推荐。
      ${canWrite ? `<button type="button" class="secondary" data-act="confirm-category" data-category="${esc(pending[0].category)}">确认类别为「${esc(label.category(pending[0].category))}」</button>` : ""}</p>` : "";
    const heldHtml = mine.map((a) => `<p><span class="badge ok">${esc(label.astatus(a.status))}</span> ${esc(a.actor_name)}（${esc(a.actor_id)}）
      ${canWrite && a.status === "accepted" ? `<button type="button" class="secondary" data-act="start" data-id="${a.id}">开始服务</button>` : ""}
      ${canWrite && ["accepted", "in_service"].includes(a.status) ? `<button type="button" class="secondary" data-act="complete" data-id="${a.id}">办结</button>` : ""}</p>`).join("");
    return `<section class="card" aria-label="${esc(label.role(role))}">
      <h2>${esc(label.role(role))}${role === "volunteer" ? `（需要 ${n.volunteers_needed} 人）` : ""}</h2>
      ${heldHtml}
      ${items.map((s) => suggestionCard(n.need_id, role, s, canWrite)).join("") ||
        `<p class="muted">没有满足硬性条件的资源${why ? "：" + esc(label.reason(why)) : ""}</p>`}
      ${pendingHtml}
      ${canWrite ? `<div class="actions"><input type="text" list="actors-${role}" placeholder="改派：资源编号或名称" aria-label="改派${esc(label.role(role))}的资源编号" data-override="${role}">
        <datalist id="actors-${role}">${feasible.slice(5).map((a) => `<option value="${esc(a.actor_id)}">${esc(a.name)}（得分 ${a.score.toFixed(2)}）</option>`).join("")}</datalist>
        <button type="button" class="secondary" data-act="override" data-role="${role}">改派</button></div>` : ""}
    </section>`;
  }).join("");
  const likely = sugg.likely_categories || [];
  const inf = sugg?.inferred;
  // inferred groups not sure enough to open a fund restricted to them
  const unsureGroups = n.target_groups.length || !inf ? []
    : (inf.groups ?? []).filter((g) => !(inf.fund_groups ?? []).includes(g));
  const unsure = likely.length > 1 ? `<p class="hint" data-unsure-category>系统对类别把握不足（置信度 ${(sugg.inferred?.category_confidence ?? 0).toFixed(2)}）：推荐同时覆盖「${likely.map((c) => esc(label.category(c))).join("」与「")}」。请核实类别：${canWrite ? likely.map((c) => `<button type="button" class="secondary" data-act="confirm-category" data-category="${esc(c)}">确认为「${esc(label.category(c))}」</button>`).join(" ") : ""}</p>` : "";
  box.innerHTML = `<div class="card">
    <h1>需求 ${esc(n.need_id)}${n.ref ? `<small class="muted">（本站编号 ${esc(n.ref)}）</small>` : ""} <span class="badge">${esc(label.status(n.status))}</span>
      ${n.urgency >= 4 ? '<span class="badge urgent">急难愁盼</span>' : ""}</h1>
    <p class="need-text">${esc(n.text)}</p>
    <dl class="facts">
      <dt>社区</dt><dd>${esc(n.community_name)}</dd>
      <dt>类别</dt><dd>${esc(label.category(cat))}${!n.category && cat ? `（系统推断，置信度 ${n.inferred_confidence.toFixed(2)}）` : ""}</dd>
      <dt>服务对象</dt><dd>${esc(groups.join("、") || "未识别")}${!n.target_groups.length && groups.length ? "（系统推断）" : ""}${unsureGroups.length ? `<span class="hint" data-unsure-groups>其中「${unsureGroups.map(esc).join("」「")}」把握不足（描述中顺带提及或仅由模型推断）：参与排序，但在确认服务对象前不开放限定该对象的资金</span>` : ""}</dd>
      <dt>紧急程度</dt><dd>${esc(n.urgency)}${n.urgency_given ? "" : `（系统推断，置信度 ${n.inferred_urgency_confidence.toFixed(2)}，请核实）`}</dd>
      <dt>需要金额</dt><dd>${yuan(n.budget_yuan)}</dd>
      <dt>方便时间</dt><dd>${esc(n.time_slots.map(label.slot).join("、") || "任何时间")}</dd>
      <dt>联系人</dt><dd>${esc(n.contact_name)} ${esc(n.contact_phone)}</dd>
    </dl>${unsure}</div>
    <h2>推荐团队</h2>
    <div class="suggest-grid">${roles}</div>
    <div class="card"><h2>经办记录</h2><ol class="timeline">${n.history.map((h) =>
      `<li>${esc(h.at.replace("T", " ").slice(0, 19))} · ${esc(h.who)} · ${esc(HISTORY_ZH[h.action] || h.action)}${h.detail && h.detail.actor_id ? " · " + esc(h.detail.actor_id) : ""}${h.detail && h.detail.reason ? "（" + esc(h.detail.reason) + "）" : ""}</li>`).join("")}</ol></div>`;
  box.dataset.need = n.need_id;
  applyWidths(box);
}

const HISTORY_ZH = { "need.create": "登记需求", "need.update": "修改需求", "need.done": "办结",
  "need.cancelled": "取消", "decision.accept": "采纳", "decision.reject": "拒绝",
  "decision.start": "开始服务", "decision.complete": "服务完成", "decision.fail": "服务未成功",
  "decision.withdraw": "撤回", "decision.override": "改派", feedback: "满意度回访" };

async function onNeedAction(ev) {
  const b = ev.target.closest("button[data-act]");
  if (!b) return;
  const needId = $("#need-detail").dataset.need;
  const act = b.dataset.act;
  if (act === "confirm-category") {
    b.disabled = true;
    try {
      await api("/needs/" + encodeURIComponent(needId), { method: "PATCH", body: { category: b.dataset.category } });
      toast("已确认类别");
      await renderNeed(needId);
    } catch (e) { toast(e.message, true); b.disabled = false; }
    return;
  }
  const body = { action: act };
  if (b.dataset.id) body.assignment_id = Number(b.dataset.id);
  else { body.role = b.dataset.role; body.actor_id = b.dataset.actor; }
  if (act === "reject") {
    body.reason = b.parentElement.querySelector("input").value.trim();
    if (!body.reason) { toast("请先填写拒绝原因", true); b.parentElement.querySelector("input").focus(); return; }
  }
  if (act === "override") {
    body.actor_id = b.parentElement.querySelector("input").value.trim();
    if (!body.actor_id) { toast("请填写改派的资源编号", true); return; }
  }
  b.disabled = true;
  try {
    await api(`/needs/${encodeURIComponent(needId)}/decisions`, { method: "POST", body });
    toast({ accept: "已采纳", reject: "已拒绝", override: "已改派", start: "已开始服务", complete: "已办结" }[act] || "已保存");
    await renderNeed(needId);
  } catch (e) { toast(e.message, true); b.disabled = false; }
}

/* ---------- new need ---------- */

async function inferNew() {
  const text = $("#new-text").value.trim();
  if (!text) { toast("请先填写居民的原话", true); return; }
  const r = await api("/needs/infer", { method: "POST", body: { text } });
  $("#infer-result").hidden = false;
  $("#infer-summary").textContent = r.category
    ? `系统判断：${r.category_zh}（置信度 ${r.confidence.toFixed(2)}）；服务对象：${r.groups.join("、") || "未识别"}；紧急程度：${r.urgency}（置信度 ${r.urgency_confidence.toFixed(2)}）${r.evidence.length ? "；依据：" + r.evidence.join("、") : ""}`
    : "没有识别出类别，请手动选择。";
  $("#new-form [name=category]").value = r.category || "";
  for (const c of $$("#new-groups input")) c.checked = r.groups.includes(c.value);
}

async function saveNew(ev) {
  ev.preventDefault();
  const f = new FormData($("#new-form"));
  const body = {
    community_id: f.get("community_id"), text: f.get("text").trim(),
    beneficiaries: Number(f.get("beneficiaries") || 1),
    budget_yuan: Number(f.get("budget_yuan") || 0), volunteers_needed: Number(f.get("volunteers_needed") || 0),
    roles: f.getAll("roles"), time_slots: f.getAll("time_slots"),
    contact_name: f.get("contact_name") || "", contact_phone: f.get("contact_phone") || "",
  };
  if (f.get("urgency")) body.urgency = Number(f.get("urgency"));  // blank: inferred from the text
  if (!$("#infer-result").hidden) {
    body.category = f.get("category") || "";
    body.target_groups = f.getAll("target_groups");
  }
  try {
    const n = await api("/needs", { method: "POST", body });
    toast(`已登记需求 ${n.need_id}`);
    $("#new-form").reset(); $("#infer-result").hidden = true;
    location.hash = "#need/" + encodeURIComponent(n.need_id);
  } catch (e) {
    toast(e.message + (e.rows.length ? "：" + e.rows.map((r) => r.location).join("、") : ""), true);
  }
}

/* ---------- actors ---------- */

async function loadActors() {
  const params = new URLSearchParams();
  for (const [k, v] of new FormData($("#actor-filters"))) if (v) params.set(k, v);
  params.set("limit", "1000");
  const page = await api("/actors?" + params);
  $("#actors-table tbody").innerHTML = page.items.map((a) => {
    const full = a.kind !== "fund" && a.remaining <= 0;
    const left = a.kind === "fund" ? `${yuan(a.remaining)} / ${yuan(a.budget_yuan)}` : `${a.remaining} / ${a.capacity}`;
    const pct = a.kind === "fund" ? (a.budget_yuan ? 1 - a.remaining / a.budget_yuan : 0) : a.load / Math.max(a.capacity, 1);
    return `<tr><td data-label="编号">${esc(a.actor_id)}</td><td data-label="类型">${esc(a.kind_zh)}</td>
      <td data-label="名称">${esc(a.name)}</td><td data-label="服务内容">${esc(a.text)}${a.warning ? `<p class="warn" role="note">${esc(a.warning)}</p>` : ""}</td>
      <td data-label="负荷"><span class="bar inline" title="${Math.round(pct * 100)}%"><span data-w="${Math.round(Math.min(1, pct) * 100)}"></span></span> ${a.kind === "fund" ? "" : a.load}</td>
      <td data-label="剩余">${esc(left)} ${full ? '<span class="badge unserved">已满</span>' : ""}</td>
      <td data-label="状态">${a.active ? "在用" : "停用"}</td></tr>`;
  }).join("") || '<tr><td colspan="7">没有资源</td></tr>';
  applyWidths($("#actors-table"));
}

/* ---------- import / export ---------- */

async function sendImport(dryRun) {
  const files = $("#import-files").files;
  if (!files.length) { toast("请选择文件", true); return null; }
  const fd = new FormData();
  for (const f of files) fd.append("files", f, f.name.toLowerCase());
  const q = new URLSearchParams({ dry_run: String(dryRun), skip_bad_rows: String($("#import-skip").checked) });
  return api("/imports?" + q, { method: "POST", body: fd });
}

function showImportErrors(e) {
  const rows = e.rows || [];
  $("#import-result").innerHTML = `<p class="error" role="alert">${esc(e.message)}</p>` + (rows.length ? `
    <div class="table-wrap"><table class="list" id="import-errors"><thead><tr><th>文件</th><th>行</th><th>列</th><th>问题</th></tr></thead><tbody>
    ${rows.map((r) => `<tr><td>${esc(r.file)}</td><td>${esc(r.line)}</td><td>${esc(r.column)}</td><td>${esc(r.message)}</td></tr>`).join("")}
    </tbody></table></div>` : "");
}

function describeImport(r) {
  const parts = (o) => Object.entries(o).map(([k, v]) => `${{ needs: "需求", actors: "资源", communities: "社区", feedback: "回访", assignments: "安排" }[k] || k} ${v} 条`).join("，") || "无";
  return `新增：${parts(r.added)}；更新：${parts(r.updated)}` + (r.skipped.length ? `；跳过有错误的行 ${r.skipped.length} 处` : "");
}

// Warnings never stop an import: a fund whose text implies a restriction its cells do not state.
const importWarnings = (r) => (r.warnings || []).length
  ? `<ul class="warnings">${r.warnings.map((w) => `<li class="warn">提示（${esc(w.file)} 第 ${esc(w.line)} 行，${esc(w.column)} 列）：${esc(w.message)}</li>`).join("")}</ul>` : "";

async function checkImport(ev) {
  ev.preventDefault();
  $("#import-confirm").disabled = true;
  try {
    const r = await sendImport(true);
    if (!r) return;
    $("#import-result").innerHTML = `<p class="badge ok">校验通过</p><p>${esc(describeImport(r))}</p>${importWarnings(r)}`;
    $("#import-confirm").disabled = false;
  } catch (e) { showImportErrors(e); }
}

async function confirmImport() {
  $("#import-confirm").disabled = true;
  try {
    const r = await sendImport(false);
    $("#import-result").innerHTML = `<p class="badge ok">已导入</p><p>${esc(describeImport(r))}</p>${importWarnings(r)}`;
    toast("导入完成");
  } catch (e) { showImportErrors(e); }
}

async function exportList(what) {
  const enc = $("#export-gbk").checked ? "gbk" : "utf-8";
  try {
    const r = await api(`/exports/${what}.csv?encoding=${enc}`, { raw: true });
    const blob = await r.blob();
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob); a.download = `${what}.csv`;
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 5000);
  } catch (e) { toast(e.message, true); }
}

/* ---------- re-match ---------- */

const STAGE_ZH = { queued: "排队中", load: "读取数据", fit: "建立模型", candidates: "筛选候选",
  write: "写入结果", done: "完成" };

async function startRun() {
  $("#run-start").disabled = true;
  try {
    const run = await api("/runs", { method: "POST" });
    await pollRun(run.run_id);
  } catch (e) { toast(e.message, true); $("#run-start").disabled = false; }
}

async function pollRun(runId) {
  clearTimeout(state.runTimer);
  const run = await api("/runs/" + encodeURIComponent(runId));
  $("#run-progress").hidden = run.status !== "running";
  $("#run-bar").value = run.progress;
  $("#run-stage").textContent = `${STAGE_ZH[run.stage] || run.stage} ${Math.round(run.progress * 100)}%`;
  if (run.status === "running") {
    state.runTimer = setTimeout(() => pollRun(runId).catch((e) => toast(e.message, true)), 700);
    return;
  }
  $("#run-start").disabled = false;
  await renderRun(run);
}

async function loadLatestRun() {
  try {
    const run = await api("/runs/latest");
    if (run.status === "running") { $("#run-start").disabled = true; await pollRun(run.run_id); }
    else await renderRun(run);
  } catch (e) {
    if (e.status === 404) $("#run-summary").innerHTML = '<p class="muted">还没有运行过重新匹配。</p>';
    else throw e;
  }
}

async function renderRun(run) {
  const box = $("#run-summary");
  if (run.status !== "succeeded") {
    box.innerHTML = `<div class="card"><h2>任务 ${esc(run.run_id)}</h2><p class="error">${esc({ failed: "运行失败", interrupted: "运行中断" }[run.status] || run.status)}：${esc(run.error)}</p></div>`;
    return;
  }
  const s = run.summary;
  const un = await api(`/runs/${encodeURIComponent(run.run_id)}/unassigned`);
  const slots = Object.entries(s.slots).map(([r, x]) =>
    `<div class="kpi">${esc(label.role(r))}<b>${x.filled} / ${x.wanted}</b>已安排 / 需要</div>`).join("");
  const diff = s.diff ? `<p>与上次相比：保持 ${s.diff.kept}，变更 ${s.diff.changed}，新增 ${s.diff.added}，撤下 ${s.diff.dropped}</p>` : "<p class=\"muted\">这是第一次匹配，没有可比较的上次结果。</p>";
  const reasons = Object.entries(s.unassigned_by_reason).map(([k, v]) => `<li>${esc(label.reason(k))}：${v}</li>`).join("");
  box.innerHTML = `<div class="card" id="run-result"><h2>匹配结果（${esc(run.run_id)}，${esc((run.finished_at || "").replace("T", " ").slice(0, 19))}）</h2>
    <div class="kpis">${slots}
      <div class="kpi">紧急需求完全满足<b>${s.urgent_needs.fully_served} / ${s.urgent_needs.total}</b></div>
      <div class="kpi">困难群体需求完全满足<b>${s.vulnerable_needs.fully_served} / ${s.vulnerable_needs.total}</b></div></div>
    ${diff}
    <h3>未能满足的原因</h3><ul>${reasons || "<li>全部满足</li>"}</ul>
    <h3>缺口最大的（类别｜社区）</h3><ul>${Object.entries(s.shortage_by_category_community).slice(0, 8).map(([k, v]) => {
      const [cat, cid] = k.split("|");
      const c = state.me.communities.find((x) => x.community_id === cid);
      return `<li>${esc(label.category(cat))}｜${esc(c ? c.name : cid)}：缺 ${v}</li>`; }).join("") || "<li>无</li>"}</ul>
    <h3>本站未满足的岗位</h3>
    <div class="table-wrap"><table class="list"><thead><tr><th>需求</th><th>角色</th><th>缺少</th><th>原因</th></tr></thead><tbody>
    ${un.map((u) => `<tr><td data-label="需求"><a href="#need/${encodeURIComponent(u.need_id)}">${esc(u.need_id)}</a></td><td data-label="角色">${esc(label.role(u.role))}</td><td data-label="缺少">${esc(u.missing)}</td><td data-label="原因">${esc(label.reason(u.reason))}</td></tr>`).join("") || '<tr><td colspan="4">本站需求全部安排</td></tr>'}
    </tbody></table></div></div>`;
}

/* ---------- dashboard ---------- */

function chart(id, config) {
  if (state.charts[id]) state.charts[id].destroy();
  if (!window.Chart) return;
  config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false,
    plugins: { legend: { position: "bottom" } } }, config.options || {});
  state.charts[id] = new window.Chart(document.getElementById(id), config);
}

async function renderDashboard() {
  const r = await api("/reports/linkage");
  const share = r.share_served_by_role;
  $("#dash-kpis").innerHTML = [
    ["需求总数", r.needs],
    ...Object.entries(share).filter(([, v]) => v !== null).map(([k, v]) => [`${label.role(k)}满足率`, `${Math.round(v * 100)}%`]),
    ["匹配用时中位数", r.time_to_match_hours.median === null ? "—" : `${r.time_to_match_hours.median} 小时`],
    ["满意度", r.satisfaction.mean === null ? "—" : `${r.satisfaction.mean} / 5`],
  ].map(([k, v]) => `<div class="kpi">${esc(k)}<b>${esc(v)}</b></div>`).join("");
  chart("chart-category", { type: "bar", data: {
    labels: r.by_category.map((c) => c.category_zh),
    datasets: [{ label: "已满足", data: r.by_category.map((c) => c.served), backgroundColor: "#2e7d32" },
      { label: "未满足", data: r.by_category.map((c) => c.unserved), backgroundColor: "#e0a100" }] },
    options: { scales: { x: { stacked: true }, y: { stacked: true, ticks: { precision: 0 } } } } });
  chart("chart-shortage", { type: "bar", data: {
    labels: r.by_community.map((c) => c.name),
    datasets: [{ label: "待匹配", data: r.by_community.map((c) => c.open), backgroundColor: "#e0a100" },
      { label: "其中紧急", data: r.by_community.map((c) => c.urgent_open), backgroundColor: "#b3261e" }] },
    options: { scales: { y: { ticks: { precision: 0 } } } } });
  const kinds = Object.keys(r.actor_load);
  const bucket = (x) => { const u = x.load / Math.max(x.capacity, 1); return u === 0 ? 0 : u < 0.5 ? 1 : u < 1 ? 2 : 3; };
  const names = ["空闲", "不足一半", "过半", "满员"];
  const colors = ["#90a4ae", "#64b5f6", "#1e88e5", "#b3261e"];
  chart("chart-load", { type: "bar", data: {
    labels: kinds.map((k) => `${label.role(k)}（基尼 ${r.actor_load[k].gini}）`),
    datasets: names.map((nm, i) => ({ label: nm, backgroundColor: colors[i],
      data: kinds.map((k) => r.actor_load[k].actors.filter((x) => bucket(x) === i).length) })) },
    options: { indexAxis: "y", scales: { x: { stacked: true, ticks: { precision: 0 } }, y: { stacked: true } } } });
  chart("chart-funds", { type: "bar", data: {
    labels: r.funds.map((f) => f.name),
    datasets: [{ label: "已用（元）", data: r.funds.map((f) => f.used_yuan), backgroundColor: "#6a1b9a" },
      { label: "可用（元）", data: r.funds.map((f) => f.available_yuan), backgroundColor: "#ce93d8" }] },
    options: { indexAxis: "y", scales: { x: { stacked: true }, y: { stacked: true } } } });
}

/* ---------- wiring ---------- */

document.addEventListener("DOMContentLoaded", () => {
  $("#signin-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("#signin-error").textContent = "";
    try { await signIn($("#key").value.trim()); $("#key").value = ""; }
    catch (e) { $("#signin-error").textContent = e.message; }
  });
  $("#signout").addEventListener("click", signOut);
  $("#filters").addEventListener("submit", (ev) => { ev.preventDefault(); loadNeeds().catch((e) => toast(e.message, true)); });
  $("#needs-table").addEventListener("click", (ev) => {
    const tr = ev.target.closest("tr[data-id]");
    if (tr && !ev.target.closest("a")) location.hash = "#need/" + encodeURIComponent(tr.dataset.id);
  });
  $("#needs-table").addEventListener("keydown", (ev) => {
    const tr = ev.target.closest("tr[data-id]");
    if (tr && ev.key === "Enter") location.hash = "#need/" + encodeURIComponent(tr.dataset.id);
  });
  $("#need-detail").addEventListener("click", onNeedAction);
  $("#infer-btn").addEventListener("click", () => inferNew().catch((e) => toast(e.message, true)));
  $("#new-form").addEventListener("submit", saveNew);
  $("#actor-filters").addEventListener("submit", (ev) => { ev.preventDefault(); loadActors().catch((e) => toast(e.message, true)); });
  $("#import-form").addEventListener("submit", checkImport);
  $("#import-files").addEventListener("change", () => { $("#import-confirm").disabled = true; $("#import-result").innerHTML = ""; });
  $("#import-confirm").addEventListener("click", confirmImport);
  for (const b of $$("[data-export]")) b.addEventListener("click", () => exportList(b.dataset.export));
  $("#run-start").addEventListener("click", startRun);
  window.addEventListener("hashchange", route);
  if (state.key) signIn(state.key).catch(() => signOut());
  else show("signin");
});
