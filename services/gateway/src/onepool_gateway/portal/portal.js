// The reference dealer portal: everything below goes through the Connect API (connect.js), with the dealer's
// own token. The services decide what the token may see; the page only asks for its own dealer's data.
import { client, claims } from "./connect.js";
import { money as formatMoney, when } from "./format.js";
import { BUSINESS_TIME_ZONE, businessDate, businessMonth } from "./calendar.js";

const DEALERS = "onepool.dealers.v1.DealerService";
const INVENTORY = "onepool.inventory.v1.InventoryService";
const ORDERS = "onepool.orders.v1.OrderService";
const SETTLEMENT = "onepool.settlement.v1.SettlementService";
const POLL_MS = 5000;
// The most SKUs one GetAvailability answers (inventory's line limit, as for every request with lines).
const AVAILABILITY_MAX_SKUS = 500;

const $ = (id) => document.getElementById(id);
let session = null; // { call, dealerId, currency, statement: { id, start, end } | null }
let poller = null;

// --- formatting -----------------------------------------------------------------------------------------------
const money = (m) => formatMoney(m, session && session.currency); // its currency, should a Money lack one
const status = (value, prefix) => (value || "").replace(prefix, "");
const lines = (ls) => (ls || []).map((l) => `${l.quantity || 0} × ${l.sku}`).join(", ");

function cell(content, className) {
  const td = document.createElement("td");
  if (content instanceof Node) td.append(content);
  else td.textContent = content ?? "";
  if (className) td.className = className;
  return td;
}

function fill(tbody, rows, columns, empty) {
  tbody.replaceChildren();
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = cell(empty, "empty");
    td.colSpan = columns;
    tr.append(td);
    tbody.append(tr);
    return;
  }
  for (const cells of rows) {
    const tr = document.createElement("tr");
    tr.append(...cells);
    tbody.append(tr);
  }
}

function badge(text) {
  const span = document.createElement("span");
  span.className = `status ${text}`;
  span.textContent = text;
  return span;
}

function showError(error) {
  $("error").textContent = error ? `${error.code || "error"}: ${error.message}` : "";
  $("error").hidden = !error;
}

// --- the sections ---------------------------------------------------------------------------------------------
async function loadOverview() {
  const o = await session.call(DEALERS, "GetDealerOverview", { dealerId: session.dealerId });
  $("ov-sales").textContent = money(o.salesInPeriod);
  $("ov-balance").textContent = money(o.balance);
  $("ov-credit").textContent = money(o.creditAvailable);
  $("ov-orders").textContent = o.openOrders || 0;
  $("ov-units").textContent = o.unitsInStock || 0;
  $("ov-inbound").textContent = o.inboundUnits || 0;
  // The cards are the credit currency's; what the dealer sold and earned in any other currency (a USD channel
  // or marketplace order) is only here, each amount in its own currency, never converted.
  const rows = (o.currencies || []).map((f) => [
    cell(f.currency),
    ...[f.salesInPeriod, f.incomeCounted, f.incomeHeld].map((m) => cell(formatMoney(m, f.currency), "num")),
  ]);
  fill($("currency-rows"), rows, 4, "Nothing yet.");
}

// Every page of a list RPC, following next_page_token (`field`: the reply's repeated field).
async function allPages(service, method, request, field) {
  const items = [];
  let pageToken = "";
  do {
    const reply = await session.call(service, method, { ...request, pageToken });
    items.push(...(reply[field] || []));
    pageToken = reply.nextPageToken || "";
  } while (pageToken);
  return items;
}

async function loadReplenishments() {
  // The newest 50, and every one still to receive however old (its Receive button must not scroll away).
  const reply = await session.call(DEALERS, "ListReplenishments", { dealerId: session.dealerId, pageSize: 50 });
  const list = reply.replenishments || [];
  const shown = new Set(list.map((r) => r.id));
  const shipped = await allPages(
    DEALERS,
    "ListReplenishments",
    { dealerId: session.dealerId, status: "REPLENISHMENT_STATUS_SHIPPED", pageSize: 100 },
    "replenishments",
  );
  list.push(...shipped.filter((r) => !shown.has(r.id)));
  const rows = list.map((r) => {
    const state = status(r.status, "REPLENISHMENT_STATUS_");
    let action = "";
    if (state === "SHIPPED") {
      action = document.createElement("button");
      action.type = "button";
      action.textContent = "Receive";
      action.onclick = () => run(async () => {
        await session.call(DEALERS, "ReceiveReplenishment", { id: r.id });
        await refresh();
      });
    }
    const row = [cell(when(r.createdAt)), cell(r.id), cell(lines(r.lines)), cell(money(r.total), "num"), cell(badge(state)), cell(action)];
    row[1].dataset.replenishment = r.id;
    return row;
  });
  fill($("replenishment-rows"), rows, 6, "No replenishments yet.");
  return list;
}

