/** Options of {@link init}. Sizes are bytes, times milliseconds. */
export interface InitOptions {
  /** The ingest URL, e.g. `"https://collect.example.com/v1/events"` or `"/v1/events"`. */
  endpoint: string;
  /** The site's public write key, sent as the `write_key` query parameter (required when the ingest has keys). */
  writeKey?: string;
  /** Send when this many events are waiting (1..=500, default 20). */
  flushAt?: number;
  /** Send at most this long after an event was queued (1..=600000, default 1000). */
  flushIntervalMs?: number;
  /** Largest request body (32768..=1048576, default 262144). */
  maxBatchBytes?: number;
  /** Events kept waiting at most; beyond it the oldest are dropped and reported (default 20000). */
  maxQueueEvents?: number;
  /** Called with every problem: invalid input, events the server rejected or dropped, a full queue. */
  onError?: (error: TrackerError) => void;
  /** Also log problems and each request to the console. */
  debug?: boolean;
  /** Send a `page_view` for the first page and each history change to a new URL (default true). */
  autoPageViews?: boolean;
  /** Store and send nothing until `setConsent(true)` (default false). */
  requireConsent?: boolean;
  /** Events tracked before consent: `"drop"` them (default) or `"keep"` them in memory until it is given. */
  beforeConsent?: "keep" | "drop";
  /** Track nothing when the browser sends Do Not Track or Global Privacy Control (default false). */
  respectDoNotTrack?: boolean;
  /** Share of shoppers tracked, 0..=1 (default 1); decided per anonymous id, so stable per shopper. */
  sampleRate?: number;
}

/** A problem reported through `onError`; `track()` itself never throws. */
export interface TrackerError {
  /** `unknown_event_type`, `wrong_type`, `not_json`, `event_too_large`, `queue_full`, `rejected`, `dropped`, `unauthorized`, `auth_provider`, `internal`. */
  code: string;
  /** The schema field path, when one field is at fault (`"type"`, `"properties"`). */
  path?: string;
  reason: string;
  /** The event type concerned, when known. */
  type?: string;
  /** HTTP status, for server answers. */
  status?: number;
  /** For `rejected`: the event and the server's field errors. */
  event_id?: string;
  errors?: { path: string; code: string; reason: string }[];
}

/** The event types of schema version 1. */
export type EventType =
  | "page_view" | "product_list_view" | "product_view" | "search" | "add_to_cart"
  | "remove_from_cart" | "checkout_started" | "purchase" | "recommendation_impression"
  | "recommendation_click" | "inventory_snapshot" | "identify" | "custom";

export interface Product {
  sku: string;
  product_id?: string; name?: string; category?: string; brand?: string; variant?: string;
  price?: number; currency?: string; quantity?: number; coupon?: string; position?: number;
  url?: string; image_url?: string; cart_id?: string;
}
export interface LineItem { sku: string; quantity: number; price: number; name?: string; category?: string; brand?: string }
export interface Order {
  order_id: string; revenue: number; currency: string; items: LineItem[];
  shipping?: number; tax?: number; discount?: number; coupon?: string; affiliation?: string; store_id?: string;
}
export interface Checkout { checkout_id?: string; order_id?: string; revenue?: number; currency?: string; items?: LineItem[] }
/** One SKU's count in an `inventory_snapshot`: whole units, 0..=1000000 (`reorder_point` too). */
export interface StockCount { sku: string; on_hand: number; reorder_point?: number }
/** `inventory_snapshot` properties (sent by a store's systems): units on hand per SKU at one store, 1..=200 items. */
export interface InventorySnapshot { store_id: string; items: StockCount[] }

/** Loads and configures the tracker. Rejects with a clear message on invalid options. */
export function init(options: InitOptions): Promise<void>;
/** Queues an event; never throws. Problems are reported through `onError`. */
export function track(type: EventType, properties?: Record<string, unknown>): void;
/** A `page_view` of the current page. */
export function page(properties?: { name?: string; category?: string }): void;
/** Ties this shopper to a user id from now on and records an `identify` event. */
export function identify(userId: string, traits?: Record<string, unknown>): void;
/** The ids events carry now (the anonymous id, and the user id after `identify`), for the shop's own calls such as recommendation requests. */
export function identity(): { anonymousId: string; userId?: string };
/** Forgets the user: new anonymous id and session, no user id. */
export function reset(): void;
/** Sends everything queued; resolves when those requests have been answered. */
export function flush(): Promise<void>;
export function productViewed(product: Product): void;
export function productAdded(product: Product): void;
export function productRemoved(product: Product): void;
export function checkoutStarted(checkout: Checkout): void;
export function orderCompleted(order: Order): void;
/** Grants or revokes consent (see `requireConsent`). Revoking deletes the stored identifiers. */
export function setConsent(granted: boolean): void;
/** `Authorization: Bearer` for every request: a token, or a function returning one (called again once on a 401; a token still refused is dropped and the events are sent without it). */
export function setAuthToken(token: string | (() => string | Promise<string>) | null): void;
