/** Options of {@link init}. */
export interface InitOptions {
  /** The ingest URL, e.g. `"https://collect.example.com/v1/events"` or `"/v1/events"`. */
  endpoint: string;
  /** Send when this many events are queued (1..=500, default 20). */
  flushAt?: number;
  /** Send at most this long after the first queued event (ms, default 1000). */
  flushIntervalMs?: number;
}

/** The event types of schema version 1. */
export type EventType =
  | "page_view" | "product_list_view" | "product_view" | "search" | "add_to_cart"
  | "remove_from_cart" | "checkout_started" | "purchase" | "recommendation_impression"
  | "recommendation_click" | "identify" | "custom";

/** Loads and configures the tracker. Rejects with a clear message on invalid options. */
export function init(options: InitOptions): Promise<void>;
/** Queues an event; never throws. Unknown types are dropped with a console warning. */
export function track(type: EventType, properties?: Record<string, unknown>): void;
/** Sends all queued events; resolves once the server has answered. */
export function flush(): Promise<void>;