async function loadStock(replenishments) {
  const { locations = [] } = await session.call(INVENTORY, "ListLocations", { ownerDealerId: session.dealerId });
  const select = $("replenish-form").elements.to;
  const chosen = select.value;
  select.replaceChildren(...locations.map((l) => new Option(`${l.name} (${l.id})`, l.id)));
  if (chosen) select.value = chosen;

  // The SKUs to show: every stock level at the dealer's locations, and what is on its way there.
  const skus = new Set();
  for (const l of locations) {
    const levels = await allPages(INVENTORY, "ListStockLevels", { locationId: l.id, pageSize: 500 }, "levels");
    levels.forEach((level) => skus.add(level.sku));
  }
  replenishments.forEach((r) => (r.lines || []).forEach((l) => skus.add(l.sku)));

  let rows = [];
  if (locations.length && skus.size) {
    const sorted = [...skus].sort();
    const items = [];
    for (let i = 0; i < sorted.length; i += AVAILABILITY_MAX_SKUS) {
      const reply = await session.call(INVENTORY, "GetAvailability", {
        skus: sorted.slice(i, i + AVAILABILITY_MAX_SKUS),
        locationIds: locations.map((l) => l.id),
      });
      items.push(...(reply.items || []));
    }
    const names = Object.fromEntries(locations.map((l) => [l.id, l.name]));
    rows = items.flatMap((item) =>
      (item.byLocation || []).map((b) => [
        cell(names[b.locationId] || b.locationId),
        cell(item.sku),
        cell(b.onHand || 0, "num"),
        cell(b.reserved || 0, "num"),
        cell(b.available || 0, "num"),
        cell(b.inbound || 0, "num"),
      ]),
    );
  }
  fill($("stock-rows"), rows, 6, "No stock at your locations yet.");
}

async function loadOrders() {
  const { orders = [] } = await session.call(ORDERS, "ListOrders", { dealerId: session.dealerId, pageSize: 20 });
  const rows = orders.map((o) => [
    cell(when(o.createdAt)),
    cell(o.externalOrderId || o.id),
    cell(lines(o.lines)),
    cell(money(o.total), "num"),
    cell(badge(status(o.status, "ORDER_STATUS_"))),
  ]);
  fill($("order-rows"), rows, 5, "No orders yet.");
}

// This month so far, in the dealer's trading currency: the brand's business month (calendar.js), wherever the
// browser is. Settlement stores every statement it generates, so the period ends just after the dealer's newest
// journal line of the month rather than now: until something new is posted, a login or a Refresh asks the very
// same question under the same request_id, and settlement replays its first answer instead of storing another.
async function loadStatement() {
  const now = new Date();
  const { start, end: monthEnd } = businessMonth(now);
  $("statement-period").textContent = `${businessDate(start)} – ${businessDate(now)} (${BUSINESS_TIME_ZONE})`;
  const shown = session.statement;
  const current = shown && shown.start.getTime() === start.getTime();
  const newest = await newestPosting(current ? shown.end : start, monthEnd);
  if (current && !newest) return; // nothing posted since the statement shown was generated
  const end = new Date((newest || start).getTime() + 1);
  const party = `dealer:${session.dealerId}`;
  const { statement } = await session.call(SETTLEMENT, "GenerateStatement", {
    requestId: `statement:${party}:${session.currency}:${start.getTime()}-${end.getTime()}`,
    party,
    currency: session.currency,
    periodStart: start.toISOString(),
    periodEnd: end.toISOString(),
  });
  session.statement = { id: statement.id, start, end };
  $("statement-opening").textContent = money(statement.opening);
  $("statement-closing").textContent = money(statement.closing);
  const rows = (statement.lines || []).map((l) => [
    cell(when(l.entry.createdAt)),
    cell(l.entry.account),
    cell(l.entry.memo),
    cell(money(l.entry.amount), "num"),
    cell(money(l.runningBalance), "num"),
  ]);
  fill($("statement-rows"), rows, 5, "Nothing posted this month.");
}

