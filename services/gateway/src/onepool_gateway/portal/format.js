// How the portal writes amounts and times: the browser's Intl data decides, not assumptions in this file.

const moneyFormats = new Map();

// A common.v1.Money (proto3 JSON: amountMinor an int64 string, left out when zero) in its currency, with as
// many decimals as the currency's ISO 4217 minor unit has (JPY 0, CNY 2, KWD 3), which Intl knows. A Money
// that names no currency is shown in `fallbackCurrency`; with neither, no amount at all: its decimals, and so
// its value, would be a guess.
export function money(m, fallbackCurrency = "") {
  const currency = (m && m.currency) || fallbackCurrency;
  if (!currency) return "—";
  if (!moneyFormats.has(currency)) {
    moneyFormats.set(currency, new Intl.NumberFormat("en", { style: "currency", currency, currencyDisplay: "code" }));
  }
  const format = moneyFormats.get(currency);
  const exponent = format.resolvedOptions().maximumFractionDigits;
  // A decimal string rather than minor / 10 ** exponent: Intl reads it exactly, so no int64 loses digits.
  return format.format(`${(m && m.amountMinor) || 0}e-${exponent}`);
}

export const when = (ts) =>
  ts ? new Date(ts).toLocaleString("en-GB", { dateStyle: "short", timeStyle: "short" }) : "";
