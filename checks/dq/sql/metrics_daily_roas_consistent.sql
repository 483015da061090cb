-- id: metrics_daily.roas_is_revenue_over_spend
-- table: public.metrics_daily
-- severity: error
-- owner: data
-- description: ROAS is revenue / spend rounded to 4 places, and NULL exactly when spend is 0
select id, day, platform, revenue, spend, roas
from public.metrics_daily
where
    (spend = 0 and roas is not null)
    or (spend <> 0 and roas is distinct from round(revenue / spend, 4))
