// The one door to the Wild Rydes REST API for every page: the same-origin session, the
// CSRF header, JSON in and out, and failures turned into sentences a person understands.

(() => {
  "use strict";

  const NETWORK_PROBLEM = "We could not reach Wild Rydes. Check your connection and try again.";
  const TIMED_OUT = "Wild Rydes did not answer in time. Check your connection and try again.";
  const SERVER_PROBLEM = "Something went wrong on our side. Please try again in a moment.";
  const SESSION_ENDED = "Your session has ended.";
  const PAGE_EXPIRED = "This page has expired for your safety. Reload it and try again.";
  const CHECK_FIELDS = "Please check the highlighted fields.";
  const NOT_SIGNED_IN = "Authentication credentials were not provided.";
  // Said for answers that are not the API's own (see gatewaySentence).
  const TOO_BUSY = "Wild Rydes is very busy right now. Please try again in a moment.";
  const REFUSED = "Wild Rydes could not take this request. Reload the page and try again.";
  const UNEXPECTED = "Something unexpected happened. Please try again.";

  class ApiError extends Error {
    constructor(message, { status = 0, fields = {}, retryAfter = null, gateway = false } = {}) {
      super(message);
      this.name = "ApiError";
      this.status = status; // 0: the request never got an answer
      this.fields = fields; // {field: ["sentence", ...]} from the API's validation errors
      this.retryAfter = retryAfter; // seconds, from a Retry-After header
      this.gateway = gateway; // answered on the way (a gateway, a proxy), not by the API itself
    }
  }

  function csrfToken() {
    // Read on every call: Django rotates the token when someone signs in.
    for (const part of document.cookie.split(";")) {
      const [name, ...value] = part.trim().split("=");
      if (name === "csrftoken") return decodeURIComponent(value.join("="));
    }
    return "";
  }

  function newIdempotencyKey() {
    if (window.crypto?.randomUUID) return window.crypto.randomUUID();
    const bytes = window.crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function flatten(value) {
    if (Array.isArray(value)) return value.flatMap(flatten);
    if (value && typeof value === "object") return Object.values(value).flatMap(flatten);
    return value == null ? [] : [String(value)];
  }

  // The API's own errors are {"detail": "..."} or {field: ["...", ...]}. What answers in its
  // place on the way (API Gateway: 502 "Internal server error" when the function crashed, 504
  // "Endpoint request timed out", 429 "Too Many Requests" when the stage is throttled, 403
  // "Forbidden"; a CDN's HTML page; nothing at all) is {"message": "..."} or no JSON: its
  // words are the gateway's, not for a rider, and it names no field. Said by its status.
  function isGatewayAnswer(data) {
    if (data == null) return true;
    if (typeof data !== "object" || Array.isArray(data)) return true;
    const keys = Object.keys(data);
    return keys.length > 0 && keys.every((key) => /^message$/i.test(key) && typeof data[key] === "string");
  }

  function gatewaySentence(status) {
    if (status === 429) return TOO_BUSY;
    if (status >= 500) return SERVER_PROBLEM;
    if (status === 403) return REFUSED;
    return UNEXPECTED;
  }

  function errorFrom(response, data) {
    const { status } = response;
    const retry = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
    const retryAfter = Number.isFinite(retry) && retry > 0 ? retry : null;
    const body = data && typeof data === "object" && !Array.isArray(data) ? data : {};
    const detail = typeof body.detail === "string" ? body.detail : "";

    if (status === 401 || (status === 403 && detail === NOT_SIGNED_IN)) {
      // Tokens and sessions end: tell the page (the header switches to "Sign in").
      document.dispatchEvent(new CustomEvent("wildrydes:session-ended"));
      return new ApiError(SESSION_ENDED, { status: 401 });
    }
    if (status === 403 && detail.startsWith("CSRF")) return new ApiError(PAGE_EXPIRED, { status });
    if (isGatewayAnswer(data)) {
      let message = gatewaySentence(status);
      if (retryAfter) {
        const when = `in ${retryAfter} second${retryAfter === 1 ? "" : "s"}.`;
        message = message.endsWith("in a moment.") ? message.replace(/in a moment\.$/, when) : `${message} Try again ${when}`;
      }
      return new ApiError(message, { status, retryAfter, gateway: true });
    }

    const fields = {};
    for (const [name, value] of Object.entries(body)) {
      if (name !== "detail") fields[name] = flatten(value);
    }
    const general = fields.non_field_errors ?? [];
    let message = detail || general.join(" ");
    if (!message) message = status >= 500 ? SERVER_PROBLEM : Object.keys(fields).length ? CHECK_FIELDS : SERVER_PROBLEM;
    if (retryAfter && !/try again/i.test(message)) message += ` Try again in ${retryAfter} seconds.`;
    return new ApiError(message, { status, fields, retryAfter });
  }

  // undefined: a body that is not JSON (an HTML error page from a proxy, or JSON cut off on
  // the way); null: no body at all.
  async function readJson(response) {
    const text = await response.text();
    if (!text) return null;
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  }

  // timeoutMs (optional): stop waiting after that long, as if no answer came (status 0: the
  // server may still do what was asked). Without it, the browser's own limit (minutes).
  async function request(url, { method = "GET", body, headers = {}, timeoutMs = 0 } = {}) {
    const init = { method, credentials: "same-origin", headers: { Accept: "application/json", ...headers } };
    if (method !== "GET" && method !== "HEAD") init.headers["X-CSRFToken"] = csrfToken();
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const timeout = timeoutMs > 0 ? new AbortController() : null;
    const timer = timeout && setTimeout(() => timeout.abort(), timeoutMs);
    if (timeout) init.signal = timeout.signal;
    let response;
    let data;
    try {
      response = await fetch(url, init);
      data = await readJson(response);
    } catch {
      throw new ApiError(timeout?.signal.aborted ? TIMED_OUT : NETWORK_PROBLEM);
    } finally {
      clearTimeout(timer);
    }
    if (response.ok) {
      // A success whose body was cut off (the connection dropped on the way), or is not the
      // API's: what was asked may have been done, but its answer is lost. Said, and retried,
      // as a request that got no answer (a booking's retry keeps its Idempotency-Key).
      if (data === undefined) throw new ApiError(NETWORK_PROBLEM);
      return data;
    }
    throw errorFrom(response, data);
  }

  const api = {
    get: (url, options = {}) => request(url, { ...options, method: "GET" }),
    post: (url, body, options = {}) => request(url, { ...options, method: "POST", body }),
  };

  window.WildRydes = Object.assign(window.WildRydes || {}, {
    NETWORK_PROBLEM,
    ApiError,
    csrfToken,
    newIdempotencyKey,
    request,
    api,
  });
})();
