// Shopstream recommendations as a custom element: <shopstream-recs placement="product" sku="...">.
// Plain JavaScript, no framework, no wasm, and its own file (the package's "./widget" entry): a page
// that shows no recommendations never loads it, and the tracker's size is untouched. It asks the
// recommendations API, renders in its own Shadow DOM, and tracks impressions (once per answer, when at
// least half of it is on screen) and clicks through the tracker on the page (`window.shopstream`), if
// any. When the API fails, is slow or has nothing to show, the element hides itself completely.

const TAG = "shopstream-recs";
const HEADINGS = { home: "Recommended for you", product: "Customers also viewed", cart: "You may also like" };
const DEFAULT_LIMIT = 4;
const MAX_LIMIT = 20;
const TIMEOUT_MS = 3000; // the API's answer is awaited this long; then the block hides
const STUB_WAIT_MS = 3000; // the snippet's queue stub is there: its tracker is awaited this long
const NONE_WAIT_MS = 300; // no tracker at all: a tracker loaded just after the widget is awaited this long
const POLL_MS = 50;
const IMAGE_PX = 160; // the images' width/height attributes (their ratio; CSS sets the size)

// A global slot rather than a module variable: a page may hold two copies of this module (two
// bundles), and the one that defined the element must see the tracker given to the other.
const TRACKER = Symbol.for("shopstream-recs.tracker");

/**
 * The tracker the widgets read the shopper's ids from and track through. By default the one of the
 * script-tag snippet, `window.shopstream`; a shop that bundles the SDK passes its import here.
 */
export function setTracker(tracker) {
  globalThis[TRACKER] = tracker || null;
}

const tracker = () => globalThis[TRACKER] || globalThis.shopstream;
const usable = (t) => !!t && typeof t.identity === "function";

