CREATE EXTERNAL TABLE IF NOT EXISTS events (
  `event_id` string,
  `type` string,
  `occurred_at` string,
  `received_at` string,
  `anonymous_id` string,
  `user_id` string,
  `session_id` string,
  `properties` struct<sku:string,quantity:bigint,price:double,currency:string,order_id:string,revenue:double,store_id:string,cart_id:string,query:string,category:string,recommendation_id:string,placement:string,strategy:string,name:string,items:array<struct<sku:string,quantity:bigint,price:double,on_hand:bigint,reorder_point:bigint>>,skus:array<string>>,
  `context` struct<page:struct<url:string,path:string,referrer:string,title:string>,locale:string,user_agent:string>,
  `edge` struct<site:string,country:string,device:string,bot:boolean>
)
PARTITIONED BY (`dt` string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
WITH SERDEPROPERTIES ('ignore.malformed.json' = 'true')
LOCATION 's3://YOUR-LAKE-BUCKET/raw/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2024-01-01,NOW',
  'storage.location.template' = 's3://YOUR-LAKE-BUCKET/raw/dt=${dt}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS fact_events (
  `event_id` string,
  `event_type` string,
  `occurred_at` timestamp,
  `received_at` timestamp,
  `event_date` date,
  `anonymous_id` string,
  `user_id` string,
  `session_id` string,
  `sku` string,
  `quantity` bigint,
  `price` double,
  `order_id` string,
  `revenue` double,
  `currency` string,
  `store_id` string,
  `recommendation_id` string,
  `placement` string,
  `strategy` string,
  `search_query` string,
  `page_path` string,
  `country` string,
  `device` string,
  `bot` boolean,
  `properties` string
)
PARTITIONED BY (`dt` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/curated/fact_events/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2024-01-01,NOW',
  'storage.location.template' = 's3://YOUR-LAKE-BUCKET/curated/fact_events/dt=${dt}/',
  'parquet.compression' = 'ZSTD'
);

CREATE EXTERNAL TABLE IF NOT EXISTS fact_sales (
  `order_id` string,
  `line_number` int,
  `sku` string,
  `quantity` bigint,
  `unit_price` double,
  `line_revenue` double,
  `currency` string,
  `occurred_at` timestamp,
  `sale_date` date,
  `store_id` string,
  `anonymous_id` string,
  `user_id` string,
  `session_id` string,
  `event_id` string
)
PARTITIONED BY (`dt` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/curated/fact_sales/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2024-01-01,NOW',
  'storage.location.template' = 's3://YOUR-LAKE-BUCKET/curated/fact_sales/dt=${dt}/',
  'parquet.compression' = 'ZSTD'
);

CREATE EXTERNAL TABLE IF NOT EXISTS fact_inventory_snapshot (
  `event_id` string,
  `store_id` string,
  `sku` string,
  `on_hand` bigint,
  `reorder_point` bigint,
  `occurred_at` timestamp,
  `snapshot_date` date
)
PARTITIONED BY (`dt` string)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/curated/fact_inventory_snapshot/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2024-01-01,NOW',
  'storage.location.template' = 's3://YOUR-LAKE-BUCKET/curated/fact_inventory_snapshot/dt=${dt}/',
  'parquet.compression' = 'ZSTD'
);

CREATE EXTERNAL TABLE IF NOT EXISTS dim_product (
  `sku` string,
  `name` string,
  `category` string,
  `brand` string,
  `unit_cost` double,
  `list_price` double,
  `starting_stock` bigint,
  `reorder_point` bigint
)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/curated/dim_product/';

CREATE EXTERNAL TABLE IF NOT EXISTS dim_store (
  `store_id` string,
  `name` string,
  `region` string,
  `country` string,
  `kind` string
)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/curated/dim_store/';

CREATE EXTERNAL TABLE IF NOT EXISTS dim_date (
  `date_key` date,
  `year` int,
  `quarter` int,
  `month` int,
  `day` int,
  `day_of_week` int,
  `day_name` string,
  `iso_week` int,
  `is_weekend` boolean,
  `fiscal_year` int,
  `fiscal_quarter` int,
  `fiscal_period` int
)
STORED AS PARQUET
LOCATION 's3://YOUR-LAKE-BUCKET/curated/dim_date/';
