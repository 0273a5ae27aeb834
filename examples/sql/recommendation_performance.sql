-- Recommendations per strategy: blocks shown, clicks, click-through, and the revenue of order
-- lines for a clicked product bought later in the same session (credited to the strategy of the
-- first click on that product in the session, so no line counts twice).
WITH impressions AS (
  SELECT COALESCE(strategy, 'unknown') AS strategy, COUNT(*) AS impressions
  FROM fact_events
  WHERE event_type = 'recommendation_impression' AND NOT bot
  GROUP BY COALESCE(strategy, 'unknown')
),
clicks AS (
  SELECT strategy, session_id, sku, clicked_at
  FROM (
    SELECT COALESCE(strategy, 'unknown') AS strategy, session_id, sku, occurred_at AS clicked_at,
      ROW_NUMBER() OVER (PARTITION BY session_id, sku ORDER BY occurred_at, event_id) AS rn
    FROM fact_events
    WHERE event_type = 'recommendation_click' AND NOT bot
  ) first_clicks
  WHERE rn = 1
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
