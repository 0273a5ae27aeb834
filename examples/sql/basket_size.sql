-- Average basket: revenue, units and lines per order.
WITH orders AS (
  SELECT order_id, SUM(line_revenue) AS revenue, SUM(quantity) AS units, COUNT(*) AS lines
  FROM fact_sales
  GROUP BY order_id
)
SELECT
  COUNT(*) AS orders,
  ROUND(AVG(revenue), 2) AS avg_basket_revenue,
  ROUND(AVG(CAST(units AS DOUBLE)), 2) AS avg_items_per_basket,
  ROUND(AVG(CAST(lines AS DOUBLE)), 2) AS avg_lines_per_basket
FROM orders
