-- The ten products with the most revenue.
SELECT
  s.sku,
  p.name,
  p.category,
  SUM(s.quantity) AS units,
  COUNT(DISTINCT s.order_id) AS orders,
  ROUND(SUM(s.line_revenue), 2) AS revenue
FROM fact_sales s
LEFT JOIN dim_product p ON p.sku = s.sku
GROUP BY s.sku, p.name, p.category
ORDER BY revenue DESC, s.sku
LIMIT 10