// When the dealer's newest journal line posted in [since, before) was posted, or null when there is none.
// `before` is the month's end: a line the server posted after it (its clock ahead of the browser's) is next
// month's, and must not stretch this month's statement into it.
async function newestPosting(since, before) {
  const entries = await allPages(
    SETTLEMENT,
    "ListEntries",
    {
      party: `dealer:${session.dealerId}`,
      currency: session.currency,
      from: since.toISOString(),
      to: before.toISOString(),
      pageSize: 500,
    },
    "entries",
  );
  return entries.length ? new Date(Math.max(...entries.map((e) => Date.parse(e.createdAt)))) : null;
}

async function downloadCsv() {
  const file = await session.call(SETTLEMENT, "ExportStatement", {
    statementId: session.statement && session.statement.id,
    format: "STATEMENT_FORMAT_CSV",
  });
  const bytes = Uint8Array.from(atob(file.content || ""), (c) => c.charCodeAt(0));
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([bytes], { type: file.contentType || "text/csv" }));
  link.download = file.filename || "statement.csv";
  document.body.append(link);
  link.click();
  link.remove();
}

async function refresh({ statement = false } = {}) {
  await loadOverview();
  const replenishments = await loadReplenishments();
  await loadStock(replenishments);
  await loadOrders();
  if (statement) await loadStatement();
}

// What the user did: its error stays until the user's next action (a poll does not clear it). Cleared when the
// next action starts, not when one ends: an earlier action still loading (the login's first refresh) must not
// clear the error of one the user started after it.
async function run(action) {
  showError(null);
  try {
    await action();
  } catch (error) {
    pollError = false; // shown now is this action's error: the next good poll leaves it
    failed(error);
  }
}

// The background refresh: its own errors are shown, and cleared by its next success.
let pollError = false;
async function poll() {
  if (!session) return;
  try {
    await refresh({ statement: !session.statement });
    if (pollError) showError(null);
    pollError = false;
  } catch (error) {
    if (!session) return; // logged out meanwhile: what failed was reading a session that is gone
    pollError = true;
    failed(error);
  }
}

function failed(error) {
  if (error.code === "unauthenticated") {
    logout(); // the token expired or was revoked: back to the login form (and the saved token forgotten)
    error = Object.assign(new Error(`${error.message}: log in again`), { code: error.code });
  }
  showError(error);
}

// --- log in and out -------------------------------------------------------------------------------------------
async function login(token) {
  const who = claims(token);
  if (who.role !== "dealer" || !who.dealer_id) {
    throw Object.assign(new Error("this portal needs a dealer token"), { code: "permission_denied" });
  }
  const call = client(token);
  const { dealer } = await call(DEALERS, "GetDealer", { dealerId: who.dealer_id });
  const currency = (dealer.creditLimit && dealer.creditLimit.currency) || ""; // its trading currency
  session = { call, dealerId: who.dealer_id, currency, statement: null };
  sessionStorage.setItem("onepool-token", token);
  $("dealer-name").textContent = `${dealer.name} (${dealer.id})`;
  $("login").hidden = true;
  $("who").hidden = false;
  $("portal").hidden = false;
  // Polling starts first: a failed first load (one unavailable service) is tried again, statement included.
  poller = setInterval(poll, POLL_MS);
  await refresh({ statement: true });
}

function logout() {
  clearInterval(poller);
  session = null;
  sessionStorage.removeItem("onepool-token");
  $("portal").hidden = true;
  $("who").hidden = true;
  $("login").hidden = false;
}

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  run(() => login($("token").value.trim()));
});
$("logout").addEventListener("click", logout);
$("refresh").addEventListener("click", () => run(() => refresh({ statement: true })));
$("download").addEventListener("click", () => run(downloadCsv));
// A replenishment whose answer never came (the network dropped it, the call timed out) may have been placed: the
// dealer's next click on the same form is the same request under the same request_id, so the dealers service
// answers it as placed instead of placing it twice. A changed form is a new request.
let unanswered = null; // { key, requestId }
$("replenish-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target.elements;
  run(async () => {
    const request = {
      dealerId: session.dealerId,
      fromLocationId: form.from.value.trim(),
      toLocationId: form.to.value,
      lines: [{ sku: form.sku.value.trim(), quantity: Number(form.quantity.value) }],
    };
    const key = JSON.stringify(request);
    if (!unanswered || unanswered.key !== key) unanswered = { key, requestId: crypto.randomUUID() };
    await session.call(DEALERS, "PlaceReplenishment", { requestId: unanswered.requestId, ...request });
    unanswered = null;
    await refresh();
  });
});

const saved = sessionStorage.getItem("onepool-token");
if (saved) run(() => login(saved));
