-- Attach rate per category: of the orders with a product of the category, the share that also
-- has a product of another category.
WITH order_categories AS (
  SELECT DISTINCT s.order_id, p.category
  FROM fact_sales s
  JOIN dim_product p ON p.sku = s.sku
),
per_order AS (
  SELECT order_id, COUNT(*) AS categories
  FROM order_categories
  GROUP BY order_id
)
SELECT
  oc.category,
  COUNT(*) AS orders,
  SUM(CASE WHEN po.categories > 1 THEN 1 ELSE 0 END) AS attached_orders,
  ROUND(CAST(SUM(CASE WHEN po.categories > 1 THEN 1 ELSE 0 END) AS DOUBLE) / COUNT(*), 4) AS attach_rate
FROM order_categories oc
JOIN per_order po ON po.order_id = oc.order_id
GROUP BY oc.category
ORDER BY attach_rate DESC, orders DESC, oc.category
