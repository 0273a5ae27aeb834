-- Revenue and orders per day (UTC), all stores.
SELECT
  sale_date,
  COUNT(DISTINCT order_id) AS orders,
  ROUND(SUM(line_revenue), 2) AS revenue
FROM fact_sales
GROUP BY sale_date
ORDER BY sale_date
