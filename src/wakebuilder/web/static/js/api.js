// Thin fetch wrapper: JSON in and out, the API's {error, message, details} errors as ApiError.

const TOKEN_KEY = "wakebuilder.token";

export class ApiError extends Error {
  constructor(status, body) {
    const message = (body && body.message) || `Request failed (HTTP ${status})`;
    super(message);
    this.status = status;
    this.code = (body && body.error) || "http_error";
    this.details = (body && body.details) || {};
  }

  /** A one-paragraph explanation for people: the message plus useful details. */
  describe() {
    const parts = [this.message];
    const d = this.details || {};
    if (Array.isArray(d.fields) && d.fields.length) {
      const shown = d.fields.map((f) => `${f.field}: ${f.message}`).join("; ");
      if (!this.message.includes(shown)) parts.push(shown);
    }
    return parts.join(" — ");
  }
}

export function getToken() {
  try { return localStorage.getItem(TOKEN_KEY) || ""; } catch (_) { return ""; }
}

export function setToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token); else localStorage.removeItem(TOKEN_KEY);
  } catch (_) { /* private mode */ }
}

function headers(extra = {}) {
  const h = { ...extra };
  const token = getToken();
  if (token) h.Authorization = `Bearer ${token}`;
  return h;
}

async function parse(response) {
  const type = response.headers.get("content-type") || "";
  if (type.includes("application/json")) return response.json();
  return { message: (await response.text()).slice(0, 300) };
}

export async function request(method, path, { json, form, signal } = {}) {
  const init = { method, headers: headers(), signal };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (form !== undefined) {
    init.body = form;
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, { error: "network_error", message: "Cannot reach the WakeBuilder server. Is it still running?" });
  }
  if (!response.ok) throw new ApiError(response.status, await parse(response));
  if (response.status === 204) return null;
  return parse(response);
}

export const api = {
  get: (path, opts) => request("GET", path, opts),
  post: (path, opts) => request("POST", path, opts),
  del: (path, opts) => request("DELETE", path, opts),
};

function saveAs(href, filename) {
  const a = document.createElement("a");
  a.href = href;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

/** Download a URL that needs the token header as a file (plain links when there is none). */
export async function download(path, filename) {
  if (!getToken()) {
    saveAs(path, filename);
    return;
  }
  const response = await fetch(path, { headers: headers() });
  if (!response.ok) throw new ApiError(response.status, await parse(response));
  const url = URL.createObjectURL(await response.blob());
  saveAs(url, filename);
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function wsUrl(path, params = {}) {
  const url = new URL(path, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.toString();
}

/** WebSocket subprotocols: "wakebuilder", plus the token (base64url) when one is set.
 * The token travels in the Sec-WebSocket-Protocol header, never in the URL (which logs keep). */
export function wsProtocols() {
  const token = getToken();
  if (!token) return ["wakebuilder"];
  const bytes = new TextEncoder().encode(token);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  const b64 = btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return ["wakebuilder", `wakebuilder.token.${b64}`];
}

/** Open a WebSocket to the API (token, if any, as a subprotocol). */
export function openSocket(path, params = {}) {
  return new WebSocket(wsUrl(path, params), wsProtocols());
}
