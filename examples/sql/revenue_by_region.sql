-- Revenue and orders per region (the store's region; the web shop is its own region).
SELECT
  COALESCE(st.region, 'unknown') AS region,
  COUNT(DISTINCT s.order_id) AS orders,
  ROUND(SUM(s.line_revenue), 2) AS revenue
FROM fact_sales s
LEFT JOIN dim_store st ON st.store_id = s.store_id
GROUP BY COALESCE(st.region, 'unknown')
ORDER BY revenue DESC, region
