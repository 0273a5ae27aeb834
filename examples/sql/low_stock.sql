-- Current stock per store and SKU: the last count (inventory_snapshot), or for the web shop the
-- catalog's starting stock, less the units sold since; the reorder point is the count's, else the
-- product's.
-- Low stock: below the reorder point, the most urgent first.
WITH counts AS (
  SELECT store_id, sku, on_hand, reorder_point, occurred_at,
    ROW_NUMBER() OVER (PARTITION BY store_id, sku ORDER BY occurred_at DESC, event_id DESC) AS rn
  FROM fact_inventory_snapshot
),
base AS (
  SELECT c.store_id, c.sku, c.on_hand, COALESCE(c.reorder_point, p.reorder_point) AS reorder_point,
    c.occurred_at AS counted_at
  FROM counts c
  LEFT JOIN dim_product p ON p.sku = c.sku
  WHERE c.rn = 1
  UNION ALL
  SELECT 'web', p.sku, p.starting_stock, p.reorder_point, CAST(NULL AS TIMESTAMP)
  FROM dim_product p
  WHERE NOT EXISTS (SELECT 1 FROM counts c WHERE c.rn = 1 AND c.store_id = 'web' AND c.sku = p.sku)
),
sold AS (
  SELECT b.store_id, b.sku, SUM(s.quantity) AS units
  FROM base b
  JOIN fact_sales s ON s.store_id = b.store_id AND s.sku = b.sku
    AND (b.counted_at IS NULL OR s.occurred_at > b.counted_at)
  GROUP BY b.store_id, b.sku
),
stock_level AS (
  SELECT b.store_id, b.sku, b.on_hand - COALESCE(sold.units, 0) AS on_hand, b.reorder_point
  FROM base b
  LEFT JOIN sold ON sold.store_id = b.store_id AND sold.sku = b.sku
)
SELECT k.store_id, k.sku, p.name, k.on_hand, k.reorder_point
FROM stock_level k
LEFT JOIN dim_product p ON p.sku = k.sku
WHERE k.on_hand < k.reorder_point
ORDER BY k.on_hand - k.reorder_point, k.store_id, k.sku
