-- Gross margin by category and overall: (revenue - cost of goods sold) / revenue.
WITH lines AS (
  SELECT p.category, s.line_revenue, s.quantity * p.unit_cost AS cogs
  FROM fact_sales s
  JOIN dim_product p ON p.sku = s.sku
)
SELECT
  category,
  ROUND(SUM(line_revenue), 2) AS revenue,
  ROUND(SUM(cogs), 2) AS cogs,
  ROUND(100 * CAST(SUM(line_revenue) - SUM(cogs) AS DOUBLE) / NULLIF(SUM(line_revenue), 0), 2) AS gross_margin_pct
FROM lines
GROUP BY category
UNION ALL
SELECT
  '(all)',
  ROUND(SUM(line_revenue), 2),
  ROUND(SUM(cogs), 2),
  ROUND(100 * CAST(SUM(line_revenue) - SUM(cogs) AS DOUBLE) / NULLIF(SUM(line_revenue), 0), 2)
FROM lines
ORDER BY revenue DESC
