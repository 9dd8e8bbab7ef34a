// The brand's business calendar. "This month" is the month of the brand's books, which turn over at midnight
// where the brand trades: not at the browser's midnight (a dealer may look from anywhere) nor at UTC's (8 h late
// in Shanghai). Settlement takes instants, so the page turns that month into the instants it starts and ends at,
// with the browser's own Intl time-zone data (daylight saving included).

// The brand's business time zone (an IANA name). The portal is static files with nothing to configure it by: a
// brand trading elsewhere changes it here (docs/gateway.md).
export const BUSINESS_TIME_ZONE = "Asia/Shanghai";

const DAY_MS = 24 * 60 * 60 * 1000;
const readers = new Map();

// The calendar reading (year, month 1-12, day, hour, minute, second) of `instant` (ms) in `zone`.
function reading(instant, zone) {
  if (!readers.has(zone)) {
    const fields = { year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" };
    readers.set(zone, new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", ...fields }));
  }
  const parts = readers.get(zone).formatToParts(instant);
  return Object.fromEntries(parts.filter((p) => p.type !== "literal").map((p) => [p.type, Number(p.value)]));
}

// How far `zone`'s clocks are ahead of UTC at `instant` (a whole second), in ms.
function offset(instant, zone) {
  const r = reading(instant, zone);
  return Date.UTC(r.year, r.month - 1, r.day, r.hour, r.minute, r.second) - instant;
}

// The first instant of the day whose midnight reads `wall` (UTC ms of that reading) in `zone`. Across a clock
// change the offsets a day before and after differ: a midnight read twice is its first time; a midnight skipped
// (clocks put forward at 00:00) is the change itself, the day's first instant.
function midnight(wall, zone) {
  const candidates = [wall - offset(wall - DAY_MS, zone), wall - offset(wall + DAY_MS, zone)];
  const read = candidates.filter((t) => offset(t, zone) === wall - t);
  return read.length ? Math.min(...read) : Math.max(...candidates);
}

// The business month `now` is in: [start, end) as instants.
export function businessMonth(now, zone = BUSINESS_TIME_ZONE) {
  const { year, month } = reading(now.getTime(), zone);
  return {
    start: new Date(midnight(Date.UTC(year, month - 1, 1), zone)),
    end: new Date(midnight(Date.UTC(year, month, 1), zone)), // Date.UTC carries month 12 into January
  };
}

// The business date of `instant`, as YYYY-MM-DD.
export function businessDate(instant, zone = BUSINESS_TIME_ZONE) {
  const { year, month, day } = reading(instant.getTime(), zone);
  return [year, month, day].map((n, i) => String(n).padStart(i ? 2 : 4, "0")).join("-");
}
