// A Connect-protocol client in a few lines: every OnePool RPC is POST /<package>.<Service>/<Method> with a JSON
// body (proto3 JSON: lowerCamelCase fields, int64 as strings, enums by name). A failed call answers a non-200
// status and {"code", "message", "details"}; we raise it as a ConnectError with the same code.
// The same calls work from @connectrpc/connect-web's createConnectTransport with generated clients.

export class ConnectError extends Error {
  constructor(code, message, details = []) {
    super(message || code);
    this.code = code;
    this.details = details;
  }
}

export function client(token, { baseUrl = "", timeoutMs = 15000 } = {}) {
  return async function call(service, method, request = {}) {
    let response;
    try {
      response = await fetch(`${baseUrl}/${service}/${method}`, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "Connect-Protocol-Version": "1",
          "Connect-Timeout-Ms": String(timeoutMs),
          Authorization: `Bearer ${token}`,
        },
        body: JSON.stringify(request),
      });
    } catch (e) {
      throw new ConnectError("unavailable", `the gateway cannot be reached: ${e.message}`);
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new ConnectError(body.code || "unknown", body.message || response.statusText, body.details || []);
    }
    return body;
  };
}

// The claims of a JWT, read (not verified: the services verify it on every call) to know which dealer it names.
export function claims(token) {
  const part = token.split(".")[1];
  if (!part) throw new Error("this is not a JWT");
  const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
  return JSON.parse(json);
}
