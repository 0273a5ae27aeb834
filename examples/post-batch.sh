#!/usr/bin/env bash
# Posts a hand-written batch (a product view and a purchase) to a Shopstream ingest, as an outside
# client would, and prints the answer. Usage: examples/post-batch.sh [BASE_URL]
#   BASE_URL defaults to http://127.0.0.1:8080 (start one with `cargo xtask demo`).
set -euo pipefail
base=${1:-http://127.0.0.1:8080}

# A UUIDv7: 48 bits of Unix milliseconds, version 7, variant 10, random bits.
uuid7() {
  local ms hex
  ms=$(printf '%012x' "$(date +%s%3N)")
  hex=$(od -An -N10 -tx1 /dev/urandom | tr -d ' \n')
  printf '%s-%s-7%s-%x%s-%s\n' "${ms:0:8}" "${ms:8:4}" "${hex:0:3}" $(( 0x${hex:3:1} & 0x3 | 0x8 )) "${hex:4:3}" "${hex:7:12}"
}
now=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
anon=$(uuid7); session=$(uuid7)

curl -sS -X POST "$base/v1/events" -H 'content-type: application/json' --data-binary @- <<JSON
{
  "schema_version": 1,
  "sent_at": "$now",
  "events": [
    { "event_id": "$(uuid7)", "type": "product_view", "occurred_at": "$now",
      "anonymous_id": "$anon", "session_id": "$session",
      "context": { "page": { "url": "https://shop.example/p/sku-1", "path": "/p/sku-1" } },
      "properties": { "sku": "sku-1", "name": "Trail Shoe", "price": 89.9, "currency": "EUR" } },
    { "event_id": "$(uuid7)", "type": "purchase", "occurred_at": "$now",
      "anonymous_id": "$anon", "session_id": "$session",
      "properties": { "order_id": "o-$RANDOM", "revenue": 89.9, "currency": "EUR",
                      "items": [ { "sku": "sku-1", "quantity": 1, "price": 89.9 } ] } }
  ]
}
JSON
echo