/** The tracker once it can tell who the shopper is, or null (none came in time). */
async function awaitTracker() {
  const start = Date.now();
  for (;;) {
    const t = tracker();
    if (usable(t)) return t;
    if (Date.now() - start >= (t ? STUB_WAIT_MS : NONE_WAIT_MS)) return null;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function track(type, properties) {
  const t = tracker();
  try {
    if (t && typeof t.track === "function") t.track(type, properties);
  } catch {
    // tracking must never break the widget
  }
}

// Without a tracker the home and cart placements still need a shopper id: one for this page only,
// stored nowhere (an unknown shopper gets what is trending).
let pageId = null;
function anonymousId(t) {
  try {
    const id = t && t.identity().anonymousId;
    if (typeof id === "string" && id) return id;
  } catch {
    // fall through to the page's id
  }
  return (pageId = pageId || Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => (b + 256).toString(16).slice(1)).join(""));
}

/** `value` as an http(s) URL, or null (a `javascript:` URL from the data must never become a link). */
function safeUrl(value) {
  if (typeof value !== "string" || !value) return null;
  try {
    const u = new URL(value, document.baseURI);
    return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
  } catch {
    return null;
  }
}

function priceLabel(item) {
  if (typeof item.price !== "number" || !Number.isFinite(item.price)) return "";
  const options = typeof item.currency === "string" && item.currency ? { style: "currency", currency: item.currency } : {};
  for (const locale of [document.documentElement.lang || undefined, undefined]) {
    try {
      return new Intl.NumberFormat(locale, options).format(item.price);
    } catch {
      // a bad locale tag, then a bad currency code
    }
  }
  return `${item.price}${item.currency ? ` ${item.currency}` : ""}`;
}

// Every size is fixed (image box, two lines of name, one of price), so the skeleton, the cards and
// the empty slots are the same height and nothing below the element moves when results arrive.
const CSS = `
:host{display:block;font-family:var(--shopstream-recs-font-family,inherit);color:var(--shopstream-recs-color,inherit)}
:host([hidden]){display:none!important}
h2{margin:0 0 .75rem;font-size:var(--shopstream-recs-heading-size,1.25rem);font-weight:var(--shopstream-recs-heading-weight,600);line-height:1.3;height:1.3em;overflow:hidden;white-space:nowrap;text-overflow:ellipsis}
h2[hidden]{display:none}
ul{display:grid;grid-auto-flow:column;grid-auto-columns:var(--shopstream-recs-card-width,10rem);gap:var(--shopstream-recs-gap,1rem);list-style:none;margin:-6px;padding:6px;overflow-x:auto;overscroll-behavior-x:contain}
li{min-width:0}
.card{display:block;box-sizing:border-box;width:100%;margin:0;padding:var(--shopstream-recs-card-padding,0);border:0;border-radius:var(--shopstream-recs-radius,8px);background:var(--shopstream-recs-card-background,transparent);color:inherit;font:inherit;text-align:start;text-decoration:none;cursor:pointer}
.card:focus-visible{outline:3px solid var(--shopstream-recs-focus-color,#1a73e8);outline-offset:2px}
.card:hover .name{text-decoration:underline}
.img{display:block;box-sizing:border-box;width:100%;height:auto;aspect-ratio:var(--shopstream-recs-image-ratio,1);object-fit:cover;border-radius:var(--shopstream-recs-radius,8px);background:var(--shopstream-recs-placeholder-color,#eee);margin-bottom:.5rem}
.name{display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:2;overflow:hidden;line-height:1.3;height:2.6em;font-size:var(--shopstream-recs-name-size,.95rem)}
.price{display:block;line-height:1.4;height:1.4em;overflow:hidden;white-space:nowrap;font-weight:600;color:var(--shopstream-recs-price-color,inherit)}
.skeleton .name,.skeleton .price{background:var(--shopstream-recs-placeholder-color,#eee);border-radius:4px}
.skeleton .price{width:40%;box-sizing:border-box;padding-top:.2em;background-clip:content-box}
@media (prefers-reduced-motion:no-preference){.skeleton{animation:pulse 1.2s ease-in-out infinite alternate}}
@keyframes pulse{to{opacity:.5}}
`;

// One constructed style sheet shared by every instance (allowed under a CSP without 'unsafe-inline');
// a <style> element where constructed sheets are not supported.
let sheet = null;
function style(root) {
  try {
    if (!sheet) (sheet = new CSSStyleSheet()).replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } catch {
    const s = document.createElement("style");
    s.textContent = CSS;
    root.append(s);
  }
}

const el = (name, className, part) => {
  const e = document.createElement(name);
  if (className) e.className = className;
  if (part) e.setAttribute("part", part);
  return e;
};

const Base = typeof HTMLElement === "undefined" ? class {} : HTMLElement; // importable where there is no DOM (SSR)

export class ShopstreamRecs extends Base {
  static get observedAttributes() {
    return ["placement", "sku", "limit", "endpoint", "heading"];
  }

  constructor() {
    super();
    const root = this.attachShadow({ mode: "open" });
    style(root);
    this._section = el("section", "", "container");
    this._heading = el("h2", "", "heading");
    this._heading.id = "h";
    this._list = el("ul", "", "list");
    this._list.setAttribute("role", "list"); // a list still, whatever list-style says
    this._section.append(this._heading, this._list);
    root.append(this._section);
    this._answer = null; // the answer shown
    this._items = []; // its items shown, in order
    this._generation = 0;
    this._abort = null;
    this._scheduled = false;
    this._visible = false;
    this._impressed = new Set(); // recommendation ids already tracked as impressions
    this._observer = null;
    const pick = (e) => this._pick(e);
    root.addEventListener("click", pick);
    root.addEventListener("auxclick", pick);
  }

  connectedCallback() {
    this._setHeading();
    if (!this._answer && !this.hidden) this._skeleton();
    if (!this._observer && typeof IntersectionObserver === "function") {
      this._observer = new IntersectionObserver((entries) => {
        const e = entries[entries.length - 1];
        this._visible = e.isIntersecting && e.intersectionRatio >= 0.5;
        this._impress();
      }, { threshold: [0, 0.5, 1] });
    }
    if (this._observer) this._observer.observe(this);
    if (!this._answer) this._schedule();
  }

  disconnectedCallback() {
    if (this._observer) this._observer.disconnect();
    this._visible = false;
    this._generation++; // a request in flight is dropped, not a failure: asked again if reconnected
    if (this._abort) this._abort.abort();
  }

  attributeChangedCallback(name, before, after) {
    if (before === after) return;
    if (name === "heading") this._setHeading();
    else this._schedule();
    if (name === "placement") this._setHeading();
  }

  get placement() { return this.getAttribute("placement") || ""; }
  set placement(v) { this.setAttribute("placement", v); }
  get sku() { return this.getAttribute("sku") || ""; }
  set sku(v) { v == null ? this.removeAttribute("sku") : this.setAttribute("sku", v); }
  get limit() {
    const n = Number(this.getAttribute("limit"));
    return this.hasAttribute("limit") && Number.isInteger(n) && n >= 1 && n <= MAX_LIMIT ? n : DEFAULT_LIMIT;
  }
  set limit(v) { this.setAttribute("limit", String(v)); }
  get endpoint() { return this.getAttribute("endpoint") || "/v1/recommendations"; }
  set endpoint(v) { v == null ? this.removeAttribute("endpoint") : this.setAttribute("endpoint", v); }
  get heading() { const h = this.getAttribute("heading"); return h != null ? h : HEADINGS[this.placement] || ""; }
  set heading(v) { v == null ? this.removeAttribute("heading") : this.setAttribute("heading", v); }
  /** The answer shown, or null. */
  get answer() { return this._answer; }

  /** Asks the API again (the shown items stay until the new answer); resolves with it, or null. */
  refresh() {
    const generation = ++this._generation;
    if (this._abort) this._abort.abort();
    return this._load(generation).catch((e) => this._fail(generation, { reason: String(e) }));
  }

  // Several attribute changes in one task ask once.
  _schedule() {
    if (this._scheduled || !this.isConnected) return;
    this._scheduled = true;
    queueMicrotask(() => {
      this._scheduled = false;
      if (this.isConnected) this.refresh();
    });
  }

  async _load(generation) {
    const placement = this.placement, sku = this.sku, limit = this.limit;
    if (!HEADINGS[placement]) return this._fail(generation, { reason: 'the placement attribute must be "home", "product" or "cart"' });
    if (placement === "product" && !sku) return this._fail(generation, { reason: 'placement="product" needs a sku attribute' });
    const t = await awaitTracker();
    if (generation !== this._generation) return null;
    // Only the anonymous id: a user id needs that user's token at the API.
    const url = new URL(this.endpoint, document.baseURI);
    url.searchParams.set("placement", placement);
    url.searchParams.set("anonymous_id", anonymousId(t));
    if (sku) url.searchParams.set("sku", sku);
    url.searchParams.set("limit", String(limit));
    const abort = (this._abort = new AbortController());
    const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
    let response, answer;
    try {
      response = await fetch(url, { signal: abort.signal, credentials: "omit" });
      if (!response.ok) return this._fail(generation, { reason: `the recommendations API answered ${response.status}`, status: response.status });
      answer = await response.json();
    } catch (e) {
      const reason = abort.signal.aborted ? `no answer within ${TIMEOUT_MS} ms`
        : response ? `the recommendations API's answer is not JSON: ${e}` : `the recommendations API is unreachable: ${e}`;
      return this._fail(generation, { reason });
    } finally {
      clearTimeout(timer);
    }
    if (generation !== this._generation) return null;
    const items = answer && Array.isArray(answer.items)
      ? answer.items.filter((i) => i && typeof i.sku === "string" && i.sku).slice(0, limit)
      : [];
    if (!items.length || typeof answer.recommendation_id !== "string") {
      return this._fail(generation, { reason: "no recommendations to show", answer });
    }
    this._answer = answer;
    this._items = items;
    this._render(limit);
    this._fire("load", answer);
    this._impress();
    return answer;
  }

  _fail(generation, detail) {
    if (generation !== this._generation) return null;
    this._answer = null;
    this._items = [];
    // Nothing at all: no box, no text, no height.
    this.hidden = true;
    this.style.display = "none"; // also against a site's own `shopstream-recs { display: block }`
    this._list.textContent = "";
    this._heading.textContent = "";
    this._section.removeAttribute("aria-busy");
    this._fire("error", detail);
    return null;
  }

  _show() {
    this.hidden = false;
    this.style.removeProperty("display");
  }

  _setHeading() {
    const text = this.heading;
    this._heading.textContent = text;
    this._heading.hidden = !text;
    if (text) this._section.setAttribute("aria-labelledby", "h");
    else this._section.removeAttribute("aria-labelledby");
  }

  /** Placeholder cards of the final size while the first answer is awaited. */
  _skeleton() {
    const limit = this.limit;
    this._section.setAttribute("aria-busy", "true");
    this._list.textContent = "";
    for (let i = 0; i < limit; i++) {
      const li = el("li");
      li.setAttribute("aria-hidden", "true");
      const card = el("div", "card skeleton");
      card.append(el("span", "img"), el("span", "name"), el("span", "price"));
      li.append(card);
      this._list.append(li);
    }
  }

  _render(limit) {
    this._show();
    this._setHeading();
    this._section.removeAttribute("aria-busy");
    const answer = this._answer;
    const rows = [];
    this._items.forEach((item, i) => {
      const href = safeUrl(item.url);
      const card = el(href ? "a" : "button", "card", "card");
      if (href) card.href = href;
      else card.type = "button";
      card.dataset.i = String(i);
      card.dataset.sku = item.sku;
      const name = typeof item.name === "string" && item.name ? item.name : item.sku;
      const src = safeUrl(item.image_url);
      let image;
      if (src) {
        image = el("img", "img", "image");
        image.src = src;
        image.alt = name;
        image.width = IMAGE_PX;
        image.height = IMAGE_PX;
        image.loading = "lazy";
        image.decoding = "async";
      } else {
        image = el("span", "img", "image");
      }
      const label = el("span", "name", "name");
      label.textContent = name;
      const price = el("span", "price", "price");
      price.textContent = priceLabel(item);
      card.append(image, label, price);
      const li = el("li");
      li.append(card);
      rows.push(li);
    });
    // Slots past the last item stay empty, so the row keeps its size.
    for (let i = this._items.length; i < limit; i++) {
      const li = el("li");
      li.setAttribute("aria-hidden", "true");
      rows.push(li);
    }
    this._list.replaceChildren(...rows);
    this.dataset.strategy = answer.strategy || "";
  }

  /** An impression per answer, once at least half of the element is on screen. */
  _impress() {
    const a = this._answer;
    const visible = this._observer ? this._visible : this.isConnected;
    if (!a || !visible || this._impressed.has(a.recommendation_id)) return;
    this._impressed.add(a.recommendation_id);
    track("recommendation_impression", {
      recommendation_id: a.recommendation_id,
      skus: this._items.map((i) => i.sku),
      placement: a.placement || this.placement,
      strategy: a.strategy,
    });
  }

  _pick(e) {
    if (e.type === "auxclick" && e.button !== 1) return;
    const card = e.target && e.target.closest && e.target.closest(".card[data-i]");
    const a = this._answer;
    if (!card || !a) return;
    const i = Number(card.dataset.i);
    const item = this._items[i];
    if (!item) return;
    const position = i + 1;
    track("recommendation_click", {
      recommendation_id: a.recommendation_id,
      sku: item.sku,
      position,
      placement: a.placement || this.placement,
      strategy: a.strategy,
    });
    // A click that opens a new tab or window navigates nowhere here: nothing for the page to route.
    if (e.type === "auxclick" || e.button || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    const proceed = this._fire("click", { sku: item.sku, position, recommendation_id: a.recommendation_id, item }, true);
    if (!proceed) e.preventDefault();
  }

  _fire(name, detail, cancelable = false) {
    return this.dispatchEvent(new CustomEvent(`${TAG}:${name}`, { detail, bubbles: true, composed: true, cancelable }));
  }
}

if (typeof customElements !== "undefined" && !customElements.get(TAG)) customElements.define(TAG, ShopstreamRecs);
