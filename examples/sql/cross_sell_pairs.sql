-- The twenty pairs of products most often bought in the same order, with their lift
-- (how much more often than if they were bought independently).
WITH order_skus AS (
  SELECT DISTINCT order_id, sku FROM fact_sales
),
totals AS (
  SELECT COUNT(DISTINCT order_id) AS orders FROM order_skus
),
sku_orders AS (
  SELECT sku, COUNT(*) AS orders FROM order_skus GROUP BY sku
),
pairs AS (
  SELECT a.sku AS sku_a, b.sku AS sku_b, COUNT(*) AS orders
  FROM order_skus a
  JOIN order_skus b ON a.order_id = b.order_id AND a.sku < b.sku
  GROUP BY a.sku, b.sku
)
SELECT
  pairs.sku_a,
  pairs.sku_b,
  pairs.orders,
  ROUND(CAST(pairs.orders AS DOUBLE) * totals.orders / (sa.orders * sb.orders), 2) AS lift
FROM pairs
CROSS JOIN totals
JOIN sku_orders sa ON sa.sku = pairs.sku_a
JOIN sku_orders sb ON sb.sku = pairs.sku_b
ORDER BY pairs.orders DESC, lift DESC, pairs.sku_a, pairs.sku_b
LIMIT 20
