-- Inventory turns per store over the period in the lake: cost of goods sold divided by the average
-- inventory value at cost (the store's counted value, averaged over the days it counted; the last
-- count of a SKU on a day is the day's). Stores that never counted have no turns.
WITH last_counts AS (
  SELECT store_id, sku, snapshot_date, on_hand,
    ROW_NUMBER() OVER (PARTITION BY store_id, sku, snapshot_date ORDER BY occurred_at DESC, event_id DESC) AS rn
  FROM fact_inventory_snapshot
),
counted AS (
  SELECT c.store_id, c.snapshot_date, SUM(c.on_hand * p.unit_cost) AS value
  FROM last_counts c
  JOIN dim_product p ON p.sku = c.sku
  WHERE c.rn = 1
  GROUP BY c.store_id, c.snapshot_date
),
avg_inventory AS (
  SELECT store_id, AVG(value) AS avg_value FROM counted GROUP BY store_id
),
cogs AS (
  SELECT s.store_id, SUM(s.quantity * p.unit_cost) AS cogs
  FROM fact_sales s
  JOIN dim_product p ON p.sku = s.sku
  GROUP BY s.store_id
)
SELECT
  a.store_id,
  ROUND(COALESCE(c.cogs, 0), 2) AS cogs,
  ROUND(a.avg_value, 2) AS avg_inventory_value,
  ROUND(CAST(COALESCE(c.cogs, 0) AS DOUBLE) / NULLIF(a.avg_value, 0), 3) AS turns
FROM avg_inventory a
LEFT JOIN cogs c ON c.store_id = a.store_id
ORDER BY turns DESC NULLS LAST, a.store_id
