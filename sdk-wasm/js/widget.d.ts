// `@shopstream/sdk/widget`: the <shopstream-recs> custom element. Importing the module defines it.

/** One recommended item, as the recommendations API answers it. */
export interface RecommendationItem {
  sku: string;
  score: number;
  name?: string;
  category?: string;
  price?: number;
  /** ISO 4217 code; the price is shown with `Intl.NumberFormat` in it. */
  currency?: string;
  /** The card links here (http or https only); without it the card is a button. */
  url?: string;
  image_url?: string;
}

/** An answer of `GET /v1/recommendations`. */
export interface RecommendationsAnswer {
  /** Sent back with impressions and clicks. */
  recommendation_id: string;
  placement: "home" | "product" | "cart";
  /** `bought_together`, `also_viewed`, `personalized`, `cart_complements`, `trending_category`, `trending`. */
  strategy: string;
  items: RecommendationItem[];
  generated_at: string;
}

/** `shopstream-recs:click` (cancelable: `preventDefault()` stops the link's navigation). */
export interface RecsClickDetail {
  sku: string;
  /** 1-based position in the row. */
  position: number;
  recommendation_id: string;
  item: RecommendationItem;
}

/** `shopstream-recs:error`: the element has hidden itself. */
export interface RecsErrorDetail {
  reason: string;
  /** The API's HTTP status, when it answered. */
  status?: number;
  /** The answer, when it had no items to show. */
  answer?: RecommendationsAnswer;
}

/** What the widget needs of a tracker: the SDK's module, or `window.shopstream`. */
export interface RecsTracker {
  identity(): { anonymousId: string; userId?: string };
  track(type: string, properties?: Record<string, unknown>): void;
}

/**
 * `<shopstream-recs placement="home|product|cart" sku="..." limit="4" endpoint="/v1/recommendations"
 * heading="...">`. Attributes and properties mirror each other.
 */
export class ShopstreamRecs extends HTMLElement {
  /** `home`, `product` or `cart` (required). */
  placement: string;
  /** The product's SKU (required for `product`). */
  sku: string;
  /** Items shown, 1..=20 (default 4). */
  limit: number;
  /** The recommendations API (default `/v1/recommendations`; may be another origin). */
  endpoint: string;
  /** The title (default per placement; `""` for none). */
  heading: string;
  /** The answer shown, or null. */
  readonly answer: RecommendationsAnswer | null;
  /** Asks the API again; resolves with the answer shown, or null when the element hid itself. */
  refresh(): Promise<RecommendationsAnswer | null>;
}

/** The tracker every widget uses, for a shop that bundles the SDK (default: `window.shopstream`). */
export function setTracker(tracker: RecsTracker | null): void;

declare global {
  interface HTMLElementTagNameMap {
    "shopstream-recs": ShopstreamRecs;
  }
  interface HTMLElementEventMap {
    "shopstream-recs:load": CustomEvent<RecommendationsAnswer>;
    "shopstream-recs:error": CustomEvent<RecsErrorDetail>;
    "shopstream-recs:click": CustomEvent<RecsClickDetail>;
  }
}
