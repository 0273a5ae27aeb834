-- Conversion funnel per day: shoppers' sessions that viewed a product, added to cart, started
-- checkout, purchased (each step counted on its own), and the share of the sessions that viewed a
-- product which also purchased. Bots and store systems' counts left out.
WITH steps AS (
  SELECT
    event_date,
    session_id,
    MAX(CASE WHEN event_type = 'product_view' THEN 1 ELSE 0 END) AS viewed,
    MAX(CASE WHEN event_type = 'add_to_cart' THEN 1 ELSE 0 END) AS carted,
    MAX(CASE WHEN event_type = 'checkout_started' THEN 1 ELSE 0 END) AS checked_out,
    MAX(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchased
  FROM fact_events
  WHERE NOT bot AND event_type <> 'inventory_snapshot'
  GROUP BY event_date, session_id
)
SELECT
  event_date,
  COUNT(*) AS sessions,
  SUM(viewed) AS product_view,
  SUM(carted) AS add_to_cart,
  SUM(checked_out) AS checkout,
  SUM(purchased) AS purchase,
  ROUND(CAST(SUM(viewed * purchased) AS DOUBLE) / NULLIF(SUM(viewed), 0), 4) AS view_to_purchase
FROM steps
GROUP BY event_date
ORDER BY event_date
