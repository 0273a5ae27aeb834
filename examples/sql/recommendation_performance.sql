-- Recommendations per strategy: blocks shown, clicks, click-through, and the revenue of order
-- lines for a clicked product bought later in the same session.
WITH impressions AS (
  SELECT COALESCE(strategy, 'unknown') AS strategy, COUNT(*) AS impressions
  FROM fact_events
  WHERE event_type = 'recommendation_impression' AND NOT bot
  GROUP BY COALESCE(strategy, 'unknown')
),
clicks AS (
  SELECT COALESCE(strategy, 'unknown') AS strategy, session_id, sku, MIN(occurred_at) AS clicked_at
  FROM fact_events
  WHERE event_type = 'recommendation_click' AND NOT bot
  GROUP BY COALESCE(strategy, 'unknown'), session_id, sku
),
click_counts AS (
  SELECT COALESCE(strategy, 'unknown') AS strategy, COUNT(*) AS clicks
  FROM fact_events
  WHERE event_type = 'recommendation_click' AND NOT bot
  GROUP BY COALESCE(strategy, 'unknown')
),
attributed AS (
  SELECT c.strategy, SUM(s.line_revenue) AS revenue
  FROM clicks c
  JOIN fact_sales s ON s.session_id = c.session_id AND s.sku = c.sku AND s.occurred_at >= c.clicked_at
  GROUP BY c.strategy
)
SELECT
  i.strategy,
  i.impressions,
  COALESCE(k.clicks, 0) AS clicks,
  ROUND(CAST(COALESCE(k.clicks, 0) AS DOUBLE) / i.impressions, 4) AS click_through,
  ROUND(COALESCE(a.revenue, 0), 2) AS attributed_revenue
FROM impressions i
LEFT JOIN click_counts k ON k.strategy = i.strategy
LEFT JOIN attributed a ON a.strategy = i.strategy
ORDER BY attributed_revenue DESC, i.strategy
